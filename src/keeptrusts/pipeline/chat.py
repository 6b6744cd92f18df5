"""Reading an OpenAI chat completion defensively (provider answers are not trusted): for the
endpoints that translate it into another API's answer (`anthropic_api/`, `responses_api/`)."""

from __future__ import annotations

from typing import Any

#: where a translated endpoint keeps the caller's own request in `Exchange.scratch` (no policy
#: has this name): settings its answer repeats, such as the Responses API's `instructions`
API_REQUEST = ":api-request"
#: where a translated endpoint keeps its request's settings a chat request has no field for
#: (`ProviderCall.native`)
NATIVE = ":native"
#: where the relay keeps a provider's early count of the prompt (`Chunk.prompt_usage`)
PROMPT_USAGE = ":prompt-usage"


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def message_text(msg: dict[str, Any], field: str = "content") -> str:
    """A message's text: a string, or the text of its parts (`content` as a list): every part
    with a `text`, joined with nothing whatever stands between them, as the response policies
    read them (`texts._message_slots`)."""
    value = msg.get(field)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def first_choice(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first choice of a chat completion and its message (empty objects if missing)."""
    choices = body.get("choices")
    choice = obj(choices[0]) if isinstance(choices, list) and choices else {}
    return choice, obj(choice.get("message"))
