"""Micro-benchmark of the stream guard: microseconds per content delta of a prose answer.

    python -m bench.guard_micro [--words N] [--deltas D] [--repeat R] [--chain default|pii]
                                [--numbers]

A chat-like English answer with no PII (built deterministically) is cut into deltas of
`--words` words each (20 by default, as a model's chunks arrive in a busy relay) and fed
through `StreamGuard` with the embedded default chain's response policies (`pii-detector`
then `dlp-filter`), or `pii-detector` alone, then flushed, as `streaming.chunks` runs it. `--numbers`: every delta also holds a number
(a year, a count: `in 2024`, `12 rows`), so no delta is plain prose (`detect/prose.py`).
Reports the best of R rounds of process CPU time per delta (the least disturbed by other
processes). To compare two trees, run it with each on `PYTHONPATH`, alternating.
"""

from __future__ import annotations

import argparse
import random
import time

from keeptrusts.cli_policy import build_policies
from keeptrusts.config.load import load_files
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.streaming.guard import StreamGuard

_TEXT = (
    "the team is planning a quarterly offsite and wants everyone to feel welcome including new "
    "hires who joined last month please keep the invitation short warm and clear and suggest a "
    "catchy title also list activities that work for remote colleagues and explain why they "
    "help people connect over video calls shared documents and small group chats during the "
    "week before the event so that nobody feels left out or rushed when plans change late"
)
WORDS = _TEXT.split()
PUNCT = ["", "", "", "", ",", "."]


def deltas(words: int, count: int, numbers: bool = False) -> list[str]:
    rng = random.Random(7)
    out: list[str] = []
    for _ in range(count):
        picked = [rng.choice(WORDS) + rng.choice(PUNCT) for _ in range(words)]
        if numbers:
            picked[rng.randrange(words)] = str(rng.choice([2024, 12, 350, 7]))
        out.append("".join(w + " " for w in picked))
    return out


def response_policies(chain: str) -> list[Policy]:
    policies = [
        p for p in build_policies(load_files([])) if p.inspects_text and Stage.RESPONSE in p.stages
    ]
    return [p for p in policies if chain == "default" or p.kind == "pii-detector"]


def one_stream(policies: list[Policy], holdback: int, pieces: list[str]) -> None:
    guard = StreamGuard(policies, holdback)
    for piece in pieces:
        guard.feed(0, piece)
    guard.flush(0)


def best_us_per_delta(policies: list[Policy], pieces: list[str], repeat: int) -> float:
    holdback = max(p.holdback for p in policies)
    n = 50
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(n):
            one_stream(policies, holdback, pieces)
        best = min(best, (time.process_time() - t0) / n)
    return best / len(pieces) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.guard_micro")
    parser.add_argument("--words", type=int, default=20, help="words per delta (default 20)")
    parser.add_argument("--deltas", type=int, default=40, help="deltas per stream (default 40)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--chain", choices=["default", "pii"], default="default")
    parser.add_argument("--numbers", action="store_true", help="a number in every delta")
    a = parser.parse_args(argv)
    policies = response_policies(a.chain)
    us = best_us_per_delta(policies, deltas(a.words, a.deltas, a.numbers), a.repeat)
    names = " then ".join(p.name for p in policies)
    kind = "with a number" if a.numbers else "prose"
    print(f"{us:.2f} µs per delta ({a.words} words {kind}, {names}, best of {a.repeat} rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
