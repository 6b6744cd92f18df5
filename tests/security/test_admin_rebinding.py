"""The token-less loopback exemption also needs a loopback `Host` (or none, HTTP/1.0) and no
foreign `Origin`: a page in a local browser (DNS rebinding, a cross-site POST) is refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from keeptrusts.gateway.admin_access import loopback_host, loopback_origin
from tests.fakes.gateway import Gateway, GatewayFactory
from tests.security.test_admin_access import CONFIG, ROUTES, TOKEN, forbidden

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("rebind"))
    yield factory.start(CONFIG, env={"KEEPTRUSTS_ADMIN_TOKEN": TOKEN})
    factory.stop_all()


def call(gw: Gateway, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "rebind.attacker.example"},
        {"Host": "rebind.attacker.example:41002"},
        {"Host": "127.0.0.1.attacker.example"},
        {"Host": "localhost.attacker.example"},
        {"Origin": "http://rebind.attacker.example"},
        {"Origin": "null"},
        {"Host": "rebind.attacker.example", "Origin": "http://rebind.attacker.example"},
    ],
    ids=repr,
)
def test_a_browser_page_is_refused_without_the_token(gw: Gateway, headers: dict[str, str]) -> None:
    for method, path in ROUTES:
        assert forbidden(call(gw, method, path, headers)), (path, headers)
    for method, path in ROUTES:  # a bearer-token caller is unaffected
        assert call(gw, method, path, {**headers, **AUTH}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # httpx sends Host: 127.0.0.1:<port>
        {"Host": "localhost"},
        {"Host": "LOCALHOST:41002"},
        {"Host": "127.0.0.1"},
        {"Host": "[::1]:41002"},
        {"Origin": "http://localhost:3000"},
        {"Origin": "http://127.0.0.1:41002"},
        {"Origin": "https://[::1]"},
    ],
    ids=repr,
)
def test_local_tools_still_need_no_token(gw: Gateway, headers: dict[str, str]) -> None:
    for method, path in ROUTES:
        assert call(gw, method, path, headers).status_code == 200, (path, headers)


def test_http_1_0_without_host_is_local(gw: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        sock.sendall(b"GET /keeptrusts/stats HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200"), answer[:200]


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("localhost", True),
        ("localhost:41002", True),
        ("localhost.", True),
        ("127.0.0.1", True),
        ("127.1.2.3:8080", True),
        ("[::1]", True),
        ("[::1]:41002", True),
        ("", False),
        ("::1", False),
        ("[::1", False),
        ("[::1]x", False),
        ("[127.0.0.1]", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("2130706433", False),  # 127.0.0.1 as one number: not a literal a browser sends
        ("0x7f.1", False),
        ("user@localhost", False),
        ("evil.example:80@localhost", False),
        ("localhost/x", False),
        ("127.0.0.1:²", False),
        ("127.0.0.1:abc", False),
        ("evil.example", False),
    ],
)
def test_loopback_host(host: str, ok: bool) -> None:
    assert loopback_host(host) is ok


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("http://localhost:3000", True),
        ("HTTPS://127.0.0.1", True),
        ("http://[::1]:8080", True),
        ("null", False),
        ("localhost", False),
        ("http://evil.example", False),
        ("http://localhost/path", False),
        ("file://", False),
        ("chrome-extension://abcdef", False),
    ],
)
def test_loopback_origin(origin: str, ok: bool) -> None:
    assert loopback_origin(origin) is ok
