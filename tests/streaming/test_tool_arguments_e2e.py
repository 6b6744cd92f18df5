"""Tool-call arguments through the real gateway with the official openai SDK: a streamed
answer and the same answer as JSON give the same arguments, read key by key as JSON.

Before: the JSON answer read each argument value without its key, so an identifier
(`{"order_id": 4155552671}`) came back as `[REDACTED:PHONE]` where the stream kept it; and a
`detect_patterns` match running out of a string left the streamed arguments invalid JSON."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream, chat_sse
from tests.integration.configs import ENV, openai_config

POLICY = "pii-detector: {detect_patterns: [{name: code, pattern: 'secret [a-z]+.{0,12}'}]}"
ARGUMENTS = (
    '{"ref":{"id":"4155552671"},"order_id":4155552671,"phone":4155552671,'
    '"to":"jane.doe\\u0040example.com","note":"secret alpha","n":7}'
)
EXPECTED = {
    "ref": {"id": "4155552671"},
    "order_id": 4155552671,
    "phone": "[REDACTED:PHONE]",
    "to": "[REDACTED:EMAIL]",
    "note": "[REDACTED:CODE]",
    "": "",  # the match ran on over `","n":7`: the key and the number are cut
}


@pytest.fixture
def gw(gateways: GatewayFactory, fake: FakeUpstream) -> Gateway:
    config = openai_config(("primary", fake.base_url), chain="[pii-detector]", policy=POLICY)
    return gateways.start(config, env=ENV)


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)


def answer(arguments: str) -> dict[str, Any]:
    fn = {"name": "lookup", "arguments": arguments}
    call = {"id": "call_1", "type": "function", "function": fn}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}  # fmt: skip


def stream(pieces: list[str]) -> bytes:
    head = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": ""}}  # fmt: skip
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "tool_calls": [head]}, None)
    ]
    deltas += [({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}, None) for p in pieces]
    return chat_sse(*deltas, ({}, "tool_calls"))


def test_tool_arguments_read_the_same_in_json_and_in_streams(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    messages: Any = [{"role": "user", "content": "look it up"}]
    fake.reset(raw_json=answer(ARGUMENTS))
    got = client(gw).chat.completions.create(model="gpt-4o", messages=messages)
    calls = got.choices[0].message.tool_calls
    assert calls is not None and json.loads(calls[0].function.arguments) == EXPECTED  # type: ignore[union-attr]
    cut = ARGUMENTS.index("4155552671") + 4  # an identifier and a key cut between deltas
    for pieces in (
        [ARGUMENTS[:cut], ARGUMENTS[cut:]],
        [ARGUMENTS[i : i + 7] for i in range(0, len(ARGUMENTS), 7)],
    ):
        fake.reset(raw_stream=stream(pieces))
        out = ""
        for ch in client(gw).chat.completions.create(
            model="gpt-4o", messages=messages, stream=True
        ):
            for c in ch.choices[0].delta.tool_calls or () if ch.choices else ():
                out += (c.function.arguments or "") if c.function else ""
        assert json.loads(out) == EXPECTED
