"""Which changed settings only take effect when the process restarts."""

from __future__ import annotations

from keeptrusts.config.load import load_texts
from keeptrusts.config.model import Config
from keeptrusts.config.runtime import restart_needed

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"


def config(extra: str = "") -> Config:
    return load_texts([("cfg.yaml", HEAD + extra)]).config


def test_nothing_start_only_changed() -> None:
    changed = config(
        "server: {max_body_bytes: 2048, admin_token_env: X}\nlogging: {level: debug}\n"
    )
    assert restart_needed(config(), changed) == []


def test_start_only_sections_are_named() -> None:
    changed = config(
        'state: {backend: redis, url: "redis://h:6379/0"}\n'
        "events: {sinks: [stdout]}\n"
        "server: {max_connections: 10}\n"
    )
    assert restart_needed(config(), changed) == ["state", "events", "server.max_connections"]


def test_compared_with_the_start_up_config() -> None:
    """Back to the start-up values: nothing is pending any more."""
    assert (
        restart_needed(config("events: {sinks: [stdout]}\n"), config("events: {sinks: [stdout]}\n"))
        == []
    )
