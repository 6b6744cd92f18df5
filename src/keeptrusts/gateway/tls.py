"""Native TLS (and mTLS) for the listener: `--tls-cert`, `--tls-key`, `--tls-client-ca`.

Every file is checked before the gateway listens; a problem is a `StartupError` naming the
flag and the file, printed as one line (never a traceback).

Certificates rotate (cert-manager renews before expiry, SPIFFE issuers every hour or so):
`Rotation` notices changed files (the config watcher's signature: resolved paths, sizes,
mtimes, so a kubelet Secret's symlink swap counts) and loads them into the live context; new
connections get the new certificate, open ones keep theirs, no restart. A pair that does not
load (a key that does not match, a file half written) changes nothing: the previous
certificate stays in use, the error is logged, and the next change is tried again. A changed
`--tls-client-ca` adds its CAs to those trusted (removing a CA takes a restart).
"""

from __future__ import annotations

import logging
import os
import shutil
import ssl
import tempfile

log = logging.getLogger("keeptrusts.gateway")


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


class Rotation:
    """Loads changed certificate files into the live TLS context (see the module docstring)."""

    def __init__(
        self, ctx: ssl.SSLContext, cert: str, key: str | None, client_ca: str | None
    ) -> None:
        self.ctx = ctx
        self.cert, self.key, self.client_ca = cert, key, client_ca
        #: what `watch` polls
        self.files = [p for p in (cert, key, client_ca) if p]

    async def changed(self) -> None:
        """`watch`'s callback. Runs on the event loop, which also does the handshakes: the
        context is never changed while a handshake reads it."""
        self.reload()

    def reload(self) -> bool:
        """Load the files into the live context; whether they loaded."""
        try:
            self._load()
        except (OSError, ssl.SSLError) as exc:
            log.error(
                "TLS certificate files changed but do not load (%s); still serving the "
                "previous certificate",
                exc,
            )
            return False
        log.info("TLS certificate reloaded from %s", self.cert)
        return True

    def _load(self) -> None:
        """Copies of the files, checked on a scratch context, then loaded into the live one:
        the live context never holds a certificate without its key."""
        scratch = tempfile.mkdtemp(prefix="keeptrusts-tls-")
        try:
            cert = _copy(self.cert, scratch, "cert")
            key = _copy(self.key, scratch, "key") if self.key else None
            ca = _copy(self.client_ca, scratch, "ca") if self.client_ca else None
            probe = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            probe.load_cert_chain(cert, key)
            if ca:
                probe.load_verify_locations(ca)
            self.ctx.load_cert_chain(cert, key)
            if ca:
                self.ctx.load_verify_locations(ca)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _copy(path: str, directory: str, name: str) -> str:
    target = os.path.join(directory, f"{name}.pem")
    shutil.copyfile(path, target)
    return target
