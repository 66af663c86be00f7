#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install every Debian package profd needs to build, test and benchmark.
# Idempotent: asks apt only for what is missing. Run as root.
set -euo pipefail

PKGS=(
  # build
  gcc meson ninja-build pkg-config clang llvm bpftool
  libbpf-dev libelf-dev zlib1g-dev libjson-c-dev libinih-dev liblzma-dev
  libncurses-dev libcurl4-openssl-dev
  # tests (prometheus-alertmanager: tests/integration/test_alerts_am.py
  # starts its own on 127.0.0.1; the packaged service is stopped below)
  libcmocka-dev python3 binutils xz-utils systemd tmux procps prometheus-alertmanager
  # benchmarks
  linux-perf
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: run as root (apt-get install)" >&2
  exit 1
fi

# Debian starts Alertmanager when it is installed, listening on every
# address: stop and disable that service (by its unit name). The tests run
# their own instance on 127.0.0.1 with a temporary storage path.
quiet_alertmanager() {
  if dpkg-query -W -f='${Status}' prometheus-alertmanager 2>/dev/null | grep -q "install ok installed"; then
    systemctl disable --now prometheus-alertmanager.service >/dev/null 2>&1 ||
      systemctl disable prometheus-alertmanager.service >/dev/null 2>&1 || true
    if [ -x /etc/init.d/prometheus-alertmanager ]; then
      /etc/init.d/prometheus-alertmanager stop >/dev/null 2>&1 || true
    fi
  fi
}

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  quiet_alertmanager
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
quiet_alertmanager
echo "deps: done"
