"""The docs tell the truth about configs: every YAML snippet of README.md and docs/*.md that
is a gateway config passes `kt policy lint` (a fragment, one without `pack`, layered over a
minimal config, as the docs present it), and the README's offline session prints exactly what
the README shows."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BASE = "pack: {name: base, version: 1.0.0}\npolicies: {chain: []}\n"
#: Kubernetes manifests and container-spec fragments that sit beside configs in the docs
NOT_CONFIG = {"apiVersion", "kind", "metadata", "spec", "env", "containers"}
#: the placeholder the docs write for a key id, and a real one in its place
PLACEHOLDER = "sha256:<hex of the key>"
KEY_ID = "sha256:" + hashlib.sha256(b"a documented key").hexdigest()


def fences(path: Path, lang: str) -> list[tuple[int, str]]:
    text = path.read_text("utf-8")
    pattern = rf"^```{lang}\n(.*?)^```"
    return [
        (text[: m.start()].count("\n") + 1, m.group(1))
        for m in re.finditer(pattern, text, re.S | re.M)
    ]


def is_config(snippet: str) -> bool:
    try:
        docs = [d for d in yaml.safe_load_all(snippet) if d is not None]
    except yaml.YAMLError:
        return True  # lint says what is wrong with it
    return all(isinstance(d, dict) and not (NOT_CONFIG & set(d)) for d in docs)


SNIPPETS = [
    pytest.param(snippet, id=f"{path.name}:{line}")
    for path in DOCS
    for line, snippet in fences(path, "ya?ml")
    if is_config(snippet)
]


def kt(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    return subprocess.run(
        [sys.executable, "-m", "keeptrusts", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_docs_have_config_snippets() -> None:
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_every_config_snippet_lints(snippet: str, tmp_path: Path) -> None:
    files = []
    if not re.search(r"^pack:", snippet, re.M):
        (tmp_path / "00-base.yaml").write_text(BASE)
        files.append("00-base.yaml")
    (tmp_path / "snippet.yaml").write_text(snippet.replace(PLACEHOLDER, KEY_ID))
    files.append("snippet.yaml")
    done = kt("policy", "lint", *files, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_readme_offline_session(tmp_path: Path) -> None:
    readme = REPO / "README.md"
    configs = [s for _, s in fences(readme, "yaml") if s.startswith("pack:")]
    assert len(configs) == 1, "README: one full config under 'Your own config'"
    (tmp_path / "my-policy.yaml").write_text(configs[0])
    bad = configs[0].replace("pii-detector: {action: redact}", "pii-detector: {action: mask}")
    assert bad != configs[0]
    (tmp_path / "bad.yaml").write_text(bad)
    [session] = [s for _, s in fences(readme, "console") if "kt policy" in s]
    commands = re.split(r"^\$ ", session, flags=re.M)[1:]
    assert len(commands) == 3
    for block in commands:
        command, _, expected = block.partition("\n")
        argv = shlex.split(command, comments=True)
        assert argv[0] == ".venv/bin/kt"
        done = kt(*argv[1:], cwd=tmp_path)
        want_code = 1 if "exit status 1" in command else 0
        assert done.returncode == want_code, done.stderr
        assert done.stdout + done.stderr == expected, command
