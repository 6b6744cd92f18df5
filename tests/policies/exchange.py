"""A bare Exchange for policy tests (the runtime is not used by these policies)."""

from __future__ import annotations

from typing import Any, cast

from keeptrusts.pipeline.context import Exchange


def exchange(
    body: dict[str, Any],
    *,
    endpoint: str = "chat",
    tenant: str = "anonymous",
    api_key_id: str | None = None,
) -> Exchange:
    return Exchange(
        runtime=cast(Any, None),
        endpoint=endpoint,
        body=body,
        raw=b"",
        request_id="req-1",
        model=str(body.get("model", "")),
        stream=False,
        tenant=tenant,
        api_key_id=api_key_id,
    )
