#!/bin/sh
# check-start-page.sh: the library's data that a start writes lies in one page, the one the loader writes anyway.
# SPDX-License-Identifier: MIT
# Usage: check-start-page.sh LIB
# Where the big buffers go to the large-data section (gcc on x86-64, see TSHIM_COLD
# in src/common/tshim.h), .data and .bss must end in the page where .got.plt
# ends (the loader writes every entry of it at load): a small variable past that
# page would bring back a page fault at every start.
set -eu
lib=$1
sections=$(readelf -SW "$lib" | sed -n 's/^ *\[ *[0-9]*\] //p')
field() { printf '%s\n' "$sections" | awk -v n="$1" -v f="$2" '$1 == n { print $f }'; }
if [ -z "$(field .lbss 1)" ]; then
    echo "check-start-page: $lib has no large-data section (not gcc on x86-64, or a sanitizer build): nothing to check"
    exit 0
fi
got=$((0x$(field .got.plt 3) + 0x$(field .got.plt 5) - 1))
end=$((0x$(field .bss 3) + 0x$(field .bss 5) - 1))
if [ $((got / 4096)) -ne $((end / 4096)) ]; then
    printf 'check-start-page: %s: .data and .bss end at 0x%x, past the page where .got.plt ends (0x%x):\n' \
        "$lib" "$end" "$got" >&2
    echo "  mark the new big buffer TSHIM_COLD, or make room in the start's page" >&2
    exit 1
fi
printf 'check-start-page: %s: what a start writes lies in one page (%d bytes left in it)\n' \
    "$lib" $((4095 - end % 4096))
