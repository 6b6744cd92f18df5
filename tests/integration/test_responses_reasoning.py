"""`/v1/responses` and reasoning, with the official `openai` SDK against one governed gateway (an
`openai` target for `gpt-4o*`, an `anthropic` one for `claude*`, an `openai-compatible` one for
`vllm*`): reasoning items given back in `input` are read by the policies and reach each target in
its form; an answer's reasoning is its `summary` when the caller asked for summaries, else its
`content`, with OpenAI's events for that part, governed like the answer."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import FakeUpstream, chat_sse
from tests.integration.test_messages_thinking import CLAUDE, INTERLEAVED, SECRET, gw
from tests.integration.test_responses_guardrails import reasoned, stream_events

__all__ = ["gw"]

SIGNED: Any = [
    {"type": "thinking", "thinking": "Greet them.", "signature": "sig-a"},
    {"type": "redacted_thinking", "data": "opaque-r"},
    {"type": "thinking", "thinking": "Then say hello.", "signature": "sig-b"},
    {"type": "text", "text": "Hello."},
]


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)


def sent(fake: FakeUpstream) -> dict[str, Any]:
    assert len(fake.requests) == 1
    return fake.requests[0].body


def reasoning(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": text}],
            **extra}  # fmt: skip


def test_an_anthropic_answer_s_thinking_goes_back_signed(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: reasoning items given back were dropped, so Claude's thinking never went back
    (Anthropic requires it back with tool use). Now each thinking block is a reasoning item
    whose `encrypted_content` carries its signature (a redacted block's data), JSON and
    streams, and `response.output` given back as `input` sends each block back as it was."""
    fake.reset(blocks=SIGNED)
    r = client(gw).responses.create(model=CLAUDE, input="hi")
    with client(gw).responses.stream(model=CLAUDE, input="hi") as s:
        final = s.get_final_response()
    for answer in (r, final):
        items = [o.model_dump(exclude_none=True) for o in answer.output]
        assert [o["type"] for o in items] == ["reasoning"] * 3 + ["message"]
        assert [o["encrypted_content"] for o in items[:3]] == [
            "keeptrusts.thinking:sig-a",
            "keeptrusts.redacted_thinking:opaque-r",
            "keeptrusts.thinking:sig-b",
        ]
        assert [[c["text"] for c in o["content"]] for o in items[:3]] == [
            ["Greet them."], [], ["Then say hello."]]  # fmt: skip
        assert answer.output_text == "Hello."
        fake.reset()
        history: Any = ["hi", *answer.output, "and now?"]
        history = [{"role": "user", "content": x} if isinstance(x, str) else x for x in history]
        client(gw).responses.create(model=CLAUDE, input=history)
        assert sent(fake)["messages"][1] == {"role": "assistant", "content": SIGNED}
    fake.reset()
    signed = reasoning(f"Mail {SECRET}.", encrypted_content="keeptrusts.thinking:sig-c")
    said = {"role": "assistant", "content": "Ok."}
    client(gw).responses.create(
        model=CLAUDE, input=[signed, said, {"role": "user", "content": "go"}]
    )
    thinking = {"type": "thinking", "thinking": "Mail [REDACTED:EMAIL].", "signature": "sig-c"}
    blocks = [thinking, {"type": "text", "text": "Ok."}]
    assert sent(fake)["messages"][0] == {"role": "assistant", "content": blocks}


def test_reasoning_given_back_is_governed_and_sent_in_the_target_s_form(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: dropped unread. Now its text is read like any other (a secret is redacted, a
    blocked term blocks), reaches an OpenAI-compatible target as the assistant message's
    `reasoning_content` (with the calls that followed it), and is left out for an Anthropic
    target when nothing signed it (Anthropic refuses unsigned thinking)."""
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    output = {"type": "function_call_output", "call_id": "c1", "output": "ok"}
    content: Any = {"content": [{"type": "reasoning_text", "text": "Raw thought."}]}
    turns: Any = [
        {"role": "user", "content": "hi"},
        reasoning(f"Mail {SECRET} first."),
        reasoning("Summary.", **content, encrypted_content="gAAAA-openai-own"),
        call,
        output,
    ]
    client(gw).responses.create(model="vllm-test", input=turns)
    assert sent(fake)["messages"][1:] == [
        {"role": "assistant", "content": None,
         "reasoning_content": "Mail [REDACTED:EMAIL] first.\n\nRaw thought.",
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]  # fmt: skip
    fake.reset()
    answer = {"role": "assistant", "content": [{"type": "output_text", "text": "Hi."}]}
    turns = [turns[0], reasoning("Unsigned."), answer, {"role": "user", "content": "more"}]
    client(gw).responses.create(model=CLAUDE, input=turns)
    assert sent(fake)["messages"][1] == {"role": "assistant",
                                         "content": [{"type": "text", "text": "Hi."}]}  # fmt: skip
    fake.reset()
    cut = [turns[0], reasoning("Cut off while thinking"), {"role": "user", "content": "go on"}]
    client(gw).responses.create(model="vllm-test", input=cut)  # (nothing followed it: left out)
    assert sent(fake)["messages"] == [{"role": "user", "content": "hi"},
                                      {"role": "user", "content": "go on"}]  # fmt: skip
    fake.reset()
    with pytest.raises(openai.ConflictError):
        atlas = [reasoning("about project atlas"), {"role": "assistant", "content": "ok"}]
        client(gw).responses.create(model="vllm-test", input=atlas)
    assert fake.requests == []
    bad = {"type": "reasoning", "summary": [{"type": "text", "text": "x"}]}
    with pytest.raises(openai.BadRequestError, match=r"input\[0\].summary"):
        client(gw).responses.create(model="vllm-test", input=[bad])  # type: ignore[list-item]


SPLIT = chat_sse(
    ({"role": "assistant", "reasoning_content": "Mail jane.d"}, None),
    ({"reasoning_content": "oe@example.com, then answer."}, None),
    ({"content": "Done."}, None),
    ({}, "stop"),
)
REDACTED = "Mail [REDACTED:EMAIL], then answer."


def test_reasoning_summaries_when_asked(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: the reasoning was always a `reasoning_text` content part, so clients that ask
    for summaries (`reasoning.summary`) and show only them showed nothing. Now it is the
    item's one `summary_text` part, streamed with OpenAI's summary events in order; the guard
    reads it (an address split across two deltas is redacted in deltas, `.done` and the
    completed response) and the SDK assembles it."""
    body: Any = {"model": "vllm-test", "input": "hi", "reasoning": {"summary": "auto"}}
    fake.reset(raw_stream=SPLIT)
    with client(gw).responses.stream(**body) as s:
        kinds = [e.type for e in s]
        final = s.get_final_response()
    thought = final.output[0]
    assert thought.type == "reasoning" and thought.summary[0].text == REDACTED
    assert not thought.content and final.output_text == "Done."
    assert kinds[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
    assert "response.reasoning_text.delta" not in kinds
    fake.reset(raw_stream=SPLIT)
    events = stream_events(gw, body)
    assert SECRET not in json.dumps(events) and "jane" not in json.dumps(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    deltas = [e for e in events if e["type"] == "response.reasoning_summary_text.delta"]
    assert "".join(e["delta"] for e in deltas) == REDACTED
    assert all((e["output_index"], e["summary_index"]) == (0, 0) for e in deltas)
    done = [e for e in events if e["type"].startswith("response.reasoning_summary_")][-2:]
    assert [e["type"] for e in done] == [
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done"]  # fmt: skip
    assert done[0]["text"] == done[1]["part"]["text"] == REDACTED
    assert events[-1]["response"]["output"][0]["summary"][0]["text"] == REDACTED
    fake.reset(raw_json=reasoned("vllm-test", "for " + SECRET))
    r = client(gw).responses.create(**body)
    assert r.output[0].type == "reasoning" and not r.output[0].content
    assert r.output[0].summary[0].text == "for [REDACTED:EMAIL]"
    with pytest.raises(openai.BadRequestError, match=r"reasoning\.summary"):
        client(gw).responses.create(model="vllm-test", input="hi", reasoning={"summary": "all"})  # type: ignore[typeddict-item]


def test_interleaved_thinking_keeps_the_provider_s_order(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: a stream began a redacted block's item, and JSON answers every reasoning item,
    before the tool call they followed, so the turn given back was not the one Claude
    answered (Anthropic requires it back as it was). Now items keep the provider's order,
    and given back they make that turn again."""
    tool: Any = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    result = {"type": "function_call_output", "call_id": "toolu_7", "output": "sunny"}
    for streamed in (False, True):
        fake.reset(blocks=INTERLEAVED)
        if streamed:
            with client(gw).responses.stream(model=CLAUDE, input="hi", tools=tool) as s:
                answer = s.get_final_response()
        else:
            answer = client(gw).responses.create(model=CLAUDE, input="hi", tools=tool)
        kinds = [o.type for o in answer.output]
        assert kinds == ["reasoning", "reasoning", "function_call", "reasoning", "message"]
        fake.reset()
        history: Any = [{"role": "user", "content": "hi"}, *answer.output, result]
        client(gw).responses.create(model=CLAUDE, input=history, tools=tool)
        assert sent(fake)["messages"][1] == {"role": "assistant", "content": INTERLEAVED}
