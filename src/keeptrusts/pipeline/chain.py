"""Run the policy chain on a request and on a whole (non-streamed) response.

Request stage: every policy in `policies.chain` order; non-text checks (`on_request`) and text
policies over every request text. A block stops the chain and becomes the client's reply;
the provider then receives nothing. Response stage: text policies over every response text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from keeptrusts.errors import GatewayError, PolicyViolation
from keeptrusts.pipeline.arguments import json_output
from keeptrusts.pipeline.context import Exchange
from keeptrusts.pipeline.joined import Reading, Slot
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.texts import request_texts, response_slots
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import SEVERITY, Decision, Evaluation, Result, Stage


async def run_request(ex: Exchange, *, spends: bool = True) -> None:
    """Run the request stage; raises the block's GatewayError when a policy blocks.
    `spends=False`: a request that generates nothing (a token count) meets the policies that
    account for what requests spend (`completes`: rate limits, budgets) only in what it still
    counts for (`on_count`: a rate limit's requests), and spends nothing."""
    rt = ex.runtime
    texts: Texts | None = None
    traced = ex.trace is not None and ex.trace.recording
    for policy in rt.policies:
        if not spends and policy.completes:
            if policy.checks_count:
                t0 = time.perf_counter()
                _decided(ex, policy, await policy.on_count(ex), t0)
            continue
        if traced:
            assert ex.trace is not None
            with ex.trace.stage_span(f"policy {policy.name} request"):
                texts = await _request_stage(ex, policy, texts)
        else:
            texts = await _request_stage(ex, policy, texts)


#: the request's texts: every one, and the callers' (see `request_texts`)
Texts = tuple[list[Slot], list[Slot]]


async def _request_stage(ex: Exchange, policy: Policy, texts: Texts | None) -> Texts | None:
    """One policy's request stage; returns the request's texts (found once, when first needed:
    a redaction rewrites a text in its place, so later policies see the redacted text)."""
    if policy.checks_request:
        t0 = time.perf_counter()
        _decided(ex, policy, await policy.on_request(ex), t0)
    if policy.inspects_text and Stage.REQUEST in policy.stages:
        if texts is None:
            _refuse_token_ids(ex, policy)
            texts = request_texts(ex.endpoint, ex.body)
        slots = texts[0] if policy.scans_operator_messages else texts[1]
        _scan_slots(ex, policy, slots, Stage.REQUEST)
    return texts


def _decided(ex: Exchange, policy: Policy, decision: Decision, t0: float) -> None:
    """A non-text check's decision (`on_request`, `on_count`, begun at `t0`), recorded; raises
    its block's error."""
    ms = (time.perf_counter() - t0) * 1000
    ex.record(Evaluation(policy.name, Stage.REQUEST, decision.result, decision.reason_code, ms))
    if decision.result is Result.BLOCK:
        raise decision.error or PolicyViolation(
            f"request blocked by policy {policy.name!r}", policy=policy.name
        )


#: the fields of non-chat requests that may hold token ids instead of text
TOKEN_FIELDS = {"completions": "prompt", "embeddings": "input"}


def _refuse_token_ids(ex: Exchange, policy: Policy) -> None:
    """A prompt or input given as token ids is text the provider reads and no policy can (the
    gateway has no tokenizer): blocked by the first policy that reads request texts, or it would
    pass unread (token ids spelling a blocked term)."""
    key = TOKEN_FIELDS.get(ex.endpoint)
    value = ex.body.get(key) if key else None
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        ex.record(Evaluation(policy.name, Stage.REQUEST, Result.BLOCK, "request.token_ids", 0.0))
        raise PolicyViolation(
            f"request blocked by policy {policy.name!r}: '{key}' given as token ids cannot be "
            "read (the gateway has no tokenizer); send it as a string or an array of strings "
            "(LangChain's OpenAIEmbeddings: check_embedding_ctx_length=False)",
            policy=policy.name,
        )


def run_response(ex: Exchange, body: dict[str, Any]) -> bool:
    """Run response text policies over a whole response; True when it was changed."""
    policies = ex.runtime.response_text
    if not policies:
        return False
    slots = response_slots(body, joined=True, json_content=json_output(ex.body))
    changed = False
    traced = ex.trace is not None and ex.trace.recording
    for policy in policies:
        if traced:
            assert ex.trace is not None
            with ex.trace.stage_span(f"policy {policy.name} response"):
                changed |= _scan_slots(ex, policy, slots, Stage.RESPONSE)
        else:
            changed |= _scan_slots(ex, policy, slots, Stage.RESPONSE)
    if changed:
        _drop_logprobs(body)
    return changed


def _drop_logprobs(body: dict[str, Any]) -> None:
    """A changed response loses its per-token logprobs: they spell out the original text."""
    for choice in body.get("choices") or ():
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None


def _scan_slots(ex: Exchange, policy: Policy, slots: Sequence[Slot], stage: Stage) -> bool:
    t0 = time.perf_counter()
    result, reason, changed = Result.ALLOW, None, False
    for container, key in slots:
        text = container[key]
        matches = policy.find(text, stage) if text else []
        if not matches:
            continue
        redactions = []
        for m in matches:
            if SEVERITY[m.action] > SEVERITY[result]:
                result, reason = m.action, m.reason_code
            if m.action is Result.REDACT:
                redactions.append(m)
        if result is Result.BLOCK:
            break
        if redactions:
            if isinstance(container, Reading):
                container.redact(redactions)
            else:
                container[key] = apply(text, redactions)
            changed = True
    ms = (time.perf_counter() - t0) * 1000
    ex.record(Evaluation(policy.name, stage, result, reason, ms))
    if result is Result.BLOCK:
        raise blocked(policy, stage, reason)
    return changed


def blocked(policy: Policy, stage: Stage, reason: str | None) -> GatewayError:
    custom = getattr(policy, "block_message", None)
    what = "request" if stage is Stage.REQUEST else "response"
    message = (
        custom
        if isinstance(custom, str) and custom
        else (
            f"{what} blocked by policy {policy.name!r}"
            + (f" ({reason})" if reason else "")
            + "; the content violates the gateway's content policy"
        )
    )
    code = "input_blocked" if stage is Stage.REQUEST else "output_blocked"
    return PolicyViolation(message, code=code, policy=policy.name)


async def run_complete(ex: Exchange) -> None:
    """Every policy's completion hook (settle budgets, release slots); never raises."""
    for policy in ex.runtime.completes:
        try:
            await policy.on_complete(ex)
        except Exception:  # a hook's bug must not lose the response or the event
            import logging

            logging.getLogger("keeptrusts.pipeline").exception(
                "policy %r failed in on_complete", policy.name
            )
