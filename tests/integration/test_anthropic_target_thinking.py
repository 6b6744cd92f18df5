"""Thinking of OpenAI chat requests served by an `anthropic` target, with the official SDKs: an
answer's blocks (`thinking_blocks` with their `index`, the text's `content_index`) given back in
the next turn reach Anthropic in the order it answered them, from JSON answers and streams
(`providers/thinking_blocks.py`); `n` > 1 is a 400 naming it, never one choice's reasoning."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import FakeUpstream
from tests.integration.governed import governed
from tests.integration.test_anthropic_target import HI, MODEL, client, sent


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    yield from governed(tmp_path_factory, upstream, "anthropic-thinking", provider="anthropic")


def _use(call_id: str, name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": {"city": "Oslo"}}


#: interleaved thinking with a text before the first tool use
TURN: Any = [
    {"type": "thinking", "thinking": "They want the weather, then the time.", "signature": "s-a"},
    {"type": "text", "text": "Let me look both up for you."},
    _use("toolu_1", "get_weather"),
    {"type": "thinking", "thinking": "Now the local time in that city.", "signature": "s-b"},
    _use("toolu_2", "get_time"),
]
TOOLS: Any = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("get_weather", "get_time")
]


def _streamed(gw: Gateway) -> dict[str, Any]:
    """The assistant message a chat client builds from the stream's deltas (the reasoning
    streamed before a `thinking_blocks` entry is that block's text)."""
    msg: dict[str, Any] = {"role": "assistant", "content": "", "thinking_blocks": []}
    calls: dict[int, dict[str, Any]] = {}
    thought = ""
    for chunk in client(gw).chat.completions.create(
        model=MODEL, messages=HI, tools=TOOLS, stream=True
    ):
        delta = chunk.choices[0].delta.model_dump() if chunk.choices else {}
        msg["content"] += delta.get("content") or ""
        thought += delta.get("reasoning_content") or ""
        for block in delta.get("thinking_blocks") or ():
            if block["type"] == "thinking":
                block, thought = {**block, "thinking": thought}, ""
            msg["thinking_blocks"].append(block)
        for part in delta.get("tool_calls") or ():
            call = calls.setdefault(part["index"], {"type": "function", "function": {}})
            call["id"] = part.get("id") or call.get("id")
            fn = part.get("function") or {}
            call["function"]["name"] = fn.get("name") or call["function"].get("name")
            call["function"]["arguments"] = call["function"].get("arguments", "") + (
                fn.get("arguments") or ""
            )
        if delta.get("content_index") is not None:
            msg["content_index"] = delta["content_index"]
    msg["tool_calls"] = [calls[i] for i in sorted(calls)]
    return msg


def _given_back(gw: Gateway, fake: FakeUpstream, message: dict[str, Any]) -> Any:
    """The assistant blocks Anthropic receives when `message` is given back with its results."""
    fake.reset()
    history: Any = [
        *HI,
        message,
        *(
            {"role": "tool", "tool_call_id": c["id"], "content": "ok"}
            for c in message["tool_calls"]
        ),
    ]
    client(gw).chat.completions.create(model=MODEL, messages=history, tools=TOOLS)
    return sent(fake)["messages"][1]["content"]


def test_interleaved_thinking_given_back_keeps_the_text_in_its_place(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: a turn answered as thinking, text, tool_use, thinking, tool_use was given back
    as thinking, tool_use, tool_use, thinking, text (the text after the last thinking block,
    which pushed the second tool use before it), and from a stream with every thinking block
    first (streamed entries had no `index`). Now the message says where its text stood
    (`content_index`), streamed entries carry their `index` as the JSON answer's do, and the
    turn reaches Anthropic in its order."""
    fake.reset(blocks=TURN)
    answer = client(gw).chat.completions.create(model=MODEL, messages=HI, tools=TOOLS)
    message = answer.choices[0].message.model_dump(exclude_none=True)
    assert message["content_index"] == 1
    assert [b.get("index") for b in message["thinking_blocks"]] == [None, 3]
    fake.reset(blocks=TURN)
    streamed = _streamed(gw)
    assert streamed["thinking_blocks"] == message["thinking_blocks"]
    assert streamed["content_index"] == 1 and streamed["content"] == message["content"]
    assert _given_back(gw, fake, message) == TURN
    assert _given_back(gw, fake, streamed) == TURN


def test_an_empty_text_keeps_its_place_from_the_tool_uses(gw: Gateway, fake: FakeUpstream) -> None:
    """Anthropic may answer an empty text block; it is not given back (Anthropic refuses
    empty text), and the tool uses do not move into its place before the second thinking."""
    turn = [TURN[0], {"type": "text", "text": ""}, *TURN[2:]]
    for stream in (False, True):
        fake.reset(blocks=turn)
        if stream:
            message = _streamed(gw)
        else:
            answer = client(gw).chat.completions.create(model=MODEL, messages=HI, tools=TOOLS)
            message = answer.choices[0].message.model_dump(exclude_none=True)
        assert _given_back(gw, fake, message) == [TURN[0], *TURN[2:]], stream


def test_a_turn_without_interleaved_thinking_is_answered_as_before(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Thinking first, then text and a tool use: no `index`, no `content_index` (the order
    the gateway gives back without them is already the turn's)."""
    plain = [TURN[0], TURN[1], TURN[2]]
    fake.reset(blocks=plain)
    answer = client(gw).chat.completions.create(model=MODEL, messages=HI, tools=TOOLS)
    message = answer.choices[0].message.model_dump(exclude_none=True)
    assert "content_index" not in message
    assert all("index" not in b for b in message["thinking_blocks"])
    assert _given_back(gw, fake, message) == plain


def test_the_messages_api_answers_the_turn_in_its_order(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: a `/v1/messages` JSON answer of the same turn had its text moved after the last
    thinking block. Now JSON and streams answer the provider's order."""
    anth = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    tools: Any = [
        {"name": t["function"]["name"], "input_schema": {"type": "object"}} for t in TOOLS
    ]
    fake.reset(blocks=TURN)
    msg = anth.messages.create(model=MODEL, max_tokens=900, messages=HI, tools=tools)
    with anth.messages.stream(model=MODEL, max_tokens=900, messages=HI, tools=tools) as s:
        final = s.get_final_message()
    for content in (msg.content, final.content):
        assert [b.model_dump(exclude_none=True, exclude={"citations"}) for b in content] == TURN


def test_n_above_one_with_thinking_is_a_clear_400(gw: Gateway, fake: FakeUpstream) -> None:
    """A Messages answer has one choice: `n` > 1 is refused naming it (`docs/config.md`),
    with reasoning asked for too, rather than answering one choice's reasoning."""
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as err:
            client(gw).chat.completions.create(
                model=MODEL, messages=HI, n=2, reasoning_effort="low", stream=stream
            )
        assert "n > 1" in err.value.message
    assert fake.requests == []
