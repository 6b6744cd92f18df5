"""Tools of OpenAI chat requests served by an `anthropic` target (`providers/anthropic_tools.py`):
custom (free-form) tools, `allowed_tools`, legacy `functions`, with the official `openai` SDK."""

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
from tests.integration.test_anthropic_target import HI, MODEL, client, sent


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    yield from governed(tmp_path_factory, upstream, "anthropic-tools", provider="anthropic")


CUSTOM_TOOL: Any = {"type": "custom", "custom": {"name": "run_sql", "description": "Run SQL"}}


def test_a_custom_tool_is_a_tool_with_one_text_input(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: a custom (free-form) tool reached Anthropic with a null name (its 400), and a
    custom tool call in the history as a tool_use with a null name."""
    fake.reset(
        reply="", tool_call={"name": "run_sql", "arguments": json.dumps({"input": "SELECT 1"})}
    )
    resp = client(gw).chat.completions.create(
        model=MODEL,
        messages=HI,
        tools=[CUSTOM_TOOL],
        tool_choice={"type": "custom", "custom": {"name": "run_sql"}},
    )
    call: Any = (resp.choices[0].message.tool_calls or [])[0]
    assert call.type == "custom" and call.custom.name == "run_sql"
    assert call.custom.input == "SELECT 1"
    body = sent(fake)
    tool = body["tools"][0]
    assert tool["name"] == "run_sql" and tool["description"] == "Run SQL"
    assert tool["input_schema"]["required"] == ["input"]
    assert tool["input_schema"]["properties"]["input"]["type"] == "string"
    assert body["tool_choice"] == {"type": "tool", "name": "run_sql"}
    fake.reset()
    history: Any = [
        *HI,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "custom", "custom": {"name": "run_sql", "input": "SELECT 2"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "2"},
    ]  # fmt: skip
    client(gw).chat.completions.create(model=MODEL, messages=history, tools=[CUSTOM_TOOL])
    use = sent(fake)["messages"][1]["content"][0]
    assert use == {"type": "tool_use", "id": "toolu_1", "name": "run_sql", "input": {"input": "SELECT 2"}}  # fmt: skip


def test_a_streamed_custom_tool_call_is_a_custom_call(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(reply="", tool_call={"name": "run_sql", "arguments": json.dumps({"input": 'SELECT "a\\nb"'})})  # fmt: skip
    chunks = list(
        client(gw).chat.completions.create(
            model=MODEL, messages=HI, tools=[CUSTOM_TOOL], stream=True
        )
    )
    calls = [c for ch in chunks if ch.choices for c in ch.choices[0].delta.tool_calls or []]
    first: Any = calls[0]
    assert first.type == "custom" and first.custom["name"] == "run_sql"
    text = "".join(c.custom["input"] for c in calls if getattr(c, "custom", None))  # type: ignore[attr-defined]
    assert text == 'SELECT "a\\nb"'
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "tool_calls"


def test_a_grammar_custom_tool_is_a_400_naming_it(gw: Gateway, fake: FakeUpstream) -> None:
    """A grammar Anthropic cannot constrain the input to: refused, not loosened in silence."""
    tool = {"type": "custom", "custom": {"name": "apply_patch", "format": {
        "type": "grammar", "grammar": {"syntax": "lark", "definition": "start: /.+/"}}}}  # fmt: skip
    with pytest.raises(openai.BadRequestError) as err:
        client(gw).chat.completions.create(model=MODEL, messages=HI, tools=[tool])
    message = err.value.body["message"]  # type: ignore[index]
    assert "apply_patch" in message and "grammar" in message
    assert fake.requests == []


def test_legacy_functions_are_a_400_naming_them(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `functions` were dropped, and the model answered without them."""
    fn = {"name": "f", "parameters": {"type": "object"}}
    r = httpx.post(
        gw.base_url + "/chat/completions", json={"model": MODEL, "messages": HI, "functions": [fn]}
    )
    assert r.status_code == 400 and "'functions'" in r.json()["error"]["message"]
    assert fake.requests == []


def test_a_responses_custom_tool_call_from_an_anthropic_target(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """`/v1/responses` custom tools (Codex's kind) served by an Anthropic target."""
    fake.reset(reply="", tool_call={"name": "run_sql", "arguments": json.dumps({"input": "SELECT 1"})})  # fmt: skip
    tools: Any = [{"type": "custom", "name": "run_sql", "description": "SQL"}]
    resp = client(gw).responses.create(model=MODEL, input="go", tools=tools)
    call: Any = resp.output[-1]
    assert (call.type, call.name, call.input) == ("custom_tool_call", "run_sql", "SELECT 1")
    with client(gw).responses.stream(model=MODEL, input="go", tools=tools) as s:
        final: Any = s.get_final_response()
    assert (final.output[-1].type, final.output[-1].input) == ("custom_tool_call", "SELECT 1")


def test_allowed_tools_send_only_those_tools(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `allowed_tools` was dropped, so the model could call any tool."""
    fn: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    allowed: Any = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "custom", "custom": {"name": "run_sql"}}]},
    }  # fmt: skip
    client(gw).chat.completions.create(
        model=MODEL, messages=HI, tools=[fn, CUSTOM_TOOL], tool_choice=allowed
    )
    body = sent(fake)
    assert [t["name"] for t in body["tools"]] == ["run_sql"]
    assert body["tool_choice"] == {"type": "any"}


def test_a_strict_tool_stays_strict(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `strict` was dropped both ways (Messages tools -> chat functions -> Anthropic
    tools), so the model's tool input went unchecked against the schema."""
    schema = {"type": "object", "properties": {"q": {"type": "string"}},
              "required": ["q"], "additionalProperties": False}  # fmt: skip
    tool: Any = {"name": "search", "input_schema": schema, "strict": True}
    c = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    c.messages.create(model=MODEL, max_tokens=9, messages=HI, tools=[tool])
    assert sent(fake)["tools"] == [{"name": "search", "input_schema": schema, "strict": True}]
