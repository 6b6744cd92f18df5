"""`budget`: worst-case reservation, settlement, refusal, fail modes, report and metrics."""

from __future__ import annotations

import asyncio
import time

import pytest

from keeptrusts.config.load import load_texts
from keeptrusts.errors import RateLimited
from keeptrusts.limits.backend import LimitsUnavailable, create_backend, to_nano
from keeptrusts.limits.report import limits_report
from keeptrusts.limits.windows import Window
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.budget import Budget
from keeptrusts.policies.registry import KINDS, BuildContext
from keeptrusts.pricing import Pricing
from keeptrusts.telemetry.metrics import Metrics
from tests.policies.limits_helpers import LISTED_KEY, build, exchange, used

# gpt-4o-mini: $0.15 / $0.60 per million. 400 chars -> 100 tokens + 4 framing = 104 tokens.
# Worst case with max_tokens 1000: 104 * 0.15e-6 + 1000 * 0.6e-6 = $0.0006156
WORST = 104 * 0.15e-6 + 1000 * 0.6e-6


def budget(limit: float, window: str = "day", backend: object = None, **kw: object) -> Budget:
    b = backend or create_backend("memory", None, "kt")
    rule = f"rules: [{{scope: tenant, limit_usd: {limit}, window: {window}}}]"
    policy = build("budget", rule, b, **kw)  # type: ignore[arg-type]
    assert isinstance(policy, Budget)
    return policy


async def test_worst_case_uses_prompt_estimate_and_max_tokens() -> None:
    p = budget(1)
    assert p.worst_case(exchange(), p.settings.rules[0]) == pytest.approx(WORST)
    default = exchange(max_tokens=None)  # default_max_tokens: 4096
    expected = 104 * 0.15e-6 + 4096 * 0.6e-6
    assert p.worst_case(default, p.settings.rules[0]) == pytest.approx(expected)


async def test_admits_exactly_n_concurrent_worst_cases_then_refuses() -> None:
    p = budget(WORST * 5)
    exs = [exchange() for _ in range(8)]
    decisions = await asyncio.gather(*(p.on_request(ex) for ex in exs))
    assert [d.result for d in decisions].count(Result.ALLOW) == 5
    refused = next(d for d in decisions if d.result is Result.BLOCK)
    assert isinstance(refused.error, RateLimited)
    assert refused.error.code == "budget_exceeded" and refused.error.status == 429
    assert refused.error.policy == "budget" and "Retry-After" in refused.error.headers
    assert "lower max_tokens" in refused.error.message


async def test_settles_real_cost_and_releases_the_rest() -> None:
    p = budget(WORST * 2)
    a, b = exchange(), exchange()
    assert (await p.on_request(a)).result is Result.ALLOW
    assert (await p.on_request(b)).result is Result.ALLOW
    assert (await p.on_request(exchange())).result is Result.BLOCK
    used(a, 100, 10)  # cost far below the worst case
    await p.on_complete(a)
    await p.on_complete(b)  # upstream failure: no usage, nothing spent
    event = a.scratch["budget"].as_event()
    assert event["settled_usd"] == pytest.approx(100 * 0.15e-6 + 10 * 0.6e-6)
    assert event["spent_usd"] == pytest.approx(event["settled_usd"])
    assert event["window"] == "day" and event["limit_usd"] == pytest.approx(WORST * 2)
    assert (await p.on_request(exchange())).result is Result.ALLOW


async def test_on_complete_without_request_is_a_no_op() -> None:
    p = budget(1)
    await p.on_complete(exchange())  # blocked before this policy ran


async def test_unpriced_model_costs_nothing() -> None:
    p = budget(0.000001)
    ex = exchange(model="my-local-llama")
    assert (await p.on_request(ex)).result is Result.ALLOW


async def test_report_and_metrics() -> None:
    metrics = Metrics()
    p = budget(1, metrics=metrics)
    ex = exchange()
    await p.on_request(ex)
    used(ex, 1000, 1000)
    await p.on_complete(ex)
    report = await limits_report([p], "team-a")
    entries = report["limits"]
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert entry["spent_usd"] == pytest.approx(0.00075)
    assert entry["remaining_usd"] == pytest.approx(1 - 0.00075)
    assert entry["reserved_usd"] == 0 and entry["window"] == "day"
    spent = metrics.registry.get_sample_value("keeptrusts_budget_spent_usd", {"tenant": "team-a"})
    assert spent == pytest.approx(0.00075)


@pytest.mark.parametrize("mode", ["block", "allow"])
async def test_unreachable_backend_follows_fail_mode(mode: str) -> None:
    metrics = Metrics()
    dead = create_backend("redis", "redis://127.0.0.1:1/0", "kt", fail_mode=mode, metrics=metrics)
    try:
        p = budget(1, backend=dead)
        ex = exchange()
        if mode == "block":
            with pytest.raises(LimitsUnavailable) as err:
                await p.on_request(ex)
            assert err.value.status == 503 and err.value.policy == "budget"
        else:
            d = await p.on_request(ex)
            assert d.result is Result.ALLOW and d.reason_code == "limits.backend_unavailable"
            used(ex, 10, 10)
            await p.on_complete(ex)  # never raises
        value = metrics.registry.get_sample_value(
            "keeptrusts_limits_backend_fallbacks_total", {"mode": mode}
        )
        assert value == 1
    finally:
        await dead.close()


def test_duplicate_rules_are_refused() -> None:
    from keeptrusts.config.load import ConfigError

    with pytest.raises(ConfigError, match="two rules"):
        build(
            "budget",
            "rules: [{scope: tenant, limit_usd: 1}, {scope: tenant, limit_usd: 2}]",
            create_backend("memory", None, "kt"),
        )


async def test_worst_case_counts_every_choice_and_token_id_prompts() -> None:
    p = budget(1)
    rule = p.settings.rules[0]
    ex = exchange()
    ex.body["n"] = 50  # 50 choices of up to 1000 tokens each
    assert p.worst_case(ex, rule) == pytest.approx(104 * 0.15e-6 + 50 * 1000 * 0.6e-6)
    # gpt-3.5-turbo-instruct: $1.50 / $2.00; 3000 token ids, best_of 3 x 100 tokens
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": list(range(3000)), "best_of": 3}
    comp = exchange(
        model="gpt-3.5-turbo-instruct", endpoint="completions", body=body, max_tokens=100
    )
    assert p.worst_case(comp, rule) == pytest.approx(3000 * 1.5e-6 + 300 * 2e-6)
    emb = {"model": "text-embedding-3-large", "input": [[1] * 1000, [2] * 1000]}
    vec = exchange(model="text-embedding-3-large", endpoint="embeddings", body=emb, max_tokens=None)
    assert p.worst_case(vec, rule) == pytest.approx(2000 * 0.13e-6)


async def test_n_choices_cannot_overspend_the_budget() -> None:
    p = budget(WORST * 10)
    ex = exchange()
    ex.body["n"] = 50
    d = await p.on_request(ex)
    assert d.result is Result.BLOCK and d.error is not None
    assert d.error.code == "budget_exceeded"


def two_rules(field: str | None = None) -> Budget:
    text = (
        "rules: [{scope: tenant, limit_usd: 10, window: day, default_max_tokens: 500},"
        " {scope: global, limit_usd: 10, window: month, default_max_tokens: 300}]"
    )
    if field is not None:
        text += f"\ndefault_max_tokens_field: {field}"
    policy = build("budget", text, create_backend("memory", None, "kt"))
    assert isinstance(policy, Budget)
    return policy


async def test_a_request_without_an_output_cap_is_sent_with_the_reserved_default() -> None:
    p = two_rules()
    ex = exchange(max_tokens=None)
    assert (await p.on_request(ex)).result is Result.ALLOW
    # the smallest default of the rules, in OpenAI's current field
    assert ex.body["max_completion_tokens"] == 300 and "max_tokens" not in ex.body
    assert ex.scratch["budget"].reserved_usd == pytest.approx(104 * 0.15e-6 + 300 * 0.6e-6)

    legacy = two_rules("max_tokens")
    ex = exchange(max_tokens=None)
    await legacy.on_request(ex)
    assert ex.body["max_tokens"] == 300 and "max_completion_tokens" not in ex.body

    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"}
    comp = exchange(endpoint="completions", body=body, max_tokens=None)
    await p.on_request(comp)
    assert comp.body["max_tokens"] == 300  # the completions API knows only max_tokens

    own = exchange(max_tokens=50)
    await p.on_request(own)
    assert own.body["max_tokens"] == 50
    assert "max_completion_tokens" not in own.body


async def test_an_absurd_max_tokens_is_a_400_naming_the_field() -> None:
    p = budget(1)
    d = await p.on_request(exchange(max_tokens=2**63 - 1))
    assert d.result is Result.BLOCK and d.error is not None
    assert d.error.status == 400 and "'max_tokens'" in d.error.message
    assert d.error.policy == "budget"


async def test_rolling_window_retry_after_waits_until_the_spend_leaves() -> None:
    backend = create_backend("memory", None, "kt")
    p = budget(0.5, window="rolling_24h", backend=backend)
    hour_ago = time.time() - 3600
    w = Window("rolling_24h")
    await backend.budget_settle("tenant:rolling_24h:team-a", w, "old", to_nano(0.5), hour_ago)
    d = await p.on_request(exchange())
    assert d.result is Result.BLOCK and isinstance(d.error, RateLimited)
    leaves = w.leaves_at(w.span(hour_ago).bucket) - time.time()  # 23 h to 23 h 15 min away
    assert abs(d.error.retry_after - leaves) <= 2


async def test_api_key_budgets_share_one_subject_for_unlisted_keys() -> None:
    text = f"rules: [{{scope: api_key, limit_usd: {WORST * 2}}}]"
    p = build("budget", text, create_backend("memory", None, "kt"))
    keys = [f"sha256:{i:064x}" for i in range(3)]  # fresh keys the config does not list
    results = [(await p.on_request(exchange(api_key_id=k))).result for k in keys]
    assert results == [Result.ALLOW, Result.ALLOW, Result.BLOCK]
    assert (await p.on_request(exchange(api_key_id=LISTED_KEY))).result is Result.ALLOW
    assert (await p.on_request(exchange())).result is Result.ALLOW  # no key: its own subject


async def test_settles_at_the_price_of_the_model_the_target_ran() -> None:
    p = budget(1)
    ex = exchange()
    assert (await p.on_request(ex)).result is Result.ALLOW
    ex.upstream_model = "gpt-4o"  # the target rewrote gpt-4o-mini: $2.50 / $10 per million
    used(ex, 1000, 1000)
    await p.on_complete(ex)
    assert ex.scratch["budget"].settled_usd == pytest.approx(1000 * 2.5e-6 + 1000 * 10e-6)


async def test_gauges_cover_known_tenants_and_show_the_tightest_rule() -> None:
    """Before: tenants of `tenants.known` had no gauges, and with several tenant rules the
    gauges showed the rule written last, not the one with the least left."""
    text = """
pack: {name: gauges}
tenants: {known: [team-b]}
policies: {chain: [budget]}
policy:
  budget:
    rules:
      - {scope: tenant, limit_usd: 1, window: day}
      - {scope: tenant, limit_usd: 10, window: month}
"""
    loaded = load_texts([("gauges.yaml", text)])
    metrics = Metrics()
    ctx = BuildContext(
        config=loaded.config,
        pricing=Pricing(loaded.config.pricing),
        limits=create_backend("memory", None, "kt"),
        metrics=metrics,
    )
    p = KINDS["budget"].build(loaded.settings["budget"], ctx)
    ex = exchange(tenant="team-b")
    await p.on_request(ex)
    used(ex, 1000, 1000)
    await p.on_complete(ex)
    labels = {"tenant": "team-b"}
    spent = metrics.registry.get_sample_value("keeptrusts_budget_spent_usd", labels)
    left = metrics.registry.get_sample_value("keeptrusts_budget_remaining_usd", labels)
    assert spent == pytest.approx(0.00075) and left == pytest.approx(1 - 0.00075)


async def test_a_request_that_can_never_fit_says_so() -> None:
    refused = await budget(WORST / 2).on_request(exchange())
    assert refused.result is Result.BLOCK and isinstance(refused.error, RateLimited)
    assert "more than the whole day budget" in refused.error.message
    assert "cannot run until its output cap (max_tokens" in refused.error.message
