"""The static upstream: nginx (Debian's /usr/sbin/nginx) serving the fixed answers.

One nginx process listens on two loopback ports: one answers every POST to
/v1/chat/completions with the fixed chat completion (JSON), the other with the fixed 20-chunk
SSE stream. nginx refuses POST on static files with 405, so `error_page 405 =200 $uri` serves
the file instead. The SSE file arrives in one write, so stream timings measure per-chunk
processing in the proxy rather than a model's pacing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench import payloads, procs

NGINX = "/usr/sbin/nginx"

_CONF = """\
{user}worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_buffer_size 64k;
  sendfile on;
  tcp_nodelay on;
  types {{ }}
  server {{
    listen 127.0.0.1:{json_port};
    root {prefix}/json;
    default_type application/json;
    error_page 405 =200 $uri;
    location / {{ }}
  }}
  server {{
    listen 127.0.0.1:{sse_port};
    root {prefix}/sse;
    default_type text/event-stream;
    add_header Cache-Control no-cache;
    error_page 405 =200 $uri;
    location / {{ }}
  }}
}}
"""

ROUTE = "v1/chat/completions"


@dataclass
class Upstream:
    server: procs.Server
    json_port: int
    sse_port: int

    @property
    def json_root(self) -> str:
        return f"http://127.0.0.1:{self.json_port}"

    @property
    def sse_root(self) -> str:
        return f"http://127.0.0.1:{self.sse_port}"

    @property
    def json_base(self) -> str:
        """The OpenAI-style base URL (what a provider target's `base_url` names)."""
        return self.json_root + "/v1"

    @property
    def sse_base(self) -> str:
        return self.sse_root + "/v1"


def available() -> bool:
    return shutil.which(NGINX) is not None or os.path.exists(NGINX)


def write_site(prefix: Path, json_port: int, sse_port: int, workers: int) -> Path:
    """Lay out nginx's prefix dir (config, docroots, temp dirs); return the config path."""
    for sub in ("tmp", "json/v1/chat", "sse/v1/chat"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "json" / ROUTE).write_bytes(payloads.completion_bytes())
    (prefix / "sse" / ROUTE).write_bytes(payloads.sse_bytes())
    (prefix / "json/v1/models").write_bytes(
        b'{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","owned_by":"bench"}]}'
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        _CONF.format(
            user=user, workers=workers, prefix=prefix, json_port=json_port, sse_port=sse_port
        )
    )
    return conf


def start(
    prefix: Path, json_port: int, sse_port: int, *, workers: int = 1, cpus: set[int] | None = None
) -> Upstream:
    conf = write_site(prefix, json_port, sse_port, workers)
    cmd = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    server = procs.spawn("nginx", cmd, json_port, prefix, cpus=cpus)
    return Upstream(server, json_port, sse_port)
