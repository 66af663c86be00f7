#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole test suite: installs what is missing, builds profd twice (a
# strict -Werror build and an ASan+UBSan build), runs unit and integration
# tests on both, and ends with "N passed, N failed, N skipped".
# Usage: sudo tests/run.sh [--hog] [meson test args...]
#   --hog (or PROFD_TEST_HOG=1): one CPU-bound busy loop per online CPU runs
#   beside the whole suite, so every test meets a host with no idle CPU;
#   the loops are stopped by their PIDs at the end, on failure and on
#   interrupt.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

hog=${PROFD_TEST_HOG:-0}
if [ "${1:-}" = "--hog" ]; then
  hog=1
  shift
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/run.sh: run as root (installs packages; integration tests load BPF)" >&2
  exit 1
fi
packaging/deps.sh || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PROFD_SOURCE_ROOT=$ROOT

build() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  run_step ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
}

# The long steps run as a background job the shell waits for, so that a
# TERM or INT reaches the trap at once (a foreground child would delay it
# to its own end) and the step is ended with the hogs.
fg_pid=
run_step() {
  "$@" &
  fg_pid=$!
  wait "$fg_pid"
  local rc=$?
  fg_pid=
  return $rc
}
stop_step() {
  if [ -n "$fg_pid" ]; then
    kill "$fg_pid" 2>/dev/null
    wait "$fg_pid" 2>/dev/null
    fg_pid=
  fi
}

hog_pids=()
stop_hogs() {
  local p
  for p in "${hog_pids[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${hog_pids[@]}"; do
    wait "$p" 2>/dev/null
  done
  hog_pids=()
}
trap stop_hogs EXIT
trap 'stop_step; stop_hogs; exit 130' INT
trap 'stop_step; stop_hogs; exit 143' TERM
if [ "$hog" = 1 ]; then
  ncpu=$(getconf _NPROCESSORS_ONLN)
  for _ in $(seq "$ncpu"); do
    ( trap - INT TERM EXIT; while :; do :; done ) &
    hog_pids+=($!)
  done
  echo "=== CPU hog: ${#hog_pids[@]} busy loops (pids ${hog_pids[*]}) beside the suite; load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi

passed=0 failed=0 skipped=0
count() {
  # meson writes one JSON object per test to testlog.json
  local log=$1/meson-logs/testlog.json
  [ -f "$log" ] || return
  read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

for cfg in "build:-Dwerror=true" "build-asan:-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug"; do
  dir=${cfg%%:*}
  args=${cfg#*:}
  echo "=== $dir ($args)"
  # shellcheck disable=SC2086
  if ! build "$dir" $args; then
    echo "build of $dir failed"
    failed=$((failed + 1))
    continue
  fi
  rm -f "$dir/meson-logs/testlog.json"
  run_step meson test -C "$dir" --print-errorlogs "$@"
  count "$dir"
done

echo
echo "$passed passed, $failed failed, $skipped skipped"
note=""
[ "$hog" = 1 ] && note=" (with the CPU hog)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)$note"
stop_hogs
[ "$failed" -eq 0 ]
