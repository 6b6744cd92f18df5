"""TEMPORARY PLACEHOLDER written by the lead so the core can run: the identity helper
replaces this whole file with the real TenantResolver (same names and signatures)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from keeptrusts.config.model import Tenants


@dataclass(frozen=True)
class Identity:
    tenant: str
    source: str
    principal: str | None = None
    api_key_id: str | None = None


class TenantResolver:
    def __init__(self, tenants: Tenants) -> None:
        self.tenants = tenants

    def resolve(
        self, headers: Mapping[str, str], peer_spiffe_id: str | None, api_key: str | None
    ) -> Identity:
        key_id = None
        if api_key:
            key_id = "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()[:12]
        return Identity(self.tenants.default, "default", None, key_id)
