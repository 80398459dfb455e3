#!/bin/sh
# check-exports.sh: fails if the library exports any symbol its version script does not list.
set -eu
lib=$1 map=$2
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
echo "check-exports: $lib exports only: ${allowed:-nothing}"
