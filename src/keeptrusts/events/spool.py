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

A slot with no file is not opened until the first event is written to it, and a spool empty at
close is removed: a gateway whose API takes every batch at once never loads SQLite
(`lazy_sqlite.py`), and a file found at start is one holding events (or left by a crash).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.throttle import LogThrottle

if TYPE_CHECKING:
    import sqlite3
else:
    from keeptrusts.events.lazy_sqlite import sqlite3

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
        self._drop_log = LogThrottle(DROP_LOG_INTERVAL)
        self._remove_log = LogThrottle(DROP_LOG_INTERVAL)
        #: rows up to this seq were delivered (their delete may have failed): `read` skips them
        self._floor = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """Claim a slot and open its database. A file that is not a readable SQLite database
        is moved aside (`spool-<n>.db.corrupt-<UTC time>`, logged) and a fresh spool started.
        Any other failure raises, with the slot's lock released."""
        self.directory.mkdir(parents=True, exist_ok=True)
        slot = self._claim_slot()
        path = self.directory / f"spool-{slot}.db"
        if not path.exists():  # nothing to replay: opened when the first event is written
            self.path = path
            self.metrics.events_spool_depth.set(0)
            return
        try:
            try:
                self._connect(path)
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    raise
                self._start_afresh(path, exc, "the events in it are not replayed")
        except BaseException:
            self.close()
            raise
        self.path = path
        self.metrics.events_spool_depth.set(self.count)
        if self.count:
            log.warning(
                "event spool %s holds %d events from a previous run; replaying them",
                self.path,
                self.count,
            )

    def _start_afresh(self, path: Path, exc: sqlite3.DatabaseError, lost: str) -> None:
        """Move a damaged file aside and open an empty spool in its place."""
        if self._db is not None:
            self._db.close()
            self._db = None
        aside = _move_aside(path)
        log.error(
            "EVENT SPOOL CORRUPT: %s is not a readable SQLite database (%s); moved it to %s "
            "(%s) and started an empty spool",
            path,
            exc,
            aside,
            lost,
        )
        last = self.last_seq
        self._connect(path)
        self.last_seq = max(last, self.last_seq)
        self.metrics.events_spool_depth.set(self.count)

    def _damaged(self, exc: sqlite3.Error) -> None:
        """A call on the open file failed. If the file went bad (a disk fault, or something
        wrote over it), go on with an empty spool rather than fail every call from now on: the
        events it held are counted as dropped. Any other error is raised again."""
        if not isinstance(exc, sqlite3.DatabaseError) or not _is_corrupt(exc) or not self.path:
            raise exc
        held = self.count
        self._start_afresh(self.path, exc, f"{held} events in it are not replayed")
        self.dropped += held
        self.metrics.events_dropped.inc(held)

    def _connect(self, path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA journal_size_limit=16777216")
            db.execute(SCHEMA)
            row = db.execute("SELECT count(*), coalesce(sum(length(body)), 0), max(seq) FROM spool")
            count, size, last = row.fetchone()
        except BaseException:
            db.close()
            raise
        self._db, self.count, self.bytes, self.last_seq = db, int(count), int(size), int(last or 0)
        self._floor = 0

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
        """Close the file, and remove it when it holds nothing (while the slot is still ours)."""
        if self._db is not None:
            self._db.close()
            self._db = None
            if self.count == 0 and self.path is not None:
                _remove_empty(self.path)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # -- queue operations ----------------------------------------------------------------------

    def append(self, rows: list[tuple[int, bytes]], *, retry: bool = True) -> int:
        """Store `rows` in one transaction; rows beyond the byte cap are dropped. Returns kept.
        A spool found damaged (its file too, when this write is the one that opens it) is
        started afresh and the rows written there."""
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
        try:
            with (db := self._require()):
                db.execute("BEGIN")
                db.executemany("INSERT OR IGNORE INTO spool (seq, body) VALUES (?, ?)", kept)
        except sqlite3.DatabaseError as exc:
            if not retry:
                raise
            self._damaged(exc)
            return self.append(kept, retry=False)
        self.count += len(kept)
        self.bytes = size
        self.last_seq = max(self.last_seq, kept[-1][0])
        self.metrics.events_spool_depth.set(self.count)
        return len(kept)

    def fits(self, rows: list[tuple[int, bytes]]) -> bool:
        """Whether `append(rows)` would keep every row (the byte cap is not reached)."""
        return self.bytes + sum(len(body) for _, body in rows) <= self.max_bytes

    def read(self, limit: int) -> list[tuple[int, bytes]]:
        """The oldest `limit` rows, in sequence order (none from a spool found damaged)."""
        try:
            cur = self._require().execute(
                "SELECT seq, body FROM spool WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._floor, limit),
            )
            return [(int(seq), bytes(body)) for seq, body in cur.fetchall()]
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            return []

    def remove(self, rows: list[tuple[int, bytes]]) -> None:
        """Forget rows that were delivered: the oldest ones (delivery follows `seq`).

        They are forgotten in memory first (`read` skips them, the counts drop), then deleted
        with everything older. A delete that fails (a full disk) is logged and never raised:
        delivery goes on, and the next delete that works removes them too. Rows whose delete
        never worked are sent again after a restart (the API deduplicates them by id)."""
        if not rows:
            return
        self._floor = max(self._floor, max(seq for seq, _ in rows))
        self.count = max(0, self.count - len(rows))
        self.bytes = max(0, self.bytes - sum(len(body) for _, body in rows))
        if self.count == 0:
            self.bytes = 0
        self.metrics.events_spool_depth.set(self.count)
        db = self._require()
        try:
            with db:
                db.execute("BEGIN")
                db.execute("DELETE FROM spool WHERE seq <= ?", (self._floor,))
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.DatabaseError) and _is_corrupt(exc):
                self._damaged(exc)
            else:
                self._remove_failed(exc)

    def _remove_failed(self, exc: sqlite3.Error) -> None:
        if self._remove_log.due():
            log.error(
                "event spool %s: delivered events cannot be deleted (%s); delivery continues "
                "and skips them, but the file cannot shrink until the disk has room (after a "
                "restart they are sent again, deduplicated by id)",
                self.path,
                exc,
            )

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            if self.path is None or self._lock_fd is None:
                raise RuntimeError("event spool is not open")
            self._connect(self.path)  # the first write to a slot that had no file
        assert self._db is not None
        return self._db

    def _drop(self, n: int) -> None:
        self.dropped += n
        self.metrics.events_dropped.inc(n)
        dropped = self._drop_log.due(n)
        if dropped:
            log.error(
                "EVENT SPOOL FULL: dropped %d decision events (spool %s holds %d bytes, cap "
                "events.spool_max_bytes=%d); the control-plane API has been unreachable too long "
                "- raise the cap or restore the API",
                dropped,
                self.path,
                self.bytes,
                self.max_bytes,
            )


#: SQLITE_CORRUPT and SQLITE_NOTADB: the file is damaged or not a database at all.
CORRUPT_CODES = frozenset({11, 26})


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in CORRUPT_CODES


def _remove_empty(path: Path) -> None:
    """Remove an empty spool's file and its WAL and shared-memory files (best effort: one
    left behind is only opened, found empty, at the next start)."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            file.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("event spool %s: empty, but not removed (%s)", file, exc)
            return


def _move_aside(path: Path) -> Path:
    """Rename a damaged spool file (and its WAL and shared-memory files) out of the way."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():  # a second damage within the same second keeps the first file
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    path.rename(aside)
    return aside
