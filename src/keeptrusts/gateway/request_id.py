"""The request id: the caller's `x-request-id` when it is a plausible one, else a new one.

Meshes (Envoy, Linkerd) and SDKs send UUIDs or similar. The id is echoed in the response,
sent to the provider, written to the access line and stored with the decision event, so a
value longer than 128 characters, or with non-ASCII or control characters, is replaced by a
new id (which the response then carries) rather than copied everywhere.
"""

from __future__ import annotations

import os
from typing import Final

MAX_LENGTH: Final = 128


def request_id(value: str | None) -> str:
    if value and len(value) <= MAX_LENGTH and value.isascii() and value.isprintable():
        return value
    return os.urandom(16).hex()
