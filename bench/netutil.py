"""Free loopback ports and readiness probes."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tcp_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def http_ok(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_until(check: Callable[[], bool], timeout_s: float, poll_s: float = 0.005) -> bool:
    """Call `check()` until it is true or `timeout_s` passes."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if check():
            return True
        time.sleep(poll_s)
    return False
