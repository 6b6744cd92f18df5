"""Azure OpenAI: deployment URLs, the `api-version` query parameter and the `api-key` header.

`base_url` is the resource endpoint (`https://<resource>.openai.azure.com`); the deployment is
the target's `model` (or the requested model name when `model` is unset).
"""

from __future__ import annotations

from keeptrusts.providers.base import ProviderCall
from keeptrusts.providers.openai import PATHS, OpenAIProvider

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIProvider(OpenAIProvider):
    system = "az.ai.openai"
    default_base = "https://example.openai.azure.com"

    def auth_headers(self) -> dict[str, str]:
        return {"api-key": self.api_key} if self.api_key else {}

    def url(self, call: ProviderCall) -> str:
        deployment = self.target.model or str(call.body.get("model", ""))
        version = self.target.api_version or DEFAULT_API_VERSION
        base = self.base
        if base.endswith("/openai"):
            base = base[: -len("/openai")]
        return f"{base}/openai/deployments/{deployment}{PATHS[call.endpoint]}?api-version={version}"
