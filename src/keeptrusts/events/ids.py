"""Event ids: UUIDv7 strings (RFC 9562), unique and ordered by creation time within a process.

48 bits of Unix milliseconds, then a 12-bit counter that keeps ids strictly increasing when
several are made in the same millisecond, then 62 random bits. The random bits need to be
unique, not secret: they come from `random` (seeded from the OS at start-up and re-seeded in
forked children), which spares a getrandom() system call per event.
"""

from __future__ import annotations

import random
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _next_stamp() -> tuple[int, int]:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, random.getrandbits(10)
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def uuid7() -> str:
    ms, counter = _next_stamp()
    rand = random.getrandbits(62)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | counter << 64
    value |= 0b10 << 62 | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
