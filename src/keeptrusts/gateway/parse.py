"""Read and validate an incoming OpenAI request body: bounded, strict about shape, clear errors."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from keeptrusts.errors import ValidationFailed

MAX_MODEL_LEN = 256
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})


async def read_body(request: web.Request, limit: int, seconds: float) -> bytes:
    if request.content.is_eof():  # the whole body came with the headers: no wait, no timer
        return _buffered_body(request, limit)
    try:
        async with asyncio.timeout(seconds):
            return await _read_body(request, limit)
    except TimeoutError as exc:
        raise ValidationFailed(
            f"the request body did not arrive within {seconds:g}s; send it faster",
            status=408,
            code="request_timeout",
        ) from exc


def _check_headers(request: web.Request, limit: int) -> str:
    """Refuse a declared length over the limit or an unsupported encoding; the encoding."""
    length = request.content_length
    if length is not None and length > limit:
        raise too_large(limit)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "deflate"):
        raise ValidationFailed(
            f"Content-Encoding {encoding!r} is not supported; send identity, gzip or deflate",
            status=415,
            code="invalid_request",
        )
    return encoding


def _buffered_body(request: web.Request, limit: int) -> bytes:
    """The body aiohttp has already read whole (and inflated): taken at once, no awaits."""
    encoding = _check_headers(request, limit)
    try:
        data = request.content.read_nowait()
    except (HttpProcessingError, RequestPayloadError) as exc:
        raise undecodable(encoding) from exc
    if len(data) > limit:
        raise too_large(limit)
    return data


def undecodable(encoding: str) -> ValidationFailed:
    return ValidationFailed(
        f"request body could not be decoded ({encoding or 'identity'}); send valid data"
    )


async def _read_body(request: web.Request, limit: int) -> bytes:
    encoding = _check_headers(request, limit)
    chunks: list[bytes] = []
    size = 0
    # aiohttp inflates gzip/deflate bodies as they stream in: the bound applies after inflation
    try:
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except (HttpProcessingError, RequestPayloadError) as exc:
        raise undecodable(encoding) from exc
    return b"".join(chunks)


def too_large(limit: int) -> ValidationFailed:
    return ValidationFailed(
        f"request body exceeds {limit} bytes (server.max_body_bytes); send a smaller request",
        status=413,
        code="request_too_large",
    )


def parse_json(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise ValidationFailed("request body is empty; send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(
            f"request body is not valid JSON ({exc.msg} at position {exc.pos})"
        ) from exc
    if not isinstance(body, dict):
        raise ValidationFailed("request body must be a JSON object")
    return body


def check_common(body: dict[str, Any]) -> tuple[str, bool]:
    model = body.get("model")
    if model is None:
        raise ValidationFailed("'model' is required: name the model to call")
    if not isinstance(model, str) or not model or len(model) > MAX_MODEL_LEN:
        raise ValidationFailed("'model' must be a non-empty string of at most 256 characters")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise ValidationFailed("'stream' must be true or false")
    for key in ("max_tokens", "max_completion_tokens", "n"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = body[key] = int(value)  # JSON's 1.0 is the integer 1
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise ValidationFailed(f"'{key}' must be a non-negative integer below 2^63")
    return model, stream


def check_chat(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValidationFailed("'messages' is required and must be a non-empty array")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise ValidationFailed(f"messages[{i}] must be an object")
        if not isinstance(msg.get("role"), str):
            raise ValidationFailed(f"messages[{i}].role must be a string")
        content = msg.get("content")
        if content is not None and not isinstance(content, str | list):
            raise ValidationFailed(f"messages[{i}].content must be a string or an array of parts")
        if isinstance(content, list):
            _check_parts(i, content)


def _check_parts(i: int, parts: list[Any]) -> None:
    for j, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise ValidationFailed(f"messages[{i}].content[{j}] must be an object with a 'type'")
        if part["type"] not in PART_TYPES:
            raise ValidationFailed(
                f"messages[{i}].content[{j}].type {part['type'][:40]!r} is not supported; "
                f"use one of {', '.join(sorted(PART_TYPES))}"
            )
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise ValidationFailed(f"messages[{i}].content[{j}].text must be a string")


def check_completions(body: dict[str, Any]) -> None:
    prompt = body.get("prompt")
    if not (isinstance(prompt, str) or (isinstance(prompt, list) and prompt)):
        raise ValidationFailed("'prompt' is required: a string or an array of strings")


def check_embeddings(body: dict[str, Any]) -> None:
    value = body.get("input")
    if not (isinstance(value, str) or (isinstance(value, list) and value)):
        raise ValidationFailed("'input' is required: a string or an array")
    if body.get("stream"):
        raise ValidationFailed("embeddings cannot be streamed")


CHECKS = {"chat": check_chat, "completions": check_completions, "embeddings": check_embeddings}
