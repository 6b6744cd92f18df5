"""`--workers N`: N gateway processes sharing one port (SO_REUSEPORT), the kernel balancing.

The parent only supervises. It forwards SIGTERM/SIGINT (drain) and SIGHUP (reload) to the
workers. A worker that exits while the parent is not stopping (a crash, an OOM kill, `kill -9`)
is logged and restarted with the same index, so it takes over its predecessor's metric
snapshot and spool slot, after a backoff that doubles (from `FIRST_BACKOFF` to `MAX_BACKOFF`)
while it keeps failing within `STABLE_SECONDS` of its start. A worker that refuses to start
(exit 2: the config on disk became invalid) is retried only every `MAX_BACKOFF`, while the
others keep serving the last good config. When no worker is left alive, the parent exits with
the worst exit code (so an invalid config at start-up exits 2, as a single process does).
After SIGTERM the parent exits with the worst code of the workers' exits (a signal death counts
as 128 + the signal), non-zero also when a worker was down then, crashed and not restarted.

Each worker has its own metrics; so that a scrape of the shared port, which any one worker
answers, shows them all, the parent gives the workers a shared directory for metric snapshots
and each its index (`telemetry/worker_metrics.py`: every series gets a `worker` label). One
worker per pod remains the usual choice in Kubernetes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

from keeptrusts.telemetry.logging import setup_logging
from keeptrusts.telemetry.worker_metrics import ENV_DIR, ENV_INDEX

log = logging.getLogger("keeptrusts.gateway")

#: the delay before a crashed worker's first restart; it doubles while the worker keeps failing
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: a worker that ran this long before it failed starts over at `FIRST_BACKOFF`
STABLE_SECONDS = 60.0
#: the exit code of a gateway that refuses to start (invalid config, TLS files)
REFUSED = 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_workers(argv: list[str], n: int) -> int:
    setup_logging(os.environ.get("KEEPTRUSTS_LOG_LEVEL", "info").lower())
    shared = tempfile.mkdtemp(prefix="keeptrusts-workers-")
    try:
        return Supervisor(worker_command(argv), n, shared).run()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def worker_command(argv: list[str]) -> list[str]:
    """The parent's command line for one worker: without `--workers`, with `--reuse-port`."""
    cleaned: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--workers":
            skip = True
        elif not a.startswith("--workers="):
            cleaned.append(a)
    return [sys.executable, "-m", "keeptrusts", "gateway", "run", *cleaned, "--reuse-port"]


def exit_code(returncode: int) -> int:
    """A child's exit status as a shell reports it: a signal death is 128 + the signal."""
    return 128 - returncode if returncode < 0 else returncode


class Slot:
    """One worker index: its process, or when it is down, why and when it restarts."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        #: failures in a row, each within `STABLE_SECONDS` of its start
        self.failures = 0
        #: the exit code of the worker's last unexpected exit, while it is down
        self.down: int | None = None
        #: when it is restarted (monotonic), while it is down
        self.due: float | None = None


class Supervisor:
    def __init__(self, cmd: list[str], n: int, shared: str) -> None:
        self.cmd = cmd
        self.shared = shared
        self.slots = [Slot(i) for i in range(n)]
        self.stopping = False
        self.signals: list[int] = []
        #: the exit codes of the workers that exited once the parent was stopping
        self.final: list[int] = []

    def run(self) -> int:
        wake, wakeup = os.pipe()
        os.set_blocking(wake, False)
        os.set_blocking(wakeup, False)
        previous = signal.set_wakeup_fd(wakeup)  # any signal below wakes the select()
        for sig in (*STOP_SIGNALS, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, self._note)
        try:
            for slot in self.slots:
                self._spawn(slot)
            while self._step():
                with contextlib.suppress(InterruptedError):
                    select.select([wake], [], [], self._timeout())
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake, 512):
                        pass
        finally:
            signal.set_wakeup_fd(previous)
            os.close(wake)
            os.close(wakeup)
        return self._result()

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)

    def _step(self) -> bool:
        """Forward signals, reap exited workers, restart those due; whether to go on."""
        while self.signals:
            self._forward(self.signals.pop(0))
        for slot in self.slots:
            self._reap(slot)
        if not self.stopping:
            for slot in self.slots:
                if slot.due is not None and slot.due <= time.monotonic():
                    self._spawn(slot)
        alive = any(slot.proc is not None for slot in self.slots)
        if not alive and not self.stopping:
            log.error("no gateway worker is left running; exiting")
        return alive

    def _forward(self, signum: int) -> None:
        if signum == signal.SIGCHLD:
            return
        if signum in STOP_SIGNALS:
            self.stopping = True
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.send_signal(signum)

    def _reap(self, slot: Slot) -> None:
        if slot.proc is None or (returncode := slot.proc.poll()) is None:
            return
        pid, code, ran = slot.proc.pid, exit_code(returncode), time.monotonic() - slot.started
        slot.proc = None
        if self.stopping:
            # killed by the stop signal itself: it was still starting (no handler yet)
            self.final.append(0 if -returncode in STOP_SIGNALS else code)
            return
        slot.failures = slot.failures + 1 if ran < STABLE_SECONDS else 1
        backoff = MAX_BACKOFF
        if code != REFUSED:
            backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (slot.failures - 1))
        slot.down, slot.due = code, time.monotonic() + backoff
        log.error(
            "gateway worker %d (pid %d) exited with code %d after %.1fs; restarting it in %.1fs",
            slot.index,
            pid,
            code,
            ran,
            backoff,
        )

    def _spawn(self, slot: Slot) -> None:
        env = {**os.environ, ENV_DIR: self.shared, ENV_INDEX: str(slot.index)}
        try:
            slot.proc = subprocess.Popen(self.cmd, env=env)
        except OSError as exc:
            slot.failures += 1
            slot.due = time.monotonic() + MAX_BACKOFF
            slot.down = 1 if slot.down is None else slot.down
            log.error(
                "cannot start gateway worker %d: %s; retrying in %.0fs",
                slot.index,
                exc,
                MAX_BACKOFF,
            )
            return
        if slot.down is not None:
            log.warning("gateway worker %d restarted (pid %d)", slot.index, slot.proc.pid)
        slot.started, slot.down, slot.due = time.monotonic(), None, None

    def _timeout(self) -> float | None:
        """Until the next restart is due (None: only a signal wakes the loop)."""
        dues = [s.due for s in self.slots if s.due is not None and not self.stopping]
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def _result(self) -> int:
        """The worst exit code: the workers' exits, and the workers down (never restarted)."""
        down = {slot.index: slot.down for slot in self.slots if slot.down is not None}
        if down:
            log.error("exiting non-zero: gateway workers not running (index: exit code) %s", down)
        return max([*self.final, *down.values(), 0])
