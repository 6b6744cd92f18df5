"""size-limits: messages, prompt characters, max_tokens clamp or block."""

from __future__ import annotations

from keeptrusts.errors import PolicyViolation
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.size_limits import Settings, SizeLimits
from tests.policies.exchange import exchange


def chat(n: int, text: str = "hi", **extra: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}] * n, **extra}


async def test_max_messages() -> None:
    p = SizeLimits(Settings(max_messages=2))
    assert (await p.on_request(exchange(chat(2)))).result is Result.ALLOW
    d = await p.on_request(exchange(chat(3)))
    assert d.result is Result.BLOCK
    assert d.reason_code == "size.max_messages"
    assert isinstance(d.error, PolicyViolation) and d.error.policy == "size-limits"


async def test_max_prompt_chars_counts_every_text() -> None:
    p = SizeLimits(Settings(max_prompt_chars=10))
    assert (await p.on_request(exchange(chat(2, "hello")))).result is Result.ALLOW
    assert (await p.on_request(exchange(chat(3, "hello")))).result is Result.BLOCK
    completion = exchange({"model": "m", "prompt": ["12345", "678901"]}, endpoint="completions")
    assert (await p.on_request(completion)).result is Result.BLOCK


async def test_max_tokens_clamped_by_default() -> None:
    p = SizeLimits(Settings(max_tokens=100))
    ex = exchange(chat(1, max_tokens=500, max_completion_tokens=50))
    d = await p.on_request(ex)
    assert d.result is Result.ALLOW
    assert d.reason_code == "size.max_tokens_clamped"
    assert ex.body["max_tokens"] == 100
    assert ex.body["max_completion_tokens"] == 50
    untouched = exchange(chat(1, max_tokens=99))
    assert (await p.on_request(untouched)).reason_code is None
    assert untouched.body["max_tokens"] == 99


async def test_max_tokens_block() -> None:
    p = SizeLimits(Settings(max_tokens=100, max_tokens_action="block"))
    d = await p.on_request(exchange(chat(1, max_completion_tokens=101)))
    assert d.result is Result.BLOCK
    assert d.reason_code == "size.max_tokens"


async def test_no_limits_allows() -> None:
    assert (await SizeLimits(Settings()).on_request(exchange(chat(500)))).result is Result.ALLOW
