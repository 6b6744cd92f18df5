"""Phone validation: international and national formats, cheap rejections."""

from __future__ import annotations

import pytest

from keeptrusts.detect.phone import PhoneValidator

V = PhoneValidator(["US", "GB"])


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


@pytest.mark.parametrize(
    "raw",
    [
        "415-555-2671",
        "(415) 555-2671",
        "1 415 555 2671",
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "020 7946 0958",
        "+49 30 901820",
        "+33 1 42 68 53 00",
        "+91 98765 43210",
        "0033 1 42 68 53 00",  # `00`, the international call prefix, for `+`
        "0049 30 901820",
        "415 5552671",
        "1 (800) 555-0199",
        "(+44) 20 7946 0958",  # a country code in brackets
        "(0044) 20 7946 0958",
    ],
)
def test_valid(raw: str) -> None:
    assert V.ok(raw, _digits(raw))


@pytest.mark.parametrize(
    "raw",
    [
        "20240115",  # a date
        "1700000000",  # a unix time
        "1234567890",  # US area codes never start with 1
        "0306406152",  # an ISBN-10
        "12345",  # too short
        "+999 1234 5678",  # no such country code
        "9780306406157",  # an ISBN-13
        "0012345678",  # `00` then no country's number
        "32768 65536",  # not how a North American number is grouped
        "327 68 65536",
    ],
)
def test_invalid(raw: str) -> None:
    assert not V.ok(raw, _digits(raw))


def test_regions_decide_national_formats() -> None:
    us_only = PhoneValidator(["US"])
    assert not us_only.ok("020 7946 0958", "02079460958")
    assert us_only.ok("+44 20 7946 0958", "442079460958")
