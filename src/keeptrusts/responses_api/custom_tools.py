"""Custom (free-form input) tools between the Responses API and chat completions.

    Responses                                  chat
    {type: custom, name, description, format}  {type: custom, custom: {name, description, ...}}
      format {type: grammar, definition, ...}    format {type: grammar, grammar: {definition, ...}}
    tool_choice {type: custom, name}           {type: custom, custom: {name}}
    custom_tool_call {call_id, name, input}    a tool call {id, type: custom, custom: {name, input}}
    custom_tool_call_output {call_id, output}  a `tool` message

Codex-style clients declare their editing tools this way (`apply_patch`). The input is text the
policies read like a function's arguments (`pipeline/texts.py`), in requests, answers and streams.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.errors import ValidationFailed
from keeptrusts.pipeline.chat import obj

SYNTAXES = ("lark", "regex")


def is_custom(call: dict[str, Any]) -> bool:
    """Whether a chat tool call (or its first delta) is a custom tool's."""
    return call.get("type") == "custom" or isinstance(call.get("custom"), dict)


def chat_tool(k: int, tool: dict[str, Any]) -> dict[str, Any]:
    """A Responses custom tool as a chat one."""
    if not isinstance(tool.get("name"), str):
        raise ValidationFailed(f"tools[{k}]: a custom tool needs a 'name' string")
    custom: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description") is not None:
        if not isinstance(tool["description"], str):
            raise ValidationFailed(f"tools[{k}].description must be a string")
        custom["description"] = tool["description"]
    if tool.get("format") is not None:
        custom["format"] = _chat_format(k, tool["format"])
    return {"type": "custom", "custom": custom}


def _chat_format(k: int, fmt: Any) -> dict[str, Any]:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return {"type": "text"}
    if (
        kind == "grammar"
        and isinstance(fmt.get("definition"), str)
        and fmt.get("syntax") in SYNTAXES
    ):
        grammar = {"definition": fmt["definition"], "syntax": fmt["syntax"]}
        return {"type": "grammar", "grammar": grammar}
    raise ValidationFailed(
        f"tools[{k}].format must be {{type: text}} or {{type: grammar, definition, syntax: "
        "lark|regex}"
    )


def api_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A chat custom tool as the Responses API shows it (the response's `tools`)."""
    custom = obj(tool.get("custom"))
    out: dict[str, Any] = {"type": "custom", "name": custom.get("name")}
    if custom.get("description") is not None:
        out["description"] = custom["description"]
    fmt = obj(custom.get("format"))
    if fmt.get("type") == "grammar":
        out["format"] = {"type": "grammar", **obj(fmt.get("grammar"))}
    elif fmt:
        out["format"] = fmt
    return out


def chat_call(i: int, item: dict[str, Any]) -> dict[str, Any]:
    """A `custom_tool_call` input item (a call the model made earlier) as a chat tool call."""
    call_id, name, text = item.get("call_id"), item.get("name"), item.get("input")
    if not (isinstance(call_id, str) and isinstance(name, str) and isinstance(text, str)):
        raise ValidationFailed(
            f"input[{i}]: a custom_tool_call needs 'call_id', 'name' and 'input' strings"
        )
    return {"id": call_id, "type": "custom", "custom": {"name": name, "input": text}}


def call_item(item_id: str, call: dict[str, Any], text: str) -> dict[str, Any]:
    """A chat custom tool call as a `custom_tool_call` output item."""
    return {
        "type": "custom_tool_call",
        "id": item_id,
        "call_id": call.get("id") or item_id,
        "name": obj(call.get("custom")).get("name"),
        "input": text,
    }


def call_input(call: dict[str, Any]) -> str:
    """A chat custom tool call's input (or a delta's piece of it)."""
    text = obj(call.get("custom")).get("input")
    return text if isinstance(text, str) else ""
