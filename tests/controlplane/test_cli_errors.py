"""`kt events` and `kt config push` report what went wrong in one line (exit 1), never with a
traceback: an output file that cannot be written, or a URL whose 2xx answer is not the API's."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.controlplane.servers import TOKEN

EMPTY_PAGE = b'{"events": [], "next_cursor": null, "cursor": null}'
LOGIN_PAGE = b"<html><body>Please sign in</body></html>"


class CannedServer(ThreadingHTTPServer):
    """Answers every GET and PUT with 200 and `body`: what sits at a wrong API URL."""

    body = EMPTY_PAGE


class Canned(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        assert isinstance(self.server, CannedServer)
        body = self.server.body
        self.send_response(200)
        self.send_header(
            "Content-Type", "text/html" if body.startswith(b"<") else "application/json"
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    server = CannedServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def kt(server: CannedServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    host, port = server.server_address[:2]
    env.update(KEEPTRUSTS_API_URL=f"http://{host!s}:{port}", KEEPTRUSTS_API_TOKEN=TOKEN)
    return subprocess.run(
        [sys.executable, "-m", "keeptrusts", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], prefix: str) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), done.stderr
    return lines[0]


def test_export_into_a_missing_directory(canned: CannedServer, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    done = kt(canned, "events", "export", "-o", str(target))
    line = assert_one_line(done, f"kt events export: cannot write {target}: ")
    assert "No such file or directory" in line


def test_export_into_a_directory(canned: CannedServer, tmp_path: Path) -> None:
    done = kt(canned, "events", "export", "--format", "csv", "-o", str(tmp_path))
    assert_one_line(done, f"kt events export: cannot write {tmp_path}: ")


def test_export_to_a_writable_file_still_works(canned: CannedServer, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    done = kt(canned, "events", "export", "--format", "csv", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_text().startswith("id,timestamp,")
    assert "0 events" in done.stderr


@pytest.mark.parametrize(
    "body", [LOGIN_PAGE, b"", b"[]", b'{"status": "ok"}', b'{"events": [1, 2]}'], ids=repr
)
@pytest.mark.parametrize("command", [["tail"], ["tail", "-f"], ["export"]], ids=" ".join)
def test_a_2xx_that_is_not_an_events_page(
    canned: CannedServer, body: bytes, command: list[str]
) -> None:
    canned.body = body
    done = kt(canned, "events", *command)
    line = assert_one_line(done, f"kt events {command[0]}: GET http://127.0.0.1:")
    assert "answered HTTP 200 without a JSON events page" in line
    assert "KEEPTRUSTS_API_URL" in line
    assert done.stdout == ""


def test_a_refused_export_leaves_no_header_and_no_cut_file(
    canned: CannedServer, tmp_path: Path
) -> None:
    """The first page is asked for before anything is written: a wrong URL (or token) leaves
    stdout empty and an existing `--output` file as it was."""
    canned.body = LOGIN_PAGE
    done = kt(canned, "events", "export", "--format", "csv")
    assert_one_line(done, "kt events export: GET http://127.0.0.1:")
    assert done.stdout == ""
    kept = tmp_path / "events.csv"
    kept.write_text("id,timestamp\nlast-week,2026-11-23\n")
    done = kt(canned, "events", "export", "--format", "csv", "-o", str(kept))
    assert_one_line(done, "kt events export: GET http://127.0.0.1:")
    assert kept.read_text() == "id,timestamp\nlast-week,2026-11-23\n"


def test_config_push_to_a_login_page(canned: CannedServer, tmp_path: Path) -> None:
    config = tmp_path / "good.yaml"
    config.write_text("pack: {name: managed, version: 3.0.0}\npolicies: {chain: []}\n")
    canned.body = LOGIN_PAGE
    done = kt(canned, "config", "push", str(config), "--gateway", "gw-7")
    line = assert_one_line(done, "kt config push: PUT http://127.0.0.1:")
    assert "without the API's JSON reply" in line and "KEEPTRUSTS_API_URL" in line


@pytest.mark.parametrize("interval", ["-1", "0", "nan", "soon"])
def test_tail_refuses_an_interval_that_is_not_a_positive_number(
    canned: CannedServer, interval: str
) -> None:
    done = kt(canned, "events", "tail", "-f", "--interval", interval)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "--interval" in done.stderr and "seconds" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "url", ["localhost:8080", "http://[::1", "ftp://127.0.0.1:8080", "http://", "not a url"]
)
@pytest.mark.parametrize(
    "command",
    [["events", "tail"], ["events", "export"], ["config", "push", "CONFIG", "--gateway", "gw-1"]],
    ids=lambda c: " ".join(c[:2]),
)
def test_an_api_url_that_is_not_an_http_url(
    canned: CannedServer, tmp_path: Path, url: str, command: list[str]
) -> None:
    config = tmp_path / "good.yaml"
    config.write_text("pack: {name: managed, version: 3.0.0}\npolicies: {chain: []}\n")
    args = [str(config) if a == "CONFIG" else a for a in command]
    done = kt(canned, *args, "--api-url", url)
    line = assert_one_line(done, f"kt {' '.join(command[:2])}: ")
    assert f"{url!r} is not an http:// or https:// URL" in line, line
    assert "KEEPTRUSTS_API_URL" in line and "--api-url" in line


@pytest.mark.parametrize("command", ["tail", "export"])
def test_a_decision_that_no_event_has(canned: CannedServer, command: str) -> None:
    # `blocked` for `block`: silently exporting 0 events would read as "nothing was blocked"
    done = kt(canned, "events", command, "--decision", "blocked")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "'blocked'" in done.stderr and "allow, redact, escalate, block" in done.stderr
    assert done.stdout == ""


def test_a_bad_api_url_does_not_echo_its_password(canned: CannedServer) -> None:
    done = kt(canned, "events", "export", "--api-url", "ftp://admin:Hunter2Secret@api:8080")
    line = assert_one_line(done, "kt events export: ")
    assert "Hunter2Secret" not in line and "is not an http:// or https:// URL" in line, line


def test_an_unreachable_api_url_does_not_echo_its_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(
        KEEPTRUSTS_API_URL="http://admin:Hunter2Secret@127.0.0.1:1", KEEPTRUSTS_API_TOKEN=TOKEN
    )
    done = subprocess.run(
        [sys.executable, "-m", "keeptrusts", "events", "tail"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    line = assert_one_line(done, "kt events tail: cannot reach the control-plane API at ")
    assert "Hunter2Secret" not in line and "http://***@127.0.0.1:1" in line, line
