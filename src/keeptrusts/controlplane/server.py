"""Run the control-plane API: open the store (migrating it), listen, stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from keeptrusts.config.masking import MASK, mask_url, secret_param, split_url
from keeptrusts.controlplane.app import build_app
from keeptrusts.controlplane.store import Store

log = logging.getLogger("keeptrusts.controlplane")

DEFAULT_DATABASE = "sqlite:///keeptrusts.db"


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
            f"--database {mask_url(url)}: unsupported scheme {scheme!r}; "
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
        log.error("cannot open database %s: %s", mask_url(opts.database), reason)
        print(f"kt api: cannot open database {mask_url(opts.database)}: {reason}", flush=True)
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


def _secrets(url: str) -> set[str]:
    """The secret values in a database URL, as written and percent-decoded."""
    parts = split_url(url)
    if parts is None:
        return set()
    _, creds, _, query = parts
    found = {creds.partition(":")[2]} if creds else set()
    for param in (query or "").split("&"):
        name, _, value = param.partition("=")
        if secret_param(name):
            found.add(value)
    found |= {unquote(v) for v in found}
    found.discard("")
    return found


def _scrub(text: str, url: str) -> str:
    """`text` with every secret of `url` replaced by `***` (longest first)."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
