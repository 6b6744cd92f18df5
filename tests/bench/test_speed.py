"""The machine-speed section of the benchmark report: arithmetic only, no timings."""

from __future__ import annotations

from typing import Any

from bench import speed


def _res() -> dict[str, Any]:
    def load(cpu: float, **extra: float) -> dict[str, Any]:
        return {"cpu_us_per_req": cpu, **extra}

    return {
        "targets": {
            "direct": {"load": {16: load(26.0)}},
            "passthrough": {"load": {16: load(380.0)}},
            "gateway": {"load": {1: load(900.0, p50_added_vs_direct_us=1200.0), 16: load(800)}},
        },
        "streams": {"gateway": {"ttfb_added_us": 1400.0}},
    }


def test_factors_compare_this_run_with_the_reference() -> None:
    f = speed.factors(_res())
    assert f == {"direct": 2.0, "passthrough": 2.0}  # peers not run: not listed


def test_millisecond_targets_are_scaled_by_the_floor_factor() -> None:
    text = speed.render(_res())
    assert "| passthrough | 190 | 380 | 2.00× |" in text
    assert "1.200 ms here, ≈ 0.600 ms at the reference speed" in text
    assert "1.400 ms here, ≈ 0.700 ms at the reference speed" in text


def test_nothing_to_say_without_the_reference_programs() -> None:
    assert speed.render({"targets": {"gateway": {"load": {}}}}) == ""
