"""Every response field a client reads is governed: reasoning, audio transcripts, legacy
function calls, and the per-token logprobs that spell out the text (JSON and streams)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

POLICY = (
    "pii-detector: {action: redact}\n"
    '  dlp-filter: {blocked_terms: ["project atlas"], action: block}'
)
EMAIL = "jane.doe@example.com"


#: the module's tests send one unreadable answer after another: the breaker must not open
#: between them (every answer reaches the client, as it does from a gateway of its own)
NO_BREAKER = "  circuit_breaker: {failure_threshold: 1000}\n"


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    """One gateway for the module (and for the modules that import this fixture)."""
    factory = GatewayFactory(tmp_path_factory.mktemp("response-fields"))
    config = openai_config(
        ("primary", upstream.base_url), chain="[pii-detector, dlp-filter]", policy=POLICY
    )
    yield factory.start(config.replace("  fallback:", NO_BREAKER + "  fallback:"), env=ENV)
    factory.stop_all()


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    out = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return out + (b"data: [DONE]\n\n" if done else b"")


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, **extra}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [choice]}  # fmt: skip


def completion(message: dict[str, Any], **choice_extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", **choice_extra}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
    }


def post(gw: Gateway, stream: bool = False) -> httpx.Response:
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)


def events(resp: httpx.Response) -> list[Any]:
    out = []
    for line in resp.text.splitlines():
        if line.startswith("data: "):
            data = line[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def streamed_text(resp: httpx.Response, field: str) -> str:
    text = ""
    for ev in events(resp):
        if isinstance(ev, dict):
            for choice in ev.get("choices") or ():
                value: Any = choice.get("delta") or {}
                for part in field.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                text += value or ""
    return text


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_is_redacted_in_json_and_streams(gw: Gateway, fake: FakeUpstream, field: str) -> None:  # fmt: skip
    fake.behaviour.raw_json = completion(
        {"role": "assistant", "content": "ok", field: f"mail {EMAIL} now"}
    )
    msg = post(gw).json()["choices"][0]["message"]
    assert EMAIL not in json.dumps(msg) and "[REDACTED:EMAIL]" in msg[field]

    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", field: "mail jane."}),
        chunk({field: "doe@exam"}),
        chunk({field: "ple.com now"}),
        chunk({}, "stop"),
    )
    r = post(gw, stream=True)
    assert r.status_code == 200
    assert streamed_text(r, field) == "mail [REDACTED:EMAIL] now"
    assert "jane" not in r.text


def test_a_blocked_term_in_streamed_reasoning_ends_the_stream(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "Thinking."}),
        chunk({"reasoning_content": "about project "}),
        chunk({"reasoning_content": "atlas plans"}),
        chunk({}, "stop"),
    )
    r = post(gw, stream=True)
    evs = events(r)
    assert evs[-1] == "[DONE]" and evs[-2]["error"]["code"] == "output_blocked"
    assert "atlas" not in streamed_text(r, "reasoning_content")


def test_audio_transcripts_and_streamed_function_calls_are_redacted(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    fake.behaviour.raw_json = completion(
        {"role": "assistant", "content": None, "audio": {"id": "a1", "transcript": EMAIL}}
    )
    assert post(gw).json()["choices"][0]["message"]["audio"]["transcript"] == "[REDACTED:EMAIL]"

    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "audio": {"transcript": "at jane.doe@"}}),
        chunk({"audio": {"transcript": "example.com"}}),
        chunk({"function_call": {"name": "send", "arguments": '{"to": "jane.'}}),
        chunk({"function_call": {"arguments": 'doe@example.com"}'}}),
        chunk({}, "function_call"),
    )
    r = post(gw, stream=True)
    assert "jane" not in r.text
    assert streamed_text(r, "audio.transcript") == "at [REDACTED:EMAIL]"
    assert streamed_text(r, "function_call.arguments") == '{"to": "[REDACTED:EMAIL]"}'


def test_a_redacted_answer_loses_its_logprobs(gw: Gateway, fake: FakeUpstream) -> None:
    tokens = [{"token": t, "logprob": -0.1, "bytes": list(t.encode()), "top_logprobs": []}
              for t in ["mail", " jane", ".doe", "@example", ".com"]]  # fmt: skip
    fake.behaviour.raw_json = completion(
        {"role": "assistant", "content": f"mail {EMAIL}"}, logprobs={"content": tokens}
    )
    choice = post(gw).json()["choices"][0]
    assert choice["message"]["content"] == "mail [REDACTED:EMAIL]"
    assert choice["logprobs"] is None

    fake.behaviour.raw_json = completion(
        {"role": "assistant", "content": "all clear"}, logprobs={"content": tokens[:1]}
    )
    assert post(gw).json()["choices"][0]["logprobs"] == {"content": tokens[:1]}


def test_streamed_logprobs_never_spell_out_held_or_redacted_text(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    def lp(token: str) -> dict[str, Any]:
        return {"content": [{"token": token, "logprob": -0.5, "bytes": None, "top_logprobs": []}]}

    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "Hello"}, logprobs=lp("Hello")),
        chunk({"content": " there. "}, logprobs=lp(" there. ")),
        chunk({"content": "Mail jane"}, logprobs=lp("Mail jane")),
        chunk({"content": ".doe@example.com"}, logprobs=lp(".doe@example.com")),
        chunk({"content": " "}, "stop", logprobs=lp(" ")),
    )
    r = post(gw, stream=True)
    assert streamed_text(r, "content") == "Hello there. Mail [REDACTED:EMAIL] "
    tokens = [
        c["logprobs"]["content"][0]["token"]
        for ev in events(r)
        if isinstance(ev, dict)
        for c in ev["choices"]
        if c.get("logprobs")
    ]
    assert "jane" not in "".join(tokens) and "example" not in "".join(tokens)


@pytest.mark.parametrize(
    "bad",
    [
        chunk({"content": [{"type": "text", "text": EMAIL}]}),  # content that is not a string
        {**chunk({"content": "x"}), "error": {"message": EMAIL}},  # an error beside choices
        chunk({"content": "doe@example.com"}),  # text for a choice after its finish_reason
    ],
)
def test_what_the_guard_cannot_govern_ends_the_stream(gw: Gateway, fake: FakeUpstream, bad: dict[str, Any]) -> None:  # fmt: skip
    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "Mail jane."}), chunk({}, "stop"), bad
    )
    r = post(gw, stream=True)
    evs = events(r)
    assert evs[-1] == "[DONE]" and evs[-2]["error"]["type"] == "upstream_error"
    assert "doe@" not in r.text and EMAIL not in r.text


def test_a_chunk_with_both_delta_and_text_has_both_guarded(gw: Gateway, fake: FakeUpstream) -> None:
    both = chunk({"content": "a"})
    both["choices"][0]["text"] = f"to {EMAIL} "
    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": ""}), both, chunk({}, "stop")
    )
    r = post(gw, stream=True)
    texts = [c.get("text") or "" for ev in events(r) if isinstance(ev, dict) for c in ev["choices"]]
    assert EMAIL not in r.text and "".join(texts) == "to [REDACTED:EMAIL] "
    assert streamed_text(r, "content") == "a"


def test_an_empty_finish_reason_on_every_chunk_is_no_finish(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Some OpenAI-compatible servers send `"finish_reason": ""` until the last chunk."""
    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "Mail jane."}, ""),
        chunk({"content": "doe@example.com "}, ""),
        chunk({"content": "today."}, ""),
        chunk({}, "stop"),
    )
    r = post(gw, stream=True)
    assert streamed_text(r, "content") == "Mail [REDACTED:EMAIL] today."
    assert '"error"' not in r.text


def escaped_call(arguments: str) -> dict[str, Any]:
    fn = {"name": "send", "arguments": arguments}
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": fn}]}  # fmt: skip


def test_json_escapes_in_tool_arguments_hide_nothing(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: policies read the arguments as written, and the caller's JSON decoder turns
    `\\u0040` into `@` and `\\n` into a line break."""
    fake.reset(raw_json=completion(escaped_call(r'{"to": "jane.doe\u0040example.com", "n": 1}')))
    r = post(gw)
    args = json.loads(r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert args == {"to": "[REDACTED:EMAIL]", "n": 1}
    fake.reset(raw_json=completion(escaped_call(r'{"note": ["a", {"b": "project\natlas"}]}')))
    r = post(gw)
    assert r.status_code == 409 and r.json()["error"]["code"] == "output_blocked"
    fake.reset()
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [
            {"role": "user", "content": "hi"},
            escaped_call(r'"mail jane.doe\u0040example.com"'),
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"}]},
    )  # fmt: skip
    assert r.status_code == 200
    sent = fake.requests[-1].body["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == "mail [REDACTED:EMAIL]"


def test_json_escapes_in_streamed_tool_arguments_hide_nothing(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Escapes decoded where JSON allows (equivalent JSON), even cut between chunks."""
    pieces = [
        '{"to": "jane.doe',
        "\\u00",
        '40example.com", "city": "M\\u00fcnchen \\"',
        'x\\"\\n"}',
    ]
    calls = [{"index": 0, "id": "call_1", "type": "function",
              "function": {"name": "send", "arguments": ""}}]  # fmt: skip
    chunks = [chunk({"role": "assistant", "content": None, "tool_calls": calls})]
    chunks += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces]
    fake.reset(raw_stream=sse(*chunks, chunk({}, "tool_calls")))
    r = post(gw, stream=True)
    args = "".join(
        call["function"].get("arguments") or ""
        for ev in events(r)
        if isinstance(ev, dict)
        for choice in ev["choices"]
        for call in (choice.get("delta") or {}).get("tool_calls") or ()
    )
    assert json.loads(args) == {"to": "[REDACTED:EMAIL]", "city": 'München "x"\n'}


def test_argument_keys_and_numbers_are_read_and_stay_valid_json(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """Before: with a backslash in the arguments, keys went unread; without one, a number
    matched as a phone number was redacted unquoted (invalid JSON)."""
    fake.reset(
        raw_json=completion(escaped_call(r'{"jane.doe@example.com": "a\nb", "n": 4155550132}'))
    )
    r = post(gw)
    args = json.loads(r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert args == {"[REDACTED:EMAIL]": "a\nb", "n": "[REDACTED:PHONE]"}


def test_citation_titles_and_custom_tool_inputs_are_governed(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """Before: `annotations[].url_citation.title` and a custom tool call's `input` (free text,
    the model's argument) reached the client unread, in JSON and in streams."""
    cite = {"type": "url_citation",
            "url_citation": {"url": "https://x", "title": f"by {EMAIL}", "start_index": 0, "end_index": 1}}  # fmt: skip
    call = {"id": "c", "type": "custom", "custom": {"name": "shell", "input": f"mail {EMAIL}"}}
    fake.behaviour.raw_json = completion(
        {"role": "assistant", "content": "ok", "annotations": [cite], "tool_calls": [call]}
    )
    msg = post(gw).json()["choices"][0]["message"]
    assert EMAIL not in json.dumps(msg)
    assert msg["annotations"][0]["url_citation"]["title"] == "by [REDACTED:EMAIL]"
    assert msg["tool_calls"][0]["custom"]["input"] == "mail [REDACTED:EMAIL]"

    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "ok", "annotations": [cite]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c",
                        "type": "custom",
                        "custom": {"name": "shell", "input": "mail jane."},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "custom": {"input": "doe@example.com"}}]}),
        chunk({}, "tool_calls"),
    )
    r = post(gw, stream=True)
    assert r.status_code == 200 and "jane" not in r.text
    calls = [c for ev in events(r) if isinstance(ev, dict) for ch in ev["choices"]
             for c in (ch.get("delta") or {}).get("tool_calls") or ()]  # fmt: skip
    assert "".join(c["custom"].get("input", "") for c in calls) == "mail [REDACTED:EMAIL]"


@pytest.mark.parametrize(
    "answer",
    [
        {"error": {"message": f"contact {EMAIL}", "type": "server_error"}},
        {
            "id": "c1",
            "object": "chat.completion",
            "choices": {"0": {"message": {"content": EMAIL}}},
        },
        completion({"role": "assistant", "content": {"text": EMAIL}}),
        completion({"role": "assistant", "content": [{"type": "text", "text": {"v": EMAIL}}]}),
        completion(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "t",
                        "type": "function",
                        "function": {"name": "f", "arguments": {"to": EMAIL}},
                    }
                ],
            }
        ),
    ],
)
def test_a_json_answer_the_policies_cannot_read_is_a_provider_error(
    gw: Gateway, fake: FakeUpstream, answer: dict[str, Any]
) -> None:
    """Before: a 200 answer of another shape went to the client as it came, unread."""
    fake.behaviour.raw_json = answer
    r = post(gw)
    assert r.status_code == 502 and EMAIL not in r.text
    assert r.json()["error"]["type"] == "upstream_error"
