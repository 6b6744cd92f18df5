"""Phone numbers in international (`+44 20 7946 0958`, `0044 20 7946 0958`) and national
(`(415) 555-2671`) formats.

Full validation is `phonenumbers` (libphonenumber's metadata), which costs tens of
microseconds a call; a cheap pre-check on the digits (possible lengths and the region's
general number pattern, compiled with RE2) rejects dates, ids and amounts before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata

from keeptrusts.detect.engine import compile_pattern

_NON_DIGITS = re.compile(r"[^0-9]+")  # a character class: linear
SUPPORTED_REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)
MIN_DIGITS = 7
MAX_DIGITS = 15


class _Region:
    __slots__ = ("code", "lengths", "national_prefix", "pattern")

    def __init__(self, code: str) -> None:
        md = PhoneMetadata.metadata_for_region(code)
        assert md is not None and md.general_desc is not None
        self.code = code
        self.national_prefix: str = md.national_prefix or ""
        self.lengths: frozenset[int] = frozenset(md.general_desc.possible_length or ())
        raw = md.general_desc.national_number_pattern or r"\d+"
        self.pattern = compile_pattern(f"(?:{raw})")

    def possible(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern.fullmatch_bytes(nsn.encode("ascii"))


@cache
def _region(code: str) -> _Region:
    return _Region(code)


def _country_regions(digits: str) -> tuple[str, list[str]] | None:
    for size in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions:
            return digits[size:], [r for r in regions if r in SUPPORTED_REGIONS]
    return None


@lru_cache(maxsize=4096)
def _valid(raw: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def _national_significant(region: _Region, digits: str) -> str | None:
    """The number without its trunk prefix; None when a required prefix is missing.

    Written nationally, a number carries its trunk prefix (0 in most countries); North
    America's `1` is the exception and is usually left out.
    """
    prefix = region.national_prefix
    if not prefix:
        return digits
    if digits.startswith(prefix):
        return digits if region.possible(digits) else digits[len(prefix) :]
    return digits if prefix == "1" else None


#: how North American numbers are written nationally: (1) 415 555 2671, 415 5552671, or whole
_NANP_GROUPS = frozenset(((3, 3, 4), (1, 3, 3, 4), (3, 7), (1, 3, 7), (10,), (11,)))


def _nanp_grouping(raw: str) -> bool:
    """Written in groups a North American number has (`32768 65536` is not one)."""
    sizes = tuple(len(g) for g in _NON_DIGITS.sub(" ", raw).split())
    return sizes in _NANP_GROUPS


class PhoneValidator:
    """Validates candidate numbers; national formats are read for `regions` (ISO codes)."""

    def __init__(self, regions: Sequence[str]) -> None:
        self.regions = tuple(_region(r) for r in regions)
        #: digit counts a nationally written number can have in any of the regions
        self.national_lengths = frozenset(
            n + extra
            for r in self.regions
            for n in (r.lengths or range(MIN_DIGITS, MAX_DIGITS + 1))
            for extra in ((0, len(r.national_prefix)) if r.national_prefix == "1" else
                          (len(r.national_prefix),))
        )  # fmt: skip

    def ok(self, raw: str, digits: str) -> bool:
        """`raw` is the candidate as written, `digits` its digits only."""
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
            return False
        lead = raw[1:] if raw.startswith("(") else raw  # `(+44) 20 ...`, `(0044) 20 ...`
        if lead.startswith("+"):
            return self._international(lead, digits)
        if lead.startswith("00"):  # `0033 1 23 45 67 89`: the international call prefix for `+`
            return len(digits) > MIN_DIGITS + 1 and self._international("+" + lead[2:], digits[2:])
        if len(digits) not in self.national_lengths:
            return False
        for region in self.regions:
            nsn = _national_significant(region, digits)
            if nsn is None or not region.possible(nsn):
                continue
            if region.national_prefix == "1" and not _nanp_grouping(raw):
                continue
            if _valid(raw, region.code):
                return True
        return False

    def _international(self, raw: str, digits: str) -> bool:
        found = _country_regions(digits)
        if found is None:
            return False
        nsn, regions = found
        # `+44 (0)20 7946 0958`: a trunk prefix may be written in brackets
        trunk = nsn[1:] if nsn[:1] == "0" else None
        if not any(
            _region(r).possible(nsn) or (trunk is not None and _region(r).possible(trunk))
            for r in regions
        ):
            return False
        return _valid(raw, None)
