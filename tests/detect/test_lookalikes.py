"""Look-alike separators and full-width characters are read as ASCII, position for position."""

from __future__ import annotations

import pytest

from keeptrusts.detect.lookalikes import fold
from keeptrusts.pipeline.textscan import scan
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.pii import PiiDetector, Settings


def test_fold_keeps_length_and_leaves_other_text_alone() -> None:
    text = "4111\u00a01111\u202f1111\u20111111 \uff14\uff12 caf\u00e9 \u65e5\u672c"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "4111 1111 1111-1111 42 caf\u00e9 \u65e5\u672c"
    plain = "caf\u00e9 na\u00efve"
    assert fold(plain) is plain and fold("ascii") == "ascii"


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("card 4111\u00a01111\u00a01111\u00a01111 ok", "CREDIT_CARD"),
        ("card 4111\u20131111\u20131111\u20131111 ok", "CREDIT_CARD"),
        ("\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11", "CREDIT_CARD"),
        ("call 415\u2011555\u20112671 now", "PHONE"),
        ("+44\u202f20\u202f7946\u202f0958", "PHONE"),
        ("GB82\u00a0WEST\u00a01234\u00a05698\u00a07654\u00a032", "IBAN"),
        ("ssn 123\u201145\u20116789", "SSN"),
        ("key sk\u2011proj-abcdefghijklmnopqrstuvwxyz012345", "OPENAI_KEY"),
        ("mail jane.doe\uff20example.com", "EMAIL"),
    ],
)  # fmt: skip
def test_pii_written_with_lookalikes_is_redacted_as_written(text: str, entity: str) -> None:
    out = scan([PiiDetector(Settings())], text, Stage.REQUEST).text
    assert f"[REDACTED:{entity}]" in out
    leftovers = ("1111", "\uff11\uff11", "2671", "7946", "5698", "6789", "abcdef", "jane")
    assert not any(part in out for part in leftovers), out
