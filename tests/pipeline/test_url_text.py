"""An image URL as the policies read it (`pipeline/url_text.py`): escapes decoded, and a
redaction found on the decoded text replaces what it covers of the URL as written."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeptrusts.errors import ValidationFailed
from keeptrusts.pipeline.joined import Slot
from keeptrusts.pipeline.url_text import (
    MAX_URL_CHARS,
    UrlText,
    _pieces,
    _spaced,
    decoded,
    url_slots,
)
from keeptrusts.pipeline.verdict import Match, Result


def redacted(url: str, start: int, end: int) -> str:
    image: dict[str, Any] = {"url": url}
    UrlText(image).redact([Match(start, end, Result.REDACT, "x", "#")])
    return str(image["url"])


def test_escapes_are_read_decoded_and_redacted_as_written() -> None:
    url = "https://x/y?to=jane%40acme.com&q=a+b%zz"
    text = UrlText({"url": url})[0]
    assert text == "https://x/y?to=jane@acme.com&q=a b%zz"
    start = text.index("jane")
    assert redacted(url, start, start + len("jane@acme.com")) == "https://x/y?to=#&q=a+b%zz"
    assert redacted(url, start + 4, start + 5) == "https://x/y?to=jane#acme.com&q=a+b%zz"
    data = "data:image/png;name=a%40b;base64,QUJD%41"
    assert UrlText({"url": data})[0] == "data:image/png;name=a@b;base64"


def test_utf8_escapes_are_read_as_their_characters() -> None:
    url = "https://x/m%C3%BCller%FF%e2%82%AC"
    assert UrlText({"url": url})[0] == "https://x/müller\ufffd€"
    start = len("https://x/m")
    assert redacted(url, start, start + 1) == "https://x/m#ller%FF%e2%82%AC"
    assert redacted(url, start + 5, start + 7) == "https://x/m%C3%BCller#"


PIECES = ["%", "4", "a", "0", "F", "x", "+", "@", "/", "C3", "BC", "e2", "82", "%8"]


@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join), st.data())
def test_a_redaction_replaces_exactly_what_it_read(url: str, data: st.DataObject) -> None:
    """Whatever the URL, what is read after a redaction is what was read before with the
    span replaced: no escape is cut in two, none is made."""
    text = UrlText({"url": url})[0]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    after = redacted(url, start, end)
    assert UrlText({"url": after})[0] == text[:start] + "#" + text[end:]


@given(
    st.lists(
        st.sampled_from([*PIECES, "%C3%BC", "%E2%82", "%F0%9F%98%80", "%%", "é"]), max_size=30
    ).map("".join)
)
def test_the_read_text_is_what_the_redaction_positions_count(url: str) -> None:
    """`decoded` (the fast read) and `_pieces` (the positions a redaction maps) read alike."""
    spaced = _spaced(url)
    assert decoded(url) == "".join(piece for piece, _ in _pieces(spaced))


def test_an_overlong_url_is_refused_not_read_in_part() -> None:
    slots: list[Slot] = []
    long = "https://x/?" + "%41" * (MAX_URL_CHARS // 3 + 1)
    with pytest.raises(ValidationFailed) as raised:
        url_slots({"type": "image_url", "image_url": {"url": long}}, slots)
    assert "data: URL" in raised.value.message and not slots
    payload = "data:image/png;base64," + "A" * (MAX_URL_CHARS * 4)  # its payload is not read
    url_slots({"type": "image_url", "image_url": {"url": payload}}, slots)
    assert len(slots) == 1
