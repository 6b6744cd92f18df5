"""`--workers N`: N gateway processes sharing one port (SO_REUSEPORT), the kernel balancing.

The parent only supervises: it forwards SIGTERM/SIGHUP/SIGINT and exits with the worst
child's exit code. Each worker has its own metrics; scrape them through the pod, or run one
worker per pod in Kubernetes (the usual choice).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from types import FrameType


def run_workers(argv: list[str], n: int) -> int:
    cleaned: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--workers":
            skip = True
        elif not a.startswith("--workers="):
            cleaned.append(a)
    cmd = [sys.executable, "-m", "keeptrusts", "gateway", "run", *cleaned, "--reuse-port"]
    children = [subprocess.Popen(cmd) for _ in range(n)]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    return max(child.wait() for child in children)
