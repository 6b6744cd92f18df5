"""Resolving a provider's host name counts against `timeouts.connect`: a resolver that never
answers (here a name server on loopback that reads queries and answers none) fails the
attempt after `connect` seconds instead of stalling it until `total`.

The gateway runs in a mount namespace of its own whose /etc/resolv.conf names that server
(`unshare -m`, then a bind mount): no code of the gateway is replaced. It needs root (to bind
port 53 and mount) and `unshare`; elsewhere the module is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

#: a loopback address of its own for the silent name server (port 53 is fixed by resolv.conf)
NAMESERVER = "127.53.0.1"
MOUNT_RESOLV = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'


def _namespaces_usable() -> str | None:
    """Why the gateway cannot be given a resolv.conf of its own here, or None."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare (a mount namespace, and port 53 on loopback)"
    done = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return None if done.returncode == 0 else "unshare -m is not permitted here"


@dataclass
class SilentResolver:
    """The command prefix that makes the gateway use the silent name server, and its socket."""

    prefix: list[str]
    server: socket.socket

    def queries(self) -> int:
        """How many queries reached the name server so far (each read once)."""
        self.server.setblocking(False)
        n = 0
        with contextlib.suppress(BlockingIOError):
            while self.server.recv(4096):
                n += 1
        return n


@pytest.fixture
def silent_resolver(tmp_path: Path) -> Iterator[SilentResolver]:
    """A name server that never answers, and the command prefix that makes the gateway use it
    (with a resolver timeout far beyond the test's patience)."""
    why = _namespaces_usable()
    if why is not None:
        pytest.skip(why)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((NAMESERVER, 53))
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"nameserver {NAMESERVER}\noptions timeout:60 attempts:1\n")
        yield SilentResolver(["unshare", "-m", "sh", "-c", MOUNT_RESOLV, str(conf)], server)


def _hung_lookup_config() -> str:
    return openai_config(("a", "http://llm.provider.test:8000/v1")).replace(
        "{connect: 2, first_byte: 5, total: 30}", "{connect: 1, first_byte: 5, total: 60}"
    )


def test_a_resolver_that_never_answers_fails_within_connect(
    gateways: GatewayFactory, silent_resolver: SilentResolver
) -> None:
    """The lookup of `llm.provider.test` hangs: the request was held until `total` (60 s
    here; 600 by default), past every client's patience. It is a 504 naming the connect
    timeout, after `connect` (1 s)."""
    gw = gateways.start(_hung_lookup_config(), env=ENV, prefix=silent_resolver.prefix)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=20)
    assert r.status_code == 504, r.text
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_timeout"
    assert "timeouts.connect" in err["message"]


def test_a_hung_lookup_is_shared_and_does_not_hold_up_exit(
    gateways: GatewayFactory, silent_resolver: SilentResolver
) -> None:
    """Twelve requests to a provider whose name never resolves: each is a 504 after `connect`,
    and they share one lookup (a system resolver thread each would be a thread per request,
    each held for the resolver's 60 s). The lookup still hangs when the gateway is told to
    stop: it exits at once, not when the resolver gives up (a pod's grace period)."""
    gw = gateways.start(_hung_lookup_config(), env=ENV, prefix=silent_resolver.prefix)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}

    async def one(client: httpx.AsyncClient) -> int:
        r = await client.post(gw.base_url + "/chat/completions", json=body)
        return r.status_code

    async def all_at_once() -> list[int]:
        async with httpx.AsyncClient(timeout=20) as client:
            return await asyncio.gather(*(one(client) for _ in range(12)))

    assert asyncio.run(all_at_once()) == [504] * 12
    # glibc asks for A and AAAA: one lookup is two queries (a second connection pool, for a
    # retry on a fresh connection, is not reached here)
    assert silent_resolver.queries() <= 2
    started = time.monotonic()
    assert gw.stop() == 0
    assert time.monotonic() - started < 10, "exit waited for the hung lookup"


def test_a_provider_named_by_host_name_is_reached(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """The daemon-thread lookups answer as the system resolver does (`localhost` from
    /etc/hosts, IPv4 or IPv6): JSON and a stream both reach the provider by name."""
    named = fake.base_url.replace("127.0.0.1", "localhost")
    gw = gateways.start(openai_config(("a", named)), env=ENV)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    streamed = httpx.post(gw.base_url + "/chat/completions", json={**body, "stream": True})
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")
    assert len(fake.requests) == 2
