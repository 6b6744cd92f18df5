"""The fixed request and response bodies every benchmark target sees.

The request is a realistic ~1 KB chat (a system prompt and a few turns of ordinary English, no
personal data, nothing a default policy would act on), so the gateway runs its whole default
chain and forwards the request unchanged. The upstream answers with a fixed chat completion
(usage block included) or, for streams, 20 chunks in OpenAI's `chat.completion.chunk` wire
format ending with a usage chunk and `data: [DONE]`.
"""

from __future__ import annotations

from typing import Any

import orjson

MODEL = "gpt-4o-mini"
_CREATED = 1_764_000_000
_ID = "chatcmpl-bench0000000000000000000001"
_FINGERPRINT = "fp_bench0001"

_MESSAGES = [
    {
        "role": "system",
        "content": (
            "You are a friendly assistant for a small garden centre. Answer questions about "
            "plants, soil and seasonal care in plain language, keep answers short, and suggest "
            "visiting the shop when a question needs a closer look at the plant itself."
        ),
    },
    {
        "role": "user",
        "content": (
            "Hello! We moved into a house with a small north-facing garden last spring. The soil "
            "is heavy clay and stays wet for days after rain. Which shrubs would cope with that?"
        ),
    },
    {
        "role": "assistant",
        "content": (
            "Clay that stays wet suits a few tough shrubs well: dogwood, elder, guelder rose and "
            "hydrangea all like moisture and tolerate shade. Adding compost every autumn will "
            "slowly open up the soil and help the roots breathe."
        ),
    },
    {
        "role": "user",
        "content": (
            "That helps, thank you. We would also like something that flowers in late winter, "
            "when the garden looks bare. Is there anything that would grow near the back fence, "
            "which gets almost no direct sun at all from November until March?"
        ),
    },
]

ANSWER = (
    "For late winter flowers in deep shade, try sweet box, which has small white flowers with a "
    "strong honey scent, or a winter-flowering viburnum near the fence. Both cope with clay."
)


def chat_request(stream: bool = False) -> dict[str, Any]:
    """The chat request body (as a dict); `stream=True` asks for SSE with a usage chunk."""
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": _MESSAGES,
        "temperature": 0.7,
        "max_tokens": 256,
        "user": "bench-client",
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def chat_request_bytes(stream: bool = False) -> bytes:
    return orjson.dumps(chat_request(stream))


def completion_bytes() -> bytes:
    """The upstream's fixed `chat.completion` answer."""
    return orjson.dumps(
        {
            "id": _ID,
            "object": "chat.completion",
            "created": _CREATED,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": _FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 212,
                "completion_tokens": 41,
                "total_tokens": 253,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        }
    )


STREAM_CHUNKS = 20


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": _ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": _FINGERPRINT,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def _answer_pieces(n: int) -> list[str]:
    words = ANSWER.split(" ")
    bounds = [round(i * len(words) / n) for i in range(n + 1)]
    pieces = [" ".join(words[bounds[i] : bounds[i + 1]]) for i in range(n)]
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)]


def sse_events() -> list[dict[str, Any]]:
    """The 20 stream chunks: role, content pieces, finish, usage."""
    events = [_chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    events += [_chunk({"content": p}, None) for p in _answer_pieces(STREAM_CHUNKS - 3)]
    events.append(_chunk({}, "stop"))
    usage = _chunk({}, None)
    usage["choices"] = []
    usage["usage"] = {"prompt_tokens": 212, "completion_tokens": 41, "total_tokens": 253}
    events.append(usage)
    assert len(events) == STREAM_CHUNKS, len(events)
    return events


def sse_bytes() -> bytes:
    """The whole SSE body as the upstream sends it."""
    lines = [b"data: " + orjson.dumps(e) + b"\n\n" for e in sse_events()]
    return b"".join(lines) + b"data: [DONE]\n\n"
