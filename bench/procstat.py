"""Read a process tree's CPU time, memory and open descriptors from /proc (Linux only).

A server under test may be several processes (`kt gateway run --workers N` is a supervisor
and N children), so everything here sums over the process and all its descendants.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _parents() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(pid: int) -> list[int]:
    """`pid` and every live descendant of it."""
    children = _parents()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def parse_stat_cpu(stat: str) -> int:
    """utime + stime (clock ticks) from the text of /proc/<pid>/stat."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            ticks += parse_stat_cpu((_PROC / str(pid) / "stat").read_text())
        except OSError:
            continue
    return ticks / CLK_TCK


def parse_status_kib(status: str, key: str) -> int:
    """A `VmRSS:`/`VmHWM:`-style line of /proc/<pid>/status, in KiB (0 if absent)."""
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def memory_kib(pids: list[int], key: str = "VmRSS") -> int:
    total = 0
    for pid in pids:
        try:
            total += parse_status_kib((_PROC / str(pid) / "status").read_text(), key)
        except OSError:
            continue
    return total


def open_fds(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(_PROC / str(pid) / "fd"))
        except OSError:
            continue
    return total


@dataclass
class RssSampler:
    """Samples the summed VmRSS of a process tree in a thread until stopped."""

    root: int
    interval_s: float = 0.05
    peak_kib: int = 0
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        pids = tree(self.root)
        while not self._stop.wait(self.interval_s):
            rss = memory_kib(pids)
            self.samples.append(rss)
            self.peak_kib = max(self.peak_kib, rss)

    def stop(self) -> int:
        """Stop sampling; return the peak (the larger of the samples and the tree's VmHWM)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return max(self.peak_kib, memory_kib(tree(self.root), "VmHWM"))


def waited_children_cpu_seconds(pid: int) -> float:
    """cutime + cstime: CPU of the children `pid` has already waited for (e.g. finished wrk runs)."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / CLK_TCK
