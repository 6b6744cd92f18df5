"""Issue 8's targets, checked against one run's figures (reported, never a test failure)."""

from __future__ import annotations

from typing import Any

MIB = 1024


def _check(what: str, wanted: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"what": what, "wanted": wanted, "measured": measured, "met": met}


def _load(res: dict[str, Any], target: str, conns: int) -> dict[str, Any] | None:
    t = res["targets"].get(target)
    if t is None:
        return None
    cell: dict[str, Any] | None = t.get("load", {}).get(conns)
    return cell


def _gateway_load(res: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    c16 = _load(res, "gateway", 16)
    if c16 and c16["ratio_vs_floor"] is not None:
        r = c16["ratio_vs_floor"]
        out.append(
            _check("req/s at 16 conns vs floor", "≥ 0.8× (1.0× best)", f"{r:.2f}×", r >= 0.8)
        )
    c1 = _load(res, "gateway", 1)
    if c1 and c1["p50_added_vs_direct_us"] is not None:
        ms = c1["p50_added_vs_direct_us"] / 1000
        floor = c1["p50_added_vs_floor_us"]
        extra = f" ({floor / 1000:.3f} ms over the floor)" if floor is not None else ""
        out.append(
            _check("p50 added at 1 conn (vs direct)", "≤ 0.5 ms", f"{ms:.3f} ms{extra}", ms <= 0.5)
        )
    return out


def _gateway_resources(res: dict[str, Any]) -> list[dict[str, Any]]:
    t = res["targets"].get("gateway")
    if t is None:
        return []
    out = []
    s = res.get("streams", {}).get("gateway")
    if s and s.get("ttfb_added_us") is not None:
        ms = s["ttfb_added_us"] / 1000
        out.append(_check("stream TTFB added (vs direct)", "≤ 1 ms", f"{ms:.3f} ms", ms <= 1.0))
    if t.get("peak_rss_kib"):
        mib = t["peak_rss_kib"] / MIB
        out.append(_check("peak RSS at 64 conns", "≤ 128 MiB", f"{mib:.1f} MiB", mib <= 128))
    idle = t["idle_rss_kib"] / MIB
    out.append(_check("idle RSS", "≤ 64 MiB", f"{idle:.1f} MiB", idle <= 64))
    ready = t["startup_s"]
    out.append(_check("start-up to ready", "≤ 1 s", f"{ready * 1000:.0f} ms", ready <= 1.0))
    return out


def _relative(res: dict[str, Any], other: str, conns: int) -> float | None:
    mine, theirs = _load(res, "gateway", conns), _load(res, other, conns)
    if not mine or not theirs or not theirs["rps"] or mine["rps"] is None:
        return None
    return float(mine["rps"] / theirs["rps"])


def _peers_and_workers(res: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for peer, want in (("litellm", 50.0), ("portkey", 5.0)):
        r = _relative(res, peer, 16)
        if r is not None:
            out.append(
                _check(f"req/s vs {peer} (16 conns)", f"≥ {want:g}×", f"{r:.1f}×", r >= want)
            )
    w2 = _load(res, "gateway-w2", 64)
    one = _load(res, "gateway", 64)
    if w2 and one and one["rps"] and w2["rps"] is not None:
        r = w2["rps"] / one["rps"]
        out.append(_check("--workers 2 vs 1 (64 conns)", "≥ 1.7×", f"{r:.2f}×", r >= 1.7))
    return out


def cpu_note(res: dict[str, Any]) -> str | None:
    """Where the gateway's time goes, in one line: its CPU per request over the floor's."""
    gw, floor = _load(res, "gateway", 16), _load(res, "passthrough", 16)
    if not gw or not floor or not gw["cpu_us_per_req"] or not floor["cpu_us_per_req"]:
        return None
    g, f = gw["cpu_us_per_req"], floor["cpu_us_per_req"]
    return (
        f"CPU per request at 16 connections: gateway {g:,.0f} µs, floor {f:,.0f} µs "
        f"({g / f:.2f}×): the gateway's own work is {g - f:,.0f} µs per request; at one core "
        f"that alone caps it near {1e6 / g:,.0f} req/s against the floor's {1e6 / f:,.0f}"
    )


def evaluate(res: dict[str, Any]) -> list[dict[str, Any]]:
    return _gateway_load(res) + _gateway_resources(res) + _peers_and_workers(res)
