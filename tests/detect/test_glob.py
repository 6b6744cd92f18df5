"""Globs compiled to RE2."""

from __future__ import annotations

from keeptrusts.detect.glob import GlobSet


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
