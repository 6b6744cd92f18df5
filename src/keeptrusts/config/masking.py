"""Secrets masked out of anything the gateway shows (the admin config view, CLI output).

Masked: values under secret-looking keys; every upstream header value except plain ones such
as `Content-Type` (so `Cookie`, `Authorization` and vendor key headers are); in URLs, the
user info and query or fragment parameters with secret-looking names (`?password=`,
`?api-key=`, `?sig=`). Env-var *names* (`secret_key_ref.env`) stay readable.

Any string holding `://` counts as a URL, even with whitespace in it (`redis://:my pw@h/0`, a
`url: |` block ending in a newline): shown text is masked on the safe side, and a URL that
validation refuses is still never shown with its password.
"""

from __future__ import annotations

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
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def mask_url(url: str) -> str:
    """`url` with its user info and secret-looking query/fragment values replaced by `***`."""
    parts = split_url(url)
    if parts is None:
        return url
    scheme, creds, head, query = parts
    tail = head if query is None else f"{head}?{query}"
    tail, hash_, fragment = tail.partition("#")
    path, q, query = tail.partition("?")
    user = "" if creds is None else f"{MASK}@"
    return f"{scheme}://{user}{path}{q}{_mask_params(query)}{hash_}{_mask_params(fragment)}"


def split_url(url: str) -> tuple[str, str | None, str, str | None] | None:
    """(scheme, user info or None, host and path, query or None); None if not a URL.

    An unescaped `@`, `/`, `#` or `?` in a password is tolerated: the user info ends at the
    last `@` before the query, or at the last `@` of all when the query holds the only `@`
    (the `?` was then part of the password).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    head, q, query = rest.partition("?")
    if "@" not in head and "@" in query:
        head, q, query = rest, "", ""
    creds: str | None = None
    if "@" in head:
        creds, _, head = head.rpartition("@")
    return scheme, creds, head, query if q else None


def secret_param(name: str) -> bool:
    """A query parameter name hinting at a secret (`password`, `api-key`, `sig`...)."""
    low = name.lower()
    return any(h in low for h in QUERY_SECRET_HINTS)


def _mask_params(text: str) -> str:
    return "&".join(_mask_param(p) for p in text.split("&")) if text else text


def _mask_param(param: str) -> str:
    name, eq, value = param.partition("=")
    if eq and value and secret_param(name):
        return f"{name}={MASK}"
    return param
