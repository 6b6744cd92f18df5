"""pii-detector: number groups split by wide gaps (two to four spaces, tabs, one line break).

Before: `4111  1111  1111  1111`, `4111\t1111\t...`, a card wrapped at a line's end and
`+49  30  901820` were let through, and `DE89  3704 0044 0532 0130 00` lost only its tail
to a phone number."""

from __future__ import annotations

import pytest

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.pii import PiiDetector, Settings

DEFAULT = PiiDetector(Settings())
DE = PiiDetector(Settings(phone_regions=["DE", "GB"]))


def redact(text: str, policy: PiiDetector = DEFAULT) -> str:
    return apply(text, policy.find(text, Stage.REQUEST))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111  1111  1111  1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111    1111 1111  1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111\t1111\t1111\t1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111\t\t1111\t\t1111\t\t1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111 1111\n1111 1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111 1111 \r\n  1111 1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("iban DE89  3704 0044 0532 0130 00 ok", "iban [REDACTED:IBAN] ok"),
        ("iban DE89\t3704\t0044\t0532\t0130\t00 ok", "iban [REDACTED:IBAN] ok"),
        ("iban GB82  WEST  1234  5698  7654  32 ok", "iban [REDACTED:IBAN] ok"),
        ("iban DE89 3704 0044\n0532 0130 00 ok", "iban [REDACTED:IBAN] ok"),
        ("tel +49  30  901820 ok", "tel [REDACTED:PHONE] ok"),
        ("tel +49\t30\t901820 ok", "tel [REDACTED:PHONE] ok"),
        ("tel 0049  30  901820 ok", "tel [REDACTED:PHONE] ok"),
        ("tel (+44)  20  7946  0958 ok", "tel [REDACTED:PHONE] ok"),
        # thin and no-break spaces, two of them (read as spaces: `lookalikes`)
        ("card 4111\u2009\u20091111\u2009\u20091111\u2009\u20091111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("tel +49\u00a0\u00a030\u00a0\u00a0901820 ok", "tel [REDACTED:PHONE] ok"),
        # dashes mixed with spaces, and spaced dashes (before: not read)
        ("card 4111-1111 1111-1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111 - 1111 - 1111 - 1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111 1111-1111 1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        # invisible characters in a gap
        ("card 4111 \u200b 1111  1111  1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("\u00e9t\u00e9 4111  1111  1111  1111 ok", "\u00e9t\u00e9 [REDACTED:CREDIT_CARD] ok"),
    ],
)  # fmt: skip
def test_groups_split_by_wide_gaps(text: str, expected: str) -> None:
    assert redact(text, DE) == expected


@pytest.mark.parametrize(
    "text",
    [
        # a column of numbers: one line break at most inside a value
        "rows\n4111\n1111\n1111\n1111\nend",
        # a blank line, five spaces, three tabs: no longer one value
        "4111 1111\n\n1111 1111",
        "4111     1111     1111     1111",
        "4111\t\t\t1111\t\t\t1111\t\t\t1111",
        # national numbers and SSNs split this way are columns of a table
        "020  7946  0958",
        "(415)  555  2671",
        "123  45  6789",
        "years 2019 - 2024 - 2030 and 1990 - 2000 - 2010 - 2020",
        "size  4096  1200  3000  12",
        # a value over one line break that no check digit confirms
        "tel +49 30\n901820",
        "mail jane\n@example.com",
    ],
)
def test_what_wide_gaps_do_not_join(text: str) -> None:
    assert redact(text, DE) == text
