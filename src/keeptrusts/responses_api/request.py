"""A Responses API request -> the OpenAI chat request the governed path runs on.

Carried: `instructions`, `input` (a string, or messages, reasoning given back (`reasoning.py`),
function and custom tool calls and their outputs), text and image parts, function and custom
tools (`custom_tools.py`) and `tool_choice`, `text.format`, `reasoning.effort` (and
`reasoning.summary`, read by the answer), `max_output_tokens`, `temperature`, `top_p`, `user`,
`parallel_tool_calls`, `stream`. The gateway keeps no conversation state:
`previous_response_id`, `conversation`, item references and `background` are refused with a 400
saying to send the whole conversation, as are stored prompt templates (`prompt`), built-in tools
and file inputs. Storage and tuning hints (`store`, `metadata`, `include`, `truncation`,
`service_tier`, `prompt_cache_key`...) are not carried (`docs/responses-api.md`). Every text the
provider would see is in the chat request, so the request policies read all of it.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.errors import ValidationFailed
from keeptrusts.responses_api import custom_tools, reasoning

SAME = ("temperature", "top_p", "user", "parallel_tool_calls", "stream")
STATEFUL = ("previous_response_id", "conversation", "background")
CHOICES = frozenset({"auto", "none", "required"})
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
DETAILS = ("auto", "low", "high")


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    for key in STATEFUL:
        if body.get(key):
            raise ValidationFailed(
                f"'{key}' is not supported: the gateway keeps no conversation state; send the "
                "whole conversation in 'input'"
            )
    if body.get("prompt") is not None:
        # its text and variables live at OpenAI: the policies could not read what the provider
        # would see, and the provider would not get the template (the answer would ignore it)
        raise ValidationFailed(
            "'prompt' (a prompt template stored at OpenAI) is not supported: the gateway can "
            "only govern text it sees; send the template's text as 'instructions' and 'input'"
        )
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise ValidationFailed("'instructions' must be a string")
        if instructions:
            messages.append({"role": "system", "content": instructions})
    _input(body.get("input"), messages)
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    for key in SAME:
        if body.get(key) is not None:
            chat[key] = body[key]
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    if body.get("tools") is not None:
        chat["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    _text_format(body.get("text"), chat)
    _reasoning(body.get("reasoning"), chat)
    return chat


def _reasoning(settings: Any, chat: dict[str, Any]) -> None:
    if settings is None:
        return
    if not isinstance(settings, dict):
        raise ValidationFailed("'reasoning' must be an object")
    reasoning.check_summary(settings)
    effort = settings.get("effort")
    if effort is None:
        return
    if effort not in EFFORTS:
        raise ValidationFailed(f"'reasoning.effort' must be one of {', '.join(sorted(EFFORTS))}")
    chat["reasoning_effort"] = effort


def _input(value: Any, messages: list[dict[str, Any]]) -> None:
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
        return
    if not isinstance(value, list) or not value:
        raise ValidationFailed("'input' is required: a string or a non-empty array of items")
    before = len(messages)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValidationFailed(f"input[{i}] must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            _join_message(_message(i, item), messages)
        elif kind == "reasoning":
            reasoning.given_back(i, item, messages)
        elif kind == "function_call":
            _join_call(_function_call(i, item), messages)
        elif kind == "custom_tool_call":
            _join_call(custom_tools.chat_call(i, item), messages)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            messages.append(_call_output(i, item, kind))
        else:
            raise ValidationFailed(
                f"input[{i}]: items of type {str(kind)[:40]!r} are not supported by the "
                "gateway's /v1/responses (supported: message, reasoning, function_call, "
                "function_call_output, custom_tool_call, custom_tool_call_output; the gateway "
                "keeps no state for item references)"
            )
    # reasoning nothing followed (an answer cut off while it reasoned): no chat target takes an
    # assistant turn of reasoning alone, so it is left out (and not read)
    messages[before:] = [m for m in messages[before:] if not reasoning.only_reasoning(m)]
    if len(messages) == before:
        raise ValidationFailed("'input' has no message or function call to send")


def _join_message(msg: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    """An assistant message joins the reasoning given back just before it, if any."""
    last = messages[-1] if messages else None
    if msg["role"] == "assistant" and last is not None and reasoning.only_reasoning(last):
        last["content"] = msg["content"]
    else:
        messages.append(msg)


def _message(i: int, item: dict[str, Any]) -> dict[str, Any]:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise ValidationFailed(f"input[{i}].role must be one of user, assistant, system, developer")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise ValidationFailed(f"input[{i}].content must be a string or an array of parts")
    if role == "assistant":
        return {
            "role": role,
            "content": "".join(_assistant_text(i, j, p) for j, p in enumerate(content)),
        }
    return {"role": role, "content": [_part(i, j, p) for j, p in enumerate(content)]}


def _part(i: int, j: int, part: Any) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "input_text" and isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    if kind == "input_image" and isinstance(part.get("image_url"), str):
        image: dict[str, Any] = {"url": part["image_url"]}
        detail = part.get("detail")
        if detail is not None:
            if detail not in DETAILS:
                raise ValidationFailed(
                    f"input[{i}].content[{j}].detail must be one of {', '.join(DETAILS)}"
                )
            image["detail"] = detail
        return {"type": "image_url", "image_url": image}
    raise ValidationFailed(
        f"input[{i}].content[{j}] must be an input_text part with a 'text' string or an "
        "input_image part with an 'image_url' string (files and image ids are not supported)"
    )


def _assistant_text(i: int, j: int, part: Any) -> str:
    kind = part.get("type") if isinstance(part, dict) else None
    field = {"output_text": "text", "input_text": "text", "refusal": "refusal"}.get(str(kind))
    if field is None or not isinstance(part.get(field), str):
        raise ValidationFailed(
            f"input[{i}].content[{j}] of an assistant message must be an output_text part "
            "with a 'text' string (or a refusal)"
        )
    text: str = part[field]
    return text


def _function_call(i: int, item: dict[str, Any]) -> dict[str, Any]:
    call_id, name, args = item.get("call_id"), item.get("name"), item.get("arguments")
    if not (isinstance(call_id, str) and isinstance(name, str) and isinstance(args, str)):
        raise ValidationFailed(
            f"input[{i}]: a function_call needs 'call_id', 'name' and 'arguments' strings"
        )
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def _join_call(call: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    """A call the model made earlier: joins the assistant message just before it, if any."""
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _call_output(i: int, item: dict[str, Any], kind: str) -> dict[str, Any]:
    call_id, output = item.get("call_id"), item.get("output")
    if isinstance(output, list) and all(
        isinstance(p, dict) and p.get("type") == "input_text" and isinstance(p.get("text"), str)
        for p in output
    ):
        output = "".join(p["text"] for p in output)
    if not (isinstance(call_id, str) and isinstance(output, str)):
        raise ValidationFailed(
            f"input[{i}]: a {kind} needs a 'call_id' string and an 'output' string (or "
            "input_text parts)"
        )
    return {"role": "tool", "tool_call_id": call_id, "content": output}


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise ValidationFailed("'tools' must be an array")
    out: list[dict[str, Any]] = []
    for k, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") == "custom":
            out.append(custom_tools.chat_tool(k, tool))
            continue
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(tool.get("name"), str)
        ):
            raise ValidationFailed(
                f"tools[{k}] must be a function or custom tool with a 'name' (built-in tools "
                "such as web_search or file_search are not supported by the gateway's "
                "/v1/responses)"
            )
        fn = {"name": tool["name"]}
        for key in ("description", "parameters", "strict"):
            if tool.get(key) is not None:
                fn[key] = tool[key]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str) and choice in CHOICES:
        return choice
    named = isinstance(choice, dict) and isinstance(choice.get("name"), str)
    if named and choice.get("type") in ("function", "custom"):
        kind = choice["type"]
        return {"type": kind, kind: {"name": choice["name"]}}
    raise ValidationFailed(
        "'tool_choice' must be auto, none, required or {type: function|custom, name}"
    )


def _text_format(text: Any, chat: dict[str, Any]) -> None:
    if text is None:
        return
    if not isinstance(text, dict):
        raise ValidationFailed("'text' must be an object")
    fmt = text.get("format")
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        chat["response_format"] = {"type": "json_object"}
        return
    if (
        kind == "json_schema"
        and isinstance(fmt.get("name"), str)
        and isinstance(fmt.get("schema"), dict)
    ):
        keys = ("name", "strict", "description", "schema")
        # the answer repeats it from here, as the policies left it (`response.envelope`)
        schema = {k: fmt[k] for k in keys if k in fmt}
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
        return
    raise ValidationFailed(
        "'text.format' must be {type: text}, {type: json_object} or {type: json_schema, name, "
        "schema}"
    )
