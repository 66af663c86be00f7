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
  # tests
  libcmocka-dev python3 binutils xz-utils systemd tmux procps
  # tests: the C++ known-shares workload, libc names for stack roots
  g++ libc6-dbg
  # benchmarks
  linux-perf
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
