"""The caller's x-request-id is kept when plausible, replaced when it is not."""

from __future__ import annotations

import pytest

from keeptrusts.gateway.request_id import MAX_LENGTH, request_id


@pytest.mark.parametrize(
    "value", ["req-123", "0af76519-16cd-43dd-8448-eb211c80319c", "x" * MAX_LENGTH, "a b/c=d"]
)
def test_a_plausible_id_is_kept(value: str) -> None:
    assert request_id(value) == value


@pytest.mark.parametrize("value", [None, "", "x" * (MAX_LENGTH + 1), "caf\u00e9", "a\tb", "a\x7fb"])
def test_anything_else_gets_a_new_id(value: str | None) -> None:
    new = request_id(value)
    assert new != value and len(new) == 32 and int(new, 16) >= 0
    assert set(new) <= set("0123456789abcdef")
    assert request_id(value) != new  # new every time
