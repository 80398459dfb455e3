#!/usr/bin/env bash
# check-readme.sh: runs README.md's ```sh blocks (those that need no Toki, no root and no second terminal), and checks that the pipeline it shows is examples/pipeline.json.
# SPDX-License-Identifier: MIT
# Blocks fenced ```console are shown, not run: they install, need Toki, or name
# processes that do not exist here. ./build/ in a block becomes $B/.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk -v dir="$work" '
    /^```sh$/ { n++; f = sprintf("%s/block%02d.sh", dir, n); inb = 1; next }
    /^```/    { inb = 0; next }
    inb       { print > f }
' README.md
count=0
for f in "$work"/block*.sh; do
    [ -e "$f" ] || continue
    count=$((count + 1))
    sed -i "s|\./build/|$B/|g" "$f"
    if ! bash -euo pipefail "$f" > "$f.out" 2>&1; then
        echo "check-readme: this README block failed:" >&2
        cat "$f" "$f.out" >&2
        exit 1
    fi
done
[ "$count" -ge 2 ] || { echo "check-readme: expected README blocks to run, found $count" >&2; exit 1; }
# The "Try it without Toki" block ends after three reloads.
grep -q "configuration loaded (#3)" "$work"/block*.sh.out \
    || { echo "check-readme: the serve block did not show three reloads" >&2; cat "$work"/block*.sh.out >&2; exit 1; }
grep -q "the shim is inert in /bin/true: TOKI_TOKEN is not set" "$work"/block*.sh.out \
    || { echo "check-readme: run --log info did not say the shim is inert" >&2; exit 1; }

# The pipeline README shows is the one in examples/, byte for byte.
awk '/^```json$/ { inb = 1; next } /^```/ { if (inb) exit; next } inb' README.md > "$work/pipeline.json"
cmp -s "$work/pipeline.json" examples/pipeline.json \
    || { echo "check-readme: README's pipeline differs from examples/pipeline.json" >&2; diff "$work/pipeline.json" examples/pipeline.json >&2; exit 1; }
echo "check-readme: $count README blocks run, and its pipeline is examples/pipeline.json"
