"""The memory settings the serving process applies once it has started."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from keeptrusts.gateway import process


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


@pytest.mark.usefixtures("restore_gc")
def test_start_up_heap_is_frozen_and_young_collections_are_rarer() -> None:
    gc.disable()  # as `kt gateway run` does while it loads
    _, older, oldest = gc.get_threshold()
    process.settle_gc()
    assert gc.isenabled()
    assert gc.get_threshold() == (process.GC_YOUNG_THRESHOLD, older, oldest)
    assert gc.get_freeze_count() > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_large_buffers_are_returned_to_the_system() -> None:
    # glibc accepts the fixed mmap threshold (this machine and the image are glibc)
    assert process.return_freed_memory() is True
