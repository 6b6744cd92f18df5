"""Notice config changes on disk, including the kubelet's atomic `..data` symlink swap.

A ConfigMap volume holds `..data -> ..2026_11_28_...` and `name.yaml -> ..data/name.yaml`;
an update writes a new timestamped directory and renames a new `..data` link over the old
one. Polling a cheap signature (resolved paths, sizes, mtimes) once a second sees that
swap, edits in place and new or removed files alike, with no inotify dependency.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

log = logging.getLogger("keeptrusts.config")

Signature = tuple[tuple[str, str, int, int], ...]


def signature(files: Sequence[str], directory: str | None) -> Signature:
    paths = list(files)
    if directory and not files:
        d = Path(directory)
        if d.is_dir():
            paths = [str(p) for p in sorted(d.glob("*.yaml"))]
    out = []
    for p in paths:
        try:
            real = os.path.realpath(p)
            st = os.stat(real)
            out.append((p, real, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((p, "", -1, -1))
    return tuple(out)


async def watch(
    files: Sequence[str],
    directory: str | None,
    on_change: Callable[[], Awaitable[object]],
    interval: float = 1.0,
) -> None:
    last = signature(files, directory)
    while True:
        await asyncio.sleep(interval)
        try:
            now = signature(files, directory)
        except Exception:
            log.exception("config watch failed")
            continue
        if now != last:
            last = now
            await on_change()
