"""The exact drain total of docs/drain.md fits the base Deployment's grace period: preStop, the
gateway's drain delay and timeout with its defaults, the end of the drain (streams cut, then
aiohttp's backstop, which it applies twice), the event flush and the last trace export."""

from __future__ import annotations

from keeptrusts.config.model import Server
from keeptrusts.gateway.server import CUT_GRACE_SECONDS, EVENTS_FLUSH_SECONDS, SHUTDOWN_SECONDS
from keeptrusts.telemetry.tracing_export import EXIT_FLUSH_SECONDS
from tests.deploy.manifests import KUSTOMIZE_ROOT, gateway_container, load_yaml_docs, one


def test_grace_period_covers_the_whole_drain() -> None:
    dep = one(load_yaml_docs(KUSTOMIZE_ROOT / "base" / "deployment.yaml"), "Deployment")
    command = gateway_container(dep)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    server = Server()
    total = (
        float(command[1])
        + server.drain_delay_seconds
        + server.drain_timeout_seconds
        + CUT_GRACE_SECONDS
        + 2 * SHUTDOWN_SECONDS
        + EVENTS_FLUSH_SECONDS
        + EXIT_FLUSH_SECONDS
    )
    assert total == 38.5  # the sum docs/drain.md states
    assert total < dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
