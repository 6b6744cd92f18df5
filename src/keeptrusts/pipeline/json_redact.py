"""Redactions applied to JSON text (tool-call arguments) so that it stays valid JSON.

The policies read arguments as one text, their escapes decoded (`streaming.json_escapes.view`),
keys and values in their places, whole answers and streams alike: `"order_id": 4155552671`
reads as an identifier because its key is read before it. A span they report may run over
the JSON around a value (a `detect_patterns` entry `secret.{0,20}` from a string into the
next key), so a redaction is applied token by token: within each string or bare token (a
number, a literal) it covers, the covered characters go, the replacement goes into the first
token covered (JSON-escaped), and the JSON punctuation between tokens stays. A bare token a
redaction touches becomes a string (`4155552671` -> `"[REDACTED:PHONE]"`). Linear in the text.
"""

from __future__ import annotations

import json
import re

from keeptrusts.pipeline.textscan import merged
from keeptrusts.pipeline.verdict import Match

#: a string's opening quote, or a bare token (a number or a literal) outside strings: a
#: character class each, so the search is linear
_TOKEN = re.compile(r'"|[^\s{}\[\]:,"]+')


def redact(raw: str, redactions: list[Match], opened: bool = False) -> str:
    """`raw` with `redactions` (spans of `raw`) applied token by token; `opened`: the text
    begins inside a string (a stream's held text)."""
    if not redactions:
        return raw
    spans = merged(redactions)
    tokens = _tokens(raw, opened, spans[-1][1])
    parts: list[str] = []
    pos = 0
    k = 0
    for start, end, replacement in spans:
        while k < len(tokens) and tokens[k][1] <= start:
            k += 1
        first = True
        t = k
        while t < len(tokens) and tokens[t][0] < end:
            a, b, string = tokens[t]
            if b > start:
                rep = replacement if first else ""
                first = False
                lo, hi = max(a, start), min(b, end)
                if string:
                    parts += (raw[pos:lo], json.dumps(rep, ensure_ascii=False)[1:-1])
                else:  # a bare token becomes a string, keeping what was not covered
                    kept = json.dumps(raw[a:lo] + rep + raw[hi:b], ensure_ascii=False)
                    parts += (raw[pos:a], kept)
                    hi = b
                pos = hi
            t += 1
    parts.append(raw[pos:])
    return "".join(parts)


def _tokens(raw: str, opened: bool, until: int) -> list[tuple[int, int, bool]]:
    """(start, end, is_string) of the strings' contents and the bare tokens of `raw` that start
    before `until`."""
    out: list[tuple[int, int, bool]] = []
    n = len(raw)
    i = 0
    if opened:
        i = _string_end(raw, 0)
        out.append((0, i, True))
        i += 1
    while i < min(n, until):
        m = _TOKEN.search(raw, i)
        if m is None or m.start() >= until:
            break
        if m.group() == '"':
            j = _string_end(raw, m.end())
            out.append((m.end(), j, True))
            i = j + 1
        else:
            out.append((m.start(), m.end(), False))
            i = m.end()
    return out


def _string_end(raw: str, i: int) -> int:
    """Where the string whose content starts at `i` ends (its closing quote, or the end)."""
    while True:
        q = raw.find('"', i)
        if q < 0:
            return len(raw)
        b = raw.find("\\", i, q)
        if b < 0:
            return q
        i = b + 2
