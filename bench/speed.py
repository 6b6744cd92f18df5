"""How fast this run's machine was, against the reference figures issue 8 quotes.

Issue 8 gives CPU time per request "measured on this machine" for nginx, the aiohttp
pass-through, LiteLLM and Portkey. The same programs measured in this run show whether the
machine was slower or faster than when those figures were taken: the targets stated in
milliseconds (p50 added, stream TTFB added) depend on that, the ratios do not. The section is
context only; the table of targets always uses this run's raw figures.
"""

from __future__ import annotations

from typing import Any

#: issue 8's reference CPU time per request, µs
REFERENCE_CPU_US = {"direct": 13.0, "passthrough": 190.0, "portkey": 1300.0, "litellm": 10000.0}
CONNS = 16


def factors(res: dict[str, Any]) -> dict[str, float]:
    """This run's CPU per request at 16 connections ÷ the reference, per program measured."""
    out: dict[str, float] = {}
    for name, ref in REFERENCE_CPU_US.items():
        cell = res["targets"].get(name, {}).get("load", {}).get(CONNS)
        if cell and cell.get("cpu_us_per_req"):
            out[name] = float(cell["cpu_us_per_req"]) / ref
    return out


def _scaled(res: dict[str, Any], floor_factor: float) -> list[str]:
    lines = []
    c1 = res["targets"].get("gateway", {}).get("load", {}).get(1)
    if c1 and c1.get("p50_added_vs_direct_us") is not None:
        ms = c1["p50_added_vs_direct_us"] / 1000
        lines.append(
            f"- p50 added at 1 connection: {ms:.3f} ms here, ≈ {ms / floor_factor:.3f} ms at "
            "the reference speed (target ≤ 0.5 ms)"
        )
    s = res.get("streams", {}).get("gateway")
    if s and s.get("ttfb_added_us") is not None:
        ms = s["ttfb_added_us"] / 1000
        lines.append(
            f"- stream TTFB added: {ms:.3f} ms here, ≈ {ms / floor_factor:.3f} ms at the "
            "reference speed (target ≤ 1 ms)"
        )
    return lines


def render(res: dict[str, Any]) -> str:
    f = factors(res)
    if not f:
        return ""
    rows = ["| program | reference CPU µs/req (issue 8) | this run, 16 conns | this run ÷ reference |",
            "|---|---:|---:|---:|"]  # fmt: skip
    for name, factor in f.items():
        ref = REFERENCE_CPU_US[name]
        rows.append(f"| {name} | {ref:,.0f} | {ref * factor:,.0f} | {factor:.2f}× |")
    text = (
        "## Machine speed against issue 8's reference figures\n"
        "The same programs cost this much CPU per request in this run, against the figures "
        "the issue quotes for this machine. A factor above 1 means the machine was slower "
        "during this run; ratios between targets are unaffected, targets in milliseconds are "
        "not. For context only: the table of targets uses the raw figures.\n\n"
        + "\n".join(rows)
        + "\n"
    )
    floor = f.get("passthrough")
    scaled = _scaled(res, floor) if floor else []
    if scaled:
        text += (
            "\nDivided by the floor's factor (the gateway runs on the floor's stack), the "
            "millisecond figures would be:\n" + "\n".join(scaled) + "\n"
        )
    return text
