"""`set_level(None)` returns to the level logging was set up with (`$KEEPTRUSTS_LOG_LEVEL`)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from keeptrusts.telemetry.logging import set_level, setup_logging


@pytest.fixture
def restore() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    setup_logging("info", io.StringIO())
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.usefixtures("restore")
@pytest.mark.parametrize(
    ("start", "level"), [("warning", logging.WARNING), ("debug", logging.DEBUG)]
)
def test_none_returns_to_the_start_level(start: str, level: int) -> None:
    setup_logging(start, io.StringIO())
    set_level("error")
    assert logging.getLogger().level == logging.ERROR
    set_level(None)
    assert logging.getLogger().level == level
