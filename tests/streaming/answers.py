"""One answer text, governed two ways with a real compiled runtime: as a whole JSON answer
(`pipeline.chain.run_response`, what a non-streamed request gets) and streamed in given pieces
through the stream guard on OpenAI chunks (`streaming.chunks`, what the relay runs)."""

from __future__ import annotations

import itertools
import json
from typing import Any, cast

from hypothesis import strategies as st

from keeptrusts.config.load import load_texts
from keeptrusts.config.runtime import Runtime, compile_runtime
from keeptrusts.errors import GatewayError
from keeptrusts.limits.memory import MemoryBackend
from keeptrusts.pipeline.chain import run_response
from keeptrusts.pipeline.context import Exchange
from keeptrusts.streaming.chunks import flush_all, guard_chunk
from keeptrusts.streaming.guard import StreamBlocked, StreamGuard

#: what a governed answer came to: its text, or `blocked:<policy>`
Outcome = str


def runtime(policies_yaml: str) -> Runtime:
    text = (
        "pack: {name: consistency, version: 1.0.0}\n"
        "providers: {targets: [{id: echo, provider: echo, models: ['*']}]}\n" + policies_yaml
    )
    return compile_runtime(load_texts([("c.yaml", text)]), cast(Any, None), MemoryBackend())


def _exchange(rt: Runtime, body: dict[str, Any]) -> Exchange:
    return Exchange(
        runtime=rt, endpoint="chat", body=body, raw=b"", request_id="r", model="m", stream=False
    )


def as_json(rt: Runtime, texts: list[str], field: str = "content") -> list[Outcome] | Outcome:
    """The whole answer with one choice per text, in the message's `field`."""
    body: dict[str, Any] = {
        "choices": [
            {"index": i, "message": {"role": "assistant", field: t}, "finish_reason": "stop"}
            for i, t in enumerate(texts)
        ]
    }
    try:
        run_response(_exchange(rt, body), body)
    except GatewayError as err:
        return f"blocked:{err.policy}"
    return [c["message"][field] for c in body["choices"]]


def streamed(
    rt: Runtime, pieces: list[list[str]], finish: bool = True, field: str = "content"
) -> list[Outcome] | Outcome:
    """The answer streamed in the deltas' `field`: choice `i` in `pieces[i]`, the choices'
    pieces interleaved; `finish`: each choice ends with its finish_reason (else the stream
    just ends)."""
    guard = StreamGuard(rt.response_text, rt.holdback)
    out = [""] * len(pieces)
    chunks: list[dict[str, Any]] = []
    for k in range(max(map(len, pieces))):
        for i, p in enumerate(pieces):
            if k < len(p):
                chunks.append(_chunk(i, {field: p[k]}, None))
    if finish:
        chunks += [_chunk(i, {}, "stop") for i in range(len(pieces))]
    try:
        for data in chunks:
            guard_chunk(data, guard, len(pieces))
            _collect(data, out, field)
        tail = flush_all({"object": "chat.completion.chunk"}, guard)
        if tail is not None:
            _collect(tail, out, field)
    except StreamBlocked as err:
        return f"blocked:{err.policy.name}"
    return out


def _chunk(i: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"choices": [{"index": i, "delta": delta, "finish_reason": finish}]}


def _collect(data: dict[str, Any], out: list[str], field: str) -> None:
    for choice in data["choices"]:
        out[choice["index"]] += choice.get("delta", {}).get(field) or ""


def arguments_as_json(rt: Runtime, arguments: str) -> Any:
    """One tool call's arguments in a whole answer, governed and decoded."""
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    body: dict[str, Any] = {
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]
    }
    run_response(_exchange(rt, body), body)
    return json.loads(call["function"]["arguments"])


def arguments_streamed(rt: Runtime, pieces: list[str]) -> Any:
    """One tool call's arguments streamed in `pieces`, governed, joined and decoded."""
    guard = StreamGuard(rt.response_text, rt.holdback)
    out = ""
    for piece in [*pieces, None]:
        call = {"index": 0, "function": {"arguments": piece or ""}}
        data = _chunk(0, {"tool_calls": [call]}, None if piece is not None else "tool_calls")
        guard_chunk(data, guard, 1)
        for c in data["choices"][0].get("delta", {}).get("tool_calls", []):
            out += c.get("function", {}).get("arguments") or ""
    return json.loads(out)


#: where a stream is cut: positions taken modulo the text's length (for `split_at`)
cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=24)


def split_at(text: str, points: list[int]) -> list[str]:
    """`text` cut at `points` (each modulo its length plus one) into the deltas of a stream."""
    at = sorted({p % (len(text) + 1) for p in points})
    return [text[a:b] for a, b in itertools.pairwise([0, *at, len(text)])]
