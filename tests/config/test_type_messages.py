"""A value of the wrong shape is reported in YAML terms with what to write, not as pydantic's
'Input should be a valid dictionary or instance of Providers'; and a policy kind written with
no settings (`pii-detector:` on its own line) takes its defaults, as `{}` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAD = "pack: {name: x}\npolicies: {chain: [pii-detector]}\n"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    return subprocess.run(
        [sys.executable, "-m", "keeptrusts", "policy", "lint", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "providers:\n  - id: a\n",
            "3: providers: must be a mapping (key: value lines), not a list",
        ),
        (
            "providers:\n  targets:\n    - {id: a, provider: openai, models: gpt-4o}\n",
            "5: providers.targets[0].models: must be a list ([a, b] or '- item' lines), not text",
        ),
        (
            "policy:\n  pii-detector: redact\n",
            "4: policy.pii-detector: must be a mapping (key: value lines), not text",
        ),
        (
            "tenants: {known: team-a}\n",
            "3: tenants.known: must be a list ([a, b] or '- item' lines), not text",
        ),
    ],
    ids=["providers list", "models text", "kind text", "known text"],
)
def test_shape_problems_say_what_to_write(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(HEAD + body)
    done = lint(path)
    assert done.returncode == 1
    assert f"{path}:{problem}" in done.stderr, done.stderr
    assert "Input should be" not in done.stderr and "instance of" not in done.stderr


def test_a_kind_with_no_settings_takes_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(HEAD + "policy:\n  pii-detector:\n")
    done = lint(path)
    assert done.returncode == 0, done.stderr
