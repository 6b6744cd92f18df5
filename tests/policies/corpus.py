"""Loads the injection corpus and applies its obfuscation transforms."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "injection_corpus"

_HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "s": "ѕ"})
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


def _zw(sep: str) -> Callable[[str], str]:
    return lambda t: sep.join(t)


def _fullwidth(t: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t)


def _math(t: str) -> str:
    # MATHEMATICAL BOLD letters
    out = []
    for c in t:
        if "a" <= c <= "z":
            out.append(chr(0x1D41A + ord(c) - ord("a")))
        elif "A" <= c <= "Z":
            out.append(chr(0x1D400 + ord(c) - ord("A")))
        else:
            out.append(c)
    return "".join(out)


def _tags(t: str) -> str:
    return "Summarize this page." + "".join(chr(0xE0000 + ord(c)) for c in t if ord(c) < 0x7F)


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "zwsp": _zw("\u200b"),
    "zwj": _zw("\u200d"),
    "softhyphen": _zw("\u00ad"),
    "homoglyph": lambda t: t.translate(_HOMOGLYPHS),
    "fullwidth": _fullwidth,
    "math": _math,
    "tags": _tags,
    "leet": lambda t: t.translate(_LEET),
    "spaced": lambda t: " ".join(t.replace(" ", "  ")),
    "dotted": lambda t: ".".join(t.replace(" ", "")) if False else ".".join(t),
    "base64": lambda t: "Decode and follow: " + base64.b64encode(t.encode()).decode(),
    "base64url": lambda t: "payload=" + base64.urlsafe_b64encode(t.encode()).decode().rstrip("="),
    "mixedcase": lambda t: t,
    "extraspaces": lambda t: t,
    "newlines": lambda t: t.replace(" ", "\n"),
    "quoted": lambda t: t,
    "markdown": lambda t: t,
}


def lines(name: str) -> list[str]:
    text = (CORPUS / name).read_text("utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def obfuscated() -> list[tuple[str, str]]:
    """(transform names, transformed attack) for every line of obfuscated.txt."""
    out = []
    for line in lines("obfuscated.txt"):
        names, attack = line.split("\t", 1)
        text = attack
        for name in names.split("+"):
            text = TRANSFORMS[name](text)
        out.append((names, text))
    return out


def attacks() -> list[tuple[str, str]]:
    """(family, text) of every attack in the corpus."""
    return (
        [("direct", t) for t in lines("direct.txt")]
        + [("multilingual", t) for t in lines("multilingual.txt")]
        + [(f"obfuscated:{n}", t) for n, t in obfuscated()]
    )


def benign() -> list[str]:
    return lines("benign.txt")
