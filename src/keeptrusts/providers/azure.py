"""Azure OpenAI: deployment URLs, the `api-version` query parameter and the `api-key` header.

`base_url` is the resource endpoint (`https://<resource>.openai.azure.com`); the deployment is
the target's `model` (or the requested model name when `model` is unset). A base_url ending in
`/openai/v1` is Azure's v1 API instead, which takes OpenAI's paths.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from keeptrusts.errors import ValidationFailed
from keeptrusts.providers.base import ProviderCall
from keeptrusts.providers.openai import PATHS, OpenAIProvider

DEFAULT_API_VERSION = "2024-10-21"
#: a base_url ending so is Azure's v1 API (`https://<resource>.openai.azure.com/openai/v1`):
#: OpenAI's paths, the deployment as the body's `model`, no `api-version`
V1_SUFFIX = "/openai/v1"
#: the first api-version that takes `stream_options` (2024-09-01-preview; GA in 2024-10-21):
#: older ones refuse it ("Unrecognized request argument supplied")
STREAM_OPTIONS_SINCE = "2024-09-01"

#: what an Azure deployment name is made of; anything else (a `/`, `..`, `?`) would change
#: the URL's path, so a request could reach a deployment its model name does not name
DEPLOYMENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class AzureOpenAIProvider(OpenAIProvider):
    system = "az.ai.openai"
    default_base = "https://example.openai.azure.com"
    root_path = ""  # (the deployment URL is built in `url`)

    def auth_headers(self) -> dict[str, str]:
        return {"api-key": self.api_key} if self.api_key else {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        version = self.target.api_version or DEFAULT_API_VERSION
        #: this target's api-version refuses `stream_options` (which the gateway adds to ask
        #: for streamed usage: without it, usage is estimated)
        self.drops_stream_options = not self.base.endswith(V1_SUFFIX) and (
            version[:10] < STREAM_OPTIONS_SINCE
        )

    def payload(self, call: ProviderCall) -> bytes:
        if self.drops_stream_options and "stream_options" in call.body:
            call = replace(call, body={k: v for k, v in call.body.items() if k != "stream_options"})
        return super().payload(call)

    def url(self, call: ProviderCall) -> str:
        if self.base.endswith(V1_SUFFIX):  # the v1 API: OpenAI's paths, model in the body
            return super().url(call)
        deployment = self.target.model or str(call.body.get("model", ""))
        if not _valid_deployment(deployment):
            raise ValidationFailed(
                f"model {deployment[:64]!r} is not a valid Azure deployment name for target "
                f"{self.id!r} (letters, digits, '-', '_' and '.'); send the deployment's name",
                code="invalid_request",
            )
        version = self.target.api_version or DEFAULT_API_VERSION
        base = self.base
        if base.endswith("/openai"):
            base = base[: -len("/openai")]
        query = f"api-version={version}" + (f"&{self.query}" if self.query else "")
        return f"{base}/openai/deployments/{deployment}{PATHS[call.endpoint]}?{query}"


def _valid_deployment(name: str) -> bool:
    return 0 < len(name) <= 255 and name.strip(".") != "" and DEPLOYMENT_CHARS.issuperset(name)
