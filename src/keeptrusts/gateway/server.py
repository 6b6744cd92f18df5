"""The gateway process: start-up, the main loop, and a graceful drain on SIGTERM.

Start-up loads and compiles the config before it listens (a bad config stops it with the
file:line:key message, bad TLS files with a message naming the file; never a traceback).
SIGHUP, `POST /keeptrusts/config/reload` and a change on disk reload (`reloading.py`).
SIGTERM: `/readyz` turns 503 at once and traffic is still served for `drain_delay_seconds`;
then the listener closes (new connections are refused; a request on a connection still open
gets 503 `shutting_down` and `Connection: close`), in-flight requests and streams get up to
`drain_timeout_seconds`, and those still running then are ended (a stream with an error event
and `[DONE]`, accounted 503) within `CUT_GRACE_SECONDS`; events are flushed or spooled, and
the process exits 0. The sum is in docs/drain.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from keeptrusts.config.load import ConfigError, LoadedConfig, discover, load_files, yml_hint
from keeptrusts.config.managed import ManagedConfigPoller
from keeptrusts.gateway.app import build_app
from keeptrusts.gateway.health import circuits_open
from keeptrusts.gateway.listener import LimitedSite
from keeptrusts.gateway.process import settle_memory
from keeptrusts.gateway.reloading import Reloader, apply_settings, compile_loaded, swap
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.tls import Rotation, StartupError, server_context
from keeptrusts.gateway.watch import watch
from keeptrusts.limits.backend import LimitBackend, create_backend, url_env_unset
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.telemetry.logging import flush_access
from keeptrusts.telemetry.metrics import Metrics

log = logging.getLogger("keeptrusts.gateway")

#: after the drain deadline: time for the streams cut to write their error event and [DONE]
CUT_GRACE_SECONDS = 1.0
#: aiohttp's wait for a request still running at cleanup, which it applies twice (wait, then
#: cancel and wait): by then the drain has ended every request, so this is only a backstop
SHUTDOWN_SECONDS = 0.25
#: the most the decision events still queued get to reach the API or the spool at exit
EVENTS_FLUSH_SECONDS = 5.0


@dataclass
class ServeOptions:
    host: str = "0.0.0.0"
    port: int = 41002
    policy_configs: list[str] = field(default_factory=list)
    config_dir: str = "/etc/keeptrusts"
    fail_mode: str = "block"
    managed: bool = False
    reuse_port: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    spool_dir: str | None = None


class GatewayServer:
    def __init__(self, opts: ServeOptions) -> None:
        self.opts = opts
        self.metrics = Metrics()
        self.state: GatewayState | None = None
        self.runner: web.AppRunner | None = None
        self.site: LimitedSite | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.events: object | None = None
        self.managed: ManagedConfigPoller | None = None
        self.reloader: Reloader | None = None

    def files(self, *, required: bool = False) -> list[str]:
        return discover(self.opts.policy_configs, self.opts.config_dir, required=required)

    def _files_for_reload(self, required: bool) -> list[str]:
        return self.files(required=required)

    async def start(self) -> None:
        o = self.opts
        tls = server_context(o.tls_cert, o.tls_key, o.tls_client_ca)  # StartupError: bad file
        files = self.files()
        if not files:
            log.warning(
                "no policy config file (--policy-config, $KEEPTRUSTS_CONFIG, %s/*.yaml)%s; "
                "serving the embedded default",
                self.opts.config_dir,
                yml_hint(self.opts.config_dir),
            )
        loaded = load_files(files)  # raises ConfigError: refuse to start
        limits = self._limits(loaded)
        session = UpstreamClient.open()
        try:
            runtime = compile_loaded(loaded, session, limits, self.metrics)
        except ConfigError:  # (asyncio would log "Unclosed client session" errors after it)
            await session.close()
            raise
        self.state = GatewayState(
            runtime=None,
            metrics=self.metrics,
            session=session,
            limits=limits,
            gateway_id=os.environ.get("KEEPTRUSTS_GATEWAY_ID") or f"gw-{uuid.uuid4().hex[:12]}",
            policy_paths=tuple(self.opts.policy_configs),
            config_dir=self.opts.config_dir,
            fail_mode=self.opts.fail_mode,
        )
        state = self.state
        self.reloader = Reloader(state, self.metrics, self._files_for_reload, loaded.config)
        swap(state, self.metrics, runtime)
        apply_settings(state, loaded.config)
        self.metrics.in_flight.set_function(lambda: state.in_flight)  # read at scrape time
        # the breakers of whatever config is live at scrape time: a reload leaves no stale target
        self.metrics.circuit_open.bind(lambda: circuits_open(state))
        await self._start_events(loaded.config)
        app = build_app(state, self.reloader.reload)
        self.runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=SHUTDOWN_SECONDS,  # in-flight work was already ended by drain()
        )
        await self.runner.setup()
        limit = loaded.config.server.max_connections
        self.site = LimitedSite(self.runner, self._socket(), limit, ssl_context=tls)
        await self.site.start()
        self._tasks.append(asyncio.create_task(self._watch()))
        if tls is not None and o.tls_cert:  # rotated certificates are picked up
            rotation = Rotation(tls, o.tls_cert, o.tls_key, o.tls_client_ca)
            self._tasks.append(asyncio.create_task(watch(rotation.files, None, rotation.changed)))
        if self.opts.managed:
            self.managed = self.reloader.managed_poller()
            if self.managed is not None:
                await self.managed.start()
        log.info("listening on %s:%s, config %s", self.opts.host, self.opts.port, runtime.version)

    def _limits(self, loaded: LoadedConfig) -> LimitBackend:
        state = loaded.config.state
        url = state.redis_url()
        if state.backend == "redis" and url is None and state.url_env:
            raise ConfigError([f"{loaded.sources[-1]}: {url_env_unset(state.url_env)}"])
        try:
            return create_backend(
                state.backend,
                url,
                state.key_prefix,
                fail_mode=self.opts.fail_mode,
                metrics=self.metrics,
            )
        except ValueError as exc:  # validated at load; a last guard against a traceback
            raise ConfigError([f"{loaded.sources[-1]}: {exc}"]) from exc

    async def _start_events(self, config: object) -> None:
        try:
            from keeptrusts.events.wiring import start_events
        except ImportError:
            return
        assert self.state is not None
        self.events = await start_events(self.state, self.opts.spool_dir)

    def _socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.opts.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.opts.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.opts.host, self.opts.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.opts.port = sock.getsockname()[1]
        return sock

    def watched(self) -> tuple[list[str], str | None]:
        """What a change on disk is looked for in: the files `discover()` took (from
        `--policy-config` or `$KEEPTRUSTS_CONFIG`), or the directory when it is the source
        (so that a `*.yaml` added to it or removed from it also counts)."""
        if self.opts.policy_configs or os.environ.get("KEEPTRUSTS_CONFIG"):
            return self.files(), None
        return [], self.opts.config_dir

    async def _watch(self) -> None:
        files, directory = self.watched()
        assert self.reloader is not None
        await watch(files, directory, self.reloader.reload)

    def install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        reload = self.reloader.reload if self.reloader is not None else None
        if reload is not None:
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload()))

    async def serve_forever(self) -> None:
        await self._stop.wait()
        await self.drain()

    async def drain(self) -> None:
        assert self.state is not None
        cfg = self.state.live().loaded.config.server
        self.state.draining = True
        log.info("draining: readyz is 503; serving for %.1fs more", cfg.drain_delay_seconds)
        await asyncio.sleep(cfg.drain_delay_seconds)
        if self.site is not None:
            self.site.stop_accepting()
        log.info(
            "draining: no new connections; %d requests in flight get up to %.1fs",
            self.state.in_flight,
            cfg.drain_timeout_seconds,
        )
        if not await self._settled(cfg.drain_timeout_seconds) and self.site is not None:
            cut = self.site.cut_requests()
            log.warning(
                "drain deadline: ending the %d requests still running (a stream with an error "
                "event and [DONE])",
                cut,
            )
            await self._settled(CUT_GRACE_SECONDS)
        for task in self._tasks:
            task.cancel()
        if self.managed is not None:
            await self.managed.close()
        if self.runner is not None:
            await self.runner.cleanup()
        close = getattr(self.events, "close", None)
        if close is not None:
            await close(EVENTS_FLUSH_SECONDS)
        await self.state.limits.close()
        await self.state.session.close()
        self.metrics.close()
        flush_access()
        log.info("drained; exiting")

    async def close_unstarted(self) -> None:
        """Release what `start()` built before it failed (the port could not be bound, or a
        setting read after binding was refused): its tasks, the provider session (else
        asyncio logs an "Unclosed client session" error), the event pipeline and the limits
        backend. Nothing was served, so there is nothing to drain."""
        for task in self._tasks:
            task.cancel()
        close = getattr(self.events, "close", None)
        if close is not None:
            await close(EVENTS_FLUSH_SECONDS)
        if self.runner is not None:
            await self.runner.cleanup()
        if self.state is not None:
            await self.state.limits.close()
            await self.state.session.close()
        self.metrics.close()

    async def _settled(self, seconds: float) -> bool:
        """Wait up to `seconds` for the requests in flight and their completion work (budget
        settlement after the response) to end; whether they did."""
        assert self.state is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.state.in_flight > 0 or self.state.background:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True


async def run(opts: ServeOptions) -> int:
    server = GatewayServer(opts)
    try:
        await server.start()
    except ConfigError as exc:
        log.error("refusing to start: invalid policy config\n%s", exc)
        print(f"kt: invalid policy config:\n{exc}", flush=True)
        return 2
    except StartupError as exc:
        log.error("refusing to start: %s", exc)
        print(f"kt: {exc}", flush=True)
        await server.close_unstarted()
        return 2
    except OSError as exc:
        print(f"kt: cannot listen on {opts.host}:{opts.port}: {exc.strerror or exc}", flush=True)
        await server.close_unstarted()
        return 1
    server.install_signals()
    settle_memory()
    await server.serve_forever()
    return 0
