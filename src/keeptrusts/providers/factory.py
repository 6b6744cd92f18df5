"""Build provider adapters from config targets (one adapter class per `provider` kind)."""

from __future__ import annotations

import logging
import os

from keeptrusts.config.targets import Target
from keeptrusts.providers.anthropic import AnthropicProvider
from keeptrusts.providers.azure import AzureOpenAIProvider
from keeptrusts.providers.base import Provider
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.providers.echo import EchoProvider
from keeptrusts.providers.openai import OpenAICompatibleProvider, OpenAIProvider

log = logging.getLogger("keeptrusts.providers")

ADAPTERS: dict[str, type[Provider]] = {
    "openai": OpenAIProvider,
    "openai-compatible": OpenAICompatibleProvider,
    "azure-openai": AzureOpenAIProvider,
    "anthropic": AnthropicProvider,
    "echo": EchoProvider,
}


def build_providers(targets: list[Target], session: UpstreamClient) -> list[Provider]:
    """Adapters for every usable target. A target whose key variable is unset is left out
    (with a warning), so the embedded default routes to `echo` when OPENAI_API_KEY is absent."""
    out: list[Provider] = []
    for target in targets:
        key: str | None = None
        if target.secret_key_ref is not None:
            key = os.environ.get(target.secret_key_ref.env) or None
            if key is None:
                log.warning("target %r skipped: %s", target.id, unkeyed_reason(target))
                continue
        out.append(ADAPTERS[target.provider](target, session, key))
    return out


def unkeyed_reason(target: Target) -> str:
    """Why `target` is out of service (`build_providers` leaves out no other): its key
    variable's name, which is config, never its value."""
    env = target.secret_key_ref.env if target.secret_key_ref is not None else "?"
    return f"environment variable {env} (secret_key_ref.env) is not set"
