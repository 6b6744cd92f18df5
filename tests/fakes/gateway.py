"""Start the real gateway (`python -m keeptrusts gateway run`) as a subprocess for tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.fakes.wait import answers_ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Gateway:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path, config: Path | None):
        self.proc = proc
        self.port = port
        self.log_path = log
        self.config = config

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 15.0) -> None:
        why = answers_ok(self.url + "/readyz", self.proc, timeout)
        if why == "exited":
            raise RuntimeError(f"gateway exited {self.proc.returncode}:\n{self.logs()}")
        if why is not None:
            raise RuntimeError(f"gateway not ready in {timeout}s:\n{self.logs()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if sig == signal.SIGKILL:  # `--workers` children outlive a killed supervisor
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode


class GatewayFactory:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[Gateway] = []
        self.n = 0

    def start(
        self,
        config: str | None,
        *,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        wait: bool = True,
        port: int | None = None,
        prefix: list[str] | None = None,
    ) -> Gateway:
        """`prefix`: a command the gateway runs under (it must exec the rest, keeping the pid)."""
        self.n += 1
        port = port or free_port()
        cmd = [
            *(prefix or []),
            sys.executable,
            "-m",
            "keeptrusts",
            "gateway",
            "run",
            "--listen",
            f"127.0.0.1:{port}",
        ]
        path: Path | None = None
        if config is not None:
            path = self.tmp / f"config-{self.n}.yaml"
            path.write_text(config)
            cmd += ["--policy-config", str(path)]
        else:
            cmd += ["--config-dir", str(self.tmp / "no-such-dir")]
        cmd += args or []
        if "--spool-dir" not in cmd:  # never share the default spool between tests
            cmd += ["--spool-dir", str(self.tmp / f"spool-{self.n}")]
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("KEEPTRUSTS_", "OTEL_"))
        }
        full_env.pop("OPENAI_API_KEY", None)
        full_env.update(env or {})
        log = self.tmp / f"gateway-{self.n}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env, start_new_session=True
            )
        gw = Gateway(proc, port, log, path)
        self.started.append(gw)
        if wait:
            gw.wait_ready()
        return gw

    def stop_all(self) -> None:
        for gw in self.started:
            gw.stop(signal.SIGKILL, 5)
