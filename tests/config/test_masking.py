"""The admin config view masks URL passwords even where a URL holds whitespace."""

from __future__ import annotations

import pytest

from keeptrusts.config.masking import mask, mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:REDIS PASSWORD@127.0.0.1:1/0", "redis://***@127.0.0.1:1/0"),
        ("http://svc:PW 2@127.0.0.1:9/v1", "http://***@127.0.0.1:9/v1"),
        ("redis://:FOLDEDPW@127.0.0.1:1/0\n", "redis://***@127.0.0.1:1/0\n"),
        (" redis://u:TABBED\tPW@h/0", " redis://***@h/0"),
        ("https://h/v1?api-key=SPACED KEY&x=1", "https://h/v1?api-key=***&x=1"),
        ("https://h/cb#token=FRAG SECRET", "https://h/cb#token=***"),
    ],
)
def test_urls_with_whitespace_are_masked(url: str, shown: str) -> None:
    assert mask(url, "url") == shown
    assert mask({"state": {"url": url}}) == {"state": {"url": shown}}
    assert mask({"targets": [{"base_url": url}]}) == {"targets": [{"base_url": shown}]}


def test_plain_values_are_left_alone() -> None:
    for value in ("https://api.openai.com/v1", "gpt-4o*", "see https?://x and key=1", "a b"):
        assert mask(value, "base_url") == value
    assert mask_url("http://127.0.0.1:9/v1\n") == "http://127.0.0.1:9/v1\n"


def test_a_url_inside_a_list_is_masked() -> None:
    assert mask({"urls": ["redis://:A B@h/0", "x"]}) == {"urls": ["redis://***@h/0", "x"]}
