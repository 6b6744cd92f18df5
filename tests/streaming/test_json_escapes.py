"""Decoding `\\u` escapes of streamed JSON text: equivalent JSON, whatever the chunking."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from keeptrusts.streaming.json_escapes import decode

values = st.recursive(
    st.text() | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def stream(text: str, cuts: list[int]) -> str:
    """What a guard that holds cut escapes releases, fed `text` in pieces."""
    out, pending = [], ""
    bounds = [0, *sorted({c % (len(text) + 1) for c in cuts}), len(text)]
    for a, b in itertools.pairwise(bounds):
        decoded, cut = decode(pending + text[a:b])
        out.append(decoded[:cut])
        pending = decoded[cut:]
    return "".join(out) + pending


@given(values, st.lists(st.integers(min_value=0), max_size=8))
def test_decoded_json_is_the_same_json(value: Any, cuts: list[int]) -> None:
    text = json.dumps(value, ensure_ascii=True)
    out = stream(text, cuts)
    assert json.loads(out) == value
    assert decode(out) == (out, len(out))  # idempotent


def test_what_is_decoded_and_what_stays() -> None:
    b = "\\"
    assert decode(f"jane.doe{b}u0040example.com") == ("jane.doe@example.com", 20)
    assert decode(f"{b}ud83d{b}ude00") == ("\U0001f600", 1)
    for kept in (f"q{b}u0022", f"{b}{b}u0040", f"a{b}nb", f"{b}u001f", f"{b}udc00"):
        assert decode(kept)[0] == kept
    assert decode(f"cut{b}u00") == (f"cut{b}u00", 3)
