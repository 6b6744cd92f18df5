"""pii-detector: e-mail addresses written out against harvesters, with spaces.

Before: `info [at] firma [dot] de`, `info (at) firma (dot) de` and `info at firma dot de` were
let through (only the glued `info(at)firma.de` was read)."""

from __future__ import annotations

import pytest

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.pii import PiiDetector, Settings

DEFAULT = PiiDetector(Settings())


def redact(text: str) -> str:
    return apply(text, DEFAULT.find(text, Stage.REQUEST))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail: info [at] firma [dot] de, Tel.", "Mail: [REDACTED:EMAIL], Tel."),
        ("Mail: info (at) firma (dot) de.", "Mail: [REDACTED:EMAIL]."),
        ("Mail: info [at] firma.de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info (AT) firma [DOT] de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info [at] firma (punkt) de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: jane@example (dot) com", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info [ at ] firma [ dot ] de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info ( AT ) firma.de", "Mail: [REDACTED:EMAIL]"),
        # full-width brackets and spaces read as ASCII ones (`lookalikes`)
        ("Mail: info \uff08at\uff09 firma \uff08dot\uff09 de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info\u00a0at\u00a0firma\u00a0dot\u00a0de", "Mail: [REDACTED:EMAIL]"),
        ("write to info at firma dot de today", "write to [REDACTED:EMAIL] today"),
        ("jane.doe at mail dot example dot co dot uk!", "[REDACTED:EMAIL]!"),
        ("JANE AT EXAMPLE DOT COM", "[REDACTED:EMAIL]"),
        ("jobs at firma punkt de", "[REDACTED:EMAIL]"),
        ("jürgen at beispiel dot de", "[REDACTED:EMAIL]"),
        # a mailbox in -ing after a word that names a recipient, or after none
        ("write to marketing at acme dot com", "write to [REDACTED:EMAIL]"),
        ("sales or marketing at acme dot com", "sales or [REDACTED:EMAIL]"),
        ("Mail: billing at acme dot com", "Mail: [REDACTED:EMAIL]"),
        ("booking at hotel dot de", "[REDACTED:EMAIL]"),
        # up to four spaces around the words and brackets, as a form aligns them (before:
        # let through)
        ("Mail: info  at  firma  dot  de, Tel.", "Mail: [REDACTED:EMAIL], Tel."),
        ("Mail: info [at]  firma [dot] de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info  [at]  firma  [dot]  de", "Mail: [REDACTED:EMAIL]"),
        ("Mail: info    (at)    firma.de", "Mail: [REDACTED:EMAIL]"),
        ("JANE  AT  EXAMPLE  DOT  COM", "[REDACTED:EMAIL]"),
        # a top-level domain glued to the next address: both are read (they overlap)
        ("info [ at ] firma [ dot ] debob@acme.com ok", "[REDACTED:EMAIL] ok"),
    ],
)
def test_addresses_written_out_with_spaces(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # prose: a common word before `at` or in the domain, no known top-level domain
        "look at this dot com bubble",
        "he worked at the dot com boom",
        "we looked at pets dot com",
        "meet at noon on the dot",
        "Look At Pets Dot Com",
        "info at firma dot dex",
        # a bare `at` before a dotted domain is prose; so is `@` between spaces (`a @ b.T`)
        "the code is available at github.com",
        "see info at firma.de",
        "y = weights @ inputs.weights",
        # brackets without a domain, or with other words
        "(at least) three of them, see [at most] example.com",
        "look(at)this and info [at] firma",
        # five spaces or a line break are no longer one address
        "info     at firma dot de",
        "info at\nfirma dot de",
        "look  at  this  dot  com bubble",
        # a verb in -ing after a word of prose (before: `job hunting at acme dot com` read
        # as `hunting@acme.com`)
        "job hunting at acme dot com",
        "JOB HUNTING AT ACME DOT COM",
        "we are hiring at acme dot com",
        "we went shopping at amazon dot com",
        "I'm camping at lake dot com",
    ],
)
def test_prose_that_reads_like_a_written_out_address(text: str) -> None:
    assert redact(text) == text
