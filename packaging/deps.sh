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
  # symbol names: libiberty's demangler (C++, Rust), the debuginfod client
  libiberty-dev libdebuginfod-dev
  # pushers and pprof: .proto files compiled by protoc-c; remote write is
  # protobuf + snappy
  libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
  # tests
  libcmocka-dev python3 binutils xz-utils systemd tmux procps
  # the CPython 3.11 offset table checked against the interpreter's own
  # internal headers (tests/unit/test_python_offsets.c)
  python3.11-dev
  # symbolization tests: C++ workloads (demangling), a real distribution
  # debug file by build-id (libc6-dbg), a real debuginfod server on
  # loopback (tests/integration/test_debuginfod.py)
  g++ libc6-dbg debuginfod
  # alert tests: a real Alertmanager on 127.0.0.1 (tests/integration/test_alerts_am.py)
  prometheus-alertmanager
  # push tests: real receivers on 127.0.0.1, independent payload checkers
  # (protoc --decode for OTLP, go tool pprof for profiles), openssl for
  # the TLS test's CA
  prometheus prometheus-pushgateway protobuf-compiler golang-go openssl
  # export tests: headless Chromium for the SVG flame graphs
  chromium
  libc6-dev  # libc.a: the hostile-files workload is linked statically
  # tests: the C++ known-shares workload, libc names for stack roots
  g++ libc6-dbg
  # packaging: man pages, bash completions, the Debian package and its
  # checks, and the container test (a real systemd booted by nspawn in a
  # debootstrapped Debian 12 root)
  scdoc bash-completion dpkg-dev debhelper lintian debootstrap systemd-container
  # benchmarks
  linux-perf
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: run as root (apt-get install)" >&2
  exit 1
fi

# Debian starts Prometheus, the Pushgateway and Alertmanager as services
# listening on every address when they are installed: stop and disable them
# (by unit name, and their init scripts where systemd is not PID 1). The
# tests run their own instances on 127.0.0.1 with temporary data
# directories, stopped by PID.
quiet_services() {
  local unit
  for unit in prometheus prometheus-pushgateway prometheus-alertmanager; do
    dpkg-query -W -f='${Status}' "$unit" 2>/dev/null | grep -q "install ok installed" || continue
    systemctl disable --now "$unit.service" >/dev/null 2>&1 ||
      systemctl disable "$unit.service" >/dev/null 2>&1 || true
    if [ -x "/etc/init.d/$unit" ]; then
      "/etc/init.d/$unit" stop >/dev/null 2>&1 || true
      update-rc.d "$unit" disable >/dev/null 2>&1 || true
    fi
  done
}

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  quiet_services
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
quiet_services
echo "deps: done"
