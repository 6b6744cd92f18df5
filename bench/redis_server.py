"""A throwaway redis-server (Debian's /usr/bin/redis-server) on a free loopback port."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench import procs

REDIS = "/usr/bin/redis-server"


def available() -> bool:
    return Path(REDIS).exists() or shutil.which("redis-server") is not None


def start(port: int, workdir: Path, *, cpus: set[int] | None = None) -> procs.Server:
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        REDIS if Path(REDIS).exists() else "redis-server",
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--protected-mode", "no",
    ]  # fmt: skip
    return procs.spawn("redis", cmd, port, workdir, cpus=cpus)
