"""Run the control-plane API: open the store (migrating it), listen, stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from keeptrusts.controlplane.app import build_app
from keeptrusts.controlplane.store import Store

log = logging.getLogger("keeptrusts.controlplane")

DEFAULT_DATABASE = "sqlite:///keeptrusts.db"
#: query parameters of a database URL whose values are secret (libpq's `password`, ...)
SECRET_PARAMS = ("pass", "pwd", "secret", "token", "key")
MASK = "***"


@dataclass
class ApiOptions:
    host: str = "0.0.0.0"
    port: int = 8080
    database: str = DEFAULT_DATABASE


def create_store(url: str) -> Store:
    """`sqlite:///relative.db`, `sqlite:////absolute.db`, a bare path, or `postgresql://...`."""
    if url.startswith(("postgresql://", "postgres://")):
        from keeptrusts.controlplane.postgres_store import PostgresStore

        return PostgresStore(url)
    from keeptrusts.controlplane.sqlite_store import SqliteStore

    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        path = path[1:] if path.startswith("/") else path  # sqlite:///x.db -> x.db
        return SqliteStore(path or "keeptrusts.db")
    if "://" in url:
        scheme = url.partition("://")[0]
        raise ValueError(
            f"--database {_safe(url)}: unsupported scheme {scheme!r}; "
            "use sqlite:///PATH or postgresql://..."
        )
    return SqliteStore(url)


def tokens_from_env() -> frozenset[str]:
    tokens = {t.strip() for t in os.environ.get("KEEPTRUSTS_API_TOKENS", "").split(",")}
    tokens.add(os.environ.get("KEEPTRUSTS_GATEWAY_TOKEN", "").strip())
    tokens.discard("")
    return frozenset(tokens)


async def serve(opts: ApiOptions) -> int:
    try:
        store = create_store(opts.database)
    except ValueError as exc:
        log.error("%s", exc)
        print(f"kt api: {exc}", flush=True)
        return 2
    try:
        await store.open()
    except Exception as exc:
        # a driver may quote the URL it failed on: never print its secrets
        reason = _scrub(str(exc), opts.database)
        log.error("cannot open database %s: %s", _safe(opts.database), reason)
        print(f"kt api: cannot open database {_safe(opts.database)}: {reason}", flush=True)
        return 1
    tokens = tokens_from_env()
    if not tokens:
        log.warning("no tokens configured: every /v1 request gets 401; set KEEPTRUSTS_API_TOKENS")
    runner = web.AppRunner(build_app(store, tokens), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, opts.host, opts.port, reuse_address=True).start()
    except OSError as exc:
        print(
            f"kt api: cannot listen on {opts.host}:{opts.port}: {exc.strerror or exc}", flush=True
        )
        await runner.cleanup()
        await store.close()
        return 1
    log.info("control-plane API on %s:%d, database %s", opts.host, opts.port, store.backend)
    print(f"kt api: listening on {opts.host}:{opts.port} ({store.backend})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await store.close()
    return 0


def _safe(url: str) -> str:
    """The database URL without secrets: the password of `user:pass@` and the values of
    secret query parameters (`?password=...`)."""
    parts = _split(url)
    if parts is None:
        return url
    scheme, creds, host, query = parts
    if creds is not None:
        user, colon, _ = creds.partition(":")
        host = f"{user}:{MASK}@{host}" if colon else f"{user}@{host}"
    if query is None:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}?" + "&".join(_safe_param(p) for p in query.split("&"))


def _split(url: str) -> tuple[str, str | None, str, str | None] | None:
    """(scheme, user info or None, host and path, query or None); None if not a URL.

    An unescaped `@` or `?` in a password is tolerated: the user info ends at the last `@`
    before the query, or at the last `@` of all when the query holds the only `@` (the `?`
    was then part of the password).
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


def _safe_param(param: str) -> str:
    name, eq, value = param.partition("=")
    if eq and value and _secret_param(name):
        return f"{name}={MASK}"
    return param


def _secret_param(name: str) -> bool:
    return any(h in name.lower() for h in SECRET_PARAMS)


def _secrets(url: str) -> set[str]:
    """The secret values in a database URL, as written and percent-decoded."""
    parts = _split(url)
    if parts is None:
        return set()
    _, creds, _, query = parts
    found = {creds.partition(":")[2]} if creds else set()
    for param in (query or "").split("&"):
        name, _, value = param.partition("=")
        if _secret_param(name):
            found.add(value)
    found |= {unquote(v) for v in found}
    found.discard("")
    return found


def _scrub(text: str, url: str) -> str:
    """`text` with every secret of `url` replaced by `***` (longest first)."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
