# syntax=docker/dockerfile:1
# Keeptrusts Gateway image: `docker build -t keeptrusts/gateway:latest .`
#
# Two stages: the first builds the project's wheel and installs it (with its dependencies, all
# published as manylinux wheels) into a virtualenv; the second copies only that virtualenv onto
# a fresh slim Python and runs it as an unprivileged user. No compiler, pip cache or source tree
# reaches the final image. Liveness/readiness are Kubernetes probes (/healthz, /readyz), so the
# image declares no HEALTHCHECK. Override the base with --build-arg PYTHON_IMAGE=...@sha256:...
# to pin it by digest.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/keeptrusts
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps the rest of the context out).
COPY pyproject.toml README.md ./
COPY src ./src
# Bytecode is compiled here: the pod's root filesystem is read-only, and a start that compiles
# every module costs readiness time.
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/keeptrusts/bin/pip install /wheels/keeptrusts-*.whl \
 && /opt/keeptrusts/bin/python -m compileall -q /opt/keeptrusts/lib \
 && /opt/keeptrusts/bin/kt --version

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="Keeptrusts Gateway" \
      org.opencontainers.image.description="OpenAI-compatible AI gateway that governs content" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/keeptrusts/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    KEEPTRUSTS_SPOOL_DIR=/var/lib/keeptrusts
# uid/gid 10001: outside the range of system users; the manifests set runAsUser: 10001.
RUN groupadd --system --gid 10001 keeptrusts \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin keeptrusts \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/keeptrusts
COPY --from=build /opt/keeptrusts /opt/keeptrusts
USER 10001:10001
WORKDIR /var/lib/keeptrusts
# Config: every *.yaml in /etc/keeptrusts (a ConfigMap mount), else the embedded default.
EXPOSE 41002
STOPSIGNAL SIGTERM
ENTRYPOINT ["kt", "gateway", "run"]
