"""Pieces of generated answers for the stream-reads-as-the-whole-answer property tests: values
each detector finds, in the notations it reads, what reads them differently (labels, units,
words around terms), and characters a chunk boundary could split."""

from __future__ import annotations

from hypothesis import strategies as st

#: pieces of answers: values each detector finds, what reads them differently (labels, units,
#: words around terms), and characters a chunk boundary could split
FRAGMENTS = [
    "jane.doe@example.com",
    "bob@acme.com",
    "+1 415 555 0132",
    "(+49)/30/901820",
    "030 901820/030 901821",
    "030 901820/+49 30 901821",
    "/+49 30 901821",
    "0171-123 45 67",
    "4111 1111 1111 1111",
    "DE89.3704.0044.0532.0130.00",
    "10.1.2.3/24",
    "Your order 4155552671",
    "4155552671 cents",
    "call 4155552671",
    "version 1.2.3.4",
    "project atlas",
    "Project\n\nAtlas",
    "falcon",
    "xfalcon",
    "falc0n",
    "acme",
    "git@github.com:org/repo.git",
    "ssn 078-05-1120",
    "the",
    "e\u0301t\u00e9",
    "\U0001f44d",
    "415\U0001f44d555 0132",
    "pro\u00adject atlas",
    # marks and emoji on a value's characters: read as the value shows
    "4\u0301155552671",
    "4\ufe0f\u20e31\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e36\ufe0f\u20e37\ufe0f\u20e31\ufe0f\u20e3",
    "415\U0001f44d\U0001f3fd555 0132",
    "4155\U000e0030552671",
    "Jose\u0301@example.com",
    # other notations of cards, SSNs and IBANs
    "4111.1111.1111.1111",
    "SSN: 078051120",
    "IBAN DE 89 3704 0044 0532 0130 00",
    "jane.doe@example\u3002com",
    "jane\ufe6bexample.com",
    "info(at)firma.de",
    "info(at)firma(dot)de",
    "info[at]",
    # written out with spaces, in brackets or in bare words (`detect/spelled.py`)
    "info [at] firma [dot] de",
    "info (at) firma (dot) de",
    "info [AT] firma.de",
    "INFO AT FIRMA DOT DE",
    "jane.doe at mail dot example dot co dot uk",
    "info at firma dot de",
    "info  at  firma  dot  de",
    "info [at]  firma [dot] de",
    "look at this dot com bubble",
    "job hunting at acme dot com",
    "at",
    "dot",
    "[",
    "(at)",
    " (dot) de",
    "jane@example (dot) com",
    "info [ at ] firma [ dot ] de",
    "( at ) x ( dot ) de",
    "(x)",
    "\u3002",
    # groups split by wide gaps: two to four spaces, tabs, one line break (`detect/gaps.py`)
    "4111  1111  1111  1111",
    "4111\t1111\t1111\t1111",
    "4111 1111\n1111 1111",
    "4111 1111\r\n1111 1111",
    "4111\n1111\n1111\n1111",
    "DE89  3704 0044 0532 0130 00",
    "DE89\t3704\t0044\t0532\t0130\t00",
    "+49  30  901820",
    "0049\t30\t901820",
    "020  7946  0958",
    "4111\u2009\u20091111\u2009\u20091111\u2009\u20091111",
    # a card split across a markdown table's cells (`detect/cells.py`), and tables of numbers
    "| 4111 1111 | 1111 1111 |",
    "| card | 4111 | 1111 | 1111 | 1111 |",
    "| 2019 | 2020 | 2021 | 2022 |",
    "| 123 |",
    " | ",
    "|",
    # dashes mixed with spaces, and spaced dashes
    "4111-1111 1111-1111",
    "4111 - 1111 - 1111 - 1111",
    "415 - 555 - 2671",
    "2019 - 2024",
    " - ",
    # other scripts' digits
    "\u0664\u0661\u0665\u0665\u0665\u0665\u0662\u0666\u0667\u0661",
    "\U0001d7d2\U0001d7cf\U0001d7d3 \U0001d7d3\U0001d7d3\U0001d7d3 \U0001d7d0\U0001d7d4\U0001d7d5\U0001d7cf",
]
SEPARATORS = [" ", "  ", ", ", ". ", "\n", "\t", "", " | "]

answers = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), min_size=1, max_size=10
).map(lambda parts: "".join(f + s for f, s in parts))
