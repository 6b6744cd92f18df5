"""The gateway process: start-up, the main loop, reload, and a graceful drain on SIGTERM.

Start-up loads and compiles the config before it listens (a bad config stops it with the
file:line:key message, bad TLS files with a message naming the file; never a traceback).
SIGHUP, `POST /keeptrusts/config/reload` and a change on disk reload: validate (off the event
loop) and compile, then swap; a bad new config is refused and the last good one serves, and so
is a reload that finds no config file where files were read before. Settings read only at start
(`runtime.START_ONLY`) keep their start-up values; a reload that changes them says so in a
warning (restart to apply them).
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
import math
import os
import signal
import socket
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from keeptrusts.config.load import (
    EMBEDDED,
    ConfigError,
    LoadedConfig,
    discover,
    load_files,
    yml_hint,
)
from keeptrusts.config.managed import ManagedConfigPoller
from keeptrusts.config.model import Config
from keeptrusts.config.runtime import Runtime, compile_runtime, restart_needed
from keeptrusts.gateway.app import build_app
from keeptrusts.gateway.health import circuits_open
from keeptrusts.gateway.listener import EnvelopeRequestHandler, LimitedSite
from keeptrusts.gateway.process import settle_memory
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.tls import Rotation, StartupError, server_context
from keeptrusts.gateway.watch import watch
from keeptrusts.limits.backend import LimitBackend, create_backend, url_env_unset
from keeptrusts.policies.budget_gauges import follow_live_budget
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.telemetry.logging import flush_access, set_level
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
        self._reload_lock = asyncio.Lock()
        self.events: object | None = None
        self.managed: ManagedConfigPoller | None = None
        #: the config the process started with (its `START_ONLY` settings are the live ones)
        self.started_config: Config | None = None
        #: `START_ONLY` settings the live config changed since start (a restart applies them)
        self.restart_pending: list[str] = []

    def files(self, *, required: bool = False) -> list[str]:
        return discover(self.opts.policy_configs, self.opts.config_dir, required=required)

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
            runtime = self._compile(loaded, session, limits)
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
        self.started_config = loaded.config
        self._swap(runtime)
        self._apply_settings(loaded.config)
        state = self.state
        self.metrics.in_flight.set_function(lambda: state.in_flight)  # read at scrape time
        # the breakers of whatever config is live at scrape time: a reload leaves no stale target
        self.metrics.circuit_open.bind(lambda: circuits_open(state))
        await self._start_events(loaded.config)
        app = build_app(self.state, self.reload)
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
            await self._start_managed()
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

    def _compile(
        self, loaded: LoadedConfig, session: UpstreamClient, limits: LimitBackend
    ) -> Runtime:
        """Compile `loaded`; a policy or provider that cannot be built is a ConfigError."""
        try:
            return compile_runtime(loaded, session, limits, self.metrics)
        except (ValueError, TypeError) as exc:
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

    def _swap(self, runtime: Runtime) -> None:
        assert self.state is not None
        old = self.state.runtime
        if old is not None:
            info = old.loaded
            self.metrics.config_info.remove(old.version, info.config.pack.name, info.sha[:12])
        self.state.runtime = runtime
        follow_live_budget(self.metrics, runtime.policies)  # its budget owns the budget gauges
        info = runtime.loaded
        self.metrics.config_info.labels(runtime.version, info.config.pack.name, info.sha[:12]).set(
            1
        )

    def _apply_settings(self, config: Config) -> None:
        """The process-wide settings a (re)load changes in place."""
        assert self.state is not None
        set_level(config.logging.level)
        self.state.admin_token = os.environ.get(config.server.admin_token_env) or None
        # the headers of every request that starts from now on are timed with the new value
        EnvelopeRequestHandler.header_timeout = config.server.header_read_timeout_seconds

    def _activate(self, runtime: Runtime) -> None:
        """Swap in a reloaded runtime; warn about settings only a restart applies."""
        assert self.started_config is not None and self.state is not None
        config = runtime.loaded.config
        self._swap(runtime)
        self._apply_settings(config)
        self.metrics.config_reloads.labels("ok").inc()
        self.restart_pending = restart_needed(self.started_config, config)
        self.state.restart_pending = self.restart_pending
        if self.restart_pending:
            log.warning(
                "config %s applied, but a restart is needed for: %s (read only at start; "
                "the process keeps its start-up values until then)",
                runtime.version,
                ", ".join(self.restart_pending),
            )

    def _load_for_reload(self, required: bool) -> LoadedConfig:
        return load_files(self.files(required=required))

    async def reload(self) -> tuple[bool, str]:
        """Validate and compile the config on disk, then swap it in; keep the old one on error.

        Once the config came from files, finding none (a renamed or removed ConfigMap key) is
        an error like any other bad config: the embedded default is a start-up fallback only.
        """
        assert self.state is not None
        async with self._reload_lock:
            required = self.state.live().loaded.sources != (EMBEDDED,)
            try:
                # parsing runs in a thread: a large config must not stall requests
                loaded = await asyncio.to_thread(self._load_for_reload, required)
                runtime = self._compile(loaded, self.state.session, self.state.limits)
                self._still_serving(loaded, runtime)
            except ConfigError as exc:
                self.metrics.config_reloads.labels("invalid").inc()
                log.error(
                    "config reload refused; still serving %s:\n%s", self.state.live().version, exc
                )
                return False, str(exc)
            except Exception as exc:
                self.metrics.config_reloads.labels("invalid").inc()
                log.exception("config reload failed; still serving the last good config")
                return False, f"config reload failed: {exc}"
            self._activate(runtime)
            log.info("config reloaded: %s", runtime.version)
            return True, runtime.version

    def _still_serving(self, loaded: LoadedConfig, runtime: Runtime) -> None:
        """Refuse (ConfigError) a new config that leaves no target in service where the live
        one has some: it would take every replica out of readiness at once (a ConfigMap
        naming a key variable the pods were not given), when the old one still works."""
        assert self.state is not None
        why = runtime.router.unusable()
        if why is not None and self.state.live().router.unusable() is None:
            raise ConfigError([f"{loaded.sources[-1]}: {why}; set it and restart the gateway"])

    async def apply_text(self, text: str) -> bool:
        """Managed mode: apply a config pushed by the control plane."""
        from keeptrusts.config.load import load_texts

        assert self.state is not None
        try:
            loaded = await asyncio.to_thread(load_texts, [("<managed>", text)])
            runtime = self._compile(loaded, self.state.session, self.state.limits)
            self._still_serving(loaded, runtime)
        except Exception as exc:
            self.metrics.config_reloads.labels("invalid").inc()
            log.error("managed config refused: %s", exc)
            return False
        self._activate(runtime)
        return True

    async def _start_managed(self) -> None:
        """`--managed`: poll the control plane for this gateway's config (ETag, every 30 s)."""
        assert self.state is not None
        api_url = os.environ.get("KEEPTRUSTS_API_URL")
        if not api_url:
            log.error("--managed needs KEEPTRUSTS_API_URL; serving the local config only")
            return
        interval = poll_seconds(os.environ.get(POLL_ENV))
        self.managed = ManagedConfigPoller(
            api_url,
            os.environ.get("KEEPTRUSTS_GATEWAY_TOKEN"),
            self.state.gateway_id,
            self.apply_text,
            interval=interval,
        )
        await self.managed.start()

    def watched(self) -> tuple[list[str], str | None]:
        """What a change on disk is looked for in: the files `discover()` took (from
        `--policy-config` or `$KEEPTRUSTS_CONFIG`), or the directory when it is the source
        (so that a `*.yaml` added to it or removed from it also counts)."""
        if self.opts.policy_configs or os.environ.get("KEEPTRUSTS_CONFIG"):
            return self.files(), None
        return [], self.opts.config_dir

    async def _watch(self) -> None:
        files, directory = self.watched()
        await watch(files, directory, self.reload)

    def install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))

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


#: how often `--managed` polls the control plane, in seconds (default 30)
POLL_ENV = "KEEPTRUSTS_MANAGED_POLL_SECONDS"


def poll_seconds(raw: str | None) -> float:
    """`$KEEPTRUSTS_MANAGED_POLL_SECONDS`: a finite number of seconds above 0 (StartupError)."""
    if raw is None or raw == "":
        return 30.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise StartupError(f"{POLL_ENV}: must be a number of seconds above 0, got {raw!r}")
    return seconds


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
