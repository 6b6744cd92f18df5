"""Image URLs are read by the request policies, with the official SDKs against the real gateway:
`/v1/responses` `input_image`, `/v1/chat/completions` `image_url` parts and `/v1/messages` URL
images. Before, a URL reached the provider unread: `?email=jane@acme.com&key=sk-...` passed the
PII redaction, and `?q=project+atlas` passed the DLP block."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.gateway import Gateway
from tests.fakes.upstream import FakeUpstream
from tests.integration.test_responses_api import client, gw

__all__ = ["gw"]

KEY = "sk-proj-abcdefghijklmnop1234567890ABCD"
PIXELS = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
#: a URL as sent -> as the provider gets it
URLS = {
    f"https://img.example/a.png?email=jane@acme.com&key={KEY}":
        "https://img.example/a.png?email=[REDACTED:EMAIL]&key=[REDACTED:OPENAI_KEY]",
    "https://img.example/b.png?to=jane%40acme.com&size=2":
        "https://img.example/b.png?to=[REDACTED:EMAIL]&size=2",
    f"data:image/png;name=jane@acme.com;base64,{PIXELS}":
        f"data:image/png;name=[REDACTED:EMAIL];base64,{PIXELS}",
    f"data:image/png;base64,{PIXELS}": f"data:image/png;base64,{PIXELS}",
}  # fmt: skip
BLOCKED = "https://img.example/c.png?q=project+atlas"


def image_urls(fake: FakeUpstream) -> list[str]:
    """The image URLs of the one chat request the provider got."""
    assert len(fake.requests) == 1
    parts = [p for m in fake.requests[0].body["messages"] for p in m["content"]]
    return [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]


@pytest.mark.parametrize(("url", "sent"), URLS.items())
def test_responses_input_image_urls_are_read(
    gw: Gateway, fake: FakeUpstream, url: str, sent: str
) -> None:
    image: Any = {"type": "input_image", "image_url": url, "detail": "auto"}
    content: Any = [{"type": "input_text", "text": "what is this?"}, image]
    client(gw).responses.create(model="gpt-4o", input=[{"role": "user", "content": content}])
    assert image_urls(fake) == [sent]


def test_chat_and_messages_image_urls_are_read(gw: Gateway, fake: FakeUpstream) -> None:
    url, sent = next(iter(URLS.items()))
    part: Any = {"type": "image_url", "image_url": {"url": url}}
    chat: Any = [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}]
    client(gw).chat.completions.create(model="gpt-4o", messages=chat)
    assert image_urls(fake) == [sent]
    fake.reset()
    block: Any = {"type": "image", "source": {"type": "url", "url": url}}
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "hi"}, block]}]
    ac = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    ac.messages.create(model="gpt-4o", max_tokens=20, messages=messages)
    assert image_urls(fake) == [sent]


def test_a_blocked_term_in_an_image_url_blocks(gw: Gateway, fake: FakeUpstream) -> None:
    """`+` is a space in a query, as the server fetching the image reads it."""
    content: Any = [{"type": "input_image", "image_url": BLOCKED, "detail": "auto"}]
    with pytest.raises(openai.ConflictError) as err:
        client(gw).responses.create(model="gpt-4o", input=[{"role": "user", "content": content}])
    assert err.value.response.json()["error"]["policy"] == "dlp-filter"
    part: Any = {"type": "image_url", "image_url": {"url": BLOCKED.replace("+", "%20")}}
    with pytest.raises(openai.ConflictError):
        client(gw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": [part]}]
        )
    assert fake.requests == []
