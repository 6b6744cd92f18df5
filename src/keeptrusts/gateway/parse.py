"""Read and validate an incoming OpenAI request body: bounded, strict about shape, clear errors."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from keeptrusts.errors import ValidationFailed

MAX_MODEL_LEN = 256
#: control characters (C0, DEL, C1): a character class, linear on any input
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
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
            f"Content-Encoding {encoding!r} is not supported; send identity, gzip or deflate"
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
    """The fields every OpenAI endpoint shares: the model, streaming, token counts."""
    model, stream = check_model(body), check_stream(body)
    check_counts(body, ("max_tokens", "max_completion_tokens", "n"))
    check_user(body)
    return model, stream


def check_user(body: dict[str, Any]) -> None:
    """The end user's id goes to the provider: a string the text policies can read."""
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise ValidationFailed("'user' must be a string")


def check_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise ValidationFailed("'model' is required: name the model to call")
    if not isinstance(model, str) or not model or len(model) > MAX_MODEL_LEN:
        raise ValidationFailed("'model' must be a non-empty string of at most 256 characters")
    if _CONTROL.search(model):  # a name: control characters (NUL) break event stores
        raise ValidationFailed("'model' must not contain control characters")
    return model


def check_stream(body: dict[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise ValidationFailed("'stream' must be true or false")
    return stream


def check_counts(body: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Token counts the gateway reads (limits, budgets): integers it can re-encode exactly."""
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = body[key] = int(value)  # JSON's 1.0 is the integer 1
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise ValidationFailed(f"'{key}' must be a non-negative integer below 2^63")


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
        calls = msg.get("tool_calls")
        if calls is not None and not _objects_with_function(calls):
            raise ValidationFailed(
                f"messages[{i}].tool_calls must be an array of objects whose 'function' is an "
                "object"
            )
    tools = body.get("tools")
    if tools is not None and not _objects_with_function(tools):
        raise ValidationFailed("'tools' must be an array of objects whose 'function' is an object")
    for k, tool in enumerate(tools or ()):
        if isinstance(tool.get("function"), dict):
            check_function(f"tools[{k}].function", tool["function"])
    _check_stop(body)


def check_function(where: str, fn: dict[str, Any]) -> None:
    """A function tool's fields the provider reads, in the shapes the policies read them: a
    description that is not a string, or parameters that are not a schema object, would reach
    the provider unread (a model server may render them into the prompt as they are)."""
    if fn.get("description") is not None and not isinstance(fn["description"], str):
        raise ValidationFailed(f"{where}.description must be a string")
    if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
        raise ValidationFailed(f"{where}.parameters must be a JSON schema object")
    if fn.get("strict") is not None and not isinstance(fn["strict"], bool):
        raise ValidationFailed(f"{where}.strict must be true or false")


def _check_stop(body: dict[str, Any]) -> None:
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise ValidationFailed("'stop' must be a string or an array of strings")


def _objects_with_function(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get("function", {}), dict) for item in items
    )


def _check_parts(i: int, parts: list[Any]) -> None:
    for j, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise ValidationFailed(f"messages[{i}].content[{j}] must be an object with a 'type'")
        if part["type"] not in PART_TYPES:
            raise ValidationFailed(
                f"messages[{i}].content[{j}].type {part['type'][:40]!r} is not supported; "
                f"use one of {', '.join(sorted(PART_TYPES))}"
            )
        kind = part["type"]
        if kind in ("text", "refusal") and not isinstance(part.get(kind), str):
            raise ValidationFailed(f"messages[{i}].content[{j}].{kind} must be a string")
        if kind == "image_url" and not isinstance(part.get("image_url"), dict):
            raise ValidationFailed(
                f"messages[{i}].content[{j}].image_url must be an object with a 'url'"
            )


def check_completions(body: dict[str, Any]) -> None:
    _text_or_tokens(body.get("prompt"), "prompt")
    if body.get("suffix") is not None and not isinstance(body["suffix"], str):
        raise ValidationFailed("'suffix' must be a string")
    check_counts(body, ("best_of",))  # budgets reserve max(n, best_of) answers
    _check_stop(body)


def check_embeddings(body: dict[str, Any]) -> None:
    _text_or_tokens(body.get("input"), "input")
    if body.get("stream"):
        raise ValidationFailed("embeddings cannot be streamed")


def _text_or_tokens(value: Any, name: str) -> None:
    """OpenAI's shapes for a prompt or an input: a string, an array of strings, an array of
    token ids, or an array of token-id arrays (anything else could hide text from policies)."""
    if isinstance(value, str):
        return
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value) or all(_is_token(v) for v in value):
            return
        if all(isinstance(v, list) and v and all(_is_token(t) for t in v) for v in value):
            return
    raise ValidationFailed(
        f"'{name}' is required: a string, an array of strings, an array of token ids "
        "(integers from 0 to 2^32-1), or an array of token-id arrays"
    )


def _is_token(value: Any) -> bool:
    """A token id: an integer (JSON's 5.0 included) from 0 to 2^32-1."""
    if isinstance(value, float):
        return value.is_integer() and 0 <= value < 2**32
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32


CHECKS = {"chat": check_chat, "completions": check_completions, "embeddings": check_embeddings}
