"""OpenAI chat requests served by an `anthropic` target, with the official `openai` SDK: what
the Messages API can honour is translated (structured outputs, thinking, files), what it cannot
is a clear 400 naming the field, never dropped or left for the provider's own 400; Anthropic's
failures as the contract's. Tools: `test_anthropic_target_tools.py`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import FakeUpstream
from tests.integration.governed import governed

HI: Any = [{"role": "user", "content": "hi"}]
MODEL = "claude-test-model"


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    yield from governed(tmp_path_factory, upstream, "anthropic-target", provider="anthropic")


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)


def sent(fake: FakeUpstream) -> dict[str, Any]:
    assert [r.path for r in fake.requests] == ["/v1/messages"]
    return fake.requests[0].body


def test_a_json_schema_response_format_is_anthropic_s_structured_output(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: `response_format` was dropped, so the model answered prose the client could
    not parse, with no word from the gateway."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"], "additionalProperties": False}  # fmt: skip
    fake.reset(reply='{"city": "Paris"}')
    resp = client(gw).chat.completions.create(
        model=MODEL,
        messages=HI,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "place", "schema": schema, "strict": True},
        },
    )
    assert json.loads(resp.choices[0].message.content or "") == {"city": "Paris"}
    assert sent(fake)["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_a_json_object_response_format_asks_for_json_in_the_system_prompt(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Anthropic has no "any JSON object" mode: the system prompt asks for one."""
    client(gw).chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "be brief"}, *HI],
        response_format={"type": "json_object"},
    )
    body = sent(fake)
    assert body["system"].startswith("be brief\n\n") and "JSON object" in body["system"]
    assert "output_config" not in body
    fake.reset()
    client(gw).chat.completions.create(model=MODEL, messages=HI, response_format={"type": "text"})
    assert "system" not in sent(fake) and "output_config" not in sent(fake)


def test_a_temperature_above_1_is_a_400_naming_the_range(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: the temperature went on to Anthropic (0 to 1), whose 400 came back."""
    with pytest.raises(openai.BadRequestError) as err:
        client(gw).chat.completions.create(model=MODEL, messages=HI, temperature=1.5)
    message = err.value.body["message"]  # type: ignore[index]
    assert "temperature 1.5" in message and "0 to 1" in message
    assert fake.requests == []
    client(gw).chat.completions.create(model=MODEL, messages=HI, temperature=1)
    assert sent(fake)["temperature"] == 1


def test_logprobs_are_a_400_naming_them(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `logprobs: true` went to Anthropic, which has none, and the answer came back
    with `logprobs: null` (code reading `choice.logprobs.content` broke on it)."""
    with pytest.raises(openai.BadRequestError) as err:
        client(gw).chat.completions.create(model=MODEL, messages=HI, logprobs=True)
    assert "logprobs" in err.value.body["message"]  # type: ignore[index]
    assert fake.requests == []
    client(gw).chat.completions.create(model=MODEL, messages=HI, logprobs=False)
    assert len(fake.requests) == 1


def test_an_empty_system_is_left_out(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `system: []` (and a system of empty texts) sent an empty system prompt."""
    c = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    for system in ([], [{"type": "text", "text": ""}], ""):
        fake.reset()
        c.messages.create(model=MODEL, max_tokens=5, system=system, messages=HI)
        assert "system" not in sent(fake), system
    fake.reset()
    client(gw).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": ""}, *HI]
    )
    assert "system" not in sent(fake)


def test_anthropic_overloaded_is_a_retryable_503(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: Anthropic's 529 `overloaded_error` was a 502 `upstream_error`, and so was its
    `overloaded_error` event mid-stream; overloaded is unavailable for now: 503, retryable."""
    fake.reset(status=529)
    r = httpx.post(gw.base_url + "/chat/completions", json={"model": MODEL, "messages": HI})
    assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_unavailable"
    assert "x-should-retry" not in r.headers
    fake.reset(fail_after_chunks=2)
    body = {"model": MODEL, "messages": HI, "stream": True}
    with httpx.stream("POST", gw.base_url + "/chat/completions", json=body) as r:
        assert r.status_code == 200
        frames = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    error = json.loads(frames[-2])["error"]
    assert error["code"] == "upstream_unavailable" and "overloaded" in error["message"]
    assert json.loads(frames[0])["choices"][0]["delta"]["role"] == "assistant"
    c = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    fake.reset(fail_after_chunks=2)
    with (
        pytest.raises(anthropic.APIStatusError) as err,
        c.messages.stream(model=MODEL, max_tokens=9, messages=HI) as s,
    ):
        for _ in s.text_stream:
            pass
    assert err.value.body["error"]["code"] == "upstream_unavailable"  # type: ignore[index]


def test_request_fields_reach_anthropic_as_its_api_names_them(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Images (base64 and URL), `stop` as a string or a list, `max_completion_tokens` over
    `max_tokens`."""
    png = "iVBORw0KGgo="
    parts: Any = [
        {"type": "text", "text": "compare"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg", "detail": "low"}},
    ]
    client(gw).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": parts}],
        stop="END",
        max_tokens=50,
        max_completion_tokens=60,
    )
    body = sent(fake)
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/b.jpg"}},
    ]
    assert body["stop_sequences"] == ["END"] and body["max_tokens"] == 60
    fake.reset()
    client(gw).chat.completions.create(model=MODEL, messages=HI, stop=["A", "B"])
    body = sent(fake)
    assert body["stop_sequences"] == ["A", "B"] and body["max_tokens"] == 4096


def test_reasoning_effort_is_extended_thinking(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `reasoning_effort` was dropped, and a thinking block of the answer with it."""
    fake.reset(thinking="Let me see.")
    resp = client(gw).chat.completions.create(model=MODEL, messages=HI, reasoning_effort="medium")
    body = sent(fake)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert body["max_tokens"] == 4096 + 8192  # no cap given: room for the thinking too
    message: Any = resp.choices[0].message
    assert message.content == fake.behaviour.reply and message.reasoning_content == "Let me see."
    chunks = list(
        client(gw).chat.completions.create(
            model=MODEL,
            messages=HI,
            reasoning_effort="low",
            max_completion_tokens=3000,
            stream=True,
        )
    )
    assert fake.requests[1].body["thinking"]["budget_tokens"] == 1500  # half the caller's cap
    deltas: Any = [ch.choices[0].delta for ch in chunks if ch.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == "Let me see."
    assert "".join(d.content or "" for d in deltas) == fake.behaviour.reply
    fake.reset()
    client(gw).chat.completions.create(
        model=MODEL, messages=HI, reasoning_effort="high", max_tokens=1000
    )
    assert "thinking" not in sent(fake)  # no room for Anthropic's least budget (1024)
    # settings Anthropic refuses thinking beside: sent without thinking, not refused
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    loop: Any = [*HI, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "ok"}]  # fmt: skip
    for extra in ({"temperature": 0.2}, {"tool_choice": "required"}, {"messages": loop}):
        fake.reset()
        fields: Any = {"messages": HI, **extra}
        client(gw).chat.completions.create(
            model=MODEL, reasoning_effort="high", tools=[tool], **fields
        )
        assert "thinking" not in sent(fake) and sent(fake)["max_tokens"] == 4096, extra


def test_files_and_audio(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `file` and `input_audio` parts were left out without a word (the model answered
    without them)."""
    pdf = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}}  # fmt: skip
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "read"}, pdf]}]
    client(gw).chat.completions.create(model=MODEL, messages=messages)
    assert sent(fake)["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "read"},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
    ]}]  # fmt: skip
    fake.reset()
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    for part, words in ((audio, "input_audio"), ({"type": "file", "file": {"file_id": "file-1"}}, "file_id")):  # fmt: skip
        with pytest.raises(openai.BadRequestError) as err:
            client(gw).chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": [part]}]
            )
        assert words in err.value.body["message"]  # type: ignore[index]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("reason", "finish", "messages_reason"),
    [("refusal", "content_filter", "refusal"), ("pause_turn", "stop", "end_turn")],
)
def test_stop_reasons(
    gw: Gateway, fake: FakeUpstream, reason: str, finish: str, messages_reason: str
) -> None:
    fake.reset(stop_reason=reason)
    resp = client(gw).chat.completions.create(model=MODEL, messages=HI)
    assert resp.choices[0].finish_reason == finish
    chunks = client(gw).chat.completions.create(model=MODEL, messages=HI, stream=True)
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == finish
    c = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    msg = c.messages.create(model=MODEL, max_tokens=9, messages=HI)
    assert msg.stop_reason == messages_reason
