"""`model-allowlist.api_keys` names keys as `tenants.api_keys` does: `sha256:<64 hex digits>`
of the key, in any case. A pasted key (or any other string, which could never match a
request) is a config error naming file:line:key without echoing it; an upper-case digest,
which `tenants.api_keys` accepts, applies to that key's requests."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fakes.gateway import GatewayFactory

CALLER_KEY = "sk-caller-allowlist-0123456789"
DIGEST = hashlib.sha256(CALLER_KEY.encode()).hexdigest()


def config(key_id: str) -> str:
    return f"""pack: {{name: allowlist, version: 1.0.0}}
providers:
  targets:
    - {{id: echo, provider: echo, models: ["*"]}}
policies:
  chain: [model-allowlist]
policy:
  model-allowlist:
    models: ["gpt-4o-mini"]
    api_keys: {{"{key_id}": ["gpt-4.1"]}}
"""


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    return subprocess.run(
        [sys.executable, "-m", "keeptrusts", "policy", "lint", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_pasted_key_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pasted.yaml"
    path.write_text(config(CALLER_KEY))
    done = lint(path)
    assert done.returncode == 1, done.stdout
    assert f"{path}:10: policy.model-allowlist.api_keys:" in done.stderr, done.stderr
    assert "sha256:<64 hex digits>" in done.stderr
    assert CALLER_KEY not in done.stderr


def test_an_upper_case_digest_applies(gateways: GatewayFactory, tmp_path: Path) -> None:
    path = tmp_path / "upper.yaml"
    path.write_text(config("SHA256:" + DIGEST.upper()))
    assert lint(path).returncode == 0
    gw = gateways.start(path.read_text())
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    with_key = httpx.post(
        gw.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {CALLER_KEY}"},
        timeout=30,
    )
    assert with_key.status_code == 200, with_key.text
    other = httpx.post(
        gw.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": "Bearer sk-someone-else-0123456789"},
        timeout=30,
    )
    assert other.status_code == 409, other.text
    assert other.json()["error"]["policy"] == "model-allowlist"
