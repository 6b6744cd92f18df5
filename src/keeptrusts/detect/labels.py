"""What the words around a bare run of digits say it is: an identifier's or a quantity's
label before it (`order 4155552671`, `"order_id": 4155552671`), a unit after it (`4155552671
cents`), an SSN's label (`SSN: 078051120`), and the words of telephony that overrule them
(`Caller ID: ...`). Each is read on a few characters next to the run (RE2: linear)."""

from __future__ import annotations

from keeptrusts.detect.checksums import ssn_ok
from keeptrusts.detect.engine import Encoded, compile_pattern

#: what labels a bare run of digits as an identifier of a thing or a quantity in code
#: (`order 4155552671`, `ticket #...`, `user_id = ...`, `"id": ...`, `"id": "..."`, `seed=...`:
#: tool-call arguments are read with their keys, as JSON), so it is
#: not read as a phone number written without separators (accounts and customers are left
#: out: their numbers may be personal); read on the text just before the run (a label a
#: stream already released only makes the stream redact more, never less)
_ID_LABEL = compile_pattern(
    r"(?i)(?:(?:\b|_)(?:id|ids|order|invoice|inv|ticket|serial|ref|reference|sku|tracking"
    r"|transaction|txn|case|uid|pid|build|item|part|seed|nonce|offset|count|size|length"
    r"|timestamp|epoch|checksum|hash|version|limit|total|port"
    # de, fr, es, it: order, invoice, ticket and case numbers
    r"|bestellnummer|bestellung|rechnungsnummer|rechnung|auftragsnummer|vorgangsnummer"
    r"|ticketnummer|commande|facture|pedido|factura|ordine|fattura)"
    r"(?:\s*(?:number|no\.?|nr\.?|n°|nº|id|#))?|№)[\"']?\s*[:=#]?\s*[\"']?\z"
)
#: what labels nine bare digits as a US social security number (`SSN: 078051120`, `social
#: security no. 078051120`, `SSN#078051120`), read on the text just before the run
_SSN_LABEL = compile_pattern(
    r"(?i)(?:\bssn|\bsocial[ \-]security(?:[ \-]?(?:number|no\.?|#))?)"
    r"\s*(?:#|no\.?|number)?[\"']?\s*[:=#]?\s*[\"']?\z"
)
#: a unit right after a bare run of digits makes it a quantity (`4155552671 cents`,
#: `2125550123 bytes`), read on the word after one space: a stream holds the run until that
#: word is whole (see holdpoint), so it releases what the whole text gives
_UNIT_AFTER = compile_pattern(
    r"(?i)\A (?:cents?|dollars?|usd|eur|euros?|gbp|pounds|yen|bytes?|bits?|kb|mb|gb|tb|kib|mib"
    r"|gib|tib|ms|ns|µs|us|secs?|seconds?|minutes?|mins?|hours?|days?|years?|rows?|records?"
    r"|items?|entries|tokens?|requests?|reqs|users?|points?|units?|steps?|iterations?|lines?"
    r"|words?|chars?|characters?|pages?|files?|times|calls)\b"
)
#: how far ahead a unit is looked for
_UNIT_CHARS = 16
#: integer limits of 32-bit types (INT_MAX, UINT_MAX and their neighbours), everywhere in code
#: and logs, and shaped like North American numbers
_INT_LIMITS = frozenset(("2147483647", "2147483648", "4294967295", "4294967296"))
#: how far back a label is looked for
ID_LABEL_CHARS = 32
#: words of telephony at the start of a word (`Tel.-Nr.`, `Handynummer`, `Téléphone`, `тел.`)
_PHONE_WORD = compile_pattern(
    r"(?i)(?:^|[^\pL\pN])(?:phone|tel|tél|mobile|móvil|movil|cell|handy|rufnummer|portable|fax"
    r"|call|sms|whatsapp|contact|тел)"
)


def labelled_id(text: str, start: int) -> bool:
    """A bare run of digits right after an identifier's label (`Serial number: 4155552671`),
    with no word of telephony near it (`Caller ID: ...`, `phone order line ...`)."""
    window = text[max(0, start - ID_LABEL_CHARS) : start]
    if not window or _ID_LABEL.search(Encoded(window)) is None:
        return False
    return _PHONE_WORD.search(Encoded(window)) is None


def ssn_labelled(text: str, start: int, run: str) -> bool:
    """Nine bare digits right after an SSN's label (`SSN: 078051120`), in its valid ranges."""
    window = text[max(0, start - ID_LABEL_CHARS) : start]
    if not window or _SSN_LABEL.search(Encoded(window)) is None:
        return False
    return ssn_ok(run[:3], run[3:5], run[5:])


def quantity(text: str, start: int, end: int) -> bool:
    """A bare run of digits that counts something: a 32-bit integer limit (`2147483647 is
    INT_MAX`) or a number followed by a unit (`balance is 4155552671 cents`), with no word
    of telephony just before it (`call 4155552671 today`, `phone 4155552671 days only`)."""
    if text[start:end] not in _INT_LIMITS:
        after = text[end : end + _UNIT_CHARS]
        if not after.startswith(" ") or _UNIT_AFTER.search(Encoded(after)) is None:
            return False
    window = text[max(0, start - ID_LABEL_CHARS) : start]
    return not window or _PHONE_WORD.search(Encoded(window)) is None
