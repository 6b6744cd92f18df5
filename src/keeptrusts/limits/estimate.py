"""Token estimates made before dispatch (no tokenizer on the request path).

Prompt tokens are estimated as ceil(characters / chars_per_token) over every text the
provider will read (message contents and text parts, tool-call arguments, the Anthropic
`system` prompt, completion prompts, embedding inputs) plus 4 tokens per message for the
role and framing; a prompt or input given as token ids counts one token per id. With the
default of 4 characters a token this matches English text with OpenAI tokenizers; text
that tokenizes denser (code, CJK) can cost more than estimated, which `chars_per_token: 1`
rules out at the price of larger reservations.

Output tokens: the request's own cap (`max_completion_tokens`, else `max_tokens`) per
generated choice, times the choices the provider generates (`n`; for completions
`max(n, best_of)` per prompt). Counts are bounded by `MAX_TOKENS` (a counter must not
overflow whatever a request asks for); a cap above `MAX_OUTPUT_TOKENS` is refused (400).
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from keeptrusts.errors import ValidationFailed
from keeptrusts.limits.backend import MAX_TOKENS
from keeptrusts.pipeline.texts import request_slots

PER_MESSAGE = 4
TOKEN_FIELDS = ("max_completion_tokens", "max_tokens")
#: the largest output cap a limits policy accepts (a signed 32-bit integer: more than any
#: model generates; larger values are what providers refuse too)
MAX_OUTPUT_TOKENS = 2**31 - 1


def prompt_tokens(endpoint: str, body: dict[str, Any], chars_per_token: float = 4.0) -> int:
    chars = sum(len(c[k]) for c, k in request_slots(endpoint, body))
    messages = body.get("messages")
    framing = PER_MESSAGE * len(messages) if isinstance(messages, list) else 0
    ids = token_ids(body.get(_PROMPT_FIELDS.get(endpoint, "")))
    return min(MAX_TOKENS, math.ceil(chars / chars_per_token) + framing + ids)


_PROMPT_FIELDS = {"completions": "prompt", "embeddings": "input"}


def token_ids(value: Any) -> int:
    """Token ids in a prompt or input given as ids (`[1, 2]` or `[[1, 2], [3]]`); texts: 0."""
    if not isinstance(value, list):
        return 0
    return sum(len(v) if isinstance(v, list) else _is_id(v) for v in value)


def _is_id(value: Any) -> int:
    return 1 if isinstance(value, int | float) and not isinstance(value, bool) else 0


def max_output_tokens(body: dict[str, Any]) -> int | None:
    """The request's own output cap per choice (`max_completion_tokens`, else `max_tokens`)."""
    for key in TOKEN_FIELDS:
        value = body.get(key)
        if _count(value):
            return min(value, MAX_OUTPUT_TOKENS)
    return None


def choices(endpoint: str, body: dict[str, Any]) -> int:
    """How many completions the provider generates: `n` (chat); for completions
    `max(n, best_of)` for each prompt; 1 where neither applies."""
    if endpoint not in ("chat", "completions"):
        return 1
    n = _positive(body.get("n"))
    if endpoint == "chat":
        return n
    prompt = body.get("prompt")
    prompts = 1
    if isinstance(prompt, list) and prompt and not _is_id(prompt[0]):
        prompts = len(prompt)  # several texts or several token-id lists: one batch each
    return max(n, _positive(body.get("best_of"))) * prompts


def output_tokens(endpoint: str, body: dict[str, Any], default: int = 0) -> int:
    """The most output tokens the request can cost: its cap (else `default`) times its
    choices, at most `MAX_TOKENS`."""
    if endpoint == "embeddings":
        return 0
    cap = max_output_tokens(body)
    per_choice = default if cap is None else cap
    return min(MAX_TOKENS, per_choice * choices(endpoint, body))


def check_caps(body: dict[str, Any], policy: str) -> ValidationFailed | None:
    """A 400 for an output cap no model honours (it would only inflate the counters)."""
    for key in TOKEN_FIELDS:
        value = body.get(key)
        if _count(value) and value > MAX_OUTPUT_TOKENS:
            return ValidationFailed(
                f"'{key}' ({value}) is larger than any model generates: policy {policy!r} "
                f"accepts at most {MAX_OUTPUT_TOKENS}; send the output cap you need",
                policy=policy,
            )
    return None


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(value: Any) -> int:
    return value if _count(value) and value >= 1 else 1
