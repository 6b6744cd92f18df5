"""`kt policy lint` and `kt policy test`: check a policy config and try it on a text, offline.

kt policy lint FILE...            validate (files are layered, later over earlier, as
                                  `kt gateway run --policy-config` does); prints
                                  `file:line: key: problem` per problem, exits 1 on any
kt policy test FILE... --input TEXT | --file F [--stage request|response] [--json]
                                  each text policy's verdict, reason code and the text
                                  after redaction, for one text

A config FILE of `-` is read from stdin (named `<stdin>` in problems); a directory stands for
every *.yaml in it, in name order, as the gateway reads /etc/keeptrusts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from keeptrusts.config.load import (
    ConfigError,
    LoadedConfig,
    load_texts,
    no_files_message,
    read_file,
)
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.textscan import ScanOutcome, scan
from keeptrusts.pipeline.verdict import Result, Stage
from keeptrusts.policies.size_limits import SizeLimits

#: the result `kt policy test` shows for every policy while `pack.enabled` is false
DISABLED = "disabled"
STDIN = "-"
STDIN_NAME = "<stdin>"
FILES_HELP = "policy config files, layered in order ('-': stdin; a directory: its *.yaml)"


def lint_main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="kt policy lint", description="Validate policy config files (layered in order)."
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help=FILES_HELP)
    parser.add_argument(
        "--file", action="append", default=[], dest="more", metavar="FILE", help=argparse.SUPPRESS
    )
    a = parser.parse_args(args)
    files = [*a.files, *a.more]
    if not files:
        parser.error("give at least one policy config FILE")
    if files.count(STDIN) > 1:
        parser.error("stdin ('-') can hold only one of the FILEs")
    try:
        loaded = load_configs(files)
        policies = build_policies(loaded)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    chain = ", ".join(p.name for p in policies) or "(empty)"
    print(f"ok: {', '.join(loaded.sources)} (config {loaded.version}); chain: {chain}")
    for warning in warnings(loaded):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def warnings(loaded: LoadedConfig) -> list[str]:
    """What a valid config will not do although it seems to: the kill switch on (no policy
    runs), settings of a kind the chain leaves out (it never runs), and no provider targets
    (nothing is routed)."""
    config = loaded.config
    out = []
    if not config.pack.enabled:
        out.append(
            f"{loaded.where('pack', 'enabled')}: pack.enabled: false (the kill switch), so no "
            "policy runs: traffic is routed ungoverned"
        )
    out += [
        f"{loaded.where('policy', kind)}: policy.{kind}: set, but {kind} is not in "
        "policies.chain, so it does not run"
        for kind in config.policy
        if kind not in config.policies.chain
    ]
    if config.providers is None or not config.providers.targets:
        out.append("providers: no targets, so every request is answered 404 model_not_found")
    return out


def test_main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="kt policy test",
        description="Show what each policy in the chain decides for one text, offline.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="TEXT", help="the text to test")
    source.add_argument("--file", metavar="F", help="read the text from a file ('-': stdin)")
    parser.add_argument(
        "--stage",
        choices=["request", "response"],
        default="request",
        help="test the text as a request (default) or as a provider's response",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--expect",
        choices=[r.value for r in (Result.ALLOW, Result.REDACT, Result.ESCALATE, Result.BLOCK)],
        help="exit 1 unless the chain decides this (a policy regression check for CI)",
    )
    a = parser.parse_args(args)
    if [*a.files, a.file].count(STDIN) > 1:
        parser.error("stdin ('-') can hold only one text: a config FILE or --file -")
    try:
        text = a.input if a.input is not None else _read(a.file)
    except OSError as exc:
        print(f"{a.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"{a.file}: not UTF-8 text", file=sys.stderr)
        return 1
    try:
        loaded = load_configs(a.files)
        policies = build_policies(loaded)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    stage = Stage(a.stage)
    enabled = loaded.config.pack.enabled
    if enabled:
        outcome, checked = evaluate(policies, text, stage)
        rows = _rows(policies, outcome, checked, stage)
    else:  # the kill switch: the gateway skips every policy
        outcome = ScanOutcome(text=text)
        rows = [{"name": p.name, "result": DISABLED, "reason_code": None} for p in policies]
    decision = _decision(rows)
    if a.json:
        report = {
            "stage": stage.value,
            "decision": decision,
            "policies": rows,
            "text": None if outcome.blocked_by else outcome.text,
        }
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
        return _expected(a.expect, decision)
    width = max((len(r["name"] or "") for r in rows), default=6)
    for r in rows:
        reason = r["reason_code"] or "-"
        print(f"{r['name']:<{width}}  {r['result']:<13}  {reason}")
    print(f"decision: {decision}")
    if not enabled:
        print("pack.enabled is false (the kill switch): no policy runs")
    if outcome.blocked_by is not None:
        print(f"blocked by {outcome.blocked_by.name} ({outcome.block_reason}); nothing is sent on")
    else:
        print("text:")
        print(outcome.text)
    return _expected(a.expect, decision)


def _expected(expect: str | None, decision: str) -> int:
    """`--expect`: 0 when the decision is the one expected (or none was), else 1, said on
    stderr (stdout keeps the report)."""
    if expect is None or expect == decision:
        return 0
    print(f"kt policy test: expected decision {expect}, got {decision}", file=sys.stderr)
    return 1


def load_configs(files: Sequence[str]) -> LoadedConfig:
    """Read and validate `files` as the gateway layers them; `-` is stdin, and a directory
    is every *.yaml in it in name order (as the gateway reads /etc/keeptrusts)."""
    paths = [p for f in files for p in _expand(f)]
    return load_texts([_read_stdin_config() if p == STDIN else read_file(p) for p in paths])


def _expand(path: str) -> list[str]:
    if path == STDIN or not Path(path).is_dir():
        return [path]
    found = [str(p) for p in sorted(Path(path).glob("*.yaml")) if p.is_file()]
    if not found:
        raise ConfigError([no_files_message(path)])
    return found


def _read_stdin_config() -> tuple[str, str]:
    try:
        return STDIN_NAME, sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{STDIN_NAME}: policy config is not UTF-8 text"]) from exc


def build_policies(loaded: LoadedConfig) -> list[Policy]:
    """The config's chain, compiled as the gateway compiles it (raises ConfigError)."""
    from keeptrusts.limits.memory import MemoryBackend
    from keeptrusts.policies.registry import KINDS, BuildContext
    from keeptrusts.pricing import Pricing

    config = loaded.config
    ctx = BuildContext(config=config, pricing=Pricing(config.pricing), limits=MemoryBackend())
    policies: list[Policy] = []
    problems: list[str] = []
    for kind in config.policies.chain:
        try:
            policies.append(KINDS[kind].build(loaded.settings[kind], ctx))
        except (ValueError, TypeError) as exc:
            problems.append(f"{loaded.sources[-1]}: policy.{kind}: {exc}")
    if problems:
        raise ConfigError(problems)
    return policies


#: a request check's offline verdict: (result, reason code)
Checked = dict[str, tuple[str, str | None]]


def evaluate(policies: Sequence[Policy], text: str, stage: Stage) -> tuple[ScanOutcome, Checked]:
    """The chain in order, as the gateway runs it: each text policy reads the text as the
    policies before it left it (their redactions applied), and `size-limits.max_prompt_chars`
    (the one request check that reads only the text) counts that text; a block stops it."""
    outcome = ScanOutcome(text=text)
    checked: Checked = {}
    for p in policies:
        if p.inspects_text:
            step = scan([p], outcome.text, stage)
            outcome.hits.update(step.hits)
            blocked_by, reason = step.blocked_by, step.block_reason
            outcome.text = step.text
        elif isinstance(p, SizeLimits) and _text_checked(p) and stage in p.stages:
            verdict = p.text_verdict(outcome.text)
            assert verdict is not None
            checked[p.name] = (verdict.result.value, verdict.reason_code)
            blocked = verdict.result is Result.BLOCK
            blocked_by, reason = (p, verdict.reason_code) if blocked else (None, None)
        else:
            continue
        if blocked_by is not None:
            outcome.blocked_by, outcome.block_reason = blocked_by, reason
            break
    return outcome, checked


def _text_checked(p: Policy) -> bool:
    return isinstance(p, SizeLimits) and p.settings.max_prompt_chars is not None


def _rows(
    policies: Sequence[Policy], outcome: ScanOutcome, checked: Checked, stage: Stage
) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for p in policies:
        hits = outcome.hits.get(p.name)
        if p.name in checked:
            result, reason = checked[p.name]
        elif _text_checked(p):
            result = "not-at-stage" if stage not in p.stages else "not-reached"
            reason = None
        elif not p.inspects_text:
            result, reason = "not-text", None
        elif stage not in p.stages:
            result, reason = "not-at-stage", None
        elif hits is None:
            result, reason = "not-reached", None
        else:
            result, reason = hits.result.value, hits.reason_code
        rows.append({"name": p.name, "result": result, "reason_code": reason})
    return rows


def _decision(rows: list[dict[str, str | None]]) -> str:
    order = [Result.ALLOW.value, Result.REDACT.value, Result.ESCALATE.value, Result.BLOCK.value]
    seen = [r["result"] for r in rows if r["result"] in order]
    return max(seen, key=order.index, default=Result.ALLOW.value) or Result.ALLOW.value


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text("utf-8")
