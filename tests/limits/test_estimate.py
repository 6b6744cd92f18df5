"""Token estimates before dispatch: token-id prompts, choices, bounds, absurd caps."""

from __future__ import annotations

from typing import Any

import pytest

from keeptrusts.errors import ValidationFailed
from keeptrusts.limits.backend import MAX_TOKENS
from keeptrusts.limits.estimate import (
    MAX_OUTPUT_TOKENS,
    check_caps,
    choices,
    output_tokens,
    prompt_tokens,
)


@pytest.mark.parametrize(
    ("endpoint", "field", "value", "tokens"),
    [
        ("completions", "prompt", list(range(3000)), 3000),
        ("completions", "prompt", [[1] * 1000, [2] * 2000], 3000),
        ("embeddings", "input", list(range(500)), 500),
        ("embeddings", "input", [[7] * 250, [8] * 250, [9.0] * 10], 510),
    ],
)
def test_token_id_prompts_count_one_token_per_id(
    endpoint: str, field: str, value: Any, tokens: int
) -> None:
    assert prompt_tokens(endpoint, {"model": "m", field: value}) == tokens


def test_text_prompts_are_still_estimated_from_characters() -> None:
    assert prompt_tokens("completions", {"prompt": ["x" * 400, "y" * 40]}) == 110
    assert prompt_tokens("embeddings", {"input": "z" * 41}) == 11


def test_output_counts_every_choice() -> None:
    chat = {"messages": [], "max_tokens": 100, "n": 50}
    assert choices("chat", chat) == 50 and output_tokens("chat", chat) == 5000
    # completions: best_of completions are generated per prompt, n of them returned
    comp = {"prompt": ["a", "b", "c"], "max_tokens": 10, "n": 2, "best_of": 5}
    assert choices("completions", comp) == 15 and output_tokens("completions", comp) == 150
    ids = {"prompt": [1, 2, 3], "max_tokens": 10, "n": 4}  # one prompt given as token ids
    assert output_tokens("completions", ids) == 40
    assert output_tokens("chat", {"n": 3}, default=7) == 21  # no cap: the default per choice
    assert output_tokens("embeddings", {"input": "x", "max_tokens": 10}) == 0


def test_counts_are_bounded_whatever_the_request_asks() -> None:
    body = {"max_tokens": 2**63 - 1, "n": 2**62}
    assert output_tokens("chat", body) == MAX_TOKENS
    assert prompt_tokens("chat", {"messages": [{"content": "x" * 10_000}]}, 1e-9) == MAX_TOKENS


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_an_absurd_output_cap_is_a_400_naming_the_field(field: str) -> None:
    err = check_caps({field: 2**63 - 1}, "budget")
    assert isinstance(err, ValidationFailed) and err.status == 400
    assert f"'{field}'" in err.message and err.policy == "budget"
    assert check_caps({field: MAX_OUTPUT_TOKENS}, "budget") is None
