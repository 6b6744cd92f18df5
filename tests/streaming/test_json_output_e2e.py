"""An answer the request asked for as JSON (`response_format` `json_object` / `json_schema`)
stays JSON when a policy redacts it, in whole answers and in streams, so the official SDK's
structured outputs (`chat.completions.parse`, `chat.completions.stream`) still parse.

Before: content was read and redacted as prose: `{"phone": 4155552671}` came back as
`{"phone": [REDACTED:PHONE]}`, which no JSON decoder reads (`parse()` raised), and an escaped
address (`jane.doe\\u0040example.com`) was not read as the address it decodes to."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream, chat_sse
from tests.integration.configs import ENV, openai_config

CONTENT = '{"name": "Jane", "phone": 4155552671, "to": "jane.doe\\u0040example.com", "n": 7}'
EXPECTED = {"name": "Jane", "phone": "[REDACTED:PHONE]", "to": "[REDACTED:EMAIL]", "n": 7}
MESSAGES: Any = [{"role": "user", "content": "who is it?"}]


class Contact(BaseModel):
    name: str
    phone: int | str
    to: str
    n: int


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Any:
    factory = GatewayFactory(tmp_path_factory.mktemp("json-output"))
    yield factory.start(
        openai_config(("primary", upstream.base_url), chain="[pii-detector]"), env=ENV
    )
    factory.stop_all()


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)


def answer(content: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}  # fmt: skip


def stream(content: str, size: int) -> bytes:
    pieces = [content[i : i + size] for i in range(0, len(content), size)]
    deltas = [({"role": "assistant", "content": ""}, None)]
    deltas += [({"content": p}, None) for p in pieces]
    return chat_sse(*deltas, ({}, "stop"))


def test_a_structured_answer_still_parses(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(raw_json=answer(CONTENT))
    got = client(gw).chat.completions.parse(
        model="gpt-4o", messages=MESSAGES, response_format=Contact
    )
    assert got.choices[0].message.parsed == Contact(**EXPECTED)


@pytest.mark.parametrize("size", [3, 11, 40])
def test_a_structured_stream_still_parses(gw: Gateway, fake: FakeUpstream, size: int) -> None:
    fake.reset(raw_stream=stream(CONTENT, size))
    with client(gw).chat.completions.stream(
        model="gpt-4o", messages=MESSAGES, response_format=Contact
    ) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.parsed == Contact(**EXPECTED)


def test_json_object_mode_and_plain_text(gw: Gateway, fake: FakeUpstream) -> None:
    """`json_object` is JSON too; without a JSON format, content is prose as before."""
    fake.reset(raw_json=answer(CONTENT))
    got = client(gw).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert json.loads(got.choices[0].message.content or "") == EXPECTED
    fake.reset(raw_json=answer("call 4155552671"))
    plain = client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert plain.choices[0].message.content == "call [REDACTED:PHONE]"
