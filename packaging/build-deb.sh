#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build profd's Debian package from this working tree:
#   packaging/build-deb.sh [OUTDIR]   (default OUTDIR: build-deb/)
# Copies the tree's files (tracked and new, not ignored) to a scratch
# directory, puts packaging/debian/ at its top as debian/, runs
# dpkg-buildpackage -us -uc -b there and leaves the .deb (and .buildinfo,
# .changes) in OUTDIR. Then runs lintian on the .deb when LINTIAN=1.
# Needs the Build-Depends of packaging/debian/control (packaging/deps.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-deb}
version=$(sed -n '1s/^profd (\([^)]*\)).*/\1/p' "$root/packaging/debian/changelog")

tmp=$(mktemp -d /tmp/profd-deb.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
src=$tmp/profd-$version
mkdir -p "$src" "$out"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$root" && tar --null --no-recursion -cf - -T -) | tar -xf - -C "$src"
# a file deleted in the tree but not yet from git's index is not there
cp -r "$root/packaging/debian" "$src/debian"
(cd "$src" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) || {
	tail -60 "$tmp/build.log"
	echo "build-deb: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
cp "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out"/
deb=$(ls "$out"/profd_"$version"_*.deb | head -1)
echo "build-deb: $deb"
if [ "${LINTIAN:-0}" = 1 ]; then
	lintian --fail-on error "$deb"
fi
