"""Turn raw runs into the figures the report shows: medians over rounds, and everything relative
to the floor (the bare pass-through) and to direct, pairing runs of the same round and
connection count so that a noisy moment hits both sides of a ratio."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

FLOOR = "passthrough"
DIRECT = "direct"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _index(runs: list[dict[str, Any]]) -> dict[tuple[str, int, int], dict[str, Any]]:
    return {(r["target"], r["connections"], r["round"]): r for r in runs}


def _paired(
    idx: dict[tuple[str, int, int], dict[str, Any]],
    target: str,
    other: str,
    conns: int,
    key: str,
    op: str,
) -> float | None:
    """Median over rounds of target/other (op "ratio") or target-other (op "diff") of wrk `key`."""
    out: list[float] = []
    for (name, c, rnd), run in idx.items():
        if name != target or c != conns or (other, c, rnd) not in idx:
            continue
        a, b = run["wrk"][key], idx[(other, c, rnd)]["wrk"][key]
        if op == "ratio":
            if b:
                out.append(a / b)
        else:
            out.append(a - b)
    return _median(out)


def per_connection(runs: list[dict[str, Any]], target: str, conns: int) -> dict[str, Any]:
    mine = [r for r in runs if r["target"] == target and r["connections"] == conns]
    idx = _index(runs)
    cpu = [r["cpu_us_per_req"] for r in mine if r["cpu_us_per_req"] is not None]
    return {
        "rounds": len(mine),
        "rps": _median([r["wrk"]["rps"] for r in mine]),
        "rps_all": [round(r["wrk"]["rps"]) for r in mine],
        "p50_us": _median([r["wrk"]["p50_us"] for r in mine]),
        "p99_us": _median([r["wrk"]["p99_us"] for r in mine]),
        "cpu_us_per_req": _median(cpu),
        "ratio_vs_floor": _paired(idx, target, FLOOR, conns, "rps", "ratio"),
        "p50_added_vs_direct_us": _paired(idx, target, DIRECT, conns, "p50_us", "diff"),
        "p50_added_vs_floor_us": _paired(idx, target, FLOOR, conns, "p50_us", "diff"),
        "non_2xx": sum(r["wrk"]["non_2xx"] for r in mine),
        "socket_errors": sum(r["wrk"]["socket_errors"] for r in mine),
    }


def stream_added(streams: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each stream summary plus TTFB and total time added over direct (p50s)."""
    base = streams.get(DIRECT, {})
    out: dict[str, dict[str, Any]] = {}
    for name, s in streams.items():
        row = dict(s)
        for key in ("ttfb_p50_us", "total_p50_us"):
            mine, ref = s.get(key), base.get(key)
            added = None if mine is None or ref is None else mine - ref
            row[key.replace("_p50_us", "_added_us")] = added
        out[name] = row
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    cells: dict[str, set[int]] = defaultdict(set)
    for r in runs:
        cells[r["target"]].add(r["connections"])
    return {
        target: {c: per_connection(runs, target, c) for c in sorted(conns)}
        for target, conns in cells.items()
    }
