#!/bin/sh
# deb.sh: `make deb`: builds the Debian package (debian/) with dpkg-buildpackage in a copy of the tree under B, copies the .deb to B and runs lintian on it.
# SPDX-License-Identifier: MIT
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
debian=$(dpkg-parsechangelog -S Version)
case $debian in
"$version"-*) ;;
*) echo "deb: debian/changelog is at $debian, the Makefile at $version: add a changelog entry" >&2; exit 1 ;;
esac

# A copy, so that dpkg-buildpackage's clean and its artifacts (written beside the
# source folder) stay under B; build trees and B itself are not copied.
mkdir -p "$B"
work=$(cd "$B" && pwd)/deb
src=$work/toki-shim-$version
rm -rf "$work"
mkdir -p "$src"
skip=$(realpath -m --relative-to=. "$B")
tar -cf - --exclude-vcs --exclude='./build*' --exclude="./$skip" . | tar -xf - -C "$src"

(cd "$src" && dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "deb: dpkg-buildpackage failed; the log is $work/build.log" >&2
    exit 1
}
rm -f "$B"/toki-shim_*.deb
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$B"/
deb=$B/toki-shim_${debian}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
echo "deb: $deb"
dpkg-deb --contents "$deb" | awk '{print "  " $1, $6, $7, $8}'

# Errors fail the build; warnings are shown.
if command -v lintian >/dev/null; then
    lintian --fail-on error --tag-display-limit 0 "$deb"
    echo "deb: lintian reports no error"
else
    echo "deb: lintian is not installed (apt-get install lintian): not checked"
fi
