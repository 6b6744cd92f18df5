"""What a policy is: a stage with optional hooks, run in `policies.chain` order.

A policy overrides the hooks it needs:

- `on_request(ex)`   before dispatch; returns a Decision (a block carries the error reply).
- `find(text, stage)` text policies only: the spans it objects to in one text. The chain
  applies redactions, stops on a block and flags an escalation. The same hook serves whole
  requests, whole responses and the hold-back window of a stream.
- `on_count(ex)`     instead of `on_request`, for a request that generates nothing (a token
  count) to a policy that accounts for what requests spend (`completes`): what such a request
  still counts for (a rate limit's requests); nothing to settle on completion.
- `on_complete(ex)`  once per request after the response, the stream's end, a client
  disconnect or an upstream failure (settle budgets, release slots). Never raises.

`holdback` is the longest span a text policy can match in a response: a stream holds back
at most that many characters so a match split across chunks is still caught.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from keeptrusts.pipeline.verdict import ALLOW, Decision, Match, Stage

if TYPE_CHECKING:
    from keeptrusts.pipeline.context import Exchange

BOTH_STAGES: frozenset[Stage] = frozenset({Stage.REQUEST, Stage.RESPONSE})


class Policy:
    """Base of every policy kind. Instances are built once per config and shared by requests."""

    kind: ClassVar[str] = ""
    #: True when `find` is implemented (the chain then feeds it texts).
    inspects_text: ClassVar[bool] = False
    #: True when `on_request` does anything (the chain skips the await otherwise).
    checks_request: ClassVar[bool] = False
    #: True when `on_complete` must run.
    completes: ClassVar[bool] = False
    #: True when `on_count` does anything (a policy that `completes` skips token counts else).
    checks_count: ClassVar[bool] = False
    #: False for policies that judge only caller-written text, not system/developer prompts
    #: (a class default; a policy's settings may change it per instance)
    scans_operator_messages: bool = True

    def __init__(self, name: str, stages: frozenset[Stage] = BOTH_STAGES) -> None:
        self.name = name
        self.stages = stages
        self.holdback = 0

    async def on_request(self, ex: Exchange) -> Decision:
        return ALLOW

    async def on_count(self, ex: Exchange) -> Decision:
        return ALLOW

    def find(self, text: str, stage: Stage) -> list[Match]:
        return []

    def hold_from(self, text: str) -> int:
        """Streams: the earliest index where a match still arriving could start. By default the
        last `holdback` characters; a policy that knows its matches' shapes can hold less."""
        return max(0, len(text) - self.holdback)

    def read_back(self, released: str, held: str) -> str:
        """Streams: what `find` must read before the `held` text to read it as in the whole
        text, out of the end of what was `released` (a few words). By default all of it."""
        return released

    async def on_complete(self, ex: Exchange) -> None:
        return None

    def describe(self) -> dict[str, object]:
        """A secret-free summary for `/keeptrusts/config` and `kt policy test`."""
        return {"kind": self.kind, "stages": sorted(s.value for s in self.stages)}
