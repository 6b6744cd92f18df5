"""`kt gateway run` stops on a bad config or bad TLS files with one clear message, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.cases import BAD_STATE, HEAD, SECRET
from tests.fakes.gateway import GatewayFactory


@pytest.mark.parametrize(
    ("state", "words"),
    BAD_STATE,
)
def test_bad_state_refuses_to_start_naming_file_line_key(
    gateways: GatewayFactory, state: str, words: str
) -> None:
    gw = gateways.start(HEAD + state, wait=False)
    assert gw.proc.wait(15) == 2
    out = gw.logs()
    assert f"{gw.config}:3: {words}" in out, out
    assert "Traceback" not in out and SECRET not in out


def test_missing_tls_cert_is_named(gateways: GatewayFactory, tmp_path: Path) -> None:
    missing = tmp_path / "missing-cert.pem"
    gw = gateways.start(HEAD, wait=False, args=["--tls-cert", str(missing)])
    assert gw.proc.wait(15) == 2
    out = gw.logs()
    assert f"kt: --tls-cert {missing}: cannot read: No such file or directory" in out, out
    assert "cannot listen" not in out and "Traceback" not in out


def test_missing_tls_key_is_named(gateways: GatewayFactory, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    key = tmp_path / "missing-key.pem"
    gw = gateways.start(HEAD, wait=False, args=["--tls-cert", str(cert), "--tls-key", str(key)])
    assert gw.proc.wait(15) == 2
    assert f"kt: --tls-key {key}: cannot read" in gw.logs()


def test_unusable_tls_cert_is_named(gateways: GatewayFactory, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    gw = gateways.start(HEAD, wait=False, args=["--tls-cert", str(cert)])
    assert gw.proc.wait(15) == 2
    out = gw.logs()
    assert f"kt: --tls-cert {cert}: not a usable PEM certificate and key" in out, out
    assert "Traceback" not in out


def test_tls_key_without_cert_is_a_usage_error(gateways: GatewayFactory) -> None:
    gw = gateways.start(HEAD, wait=False, args=["--tls-key", "/k.pem"])
    assert gw.proc.wait(15) == 2
    assert "--tls-key and --tls-client-ca need --tls-cert" in gw.logs()
