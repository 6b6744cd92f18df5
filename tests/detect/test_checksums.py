"""Luhn, IBAN mod-97, card schemes and SSN ranges."""

from __future__ import annotations

import pytest

from keeptrusts.detect.checksums import card_brand, card_ok, iban_ok, luhn_ok, ssn_ok


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",  # visa
        "4012888888881881",
        "5555555555554444",  # mastercard
        "2223003122003222",  # mastercard 2-series
        "378282246310005",  # amex
        "6011111111111117",  # discover
        "3530111333300000",  # jcb
        "30569309025904",  # diners
        "4222222222222",  # 13-digit visa
    ],
)
def test_cards_pass(number: str) -> None:
    assert card_ok(number)


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # Luhn fails
        "1234567812345678",  # no scheme, Luhn fails
        "9780306406157000",  # starts like an ISBN: no scheme
        "0000000000000000",  # Luhn passes, no scheme
        "411111111111",  # too short
        "41111111111111111111",  # too long
    ],
)
def test_cards_fail(number: str) -> None:
    assert not card_ok(number)


def test_luhn_edge_cases() -> None:
    assert luhn_ok("0")
    assert luhn_ok("18")
    assert not luhn_ok("19")
    assert card_brand("4111111111111111") == "visa"


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "NO9386011117947",
        "CH9300762011623852957",
    ],
)
def test_iban_pass(iban: str) -> None:
    assert iban_ok(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013001",  # check digits wrong
        "DE8937040044053201300",  # one short for DE
        "XX89370400440532013000",  # no such country
        "GB82WEST1234569876543!",
        "DE89 3704 0044 0532 0130 00",  # callers pass the compact form
    ],
)
def test_iban_fail(iban: str) -> None:
    assert not iban_ok(iban)


@pytest.mark.parametrize(
    ("area", "group", "serial", "ok"),
    [
        ("123", "45", "6789", True),
        ("899", "99", "9999", True),
        ("000", "45", "6789", False),
        ("666", "45", "6789", False),
        ("900", "45", "6789", False),
        ("999", "45", "6789", False),
        ("123", "00", "6789", False),
        ("123", "45", "0000", False),
        ("12", "45", "6789", False),
    ],
)
def test_ssn_ranges(area: str, group: str, serial: str, ok: bool) -> None:
    assert ssn_ok(area, group, serial) is ok
