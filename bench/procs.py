"""Start a server under test as a child process, time it to ready, and stop it cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import netutil, procstat


class StartError(RuntimeError):
    """A server did not become ready; the message ends with the tail of its log."""


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    startup_s: float
    idle_rss_kib: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return procstat.tree(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            for pid in reversed(self.pids()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(5)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def readiness(port: int, path: str | None) -> Callable[[], bool]:
    """TCP accept (path None) or a 200 from GET `path`."""
    if path is None:
        return lambda: netutil.tcp_accepts(port)
    return lambda: netutil.http_ok(port, path)


def spawn(
    name: str,
    cmd: list[str],
    port: int,
    log_dir: Path,
    *,
    ready_path: str | None = None,
    cpus: set[int] | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 30.0,
    cwd: Path | None = None,
) -> Server:
    """Start `cmd`, wait until it serves on `port`; the start-up time is spawn to ready."""
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec,
        cwd=cwd,
    )
    log.close()
    check = readiness(port, ready_path)
    ok = netutil.wait_until(lambda: proc.poll() is None and check(), timeout_s)
    startup = time.perf_counter() - t0
    server = Server(name, proc, port, startup, 0, log_path)
    if not ok:
        server.stop(3)
        raise StartError(f"{name} not ready after {timeout_s:.0f} s:\n{log_tail(log_path)}")
    time.sleep(0.3)  # let start-up work settle before the idle reading
    server.idle_rss_kib = procstat.memory_kib(server.pids())
    return server
