"""Routing edges: how targets share traffic and which of them a request may reach."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import Behaviour, FakeUpstream
from tests.integration.configs import ENV, PROVIDER_KEY


@pytest.fixture
def second() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(Behaviour(reply="from the second target")).start()
    yield fake
    fake.stop()


def config(*targets: tuple[str, str, str], strategy: str = "ordered") -> str:
    """Targets as (id, provider kind, base_url), each serving every model."""
    lines = ["pack: {name: routing, version: 1.0.0}", "providers:", "  targets:"]
    for tid, kind, url in targets:
        lines += [
            f"    - id: {tid}",
            f"      provider: {kind}",
            f"      base_url: {url}",
            "      secret_key_ref: {env: FAKE_PROVIDER_KEY}",
            '      models: ["*"]',
            "      timeouts: {connect: 2, first_byte: 5, total: 30}",
        ]
    lines += [f"  routing: {{strategy: {strategy}}}", "policies: {chain: []}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def claude_only(
    tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream
) -> Iterator[Gateway]:
    """One gateway for the module with a single `anthropic` target, for the tests whose requests
    it refuses or whose provider answers with an error (what it says depends on no earlier one)."""
    factory = GatewayFactory(tmp_path_factory.mktemp("routing-claude"))
    yield factory.start(config(("claude", "anthropic", upstream.base_url)), env=ENV)
    factory.stop_all()


def chat(base_url: str, stream: bool = False) -> httpx.Response:
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(base_url + "/chat/completions", json=body, timeout=15)


def embed(base_url: str) -> httpx.Response:
    body = {"model": "text-embedding-3-small", "input": "hi"}
    return httpx.post(base_url + "/embeddings", json=body, timeout=15)


def answer(r: httpx.Response, stream: bool) -> str:
    if not stream:
        return str(r.json()["choices"][0]["message"]["content"])
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def paths(fake: FakeUpstream) -> list[str]:
    return [r.path for r in fake.requests]


def test_round_robin_turns_per_model_even_when_models_alternate(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """An app that embeds, then chats, then embeds... gets each model spread over both
    targets (one turn shared by every model sent all chats to one target)."""
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets, strategy="round_robin"), env=ENV)
    for _ in range(4):
        assert chat(gw.base_url).status_code == 200
        assert embed(gw.base_url).status_code == 200
    for path in ("/v1/chat/completions", "/v1/embeddings"):
        assert paths(fake).count(path) == 2, paths(fake)
        assert paths(second).count(path) == 2, paths(second)


def test_targets_that_cannot_serve_an_endpoint_are_skipped(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """An `anthropic` target first for every model: embeddings and completions go to the
    OpenAI target after it (they were refused with a 400, the next target never tried)."""
    targets = [("claude", "anthropic", fake.base_url), ("gpt", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    assert embed(gw.base_url).status_code == 200
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"}
    r = httpx.post(gw.base_url + "/completions", json=body, timeout=15)
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "from the second target"
    assert chat(gw.base_url).json()["choices"][0]["message"]["content"] == fake.behaviour.reply
    assert paths(fake) == ["/v1/messages"]
    assert paths(second) == ["/v1/embeddings", "/v1/completions"]


def test_an_endpoint_no_matching_target_serves_is_a_clear_400(
    claude_only: Gateway, fake: FakeUpstream
) -> None:
    r = embed(claude_only.base_url)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "validation_error" and err["code"] == "invalid_request"
    assert "/v1/embeddings" in err["message"] and "'claude' (anthropic)" in err["message"]
    assert fake.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_a_connection_dropped_before_anything_reached_the_client_falls_back(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream, stream: bool
) -> None:
    """The provider sends its headers, then resets the connection: nothing reached the
    client, so the next target answers (it was a 502 'truncated response', never retried)."""
    fake.reset(drop_json=True, fail_after_chunks=0)
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    r = chat(gw.base_url, stream=stream)
    assert r.status_code == 200, r.text
    assert answer(r, stream) == "from the second target"
    assert len(fake.requests) == 1 and len(second.requests) == 1
    text = httpx.get(gw.url + "/metrics").text
    assert 'keeptrusts_gateway_upstream_attempts_total{outcome="connect_error",provider="a"} 1.0' in text  # fmt: skip


def test_a_connection_dropped_with_no_target_left_is_a_503(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(drop_json=True)
    gw = gateways.start(config(("a", "openai", fake.base_url)), env=ENV)
    r = chat(gw.base_url)
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_unavailable"
    assert "dropped the connection" in err["message"]


def test_retry_after_as_an_http_date_is_passed_on_in_seconds(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """RFC 9110 lets a provider (or the proxy before it) send `Retry-After` as a date: the
    client must still be told to wait about that long (it was told 1 second)."""
    when = datetime.now(UTC) + timedelta(seconds=120)
    fake.reset(status=429, retry_after=format_datetime(when, usegmt=True))
    gw = gateways.start(config(("a", "openai", fake.base_url)), env=ENV)
    r = chat(gw.base_url)
    assert r.status_code == 429 and r.json()["error"]["code"] == "upstream_rate_limited"
    assert 60 <= int(r.headers["retry-after"]) <= 121


def test_a_half_open_target_gets_one_trial_not_every_request(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """Once its cooldown has passed, a target that timed out gets one trial request; the
    requests arriving while that trial waits go to the next target at once (each of them
    waited for the dead target's timeout first)."""
    fake.reset(first_byte_delay=30)  # never answers within first_byte
    text = config(("a", "openai", fake.base_url), ("b", "openai", second.base_url))
    breaker = "  circuit_breaker: {failure_threshold: 1, cooldown_seconds: 0.5}\n"
    text = text.replace("  routing:", breaker + "  routing:")
    # the test waits for a's timeout twice: 2 s still leaves the trial waiting long after
    # the other requests arrive
    text = text.replace("first_byte: 5", "first_byte: 2", 1)
    gw = gateways.start(text, env=ENV)
    assert chat(gw.base_url).status_code == 200  # a times out: its breaker opens
    assert len(fake.requests) == 1
    time.sleep(0.6)  # the cooldown passes
    with ThreadPoolExecutor(4) as pool:
        trial = pool.submit(chat, gw.base_url)  # the trial: waits for a's timeout
        while len(fake.requests) < 2:
            time.sleep(0.01)
        others = [pool.submit(chat, gw.base_url) for _ in range(3)]
        assert all(f.result().status_code == 200 for f in others)
        assert len(fake.requests) == 2  # (all three went to a first, and waited)
        assert trial.result().status_code == 200
    assert len(second.requests) == 5


@pytest.mark.parametrize("stream", [False, True])
def test_an_error_status_whose_body_is_cut_falls_back(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream, stream: bool
) -> None:
    """A 503 whose body never arrives whole is still a 503: the next target answers (it
    was a bare 500 internal_error, with a traceback in the log, and no fallback)."""
    fake.reset(status=503, cut_error_body=True)
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    r = chat(gw.base_url, stream=stream)
    assert r.status_code == 200, r.text
    assert answer(r, stream) == "from the second target"
    assert "Traceback" not in gw.logs()


def test_an_error_status_whose_body_is_cut_with_no_target_left_is_a_502(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(status=503, cut_error_body=True)
    gw = gateways.start(config(("a", "openai", fake.base_url)), env=ENV)
    r = chat(gw.base_url)
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_error"
    assert "HTTP 503" in err["message"]


@pytest.mark.parametrize("status", [301, 307])
def test_a_provider_redirect_is_not_followed_with_the_key(
    claude_only: Gateway, fake: FakeUpstream, second: FakeUpstream, status: int
) -> None:
    """A redirect from the provider (a base_url on http behind an https redirect, or a
    hostile proxy) is reported, not followed: aiohttp followed it to any host with the
    target's `x-api-key` / `api-key` header, and turned a 301's POST into a GET."""
    elsewhere = f"http://localhost:{second.port}/v1/messages"  # (another origin)
    fake.reset(status=status, location=elsewhere)
    r = chat(claude_only.base_url)
    assert second.requests == []
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_error"
    assert f"HTTP {status}" in err["message"] and "base_url" in err["message"]


def test_an_openai_base_url_without_v1_reaches_the_api(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """`base_url: https://api.openai.com` (as the public docs' Python SDK page writes it)
    reaches `/v1/chat/completions`: it posted to `/chat/completions`, a 404 every time."""
    root = fake.base_url.removesuffix("/v1")
    gw = gateways.start(config(("a", "openai", root)), env=ENV)
    assert chat(gw.base_url).status_code == 200
    assert embed(gw.base_url).status_code == 200
    assert paths(fake) == ["/v1/chat/completions", "/v1/embeddings"]


def test_azure_deployment_urls_and_the_v1_api(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """The resource endpoint gets deployment URLs with `api-version`; Azure's v1 API endpoint
    (`.../openai/v1`, what the portal shows since 2025) gets OpenAI's paths, the deployment
    in the body and no `api-version` (it got `/openai/v1/openai/deployments/...`: a 404)."""
    root = fake.base_url.removesuffix("/v1")
    v1 = second.base_url.removesuffix("/v1") + "/openai/v1"
    text = config(("classic", "azure-openai", root), ("v1", "azure-openai", v1))
    text = text.replace('models: ["*"]', 'models: ["*"]\n      model: my-deployment', 2)
    text = text.replace("  routing: {strategy: ordered}", "  routing: {strategy: round_robin}")
    gw = gateways.start(text, env=ENV)
    assert chat(gw.base_url).status_code == 200
    assert embed(gw.base_url).status_code == 200
    assert chat(gw.base_url).status_code == 200
    classic = fake.requests
    assert [r.path for r in classic] == [
        "/openai/deployments/my-deployment/chat/completions",
        "/openai/deployments/my-deployment/embeddings",
    ]
    assert all(r.query == "api-version=2024-10-21" for r in classic)
    assert [r.path for r in second.requests] == ["/openai/v1/chat/completions"]
    sent = second.requests[0]
    assert sent.query == "" and sent.body["model"] == "my-deployment"
    for r in [*classic, *second.requests]:
        assert r.headers["api-key"] == PROVIDER_KEY and "authorization" not in r.headers


def test_azure_api_versions_before_stream_options_still_stream(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """The gateway asks for streamed usage (`stream_options`), which Azure api-versions
    before 2024-09-01 refuse: every stream to such a target was a 400 the client never
    caused. They are sent without it (usage is then estimated); later versions keep it."""
    fake.reset(refused_fields=("stream_options",))
    root = fake.base_url.removesuffix("/v1")
    text = config(("az", "azure-openai", root)).replace(
        'models: ["*"]', 'models: ["*"]\n      model: dep\n      api_version: "2024-06-01"'
    )
    gw = gateways.start(text, env=ENV)
    r = chat(gw.base_url, stream=True)
    assert r.status_code == 200, r.text
    assert answer(r, stream=True) == fake.behaviour.reply
    assert "stream_options" not in fake.requests[0].body
    assert fake.requests[0].query == "api-version=2024-06-01"
    fake.reset()
    gw = gateways.start(config(("az", "azure-openai", root)), env=ENV)
    body = {"model": "dep", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    assert fake.requests[0].body["stream_options"] == {"include_usage": True}


def test_every_target_rate_limited_retries_after_the_soonest(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """Every target answered 429: the client may come back when the first of them is free
    (it was told the last one's wait: 60 s here, though the first frees up in 5)."""
    fake.reset(status=429, retry_after="5")
    second.reset(status=429, retry_after="60")
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    r = chat(gw.base_url)
    assert r.status_code == 429 and r.json()["error"]["code"] == "upstream_rate_limited"
    assert r.headers["retry-after"] == "5"
    assert len(fake.requests) == 1 and len(second.requests) == 1


@pytest.mark.parametrize("retry_after", ["30", None])
def test_a_rate_limited_target_goes_last_until_its_retry_after(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream, retry_after: str | None
) -> None:
    """A target that answered 429 is tried after the others while its `Retry-After` (1 s
    without one) has not passed: every request paid a round trip to it first (and the
    provider counted each against the limit)."""
    fake.reset(status=429, retry_after=retry_after)
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    for _ in range(3):
        r = chat(gw.base_url)
        assert r.status_code == 200 and answer(r, False) == "from the second target"
    assert len(fake.requests) == 1 and len(second.requests) == 3
    if retry_after is None:
        fake.reset()
        time.sleep(1.1)  # the default wait passes: a is first again
        assert answer(chat(gw.base_url), False) == fake.behaviour.reply


def test_a_rate_limited_target_is_still_tried_when_the_others_fail(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """One target rate-limited, the other down: the client is told 429 with the first's
    `Retry-After` (it got a 502 and no wait), and the limited target is still tried last."""
    fake.reset(status=429, retry_after="30")
    second.reset(status=503)
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    for n in (1, 2):
        r = chat(gw.base_url)
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "upstream_rate_limited"
        assert r.headers["retry-after"] == "30"
        assert len(fake.requests) == n and len(second.requests) == n
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"] * 2


def test_a_connection_lost_mid_stream_says_no_other_target_could_take_over(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """The provider drops the connection after the stream began: the error event says the
    stream could not move to another target (it said that no fallback target could serve
    it, though a second target was there and fallback was impossible once bytes were sent)."""
    fake.reset(reply="one two three four five", fail_after_chunks=2, fail_kind="abort")
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    r = chat(gw.base_url, stream=True)
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    err = json.loads(events[-2])["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_unavailable", err
    assert "no fallback target" not in err["message"]
    assert "stream had already begun" in err["message"] and "retry" in err["message"]
    assert second.requests == []


def test_n_above_one_skips_an_anthropic_target_or_is_a_clear_400(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream, claude_only: Gateway
) -> None:
    """Anthropic's Messages API answers one choice: a chat request with `n: 2` goes to the
    OpenAI target after the `anthropic` one, and with none is a 400 naming the target kind
    (the client silently got one choice of the two it asked for)."""
    body = {"model": "gpt-4o", "n": 2, "messages": [{"role": "user", "content": "hi"}]}
    targets = [("claude", "anthropic", fake.base_url), ("gpt", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)
    assert r.status_code == 200, r.text
    assert fake.requests == [] and second.requests[0].body["n"] == 2
    assert chat(gw.base_url).status_code == 200  # n unset: the anthropic target, as before
    assert paths(fake) == ["/v1/messages"]
    for stream in (False, True):
        r = httpx.post(
            claude_only.base_url + "/chat/completions", json={**body, "stream": stream}, timeout=15
        )
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["type"] == "validation_error" and err["code"] == "invalid_request"
        assert "'claude' (anthropic)" in err["message"] and "n > 1" in err["message"]
    assert paths(fake) == ["/v1/messages"]


def test_lowest_latency_counts_a_failure_as_a_slow_sample(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """`lowest_latency`: a target that fails counts as slow as its `first_byte` timeout (it
    kept the 0.0 of a target never measured, the fastest, and every request tried it first).
    Streams and JSON answers are measured apart (a stream's first chunk was compared with a
    whole JSON answer): each kind finds the failing target once."""
    fake.reset(status=503)
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets, strategy="lowest_latency"), env=ENV)
    for stream in (False, False, False, True, True):
        r = chat(gw.base_url, stream=stream)
        assert r.status_code == 200 and answer(r, stream) == "from the second target"
    assert len(fake.requests) == 2 and len(second.requests) == 5
