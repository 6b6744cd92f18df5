"""The gateway under test: its config (the embedded default chain, routed to the bench upstream)
and its start-up through `kt gateway run`, timed to the first 200 from GET /readyz.

The config is generated at run time into the results directory (`gateway.yaml`): the embedded
default (`src/keeptrusts/data/default.yaml`) with its provider targets replaced by one
`openai-compatible` target at the bench upstream, `models: ["*"]`.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bench import procs

RATE_LIMIT = {
    "rules": [
        {
            "scope": "tenant",
            "requests_per_minute": 1_000_000_000,
            "tokens_per_minute": 1_000_000_000_000,
            "max_parallel": 100_000,
        }
    ]
}


def default_config() -> dict[str, Any]:
    text = resources.files("keeptrusts").joinpath("data/default.yaml").read_text()
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    fallback = loaded.get("providers", {}).get("fallback", {})
    if True in fallback:  # YAML 1.1 reads the key `on:` as the boolean true
        fallback["on"] = fallback.pop(True)
    return loaded


def bench_config(base_url: str, *, redis_url: str | None = None) -> dict[str, Any]:
    """The default config routed to `base_url`; with `redis_url`, Redis state + a rate limit
    high enough never to refuse (so the cost of the check is measured, not its refusals)."""
    cfg = default_config()
    cfg["providers"]["targets"] = [
        {
            "id": "bench-upstream",
            "provider": "openai-compatible",
            "base_url": base_url,
            "models": ["*"],
        }
    ]
    if redis_url is not None:
        cfg["state"] = {"backend": "redis", "url": redis_url}
        cfg["policies"]["chain"] = [*cfg["policies"]["chain"], "rate-limit"]
        cfg.setdefault("policy", {})["rate-limit"] = RATE_LIMIT
    return cfg


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def kt_command(repo: Path) -> list[str] | None:
    """`kt` from the repo's virtualenv, else from PATH; None when not installed."""
    local = repo / ".venv" / "bin" / "kt"
    if local.exists():
        return [str(local)]
    found = shutil.which("kt")
    return [found] if found else None


def start(
    name: str,
    kt: list[str],
    config: Path,
    port: int,
    log_dir: Path,
    *,
    workers: int = 1,
    cpus: set[int] | None = None,
    env: dict[str, str] | None = None,
) -> procs.Server:
    cmd = [*kt, "gateway", "run", "--listen", f"127.0.0.1:{port}", "--policy-config", str(config)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    return procs.spawn(name, cmd, port, log_dir, ready_path="/readyz", cpus=cpus, env=env)
