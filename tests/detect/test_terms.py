"""Blocked-term helpers: folding, spellings, whitespace runs, stream hold points."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from keeptrusts.detect import terms

SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "\u3000", " \n\n "])


def test_fold_keeps_length() -> None:
    assert terms.fold("Straße STRAẞE İx ﬁ") == "straße straße İx ﬁ"
    assert terms.fold("ABC") == "abc"


def test_fold_reads_letters_as_the_latin_ones_they_show_as() -> None:
    """Cyrillic and Greek look-alikes and full-width letters, upper or lower case."""
    text = "PR\u041eJECT \u0430tl\u0430s \uff50\uff52\uff4f\uff4a\uff45\uff43\uff54 \u03bf\u043a"
    folded = terms.fold(text)
    assert folded == "project atlas project ok" and len(folded) == len(text)
    assert terms.fold("\u043f\u0440\u043e\u0435\u043a\u0442") == "\u043fpoekt"  # \u043f: no twin


def test_terms_written_with_look_alike_letters_are_found() -> None:
    bt = terms.BlockedTerms(sorted(terms.spellings("project atlas")))
    text = "see PR\u041eJECT \u0410TLAS and \uff50roject atlas"
    assert bt.spans(terms.fold(text)) == [(4, 17), (22, 35)]
    cyrillic = terms.BlockedTerms(sorted(terms.spellings("\u043f\u0440\u043e\u0435\u043a\u0442")))
    assert cyrillic.spans(terms.fold("\u041f\u0420\u041e\u0415\u041a\u0422!")) == [(0, 6)]
    assert cyrillic.spans(terms.fold("npoekt")) == []


def test_spellings() -> None:
    assert terms.spellings("Straße") == {"straße", "strasse"}
    assert terms.spellings(" Project\n Atlas ") == {"project atlas"}
    assert terms.spellings("große straße") == {
        "große straße", "grosse straße", "große strasse", "grosse strasse"
    }  # fmt: skip
    assert len(terms.spellings(" ".join(["ß"] * 10))) == 2  # bounded
    assert terms.spellings("  ") == set()


def test_blocked_terms_across_whitespace_runs() -> None:
    bt = terms.BlockedTerms(["blue heron plan", "heron", "project atlas"])
    text = "the blue \n heron\tplan, a heron; project\u00a0\u00a0atlas"
    assert [text[a:b] for a, b in bt.spans(text)] == [
        "blue \n heron\tplan", "heron", "heron", "project\u00a0\u00a0atlas"
    ]  # fmt: skip
    plan = terms.BlockedTerms(["blue heron plan"])
    assert plan.spans("blueheron plan xblue heron plan blue heron planx") == []
    assert plan.spans("blue  heron") == []  # a part of a term is not the term
    assert terms.BlockedTerms([]).spans("anything") == []


def _reference(forms: list[str], text: str) -> set[tuple[int, int]]:
    """Every span whose words, whitespace runs as one space, are a form, on word edges."""
    out = set()
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            piece = text[start:end]
            if piece[0].isspace() or piece[-1].isspace() or " ".join(piece.split()) not in forms:
                continue
            if (start == 0 or not text[start - 1].isalnum()) and (
                end == len(text) or not text[end].isalnum()
            ):
                out.add((start, end))
    return out


@given(st.lists(st.sampled_from(["ab", "a", "b", "ba", "x", "-"]) | SPACES, max_size=12))
def test_blocked_terms_agree_with_a_reference(parts: list[str]) -> None:
    forms = ["ab a", "a b", "b", "ab x ba"]
    text = "".join(parts)
    assert set(terms.BlockedTerms(forms).spans(text)) == _reference(forms, text)


def test_hold_start() -> None:
    assert terms.hold_start("short", 10) == 0
    assert terms.hold_start("x" * 30, 10) == 20
    text = "a Project" + "\n" * 50
    assert terms.hold_start(text, 8) == 2  # the run and 7 letters
    assert terms.hold_start(text, 10) == 0
    assert terms.hold_start("Project" + " " * 100, 9, cap=40) == 67
