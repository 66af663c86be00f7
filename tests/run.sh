#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole test suite: installs what is missing, builds profd twice (a
# strict -Werror build and an ASan+UBSan build), runs unit and integration
# tests on both, and ends with "N passed, N failed, N skipped".
# Usage: sudo tests/run.sh [meson test args...]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

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
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
}

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
  meson test -C "$dir" --print-errorlogs "$@"
  count "$dir"
done

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
