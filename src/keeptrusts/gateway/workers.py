"""`--workers N`: N gateway processes sharing one port (SO_REUSEPORT), the kernel balancing.

The parent only supervises: it forwards SIGTERM/SIGHUP/SIGINT and exits with the worst
child's exit code. Each worker has its own metrics; so that a scrape of the shared port, which
any one worker answers, shows them all, the parent gives the workers a shared directory for
metric snapshots and each its index (`telemetry/worker_metrics.py`: every series gets a
`worker` label). One worker per pod remains the usual choice in Kubernetes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from types import FrameType

from keeptrusts.telemetry.worker_metrics import ENV_DIR, ENV_INDEX


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
    shared = tempfile.mkdtemp(prefix="keeptrusts-workers-")
    children = [
        subprocess.Popen(cmd, env={**os.environ, ENV_DIR: shared, ENV_INDEX: str(i)})
        for i in range(n)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    try:
        return max(child.wait() for child in children)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
