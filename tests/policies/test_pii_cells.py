"""pii-detector: a card number split across the cells of a markdown table.

Before: `| 4111 1111 | 1111 1111 |` and `| card | 4111 | 1111 | 1111 | 1111 |` were let through
(a cell border ended the number). Now a card is read across cell borders when it fills whole
cells of one row in a card's layout, so tables of quantities, prices and years stay as they are
(`detect/cells.py`)."""

from __future__ import annotations

import pytest

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.pii import PiiDetector, Settings

DEFAULT = PiiDetector(Settings())
CARD = "[REDACTED:CREDIT_CARD]"


def redact(text: str) -> str:
    return apply(text, DEFAULT.find(text, Stage.REQUEST))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("| 4111 1111 | 1111 1111 |", f"| {CARD} | {CARD} |"),
        ("| card | 4111 | 1111 | 1111 | 1111 |", f"| card | {CARD} | {CARD} | {CARD} | {CARD} |"),
        ("|4111|1111|1111|1111|", f"|{CARD}|{CARD}|{CARD}|{CARD}|"),
        ("| x | 4111 1111 1111 | 1111 | 12/27 |", f"| x | {CARD} | {CARD} | 12/27 |"),
        ("| Amex | 3782 | 822463 | 10005 |", f"| Amex | {CARD} | {CARD} | {CARD} |"),
        ("|\t4111\t|\t1111\t|\t1111\t|\t1111\t|", f"|\t{CARD}\t|\t{CARD}\t|\t{CARD}\t|\t{CARD}\t|"),
        ("| Jane | 4111 1111 | 1111 1111 |\n| Bob | 2 |", f"| Jane | {CARD} | {CARD} |\n| Bob | 2 |"),
        ("4111 1111 | 1111 1111", f"{CARD} | {CARD}"),
    ],
)  # fmt: skip
def test_a_card_across_table_cells_is_redacted_cell_by_cell(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # tables of years, quantities, prices and dates
        "| 2019 | 2020 | 2021 | 2022 |",
        "| year | 2023 | 2024 | 2025 | 2026 |",
        "| qty | 12 | 4111 | 1111 | 1111 | 1111 |",
        "| 4111 | 1111 | 1111 | 1111 | 2000 |",
        "| 19.99 | 4.50 | 1111 | 1111 |",
        "| 2024 | 01 | 15 | 4111 |",
        # Luhn-failing, or in no card's layout
        "| 4111 | 1111 | 1111 | 1112 |",
        "| 41 | 11 | 11 | 11 | 11 | 11 | 11 | 11 |",
        "| 41111 | 11111 | 111111 |",
        # not whole cells, and not one row
        "card 4111 1111 | 1111 1111x",
        "x = 4111 | 1111 | 1111 | 1111",
        "| 4111 1111 |\n| 1111 1111 |",
        # a paragraph break between groups: two values, with cells or without
        "4111 1111\n\n1111 1111",
        "| 4111 1111 |\n\n| 1111 1111 |",
    ],
)
def test_tables_of_numbers_are_left_as_written(text: str) -> None:
    assert redact(text) == text
