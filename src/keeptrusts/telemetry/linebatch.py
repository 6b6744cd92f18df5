"""Log lines written in batches: one write() per few lines rather than one per request.

A busy gateway writes an access line per request; a system call for each costs more than
building the line. Lines wait here for at most `delay` seconds (or until the next line would
push a batch past `PIPE_BUF`) and leave in one write. Every batch stays within `PIPE_BUF`
bytes, so the lines of `--workers` processes sharing one pipe never interleave mid-line.

Outside an event loop (tests, start-up, shutdown) lines are written at once. Anything else
the log writes flushes the batch first (see `logging.setup_logging`), so lines keep their
order; a process killed with SIGKILL loses at most `delay` seconds of access lines.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable
from typing import Final

#: writes up to this size are atomic on a pipe (POSIX guarantees 512; Linux 4096)
PIPE_BUF: Final = getattr(select, "PIPE_BUF", 512)
FLUSH_DELAY: Final = 0.02


class LineBatcher:
    """Collects encoded lines and hands them to `write` in batches of at most `PIPE_BUF`."""

    def __init__(self, write: Callable[[bytes], None], delay: float = FLUSH_DELAY) -> None:
        self._write = write
        self._delay = delay
        self._lines: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, line: bytes) -> None:
        if self._size + len(line) > PIPE_BUF and self._lines:
            self.flush()
        self._lines.append(line)
        self._size += len(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._timer is None:
            self._loop, self._timer = loop, loop.call_later(self._delay, self.flush)
        elif loop is not self._loop:  # a timer on a loop that is gone would never fire
            self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        self._size = 0
        self._write(data)
