"""`providers.targets[].timeouts`: values that could never work as written are refused at load,
with the file, line and key path."""

from __future__ import annotations

import pytest

from keeptrusts.config.load import ConfigError, load_texts

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"


def problems(timeouts: str) -> str:
    text = HEAD + "providers:\n  targets:\n    - id: a\n      provider: openai\n"
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", text + f"      timeouts: {timeouts}\n")])
    return str(info.value)


@pytest.mark.parametrize(
    ("timeouts", "longer"),
    [
        ("{first_byte: 900}", "first_byte (900 s)"),  # total's default is 600
        ("{first_byte: 30, total: 20}", "first_byte (30 s)"),
        ("{connect: 30, total: 20}", "connect (30 s)"),
    ],
)
def test_a_timeout_longer_than_total_is_refused(timeouts: str, longer: str) -> None:
    """`first_byte: 900` (as docs advise for long answers) was accepted while `total` stayed
    600: every answer past 600 s was still cut, as a 504 naming neither."""
    msg = problems(timeouts)
    assert "cfg.yaml:7: providers.targets[0].timeouts" in msg
    assert longer in msg and "is longer than total" in msg and "raise total" in msg


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_a_timeout_must_be_a_finite_number(value: str) -> None:
    """`total: .inf` was accepted, and every request failed in aiohttp's rounding of the
    deadline (a 502 "cannot convert float infinity to integer")."""
    msg = problems(f"{{total: {value}}}")
    assert "cfg.yaml:7: providers.targets[0].timeouts.total" in msg and "finite" in msg
