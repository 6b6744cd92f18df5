"""`/v1/messages` and thinking, with the official SDKs against one governed gateway (an `openai`
target for `gpt-4o*`, an `anthropic` target for `claude*`, an `openai-compatible` one for
`vllm*`): `thinking` and `top_k` reach an
Anthropic target as sent, reasoning comes back as thinking blocks (JSON and streams) after the
response policies read it, and thinking blocks given back keep their signatures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream, chat_sse
from tests.integration.configs import ENV
from tests.integration.test_policies_e2e import CHAIN, POLICY

CLAUDE = "claude-test-model"
SECRET = "jane.doe@example.com"
HI: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    targets = "".join(
        f"    - {{id: {tid}, provider: {kind}, base_url: {upstream.base_url}, "
        f'secret_key_ref: {{env: FAKE_PROVIDER_KEY}}, models: ["{glob}"]}}\n'
        for tid, kind, glob in (
            ("a", "openai", "gpt-4o*"),
            ("c", "anthropic", "claude*"),
            ("v", "openai-compatible", "vllm*"),
        )
    )
    config = (
        "pack: {name: test, version: 1.0.0}\nproviders:\n  targets:\n"
        f"{targets}policies:\n  chain: {CHAIN}\npolicy:\n  {POLICY}\n"
    )
    factory = GatewayFactory(tmp_path_factory.mktemp("msgs-thinking"))
    yield factory.start(config, env=ENV)
    factory.stop_all()


def client(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)


def sent(fake: FakeUpstream) -> dict[str, Any]:
    assert len(fake.requests) == 1
    return fake.requests[0].body


def test_thinking_and_top_k_reach_an_anthropic_target_as_sent(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: both were left out, so Claude answered without thinking and sampled as it
    would; the caller's max_tokens already counts the budget, and stays as it was."""
    enabled: Any = {"type": "enabled", "budget_tokens": 1500}
    client(gw).messages.create(
        model=CLAUDE, max_tokens=3000, messages=HI, thinking=enabled, extra_body={"top_k": 5}
    )
    body = sent(fake)
    assert (body["thinking"], body["top_k"], body["max_tokens"]) == (enabled, 5, 3000)
    for thinking, effort in (({"type": "adaptive", "display": "omitted"}, "low"),
                             ({"type": "disabled"}, None)):  # fmt: skip
        fake.reset()
        config: Any = {"effort": effort} if effort else None
        client(gw).messages.create(
            model=CLAUDE, max_tokens=50, messages=HI, thinking=thinking,  # type: ignore[arg-type]
            **({"output_config": config} if config else {}),
        )  # fmt: skip
        assert sent(fake)["thinking"] == thinking
        assert sent(fake).get("output_config") == config


def test_thinking_is_reasoning_effort_for_an_openai_target(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: dropped. Now the effort whose budget is nearest; no `top_k` (OpenAI refuses
    it), no `thinking`; disabled thinking asks for nothing."""
    cases: list[tuple[Any, str | None]] = [
        ({"type": "enabled", "budget_tokens": 1024}, "low"),
        ({"type": "enabled", "budget_tokens": 10000}, "medium"),
        ({"type": "enabled", "budget_tokens": 32000}, "high"),
        ({"type": "adaptive"}, "high"),
        ({"type": "disabled"}, None),
    ]
    for thinking, effort in cases:
        fake.reset()
        client(gw).messages.create(
            model="gpt-4o", max_tokens=50, messages=HI, thinking=thinking, extra_body={"top_k": 3}
        )
        body = sent(fake)
        assert body.get("reasoning_effort") == effort, thinking
        assert "thinking" not in body and "top_k" not in body
    fake.reset(status=400, error_message="Unsupported parameter: 'reasoning_effort'")
    with pytest.raises(anthropic.BadRequestError) as err:  # a model that does not reason
        client(gw).messages.create(model="gpt-4o", max_tokens=50, messages=HI, thinking=cases[0][0])
    assert "leave thinking off" in err.value.body["error"]["message"]  # type: ignore[index]
    fake.reset()
    bad = {"model": "gpt-4o", "max_tokens": 5, "messages": HI, "thinking": {"budget_tokens": 9}}
    r = httpx.post(gw.url + "/v1/messages", json=bad)
    assert r.status_code == 400 and "'thinking'" in r.json()["error"]["message"]
    r = httpx.post(gw.url + "/v1/messages", json={**bad, "thinking": None, "top_k": -1})
    assert r.status_code == 400 and "'top_k'" in r.json()["error"]["message"]
    assert fake.requests == []


def test_an_anthropic_target_s_thinking_comes_back_as_thinking_blocks(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: thinking was dropped from the Message (JSON and streams). Now the blocks come
    first, with their signatures, after the response policies redacted them."""
    fake.reset(thinking=f"Mail {SECRET} about it.", redacted_thinking="opaque-data")
    msg = client(gw).messages.create(model=CLAUDE, max_tokens=50, messages=HI)
    with client(gw).messages.stream(model=CLAUDE, max_tokens=50, messages=HI) as s:
        final = s.get_final_message()
    for answer in (msg, final):
        blocks: Any = answer.content
        assert [b.type for b in blocks] == ["thinking", "redacted_thinking", "text"]
        assert blocks[0].signature == "s" and blocks[1].data == "opaque-data"
        assert SECRET not in blocks[0].thinking and "[REDACTED:" in blocks[0].thinking
        assert blocks[2].text == fake.behaviour.reply


def test_an_openai_target_s_reasoning_is_a_thinking_block_the_guard_reads(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """`reasoning_content` (vLLM, DeepSeek) as a thinking block without a signature; the
    stream guard reads it as it reads text: a split address redacted, a blocked term ends
    the stream."""
    fake.reset(raw_json={
        "id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "Done.", "reasoning_content": f"Ask {SECRET}."}}],
    })  # fmt: skip
    msg: Any = client(gw).messages.create(model="gpt-4o", max_tokens=50, messages=HI)
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == "Ask [REDACTED:EMAIL]." and msg.content[0].signature == ""
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "reasoning_content": "Ask jane.d"}, None),
            ({"reasoning_content": "oe@example"}, None),
            ({"reasoning_content": ".com now."}, None),
            ({"content": "Done."}, None),
            ({}, "stop"),
        )
    )
    with client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=HI) as s:
        final: Any = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking.startswith("Ask [REDACTED:") and "jane" not in str(final)
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "reasoning_content": "about Project "}, None),
            ({"reasoning_content": "Atlas we " + "think " * 20}, None),
            ({}, "stop"),
        )
    )
    stream = client(gw).messages.stream(model="gpt-4o", max_tokens=50, messages=HI)
    with pytest.raises(anthropic.APIStatusError) as err, stream as s:
        for _ in s:
            pass
    assert err.value.body["error"]["code"] == "output_blocked"  # type: ignore[index]


def given_back(thinking: str) -> list[Any]:
    """A tool-use turn with thinking, and its result."""
    return [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": thinking, "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"c": 1}},
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
    ]  # fmt: skip


def test_thinking_blocks_given_back_keep_their_signatures(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """Before: they were skipped, so Anthropic refused the tool-use continuation with
    thinking. Now an Anthropic target gets them first in the turn, as sent (the policies read
    the text); an OpenAI target is not sent them (it refuses unknown message fields)."""
    tools: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    client(gw).messages.create(
        model=CLAUDE, max_tokens=2000, tools=tools, thinking=thinking,
        messages=given_back(f"Weather for {SECRET}."),
    )  # fmt: skip
    turn = sent(fake)["messages"][1]
    assert turn["content"] == [
        {"type": "thinking", "thinking": "Weather for [REDACTED:EMAIL].", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"c": 1}},
    ]
    assert sent(fake)["thinking"] == thinking
    fake.reset()
    client(gw).messages.create(
        model="gpt-4o", max_tokens=50, tools=tools, messages=given_back("Weather.")
    )
    assert "thinking_blocks" not in json.dumps(sent(fake))
    with pytest.raises(anthropic.ConflictError):
        client(gw).messages.create(
            model=CLAUDE, max_tokens=50, messages=given_back("It is Project Atlas.")
        )


def test_a_chat_history_gives_an_anthropic_target_its_thinking_back(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: the chat answer had `reasoning_content` only, so a tool-use continuation could
    not carry the signature, and was sent without thinking. Now `thinking_blocks` (LiteLLM's
    field) has it, and the assistant message given back with them keeps the thinking on."""
    oc = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    fake.reset(thinking="Let me look.", tool_call={"name": "f", "arguments": "{}"})
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    answer = oc.chat.completions.create(
        model=CLAUDE, messages=HI, tools=[tool], reasoning_effort="low"
    )
    message = answer.choices[0].message.model_dump(exclude_none=True)
    assert message["thinking_blocks"] == [
        {"type": "thinking", "thinking": "Let me look.", "signature": "s"}
    ]
    fake.reset()
    call = message["tool_calls"][0]
    history: Any = [*HI, message, {"role": "tool", "tool_call_id": call["id"], "content": "ok"}]
    oc.chat.completions.create(model=CLAUDE, messages=history, tools=[tool], reasoning_effort="low")
    assert sent(fake)["messages"][1]["content"][0] == {
        "type": "thinking", "thinking": "Let me look.", "signature": "s"}  # fmt: skip
    assert sent(fake)["thinking"]["type"] == "enabled"


def test_temperature_with_top_p_refused_says_what_to_remove(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Anthropic's newer models refuse both: the 400 is passed on (dropping one would change
    the sampling asked for), and now says which field to remove."""
    fake.reset(
        status=400,
        error_message="`temperature` and `top_p` cannot both be specified for this model. "
        "Please use only one.",
    )
    with pytest.raises(anthropic.BadRequestError) as err:
        client(gw).messages.create(
            model=CLAUDE, max_tokens=50, messages=HI, extra_body={"temperature": 0.5, "top_p": 0.9}
        )
    message = err.value.body["error"]["message"]  # type: ignore[index]
    assert "cannot both be specified" in message and "remove 'top_p'" in message
    fake.reset(status=400, error_message="top_p: must be at most 1")
    with pytest.raises(anthropic.BadRequestError) as err:
        client(gw).messages.create(
            model=CLAUDE, max_tokens=50, messages=HI, extra_body={"top_p": 3}
        )
    assert "remove" not in err.value.body["error"]["message"]  # type: ignore[index]


def test_streamed_thinking_blocks_carry_no_unguarded_text(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    """A provider that streams `thinking_blocks` with their text beside `reasoning_content`
    (LiteLLM does): the text reached chat callers there unread by the stream guard. Now it is
    emptied (the guarded `reasoning_content` has it); the signature is kept."""
    block = {"type": "thinking", "thinking": f"Mail {SECRET}.", "signature": "sig-9"}
    fake.reset(
        raw_stream=chat_sse(
            ({"role": "assistant", "content": None, "reasoning_content": f"Mail {SECRET}."}, None),
            ({"thinking_blocks": [block]}, None),
            ({"content": "Done."}, None),
            ({}, "stop"),
        )
    )
    oc = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    chunks = list(oc.chat.completions.create(model="gpt-4o", messages=HI, stream=True))
    dumped = json.dumps([ch.model_dump() for ch in chunks])
    assert SECRET not in dumped and '"sig-9"' in dumped


def test_top_k_reaches_an_openai_compatible_target(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `top_k` was dropped for every kind but `anthropic`, so a vLLM model sampled
    from all tokens. Now an `openai-compatible` target gets it as a chat parameter (vLLM's);
    a server that refuses it says so, with what to do."""
    client(gw).messages.create(
        model="vllm-qwen", max_tokens=50, messages=HI, extra_body={"top_k": 7}
    )
    assert sent(fake)["top_k"] == 7
    fake.reset(status=400, error_message="Unrecognized request argument supplied: top_k")
    with pytest.raises(anthropic.BadRequestError) as err:
        client(gw).messages.create(
            model="vllm-qwen", max_tokens=50, messages=HI, extra_body={"top_k": 7}
        )
    assert "leave it out" in err.value.body["error"]["message"]  # type: ignore[index]


def test_count_tokens_takes_thinking(gw: Gateway, fake: FakeUpstream) -> None:
    """`count_tokens` with `thinking`: an Anthropic target counts it as sent (it changes the
    count), another kind is estimated; a bad `thinking` is the 400 `/v1/messages` gives."""
    thinking: Any = {"type": "enabled", "budget_tokens": 2000}
    count = client(gw).messages.count_tokens(model=CLAUDE, messages=HI, thinking=thinking)
    assert count.input_tokens == fake.behaviour.prompt_tokens
    assert fake.requests[0].path.endswith("/messages/count_tokens")
    assert sent(fake)["thinking"] == thinking and "max_tokens" not in sent(fake)
    fake.reset()
    estimate = client(gw).messages.count_tokens(model="gpt-4o", messages=HI, thinking=thinking)
    assert estimate.input_tokens > 0 and fake.requests == []
    for bad in ({"budget_tokens": 9}, {"type": "enabled"}, "on"):
        r = httpx.post(
            gw.url + "/v1/messages/count_tokens",
            json={"model": CLAUDE, "messages": HI, "thinking": bad},
        )
        assert r.status_code == 400, bad
        assert r.json()["error"]["type"] == "validation_error"
        assert "'thinking" in r.json()["error"]["message"], bad
    assert fake.requests == []


THOUGHT_A = "First I look the weather up for the city they named."
THOUGHT_B = "The tool said sunny, so I answer that in one short line."
#: interleaved thinking: two signed thinking blocks (and a redacted one) around a tool use
INTERLEAVED: Any = [
    {"type": "thinking", "thinking": THOUGHT_A, "signature": "sig-a"},
    {"type": "redacted_thinking", "data": "opaque-r"},
    {"type": "tool_use", "id": "toolu_7", "name": "get_weather", "input": {"city": "Oslo"}},
    {"type": "thinking", "thinking": THOUGHT_B, "signature": "sig-b"},
    {"type": "text", "text": "It is sunny in Oslo today."},
]
WEATHER: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]


def _blocks(content: Any) -> list[dict[str, Any]]:
    return [b.model_dump(exclude_none=True, exclude={"citations"}) for b in content]


def test_interleaved_thinking_keeps_each_block_and_the_provider_s_order(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """Before: a stream joined both thinking blocks into one carrying the last signature, and
    JSON and streams put thinking first, then text, then tool use, whatever the provider's
    order. Now each block keeps its text and signature, in the provider's order (which
    Anthropic requires back); the next turn gives them back in that order."""
    short_text_first = [INTERLEAVED[0], {"type": "text", "text": "One sec."}, INTERLEAVED[2]]
    for blocks in (INTERLEAVED, short_text_first):  # (the guard holds all of a short text)
        fake.reset(blocks=blocks)
        msg = client(gw).messages.create(model=CLAUDE, max_tokens=900, messages=HI, tools=WEATHER)
        with client(gw).messages.stream(
            model=CLAUDE, max_tokens=900, messages=HI, tools=WEATHER
        ) as s:
            final = s.get_final_message()
        assert _blocks(msg.content) == blocks
        assert _blocks(final.content) == blocks
    fake.reset()
    history: Any = [
        *HI,
        {"role": "assistant", "content": INTERLEAVED},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_7", "content": "sunny"}]},
    ]  # fmt: skip
    client(gw).messages.create(model=CLAUDE, max_tokens=900, messages=history, tools=WEATHER)
    assert sent(fake)["messages"][1]["content"] == INTERLEAVED
    fake.reset()  # (an OpenAI target is sent neither the blocks nor the text's place)
    client(gw).messages.create(model="gpt-4o", max_tokens=90, messages=history, tools=WEATHER)
    assert "thinking_blocks" not in sent(fake)["messages"][1]
    assert "content_index" not in sent(fake)["messages"][1]


def test_a_chat_stream_keeps_each_thinking_block_apart(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: the guard released the end of a thinking block after its signature went, so
    the reasoning text between two `thinking_blocks` deltas was not that block's. Now each
    signed block's whole text streams before its signature, as the JSON answer has them."""
    fake.reset(blocks=INTERLEAVED)
    oc = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    tool: Any = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    answer = oc.chat.completions.create(model=CLAUDE, messages=HI, tools=[tool])
    expected = answer.choices[0].message.model_dump()["thinking_blocks"]
    blocks: list[dict[str, Any]] = []
    text = ""
    for chunk in oc.chat.completions.create(model=CLAUDE, messages=HI, tools=[tool], stream=True):
        delta = chunk.choices[0].delta.model_dump() if chunk.choices else {}
        text += delta.get("reasoning_content") or ""
        for block in delta.get("thinking_blocks") or ():
            if block["type"] == "thinking":
                block, text = {**block, "thinking": text}, ""
            blocks.append(block)
    assert [b["type"] for b in expected] == ["thinking", "redacted_thinking", "thinking"]
    assert blocks == expected  # (the last block's `index` too: `test_anthropic_target_thinking`)


def test_a_secret_split_across_thinking_blocks_is_still_caught(
    gw: Gateway, fake: FakeUpstream
) -> None:
    """The guard reads a stream's thinking blocks as one text, as before they were kept
    apart: an address split across two of them is redacted, a blocked term ends the stream."""
    split: Any = [
        {"type": "thinking", "thinking": "I will write to jane.d", "signature": "sig-a"},
        {"type": "thinking", "thinking": "oe@example.com about it.", "signature": "sig-b"},
        {"type": "text", "text": "Done."},
    ]
    fake.reset(blocks=split)
    msg = client(gw).messages.create(model=CLAUDE, max_tokens=900, messages=HI)
    with client(gw).messages.stream(model=CLAUDE, max_tokens=900, messages=HI) as s:
        final: Any = s.get_final_message()
    for answer in (msg, final):
        assert [b.type for b in answer.content] == ["thinking", "thinking", "text"]
        assert [b.signature for b in answer.content[:2]] == ["sig-a", "sig-b"]  # type: ignore[union-attr]
        thought = answer.content[0].thinking + answer.content[1].thinking  # type: ignore[union-attr]
        assert "jane" not in str(answer) and "[REDACTED:EMAIL]" in thought
    split[0]["thinking"], split[1]["thinking"] = "It is Project ", "Atlas, secretly."
    fake.reset(blocks=split)
    stream = client(gw).messages.stream(model=CLAUDE, max_tokens=900, messages=HI)
    with pytest.raises(anthropic.APIStatusError) as err, stream as s:
        for _ in s:
            pass
    assert err.value.body["error"]["code"] == "output_blocked"  # type: ignore[index]
