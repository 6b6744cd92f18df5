"""An n > 1 stream that ends without `[DONE]` is complete only once every choice it sent has
its finish_reason: cut before that, the client gets the error event then `data: [DONE]`, never
a clean end, whichever choice the last event closed and whether or not a usage chunk came."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

CHAT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
USAGE = {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}


@pytest.fixture(
    scope="module",
    params=["[]", "[dlp-filter]"],  # the relay without a stream guard, and with one
    ids=["unguarded", "guarded"],
)
def gw(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    upstream: FakeUpstream,
) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("cut"))
    yield factory.start(openai_config(("up", upstream.base_url), chain=request.param), env=ENV)
    factory.stop_all()


def chat_choice(i: int, content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"role": "assistant", "content": content}
    return {"index": i, "delta": delta, "finish_reason": finish}


def text_choice(i: int, content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"index": i, "text": content or "", "finish_reason": finish}


def sse(*events: dict[str, Any]) -> bytes:
    """The events, with no `[DONE]` after them."""
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


def ev(*choices: dict[str, Any], usage: dict[str, int] | None = None) -> dict[str, Any]:
    kind = "text_completion" if any("text" in c for c in choices) else "chat.completion.chunk"
    event: dict[str, Any] = {"id": "c1", "object": kind, "created": 1, "model": "gpt-4o",
                             "choices": list(choices)}  # fmt: skip
    if usage is not None:
        event["usage"] = usage
    return event


def n2(choice: Any, *, cut: str) -> bytes:
    """An n=2 stream. `cut`: where it ends (`complete` ends after both finish_reasons)."""
    opening = [ev(choice(0, "Answer zero.")), ev(choice(1, "Answer one is"))]
    endings = {
        # choice 0 finished last, choice 1 never did
        "first-finished": [ev(choice(0, None, "stop"))],
        # choice 1 finished last, choice 0 never did
        "second-finished": [ev(choice(1, None, "stop"))],
        # a usage chunk after only one finish_reason
        "usage-after-one": [ev(choice(0, None, "stop")), ev(usage=USAGE)],
        # both choices in one event, one of them finished
        "one-of-two-in-one-event": [ev(choice(0, None, "stop"), choice(1, " still"))],
        "complete": [ev(choice(0, None, "stop")), ev(choice(1, " done.", "length"))],
        "complete-then-usage": [
            ev(choice(1, " done.", "stop")),
            ev(choice(0, None, "stop")),
            ev(usage=USAGE),
        ],
    }
    return sse(*opening, *endings[cut])


def data_events(resp: httpx.Response) -> list[Any]:
    lines = [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def post(gw: Gateway, path: str, **body: Any) -> httpx.Response:
    payload = {"model": "gpt-4o", "stream": True, "n": 2, **body}
    return httpx.post(gw.base_url + path, json=payload, timeout=15)


def sdk_stream(gw: Gateway) -> openai.Stream[ChatCompletionChunk]:
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    return client.chat.completions.create(model="gpt-4o", messages=CHAT, n=2, stream=True)


#: each cut, and the choice it had finished (its text was released in full before the error;
#: the open one's may be held back by the stream guard, then dropped with the error)
CUTS = {
    "first-finished": (0, "Answer zero."),
    "second-finished": (1, "Answer one is"),
    "usage-after-one": (0, "Answer zero."),
    "one-of-two-in-one-event": (0, "Answer zero."),
}


@pytest.mark.parametrize("cut", CUTS)
def test_a_cut_n2_chat_stream_ends_with_an_error_then_done(gw: Gateway, fake: FakeUpstream, cut: str) -> None:  # fmt: skip
    fake.behaviour.raw_stream = n2(chat_choice, cut=cut)
    r = post(gw, "/chat/completions", messages=CHAT)
    assert r.status_code == 200  # the stream had started: the error comes in it
    evs = data_events(r)
    assert evs[-1] == "[DONE]"
    err = evs[-2]["error"]
    assert err["type"] == "upstream_error" and err["policy"] is None
    assert not any("error" in e for e in evs[:-2] if isinstance(e, dict))
    index, finished = CUTS[cut]
    text = "".join(
        c["delta"].get("content") or ""
        for e in evs[:-2]
        for c in e.get("choices", ())
        if c["index"] == index
    )
    assert text == finished  # what arrived before the cut was relayed


@pytest.mark.parametrize("cut", ["first-finished", "usage-after-one"])
def test_a_cut_n2_completions_stream_ends_with_an_error_then_done(gw: Gateway, fake: FakeUpstream, cut: str) -> None:  # fmt: skip
    fake.behaviour.raw_stream = n2(text_choice, cut=cut)
    evs = data_events(post(gw, "/completions", model="gpt-3.5-turbo-instruct", prompt="hi"))
    assert evs[-1] == "[DONE]" and evs[-2]["error"]["type"] == "upstream_error"


@pytest.mark.parametrize("cut", CUTS)
def test_the_openai_sdk_sees_the_cut_as_an_error(gw: Gateway, fake: FakeUpstream, cut: str) -> None:  # fmt: skip
    fake.behaviour.raw_stream = n2(chat_choice, cut=cut)
    texts: dict[int, str] = {}
    with pytest.raises(openai.APIError) as caught:
        for chunk in sdk_stream(gw):
            for c in chunk.choices:
                texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "upstream_error"
    index, finished = CUTS[cut]
    assert texts[index] == finished


@pytest.mark.parametrize("cut", ["complete", "complete-then-usage"])
def test_a_complete_n2_stream_without_done_is_a_success(gw: Gateway, fake: FakeUpstream, cut: str) -> None:  # fmt: skip
    fake.behaviour.raw_stream = n2(chat_choice, cut=cut)
    evs = data_events(post(gw, "/chat/completions", messages=CHAT))
    assert evs[-1] == "[DONE]"
    assert not any("error" in e for e in evs if isinstance(e, dict))

    texts: dict[int, str] = {}
    finishes: dict[int, str | None] = {}
    for chunk in sdk_stream(gw):
        for c in chunk.choices:
            texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
            finishes[c.index] = c.finish_reason or finishes.get(c.index)
    assert texts == {0: "Answer zero.", 1: "Answer one is done."}
    assert set(finishes) == {0, 1} and all(finishes.values())


def test_a_complete_n2_completions_stream_without_done_is_a_success(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    fake.behaviour.raw_stream = n2(text_choice, cut="complete-then-usage")
    evs = data_events(post(gw, "/completions", model="gpt-3.5-turbo-instruct", prompt="hi"))
    assert evs[-1] == "[DONE]"
    assert not any("error" in e for e in evs if isinstance(e, dict))
