"""How a phone number's digit groups may be written: its separators, a one-digit extension, the
sizes of its groups and where slashes may split it (read by `numbers` on a window of a run)."""

from __future__ import annotations


def separators_ok(run: str, groups: list[tuple[int, int]], i: int, j: int) -> bool:
    """Separators read as one number: spaces (or none) first, then one kind throughout.

    Accepts `(415) 555-2671`, `+1 415 555-2671`, `+44 20 7946 0958`, `415.555.2671`,
    `030/901820-0`, spaces after a slash (`0171 / 123 45 67`: `_slashes_ok` decides) and after
    a dash that ends an area code of three or more digits written with its trunk `0` or after
    a `+` (`0171-123 45 67`, `+49 171-123 45 67`, as in Germany); rejects `2024-01-15 15` (a
    date followed by another number).
    """
    kind = ""
    area = run[groups[i][0]] == "0" or "+" in run[: groups[i][0]]  # (a dash may end it)
    for k in range(i, j):
        sep = run[groups[k][1] : groups[k + 1][0]].strip("()") or " "
        if len(sep) > 1:
            sep = sep.strip()
            if len(sep) > 1:
                return False
            sep = sep or " "
        if kind:
            if sep != kind and not _mixed_ok(kind, sep, k == j - 1, area):
                return False
        elif sep != " ":
            kind = sep
            area = area and sep == "-" and groups[k][1] - groups[k][0] >= 3
    return True


def _mixed_ok(kind: str, sep: str, last: bool, area: bool) -> bool:
    """Another separator after the number's first one: spaces after a slash, a dash before an
    extension after a slash (`030/901820-0`), spaces after a dash that ends an area code."""
    if kind == "/":
        return sep == " " or (sep == "-" and last)
    return kind == "-" and sep == " " and area


def without_extension(
    run: str, groups: list[tuple[int, int]], digits: list[str], i: int, j: int
) -> list[str]:
    """The groups of a window without a one-digit extension after a dash (`+49 30 901820-0`,
    the switchboard of a German office line), which the grouping rule would read as a list."""
    if j > i and len(digits[j]) == 1 and run[groups[j - 1][1] : groups[j][0]] == "-":
        return digits[i:j]
    return digits[i : j + 1]


def groups_ok(parts: list[str], plus: bool) -> bool:
    """Digit groups a phone number is written in: one-digit groups only at its head.

    A country code's or trunk prefix's group may have one digit (`1 800 555 0199`,
    `+33 1 23 45 67 89`, `+44 (0)20 ...`, `0033 1 ...`); a run of small numbers
    (`1 2 3 4 5 6 7 8 9 10`, `2 3 5 7 11 13 17`) is a list, not a phone number.
    """
    head, singles = (3, 2) if plus else (1, 1)
    return all(len(p) > 1 for p in parts[head:]) and sum(len(p) == 1 for p in parts) <= singles


def slashes_ok(
    run: str, groups: list[tuple[int, int]], i: int, j: int, joined: str, plus: bool
) -> bool:
    """Slashes split a number's prefix from the rest (`030/901820`, `+49/30/901820`,
    `+49 (0)30 / 901820`, as in Germany): only after a `+` or a trunk `0`, and only among the
    prefix's groups, so `030 901820 / 030 901821` is two numbers, never `030 901820 / 030`.
    Other digits split by slashes are dates, ratios, fractions. The subscriber number after
    the slash may be grouped by spaces (`0171 / 123 45 67`) when an area code of three or more
    digits comes before it (`01/2024 12345` is a month and a number)."""
    window = run[groups[i][0] : groups[j][1]]
    if "/" not in window:
        return True
    if not (plus or joined.startswith("0")):
        return False
    prefix = 2 if plus else 1  # country code and area code, or the area code with its 0
    if plus and "(0)" in run:
        prefix += 1
    if not plus and groups[i][1] - groups[i][0] < 3 and " " in window[window.index("/") :]:
        return False
    return all("/" not in run[groups[k][1] : groups[k + 1][0]] for k in range(i + prefix, j))
