"""Drive load with wrk (Debian's /usr/bin/wrk) and parse what it prints.

`post.lua` prints one `WRK_JSON {...}` line with exact percentiles in µs; when it is missing
(an older wrk, a script error) the human-readable report is parsed instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

WRK = "/usr/bin/wrk"
SCRIPT = Path(__file__).with_name("post.lua")

_UNITS_US = {"us": 1.0, "ms": 1_000.0, "s": 1_000_000.0, "m": 60_000_000.0, "h": 3_600_000_000.0}
_DURATION = re.compile(r"^([0-9]*\.?[0-9]+)(us|ms|s|m|h)$")
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", re.M)
_REQUESTS = re.compile(r"^\s*(\d+) requests in (\S+),", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.M)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M)


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_us: float
    p75_us: float
    p90_us: float
    p99_us: float
    non_2xx: int
    socket_errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_duration_us(text: str) -> float:
    """wrk's `398.00us`, `1.23ms`, `2.00s`, `1.00m` → microseconds."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise WrkError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_US[m.group(2)]


def _from_json_line(output: str) -> WrkResult | None:
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            d = orjson.loads(line[len("WRK_JSON ") :])
            duration = d["duration_us"] / 1e6
            socket = d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"]
            return WrkResult(
                requests=d["requests"],
                duration_s=duration,
                rps=d["requests"] / duration if duration > 0 else 0.0,
                p50_us=float(d["p50_us"]),
                p75_us=float(d["p75_us"]),
                p90_us=float(d["p90_us"]),
                p99_us=float(d["p99_us"]),
                non_2xx=d["status_errors"],
                socket_errors=socket,
            )
    return None


def _from_text(output: str) -> WrkResult:
    pct = {int(k): parse_duration_us(v) for k, v in _PERCENTILE.findall(output)}
    req, rps = _REQUESTS.search(output), _RPS.search(output)
    if req is None or rps is None or not {50, 75, 90, 99} <= pct.keys():
        raise WrkError(f"cannot parse wrk output:\n{output}")
    non2xx = _NON_2XX.search(output)
    sock = _SOCKET.search(output)
    return WrkResult(
        requests=int(req.group(1)),
        duration_s=parse_duration_us(req.group(2)) / 1e6,
        rps=float(rps.group(1)),
        p50_us=pct[50],
        p75_us=pct[75],
        p90_us=pct[90],
        p99_us=pct[99],
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
    )


def parse(output: str) -> WrkResult:
    """Parse wrk's stdout (the WRK_JSON line if present, else the text report)."""
    return _from_json_line(output) or _from_text(output)


def available() -> bool:
    return os.path.exists(WRK) or shutil.which("wrk") is not None


def run(
    url: str,
    connections: int,
    duration_s: float,
    body_file: Path,
    *,
    cpu: int | None = None,
    headers: str = "",
    timeout_s: str = "5s",
) -> WrkResult:
    """One wrk run: 1 thread, `connections` keep-alive connections, `duration_s` seconds."""
    cmd = [
        WRK if os.path.exists(WRK) else "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        f"--timeout={timeout_s}",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
    ]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    env = {**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_HEADERS": headers}
    done = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=duration_s + 30, check=False
    )
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout}")
    return parse(done.stdout)
