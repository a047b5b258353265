#!/usr/bin/env bash
# Installs Debian's prometheus package (the server binary the ops tests start on a free loopback
# port) when it is missing. Idempotent: does nothing when `prometheus` is already on PATH.
# The package's system service is not used by the tests; on hosts with systemd it is stopped and
# disabled again so it does not hold port 9090.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  echo "prometheus already installed: $(prometheus --version 2>&1 | head -n 1)"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "installing prometheus needs root or sudo" >&2; exit 2; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends prometheus
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
echo "installed: $(prometheus --version 2>&1 | head -n 1)"
