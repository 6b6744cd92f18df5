"""JSON texts — tool-call arguments, and an answer's content when the request asked for JSON
output (`response_format` `json_object` or `json_schema`) — read as the caller's JSON decoder
and a stream read them.

Arguments are a JSON text: `jane.doe\\u0040example.com` decodes to `jane.doe@example.com`,
`project\\natlas` to two words on two lines. Read as written, escapes hide a value from the
policies. So the policies read the arguments with every escape decoded, keys and values in
their places, exactly as the stream guard reads streamed arguments (`streaming.json_escapes`):
a value is read after its key (`"order_id": 4155552671` is an identifier, `"phone":
4155552671` a phone number), and a whole answer and a stream give the same text. Redactions go
back token by token (`json_redact`), so the arguments stay valid JSON (a redacted number
becomes a string), and a structured answer still parses (`client.chat.completions.parse`).
"""

from __future__ import annotations

from typing import Any

from keeptrusts.pipeline import json_redact
from keeptrusts.pipeline.joined import Reading
from keeptrusts.pipeline.verdict import Match
from keeptrusts.streaming import json_escapes

#: the `response_format` types whose answer is JSON text
JSON_FORMATS = frozenset({"json_object", "json_schema"})


def json_output(body: dict[str, Any]) -> bool:
    """Whether a chat request asked for its answer's content as JSON."""
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in JSON_FORMATS


class ArgumentsText(Reading):
    """One JSON text (`fn["arguments"]`, or the `key` given) as the policies read it."""

    __slots__ = ("_read", "fn", "key")

    def __init__(self, fn: dict[str, Any], key: str = "arguments") -> None:
        self.fn = fn
        self.key = key
        self._read: tuple[str, str] = ("", "")

    def __getitem__(self, _: Any) -> str:
        raw = self.fn[self.key]
        if self._read[0] is not raw:  # read again after a policy rewrote it
            self._read = (raw, json_escapes.view(raw, mapped=False)[0] if "\\" in raw else raw)
        return self._read[1]

    def redact(self, matches: list[Match]) -> None:
        raw = self.fn[self.key]
        if "\\" in raw:  # positions in the decoded text -> in the text as written
            at = json_escapes.view(raw)[1]
            matches = [m._replace(start=at[m.start], end=at[m.end]) for m in matches]
        self.fn[self.key] = json_redact.redact(raw, matches)
