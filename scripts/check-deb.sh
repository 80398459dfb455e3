#!/bin/sh
# check-deb.sh: CI's test of `make deb`: installs the package with dpkg, runs the demo and a program linked with -ltoki_shim against the installed files, then purges it.
# SPDX-License-Identifier: MIT
# Root only, and it changes the system: scripts/test.sh runs it, make check does not.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
fail() { echo "check-deb: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i, dpkg --purge)"
deb=$(ls "$B"/toki-shim_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no $B/toki-shim_*.deb: run make deb first"
! dpkg-query -W -f='${Status}' toki-shim 2>/dev/null | grep -q "install ok installed" ||
    fail "toki-shim is installed already, and this check ends by purging it"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dpkg -i "$deb" >/dev/null
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in /usr/bin/toki-shim /usr/lib/"$ma"/libtoki_shim.so.0 /usr/include/toki_shim.h \
    /usr/lib/"$ma"/pkgconfig/toki-shim.pc /usr/share/man/man1/toki-shim.1.gz \
    /usr/share/bash-completion/completions/toki-shim /usr/share/zsh/vendor-completions/_toki-shim \
    /usr/share/doc/toki-shim/examples/hook_service.c; do
    [ -e "$f" ] || fail "$f is not installed"
done

# run finds the library of the package, beside /usr/bin in ../lib/<multiarch>.
got=$(env -u TOKI_TOKEN -u LD_PRELOAD toki-shim run -- sh -c 'echo "$LD_PRELOAD"')
[ "$got" = "/usr/lib/$ma/libtoki_shim.so.0" ] || fail "run preloads '$got'"

# A program linked with -ltoki_shim finds it through the loader's cache alone.
printf '#include <toki_shim.h>\nint main(void) { return toki_shim_generation() != 0; }\n' > "$work/linked.c"
cc -o "$work/linked" "$work/linked.c" -ltoki_shim
env -u TOKI_TOKEN "$work/linked" || fail "a program linked with -ltoki_shim does not run"

# The demo, with the installed command and library and the examples built from
# the package's copies with its header.
mkdir "$work/examples"
cc -o "$work/examples/reload_service" /usr/share/doc/toki-shim/examples/reload_service.c
cc -rdynamic -o "$work/examples/hook_service" /usr/share/doc/toki-shim/examples/hook_service.c
DEMO_CMD=/usr/bin/toki-shim DEMO_EXAMPLES="$work/examples" bash scripts/demo.sh > "$work/demo.out" 2>&1 ||
    { cat "$work/demo.out"; fail "the demo failed against the installed package"; }
grep -q "toki_on_refresh called (#3)" "$work/demo.out" || { cat "$work/demo.out"; fail "no third reload"; }

dpkg --purge toki-shim >/dev/null
[ ! -e /usr/bin/toki-shim ] && [ ! -e /usr/lib/"$ma"/libtoki_shim.so.0 ] || fail "purge left files"
echo "check-deb: $deb installs, runs the demo, links with -ltoki_shim, and purges"
