"""`POST /v1/responses` red-teamed: no text the policies changed or refused reaches the caller
or the provider in clear, in any event of a stream, and the SDK reads every answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import FakeUpstream, chat_sse
from tests.integration.test_responses_api import client, gw

__all__ = ["gw"]

SECRET = "jane.doe@example.com"


def stream_events(gw: Gateway, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of a streamed `/v1/responses` answer, as sent."""
    with httpx.stream("POST", gw.base_url + "/responses", json={**body, "stream": True}) as r:
        lines = r.read().decode().splitlines()
    return [json.loads(x[6:]) for x in lines if x.startswith("data: ")]


def reasoned(model: str, thought: str) -> dict[str, Any]:
    """A chat completion answering "Done." after `thought` (an OpenAI-compatible server's
    `reasoning_content`)."""
    message = {"role": "assistant", "content": "Done.", "reasoning_content": thought}
    choice = {"index": 0, "finish_reason": "stop", "message": message}
    return {"id": "c", "object": "chat.completion", "model": model, "choices": [choice]}


def test_redacted_settings_are_not_repeated_in_clear(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `instructions` and a `text.format` schema the policies redacted for the provider
    came back in clear in the answer, and in `response.created`, `response.in_progress` and
    `response.completed` of a stream."""
    fmt: Any = {"type": "json_schema", "name": "x", "description": "mail " + SECRET,
                "schema": {"type": "object", "description": "for " + SECRET}}  # fmt: skip
    body = {"model": "gpt-4o", "instructions": "Help " + SECRET, "input": "hi",
            "text": {"format": fmt}}  # fmt: skip
    r = client(gw).responses.create(**body)
    assert r.instructions == "Help [REDACTED:EMAIL]"
    assert r.text.format.type == "json_schema"
    assert r.text.format.description == "mail [REDACTED:EMAIL]"
    assert SECRET not in r.model_dump_json()
    events = stream_events(gw, body)
    assert [e["type"] for e in events][-1] == "response.completed"
    assert SECRET not in json.dumps(events)
    assert events[-1]["response"]["instructions"] == "Help [REDACTED:EMAIL]"
    for sent in fake.requests:
        assert SECRET not in json.dumps(sent.body)


def test_token_id_prompts_are_refused_while_policies_read_requests(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: `/v1/completions` `prompt` (and `/v1/embeddings` `input`) given as token ids went
    to the provider unread, so token ids spelling "project atlas" passed the DLP block."""
    for prompt in ([5894, 87637], [[5894], [87637]]):
        with pytest.raises(openai.ConflictError) as err:
            client(gw).completions.create(model="gpt-4o", prompt=prompt)
        assert "token ids" in err.value.message and "'prompt'" in err.value.message
        assert err.value.response.json()["error"]["policy"] == "prompt-injection"
    r = httpx.post(gw.base_url + "/embeddings", json={"model": "gpt-4o", "input": [[1, 2]]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "input_blocked"
    assert fake.requests == []
    client(gw).completions.create(model="gpt-4o", prompt=["hi", "there"])
    assert fake.requests[0].body["prompt"] == ["hi", "there"]


ATLAS = "about project atlas"


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "function", "name": "f", "parameters": {"type": "object",
                    "properties": {"a": {"type": "string", "pattern": ATLAS}}}}]},
        {"tools": [{"type": "function", "name": "f", "parameters": {"$comment": ATLAS}}]},
        {"text": {"format": {"type": "json_schema", "name": "x",
                             "schema": {"type": "object", "x-note": ATLAS}}}},
        {"tools": [{"type": "custom", "name": "f", "format": {"type": "grammar",
                    "syntax": "lark", "definition": f'start: "{ATLAS}"'}}]},
    ],
)  # fmt: skip
def test_every_schema_and_grammar_text_is_read(
    gw: Gateway, fake: FakeUpstream, extra: dict[str, Any]
) -> None:
    """Before: a schema's texts other than `description`, `title` and values (a `pattern`, a
    `$comment`, an `x-` note) and a custom tool's grammar reached the provider unread."""
    r = httpx.post(gw.base_url + "/responses", json={"model": "gpt-4o", "input": "hi", **extra})
    assert r.status_code == 409 and r.json()["error"]["code"] == "input_blocked"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("field", "value"), [("parameters", ATLAS), ("description", [ATLAS]), ("strict", ATLAS)]
)
def test_tool_fields_the_policies_cannot_read_are_400(
    gw: Gateway, fake: FakeUpstream, field: str, value: Any
) -> None:
    """Before: a function tool's `parameters` as a string, a `description` that is not a string
    or a `strict` that is not a boolean went to the provider as they were, unread."""
    tool = {"type": "function", "name": "f", field: value}
    r = httpx.post(gw.base_url + "/responses", json={"model": "gpt-4o", "input": "hi", "tools": [tool]})  # fmt: skip
    assert r.status_code == 400 and f".{field} must be" in r.json()["error"]["message"]
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", field: value}}]}  # fmt: skip
    r = httpx.post(gw.base_url + "/chat/completions", json=chat)
    assert r.status_code == 400 and f"tools[0].function.{field}" in r.json()["error"]["message"]
    assert fake.requests == []


def test_reasoning_is_a_governed_reasoning_item(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: the reasoning an OpenAI-compatible server streams (`reasoning_content`: vLLM,
    DeepSeek) was left out of `/v1/responses` answers (`/v1/messages` shows it as thinking)."""
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "reasoning_content": "Mail jane.d"}, None),
            ({"reasoning_content": "oe@example.com, then answer."}, None),
            ({"content": "Done."}, None),
            ({}, "stop"),
        )
    )
    body = {"model": "gpt-4o", "input": "hi"}
    with client(gw).responses.stream(**body) as s:
        deltas = "".join(e.delta for e in s if e.type == "response.reasoning_text.delta")
        final = s.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message"]
    thought = final.output[0]
    assert thought.type == "reasoning" and thought.content is not None
    assert thought.content[0].text == deltas == "Mail [REDACTED:EMAIL], then answer."
    assert final.output_text == "Done."
    events = stream_events(gw, body)
    assert SECRET not in json.dumps(events)
    done = next(e for e in events if e["type"] == "response.reasoning_text.done")
    assert done["text"] == deltas and done["output_index"] == 0
    fake.reset(raw_json=reasoned("gpt-4o", "for " + SECRET))
    r = client(gw).responses.create(**body)
    assert r.output[0].type == "reasoning" and r.output[0].content is not None
    assert r.output[0].content[0].text == "for [REDACTED:EMAIL]" and r.output_text == "Done."
