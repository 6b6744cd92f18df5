"""Whether a match of the prompt-injection catalogue (`attacks`) is an order to the model, read
in the words around it: not when negated ("never reveal your system prompt"), asked about
("how do I write a system prompt", "what is a jailbreak"), the user's own earlier
instructions taken back, or a text or token named rather than used ("the <|im_start|> token").
`data` is the normalised, lower-cased text the catalogue matched in.
"""

from __future__ import annotations

from keeptrusts.detect.attacks import (
    ARTICLES,
    CODE_ARTEFACTS,
    GUARDED_TOPICS,
    HOW_TO,
    HOW_TO_REASONS,
    MENTION_AFTER,
    NAMED_DELIMITERS,
    NEGATIONS,
    OWN_AFTER,
    OWN_TOPIC,
    OWN_WORDS,
    SUPPLIED_TEXT_VERBS,
    WHAT_IS,
    WHAT_IS_REASONS,
)

_EXTRACTION = "injection.system_prompt_extraction"
_OVERRIDE = "injection.instruction_override"
_DELIMITER = "injection.delimiter"


def is_an_order(data: bytes, start: int, end: int, reason: str) -> bool:
    """The match `data[start:end]` (of `reason`) reads as an order to the model."""
    return not (
        _negated(data, start)
        or _asked_how(data, start, end, reason)
        or _own_or_mentioned(data, start, end, reason)
    )


def _negated(data: bytes, start: int) -> bool:
    window = data[max(0, start - 24) : start]
    return any(window.endswith(n) or (n + b"to ") in window for n in NEGATIONS) or any(
        window.endswith(n + b"you ") or window.endswith(n + b"ever ") for n in NEGATIONS
    )


def _asked_how(data: bytes, start: int, end: int, reason: str) -> bool:
    """A how-to question about the asker's own prompt, a question about what an attack or a
    jailbreak is, or a mention of a variable in their code: not an order to the model."""
    if reason not in WHAT_IS_REASONS or b"your" in data[start:end]:
        return False
    before = data[max(0, start - 20) : start]
    if reason in HOW_TO_REASONS and before.endswith(HOW_TO):
        return True
    for article in ARTICLES:
        if before.endswith(article):
            before = before[: -len(article)]
            break
    if before.endswith(WHAT_IS):
        return True
    if reason != _EXTRACTION or not data.startswith(CODE_ARTEFACTS, end):
        return False
    return b"your" not in data[end : end + 40]  # "the system prompt field of your config"


def _own_or_mentioned(data: bytes, start: int, end: int, reason: str) -> bool:
    """The user's own earlier instructions taken back, or a text or token named, not used."""
    match = data[start:end]
    mentioned = MENTION_AFTER.get(reason)
    if mentioned is not None and data.startswith(mentioned, end):
        if reason == _DELIMITER:
            return match in NAMED_DELIMITERS
        return b"your" not in match and match.startswith(SUPPLIED_TEXT_VERBS)
    if reason != _OVERRIDE or b"your" in match:
        return False
    if not (
        (any(w in match for w in OWN_WORDS) and data.startswith(OWN_TOPIC, end))
        or data.startswith(OWN_AFTER, end)
    ):
        return False
    topic = data[end : end + 48]
    return not any(t in topic for t in GUARDED_TOPICS)
