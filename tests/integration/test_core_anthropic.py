"""The anthropic adapter: OpenAI chat completions in, Messages API out (JSON and SSE)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, PROVIDER_KEY, openai_config


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    """One gateway for the module (an anthropic target `claude`, no policies that change text)."""
    factory = GatewayFactory(tmp_path_factory.mktemp("core-anthropic"))
    yield factory.start(openai_config(("claude", upstream.base_url), provider="anthropic"), env=ENV)
    factory.stop_all()


def test_anthropic_json(gw: Gateway, fake: FakeUpstream) -> None:
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    resp = c.chat.completions.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    )
    assert resp.choices[0].message.content == fake.behaviour.reply
    assert resp.choices[0].finish_reason == "stop"
    assert (
        resp.usage is not None
        and resp.usage.prompt_tokens == 11
        and resp.usage.completion_tokens == 7
    )
    sent = fake.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == PROVIDER_KEY and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body["system"] == "be brief"
    assert sent.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert sent.body["max_tokens"] == 100


def test_anthropic_stream(gw: Gateway, fake: FakeUpstream) -> None:
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    chunks = list(
        c.chat.completions.create(
            model="claude-sonnet-4-5",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == fake.behaviour.reply
    finishes = [
        ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    assert fake.requests[0].body["stream"] is True


def test_anthropic_tool_call_round_trip(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(tool_call={"name": "get_weather", "arguments": json.dumps({"city": "Paris"})})
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    resp = c.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ],
    )
    call = resp.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
        "city": "Paris"
    }
    assert resp.choices[0].finish_reason == "tool_calls"
    assert fake.requests[0].body["tools"][0]["name"] == "get_weather"


def test_tool_choice_and_user_reach_anthropic(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `tool_choice`, `parallel_tool_calls` and `user` were dropped on the way."""
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"tool_choice": "required"}, {"type": "any"}),
        ({"tool_choice": "none"}, {"type": "none"}),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, {"type": "tool", "name": "f"}),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
    ]  # fmt: skip
    for extra, expected in cases:
        fake.reset()
        c.chat.completions.create(
            model="claude-test-model",
            messages=[{"role": "user", "content": "hi"}],
            tools=[tool],
            user="u-7",
            **extra,
        )
        assert fake.requests[0].body["tool_choice"] == expected
        assert fake.requests[0].body["metadata"] == {"user_id": "u-7"}


def test_a_streamed_tool_call_starts_as_openai_does(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """Role with `content: null` and the call for a tool call; `content: ""` for text."""
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    fake.reset(reply="", tool_call={"name": "f", "arguments": '{"a": 1}'})
    chunks = list(
        c.chat.completions.create(
            model="claude-test-model", messages=[{"role": "user", "content": "go"}], stream=True
        )
    )
    first = chunks[0].choices[0].delta
    assert first.role == "assistant" and first.content is None and first.tool_calls
    fake.reset()
    chunks = list(
        c.chat.completions.create(
            model="claude-test-model", messages=[{"role": "user", "content": "go"}], stream=True
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert (
        "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        == fake.behaviour.reply
    )


def test_a_full_context_window_is_finish_reason_length(gw: Gateway, fake: FakeUpstream) -> None:
    """Anthropic's `model_context_window_exceeded` cut the answer short, as `max_tokens`
    does: the client must see `length`, not `stop` (a complete answer)."""
    fake.reset(stop_reason="model_context_window_exceeded")
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    messages: Any = [{"role": "user", "content": "hi"}]
    resp = c.chat.completions.create(model="claude-sonnet-4-5", messages=messages)
    assert resp.choices[0].finish_reason == "length"
    chunks = c.chat.completions.create(model="claude-sonnet-4-5", messages=messages, stream=True)
    reasons = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert reasons[-1] == "length"


def test_a_streamed_tool_call_without_arguments_has_an_empty_object(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Anthropic streams a tool's input as JSON pieces, only an empty one for a tool without
    parameters: the client must end with `{}` (as OpenAI sends, and as the JSON answer
    has), not `""`, which `json.loads` refuses."""
    fake.reset(reply="", tool_call={"name": "now", "arguments": ""})
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    tool: Any = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
    messages: Any = [{"role": "user", "content": "time?"}]
    chunks = c.chat.completions.create(
        model="claude-sonnet-4-5", messages=messages, tools=[tool], stream=True
    )
    arguments = "".join(
        call.function.arguments or ""
        for ch in chunks
        if ch.choices
        for call in ch.choices[0].delta.tool_calls or []
        if call.function is not None
    )
    assert json.loads(arguments) == {}


def test_a_base_url_without_v1_reaches_the_messages_api(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """`base_url: https://api.anthropic.com` (the Anthropic SDK's base URL, and the public
    docs' example) reaches `/v1/messages`: it posted to `/messages`, a 404 on every request."""
    root = fake.base_url.removesuffix("/v1")
    gw = gateways.start(openai_config(("claude", root), provider="anthropic"), env=ENV)
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    messages: Any = [{"role": "user", "content": "hi"}]
    resp = c.chat.completions.create(model="claude-sonnet-4-5", messages=messages)
    assert resp.choices[0].message.content == fake.behaviour.reply
    assert [r.path for r in fake.requests] == ["/v1/messages"]


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "msg_1", "type": "message", "content": ["just text"], "stop_reason": "end_turn"},
        {"id": "msg_1", "type": "message", "content": "text", "stop_reason": "end_turn"},
        {"status": "ok"},
    ],
)
def test_an_answer_that_is_not_a_message_is_a_502(
    gw: Gateway, fake: FakeUpstream, answer: dict[str, Any]
) -> None:
    """A 200 that is not a Messages answer (a proxy's page, a block that is not an object)
    is the provider's protocol error: it was a bare 500 with a traceback, or an empty
    completion passed off as the answer."""
    fake.reset(raw_json=answer)
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)
    assert r.status_code == 502, r.text
    assert r.json()["error"]["type"] == "upstream_error"
    assert "Traceback" not in gw.logs()
