"""Config changes while serving: a reload from disk, a config pushed by the control plane.

SIGHUP, `POST /keeptrusts/config/reload` and a change on disk call `Reloader.reload`: validate
(off the event loop) and compile, then swap; a bad new config is refused and the last good one
serves, and so is a reload that finds no config file where files were read before. Settings
read only at start (`runtime.START_ONLY`) keep their start-up values; a reload that changes
them says so in a warning (restart to apply them). `--managed` polls the control plane and
applies what it sends the same way (`apply_text`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Callable

from keeptrusts.config.load import EMBEDDED, ConfigError, LoadedConfig, load_files, load_texts
from keeptrusts.config.managed import ManagedConfigPoller
from keeptrusts.config.model import Config
from keeptrusts.config.runtime import Runtime, compile_runtime, restart_needed
from keeptrusts.gateway.listener import EnvelopeRequestHandler
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.tls import StartupError
from keeptrusts.limits.backend import LimitBackend
from keeptrusts.policies.budget_gauges import follow_live_budget
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.telemetry.logging import set_level
from keeptrusts.telemetry.metrics import Metrics

log = logging.getLogger("keeptrusts.gateway")

#: how often `--managed` polls the control plane, in seconds (default 30)
POLL_ENV = "KEEPTRUSTS_MANAGED_POLL_SECONDS"


def compile_loaded(
    loaded: LoadedConfig, session: UpstreamClient, limits: LimitBackend, metrics: Metrics
) -> Runtime:
    """Compile `loaded`; a policy or provider that cannot be built is a ConfigError."""
    try:
        return compile_runtime(loaded, session, limits, metrics)
    except (ValueError, TypeError) as exc:
        raise ConfigError([f"{loaded.sources[-1]}: {exc}"]) from exc


def swap(state: GatewayState, metrics: Metrics, runtime: Runtime) -> None:
    """Make `runtime` the live one (its budget owns the budget gauges, its version the info)."""
    old = state.runtime
    if old is not None:
        info = old.loaded
        metrics.config_info.remove(old.version, info.config.pack.name, info.sha[:12])
    state.runtime = runtime
    follow_live_budget(metrics, runtime.policies)
    info = runtime.loaded
    metrics.config_info.labels(runtime.version, info.config.pack.name, info.sha[:12]).set(1)


def apply_settings(state: GatewayState, config: Config) -> None:
    """The process-wide settings a (re)load changes in place."""
    set_level(config.logging.level)
    state.admin_token = os.environ.get(config.server.admin_token_env) or None
    # the headers of every request that starts from now on are timed with the new value
    EnvelopeRequestHandler.header_timeout = config.server.header_read_timeout_seconds


class Reloader:
    """Swaps validated configs into a running gateway, one at a time."""

    def __init__(
        self,
        state: GatewayState,
        metrics: Metrics,
        files: Callable[[bool], list[str]],
        started: Config,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self._files = files
        #: the config the process started with (its `START_ONLY` settings are the live ones)
        self.started = started
        self._lock = asyncio.Lock()

    def _compile(self, loaded: LoadedConfig) -> Runtime:
        runtime = compile_loaded(loaded, self.state.session, self.state.limits, self.metrics)
        self._still_serving(loaded, runtime)
        return runtime

    def _still_serving(self, loaded: LoadedConfig, runtime: Runtime) -> None:
        """Refuse (ConfigError) a new config that leaves no target in service where the live
        one has some: it would take every replica out of readiness at once (a ConfigMap
        naming a key variable the pods were not given), when the old one still works."""
        why = runtime.router.unusable()
        if why is not None and self.state.live().router.unusable() is None:
            raise ConfigError([f"{loaded.sources[-1]}: {why}; set it and restart the gateway"])

    def _load(self, required: bool) -> LoadedConfig:
        return load_files(self._files(required))

    async def reload(self) -> tuple[bool, str]:
        """Validate and compile the config on disk, then swap it in; keep the old one on error.

        Once the config came from files, finding none (a renamed or removed ConfigMap key) is
        an error like any other bad config: the embedded default is a start-up fallback only.
        """
        async with self._lock:
            required = self.state.live().loaded.sources != (EMBEDDED,)
            try:
                # parsing runs in a thread: a large config must not stall requests
                loaded = await asyncio.to_thread(self._load, required)
                runtime = self._compile(loaded)
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

    async def apply_text(self, text: str) -> bool:
        """Managed mode: apply a config pushed by the control plane."""
        try:
            loaded = await asyncio.to_thread(load_texts, [("<managed>", text)])
            runtime = self._compile(loaded)
        except Exception as exc:
            self.metrics.config_reloads.labels("invalid").inc()
            log.error("managed config refused: %s", exc)
            return False
        self._activate(runtime)
        return True

    def _activate(self, runtime: Runtime) -> None:
        """Swap in a reloaded runtime; warn about settings only a restart applies."""
        config = runtime.loaded.config
        swap(self.state, self.metrics, runtime)
        apply_settings(self.state, config)
        self.metrics.config_reloads.labels("ok").inc()
        self.state.restart_pending = restart_needed(self.started, config)
        if self.state.restart_pending:
            log.warning(
                "config %s applied, but a restart is needed for: %s (read only at start; "
                "the process keeps its start-up values until then)",
                runtime.version,
                ", ".join(self.state.restart_pending),
            )

    def managed_poller(self) -> ManagedConfigPoller | None:
        """`--managed`: a poller of the control plane for this gateway's config (ETag, every
        30 s by default), or None when `KEEPTRUSTS_API_URL` is not set (logged)."""
        api_url = os.environ.get("KEEPTRUSTS_API_URL")
        if not api_url:
            log.error("--managed needs KEEPTRUSTS_API_URL; serving the local config only")
            return None
        return ManagedConfigPoller(
            api_url,
            os.environ.get("KEEPTRUSTS_GATEWAY_TOKEN"),
            self.state.gateway_id,
            self.apply_text,
            interval=poll_seconds(os.environ.get(POLL_ENV)),
        )


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
