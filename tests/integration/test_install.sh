#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# meson install honours the prefix and DESTDIR and installs the whole set
# the Debian package ships (docs/packaging.md): binaries, unit, config,
# alert rules, sysusers and tmpfiles snippets, man pages, bash completions,
# docs. Installs the build tree given in $PROFD_BUILD into a scratch DESTDIR
# (nothing is rebuilt, nothing lands outside it).
# Exit: 0 pass, 1 fail, 77 skip (no build tree).
set -u
build=${PROFD_BUILD:-}
if [ -z "$build" ] || [ ! -f "$build/build.ninja" ]; then
	echo "SKIP: no build tree in \$PROFD_BUILD"
	exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf -- "$tmp"' EXIT
fail=0

prefix=$(meson introspect "$build" --buildoptions | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"]); print(o["sysconfdir"]); print(o["mandir"]); print(o["datadir"]); print(o["sbindir"]); print(o["bindir"]); print(o["man"])')
mapfile -t opt <<<"$prefix"
P=${opt[0]} SYSCONF=${opt[1]} MAN=${opt[2]} DATA=${opt[3]} SBIN=${opt[4]} BIN=${opt[5]} MANOPT=${opt[6]}
# relative dirs are under the prefix; sysconfdir of /usr is /etc
abs() { case "$1" in /*) echo "$1" ;; *) echo "$P/$1" ;; esac; }
SYSCONF=$(abs "$SYSCONF"); MAN=$(abs "$MAN"); DATA=$(abs "$DATA"); SBIN=$(abs "$SBIN"); BIN=$(abs "$BIN")

out=$(DESTDIR="$tmp" meson install -C "$build" --no-rebuild --quiet 2>&1)
if [ $? -ne 0 ]; then
	echo "FAIL: meson install: $out"
	exit 1
fi

want=(
	"$SBIN/profd" "$BIN/profctl"
	"$SYSCONF/profd/profd.conf" "$SYSCONF/profd/rules.d/default.conf"
	"$P/lib/sysusers.d/profd.conf" "$P/lib/tmpfiles.d/profd.conf"
	"$DATA/bash-completion/completions/profctl" "$DATA/bash-completion/completions/profd"
	"$DATA/doc/profd/persistence.md" "$DATA/doc/profd/security.md" "$DATA/doc/profd/configuration.md"
)
if [ "$P" = /usr ]; then
	want+=("$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)/profd.service")
else
	want+=("$P/lib/systemd/system/profd.service")
fi
if command -v scdoc >/dev/null 2>&1 || [ "$MANOPT" = enabled ]; then
	want+=("$MAN/man8/profd.8" "$MAN/man1/profctl.1" "$MAN/man5/profd.conf.5")
fi
for f in "${want[@]}"; do
	if [ -e "$tmp$f" ]; then
		echo "ok: $f"
	else
		echo "FAIL: $f not installed (under DESTDIR)"
		fail=1
	fi
done
# nothing outside the prefix and the sysconfdir (the unit directory of a
# /usr prefix is systemd's own)
stray=$(cd "$tmp" && find . -type f | sed 's|^\.||' | grep -v -e "^$P/" -e "^$SYSCONF/" -e "^/lib/systemd/system/")
if [ -n "$stray" ]; then
	echo "FAIL: installed outside $P and $SYSCONF:"
	echo "$stray"
	fail=1
fi
# the man pages are real man pages
if [ -e "$tmp$MAN/man8/profd.8" ] && command -v man >/dev/null 2>&1; then
	if MANWIDTH=80 man -l "$tmp$MAN/man8/profd.8" 2>/dev/null | grep -q "profd --check"; then
		echo "ok: profd(8) renders"
	else
		echo "FAIL: profd(8) does not render"
		fail=1
	fi
fi
# the completion loads and completes verbs and sort keys
if [ -f /usr/share/bash-completion/bash_completion ]; then
	comp=$(bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		complete_line() {
			COMP_LINE=$1; COMP_POINT=${#1}; read -ra COMP_WORDS <<<"$1"
			COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _profctl; echo "${COMPREPLY[*]}"
		}
		complete_line "profctl to"
		complete_line "profctl top --sort m"
		complete_line "profctl export --format sp"
		complete_line "profctl reload --"
	' _ "$tmp$DATA/bash-completion/completions/profctl" 2>&1)
	if [ "$comp" = "$(printf 'top\nmem\nspeedscope\n--json --socket --timeout --help')" ]; then
		echo "ok: bash completion of verbs, sort keys, formats, options"
	else
		echo "FAIL: bash completion gave: $comp"
		fail=1
	fi
fi
# profd.conf(5) documents every key of the configuration table
src=$(cd "$(dirname "$0")/../.." && pwd)
missing=$(comm -23 <("$build/daemon/profd" --config /dev/null --print-config 2>/dev/null | sed -n 's/^\([a-z_]*\) =.*/\1/p' | sort -u) \
	<(grep -oE '^\*[a-z_]+\*' "$src/man/profd.conf.5.scd" | tr -d '*' | sort -u))
if [ -n "$missing" ]; then
	echo "FAIL: profd.conf(5) lacks the keys: $missing"
	fail=1
else
	echo "ok: profd.conf(5) has every key of profd --print-config"
fi
[ $fail -eq 0 ] && echo PASS || echo FAIL
exit $fail
