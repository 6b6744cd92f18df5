"""`kt` (also `keeptrusts`): the gateway, offline policy tools, the control plane, events."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from keeptrusts import __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if args[0] in ("-V", "--version", "version"):
        print(f"keeptrusts {__version__}")
        return 0
    group, rest = args[0], args[1:]
    sub = rest[0] if rest else ""
    handler = COMMANDS.get((group, sub))
    if handler is None:
        return _not_a_command(group, sub)
    return run_command(handler, rest[1:])


def _not_a_command(group: str, sub: str) -> int:
    """A group alone (`kt events`), its `--help`, or a mistyped command: what there is, and
    the command probably meant. 0 for a help request, else 2 (a usage error)."""
    from keeptrusts.config.suggest import nearest

    subs = [s for g, s in COMMANDS if g == group]
    if not subs:
        meant = nearest(group, sorted({g for g, _ in COMMANDS}))
        said = f"{meant} {sub}" if (meant, sub) in COMMANDS else meant
        hint = f" (did you mean `kt {said}`?)" if meant else ""
        print(f"kt: unknown command {group!r}{hint}\n\n{USAGE}", file=sys.stderr)
        return 2
    lines = "\n".join(line for line in USAGE.splitlines() if line.startswith(f"  {group} "))
    usage = f"usage: kt {group} <{'|'.join(subs)}> [options]\n\n{lines}\n\n{MORE}"
    if sub in ("-h", "--help"):
        print(usage)
        return 0
    if not sub:
        problem = "a command is missing"
    else:
        meant = nearest(sub, subs)
        problem = f"unknown command {sub!r}" + (f" (did you mean `{meant}`?)" if meant else "")
    print(f"kt {group}: {problem}\n\n{usage}", file=sys.stderr)
    return 2


#: the exit status a shell reports for a process ended by SIGPIPE (128 + 13)
EXIT_BROKEN_PIPE = 141


def run_command(handler: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run one command; when the reader of its output goes away (`kt events export | head`),
    stop quietly with 141, as `cat` would, instead of a BrokenPipeError traceback."""
    try:
        code = handler(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # the interpreter flushes stdout again at exit: point it at /dev/null so that flush
        # cannot fail and print "Exception ignored ... BrokenPipeError"
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return code


USAGE = """usage: kt <command> [options]

  gateway run      serve the governed OpenAI-compatible API (default 0.0.0.0:41002)
  policy lint      validate policy config files (file:line: key: problem)
  policy test      show what each policy decides for a text, offline
  api run          the control-plane API (events, cost reports, managed configs)
  events tail      follow decision events from the control-plane API
  events export    export decision events as jsonl or csv
  config push      upload a config for a managed gateway

Run `kt <command> --help` for a command's options."""
MORE = USAGE.rsplit("\n", 1)[-1]


def gateway_run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kt gateway run", description="Serve the gateway.")
    p.add_argument(
        "--listen",
        type=listen_address,
        metavar="HOST:PORT",
        default="0.0.0.0:41002",
        help="HOST:PORT (default 0.0.0.0:41002)",
    )
    p.add_argument(
        "--policy-config",
        action="append",
        default=[],
        metavar="FILE",
        help="policy config file; repeat to layer (later over earlier). Without one: "
        "$KEEPTRUSTS_CONFIG, else every *.yaml in /etc/keeptrusts, else the embedded default",
    )
    p.add_argument("--config-dir", default="/etc/keeptrusts", help=argparse.SUPPRESS)
    p.add_argument(
        "--fail-mode",
        choices=["block", "allow"],
        default="block",
        help="when the limits backend is unreachable (default block)",
    )
    p.add_argument("--managed", action="store_true", help="poll the control plane for config")
    p.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="N",
        help="processes sharing the port (1)",
    )
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--spool-dir",
        default=os.environ.get("KEEPTRUSTS_SPOOL_DIR"),
        metavar="DIR",
        help="where decision events wait while the API is down (default $KEEPTRUSTS_SPOOL_DIR, "
        "else events.spool_dir, else $TMPDIR/keeptrusts-spool)",
    )
    p.add_argument(
        "--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (and key, if in it)"
    )
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.add_argument(
        "--tls-client-ca",
        metavar="PEM",
        help="require client certificates signed by these CAs (mTLS)",
    )
    a = p.parse_args(argv)
    host, port = a.listen
    if (a.tls_key or a.tls_client_ca) and not a.tls_cert:
        p.error("--tls-key and --tls-client-ca need --tls-cert")
    if a.workers > 1:
        from keeptrusts.gateway.workers import run_workers

        return run_workers(argv, a.workers)
    # no collection passes while modules load (about 60 ms of start-up); serving turns it on
    gc.disable()
    from keeptrusts.gateway.server import ServeOptions, run
    from keeptrusts.telemetry.setup import setup_process

    tracing = setup_process()
    opts = ServeOptions(
        host=host,
        port=port,
        policy_configs=a.policy_config,
        config_dir=a.config_dir,
        fail_mode=a.fail_mode,
        managed=a.managed,
        reuse_port=a.reuse_port,
        tls_cert=a.tls_cert,
        tls_key=a.tls_key,
        tls_client_ca=a.tls_client_ca,
        spool_dir=a.spool_dir,
    )
    try:
        return _run_loop(run(opts))
    finally:
        if tracing is not None:
            tracing.shutdown()


def listen_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:PORT` for IPv6) as (host, port): an argparse `type`, so that a bad
    value is a usage error naming `--listen`. PORT is ASCII digits, 0-65535 (not `²` or
    99999, which `int()` or the socket layer would take or fold into another port)."""
    host, _, port = value.rpartition(":")
    if not (host and port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        raise argparse.ArgumentTypeError(f"must be HOST:PORT with a port of 0-65535, got {value!r}")
    return host.strip("[]"), int(port)


def worker_count(value: str) -> int:
    """`--workers N` as an argparse `type`: a whole number of 1 or more."""
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, got {value!r}")
    return int(value)


def _run_loop(coro: Coroutine[Any, Any, int]) -> int:
    import asyncio

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(coro)
    return int(uvloop.run(coro))


def _policy_lint(argv: list[str]) -> int:
    from keeptrusts.cli_policy import lint_main

    return lint_main(argv)


def _policy_test(argv: list[str]) -> int:
    from keeptrusts.cli_policy import test_main

    return test_main(argv)


def _api_run(argv: list[str]) -> int:
    from keeptrusts.cli_api import api_main

    return api_main(argv)


def _events(sub: str) -> Callable[[list[str]], int]:
    def handler(argv: list[str]) -> int:
        from keeptrusts.cli_events import events_main

        return events_main([sub, *argv])

    return handler


def _config_push(argv: list[str]) -> int:
    from keeptrusts.cli_api import config_push_main

    return config_push_main(argv)


COMMANDS: dict[tuple[str, str], Callable[[list[str]], int]] = {
    ("gateway", "run"): gateway_run,
    ("policy", "lint"): _policy_lint,
    ("policy", "test"): _policy_test,
    ("api", "run"): _api_run,
    ("events", "tail"): _events("tail"),
    ("events", "export"): _events("export"),
    ("config", "push"): _config_push,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
