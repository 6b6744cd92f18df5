"""Native TLS (and mTLS) for the listener: `--tls-cert`, `--tls-key`, `--tls-client-ca`.

Every file is checked before the gateway listens; a problem is a `StartupError` naming the
flag and the file, printed as one line (never a traceback).
"""

from __future__ import annotations

import ssl


class StartupError(Exception):
    """A start-up problem outside the policy config (e.g. TLS files), printed as one line."""


def server_context(
    cert: str | None, key: str | None, client_ca: str | None
) -> ssl.SSLContext | None:
    """The listener's TLS context (None without a certificate); with `client_ca`, clients
    must present a certificate it signed (mTLS)."""
    if not cert:
        return None
    for flag, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-client-ca", client_ca)):
        _readable(flag, path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        what = f"--tls-cert {cert}" + (f" / --tls-key {key}" if key else "")
        raise StartupError(f"{what}: not a usable PEM certificate and key ({exc})") from exc
    if client_ca:
        try:
            ctx.load_verify_locations(client_ca)
        except ssl.SSLError as exc:
            raise StartupError(
                f"--tls-client-ca {client_ca}: not a usable PEM CA bundle ({exc})"
            ) from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _readable(flag: str, path: str | None) -> None:
    """Raise StartupError naming `flag` and `path` unless the file can be read."""
    if path is None:
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise StartupError(f"{flag} {path}: cannot read: {exc.strerror or exc}") from exc
