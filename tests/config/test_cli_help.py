"""Every `kt` command's `--help` describes each of its options (and says the real defaults),
so `--help` answers what the docs answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

COMMANDS = [
    ["gateway", "run"],
    ["policy", "lint"],
    ["policy", "test"],
    ["api", "run"],
    ["events", "tail"],
    ["events", "export"],
    ["config", "push"],
]


def help_text(command: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    done = subprocess.run(
        [sys.executable, "-m", "keeptrusts", *command, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def undescribed(text: str) -> list[str]:
    lines = text.split("options:", 1)[1].splitlines()
    missing = []
    for i, line in enumerate(lines):
        if not re.match(r"^  -", line):
            continue
        described = re.search(r"\S\s{2,}\S", line.strip()) is not None
        follows = lines[i + 1] if i + 1 < len(lines) else ""
        continued = re.match(r"^ {6,}\S", follows) is not None
        if not (described or continued):
            missing.append(line.strip())
    return missing


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_option_is_described(command: list[str]) -> None:
    assert undescribed(help_text(command)) == []


@pytest.mark.parametrize("command", [["events", "tail"], ["events", "export"]], ids=" ".join)
def test_client_defaults_are_the_real_ones(command: list[str]) -> None:
    text = " ".join(help_text(command).split())
    assert "http://127.0.0.1:8080" in text  # the API URL used when nothing is set
    assert "KEEPTRUSTS_GATEWAY_TOKEN" in text  # the last token source


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["events"], 2, "kt events: a command is missing"),
        (["policy", "--help"], 0, "usage: kt policy <lint|test> [options]"),
        (["events", "tial"], 2, "kt events: unknown command 'tial' (did you mean `tail`?)"),
        (["polcy", "lint"], 2, "kt: unknown command 'polcy' (did you mean `kt policy lint`?)"),
        (["evnts"], 2, "kt: unknown command 'evnts' (did you mean `kt events`?)"),
        (["serve"], 2, "kt: unknown command 'serve'\n"),
    ],
    ids=["group alone", "group help", "sub typo", "group typo", "group typo alone", "no match"],
)
def test_a_group_or_a_typo_says_what_there_is(
    argv: list[str], code: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from keeptrusts.cli import main

    assert main(argv) == code
    out = capsys.readouterr()
    text = out.out if code == 0 else out.err
    assert words in text
    if argv[0] in ("events", "policy"):  # the group's commands, and only those
        assert f"  {argv[0]} " in text and "gateway run" not in text
