"""The benchmark's parsing helpers: wrk's output, /proc's formats, the stream check. No timings."""

from __future__ import annotations

import pytest

from bench import machine, payloads, procstat, streams, summary, wrk

WRK_TEXT = """\
Running 3s test @ http://127.0.0.1:38087/v1/chat/completions
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.97ms    3.31ms  37.90ms   94.89%
    Req/Sec    11.80k     3.76k   17.52k    55.00%
  Latency Distribution
     50%  398.00us
     75%    1.85ms
     90%    3.98ms
     99%    1.02s
  23421 requests in 2.00s, 20.28MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:  11699.53
Transfer/sec:     10.13MB
"""

WRK_JSON = (
    'WRK_JSON {"requests":23421,"duration_us":2000000,"bytes":21266268,"status_errors":3,'
    '"connect_errors":0,"read_errors":1,"write_errors":0,"timeouts":2,"p50_us":1132,'
    '"p75_us":1847,"p90_us":3981,"p99_us":20232,"p999_us":35250,"max_us":37901,"mean_us":1974.0}'
)


@pytest.mark.parametrize(
    ("text", "us"),
    [("398.00us", 398.0), ("1.85ms", 1850.0), ("2.00s", 2_000_000.0), ("1.50m", 90_000_000.0)],
)
def test_duration_units(text: str, us: float) -> None:
    assert wrk.parse_duration_us(text) == pytest.approx(us)


def test_duration_rejects_garbage() -> None:
    with pytest.raises(wrk.WrkError):
        wrk.parse_duration_us("fast")


def test_text_report() -> None:
    r = wrk.parse(WRK_TEXT)
    assert r.requests == 23421
    assert r.duration_s == pytest.approx(2.0)
    assert r.rps == pytest.approx(11699.53)
    assert (r.p50_us, r.p75_us, r.p90_us, r.p99_us) == pytest.approx((398, 1850, 3980, 1_020_000))
    assert r.non_2xx == 12
    assert r.socket_errors == 7


def test_json_line_wins_over_text() -> None:
    r = wrk.parse(WRK_TEXT + WRK_JSON + "\n")
    assert r.p50_us == 1132 and r.p99_us == 20232
    assert r.rps == pytest.approx(11710.5)
    assert r.non_2xx == 3 and r.socket_errors == 3


def test_unparseable_output() -> None:
    with pytest.raises(wrk.WrkError):
        wrk.parse("wrk: connection refused\n")


def test_proc_stat_cpu_with_spaces_in_name() -> None:
    stat = "1234 (kt gateway) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 99"
    assert procstat.parse_stat_cpu(stat) == 300


def test_proc_status_kib() -> None:
    status = "Name:\tkt\nVmHWM:\t   70000 kB\nVmRSS:\t   61234 kB\n"
    assert procstat.parse_status_kib(status, "VmRSS") == 61234
    assert procstat.parse_status_kib(status, "VmHWM") == 70000
    assert procstat.parse_status_kib(status, "VmSwap") == 0


def test_cpuinfo_model_and_proc_stat() -> None:
    assert machine.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    busy, steal = machine.parse_proc_stat_cpu("cpu  100 5 20 900 1 2 3 4 0 0\ncpu0 1 2 3 4\n")
    tck = procstat.CLK_TCK
    assert busy == pytest.approx(130 / tck) and steal == pytest.approx(4 / tck)


def test_stream_check_accepts_merged_chunks_and_rejects_truncation() -> None:
    whole = payloads.sse_bytes()
    assert streams.stream_complete(whole)
    events = whole.split(b"\n\n")
    merged = b"\n\n".join([events[0], *events[-3:]])  # content lost: not the whole answer
    assert not streams.stream_complete(merged)
    assert not streams.stream_complete(whole.replace(b"data: [DONE]\n\n", b""))


def _run(target: str, rnd: int, rps: float, p50: float) -> dict[str, object]:
    w = {"rps": rps, "p50_us": p50, "p99_us": p50 * 3, "non_2xx": 0, "socket_errors": 0}
    return {"target": target, "round": rnd, "connections": 16, "wrk": w, "cpu_us_per_req": 100.0}


def test_summary_pairs_rounds() -> None:
    runs = [
        _run("direct", 1, 10000, 100),
        _run("passthrough", 1, 1000, 1000),
        _run("gateway", 1, 900, 1200),
        _run("direct", 2, 10000, 100),
        _run("passthrough", 2, 500, 2000),
        _run("gateway", 2, 400, 2500),
    ]
    gw = summary.summarise(runs)["gateway"][16]
    assert gw["ratio_vs_floor"] == pytest.approx((0.9 + 0.8) / 2)
    assert gw["p50_added_vs_direct_us"] == pytest.approx((1100 + 2400) / 2)
    assert gw["p50_added_vs_floor_us"] == pytest.approx((200 + 500) / 2)
    assert gw["rps_all"] == [900, 400]


def test_profile_summary_of_collapsed_stacks() -> None:
    from bench import profile

    raw = (
        "run (asyncio/runners.py:118);handle (keeptrusts/gateway/handler.py:40);"
        "scan (keeptrusts/detect/engine.py:10) 30\n"
        "run (asyncio/runners.py:118);_writelines (aiohttp/http_writer.py:116) 70\n"
    )
    text = profile.summarise(raw)
    assert "100 samples" in text
    assert " 70.0%  _writelines (aiohttp/http_writer.py:116)" in text
    assert " 30.0%  handle (keeptrusts/gateway/handler.py:40)" in text
