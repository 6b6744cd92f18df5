"""A provider that closes kept-alive connections it deems idle (as load balancers do after
their idle timeout) can close one just as the gateway sends a request on it: nothing of an
answer arrived, so the request is sent once more on a new connection."""

from __future__ import annotations

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config


def test_a_pooled_connection_the_provider_closed_is_not_a_failure(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """With one target, a request sent on the previous one's kept-alive connection (which the
    provider closed unanswered) was a 503 upstream_unavailable and counted against the
    target; it is answered, on a new connection (JSON and streams)."""
    fake.reset(close_reused=True)
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    for stream in (False, True, False, True):
        body = {
            "model": "gpt-4o",
            "stream": stream,
            "messages": [{"role": "user", "content": "hi"}],
        }
        r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)
        assert r.status_code == 200, r.text
        assert fake.behaviour.reply.split()[-1] in r.text
    # each stream came on the JSON request's connection, closed unanswered, then on a new
    # one (closed after it): each JSON request opened the pool's next connection
    assert len(fake.requests) == 6 and len(fake.peers) == 4
    assert httpx.get(gw.url + "/health").json()["providers"] == {"a": "reachable"}
    assert 'outcome="connect_error"' not in httpx.get(gw.url + "/metrics").text
