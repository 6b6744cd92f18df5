"""`kt policy lint -` and `kt policy test -`: a config FILE of `-` is read from stdin (as in
`kubectl get configmap ... | kt policy lint -`), layered where it stands, and named `<stdin>`
in problems. Stdin holds one text: a config and `--file -` together is a usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG = """pack: {name: piped, version: 2.0.0}
policies:
  chain: [pii-detector, dlp-filter]
policy:
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""


def kt(*args: str, stdin: bytes, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    done = subprocess.run(
        [sys.executable, "-m", "keeptrusts", "policy", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_lint_reads_the_config_from_stdin(tmp_path: Path) -> None:
    done = kt("lint", "-", stdin=CONFIG.encode(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: <stdin> (config 2.0.0+"), done.stdout
    assert "chain: pii-detector, dlp-filter" in done.stdout


def test_lint_layers_stdin_where_it_stands(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(CONFIG)
    overlay = b"policy:\n  pii-detector:\n    action: mask\n"
    done = kt("lint", "base.yaml", "-", stdin=overlay, cwd=tmp_path)
    assert done.returncode == 1
    assert "<stdin>:3: policy.pii-detector.action: 'mask' is not one of redact|block" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


def test_lint_names_stdin_that_is_not_utf8(tmp_path: Path) -> None:
    done = kt("lint", "-", stdin=b"pack: {name: caf\xe9}\n", cwd=tmp_path)
    assert done.returncode == 1
    assert "<stdin>: policy config is not UTF-8 text" in done.stderr, done.stderr


def test_test_reads_the_config_from_stdin(tmp_path: Path) -> None:
    done = kt("test", "-", "--input", "mail jane@example.com", stdin=CONFIG.encode(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("text:\nmail [REDACTED:EMAIL]\n"), done.stdout


def test_stdin_holds_one_text(tmp_path: Path) -> None:
    done = kt("test", "-", "--file", "-", stdin=CONFIG.encode(), cwd=tmp_path)
    assert done.returncode == 2
    assert "stdin" in done.stderr and "Traceback" not in done.stderr, done.stderr
    done = kt("lint", "-", "-", stdin=CONFIG.encode(), cwd=tmp_path)
    assert done.returncode == 2
    assert "stdin" in done.stderr and "Traceback" not in done.stderr, done.stderr
