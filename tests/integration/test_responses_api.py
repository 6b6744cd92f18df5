"""`POST /v1/responses`: the official `openai` SDK's Responses API against the real gateway.

Governed like a chat request (policies read every input item), served by any target, answered
as a response object or the Responses event stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import TEXT_THEN_TOOL_CALL, FakeUpstream, chat_sse
from tests.integration.configs import ENV, openai_config
from tests.integration.test_policies_e2e import CHAIN, POLICY


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("resp"))
    config = openai_config(("a", upstream.base_url), chain=CHAIN, policy=POLICY)
    yield factory.start(config, env=ENV)
    factory.stop_all()


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="caller-key", max_retries=0)


def test_json_answer_and_the_chat_request_it_made(gw: Gateway, fake: FakeUpstream) -> None:
    r = client(gw).responses.create(
        model="gpt-4o",
        instructions="be brief",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
            {"role": "user", "content": "again"},
        ],
        max_output_tokens=40,
        temperature=0.3,
        text={"format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}}},
    )
    assert r.object == "response" and r.status == "completed" and r.id.startswith("resp_")
    assert r.output_text == fake.behaviour.reply
    assert r.usage is not None and (r.usage.input_tokens, r.usage.output_tokens) == (11, 7)
    sent = fake.requests[0].body
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    assert sent["max_completion_tokens"] == 40 and sent["temperature"] == 0.3
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "a", "schema": {"type": "object"}},
    }


def test_stream_text_and_event_order(gw: Gateway, fake: FakeUpstream) -> None:
    with client(gw).responses.stream(model="gpt-4o", input="hi") as s:
        kinds = [event.type for event in s]
        final = s.get_final_response()
    assert final.output_text == fake.behaviour.reply and final.status == "completed"
    assert final.usage is not None and final.usage.output_tokens == 7
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    with httpx.stream(
        "POST",
        gw.base_url + "/responses",
        json={"model": "gpt-4o", "input": "hi", "stream": True},
    ) as r:
        lines = [
            json.loads(x[6:]) for x in r.read().decode().splitlines() if x.startswith("data: ")
        ]
    assert [e["sequence_number"] for e in lines] == list(range(len(lines)))


def test_function_calls_both_ways(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(tool_call={"name": "get_weather", "arguments": json.dumps({"city": "Paris"})})
    tools: Any = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object"},
            "strict": False,
        }
    ]
    r = client(gw).responses.create(
        model="gpt-4o", input="weather?", tools=tools, tool_choice="required"
    )
    call = next(item for item in r.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id == "call_1"
    sent = fake.requests[0].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object"},
                "strict": False,
            },
        }
    ]
    assert sent["tool_choice"] == "required"
    fake.reset()
    client(gw).responses.create(
        model="gpt-4o",
        tools=tools,
        input=[
            {"role": "user", "content": "weather?"},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    )
    assert fake.requests[0].body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]


def test_streamed_function_call(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(raw_stream=TEXT_THEN_TOOL_CALL)
    with client(gw).responses.stream(model="gpt-4o", input="go") as s:
        final = s.get_final_response()
    assert [item.type for item in final.output] == ["message", "function_call"]
    assert final.output_text == "One moment."
    fc = final.output[1]
    assert fc.type == "function_call" and fc.call_id == "call_9" and fc.name == "f"
    assert json.loads(fc.arguments) == {"a": 1}


def test_policies_read_every_input_item(gw: Gateway, fake: FakeUpstream) -> None:
    client(gw).responses.create(
        model="gpt-4o",
        instructions="Help jane.doe@example.com",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "call +1 415 555 0132"}]},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "card 4111 1111 1111 1111"},
        ],
    )
    sent = json.dumps(fake.requests[0].body)
    for secret in ("jane.doe@example.com", "4111 1111 1111 1111", "+1 415 555 0132"):
        assert secret not in sent
    assert "[REDACTED:" in sent


def test_a_block_is_a_409_not_retried(gw: Gateway, fake: FakeUpstream) -> None:
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=2)
    with pytest.raises(openai.ConflictError) as err:
        c.responses.create(model="gpt-4o", input="about Project Atlas")
    assert err.value.response.json()["error"]["code"] == "input_blocked"
    assert err.value.response.headers["x-should-retry"] == "false"
    assert fake.requests == []


def test_streamed_answers_are_governed(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(chunks=["Write to jane.d", "oe@exam", "ple.com today."])
    with client(gw).responses.stream(model="gpt-4o", input="hi") as s:
        text = "".join(e.delta for e in s if e.type == "response.output_text.delta")
    assert "jane.doe" not in text and text.startswith("Write to [REDACTED:")
    fake.reset(chunks=["The plan is ", "called Project ", "Atlas and ", "more text. " * 5])
    stream = client(gw).responses.stream(model="gpt-4o", input="hi")
    with pytest.raises(openai.APIError) as err, stream as s:
        for _ in s:
            pass
    assert "output_blocked" in json.dumps(err.value.body)


def test_an_answer_cut_by_max_output_tokens_is_incomplete(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(raw_json={
        "id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hal"},
                     "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    })  # fmt: skip
    r = client(gw).responses.create(model="gpt-4o", input="hi", max_output_tokens=1)
    assert r.status == "incomplete" and r.incomplete_details is not None
    assert r.incomplete_details.reason == "max_output_tokens"


def test_stateful_and_built_in_features_are_400(gw: Gateway, fake: FakeUpstream) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": "gpt-4o", "input": "hi", "previous_response_id": "resp_1"}, "no conversation state"),
        ({"model": "gpt-4o", "input": [{"type": "item_reference", "id": "x"}]}, "item_reference"),
        ({"model": "gpt-4o", "input": "hi", "tools": [{"type": "web_search"}]}, "built-in tools"),
        (
            {"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "files",
        ),
        ({"model": "gpt-4o"}, "'input' is required"),
    ]  # fmt: skip
    for body, words in cases:
        r = httpx.post(gw.base_url + "/responses", json=body)
        assert r.status_code == 400, body
        assert words in r.json()["error"]["message"], r.json()
    assert fake.requests == []


def test_an_anthropic_target_serves_responses(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    gw = gateways.start(openai_config(("c", fake.base_url), provider="anthropic"), env=ENV)
    with client(gw).responses.stream(model="claude-test-model", input="hi") as s:
        final = s.get_final_response()
    assert final.output_text == fake.behaviour.reply
    assert fake.requests[0].path == "/v1/messages"


def test_structured_output_schemas_are_read_by_the_policies(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """Before: `text.format` (chat: `response_format`) reached the provider unread."""
    fmt = {"type": "json_schema", "name": "x", "description": "mail jane.doe@example.com",
           "schema": {"type": "object", "properties": {"a": {"type": "string",
                                                             "description": "call +1 415 555 0132"}}}}  # fmt: skip
    client(gw).responses.create(model="gpt-4o", input="hi", text={"format": fmt})  # type: ignore[typeddict-item]
    sent = json.dumps(fake.requests[0].body["response_format"])
    assert "jane.doe" not in sent and "555 0132" not in sent and "[REDACTED:" in sent
    blocked = {**fmt, "description": "about Project Atlas"}
    with pytest.raises(openai.ConflictError):
        client(gw).responses.create(model="gpt-4o", input="hi", text={"format": blocked})  # type: ignore[typeddict-item]


def test_an_empty_content_before_a_tool_call_begins_no_message(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """vLLM-style streams open with `content: ""` before a tool call: no empty message item
    (before, one was made, and `responses.stream(text_format=...)` failed parsing "")."""
    call = {"index": None, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}  # fmt: skip
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": ""}, None),
            ({"tool_calls": [call]}, None),
            ({"tool_calls": [{"index": None, "function": {"arguments": '{"a": 1}'}}]}, None),
            ({}, "tool_calls"),
        )
    )
    with client(gw).responses.stream(model="gpt-4o", input="go") as s:
        final = s.get_final_response()
    assert [item.type for item in final.output] == ["function_call"]
    assert final.output[0].arguments == '{"a": 1}'  # type: ignore[union-attr]


def test_the_response_repeats_the_request_settings(gw: Gateway, fake: FakeUpstream) -> None:
    r = client(gw).responses.create(
        model="gpt-4o", input="hi", instructions="be brief", reasoning={"effort": "low"}
    )
    assert r.instructions == "be brief" and r.reasoning is not None
    assert r.reasoning.effort == "low" and fake.requests[0].body["reasoning_effort"] == "low"
    for bad in ({"reasoning": {"effort": "x" * 100}}, {"user": {"id": 1}}, {"reasoning": 5}):
        resp = httpx.post(
            gw.base_url + "/responses", json={"model": "gpt-4o", "input": "hi", **bad}
        )
        assert resp.status_code == 400, bad


def test_tool_calls_without_an_index_stay_apart(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: calls without an `index` key were all call 0: merged names and arguments."""

    def call(cid: str, name: str) -> dict[str, Any]:
        return {"id": cid, "type": "function", "function": {"name": name, "arguments": ""}}

    def args(text: str) -> dict[str, Any]:
        return {"function": {"arguments": text}}

    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "tool_calls": [call("a", "f")]}, None),
            ({"tool_calls": [args('{"q": 1}')]}, None),
            ({"tool_calls": [call("b", "g")]}, None),
            ({"tool_calls": [args('{"x": 2}')]}, None),
            ({}, "tool_calls"),
        )
    )
    with client(gw).responses.stream(model="gpt-4o", input="go") as s:
        final = s.get_final_response()
    got = [(i.call_id, i.name, json.loads(i.arguments)) for i in final.output]  # type: ignore[union-attr]
    assert got == [("a", "f", {"q": 1}), ("b", "g", {"x": 2})]


def test_a_stored_prompt_template_is_400_not_dropped(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `prompt` was left out without a word: the provider answered "hi" alone, with
    neither the template nor its variables (which no policy had read)."""
    with pytest.raises(openai.BadRequestError) as err:
        client(gw).responses.create(
            model="gpt-4o",
            input="hi",
            prompt={"id": "pmpt_1", "variables": {"customer": "jane.doe@example.com"}},
        )
    assert "'prompt'" in err.value.message and "instructions" in err.value.message
    assert fake.requests == []


def test_reasoning_tokens_are_reported(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `output_tokens_details.reasoning_tokens` was always 0, whatever the provider
    reported, in JSON answers and in `response.completed`; cache writes were left out."""
    usage = {"prompt_tokens": 10, "completion_tokens": 300, "total_tokens": 310,
             "completion_tokens_details": {"reasoning_tokens": 256},
             "prompt_tokens_details": {"cached_tokens": 2}, "cache_creation_input_tokens": 5}  # fmt: skip
    fake.reset(raw_json={
        "id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "42"}}],
        "usage": usage,
    })  # fmt: skip
    r = client(gw).responses.create(model="gpt-4o", input="hi", reasoning={"effort": "high"})
    assert r.usage is not None and r.usage.output_tokens_details.reasoning_tokens == 256
    assert r.usage.input_tokens_details.cached_tokens == 2
    assert r.usage.input_tokens_details.cache_write_tokens == 5
    chunk = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    fake.reset(
        raw_stream=chat_sse(({"role": "assistant", "content": "42"}, None), ({}, "stop"))
        .replace(b"data: [DONE]", b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]")
    )  # fmt: skip
    with client(gw).responses.stream(model="gpt-4o", input="hi") as s:
        final = s.get_final_response()
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 256
    assert final.usage.output_tokens == 300


APPLY_PATCH: Any = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files",
    "format": {"type": "grammar", "definition": "start: /.+/", "syntax": "lark"},
}


def test_custom_tools_both_ways(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: a custom (free-form) tool, as Codex declares `apply_patch`, was a 400, and so was
    every request of such a client; its calls and their outputs could not be sent back."""
    call = {"id": "call_7", "type": "custom",
            "custom": {"name": "apply_patch", "input": "*** Begin Patch"}}  # fmt: skip
    fake.reset(raw_json={
        "id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
    })  # fmt: skip
    r = client(gw).responses.create(
        model="gpt-4o",
        tools=[APPLY_PATCH],
        tool_choice={"type": "custom", "name": "apply_patch"},
        input=[
            {"role": "user", "content": "fix it"},
            {"type": "custom_tool_call", "call_id": "c0", "name": "apply_patch", "input": "old"},
            {"type": "custom_tool_call_output", "call_id": "c0", "output": "applied"},
        ],
    )
    item = r.output[0]
    assert item.type == "custom_tool_call" and item.call_id == "call_7"
    assert (item.name, item.input) == ("apply_patch", "*** Begin Patch")
    assert r.tools[0].type == "custom" and r.tool_choice.type == "custom"  # type: ignore[union-attr]
    sent = fake.requests[0].body
    assert sent["tools"] == [{"type": "custom", "custom": {
        "name": "apply_patch", "description": "Edit files",
        "format": {"type": "grammar", "grammar": {"definition": "start: /.+/", "syntax": "lark"}}}}]  # fmt: skip
    assert sent["tool_choice"] == {"type": "custom", "custom": {"name": "apply_patch"}}
    assert sent["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c0", "type": "custom", "custom": {"name": "apply_patch", "input": "old"}}]},
        {"role": "tool", "tool_call_id": "c0", "content": "applied"},
    ]  # fmt: skip
    fake.reset()
    with pytest.raises(openai.ConflictError):  # the policies read a call sent back
        client(gw).responses.create(model="gpt-4o", tools=[APPLY_PATCH], input=[
            {"type": "custom_tool_call", "call_id": "c0", "name": "apply_patch",
             "input": "rename project\natlas"}])  # fmt: skip
    assert fake.requests == []


def test_a_streamed_custom_tool_call_is_governed(gw: Gateway, fake: FakeUpstream) -> None:
    first = {"index": 0, "id": "call_7", "type": "custom",
             "custom": {"name": "apply_patch", "input": ""}}  # fmt: skip

    def stream(*pieces: str) -> bytes:
        deltas = [({"tool_calls": [{"index": 0, "custom": {"input": p}}]}, None) for p in pieces]
        opening = ({"role": "assistant", "content": None, "tool_calls": [first]}, None)
        return chat_sse(opening, *deltas, ({}, "tool_calls"))

    fake.reset(raw_stream=stream("*** Begin", " Patch for jane.doe@", "example.com"))
    with client(gw).responses.stream(model="gpt-4o", input="fix", tools=[APPLY_PATCH]) as s:
        kinds = [event.type for event in s]
        final = s.get_final_response()
    item = final.output[0]
    assert item.type == "custom_tool_call" and item.name == "apply_patch"
    assert item.input.startswith("*** Begin Patch for [REDACTED:") and "jane" not in item.input
    assert "response.custom_tool_call_input.delta" in kinds
    assert kinds[-3:] == [
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]
    fake.reset(raw_stream=stream("about proj", "ect atlas and ", "more text " * 5))
    blocked = client(gw).responses.stream(model="gpt-4o", input="fix", tools=[APPLY_PATCH])
    with pytest.raises(openai.APIError) as err, blocked as s:
        for _ in s:
            pass
    assert "dlp-filter" in err.value.message


def test_a_streamed_custom_tool_call_without_usage_is_not_free(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: a stream's output estimate (no usage from the provider) left custom tool input
    out, so such an answer cost 0 output tokens."""
    first = {
        "index": 0,
        "id": "c",
        "type": "custom",
        "custom": {"name": "apply_patch", "input": ""},
    }
    patch = "*** Begin Patch\n" + "+ line\n" * 300
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "tool_calls": [first]}, None),
            ({"tool_calls": [{"index": 0, "custom": {"input": patch}}]}, None),
            ({}, "tool_calls"),
        )
    )
    with client(gw).responses.stream(model="gpt-4o", input="fix", tools=[APPLY_PATCH]) as s:
        final = s.get_final_response()
    assert final.usage is not None and final.usage.output_tokens >= len(patch) // 4
