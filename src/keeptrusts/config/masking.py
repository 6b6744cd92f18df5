"""Secrets masked out of anything the gateway shows (the admin config view, CLI output).

Masked: values under secret-looking keys; every upstream header value except plain ones such
as `Content-Type` (so `Cookie`, `Authorization` and vendor key headers are); in URLs, the
user info and query or fragment parameters with secret-looking names (`?password=`,
`?api-key=`, `?sig=`). Env-var *names* (`secret_key_ref.env`) stay readable.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_HINTS = ("key", "token", "secret", "password", "auth", "credential")
#: query parameter names hinting at a secret (`?password=`, `?api-key=`, `?sig=`, `?code=`...)
QUERY_SECRET_HINTS = (*SECRET_HINTS, "pass", "pwd", "sig", "session", "cookie", "jwt", "code")
#: upstream header values shown in clear; every other header value is masked
PLAIN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "anthropic-beta",
        "anthropic-version",
        "content-type",
        "openai-beta",
        "openai-organization",
        "openai-project",
        "user-agent",
    }
)
#: keys whose names look secret but whose values are not (an env var's name, a key prefix)
PLAIN_KEYS = frozenset({"env", "key_prefix"})
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
MASK = "***"


def mask(value: Any, key: str = "") -> Any:
    """Mask anything that looks like a secret; keep env-var *names* (secret_key_ref.env).

    Masked: values under secret-looking keys; every upstream header value except plain
    ones such as `Content-Type` (so `Cookie`, `Authorization` and vendor key headers are);
    in URLs, the user info and query or fragment parameters with secret-looking names
    (`?password=`, `?api-key=`, `?sig=`).
    """
    if key == "api_keys" and value:
        return {MASK: f"{len(value)} hashed keys"}
    if key == "headers" and isinstance(value, dict):
        return {k: v if str(k).lower() in PLAIN_HEADERS else MASK for k, v in value.items()}
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if (
        isinstance(value, str)
        and key not in PLAIN_KEYS
        and any(h in key.lower() for h in SECRET_HINTS)
    ):
        return MASK
    if isinstance(value, str) and _URL.fullmatch(value):
        return mask_url(value)
    return value


def mask_url(url: str) -> str:
    """`url` with its user info and secret-looking query/fragment values replaced by `***`."""
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    tail, hash_, fragment = tail.partition("#")
    path, q, query = tail.partition("?")
    return f"{scheme}://{authority}{path}{q}{_mask_params(query)}{hash_}{_mask_params(fragment)}"


def _mask_params(text: str) -> str:
    return "&".join(_mask_param(p) for p in text.split("&")) if text else text


def _mask_param(param: str) -> str:
    name, eq, value = param.partition("=")
    low = name.lower()
    if eq and value and any(h in low for h in QUERY_SECRET_HINTS):
        return f"{name}={MASK}"
    return param
