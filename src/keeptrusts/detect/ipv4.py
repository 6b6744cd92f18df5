"""IPv4 addresses in a run of digits the number scanner found: `10.1.2.3`, a list of them
split by spaces (`nameserver 10.0.0.1 10.0.0.2`), and CIDR notation (`10.1.2.3/24`).

In CIDR notation the address is the same information as on its own, so it is redacted;
the prefix length (`/24`) names no host and stays, as it does after an IPv6 address.
Addresses that name no host (0.0.0.0, loopback, netmasks) and dotted quads after a version's
label (`version 1.2.3.4`) are left alone.
"""

from __future__ import annotations

import itertools

from keeptrusts.detect.engine import Encoded, compile_pattern

#: what labels a dotted quad as a version (`version 1.2.3.4`, `firmware 2.0.1.5`), not an address
_VERSION_LABEL = compile_pattern(
    r"(?i)\b(?:version|ver|release|build|firmware|driver|sdk)\s*[:=]?\s*\z"
)
#: an octet of a netmask: ones, then zeros
_MASK_OCTETS = frozenset((0, 128, 192, 224, 240, 248, 252, 254, 255))
#: the longest IPv4 prefix length
_MAX_PREFIX = 32


def addresses(text: str, start: int, end: int) -> list[tuple[int, int]] | None:
    """The spans of the host addresses in the run `text[start:end]` when the run is made of
    addresses only (each optionally with a prefix length), else None."""
    out: list[tuple[int, int]] = []
    pos = start
    for piece in text[start:end].split(" "):
        octets = _address(piece)
        if octets is None:
            return None
        a, b = pos, pos + len(piece.partition("/")[0])
        if not _no_host(octets) and not _version(text, a):
            out.append((a, b))
        pos += len(piece) + 1
    return out


def _address(piece: str) -> list[int] | None:
    """The octets of `a.b.c.d` or `a.b.c.d/len`, or None."""
    quad, slash, prefix = piece.partition("/")
    if slash and not (prefix.isdigit() and len(prefix) <= 2 and int(prefix) <= _MAX_PREFIX):
        return None
    parts = quad.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        return None
    octets = [int(p) for p in parts]
    return octets if all(o <= 255 for o in octets) else None


def _version(text: str, start: int) -> bool:
    """A dotted quad right after a version's label (`version 1.2.3.4`)."""
    window = text[max(0, start - 24) : start]
    return bool(window) and _VERSION_LABEL.search(Encoded(window)) is not None


def _no_host(octets: list[int]) -> bool:
    """Addresses that name no host: 0.0.0.0, loopback (127.x.x.x, every machine's own), and
    netmasks (255.255.255.0, 255.255.255.255): `bind to 0.0.0.0:8080 instead of 127.0.0.1`."""
    if octets[0] == 127 or octets == [0, 0, 0, 0]:
        return True
    if octets[0] != 255 or any(o not in _MASK_OCTETS for o in octets):
        return False
    return all(a == 255 or b == 0 for a, b in itertools.pairwise(octets))
