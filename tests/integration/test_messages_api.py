"""`POST /v1/messages`: the official `anthropic` SDK against the real gateway, any target.

The request is governed like a chat request (policies read every block), routed to OpenAI-style
or Anthropic targets, and answered in Anthropic's format: JSON, stream events, errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import TEXT_THEN_TOOL_CALL, FakeUpstream, chat_sse
from tests.integration.governed import governed


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    yield from governed(tmp_path_factory, upstream, "msgs")


@pytest.fixture(scope="module")
def gw_anthropic(
    tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream
) -> Iterator[Gateway]:
    yield from governed(tmp_path_factory, upstream, "msgs-a", provider="anthropic")


def client(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gw.base_url.removesuffix("/v1"), api_key="caller-key", max_retries=0
    )


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_json_answer_from_an_openai_target(gw: Gateway, fake: FakeUpstream) -> None:
    msg = client(gw).messages.create(
        model="gpt-4o",
        max_tokens=50,
        system="be brief",
        messages=user("hi"),
        stop_sequences=["END"],
        extra_body={"temperature": 0.2},
        metadata={"user_id": "u-1"},
    )
    assert msg.type == "message" and msg.role == "assistant"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == fake.behaviour.reply  # type: ignore[union-attr]
    assert msg.stop_reason == "end_turn" and msg.id.startswith("msg_")
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (11, 7)
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert sent.body["max_tokens"] == 50 and sent.body["stop"] == ["END"]
    assert sent.body["temperature"] == 0.2 and sent.body["user"] == "u-1"
    assert "caller-key" not in json.dumps(sent.headers)


def test_stream_from_an_openai_target(gw: Gateway, fake: FakeUpstream) -> None:
    with client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=user("hi")) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == fake.behaviour.reply
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 7)
    assert fake.requests[0].body["stream"] is True


def test_stream_events_in_anthropic_order(gw: Gateway, fake: FakeUpstream) -> None:
    with httpx.stream(
        "POST",
        gw.base_url + "/messages",
        json={"model": "gpt-4o", "max_tokens": 9, "stream": True, "messages": user("hi")},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    names = [line[7:] for line in body.splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[1] == "content_block_start"
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert "[DONE]" not in body


def test_tool_use_round_trip(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(tool_call={"name": "get_weather", "arguments": json.dumps({"city": "Paris"})})
    tools: Any = [
        {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}
    ]
    msg = client(gw).messages.create(
        model="gpt-4o",
        max_tokens=50,
        messages=user("weather?"),
        tools=tools,
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
    )
    use = next(b for b in msg.content if b.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "Paris"}  # type: ignore[union-attr]
    assert msg.stop_reason == "tool_use"
    sent = fake.requests[0].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object"},
                "description": "Weather",
            },
        }
    ]
    assert sent["tool_choice"] == "required" and sent["parallel_tool_calls"] is False
    fake.reset()
    client(gw).messages.create(
        model="gpt-4o",
        max_tokens=50,
        tools=tools,
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"c": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                    {"type": "text", "text": "thanks"},
                ],
            },
        ],
    )
    assert fake.requests[0].body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"c":1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]


def test_streamed_tool_call(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(raw_stream=TEXT_THEN_TOOL_CALL)
    with client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=user("go")) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "One moment."  # type: ignore[union-attr]
    assert final.content[1].input == {"a": 1} and final.content[1].id == "call_9"  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"


def test_policies_read_every_block(gw: Gateway, fake: FakeUpstream) -> None:
    client(gw).messages.create(
        model="gpt-4o",
        max_tokens=50,
        system=[{"type": "text", "text": "Help jane.doe@example.com"}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": [
                        {"type": "text", "text": "card 4111 1111 1111 1111"}]},
                    {"type": "text", "text": "call +1 415 555 0132"},
                ],
            }
        ],
    )  # fmt: skip
    sent = json.dumps(fake.requests[0].body)
    for secret in ("jane.doe@example.com", "4111 1111 1111 1111", "+1 415 555 0132"):
        assert secret not in sent
    assert "[REDACTED:" in sent


def test_a_block_is_a_409_in_anthropic_shape_and_not_retried(
    gw: Gateway, fake: FakeUpstream
) -> None:
    c = anthropic.Anthropic(base_url=gw.base_url.removesuffix("/v1"), api_key="k", max_retries=2)
    with pytest.raises(anthropic.ConflictError) as err:
        c.messages.create(model="gpt-4o", max_tokens=5, messages=user("about Project Atlas"))
    body = err.value.response.json()
    assert body["type"] == "error"
    assert (body["error"]["code"], body["error"]["policy"]) == ("input_blocked", "dlp-filter")
    assert err.value.response.headers["x-should-retry"] == "false"
    assert fake.requests == []


def test_pii_in_a_streamed_answer_is_redacted(gw: Gateway, fake: FakeUpstream) -> None:
    reply = "Write to jane.doe@example.com today."
    fake.reset(chunks=["Write to jane.d", "oe@exam", "ple.com today."])
    with client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=user("hi")) as s:
        text = "".join(s.text_stream)
    assert "jane.doe" not in text and text.startswith("Write to [REDACTED:")
    assert text.endswith(" today.") and reply != text


def test_a_block_mid_stream_is_an_error_event(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(chunks=["The plan is ", "called Project ", "Atlas and ", "more text. " * 5])
    stream = client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=user("hi"))
    with pytest.raises(anthropic.APIStatusError) as err, stream as s:
        for _ in s.text_stream:
            pass
    assert err.value.body["error"]["code"] == "output_blocked"  # type: ignore[index]


def test_bad_requests_are_400_naming_the_field(gw: Gateway, fake: FakeUpstream) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": "gpt-4o", "messages": user("hi")}, "max_tokens"),
        ({"model": "gpt-4o", "max_tokens": 5, "messages": []}, "messages"),
        (
            {
                "model": "gpt-4o",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}],
            },
            "'document' blocks are not supported",
        ),
        (
            {
                "model": "gpt-4o",
                "max_tokens": 5,
                "messages": user("hi"),
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            },
            "server tools",
        ),
        (
            {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
            "role",
        ),
    ]
    for body, words in cases:
        r = httpx.post(gw.base_url + "/messages", json=body)
        assert r.status_code == 400, body
        err = r.json()
        assert err["type"] == "error" and err["error"]["code"] == "invalid_request"
        assert words in err["error"]["message"], err
    assert fake.requests == []


def test_an_anthropic_target_round_trip(gw_anthropic: Gateway, fake: FakeUpstream) -> None:
    msg = client(gw_anthropic).messages.create(
        model="claude-test-model", max_tokens=50, system="be brief", messages=user("hi")
    )
    assert msg.content[0].text == fake.behaviour.reply  # type: ignore[union-attr]
    assert msg.id == "msg_fake"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (11, 7)
    sent = fake.requests[0]
    assert sent.path == "/v1/messages" and sent.body["system"] == "be brief"
    assert sent.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    fake.reset()
    with client(gw_anthropic).messages.stream(
        model="claude-test-model", max_tokens=50, messages=user("hi")
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == fake.behaviour.reply and final.usage.output_tokens == 7
    assert final.id == "msg_fake"


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_json_nested_past_what_can_be_re_encoded_is_a_clear_error(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: 500 and a traceback (orjson encodes at most 254 levels)."""
    use = {"type": "tool_use", "id": "t", "name": "f", "input": nested(300)}
    body = {"model": "gpt-4o", "max_tokens": 5, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": [use]}]}  # fmt: skip
    r = httpx.post(gw.base_url + "/messages", json=body)
    assert r.status_code == 400 and "254 levels" in r.json()["error"]["message"]
    tools = [{"type": "function", "function": {"name": "f", "parameters": nested(300)}}]
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "tools": tools,
              "messages": [{"role": "user", "content": "I am jane.doe@example.com"}]},
    )  # fmt: skip
    assert r.status_code == 400 and "254 levels" in r.json()["error"]["message"]
    assert fake.requests == []
    call = {"id": "c", "type": "function",
            "function": {"name": "f", "arguments": json.dumps(nested(300))}}  # fmt: skip
    fake.reset(raw_json={
        "id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
    })  # fmt: skip
    r = httpx.post(
        gw.base_url + "/messages", json={"model": "gpt-4o", "max_tokens": 5, "messages": user("hi")}
    )
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_error"


def test_a_stream_without_usage_reports_the_estimate(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `message_delta` said 0 tokens while metrics and events had the estimate."""
    fake.reset(include_usage=False)
    with client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=user("hi")) as s:
        final = s.get_final_message()
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0


def test_a_refusal_is_a_text_block_of_its_own(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(raw_json={
        "id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Sure.", "refusal": "No."}}],
    })  # fmt: skip
    msg = client(gw).messages.create(model="gpt-4o", max_tokens=5, messages=user("hi"))
    assert [b.text for b in msg.content] == ["Sure.", "No."]  # type: ignore[union-attr]
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "refusal": "No, I"}, None),
            ({"refusal": " cannot."}, None),
            ({}, "stop"),
        )
    )
    with client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=user("go")) as s:
        final = s.get_final_message()
    assert [(b.type, b.text) for b in final.content] == [("text", "No, I cannot.")]  # type: ignore[union-attr]


def test_a_streamed_tool_call_alone_has_no_empty_text_block(
    gw_anthropic: Gateway, fake: FakeUpstream
) -> None:
    """Before: the Anthropic adapter's first chunk always said `content: ""`, which began an
    empty text block (Anthropic refuses empty text blocks when the content is sent back)."""
    fake.reset(reply="", tool_call={"name": "f", "arguments": '{"a": 1}'})
    with client(gw_anthropic).messages.stream(
        model="claude-test-model", max_tokens=50, messages=user("go")
    ) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["tool_use"]
    assert final.content[0].input == {"a": 1}  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"


def test_split_blocks_and_escaped_tool_input_hide_nothing(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """Before: each user text block was read alone, and tool_use input as escaped JSON
    (`project\\natlas`), so both reached the provider."""
    split = [{"type": "text", "text": "tell me about project"}, {"type": "text", "text": " atlas"}]
    use = {"type": "tool_use", "id": "t", "name": "f", "input": {"q": "project\natlas"}}
    for messages in (
        [{"role": "user", "content": split}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [use]},
         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}],
    ):  # fmt: skip
        with pytest.raises(anthropic.ConflictError):
            client(gw).messages.create(model="gpt-4o", max_tokens=5, messages=messages)  # type: ignore[arg-type]
    assert fake.requests == []


def test_unknown_paths_and_methods_under_messages_answer_in_its_shape(gw: Gateway) -> None:
    for method, path in (("POST", "/messages/batches"), ("GET", "/messages/count_tokens")):
        r = httpx.request(method, gw.base_url + path, json={})
        assert r.status_code in (404, 405)
        assert r.json()["type"] == "error" and r.json()["error"]["code"]


def test_both_sdks_list_the_served_models(gw: Gateway) -> None:
    listed = client(gw).models.list()
    ids = [m.id for m in listed.data]
    assert ids and all(m.type == "model" and m.display_name == m.id for m in listed.data)
    assert not listed.has_more and listed.first_id == ids[0] and listed.last_id == ids[-1]
    openai_ids = [m.id for m in openai.OpenAI(base_url=gw.base_url, api_key="k").models.list()]
    assert openai_ids == ids


def test_structured_outputs_reach_the_provider(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `output_config` was left out without a word: `messages.parse()` asked for JSON
    and the provider was never told, so it answered prose the SDK could not parse."""
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "mail jane.doe@example.com"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    fake.reset(reply='{"city": "Paris"}')
    msg = client(gw).messages.create(
        model="gpt-4o",
        max_tokens=50,
        messages=user("where?"),
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    assert json.loads(msg.content[0].text) == {"city": "Paris"}  # type: ignore[union-attr]
    sent = fake.requests[0].body["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "output"
    assert sent["json_schema"]["schema"]["required"] == ["city"]
    assert "jane.doe" not in json.dumps(sent)  # the policies read the schema too
    fake.reset()
    r = httpx.post(
        gw.base_url + "/messages",
        json={"model": "gpt-4o", "max_tokens": 5, "messages": user("hi"),
              "output_config": {"format": {"type": "xml"}}},
    )  # fmt: skip
    assert r.status_code == 400 and "output_config.format" in r.json()["error"]["message"]
    assert fake.requests == []


def test_a_streamed_tool_call_without_usage_is_not_free(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: a stream's estimate counted only `content`, so a tool call streamed by a
    provider that sends no usage cost 0 output tokens (answer, metrics, event, budget), where
    the same answer as JSON was estimated from its arguments."""
    args = json.dumps({"body": "word " * 400})
    call = {"index": 0, "id": "c1", "type": "function",
            "function": {"name": "write", "arguments": ""}}  # fmt: skip
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "tool_calls": [call]}, None),
            ({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}, None),
            ({"refusal": "x" * 400}, None),
            ({}, "tool_calls"),
        )
    )
    with client(gw).messages.stream(model="gpt-4o", max_tokens=900, messages=user("go")) as s:
        final = s.get_final_message()
    assert final.usage.output_tokens >= (len(args) + 400) // 4


def test_a_stop_sequence_is_reported_as_one(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `stop_reason` was `end_turn` and `stop_sequence` null when the answer stopped on
    one of `stop_sequences`, though the provider said which (vLLM's `stop_reason`), so a
    caller could not tell a finished answer from one cut at its marker."""
    choice = {"index": 0, "finish_reason": "stop", "stop_reason": "</step>",
              "message": {"role": "assistant", "content": "Step one"}}  # fmt: skip
    fake.reset(raw_json={"id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
                         "choices": [choice]})  # fmt: skip
    msg = client(gw).messages.create(
        model="gpt-4o", max_tokens=50, messages=user("go"), stop_sequences=["</step>", "END"]
    )
    assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "</step>")
    last = {"id": "chatcmpl-x", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "stop_reason": "END"}]}  # fmt: skip
    fake.reset(
        raw_stream=chat_sse(({"role": "assistant", "content": "Step one"}, None)).replace(
            b"data: [DONE]", b"data: " + json.dumps(last).encode() + b"\n\ndata: [DONE]"
        )
    )
    with client(gw).messages.stream(
        model="gpt-4o", max_tokens=50, messages=user("go"), stop_sequences=["</step>", "END"]
    ) as s:
        final = s.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")
    # a stop the request did not ask for (vLLM: a token id, an EOS) is the end of the turn
    fake.reset(raw_json={"id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
                         "choices": [{**choice, "stop_reason": "other"}]})  # fmt: skip
    msg = client(gw).messages.create(
        model="gpt-4o", max_tokens=50, messages=user("go"), stop_sequences=["</step>"]
    )
    assert (msg.stop_reason, msg.stop_sequence) == ("end_turn", None)


def test_an_anthropic_target_s_stop_sequence_reaches_the_caller(
    gw_anthropic: Gateway, fake: FakeUpstream
) -> None:
    """Before: the Anthropic adapter turned `stop_sequence` into a plain `stop`, so a Messages
    caller of an Anthropic target saw `end_turn` and no sequence (JSON and streams)."""
    fake.reset(stop_sequence="END")
    msg = client(gw_anthropic).messages.create(
        model="claude-test-model", max_tokens=50, messages=user("hi"), stop_sequences=["END"]
    )
    assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "END")
    assert fake.requests[0].body["stop_sequences"] == ["END"]
    with client(gw_anthropic).messages.stream(
        model="claude-test-model", max_tokens=50, messages=user("hi"), stop_sequences=["END"]
    ) as s:
        final = s.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")
    assert final.content[0].text == fake.behaviour.reply  # type: ignore[union-attr]


def test_a_base_url_ending_in_v1_gets_a_404_that_says_so(gw: Gateway) -> None:
    """Before: `ANTHROPIC_BASE_URL=http://gateway:41002/v1` (as OpenAI apps are configured)
    made the SDK post to /v1/v1/messages: a bare "Not Found" in OpenAI's shape."""
    c = anthropic.Anthropic(base_url=gw.base_url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as err:
        c.messages.create(model="gpt-4o", max_tokens=5, messages=user("hi"))
    body = err.value.response.json()
    assert body["type"] == "error" and "base URL ends in /v1" in body["error"]["message"]


def test_server_side_mcp_is_400_not_dropped(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `mcp_servers` was left out without a word: the model answered without the
    tools the caller gave it (and, were it sent on, would call them where no policy reads)."""
    server = {"type": "url", "url": "https://mcp.example.com/sse", "name": "crm"}
    with pytest.raises(anthropic.BadRequestError) as err:
        client(gw).beta.messages.create(
            model="gpt-4o", max_tokens=5, messages=user("hi"), mcp_servers=[server]
        )
    assert "mcp_servers" in err.value.body["error"]["message"]  # type: ignore[index]
    assert fake.requests == []
