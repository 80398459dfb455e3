#!/bin/sh
# check-exports.sh: the library exports exactly what its version script lists, and the command none of it.
# SPDX-License-Identifier: MIT
set -eu
lib=$1 map=$2 cmd=${3:-}
# The globals named in the map, one per line ("name;" lines before "local:").
allowed=$(sed -n '/global:/,/local:/p' "$map" | sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' | sort -u)
actual=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u)
extra=$(printf '%s\n' "$actual" | grep -vxF -e "$allowed" -e '' || true)
if [ -z "$allowed" ]; then extra=$actual; fi
if [ -n "$extra" ]; then
    echo "check-exports: $lib exports symbols not in $map:" >&2
    printf '  %s\n' $extra >&2
    exit 1
fi
missing=$(printf '%s\n' "$allowed" | grep -vxF -e "$actual" || true)
if [ -n "$missing" ]; then
    echo "check-exports: $lib does not export what $map lists:" >&2
    printf '  %s\n' $missing >&2
    exit 1
fi
echo "check-exports: $lib exports only: $(echo $allowed)"
# The command links no module of the library: its own fork(), close() and exit()
# are libc's, so it must define none of the library's exports.
if [ -n "$cmd" ]; then
    leaked=$(nm -D --defined-only "$cmd" | awk '{print $NF}' | grep -xF -e "$allowed" || true)
    if [ -n "$leaked" ]; then
        echo "check-exports: $cmd defines the library's overrides:" >&2
        printf '  %s\n' $leaked >&2
        exit 1
    fi
    echo "check-exports: $cmd defines none of them"
fi
