"""Real servers for control-plane tests: the API (`python -m keeptrusts.controlplane`) as a
subprocess on a free port, and a throwaway PostgreSQL server started from its own binaries."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.wait import answers_ok

TOKEN = "test-api-token"
PG_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/lib/postgresql/16/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ApiServer:
    """`python -m keeptrusts.controlplane` on 127.0.0.1; restartable on the same port."""

    def __init__(self, database: str, log_dir: Path, *, tokens: str = TOKEN) -> None:
        self.database = database
        self.port = free_port()
        self.log_dir = log_dir
        self.tokens = tokens
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> ApiServer:
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
        env["KEEPTRUSTS_API_TOKENS"] = self.tokens
        cmd = [
            sys.executable,
            "-m",
            "keeptrusts.controlplane",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--database",
            self.database,
        ]
        log = self.log_dir / f"api-{self.port}-{self.starts}.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        assert self.proc is not None
        why = answers_ok(self.url + "/health", self.proc, timeout)
        if why == "exited":
            raise RuntimeError(f"API exited {self.proc.returncode}:\n{self.logs()}")
        if why is not None:
            raise RuntimeError(f"API not ready in {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("api-*")))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    # -- client helpers ------------------------------------------------------------------------

    def headers(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def post_events(self, events: list[dict[str, Any]]) -> httpx.Response:
        return httpx.post(
            self.url + "/v1/events", json={"events": events}, headers=self.headers(), timeout=30
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers=self.headers(), timeout=30)

    def all_events(self, **filters: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.get("/v1/events", limit=1000, cursor=cursor, **filters).json()
            out += page["events"]
            cursor = page["next_cursor"] or ""
            if not cursor:
                return out


class Postgres:
    """initdb + postgres in a temp dir on a free port, run as an unprivileged user when root."""

    def __init__(self) -> None:
        self.bindir = find_pg_bindir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kt-pg-", dir=memory_dir()))
        self.proc: subprocess.Popen[bytes] | None = None
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "nobody"
            os.chmod(self.dir, 0o755)
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=self.user, cwd=self.dir)

    def start(self) -> Postgres:
        data = self.dir / "data"
        assert self.bindir is not None
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        log = (self.dir / "postgres.log").open("wb")
        self.proc = subprocess.Popen(
            [
                f"{self.bindir}/postgres",
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.dir),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.user,
            cwd=self.dir,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "postgres.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    break
            except OSError:
                time.sleep(0.1)
        self._wait_accepting()
        return self

    def _wait_accepting(self) -> None:
        assert self.bindir is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = subprocess.run(
                [f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not accept connections")

    def create_database(self) -> str:
        """A fresh database; returns its URL."""
        name = "kt_" + uuid.uuid4().hex[:10]
        assert self.bindir is not None
        subprocess.run(
            [
                f"{self.bindir}/createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def memory_dir() -> str | None:
    """/dev/shm where it can be written and has 2 GiB free (else the default temp dir): the cluster's files (a few
    hundred MB once the tests have made their databases) never go to disk, and removing them
    at the end does not wait for the disk to write them first (it took 10-30 s)."""
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        return None
    st = os.statvfs(shm)  # (a container's /dev/shm is often 64 MB: too small for the cluster)
    return shm if st.f_bavail * st.f_frsize >= 2 * 1024**3 else None


def find_pg_bindir() -> str | None:
    for d in PG_DIRS:
        if all(os.access(f"{d}/{b}", os.X_OK) for b in ("initdb", "postgres", "createdb")):
            return d
    found = shutil.which("initdb")
    return str(Path(found).parent) if found else None
