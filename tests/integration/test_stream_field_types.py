"""What the stream guard cannot read is a provider failure, never text let through unread.

Before: only a non-string `content` delta was refused. A text field of another type (tool-call
arguments as an object or a number, a reasoning list, a transcript list, a completion `text`
list...) went to the client raw, and JavaScript clients concatenate it as a string. A choice
`index` spelled two ways (`0` then `"0"`), or one the request did not ask for (`1` with n=1),
split one choice's text across two guard buffers, while clients join it: an address cut that
way arrived in the clear. JSON answers: a transcript or a citation title that is not a string
went out unread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV

EMAIL = "jane.doe@example.com"
CARD = 4111111111111111
CONFIG = """\
pack: {name: test, version: 1.0.0}
providers:
  targets:
    - {id: oai, provider: openai, base_url: "%(url)s", secret_key_ref: {env: FAKE_PROVIDER_KEY},
       models: ["gpt-*"]}
    - {id: claude, provider: anthropic, base_url: "%(url)s", secret_key_ref: {env: FAKE_PROVIDER_KEY},
       models: ["claude-*"]}
policies:
  chain: [pii-detector, dlp-filter]
policy:
  pii-detector: {action: redact}
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("types"))
    yield factory.start(CONFIG % {"url": upstream.base_url}, env=ENV)
    factory.stop_all()


def sse(*events: dict[str, Any]) -> bytes:
    out = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return out + b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any], finish: str | None = None, index: Any = 0) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def text_chunk(text: Any, finish: str | None = None, index: Any = 0) -> dict[str, Any]:
    return {"id": "c1", "object": "text_completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": index, "text": text, "finish_reason": finish}]}  # fmt: skip


def chat(gw: Gateway, model: str = "gpt-4o", **extra: Any) -> httpx.Response:
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(gw.base_url + "/chat/completions", json={**body, **extra}, timeout=15)


def complete(gw: Gateway, **extra: Any) -> httpx.Response:
    body = {"model": "gpt-4o", "stream": True, "prompt": "hi", **extra}
    return httpx.post(gw.base_url + "/completions", json=body, timeout=15)


def events(resp: httpx.Response) -> list[Any]:
    lines = [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def assert_stopped(r: httpx.Response) -> None:
    """Stopped as the provider's protocol error, after the stream had started."""
    assert r.status_code == 200
    evs = events(r)
    assert evs[-1] == "[DONE]" and evs[-2]["error"]["type"] == "upstream_error"
    assert not any("error" in e for e in evs[:-2] if isinstance(e, dict))
    assert_unread(r)


def assert_unread(r: httpx.Response) -> None:
    text = r.text.replace("\\u0040", "@")
    assert EMAIL not in text and str(CARD) not in text and "project atlas" not in text


def call(**fields: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": 0, "id": "c", **fields}]}


NOT_TEXT = {
    "arguments-object": call(type="function", function={"name": "f", "arguments": {"to": EMAIL}}),
    "arguments-number": call(type="function", function={"name": "f", "arguments": CARD}),
    "custom-input-list": call(type="custom", custom={"name": "f", "input": [EMAIL]}),
    "tool-calls-object": {"tool_calls": {"0": {"index": 0, "function": {"arguments": EMAIL}}}},
    "tool-call-list": {"tool_calls": [[{"function": {"arguments": EMAIL}}]]},
    "function-string": call(type="function", function=EMAIL),
    "refusal-list": {"refusal": [EMAIL]},
    "reasoning-content-list": {"reasoning_content": [EMAIL]},
    "reasoning-object": {"reasoning": {"text": EMAIL}},
    "content-number": {"content": CARD},
    "function-call-arguments-list": {"function_call": {"name": "f", "arguments": ["project atlas"]}},
    "audio-transcript-list": {"audio": {"transcript": [EMAIL]}},
    "citation-title-list": {"annotations": [{"type": "url_citation", "url_citation": {"title": [EMAIL]}}]},
    "annotations-object": {"annotations": {"0": {"url_citation": {"title": EMAIL}}}},
}  # fmt: skip


@pytest.mark.parametrize("delta", NOT_TEXT.values(), ids=NOT_TEXT)
def test_a_delta_text_that_is_not_a_string_stops_the_stream(gw: Gateway, upstream: FakeUpstream, delta: dict[str, Any]) -> None:  # fmt: skip
    upstream.reset(raw_stream=sse(chunk({"role": "assistant", "content": ""}), chunk(delta), chunk({}, "stop")))  # fmt: skip
    assert_stopped(chat(gw))


@pytest.mark.parametrize("delta", NOT_TEXT.values(), ids=NOT_TEXT)
def test_before_the_first_byte_it_is_a_502(gw: Gateway, upstream: FakeUpstream, delta: dict[str, Any]) -> None:  # fmt: skip
    upstream.reset(raw_stream=sse(chunk({"role": "assistant", **delta}), chunk({}, "stop")))
    r = chat(gw)
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
    assert_unread(r)


@pytest.mark.parametrize("shape", ["choices-object", "choice-list", "delta-list"])
def test_choices_the_guard_cannot_walk_stop_the_stream(gw: Gateway, upstream: FakeUpstream, shape: str) -> None:  # fmt: skip
    """`choices[0]` reads an object's `"0"` key in JavaScript as it reads an array's item."""
    bad = chunk({"content": EMAIL})
    if shape == "choices-object":
        bad["choices"] = {"0": bad["choices"][0]}
    elif shape == "choice-list":
        bad["choices"] = [[bad["choices"][0]]]
    else:
        bad["choices"][0]["delta"] = [{"content": EMAIL}]
    upstream.reset(raw_stream=sse(chunk({"role": "assistant", "content": ""}), bad, chunk({}, "stop")))  # fmt: skip
    assert_stopped(chat(gw))


def test_a_completion_text_that_is_not_a_string_stops_the_stream(gw: Gateway, upstream: FakeUpstream) -> None:  # fmt: skip
    upstream.reset(
        raw_stream=sse(
            text_chunk("A long enough opening to be released. "),
            text_chunk([EMAIL]),
            text_chunk("", "stop"),
        )
    )
    assert_stopped(complete(gw))
    upstream.reset(raw_stream=sse(text_chunk({"t": EMAIL}), text_chunk("", "stop")))
    r = complete(gw)
    assert r.status_code == 502 and EMAIL not in r.text


def test_anthropic_tool_input_that_is_not_a_string_stops_the_stream(gw: Gateway, upstream: FakeUpstream) -> None:  # fmt: skip
    """An `input_json_delta` whose `partial_json` is an object becomes the same arguments."""
    upstream.reset(reply="Sending.", tool_call={"name": "send", "arguments": {"to": EMAIL}})
    assert_stopped(chat(gw, model="claude-sonnet-4-5"))
    upstream.reset(reply="Sending.", tool_call={"name": "send", "arguments": json.dumps({"to": EMAIL})})  # fmt: skip
    r = chat(gw, model="claude-sonnet-4-5")
    assert r.status_code == 200 and EMAIL not in r.text and "[REDACTED:EMAIL]" in r.text


#: the second half of an address under another spelling of the choice's index
ALIASES = {
    "string": "0",
    "one-with-n1": 1,
    "bool": False,
    "negative": -1,
    "float": 0.0,
    "null": None,
}


@pytest.mark.parametrize("alias", ALIASES.values(), ids=ALIASES)
def test_a_choice_index_the_request_did_not_ask_for_stops_the_stream(gw: Gateway, upstream: FakeUpstream, alias: Any) -> None:  # fmt: skip
    upstream.reset(
        raw_stream=sse(
            chunk({"role": "assistant", "content": "mail jane.doe@exam"}),
            chunk({"content": "ple.com now"}, index=alias),
            chunk({}, "stop"),
            chunk({}, "stop", index=alias),
        )
    )
    r = chat(gw)
    assert_stopped(r)
    joined = "".join(
        (c.get("delta") or {}).get("content") or ""
        for e in events(r)
        if isinstance(e, dict)
        for c in e.get("choices") or ()
    )
    assert "ple.com" not in joined


def test_the_openai_sdk_loop_never_joins_an_aliased_choice(gw: Gateway, upstream: FakeUpstream) -> None:  # fmt: skip
    """The canonical loop reads `chunk.choices[0]`, whatever its index says."""
    upstream.reset(
        raw_stream=sse(
            chunk({"role": "assistant", "content": "mail jane.doe@exam"}),
            chunk({"content": "ple.com now"}, index="0"),
            chunk({}, "stop"),
        )
    )
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    text = ""
    with pytest.raises(openai.APIError) as caught:
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        for part in stream:
            if part.choices:
                text += part.choices[0].delta.content or ""
    assert EMAIL not in text and isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "upstream_error"


def test_indexes_within_the_choices_asked_for_stream_as_before(gw: Gateway, upstream: FakeUpstream) -> None:  # fmt: skip
    """n=2, and a completion of two prompts (one choice each), answer choices 0 and 1."""
    upstream.reset(
        raw_stream=sse(
            chunk({"role": "assistant", "content": "Mail jane."}),
            chunk({"role": "assistant", "content": "Fine."}, index=1),
            chunk({"content": "doe@example.com now"}, "stop"),
            chunk({}, "stop", index=1),
        )
    )
    r = chat(gw, n=2)
    assert r.status_code == 200 and '"error"' not in r.text
    assert EMAIL not in r.text and "[REDACTED:EMAIL]" in r.text
    upstream.reset(
        raw_stream=sse(text_chunk("One.", "stop"), text_chunk(f"Two {EMAIL}.", "stop", index=1))
    )
    r = complete(gw, prompt=["a", "b"])
    assert r.status_code == 200 and '"error"' not in r.text
    assert EMAIL not in r.text and "[REDACTED:EMAIL]" in r.text


def completion(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip


JSON_NOT_TEXT = {
    "audio-transcript-list": {"content": None, "audio": {"id": "a", "transcript": [EMAIL]}},
    "audio-string": {"content": None, "audio": EMAIL},
    "citation-title-list": {"content": "ok", "annotations": [{"type": "url_citation", "url_citation": {"title": [EMAIL]}}]},
    "citation-string": {"content": "ok", "annotations": [{"type": "url_citation", "url_citation": EMAIL}]},
    "annotations-object": {"content": "ok", "annotations": {"0": {"url_citation": {"title": EMAIL}}}},
}  # fmt: skip


@pytest.mark.parametrize("message", JSON_NOT_TEXT.values(), ids=JSON_NOT_TEXT)
def test_a_json_answer_whose_texts_are_not_strings_is_a_provider_error(gw: Gateway, upstream: FakeUpstream, message: dict[str, Any]) -> None:  # fmt: skip
    upstream.reset(raw_json=completion({"role": "assistant", **message}))
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        timeout=15,
    )
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
    assert EMAIL not in r.text
