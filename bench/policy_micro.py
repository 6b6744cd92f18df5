"""Micro-benchmark of the content policies: microseconds per KB of text, per kind.

    python -m bench.policy_micro [--kb N] [--repeat R]

Texts (built deterministically): `prose` (chat-like English, no PII), `technical` (code,
dates, versions, hashes, prices: many look-alikes), `pii` (prose with an e-mail, a phone,
a card and a key in every KB). Each kind runs alone with its default settings (dlp-filter
with ten blocked terms, exact and fuzzy), then the embedded default chain (prompt-injection, pii-detector,
dlp-filter) runs through `textscan.scan` as the gateway runs it on a request text.
Reports the best of R rounds of process CPU time (the least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from keeptrusts.cli_policy import build_policies
from keeptrusts.config.load import load_files
from keeptrusts.pipeline.context import Exchange
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.textscan import scan
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies import dlp, injection, model_allowlist, pii, size_limits

PROSE = (
    "Could you help me rewrite this paragraph so it sounds friendlier? We are planning the "
    "quarterly offsite and want everyone to feel welcome, including the new hires who joined "
    "the team last month. Please keep it short, warm and clear, and suggest a catchy title. "
    "Also list three activities that work for remote colleagues and explain why they help "
    "people connect. Thanks a lot for your time, this really matters to us. "
)
TECHNICAL = (
    "After upgrading to version 3.11.4 on 2024-01-15 the build at commit 9fceb02d0ae5 broke: "
    "uuid 123e4567-e89b-12d3-a456-426614174000 fails in handler.py line 42 at 10:30:45. "
    "Invoice INV-2024-000123 shows $1,234.56; ISBN 978-3-16-148410-0. std::vector<int> v; "
    "Run `pip install foo==2.0.1` then retry; timestamps 1700000000 and 20240115103000. "
)
PII = (
    "Hi, I'm Jane (jane.doe@example.com, +44 20 7946 0958). My card 4111 1111 1111 1111 "
    "was charged twice; please refund it. Our staging key sk-proj-abcdefghijklmnopqrstuvwxyz "
    "leaked in the logs yesterday. Can you draft a reply to the bank explaining the situation "
    "and asking for a chargeback? Keep it formal and brief, and mention order 5521. "
)
TERMS = [f"codename{i}" for i in range(9)] + ["project atlas"]


def text_of(seed: str, kb: int) -> str:
    rng = random.Random(1)
    parts: list[str] = []
    while sum(map(len, parts)) < kb * 1024:
        sentences = seed.split(". ")
        rng.shuffle(sentences)
        parts.append(". ".join(sentences) + " ")
    return "".join(parts)[: kb * 1024]


def best_us(fn: Callable[[], object], repeat: int) -> float:
    # CPU time of this (single-threaded) process: other load on the machine does not count
    n = 200
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t0) / n)
    return best * 1e6


def kinds() -> dict[str, Policy]:
    return {
        "prompt-injection": injection.PromptInjection(injection.Settings()),
        "pii-detector": pii.PiiDetector(pii.Settings()),
        "dlp-filter": dlp.DlpFilter(dlp.Settings(blocked_terms=TERMS)),
        "dlp-filter fuzzy (d=1)": dlp.DlpFilter(
            dlp.Settings(blocked_terms=TERMS, fuzzy_matching=True, max_distance=1)
        ),
    }


def request_checks() -> dict[str, tuple[Policy, Exchange]]:
    body = {"model": "gpt-4o-mini", "max_tokens": 9000, "messages": []}
    body["messages"] = [{"role": "user", "content": text_of(PROSE, 1)}]
    ex = Exchange(cast(Any, None), "chat", body, b"", "r", "gpt-4o-mini", False)
    return {
        "model-allowlist": (
            model_allowlist.ModelAllowlist(
                model_allowlist.Settings(models=["gpt-4o-mini*", "claude-*"])
            ),
            ex,
        ),
        "size-limits": (
            size_limits.SizeLimits(
                size_limits.Settings(max_messages=50, max_prompt_chars=100_000, max_tokens=4096)
            ),
            ex,
        ),
    }


def run_sync(policy: Policy, ex: Exchange) -> object:
    coro = policy.on_request(ex)
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("on_request awaited something")  # pragma: no cover


def per_kb(fn: Callable[[str], object], texts: list[str], repeat: int, kb: int) -> list[float]:
    return [best_us(partial(fn, t), repeat) / kb for t in texts]


def line(name: str, values: list[float]) -> str:
    return f"{name:<26}" + "".join(f"{v:>12.1f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.policy_micro")
    parser.add_argument("--kb", type=int, default=1, help="text size in KB (default 1)")
    parser.add_argument("--repeat", type=int, default=7)
    a = parser.parse_args(argv)
    seeds = {"prose": PROSE, "technical": TECHNICAL, "pii": PII}
    texts = [text_of(seed, a.kb) for seed in seeds.values()]
    print(f"µs per KB (CPU time, best of {a.repeat} rounds, {a.kb} KB texts)")
    print(f"{'kind':<26}" + "".join(f"{n:>12}" for n in seeds))
    for name, policy in kinds().items():
        print(line(name, per_kb(partial(policy.find, stage=Stage.REQUEST), texts, a.repeat, a.kb)))
    chain = build_policies(load_files([]))
    for stage in (Stage.REQUEST, Stage.RESPONSE):
        run = partial(_scan, chain, stage=stage)
        print(line(f"default chain ({stage.value})", per_kb(run, texts, a.repeat, a.kb)))
    print("\nper request (1 KB prompt), µs")
    for name, (policy, ex) in request_checks().items():
        print(line(name, [best_us(partial(run_sync, policy, ex), a.repeat)]))
    return 0


def _scan(chain: list[Policy], text: str, *, stage: Stage) -> object:
    return scan(chain, text, stage)


if __name__ == "__main__":
    raise SystemExit(main())
