"""The Dockerfile, checked by reading (no Docker engine in the test environment)."""

from __future__ import annotations

import json
import re
import tomllib

from tests.deploy.manifests import REPO, one, render

DOCKERFILE = (REPO / "Dockerfile").read_text("utf-8")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def test_multi_stage_slim_python_311() -> None:
    args = dict(a.split("=", 1) for k, a in instructions() if k == "ARG" and "=" in a)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    froms = [a for k, a in instructions() if k == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    build = " ".join(a for _, a in stages()[0])
    assert "pip wheel" in build and "/opt/keeptrusts/bin/pip install /wheels/" in build


def test_runtime_stage() -> None:
    runtime = stages()[-1]
    kinds = [k for k, _ in runtime]
    assert "HEALTHCHECK" not in kinds
    assert ("USER", "10001:10001") in runtime
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k in ("RUN", "COPY"))
    assert ("EXPOSE", "41002") in runtime
    entry = next(a for k, a in runtime if k == "ENTRYPOINT")
    assert json.loads(entry) == ["kt", "gateway", "run"]
    env = " ".join(a for k, a in runtime if k == "ENV")
    for var in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PATH=/opt/keeptrusts/bin"):
        assert var in env
    copies = [a for k, a in runtime if k == "COPY"]
    assert copies == ["--from=build /opt/keeptrusts /opt/keeptrusts"]


def test_entrypoint_is_a_console_script() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["scripts"]["kt"] == "keeptrusts.cli:main"
    assert project["readme"] == "README.md"  # copied into the build stage


def test_image_user_matches_manifests() -> None:
    dep = one(render("base"), "Deployment", "keeptrusts-gateway")
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    spool = re.search(r"KEEPTRUSTS_SPOOL_DIR=(\S+)", DOCKERFILE)
    assert spool is not None
    assert "install -d -o 10001 -g 10001 -m 0750 " + spool.group(1) in DOCKERFILE


def test_dockerignore_sends_only_the_build_inputs() -> None:
    lines = [
        ln.strip()
        for ln in (REPO / ".dockerignore").read_text("utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(lines)
