"""One RE2 pass for every token-like entity: credentials, private-key blocks, IBANs, IPv6.

The enabled patterns are joined into one alternation with a capture group each, so a text
holding none of them costs a single RE2 scan. Each candidate is then validated (IBAN
mod-97, IPv6 syntax, word boundaries). A rejected IBAN candidate resumes the scan one
character later, so it cannot hide a real token it overlapped.
"""

from __future__ import annotations

from collections.abc import Collection

from keeptrusts.detect import contact, secrets
from keeptrusts.detect.engine import Encoded, compile_pattern
from keeptrusts.detect.findings import Finding, clear_before

IBAN = "iban"
IPV6 = "ipv6"


class TokenScanner:
    """Finds the enabled token-like entities in a text."""

    def __init__(self, entities: Collection[str]) -> None:
        kinds = [e for e in secrets.PATTERNS if e in entities]
        alternatives = [secrets.PATTERNS[e] for e in kinds]
        if IBAN in entities:
            kinds.append(IBAN)
            alternatives.append(contact.IBAN_PATTERN)
        if contact.IP_ADDRESS in entities:
            kinds.append(IPV6)
            alternatives.append(contact.IPV6_PATTERN)
        self.kinds = tuple(kinds)
        self._pattern = (
            compile_pattern("|".join(f"({a})" for a in alternatives)) if alternatives else None
        )

    def scan(self, enc: Encoded, out: list[Finding]) -> None:
        if self._pattern is None:
            return
        text = enc.text
        pos = 0
        while True:
            spans = self._pattern.search(enc, pos)
            if spans is None:
                return
            b_start, b_end = spans[0]
            kind = self.kinds[_group(spans) - 1]
            pos = b_end if b_end > b_start else b_end + 1
            if kind == secrets.PRIVATE_KEY:
                b_end = secrets.pem_block_end(enc, spans[0])
                pos = b_end
            start, end = enc.span((b_start, b_end))
            if kind == IBAN:
                found = contact.iban_end(text, start, end) if clear_before(text, start) else None
                if found is None:
                    pos = b_start + 1
                    continue
                out.append(Finding(start, found, IBAN))
                pos = b_start + len(text[start:found].encode("utf-8"))
            elif kind == IPV6:
                if contact.ipv6_ok(text, start, end):
                    out.append(Finding(start, end, contact.IP_ADDRESS))
            elif clear_before(text, start):
                out.append(Finding(start, end, kind))


def _group(spans: list[tuple[int, int]]) -> int:
    for i in range(1, len(spans)):
        if spans[i][0] >= 0:
            return i
    return 1
