"""Tools between OpenAI chat completions and Anthropic's Messages API (both directions).

    OpenAI chat                                      Anthropic Messages
    tool {type: function, function: {name, ...}}     tool {name, description, input_schema, strict}
    tool {type: custom, custom: {name, ...}}         tool whose input_schema is one string, `input`
    tool_choice auto / required / none               {type: auto} / {type: any} / {type: none}
    tool_choice {type: function|custom, ...: {name}} {type: tool, name}
    tool_choice {type: allowed_tools, ...}           the tools listed, {type: auto|any}
    parallel_tool_calls: false                       tool_choice.disable_parallel_tool_use
    tool call {type: function, function: {...}}      tool_use {id, name, input: the arguments}
    tool call {type: custom, custom: {name, input}}  tool_use {id, name, input: {input: text}}

A custom tool takes free text; Anthropic's tools take JSON, so its text travels as the one
string property `input` and comes back from a `tool_use` of that tool as the call's text. A
custom tool with a grammar cannot be served (`unserved_tool`): Anthropic cannot constrain the
text to it.
"""

from __future__ import annotations

from typing import Any

import orjson

from keeptrusts.errors import ValidationFailed

#: OpenAI tool_choice -> Anthropic tool_choice type
TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}
#: a custom tool's input as Anthropic's tools take it: an object with one string
CUSTOM_INPUT = "input"
CUSTOM_SCHEMA = {
    "type": "object",
    "properties": {CUSTOM_INPUT: {"type": "string", "description": "The tool's input, as text"}},
    "required": [CUSTOM_INPUT],
}


def _inner(item: dict[str, Any]) -> dict[str, Any]:
    """A tool's, tool call's or named tool choice's `function` or `custom` object."""
    kind = "custom" if item.get("type") == "custom" else "function"
    inner = item.get(kind)
    return inner if isinstance(inner, dict) else {}


def custom_names(body: dict[str, Any]) -> frozenset[str]:
    """The names of the request's custom tools (their calls come back as custom calls)."""
    return frozenset(
        str(_inner(t).get("name"))
        for t in body.get("tools") or ()
        if isinstance(t, dict) and t.get("type") == "custom"
    )


def unserved_tool(body: dict[str, Any]) -> str | None:
    """A tool Anthropic cannot honour, said for the client, or None."""
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("type") == "custom":
            fmt = _inner(tool).get("format")
            if isinstance(fmt, dict) and fmt.get("type") not in (None, "text"):
                name = str(_inner(tool).get("name"))[:64]
                return (
                    f"custom tool {name!r}, whose input has a {str(fmt.get('type'))[:20]} "
                    "format (Anthropic's tools cannot constrain text to a grammar)"
                )
    return None


def tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's tools as Anthropic's (only those `allowed_tools` lists, when it does)."""
    allowed = _allowed(body.get("tool_choice"))
    out = []
    for tool in body.get("tools") or ():
        if not isinstance(tool, dict):
            continue
        fn = _inner(tool)
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise ValidationFailed(
                "every tool needs a name: tools[].function.name (or custom.name for a custom tool)"
            )
        if allowed is not None and name not in allowed:
            continue
        schema = CUSTOM_SCHEMA if tool.get("type") == "custom" else fn.get("parameters")
        entry = {"name": name, "input_schema": schema or {"type": "object"}}
        if fn.get("description"):
            entry["description"] = fn["description"]
        if fn.get("strict") is True and tool.get("type") != "custom":
            entry["strict"] = True  # (inputs validated against the schema: as OpenAI's)
        out.append(entry)
    return out


def _allowed(choice: Any) -> set[str] | None:
    """The tool names an `allowed_tools` choice lists, or None when it is not one."""
    if not isinstance(choice, dict) or choice.get("type") != "allowed_tools":
        return None
    spec = choice.get("allowed_tools")
    listed = spec.get("tools") if isinstance(spec, dict) else None
    return {str(_inner(t).get("name")) for t in listed or () if isinstance(t, dict)}


def tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    """OpenAI's `tool_choice` and `parallel_tool_calls` as Anthropic's `tool_choice`."""
    out: dict[str, Any] | None = None
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        out = {"type": TOOL_CHOICES[choice]}
    elif isinstance(choice, dict) and choice.get("type") in ("function", "custom"):
        out = {"type": "tool", "name": _inner(choice).get("name")}
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        spec = choice.get("allowed_tools")
        mode = spec.get("mode") if isinstance(spec, dict) else None
        out = {"type": TOOL_CHOICES.get(str(mode), "auto")}
    if parallel is False and (out is None or out["type"] != "none"):
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def tool_use(call: dict[str, Any]) -> dict[str, Any]:
    """An assistant's earlier tool call as a `tool_use` block."""
    inner = _inner(call)
    if call.get("type") == "custom":
        text = inner.get(CUSTOM_INPUT)
        args: Any = {CUSTOM_INPUT: text if isinstance(text, str) else ""}
    else:
        try:  # (orjson refuses anything but text or bytes with the same error)
            args = orjson.loads(inner.get("arguments") or "{}")
        except orjson.JSONDecodeError as exc:
            raise ValidationFailed("tool_calls[].function.arguments must be JSON") from exc
    return {"type": "tool_use", "id": call.get("id"), "name": inner.get("name"), "input": args}


def tool_call(block: dict[str, Any], custom: frozenset[str]) -> dict[str, Any]:
    """A `tool_use` block of the answer as an OpenAI tool call (a custom one for a custom tool)."""
    name, args = block.get("name"), block.get("input") or {}
    if name in custom:
        return {
            "id": block.get("id"),
            "type": "custom",
            "custom": {"name": name, "input": custom_input(args)},
        }
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {"name": name, "arguments": orjson.dumps(args).decode()},
    }


def custom_input(args: Any) -> str:
    """A custom tool's text from its `tool_use` input (the JSON itself if the model strayed
    from the one string it was given)."""
    text = args.get(CUSTOM_INPUT) if isinstance(args, dict) else None
    return text if isinstance(text, str) else orjson.dumps(args).decode()
