"""Upstream faults: the gateway falls back where allowed, else answers the contract's error,
never hangs a client, and leaks no task or socket."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV

CONFIG = """
pack: {{name: faults, version: 1.0.0}}
providers:
  targets:
    - id: flaky
      provider: openai
      base_url: {url}
      secret_key_ref: {{env: FAKE_PROVIDER_KEY}}
      models: ["*"]
      timeouts: {{connect: 1, first_byte: 1, total: 5}}
  fallback: {{on: [connect_error, timeout, 5xx], max_attempts: 1}}
policies: {{chain: [dlp-filter]}}
policy: {{dlp-filter: {{blocked_terms: [secret plan], action: redact}}}}
events: {{sinks: [file], file: "{events}"}}
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("faults")
    factory = GatewayFactory(tmp)
    gw = factory.start(CONFIG.format(url=upstream.base_url, events=tmp / "events.jsonl"), env=ENV)
    gw.events_file = tmp / "events.jsonl"  # type: ignore[attr-defined]
    yield gw
    factory.stop_all()


def stats(gw: Gateway) -> dict[str, int]:
    return httpx.get(gw.url + "/keeptrusts/stats").json()  # type: ignore[no-any-return]


def chat(gw: Gateway, stream: bool = False) -> httpx.Response:
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)


@pytest.fixture
def no_leaks(gw: Gateway) -> Iterator[None]:
    chat(gw)  # warm the connection pool
    # the warm-up's decision event is being written: the events pipeline's wait is a task of
    # its own, absent while it writes, so one reading can be a task short (on a loaded machine
    # the write can take a while): the steady state is the largest of several readings
    time.sleep(0.3)
    readings = [stats(gw)]
    for _ in range(5):
        time.sleep(0.1)
        readings.append(stats(gw))
    before = {k: max(r[k] for r in readings) for k in readings[0]}
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = stats(gw)
        if (
            after["in_flight"] == 0
            and after["asyncio_tasks"] <= before["asyncio_tasks"]
            and after["open_fds"] <= before["open_fds"] + 1
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"leak: before {before}, after {after}")


@pytest.mark.parametrize(
    ("behaviour", "status", "code"),
    [
        ({"first_byte_delay": 2.0}, 504, "upstream_timeout"),
        ({"status": 500}, 502, "upstream_error"),
        ({"status": 400}, 400, "upstream_rejected"),
        ({"status": 401}, 502, "upstream_auth_failed"),
        ({"garbage": True}, 502, "upstream_error"),
    ],
)
def test_json_faults(
    gw: Gateway,
    fake: FakeUpstream,
    no_leaks: None,
    behaviour: dict[str, object],
    status: int,
    code: str,
) -> None:
    fake.reset(**behaviour)  # type: ignore[arg-type]
    t0 = time.monotonic()
    r = chat(gw)
    assert time.monotonic() - t0 < 6
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["type"] == "upstream_error"


@pytest.mark.parametrize(
    "behaviour",
    [
        {"fail_after_chunks": 2, "fail_kind": "abort"},
        {"fail_after_chunks": 2, "fail_kind": "error"},
        {"garbage": True},
        {"garbage": True, "garbage_event": b"data: [1, 2]\n\n"},  # JSON, but not an object
        {"chunk_delay": 2.0},
    ],
)
def test_stream_faults_end_with_error_and_done(
    gw: Gateway, fake: FakeUpstream, no_leaks: None, behaviour: dict[str, object]
) -> None:
    fake.reset(reply="one two three four five six", **behaviour)  # type: ignore[arg-type]
    t0 = time.monotonic()
    r = chat(gw, stream=True)
    assert time.monotonic() - t0 < 8
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert '"error"' in events[-2] and '"upstream_error"' in events[-2]


def test_stall_before_headers_on_stream_is_504(
    gw: Gateway, fake: FakeUpstream, no_leaks: None
) -> None:
    fake.reset(first_byte_delay=2.0)
    r = chat(gw, stream=True)
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"


def test_a_timeout_names_the_setting_that_ran_out(gw: Gateway, fake: FakeUpstream) -> None:
    """A JSON answer comes whole, so `first_byte` bounds its generation: the 504 says which
    timeout ran out, its value, and that long answers need more (it said only "timed out")."""
    fake.reset(first_byte_delay=2.0)
    message = chat(gw).json()["error"]["message"]
    assert "timeouts.first_byte" in message and "1 s" in message
    assert "JSON answer arrives only once wholly generated" in message


def test_secret_key_never_in_outputs(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(status=401)
    r = chat(gw)
    key = ENV["FAKE_PROVIDER_KEY"]
    assert key not in r.text
    assert key not in httpx.get(gw.url + "/metrics").text
    assert key not in httpx.get(gw.url + "/keeptrusts/config").text
    assert key not in httpx.get(gw.url + "/health").text
    assert key not in gw.logs()
    events = gw.events_file  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (events.exists() and events.read_text()):
        time.sleep(0.1)
    assert events.read_text() and key not in events.read_text()
