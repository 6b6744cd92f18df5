"""pii-detector: every entity, look-alikes that must pass, markers, block, custom patterns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Result, Stage
from keeptrusts.policies.pii import HOLDBACK, PiiDetector, Settings

DEFAULT = PiiDetector(Settings())


def redact(text: str, policy: PiiDetector = DEFAULT) -> str:
    return apply(text, policy.find(text, Stage.REQUEST))


def reasons(text: str, policy: PiiDetector = DEFAULT) -> list[str]:
    return [m.reason_code for m in policy.find(text, Stage.REQUEST)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail john.doe+tag@example.co.uk now", "mail [REDACTED:EMAIL] now"),
        ("a@b.io", "[REDACTED:EMAIL]"),
        ("card 4111 1111 1111 1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("card 4111-1111-1111-1111.", "card [REDACTED:CREDIT_CARD]."),
        ("card 4111111111111111", "card [REDACTED:CREDIT_CARD]"),
        ("amex 3782 822463 10005", "amex [REDACTED:CREDIT_CARD]"),
        ("Order 12 4111 1111 1111 1111", "Order 12 [REDACTED:CREDIT_CARD]"),
        ("IBAN DE89 3704 0044 0532 0130 00, thanks", "IBAN [REDACTED:IBAN], thanks"),
        ("iban GB82WEST12345698765432", "iban [REDACTED:IBAN]"),
        ("ssn 123-45-6789", "ssn [REDACTED:SSN]"),
        ("ssn 123 45 6789", "ssn [REDACTED:SSN]"),
        ("call (415) 555-2671", "call [REDACTED:PHONE]"),
        ("call 415.555.2671", "call [REDACTED:PHONE]"),
        ("call +44 20 7946 0958", "call [REDACTED:PHONE]"),
        ("call +1-415-555-2671!", "call [REDACTED:PHONE]!"),
        ("call 020 7946 0958", "call [REDACTED:PHONE]"),
        ("host 192.168.1.10:8080", "host [REDACTED:IP_ADDRESS]:8080"),
        ("dns 8.8.8.8.", "dns [REDACTED:IP_ADDRESS]."),
        ("v6 2001:db8::8a2e:370:7334 end", "v6 [REDACTED:IP_ADDRESS] end"),
        ("v6 fe80::1", "v6 [REDACTED:IP_ADDRESS]"),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz0123", "key [REDACTED:OPENAI_KEY]"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "key [REDACTED:ANTHROPIC_KEY]"),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws [REDACTED:AWS_ACCESS_KEY]"),
        ("gh ghp_" + "a1" * 18, "gh [REDACTED:GITHUB_TOKEN]"),
        ("gh github_pat_" + "A" * 30, "gh [REDACTED:GITHUB_TOKEN]"),
        ("slack xoxb-123456789012-abcdefghij", "slack [REDACTED:SLACK_TOKEN]"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_Part-1 end",
            "jwt [REDACTED:JWT] end",
        ),
    ],
)
def test_positives(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "ref 1234 5678 9012 3456",  # Luhn fails
        "release 1.22.333 and v2.0.0-beta.1 and v1.2.3.4",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "commit 3f2a9c1e0b7d4f5a6c8e9b0a1d2c3e4f5a6b7c8d and 9fceb02",
        "on 2024-01-15, 15.01.2024, 01/15/2024 at 10:30:45",
        "price $1,234.56 or $41555526.71 or €19.99",
        "ISBN 978-3-16-148410-0 and 0-306-40615-2",
        "invoice INV-2024-000123 and #20240001234",
        "ts 1700000000 and 20240115103000",
        "mac 00:1A:2B:3C:4D:5E and std::vector and 12:30:45",
        "ssn-like 000-12-3456 666-12-3456 900-12-3456 123-00-4567",
        "IBAN-like DE89 3704 0044 0532 0130 01",
        "task-management-system-for-teams and risk-assessment-framework-v2",
        "version 3.11.4 of python, 10.0.0 of node",
        "call extension 123 or room 4567",
        "sk-short and AKIA123",
    ],
)
def test_look_alikes_pass(text: str) -> None:
    assert reasons(text) == [], redact(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call 4\u0301155552671 now", "4\u0301155552671"),
        ("call 4\ufe0f\u20e31\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e36"
         "\ufe0f\u20e37\ufe0f\u20e31 now", None),
        ("call 415\U0001f600555\U0001f6002671 now", "415\U0001f600555\U0001f6002671"),
        ("call 415\U0001f44d\U0001f3fd555 0132 now", "415\U0001f44d\U0001f3fd555 0132"),
        ("call 415\U0001f468\u200d\U0001f469\u200d\U0001f467555 0132 now", None),
        ("call 4155\U000e0030552671 now", "4155\U000e0030552671"),
        ("card 4111\u0301 1111 1111 1111 now", "4111\u0301 1111 1111 1111"),
        ("mail Jose\u0301@example.com now", "Jose\u0301@example.com"),
        ("mail mu\u0308ller@example.de now", "mu\u0308ller@example.de"),
    ],
)  # fmt: skip
def test_marks_and_emoji_on_a_value_hide_nothing(text: str, value: str | None) -> None:
    """Before: a combining mark on a digit (`4\u0301`), keycap digits, emoji between a
    number's digits and a tag character read as no number, and decomposed (NFD) addresses
    (`Jose\u0301@...`) as none or a part; each is now redacted as it shows, whole."""
    out = redact(text)
    assert out.startswith(
        ("call [REDACTED:PHONE]", "card [REDACTED:CREDIT_CARD]", "mail [REDACTED:EMAIL]")
    )
    assert out.endswith(" now") and not any(ch.isdigit() for ch in out), out
    if value is not None:
        assert out == text.replace(value, out.split(" ")[1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111.1111.1111.1111 ok", "card [REDACTED:CREDIT_CARD] ok"),
        ("SSN: 078051120 ok", "SSN: [REDACTED:SSN] ok"),
        ('{"ssn": "078051120"}', '{"ssn": "[REDACTED:SSN]"}'),
        ("social security no. 078051120", "social security no. [REDACTED:SSN]"),
        ("IBAN DE 89 3704 0044 0532 0130 00, ok", "IBAN [REDACTED:IBAN], ok"),
        ("IBAN FR 76 3000 6000 0112 3456 7890 189", "IBAN [REDACTED:IBAN]"),
        # not these: a failed Luhn check, nine digits with no SSN label, no SSN area 000
        ("ref 4111.1111.1111.1112", "ref 4111.1111.1111.1112"),
        ("code 078051120", "code 078051120"),
        ("SSN: 000051120", "SSN: 000051120"),
    ],
)
def test_other_notations_of_cards_ssns_and_ibans(text: str, expected: str) -> None:
    """Before: a card in dotted groups (`4111.1111.1111.1111`), an SSN written without dashes
    after its label, and an IBAN with a space after its country code (`DE 89 3704 ...`) were
    left in the clear."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call \u0664\u0661\u0665\u0665\u0665\u0665\u0662\u0666\u0667\u0661 now", "call [REDACTED:PHONE] now"),
        ("call \u096a\u0967\u096b\u096b\u096b\u096b\u0968\u096c\u096d\u0967 now", "call [REDACTED:PHONE] now"),
        ("call \U0001d7d2\U0001d7cf\U0001d7d3 \U0001d7d3\U0001d7d3\U0001d7d3 \U0001d7d0\U0001d7d4\U0001d7d5\U0001d7cf now",
         "call [REDACTED:PHONE] now"),
        ("card \U0001d7d2\U0001d7cf\U0001d7cf\U0001d7cf" + " \U0001d7cf\U0001d7cf\U0001d7cf\U0001d7cf" * 3, "card [REDACTED:CREDIT_CARD]"),
        ("\u0627\u0644\u0635\u0641\u062d\u0629 \u0663", "\u0627\u0644\u0635\u0641\u062d\u0629 \u0663"),
    ],
)  # fmt: skip
def test_numbers_in_other_scripts_digits(text: str, expected: str) -> None:
    """Before: a phone or card number in Arabic-Indic, Devanagari or mathematical digits was
    read as no number (Arabic text writes phone numbers in its own digits)."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe@example\u3002com ok", "mail [REDACTED:EMAIL] ok"),
        ("mail jane.doe@mail\uff61example\u3002co\u3002uk ok", "mail [REDACTED:EMAIL] ok"),
        ("mail jane\ufe6bexample.com ok", "mail [REDACTED:EMAIL] ok"),
        # written against harvesters, as on German and French sites
        ("Mail: info(at)firma.de, Tel.", "Mail: [REDACTED:EMAIL], Tel."),
        ("contact: jean.dupont[AT]exemple.fr", "contact: [REDACTED:EMAIL]"),
        ("Mail: info(at)firma(dot)de.", "Mail: [REDACTED:EMAIL]."),
        ("E-Mail: info[at]firma[punkt]de", "E-Mail: [REDACTED:EMAIL]"),
        ("look(at)this and info [at] firma", "look(at)this and info [at] firma"),
        # a full stop that ends a sentence is no dot of the domain; nor of a number's prefix
        ("\u90ae\u4ef6 jane@example.com\u3002\u8c22\u8c22", "\u90ae\u4ef6 [REDACTED:EMAIL]\u3002\u8c22\u8c22"),
        ("\u7535\u8bdd\u3002(415) 555-2671", "\u7535\u8bdd\u3002[REDACTED:PHONE]"),
    ],
)  # fmt: skip
def test_addresses_with_ideographic_dots_and_a_small_at(text: str, expected: str) -> None:
    """Before: `jane.doe@example\u3002com` (a domain's dot as an ideographic full stop, which
    IDNA reads as a dot), `jane\ufe6bexample.com` (a small commercial at) and
    `info(at)firma.de` were released."""
    assert redact(text) == expected


def test_private_key_block_and_truncated_block() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc==\n-----END RSA PRIVATE KEY-----"
    assert redact(f"key:\n{pem}\nbye") == "key:\n[REDACTED:PRIVATE_KEY]\nbye"
    assert redact("x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk") == (
        "x [REDACTED:PRIVATE_KEY]"
    )


def test_entities_setting_narrows() -> None:
    only_email = PiiDetector(Settings(entities=["email"]))
    assert redact("a@b.io 4111111111111111", only_email) == "[REDACTED:EMAIL] 4111111111111111"
    secrets = PiiDetector(Settings(entities=["secrets"]))
    assert reasons("AKIAIOSFODNN7EXAMPLE a@b.io", secrets) == ["pii.aws_access_key"]


def test_block_action_returns_one_block() -> None:
    p = PiiDetector(Settings(action="block"))
    matches = p.find("a@b.io and 123-45-6789", Stage.REQUEST)
    assert len(matches) == 1
    assert matches[0].action is Result.BLOCK
    assert matches[0].reason_code == "pii.email"


def test_markers() -> None:
    label = PiiDetector(Settings.model_validate({"redaction": {"marker_format": "label"}}))
    assert redact("a@b.io", label) == "[REDACTED:EMAIL]"
    angle = PiiDetector(Settings.model_validate({"redaction": {"marker_format": "<{entity}>"}}))
    assert redact("a@b.io", angle) == "<EMAIL>"
    stars = PiiDetector(Settings.model_validate({"redaction": {"preserve_length": True}}))
    assert redact("x a@b.io", stars) == "x ******"
    custom = PiiDetector(
        Settings.model_validate({"redaction": {"custom_markers": {"email": "[mail]"}}})
    )
    assert redact("a@b.io 123-45-6789", custom) == "[mail] [REDACTED:SSN]"


def test_custom_patterns() -> None:
    p = PiiDetector(
        Settings.model_validate(
            {"detect_patterns": ["EMP-[0-9]{6}", {"name": "mrn", "pattern": "MRN[0-9]{8}"}]}
        )
    )
    assert redact("EMP-123456 MRN12345678", p) == "[REDACTED:CUSTOM] [REDACTED:MRN]"
    assert reasons("MRN12345678", p) == ["pii.mrn"]


def test_non_ascii_offsets() -> None:
    assert redact("Grüße an jürgen@example.de — tel +49 30 901820") == (
        "Grüße an [REDACTED:EMAIL] — tel [REDACTED:PHONE]"
    )


def test_holdback_is_bounded() -> None:
    assert DEFAULT.holdback == HOLDBACK == 256
    longest_email = "a" * 64 + "@" + "b" * 180 + ".com"
    assert len(longest_email) <= 254 < DEFAULT.holdback


def test_stages() -> None:
    p = PiiDetector(Settings(stages=["response"]))
    assert p.stages == frozenset({Stage.RESPONSE})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_find_never_raises_and_spans_are_sane(text: str) -> None:
    for m in DEFAULT.find(text, Stage.RESPONSE):
        assert 0 <= m.start < m.end <= len(text)


ALPHABET = st.sampled_from([*"0123456789 -.()+@:abcdefAKIxsk_/=\n", "é", "\u200b"])


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET, max_size=200))
def test_find_never_raises_on_number_soup(text: str) -> None:
    for m in DEFAULT.find(text, Stage.REQUEST):
        assert 0 <= m.start < m.end <= len(text)
