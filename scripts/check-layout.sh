#!/bin/sh
# check-layout.sh: the folders' include rules (ARCHITECTURE.md), no include cycle between modules, no function over 80 lines, a licence line atop each source file.
# SPDX-License-Identifier: MIT
set -eu
cd "$(dirname "$0")/.."
fail=0

# What each folder may include besides itself: common is the base; the library and
# the command build on it and never on each other; only the library implements the
# public header.
for f in src/common/* src/shim/* src/cli/*; do
    dir=$(basename "$(dirname "$f")")
    case $dir in
        common) bad='"(shim|cli)/|"toki_shim\.h"|"\.\./' ;;
        shim) bad='"cli/|"\.\./' ;;
        cli) bad='"shim/|"toki_shim\.h"|"\.\./' ;;
    esac
    if grep -En "^#include ($bad)" "$f" >/dev/null; then
        echo "check-layout: $f includes across the folder rules:" >&2
        grep -En "^#include ($bad)" "$f" >&2
        fail=1
    fi
done

# The module graph: an edge from module A to module B when A's .c or .h includes
# B's header. tsort reports any loop.
edges=$(for f in src/*/*.c src/*/*.h; do
    dir=$(basename "$(dirname "$f")") mod=$(basename "$f" | sed 's/\.[ch]$//')
    sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f" | while read -r inc; do
        case $inc in */*) to=$inc ;; *) to=$dir/$inc ;; esac
        [ "$to" = "$dir/$mod" ] || echo "$dir/$mod $to"
    done
done)
if ! printf '%s\n' "$edges" | tsort >/dev/null 2>/tmp/check-layout.$$; then
    echo "check-layout: the modules include each other in a cycle:" >&2
    cat /tmp/check-layout.$$ >&2
    fail=1
fi
rm -f /tmp/check-layout.$$

# libc's functions are looked up once, in real.c's table (the program's hooks are
# found in the loaded objects' own tables). A dlsym anywhere else would run the
# loader (its locks, its allocations) inside fork(), exit() or close().
lookups=$(grep -ln '[^a-z_]dl[v]*sym(' src/*/*.c | grep -vx -e src/shim/real.c || true)
if [ -n "$lookups" ]; then
    echo "check-layout: dlsym outside real.c:" >&2
    echo "$lookups" >&2
    fail=1
fi

# A function's body runs from a "{" alone at the start of a line to the next "}"
# alone there (the project's style for functions, and for nothing else).
long=$(awk 'FNR == 1 { start = 0 }
    /^\{$/ { start = FNR; name = prev }
    /^\}$/ && start { if (FNR - start + 1 > 80) printf "%s:%d: %s is %d lines\n", FILENAME, start, name, FNR - start + 1; start = 0 }
    { prev = $0 }' src/*/*.c)
if [ -n "$long" ]; then
    echo "check-layout: functions over 80 lines:" >&2
    echo "$long" >&2
    fail=1
fi

# Each source file says its licence (LICENSE) in its header: the SPDX line comes
# after the shebang and the one-line job comment, within the first five lines.
# Data files (JSON, the fuzz corpus) and prose (Markdown) carry none.
unlicensed=$(find src tests scripts examples man debian contrib .ci Makefile toki-shim.pc.in \
        -path tests/fuzz/corpus -prune -o -type f \( -name '*.[ch]' -o -name '*.cpp' -o -name '*.go' \
        -o -name '*.java' -o -name '*.py' -o -name '*.sh' -o -name '*.map' -o -name '*.abi' -o -name '*.yml' -o -name '*.[17]' \
        -o -name '*.service' -o -name '*.conf' -o -name 'Dockerfile*' -o -name 'Makefile' -o -name '*.in' \
        -o -name run -o -name rules -o -name 'toki-shim*.bash' -o -name '_toki-shim' \) -print 2>/dev/null |
    while read -r f; do head -n 5 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"; done)
if [ -n "$unlicensed" ]; then
    echo "check-layout: no 'SPDX-License-Identifier: MIT' in the first five lines of:" >&2
    echo "$unlicensed" >&2
    fail=1
fi

[ $fail -eq 0 ] && echo "check-layout: folders respected, no include cycle, dlsym in real.c only, no function over 80 lines, every source file licensed"
exit $fail
