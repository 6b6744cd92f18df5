"""Token estimates made before dispatch (no tokenizer on the request path).

Prompt tokens are estimated as ceil(characters / chars_per_token) over every text the
provider will read (message contents and text parts, tool-call arguments, the Anthropic
`system` prompt, completion prompts, embedding inputs) plus 4 tokens per message for the
role and framing. With the default of 4 characters a token this matches English text
with OpenAI tokenizers; text that tokenizes denser (code, CJK) can cost more than
estimated, which `chars_per_token: 1` rules out at the price of larger reservations.
"""

from __future__ import annotations

import math
from typing import Any

from keeptrusts.pipeline.texts import request_slots

PER_MESSAGE = 4
TOKEN_FIELDS = ("max_completion_tokens", "max_tokens")


def prompt_tokens(endpoint: str, body: dict[str, Any], chars_per_token: float = 4.0) -> int:
    chars = 0
    if endpoint == "messages":
        slots = request_slots("chat", body)
        system = body.get("system")
        if isinstance(system, str):
            chars += len(system)
        elif isinstance(system, list):
            chars += sum(len(p.get("text") or "") for p in system if isinstance(p, dict))
    else:
        slots = request_slots(endpoint, body)
    chars += sum(len(c[k]) for c, k in slots)
    messages = body.get("messages")
    framing = PER_MESSAGE * len(messages) if isinstance(messages, list) else 0
    return math.ceil(chars / chars_per_token) + framing


def max_output_tokens(body: dict[str, Any]) -> int | None:
    """The request's own output cap (`max_completion_tokens`, else `max_tokens`), if any."""
    for key in TOKEN_FIELDS:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None
