"""Values written in the shapes forms and tables give them, through the real gateway: the
official openai SDK, the default chain's `pii-detector`, a recording fake provider.

Each value is redacted in a prompt (the provider never sees it), in a JSON answer, and in a
stream cut at every position (the client never sees it, and gets the JSON answer's text)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

#: (text, the value in it, what it is redacted as)
WRITTEN = [
    # e-mail addresses written out with wide spaces (before: let through)
    ("Mail: info  at  firma  dot  de, Tel.", "info  at  firma  dot  de", "EMAIL"),
    ("Mail: info [at]  firma [dot] de, Tel.", "info [at]  firma [dot] de", "EMAIL"),
    # a card split across a markdown table's cells, redacted cell by cell (before: let through)
    ("| Visa | 4111 | 1111 | 1111 | 1111 |\n", "4111 | 1111 | 1111 | 1111", "CREDIT_CARD"),
    ("| Jane | 4111 1111 | 1111 1111 |\n", "4111 1111 | 1111 1111", "CREDIT_CARD"),
]


#: prose that reads like such a value
PROSE = [
    # a verb in -ing before a bare `at` (before: read as `hunting@acme.com`)
    "Job hunting at acme dot com went well.",
    # tables of years and quantities
    "| year | 2019 | 2020 | 2021 | 2022 |\n| qty | 4111 | 1111 | 1111 | 1111 | 12 |\n",
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("written"))
    config = openai_config(
        ("a", upstream.base_url), chain="[pii-detector]", policy="pii-detector: {action: redact}"
    )
    yield factory.start(config, env=ENV)
    factory.stop_all()


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)


def redacted(text: str, value: str, entity: str) -> str:
    """`text` with `value` redacted, each table cell of it on its own."""
    cells = " | ".join(f"[REDACTED:{entity}]" for _ in value.split(" | "))
    return text.replace(value, cells)


def ask(gw: Gateway, text: str = "hi") -> str:
    resp = client(gw).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": text}]
    )
    return resp.choices[0].message.content or ""


def streamed(gw: Gateway) -> str:
    chunks = client(gw).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.parametrize(("text", "value", "entity"), WRITTEN)
def test_a_written_value_never_reaches_the_provider(
    gw: Gateway, fake: FakeUpstream, text: str, value: str, entity: str
) -> None:
    ask(gw, text)
    sent: str = fake.requests[-1].body["messages"][0]["content"]
    assert sent == redacted(text, value, entity)


@pytest.mark.parametrize(("text", "value", "entity"), WRITTEN)
def test_a_written_value_never_reaches_the_client_whatever_the_chunking(
    gw: Gateway, fake: FakeUpstream, text: str, value: str, entity: str
) -> None:
    fake.reset(reply=text)
    expected = redacted(text, value, entity)
    assert ask(gw) == expected
    for cut in range(len(text) + 1):
        fake.reset(chunks=[text[:cut], text[cut:]])
        assert streamed(gw) == expected, cut


@pytest.mark.parametrize("text", PROSE)
def test_prose_reaches_the_provider_and_the_client_as_written(
    gw: Gateway, fake: FakeUpstream, text: str
) -> None:
    ask(gw, text)
    assert fake.requests[-1].body["messages"][0]["content"] == text
    fake.reset(reply=text)
    assert ask(gw) == text
    for cut in range(len(text) + 1):
        fake.reset(chunks=[text[:cut], text[cut:]])
        assert streamed(gw) == text, cut
