"""`POST /v1/responses` red-teamed: no text the policies changed or refused reaches the caller
or the provider in clear, in any event of a stream, and the SDK reads every answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import FakeUpstream
from tests.integration.test_responses_api import client, gw

__all__ = ["gw"]

SECRET = "jane.doe@example.com"


def stream_events(gw: Gateway, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of a streamed `/v1/responses` answer, as sent."""
    with httpx.stream("POST", gw.base_url + "/responses", json={**body, "stream": True}) as r:
        lines = r.read().decode().splitlines()
    return [json.loads(x[6:]) for x in lines if x.startswith("data: ")]


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
        with pytest.raises(openai.BadRequestError) as err:
            client(gw).completions.create(model="gpt-4o", prompt=prompt)
        assert "token ids" in err.value.message and "'prompt'" in err.value.message
    r = httpx.post(gw.base_url + "/embeddings", json={"model": "gpt-4o", "input": [[1, 2]]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    assert fake.requests == []
    client(gw).completions.create(model="gpt-4o", prompt=["hi", "there"])
    assert fake.requests[0].body["prompt"] == ["hi", "there"]
