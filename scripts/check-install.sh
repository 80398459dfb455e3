#!/bin/sh
# check-install.sh: `make check-install`: a staged install has every file, a working command, library, header, .pc and completion; uninstall removes it all.
# SPDX-License-Identifier: MIT
# Called by make with MAKE, B, CC and INSTALLED (every installed path, no DESTDIR)
# in the environment; PREFIX and the other directories reach the sub-makes through
# MAKEFLAGS, as make check was given them.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
rb=$B/check-install
trap 'rm -rf "$work" "$rb"' EXIT
d=$work/root
fail() { echo "check-install: $*" >&2; exit 1; }
var() { $MAKE -s --no-print-directory B="$B" print-"$1"; }

bindir=$(var BINDIR) libdir=$(var LIBDIR) includedir=$(var INCLUDEDIR) pkgdir=$(var PKGCONFIGDIR)
soname=$(var SONAME)
# An earlier version of the same soname is replaced, not left for ldconfig to
# point the soname back at.
mkdir -p "$d$libdir"
: > "$d$libdir/$soname.0.9"
$MAKE -s --no-print-directory install DESTDIR="$d" B="$B" >/dev/null
for f in $INSTALLED; do
    [ -e "$d$f" ] || fail "$f not installed"
done
[ ! -e "$d$libdir/$soname.0.9" ] || fail "install left the earlier $libdir/$soname.0.9"

# The command finds the library it was installed with, relative to itself.
got=$(env -u TOKI_TOKEN -u LD_PRELOAD "$d$bindir/toki-shim" run -- sh -c 'echo "$LD_PRELOAD"')
[ "$got" = "$(cd "$d$libdir" && pwd -P)/$soname" ] || fail "run preloads '$got', not $d$libdir/$soname"

# Moved under a folder with a space, which LD_PRELOAD cannot name: run says so
# (or takes the library of its compiled-in LIBDIR, if that has one), never
# preloads a path the loader splits and ignores.
mkdir "$work/re loc"
cp -a "$d/." "$work/re loc/"
got=$(env -u TOKI_TOKEN -u LD_PRELOAD "$work/re loc$bindir/toki-shim" run -- sh -c 'echo "$LD_PRELOAD"' 2>&1) &&
    case $got in *" "*) fail "run from '$work/re loc' preloads '$got'" ;; esac
case $got in *"LD_PRELOAD cannot name"* | /*) ;; *) fail "run from '$work/re loc' said '$got'" ;; esac
rm -rf "$work/re loc"

# A program linked with -ltoki_shim against the installed header and library
# needs the soname and runs (inert: no token).
cat > "$work/linked.c" <<'C'
#include <stdio.h>
#include <toki_shim.h>
int main(void)
{
    struct toki_shim_status s = {.size = sizeof s};
    if (toki_shim_status(&s) != 0)
        return 1;
    printf("active %d generation %lu\n", s.active, toki_shim_generation());
    return 0;
}
C
${CC:-cc} -I"$d$includedir" -o "$work/linked" "$work/linked.c" -L"$d$libdir" -ltoki_shim
readelf -d "$work/linked" | grep -q "NEEDED.*\[$soname\]" || fail "a program linked with -ltoki_shim does not need $soname"
got=$(env -u TOKI_TOKEN -u LD_PRELOAD LD_LIBRARY_PATH="$d$libdir" "$work/linked")
[ "$got" = "active 0 generation 0" ] || fail "the linked program printed '$got'"

# The .pc names the directories it was installed in.
pc_var() { # pc_var FILE NAME: NAME's value, ${prefix} expanded
    prefix=$(sed -n 's/^prefix=//p' "$1")
    sed -n "s/^$2=//p" "$1" | sed "s|\${prefix}|$prefix|"
}
[ "$(pc_var "$d$pkgdir/toki-shim.pc" libdir)" = "$libdir" ] &&
    [ "$(pc_var "$d$pkgdir/toki-shim.pc" includedir)" = "$includedir" ] ||
    fail "toki-shim.pc does not name $libdir and $includedir"

: > "$d$libdir/$soname.0.9"
$MAKE -s --no-print-directory uninstall DESTDIR="$d" B="$B" >/dev/null
[ -z "$(find "$d" ! -type d)" ] || fail "uninstall left $(find "$d" ! -type d | head -3)"

# A directory with a space is refused before anything is made: none of its words
# becomes a directory here.
$MAKE -s --no-print-directory install B="$B" PREFIX="$work/sp ace" DESTDIR="$work/sp" >"$work/space.out" 2>&1 &&
    fail "make install PREFIX='.../sp ace' succeeded"
grep -q "has a space" "$work/space.out" || fail "make install PREFIX='.../sp ace' did not say why: $(cat "$work/space.out")"
[ ! -e "$work/sp" ] && [ ! -e ace ] || fail "make install PREFIX='.../sp ace' made directories"

# make, then make install with other directories: the install names its own
# (the command's compiled-in library directory, the .pc), not the build's. In a
# build folder of its own, so that nothing else of make check sees it change.
$MAKE -s --no-print-directory B="$rb" PREFIX=/usr/local LIBDIR=/usr/local/lib all >/dev/null
$MAKE -s --no-print-directory B="$rb" PREFIX=/opt/ts LIBDIR=/opt/ts/lib/x86_64-linux-gnu \
    DESTDIR="$work/opt" install >/dev/null
[ "$(pc_var "$work/opt/opt/ts/lib/x86_64-linux-gnu/pkgconfig/toki-shim.pc" libdir)" = /opt/ts/lib/x86_64-linux-gnu ] ||
    fail "make install PREFIX=/opt/ts after make: the .pc does not name /opt/ts"
grep -q "/opt/ts/lib/x86_64-linux-gnu" "$work/opt/opt/ts/bin/toki-shim" ||
    fail "make install PREFIX=/opt/ts after make: toki-shim does not look in /opt/ts"

echo "check-install: install (over an earlier version), the command's library, -ltoki_shim, the .pc, uninstall, a refused space and a later PREFIX all work"
