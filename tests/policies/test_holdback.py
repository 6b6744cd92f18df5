"""The hold-back contract, checked against a reference streaming loop.

`holdback` promises: a stream that (1) keeps the last `holdback` characters (and, for
dlp-filter with a multi-word term, the text from `hold_from` on, where a whitespace run counts
as one character), (2) never
releases text inside a match (it moves the cut back to the match's start, since a match that
touches the buffer's end may still grow), and (3) applies the redactions that lie wholly in
what it releases, never emits a redactable value in the clear, whatever the chunking.
The gateway's stream machinery (streaming/) implements the same rule; this loop is the
executable statement of what the policies guarantee it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Match, Stage
from keeptrusts.policies.dlp import DlpFilter
from keeptrusts.policies.dlp import Settings as DlpSettings
from keeptrusts.policies.pii import PiiDetector
from keeptrusts.policies.pii import Settings as PiiSettings

PII = PiiDetector(PiiSettings())
DLP = DlpFilter(DlpSettings(blocked_terms=["project atlas"], fuzzy_matching=True))
EXACT = DlpFilter(DlpSettings(blocked_terms=["project atlas", "zeus"]))

PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" * 6
VALUES = [
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "+44 20 7946 0958",
    "(415) 555-2671",
    "123-45-6789",
    "DE89 3704 0044 0532 0130 00",
    "192.168.10.20",
    "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "AKIAIOSFODNN7EXAMPLE",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "-----END RSA PRIVATE KEY-----",
]
SECRET_PARTS = ["jane.doe", "1111 1111", "7946 0958", "555-2671", "45-6789", "0532 0130",
                "168.10.20", "abcdefghijklmnop", "IOSFODNN7", "eyJzdWIiOiIxMjM0", "MIIEowIBAAKCAQEA"]  # fmt: skip


def stream(policy: Policy, chunks: list[str]) -> str:
    out: list[str] = []
    buf = ""
    for chunk in chunks:
        buf += chunk
        matches = policy.find(buf, Stage.RESPONSE)
        cut = _cut(matches, min(max(0, len(buf) - policy.holdback), policy.hold_from(buf)))
        out.append(apply(buf[:cut], [m for m in matches if m.end <= cut]))
        buf = buf[cut:]
    out.append(apply(buf, policy.find(buf, Stage.RESPONSE)))
    return "".join(out)


def _cut(matches: list[Match], cut: int) -> int:
    moved = True
    while moved:
        moved = False
        for m in matches:
            if m.start < cut < m.end:
                cut = m.start
                moved = True
    return cut


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(text[last:p])
        last = p
    pieces.append(text[last:])
    return [p for p in pieces if p]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 400),
    st.lists(st.integers(0, 10_000), max_size=40),
    st.permutations(range(len(VALUES))),
)
def test_pii_never_leaks_whatever_the_chunking(pad: int, cuts: list[int], order: list[int]) -> None:
    text = "x" * pad + " " + " and ".join(f"value {VALUES[i]} here" for i in order) + " end"
    released = stream(PII, _chunks(text, cuts))
    for part in SECRET_PARTS:
        assert part not in released, (part, released)
    assert released == apply(text, PII.find(text, Stage.RESPONSE))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 40), st.lists(st.integers(0, 500), max_size=30))
def test_dlp_terms_never_leak(pad: int, cuts: list[int]) -> None:
    text = "y " * pad + "about Project Atlas and pr0ject atlas, then project atlass."
    released = stream(DLP, _chunks(text, cuts))
    assert "atlas" not in released.lower(), released


GAPS = [" ", "  ", "\n", "\n" * 20, " " * 40, "\t \u00a0", "\r\n\r\n", "\u3000"]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 20),
    st.lists(st.integers(0, 600), max_size=30),
    st.lists(st.sampled_from(GAPS), min_size=3, max_size=3),
)
def test_dlp_terms_spread_by_whitespace_never_leak(
    pad: int, cuts: list[int], gaps: list[str]
) -> None:
    text = (
        "y " * pad
        + f"about Project{gaps[0]}Atlas and pr0ject{gaps[1]}atlas, then project{gaps[2]}atlass."
    )
    for policy in (DLP, EXACT):
        released = stream(policy, _chunks(text, cuts))
        assert released == apply(text, policy.find(text, Stage.RESPONSE)), policy.describe()
    assert "atlas" not in stream(DLP, _chunks(text, cuts)).lower()
