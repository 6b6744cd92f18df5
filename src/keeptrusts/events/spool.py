"""The durable local spool: a FIFO of serialized events on disk, bounded by bytes.

Why SQLite (stdlib `sqlite3`, WAL mode) rather than append-only segment files: one transaction
appends a whole batch atomically, a crash mid-write leaves no torn record to repair, acknowledged
events are deleted by key range without rewriting segments, and the byte and row counts survive a
restart with one query. WAL with `synchronous=NORMAL` keeps every committed append across a process
crash or kill; only an OS crash or power loss can take the last commits.

Rows are keyed by the pipeline's sequence number, so a replay reads them back in enqueue order
whatever order they were written in. The spool is not thread-safe: the pipeline calls it only
from its single I/O thread.

Each gateway process takes a slot `spool-<n>.db` under the spool directory, held by an exclusive
`flock` on `spool-<n>.lock`, so `--workers N` processes never share one file, and a restarted
process takes the lowest free slot again and replays what its predecessor left.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from pathlib import Path

from keeptrusts.telemetry.metrics import Metrics

log = logging.getLogger("keeptrusts.events")

MAX_SLOTS = 256
#: seconds between repeated "dropping events" errors while the cap stays reached
DROP_LOG_INTERVAL = 10.0

SCHEMA = "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)"


class Spool:
    """A bounded, ordered, crash-safe queue of (seq, event JSON bytes)."""

    def __init__(self, directory: str, max_bytes: int, metrics: Metrics) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.metrics = metrics
        self.path: Path | None = None
        self.count = 0
        self.bytes = 0
        self.last_seq = 0
        self.dropped = 0
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._last_drop_log = 0.0
        self._dropped_since_log = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        slot = self._claim_slot()
        self.path = self.directory / f"spool-{slot}.db"
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA journal_size_limit=16777216")
        db.execute(SCHEMA)
        row = db.execute("SELECT count(*), coalesce(sum(length(body)), 0), max(seq) FROM spool")
        count, size, last = row.fetchone()
        self._db, self.count, self.bytes, self.last_seq = db, int(count), int(size), int(last or 0)
        self.metrics.events_spool_depth.set(self.count)
        if self.count:
            log.warning(
                "event spool %s holds %d events from a previous run; replaying them",
                self.path,
                self.count,
            )

    def _claim_slot(self) -> int:
        for slot in range(MAX_SLOTS):
            fd = os.open(self.directory / f"spool-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._lock_fd = fd
            return slot
        raise OSError(f"event spool {self.directory}: all {MAX_SLOTS} slots are in use")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # -- queue operations ----------------------------------------------------------------------

    def append(self, rows: list[tuple[int, bytes]]) -> int:
        """Store `rows` in one transaction; rows beyond the byte cap are dropped. Returns kept."""
        db = self._require()
        kept: list[tuple[int, bytes]] = []
        size = self.bytes
        for seq, body in rows:
            if size + len(body) > self.max_bytes:
                self._drop(len(rows) - len(kept))
                break
            kept.append((seq, body))
            size += len(body)
        if not kept:
            return 0
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO spool (seq, body) VALUES (?, ?)", kept)
        self.count += len(kept)
        self.bytes = size
        self.last_seq = max(self.last_seq, kept[-1][0])
        self.metrics.events_spool_depth.set(self.count)
        return len(kept)

    def read(self, limit: int) -> list[tuple[int, bytes]]:
        """The oldest `limit` rows, in sequence order."""
        cur = self._require().execute("SELECT seq, body FROM spool ORDER BY seq LIMIT ?", (limit,))
        return [(int(seq), bytes(body)) for seq, body in cur.fetchall()]

    def remove(self, rows: list[tuple[int, bytes]]) -> None:
        """Forget rows that were delivered."""
        if not rows:
            return
        db = self._require()
        with db:
            db.execute("BEGIN")
            db.executemany("DELETE FROM spool WHERE seq = ?", [(seq,) for seq, _ in rows])
        self.count = max(0, self.count - len(rows))
        self.bytes = max(0, self.bytes - sum(len(body) for _, body in rows))
        if self.count == 0:
            self.bytes = 0
        self.metrics.events_spool_depth.set(self.count)

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("event spool is not open")
        return self._db

    def _drop(self, n: int) -> None:
        self.dropped += n
        self._dropped_since_log += n
        self.metrics.events_dropped.inc(n)
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            log.error(
                "EVENT SPOOL FULL: dropped %d decision events (spool %s holds %d bytes, cap "
                "events.spool_max_bytes=%d); the control-plane API has been unreachable too long "
                "- raise the cap or restore the API",
                self._dropped_since_log,
                self.path,
                self.bytes,
                self.max_bytes,
            )
            self._last_drop_log = now
            self._dropped_since_log = 0
