"""Build `rate-limit` / `budget` policies from config text and drive them like the chain does."""

from __future__ import annotations

from typing import Any, cast

from keeptrusts.config.load import load_texts
from keeptrusts.limits.backend import LimitBackend
from keeptrusts.pipeline.context import Exchange, Usage
from keeptrusts.pipeline.stage import Policy
from keeptrusts.policies.registry import KINDS, BuildContext
from keeptrusts.pricing import Pricing
from keeptrusts.telemetry.metrics import Metrics

HEADER = """
pack: {name: limits-test}
tenants: {api_keys: {"sha256:abababababababababababababababababababababababababababababababab": team-a}}
policies: {chain: [%s]}
policy:
"""


def build(
    kind: str, settings_yaml: str, backend: LimitBackend, metrics: Metrics | None = None
) -> Policy:
    text = (
        HEADER % kind + f"  {kind}:\n" + "\n".join("    " + ln for ln in settings_yaml.splitlines())
    )
    loaded = load_texts([("test.yaml", text)])
    ctx = BuildContext(
        config=loaded.config,
        pricing=Pricing(loaded.config.pricing),
        limits=backend,
        metrics=metrics,
    )
    return KINDS[kind].build(loaded.settings[kind], ctx)


#: the one key `HEADER` lists (`tenants.api_keys`), as requests carry it
LISTED_KEY = "sha256:" + "ab" * 32


def exchange(
    *,
    tenant: str = "team-a",
    model: str = "gpt-4o-mini",
    content: str = "x" * 400,
    max_tokens: int | None = 1000,
    api_key_id: str | None = None,
    endpoint: str = "chat",
    body: dict[str, Any] | None = None,
) -> Exchange:
    """A chat request (or, with `body`, any request of `endpoint`; `max_tokens` is added)."""
    if body is None:
        body = {"model": model, "messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return Exchange(
        runtime=cast(Any, None),
        endpoint=endpoint,
        body=body,
        raw=b"",
        request_id="r",
        model=model,
        stream=False,
        tenant=tenant,
        api_key_id=api_key_id,
    )


def used(ex: Exchange, input_tokens: int, output_tokens: int) -> None:
    ex.usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
