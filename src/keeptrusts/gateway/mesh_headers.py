"""Mesh identity headers, read strictly: Istio/Envoy's `X-Forwarded-Client-Cert` and
Linkerd's `l5d-client-id`, each to the calling workload's SPIFFE id (or None).

Linear scans with `str` methods, no regex: these values come from the network. Whether they are
trusted at all, and which tenant an id maps to, is `identity.py`'s.
"""

from __future__ import annotations

SPIFFE = "spiffe://"
#: SPIFFE ids are at most 2048 bytes
MAX_SPIFFE_ID = 2048
_LINKERD_MARK = ".serviceaccount.identity."
_DNS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
_NUL = "\x00"


class XfccError(ValueError):
    """A malformed X-Forwarded-Client-Cert value."""


def parse_xfcc(value: str) -> list[list[tuple[str, str]]]:
    """Split an XFCC value into elements, each a list of (lower-cased key, value) pairs.

    Elements are separated by `,`, pairs by `;`, key from value by the first `=`; a value
    holding any of those is double-quoted, with `\\"` standing for `"` (Envoy's format).
    Linear, with the scanning done by `str` methods: the text is cut at quotes, and only the
    unquoted parts are split at separators. Raises `XfccError` on an unterminated quote, a
    `\\"` outside quotes or a pair with no `=`.
    """
    if _NUL in value:
        raise XfccError("NUL in value")
    parts = value.replace('\\"', _NUL).split('"')
    if len(parts) % 2 == 0:
        raise XfccError("unterminated quoted value")
    elements: list[list[tuple[str, str]]] = []
    pairs: list[tuple[str, str]] = []
    key: str | None = None
    buf: list[str] = []
    for index, part in enumerate(parts):
        if index % 2:
            buf.append(part.replace(_NUL, '"'))
            continue
        if _NUL in part:
            raise XfccError('\\" outside a quoted value')
        for e, chunk in enumerate(part.split(",")):
            if e:
                _end_pair(pairs, key, buf)
                key, buf = None, []
                if pairs:
                    elements.append(pairs)
                pairs = []
            for p, piece in enumerate(chunk.split(";")):
                if p:
                    _end_pair(pairs, key, buf)
                    key, buf = None, []
                if key is None:
                    name, eq, rest = piece.partition("=")
                    if eq:
                        key = ("".join(buf) + name).strip().lower()
                        buf = [rest]
                        continue
                buf.append(piece)
    _end_pair(pairs, key, buf)
    if pairs:
        elements.append(pairs)
    return elements


def _end_pair(pairs: list[tuple[str, str]], key: str | None, buf: list[str]) -> None:
    text = "".join(buf).strip()
    if key is None:
        if text:
            raise XfccError(f"pair without '=': {text[:40]!r}")
        return
    if not key:
        raise XfccError("pair with an empty key")
    pairs.append((key, text))


def last_element(value: str) -> str:
    """The LAST element of an XFCC value, found from the end: after the last `,` with an even
    number of (unescaped) quotes behind it. What comes before, which a caller may have written
    (Istio's APPEND_FORWARD), cannot change how the sidecar's element is read: a stray quote or
    a broken pair there is never parsed. Linear: each part is counted once."""
    end, quotes = len(value), 0
    while True:
        cut = value.rfind(",", 0, end)
        part = value[cut + 1 : end]
        quotes += part.count('"') - part.count('\\"')
        if cut < 0 or quotes % 2 == 0:
            return value[cut + 1 :]
        end = cut


def xfcc_client(value: str) -> str | None:
    """The SPIFFE id of the immediate client: the first spiffe URI of the LAST element."""
    try:
        elements = parse_xfcc(last_element(value))
    except XfccError:
        return None
    if not elements:
        return None
    for key, val in elements[-1]:
        if key == "uri" and is_spiffe(val):
            return val
    return None


def linkerd_principal(client_id: str) -> str | None:
    """`<sa>.<ns>.serviceaccount.identity.<control-ns>.<domain>` as a SPIFFE-style id."""
    value = client_id.strip()
    if not value or len(value) > MAX_SPIFFE_ID or not set(value) <= _DNS_CHARS:
        return None
    head, mark, tail = value.partition(_LINKERD_MARK)
    if not mark:
        return None
    # namespaces are DNS labels (no dots); service-account names may hold dots
    sa, _, ns = head.rpartition(".")
    control_ns, _, domain = tail.partition(".")
    if not (sa and ns and control_ns and domain):
        return None
    return f"{SPIFFE}{domain}/ns/{ns}/sa/{sa}"


def is_spiffe(value: str) -> bool:
    return value.startswith(SPIFFE) and len(SPIFFE) < len(value) <= MAX_SPIFFE_ID
