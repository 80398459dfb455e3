#!/bin/sh
# check-exports.sh: the library exports exactly what its version script lists, the command none of it, and the public ABI is the one recorded.
# SPDX-License-Identifier: MIT
# Usage: check-exports.sh LIB MAP [CMD [HEADER ABI]]
set -eu
lib=$1 map=$2 cmd=${3:-} header=${4:-} abi=${5:-}
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

# The public ABI (src/toki_shim.abi): the library's soname, the header's
# declarations unchanged (new ones recorded), the status struct's recorded fields
# still its first ones, and every public function exported.
[ -n "$abi" ] || exit 0
abi_fail() { echo "check-exports: $*; see $abi" >&2; exit 1; }
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "soname $soname" = "$(grep '^soname ' "$abi")" ] || abi_fail "$lib's soname is $soname, not the recorded one"
# One declaration a line, whitespace squeezed, the visibility macro dropped.
declared=$(awk '/^TOKI_SHIM_VISIBLE / { d = "" } d != "" || /^TOKI_SHIM_VISIBLE / { d = d " " $0 }
    d != "" && /;/ { print d; d = "" }' "$header" | sed 's/TOKI_SHIM_VISIBLE//; s/[[:space:]][[:space:]]*/ /g; s/^ //; s/ (/(/')
recorded=$(grep -E '^[a-z].*\(.*\);$' "$abi" | grep -v '^field ')
changed=$(printf '%s\n' "$recorded" | grep -vxF -e "$declared" || true)
[ -z "$changed" ] || abi_fail "toki_shim.h no longer declares: $changed"
added=$(printf '%s\n' "$declared" | grep -vxF -e "$recorded" || true)
[ -z "$added" ] || abi_fail "toki_shim.h declares what the record lacks: $added"
# The struct's fields in order, comments dropped.
fields=$(sed -n '/^struct toki_shim_status {/,/^};/p' "$header" | sed '1d;$d; s:/\*.*::; s/[[:space:]][[:space:]]*/ /g; s/^ //; s/ $//; s/^/field /')
want=$(grep '^field ' "$abi")
[ "$(printf '%s\n' "$fields" | head -n "$(printf '%s\n' "$want" | wc -l)")" = "$want" ] ||
    abi_fail "struct toki_shim_status's first fields are no longer the recorded ones"
public=$(printf '%s\n' "$recorded" | sed -n 's/.* \**\(toki_shim_[a-z_]*\)(.*/\1/p')
for f in $public; do
    printf '%s\n' "$actual" | grep -qx "$f" || abi_fail "$lib does not export $f"
done
echo "check-exports: $soname: the ABI is the recorded one ($(echo $public))"
