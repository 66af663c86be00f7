#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# One command from a fresh Debian 12 machine to a live `profctl top`:
# installs what is missing, builds, starts profd with the default config on
# the default socket, and opens the live view. Quitting top (q) stops the
# daemon this script started. Usage: sudo packaging/quickstart.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
[ "${1:-}" = "--keep" ] && keep=1
if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart: run as root: profd loads BPF programs" >&2
  exit 1
fi
packaging/deps.sh
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
ninja -C build >/dev/null
echo "quickstart: built build/daemon/profd and build/cli/profctl"

getent group profd >/dev/null || groupadd --system profd
SOCK=/run/profd/profd.sock
CONF=packaging/profd.conf

if build/cli/profctl --socket "$SOCK" status >/dev/null 2>&1; then
  echo "quickstart: a profd already answers on $SOCK"
  exec build/cli/profctl --socket "$SOCK" top
fi

LOG=$(mktemp /tmp/profd-quickstart.XXXXXX.log)
build/daemon/profd --foreground --config "$CONF" --socket "$SOCK" >"$LOG" 2>&1 &
PID=$!
stop() {
  if [ "$keep" -eq 0 ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
    echo "quickstart: profd (pid $PID) stopped; its log: $LOG"
  fi
}
trap stop EXIT
for _ in $(seq 1 100); do
  build/cli/profctl --socket "$SOCK" status >/dev/null 2>&1 && break
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "quickstart: profd failed to start:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done
echo "quickstart: profd running as pid $PID, socket $SOCK (log $LOG)"
sleep 2  # let the first windows fill
if [ -t 1 ]; then
  build/cli/profctl --socket "$SOCK" top || true
else
  build/cli/profctl --socket "$SOCK" status
  build/cli/profctl --socket "$SOCK" top --once
fi
