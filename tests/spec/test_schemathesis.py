"""schemathesis against the live gateway (a subprocess) in front of the fake OpenAI upstream.

Every response must be documented in `data/openapi.yaml` (status, content type, headers,
body schema, SSE events) and no request may produce a 5xx: the fake upstream always answers
200, so not even the documented 502/503/504 may occur. Bounded (few examples, no shrinking)
and deterministic (fixed seed, derandomized Hypothesis) so the file runs in well under 90 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV
from tests.spec.spec import gateway_view, load_spec

SPEC = load_spec()
#: examples per operation and mode (KT_SPEC_EXAMPLES raises it for a deeper local run)
EXAMPLES = int(os.environ.get("KT_SPEC_EXAMPLES", "12"))

#: every request kind reaches the fake upstream (models: "*"), through text policies that
#: read every slot (PII redaction, prompt injection, DLP) and the limit policies' estimates
CONFIG = """\
pack: {name: spec, version: 1.0.0}
providers:
  targets:
    - id: fake
      provider: openai
      base_url: %s
      secret_key_ref: {env: FAKE_PROVIDER_KEY}
      models: ["*"]
      timeouts: {connect: 2, first_byte: 5, total: 30}
policies:
  chain: [size-limits, rate-limit, budget, prompt-injection, pii-detector, dlp-filter]
policy:
  size-limits: {max_messages: 64, max_tokens: 100000}
  rate-limit:
    rules: [{scope: tenant, requests_per_minute: 1000000, max_parallel: 64}]
  budget:
    rules: [{scope: tenant, limit_usd: 1000000, window: day}]
  pii-detector: {action: redact}
  prompt-injection: {response: {action: block}}
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""


def _config(mode: str, examples: int) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261128,
            "generation": {
                "mode": mode,
                "max-examples": examples,
                "deterministic": True,
                "no-shrink": True,
            },
        }
    )


#: the documented contract, OpenAI-shaped requests only
documented = schemathesis.openapi.from_dict(load_spec(), config=_config("positive", EXAMPLES))
#: what the gateway itself checks: invalid requests must get a documented 4xx, and arbitrary
#: values in passthrough fields must be forwarded, never crash the gateway
fuzzed = schemathesis.openapi.from_dict(gateway_view(SPEC), config=_config("all", EXAMPLES))

SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def live(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    upstream.reset()
    factory = GatewayFactory(tmp_path_factory.mktemp("spec"))
    gw = factory.start(CONFIG % upstream.base_url, env=ENV)
    yield gw
    factory.stop_all()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@documented.parametrize()
@SETTINGS
def test_documented_requests_conform(case: Any, live: Gateway, session: requests.Session) -> None:
    case.call_and_validate(base_url=live.url, session=session, timeout=30)


@fuzzed.parametrize()
@SETTINGS
def test_fuzzed_requests_conform(case: Any, live: Gateway, session: requests.Session) -> None:
    case.call_and_validate(base_url=live.url, session=session, timeout=30)


def test_served_description_is_the_shipped_one(live: Gateway) -> None:
    r = httpx.get(live.url + "/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == SPEC


def test_integral_float_token_counts_are_accepted(live: Gateway) -> None:
    r = httpx.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": 1.0},
    )
    assert r.status_code == 200, r.text


def test_non_iterable_tool_calls_is_not_a_server_error(live: Gateway) -> None:
    r = httpx.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": True}]},
    )
    assert r.status_code < 500, r.text
