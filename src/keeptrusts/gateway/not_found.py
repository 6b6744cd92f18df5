"""What a 404 says to do: most are a client's base URL set one step off.

An SDK builds its request URL from a base URL and the API's path, so a wrong base URL shows as
a path the gateway does not serve: `/v1/v1/...` (a base URL ending in `/v1` given to an SDK
that adds its own), `/chat/completions` (the OpenAI SDK given the gateway's root),
`/openai/deployments/...` (the Azure OpenAI SDK, whose paths the gateway does not speak),
`/api/v1/chat/completions` (a path prefix from another gateway's URL), or a trailing slash.
The hint names the base URL to set, with this gateway's own address as the client reached it.
"""

from __future__ import annotations

#: the API paths the gateway serves (POST), under `/v1`
SERVED = ("/chat/completions", "/completions", "/embeddings", "/responses", "/messages")
#: the longest address echoed back in a hint (the client's own Host header)
MAX_HOST = 100


def hint(path: str, root: str) -> str:
    """`; what to do` for a 404 on `path`, or '' when nothing better than Not Found can be
    said. `root` is the gateway's address as the client reached it (`http://HOST:PORT`)."""
    root = root[: MAX_HOST + 8]
    if path.startswith("/v1/v1/"):
        return (
            "; the client's base URL ends in /v1 and the SDK added another: give the Anthropic "
            f"SDK the gateway's root ({root}), and the OpenAI SDK {root}/v1"
        )
    if path.startswith("/openai/deployments/"):
        return (
            "; this is an Azure OpenAI deployment path, which the gateway does not serve: use the "
            f"OpenAI SDK (not AzureOpenAI) with base URL {root}/v1 and the deployment name as "
            "the model"
        )
    trimmed = path.rstrip("/")
    if trimmed != path and trimmed.removeprefix("/v1") in SERVED and trimmed.startswith("/v1/"):
        return f"; drop the trailing slash: {trimmed}"
    served = next((s for s in SERVED if trimmed.endswith(s)), None)
    if served is not None and not trimmed.startswith("/v1/"):
        return (
            f"; the gateway serves {'/v1' + served} at its root: set the OpenAI SDK's base URL "
            f"to {root}/v1 (the Anthropic SDK's to {root})"
        )
    if path.startswith("/v1/"):
        listed = ", ".join("/v1" + s for s in SERVED)
        return f"; the gateway governs POST {listed} and serves GET /v1/models"
    return ""
