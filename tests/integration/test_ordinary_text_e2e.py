"""Ordinary traffic through the real gateway and the default chain's policies.

The corpus of `tests/policies/test_ordinary_text.py`, sent with the official openai SDK:
benign texts reach the provider exactly as written, PII in common notations never does.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config
from tests.policies.test_ordinary_text import (
    BENIGN_CODE,
    BENIGN_IDS,
    BENIGN_NEAR_CODENAMES,
    BENIGN_NUMBERS,
    BENIGN_REQUESTS,
    CODENAME_VARIANTS,
    CODENAMES,
    PII_CASES,
)

#: the embedded default config's chain and settings (src/keeptrusts/data/default.yaml)
CHAIN = "[prompt-injection, pii-detector, dlp-filter]"
POLICY = (
    "prompt-injection: {response: {action: block}}\n"
    "  pii-detector: {action: redact}\n"
    "  dlp-filter: {blocked_terms: [], action: block}"
)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("ordinary"))
    yield factory.start(
        openai_config(("a", upstream.base_url), chain=CHAIN, policy=POLICY), env=ENV
    )
    factory.stop_all()


def _sent(gw: Gateway, fake: FakeUpstream, text: str) -> str:
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    content: str = fake.requests[-1].body["messages"][0]["content"]
    return content


@pytest.mark.parametrize("text", [*BENIGN_NUMBERS, *BENIGN_IDS, *BENIGN_CODE, *BENIGN_REQUESTS])
def test_benign_text_reaches_the_provider_as_written(
    gw: Gateway, fake: FakeUpstream, text: str
) -> None:
    assert _sent(gw, fake, text) == text


@pytest.mark.parametrize(("text", "value", "entity"), PII_CASES)
def test_pii_in_common_notations_never_reaches_the_provider(
    gw: Gateway, fake: FakeUpstream, text: str, value: str, entity: str
) -> None:
    sent = _sent(gw, fake, text)
    assert value not in sent
    assert f"[REDACTED:{entity.upper()}]" in sent


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    """dlp-filter with short codenames, fuzzy matching and blocking."""
    factory = GatewayFactory(tmp_path_factory.mktemp("strict"))
    policy = (
        f"dlp-filter: {{blocked_terms: {CODENAMES}, fuzzy_matching: true, max_distance: 1, "
        "action: block}"
    )
    yield factory.start(
        openai_config(("a", upstream.base_url), chain="[dlp-filter]", policy=policy), env=ENV
    )
    factory.stop_all()


@pytest.mark.parametrize("text", BENIGN_NEAR_CODENAMES)
def test_words_near_a_codename_are_not_blocked(
    strict: Gateway, fake: FakeUpstream, text: str
) -> None:
    assert _sent(strict, fake, text) == text


@pytest.mark.parametrize("text", CODENAME_VARIANTS)
def test_a_codename_with_a_swapped_character_is_blocked(strict: Gateway, text: str) -> None:
    client = openai.OpenAI(base_url=strict.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.ConflictError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    assert info.value.body["policy"] == "dlp-filter"  # type: ignore[index]


#: notations of PII a provider may answer with, and a quantity that must stay as written
STREAMED = (
    "Ruf +49/30/901820 an, zahle auf DE89-3704-0044-0532-0130-00 oder call (+44) 20 7946 0958; "
    "the balance is 4155552671 cents."
)
STREAMED_VALUES = ["+49/30/901820", "DE89-3704-0044-0532-0130-00", "(+44) 20 7946 0958"]


def _streamed(gw: Gateway) -> str:
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    chunks = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_streamed_answers_redact_these_notations_at_every_split(
    gw: Gateway, fake: FakeUpstream
) -> None:
    fake.reset(reply=STREAMED)
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    answer = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    expected = answer.choices[0].message.content or ""
    assert not any(v in expected for v in STREAMED_VALUES)
    assert expected.endswith("the balance is 4155552671 cents.")
    for value in [*STREAMED_VALUES, "4155552671 cents"]:
        start = STREAMED.index(value)
        for cut in range(start, start + len(value) + 1):
            fake.reset(chunks=[STREAMED[:cut], STREAMED[cut:]])
            assert _streamed(gw) == expected, (value, cut)
