#!/usr/bin/env bash
# Installs the servers the tests and benchmarks run for real (Debian packages), only when missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
{ command -v prometheus && command -v promtool; } >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v initdb >/dev/null || [ -d /usr/lib/postgresql ] || need+=(postgresql)
# kubectl is not in Debian bookworm: without it the kustomize rendering tests are skipped. It
# used to count as missing here, so every run without it paid an `apt-get update` for nothing.
command -v kubectl >/dev/null || echo "kubectl not found: the kustomize rendering tests will be skipped" >&2
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's service scripts must not keep these running in the background: tests start their own.
for svc in redis-server nginx prometheus postgresql; do
  (command -v systemctl >/dev/null && systemctl stop "$svc" >/dev/null 2>&1) || true
  (service "$svc" stop >/dev/null 2>&1) || true
done
exit 0
