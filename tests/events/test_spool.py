"""The on-disk spool: order, persistence, the byte cap, one slot per process."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from keeptrusts.events.spool import Spool
from keeptrusts.telemetry.metrics import Metrics


def rows(start: int, n: int, size: int = 100) -> list[tuple[int, bytes]]:
    return [(i, b"x" * (size - len(str(i))) + str(i).encode()) for i in range(start, start + n)]


def test_reads_back_in_sequence_order_and_survives_reopen(tmp_path: Path) -> None:
    m = Metrics()
    s = Spool(str(tmp_path), 1 << 20, m)
    s.open()
    s.append(rows(10, 5))
    s.append(rows(1, 5))  # written later, but older
    assert [seq for seq, _ in s.read(100)] == [1, 2, 3, 4, 5, 10, 11, 12, 13, 14]
    s.remove(s.read(3))
    s.close()
    again = Spool(str(tmp_path), 1 << 20, m)
    again.open()
    assert again.count == 7 and again.last_seq == 14 and again.bytes == 700
    assert [seq for seq, _ in again.read(100)] == [4, 5, 10, 11, 12, 13, 14]
    assert m.registry.get_sample_value("keeptrusts_events_spool_depth") == 7
    again.close()


def test_drops_only_at_the_cap_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    m = Metrics()
    s = Spool(str(tmp_path), 1000, m)
    s.open()
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        assert s.append(rows(1, 8)) == 8
        assert s.append(rows(9, 5)) == 2
    assert s.count == 10 and s.bytes == 1000
    assert m.registry.get_sample_value("keeptrusts_events_dropped_total") == 3
    assert "EVENT SPOOL FULL" in caplog.text
    s.remove(s.read(5))
    assert s.append(rows(20, 5)) == 5  # room again after delivery
    s.close()


def test_each_process_gets_its_own_slot(tmp_path: Path) -> None:
    a, b = Spool(str(tmp_path), 1 << 20, Metrics()), Spool(str(tmp_path), 1 << 20, Metrics())
    a.open()
    b.open()
    assert a.path != b.path
    a.close()
    c = Spool(str(tmp_path), 1 << 20, Metrics())
    c.open()
    assert c.path == a.path  # a restarted process takes the free slot and its leftovers
    b.close()
    c.close()
