"""`echo`: a built-in provider with no network. It answers with the governed prompt.

It lets anyone try the gateway without a provider key: what comes back is exactly what a
real provider would have received after redaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from keeptrusts.providers.base import Chunk, Provider, ProviderCall, UpstreamStream


def _estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4) if text else 0


def _prompt_text(call: ProviderCall) -> str:
    body = call.body
    if call.endpoint == "completions":
        prompt = body.get("prompt", "")
        return prompt if isinstance(prompt, str) else "\n".join(str(p) for p in prompt)
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


class EchoProvider(Provider):
    system = "echo"
    remote = False

    async def complete(self, call: ProviderCall) -> dict[str, Any]:
        if call.endpoint == "embeddings":
            return self._embeddings(call)
        text = _prompt_text(call)
        usage = self._usage(call, text)
        model = self.upstream_model(str(call.body.get("model", "echo")))
        created = int(time.time())
        if call.endpoint == "completions":
            return {
                "id": f"cmpl-{uuid.uuid4().hex}",
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
                "usage": usage,
            }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    def _usage(self, call: ProviderCall, text: str) -> dict[str, int]:
        prompt = sum(
            _estimate_tokens(str(m.get("content", "")))
            for m in call.body.get("messages") or []
            if isinstance(m, dict)
        )
        prompt = prompt or _estimate_tokens(text)
        out = _estimate_tokens(text)
        return {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}

    def _embeddings(self, call: ProviderCall) -> dict[str, Any]:
        inputs = call.body.get("input", "")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, item in enumerate(items):
            digest = hashlib.sha256(str(item).encode()).digest()
            data.append(
                {"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:16]]}
            )
        tokens = sum(_estimate_tokens(str(x)) for x in items)
        return {
            "object": "list",
            "data": data,
            "model": call.body.get("model", "echo"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def open_stream(self, call: ProviderCall) -> UpstreamStream:
        return UpstreamStream(self._chunks(call), None)

    async def _chunks(self, call: ProviderCall) -> AsyncIterator[Chunk]:
        text = _prompt_text(call)
        usage = self._usage(call, text)
        model = self.upstream_model(str(call.body.get("model", "echo")))
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        completions = call.endpoint == "completions"
        if completions:
            base["object"] = "text_completion"
        words = [w + " " for w in text.split(" ")]
        if words:
            words[-1] = words[-1][:-1]
        first = True
        for word in words:
            if completions:
                choice: dict[str, Any] = {"index": 0, "text": word, "finish_reason": None}
            else:
                delta: dict[str, Any] = {"content": word}
                if first:
                    delta["role"] = "assistant"
                choice = {"index": 0, "delta": delta, "finish_reason": None}
            first = False
            yield Chunk({**base, "choices": [choice]})
            await asyncio.sleep(0)
        last: dict[str, Any] = (
            {"index": 0, "text": "", "finish_reason": "stop"}
            if completions
            else {"index": 0, "delta": {}, "finish_reason": "stop"}
        )
        yield Chunk({**base, "choices": [last]})
        yield Chunk({**base, "choices": [], "usage": usage})

    async def probe(self) -> bool | None:
        return True
