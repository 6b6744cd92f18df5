"""How the policies read texts that a provider or a client reads as one (`pipeline/texts.py`).

The readings must hold every text a translator joins: the text parts of one message whatever
stands between them (`chat.message_text`, the `anthropic` adapter), consecutive messages the
adapter merges into one turn, and the system messages it joins into one system prompt.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from hypothesis import example, given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.chain import run_request
from keeptrusts.pipeline.chat import message_text
from keeptrusts.pipeline.texts import (
    JoinedParts,
    Slot,
    request_slots,
    request_texts,
    response_slots,
)
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Match, Result
from keeptrusts.policies.pii import PiiDetector
from keeptrusts.policies.pii import Settings as PiiSettings
from keeptrusts.providers.anthropic_translate import to_messages_request
from tests.policies.exchange import exchange

IMAGE: Any = {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
REFUSAL = {"type": "refusal", "refusal": "no"}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def read(slots: list[Slot]) -> list[str]:
    return [container[key] for container, key in slots]


def every(messages: list[dict[str, Any]]) -> list[str]:
    return read(request_texts("chat", {"messages": messages})[0])


def callers(messages: list[dict[str, Any]]) -> list[str]:
    return read(request_texts("chat", {"messages": messages})[1])


def test_the_text_parts_of_a_message_are_one_text_whatever_stands_between() -> None:
    """Before: a refusal, an image or a part of another kind ended the run, and the adapter
    (assistant, tool and system messages) and the translated answers joined across it."""
    for role in ("assistant", "tool", "system"):
        parts = [text("write jane.doe@"), REFUSAL, IMAGE, {"type": "file"}, text("example.com")]
        texts = every([{"role": role, "content": parts}])
        assert "write jane.doe@example.com" in texts
        assert "write jane.doe@\nexample.com" in texts  # read first: no word runs on
        assert "no" in texts  # the refusal on its own
    answer = {"choices": [{"message": {"content": [text("a@"), {"type": "x"}, text("b.io")]}}]}
    assert read(response_slots(answer, joined=True)) == ["a@\nb.io", "a@b.io"]


def test_a_user_messages_images_stay_between_its_texts() -> None:
    """The adapter keeps a user message's images in place: read there as a line break (their
    URLs are read on their own)."""
    url = IMAGE["image_url"]["url"]
    assert every([{"role": "user", "content": [text("a"), IMAGE, text("b")]}]) == [url, "a\nb"]
    parts = [text("a"), REFUSAL, text("b"), IMAGE, text("c")]
    assert every([{"role": "user", "content": parts}]) == ["no", url, "a\nb\nc", "ab\nc"]


def test_consecutive_messages_of_one_turn_are_one_text() -> None:
    """Before: two user messages (or a tool result and a user message) were read apart, and
    the adapter merged them into one Anthropic message."""
    messages = [
        {"role": "user", "content": "mail jane.doe@"},
        {"role": "system", "content": "be brief"},  # left out of the turn: Anthropic's system
        {"role": "user", "content": [text("example.com")]},
        {"role": "assistant", "content": "ok"},
        {"role": "tool", "tool_call_id": "c", "content": "card 41111111"},
        {"role": "user", "content": "11111111"},
    ]
    texts = callers(messages)
    assert texts == [
        "mail jane.doe@\nexample.com",
        "mail jane.doe@example.com",
        "ok",
        "card 41111111\n11111111",
        "card 4111111111111111",
    ]
    assert "be brief" not in texts and "be brief" in every(messages)


def test_system_messages_are_one_text_joined_with_a_blank_line() -> None:
    messages = [
        {"role": "system", "content": "about proj"},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": ""},
        {"role": "system", "content": [text("ect"), REFUSAL, text(" atlas")]},
        {"role": "developer", "content": "x"},
    ]
    texts = every(messages)
    assert texts[-2:] == ["about proj\n\nect\n atlas\n\nx", "about proj\n\nect atlas\n\nx"]
    assert to_messages_request({"messages": messages}, "m", False)["system"] == texts[-1]
    assert callers(messages) == ["hi"]


def test_counting_reads_each_text_once() -> None:
    """`size-limits` and token estimates count every text once, on its own."""
    messages = [
        {"role": "user", "content": [text("ab"), IMAGE, text("cd")]},
        {"role": "user", "content": "ef"},
        {"role": "system", "content": "gh"},
        {"role": "system", "content": "ij"},
    ]
    assert sorted(read(request_slots("chat", {"messages": messages}))) == [
        "ab", "cd", "ef", "gh", "ij"
    ]  # fmt: skip


def test_tool_call_arguments_are_read_decoded_with_their_keys_beside_the_turn() -> None:
    messages = [
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"to": "a\\u0040b.io"}'}}
            ],
        },
        {"role": "assistant", "content": "again"},
    ]  # fmt: skip
    texts = every(messages)
    assert '{"to": "a@b.io"}' in texts  # as a stream reads them: each value after its key
    assert texts[-2:] == ["calling\nagain", "callingagain"]


async def test_a_redaction_across_messages_is_applied_message_by_message() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "mail jane.doe@exa"},
            {"role": "user", "content": [text("mple.com"), IMAGE, text("thanks")]},
        ]
    }
    ex = exchange(body)
    ex.runtime = cast(Any, SimpleNamespace(policies=(PiiDetector(PiiSettings()),)))
    await run_request(ex)
    assert body["messages"][0]["content"] == "mail [REDACTED:EMAIL]"
    assert [p.get("text") for p in body["messages"][1]["content"]] == ["", None, "thanks"]
    assert ex.evaluations[-1].result is Result.REDACT


def test_joined_parts_maps_spans_over_every_separator() -> None:
    a, b, c = {"t": "one two"}, {"t": "three"}, {"t": "four"}
    joined = JoinedParts([(a, "t"), (b, "t"), (c, "t")], ["\n\n", ""])
    assert joined["t"] == "one two\n\nthreefour"
    # "two\n\nthreefo": from the first text through the third's first two characters
    joined.redact([Match(4, 16, Result.REDACT, "x", "[X]")])
    assert (a["t"], b["t"], c["t"]) == ("one [X]", "", "ur")


def reference_redact(texts: list[str], seps: list[str], matches: list[Match]) -> list[str]:
    """Every match against every text (the former quadratic walk)."""
    out, placed, at = [], set(), 0
    for n, t in enumerate(texts):
        end = at + len(t)
        clipped = []
        for i, m in enumerate(matches):
            if m.start < end and m.end > at:
                first = i not in placed
                placed.add(i)
                clipped.append(
                    m._replace(
                        start=max(m.start, at) - at,
                        end=min(m.end, end) - at,
                        replacement=m.replacement if first else "",
                    )
                )
        out.append(apply(t, clipped))
        at = end + (len(seps[n]) if n < len(seps) else 0)
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_joined_parts_redacts_as_every_match_against_every_text(data: st.DataObject) -> None:
    texts = data.draw(st.lists(st.text("ab", max_size=5), min_size=1, max_size=6))
    seps = data.draw(st.lists(st.sampled_from(["", "\n", "\n\n"]), min_size=len(texts) - 1,
                              max_size=len(texts) - 1))  # fmt: skip
    joined = JoinedParts([({"t": t}, "t") for t in texts], seps)
    size = len(joined["t"])
    spans = st.tuples(st.integers(0, size), st.integers(0, size)).map(sorted)
    matches = [
        Match(a, b, Result.REDACT, "x", f"[{i}]")
        for i, (a, b) in enumerate(data.draw(st.lists(spans, max_size=4)))
    ]
    expected = reference_redact(texts, seps, matches)
    joined.redact(matches)
    assert [c[k] for c, k in joined.slots] == expected


def test_many_texts_with_many_matches_stay_linear() -> None:
    """20 000 one-line messages each holding an address: one pass, not 400 million steps."""
    slots: list[Slot] = [({"t": "mail a@b.io"}, "t") for _ in range(20_000)]
    joined = JoinedParts(slots, [""] * (len(slots) - 1))
    matches = [Match(i * 11 + 5, i * 11 + 11, Result.REDACT, "x", "[E]") for i in range(20_000)]
    joined.redact(matches)
    assert {c[k] for c, k in slots} == {"mail [E]"}


# -- the readings hold what the translators join ----------------------------------------------

PDF = {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}
PART = st.one_of(
    st.sampled_from(["a", "b c", ""]).map(text),
    st.just(IMAGE),
    st.just(REFUSAL),
    st.just(PDF),
)
MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"]),
        "content": st.one_of(st.sampled_from(["x", "y z", ""]), st.lists(PART, max_size=4)),
    }
)


def anthropic_texts(sent: dict[str, Any]) -> list[str]:
    """What Anthropic reads as one text: its system prompt, and each message's blocks joined
    (a tool result's content in its place, an image or a document as a line break between
    texts)."""
    out = [sent["system"]] if sent.get("system") else []
    for msg in sent["messages"]:
        segments = [""]
        for block in msg["content"]:
            if block["type"] in ("image", "document"):
                segments.append("")
            else:
                segments[-1] += block.get("text") or block.get("content") or ""
        out.append("\n".join(s for s in segments if s))
    return [t for t in out if t]


@settings(max_examples=300, deadline=None)
@given(st.lists(MESSAGE, min_size=1, max_size=6))
# a file (a document block) stands between texts as an image does: "aa" and "a" apart
@example([{"role": "user", "content": [text("a"), text("a"), PDF, text("a")]}])
def test_every_text_the_anthropic_adapter_joins_is_read_as_one(messages: list[Any]) -> None:
    readings = set(every(messages))
    for joined in anthropic_texts(to_messages_request({"messages": messages}, "m", False)):
        assert joined in readings


@settings(max_examples=200, deadline=None)
@given(st.lists(PART, max_size=6))
def test_every_answer_text_a_translated_endpoint_joins_is_read_as_one(parts: list[Any]) -> None:
    msg = {"role": "assistant", "content": parts}
    joined = message_text(msg)
    assert not joined or joined in read(
        response_slots({"choices": [{"message": msg}]}, joined=True)
    )
