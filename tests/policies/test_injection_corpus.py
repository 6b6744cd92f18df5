"""Block and pass rates of prompt-injection on the corpus in tests/data/injection_corpus.

The rates printed here are the ones docs/policies.md reports. `direct`, `multilingual`,
`obfuscated` and `benign` were used while writing the patterns; `holdout_*` were written
afterwards and never used to tune them, so their rate is the honest estimate for unseen
phrasings (reported, with a lower floor).
"""

from __future__ import annotations

from keeptrusts.policies.injection import PromptInjection, Settings
from tests.policies.corpus import attacks, benign, lines

POLICY = PromptInjection(Settings())


def _rate(texts: list[str], blocked: bool) -> tuple[float, list[str]]:
    wrong = [t for t in texts if (POLICY.detect(t) is not None) is not blocked]
    return 1 - len(wrong) / len(texts), wrong


def test_attack_block_rate() -> None:
    cases = attacks()
    assert len(cases) >= 120
    rate, missed = _rate([t for _, t in cases], blocked=True)
    print(f"\ninjection corpus: blocked {rate:.1%} of {len(cases)} attacks")
    for family in ("direct", "multilingual", "obfuscated"):
        fam = [t for f, t in cases if f.startswith(family)]
        print(f"  {family}: {_rate(fam, blocked=True)[0]:.1%} of {len(fam)}")
    assert rate >= 0.95, missed


def test_benign_pass_rate() -> None:
    texts = benign()
    assert len(texts) >= 100
    rate, flagged = _rate(texts, blocked=False)
    print(f"\nbenign corpus: passed {rate:.1%} of {len(texts)}")
    assert rate >= 0.98, flagged


def test_holdout_rates() -> None:
    attacks_ = lines("holdout_attacks.txt")
    benign_ = lines("holdout_benign.txt")
    block, _ = _rate(attacks_, blocked=True)
    passed, flagged = _rate(benign_, blocked=False)
    print(
        f"\nholdout: blocked {block:.1%} of {len(attacks_)}, passed {passed:.1%} of {len(benign_)}"
    )
    # a floor that catches regressions, not the target: see docs/policies.md
    assert block >= 0.5
    assert passed >= 0.95, flagged
