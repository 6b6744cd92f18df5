"""What machine and software a benchmark ran on (for the report)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("aiohttp", "uvloop", "orjson", "keeptrusts")


def cpu_model(cpuinfo: str) -> str:
    """The first `model name` of /proc/cpuinfo's text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


def _version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, Any]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu_model": cpu_model(cpuinfo),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {p: _package(p) for p in PACKAGES},
        "nginx": _version(["/usr/sbin/nginx", "-v"]),
        "wrk": _version(["/usr/bin/wrk", "--version"]).split(" Copyright")[0],
        "load_average_at_start": list(os.getloadavg()),
    }


def parse_proc_stat_cpu(text: str) -> tuple[float, float]:
    """(busy seconds, steal seconds) of all CPUs from /proc/stat's text."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            f = [int(x) for x in line.split()[1:]]
            # user nice system idle iowait irq softirq steal ...
            busy = f[0] + f[1] + f[2] + f[5] + f[6]
            steal = f[7] if len(f) > 7 else 0
            tck = os.sysconf("SC_CLK_TCK")
            return busy / tck, steal / tck
    return 0.0, 0.0


def cpu_busy() -> tuple[float, float]:
    try:
        return parse_proc_stat_cpu(Path("/proc/stat").read_text())
    except OSError:
        return 0.0, 0.0
