"""Globs compiled to RE2."""

from __future__ import annotations

import pytest

from keeptrusts.detect.glob import GlobSet, check_glob


def test_globs() -> None:
    g = GlobSet(["gpt-4o*", "claude-?-haiku", "text-[ab]*"])
    assert g.match("gpt-4o")
    assert g.match("gpt-4o-mini-2024-07-18")
    assert g.match("claude-3-haiku")
    assert g.match("text-a1")
    assert not g.match("gpt-4")
    assert not g.match("xgpt-4o")
    assert not g.match("claude-35-haiku")
    assert not g.match("text-c")


def test_star_and_empty() -> None:
    assert GlobSet(["*"]).match("anything")
    assert not GlobSet([]).match("gpt-4o")


def test_regex_characters_are_literal() -> None:
    g = GlobSet(["a.b+c(d)"])
    assert g.match("a.b+c(d)")
    assert not g.match("aXb+c(d)")


def test_a_bracket_first_in_a_class_is_literal() -> None:
    assert GlobSet(["[]a]"]).match("]") and GlobSet(["[]a]"]).match("a")
    assert not GlobSet(["[!]a]x"]).match("]x") and GlobSet(["[!]a]x"]).match("bx")
    assert GlobSet(["[[:alpha:]]"]).match("a]")  # no POSIX classes: as Python's fnmatch


def test_an_invalid_glob_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'gpt-\[z-a\]' is not a valid glob"):
        check_glob("gpt-[z-a]")
    assert check_glob("gpt-4o*") == "gpt-4o*"
