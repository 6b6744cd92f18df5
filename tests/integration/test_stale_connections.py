"""A provider that closes kept-alive connections it deems idle (as load balancers do after
their idle timeout) can close one just as the gateway sends a request on it: nothing of an
answer arrived, so the request is sent once more on a new connection."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config


@pytest.mark.parametrize("stream", [False, True])
def test_a_pooled_connection_the_provider_closed_is_not_a_failure(
    gateways: GatewayFactory, fake: FakeUpstream, stream: bool
) -> None:
    """With one target, the second request (sent on the first one's kept-alive connection,
    which the provider closed unanswered) was a 503 upstream_unavailable and counted against
    the target; it is answered, on a new connection."""
    fake.reset(close_reused=True)
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)
        assert r.status_code == 200, r.text
        assert fake.behaviour.reply.split()[-1] in r.text
    # the second came on the first one's connection, closed unanswered, then on a new one,
    # which closed after it: the third opened the pool's next connection
    assert len(fake.requests) == 4 and len(fake.peers) == 3
    assert httpx.get(gw.url + "/health").json()["providers"] == {"a": "reachable"}
    assert 'outcome="connect_error"' not in httpx.get(gw.url + "/metrics").text
