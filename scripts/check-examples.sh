#!/usr/bin/env bash
# check-examples.sh: runs the command of each Toki pipeline in examples/ the way Toki would (toki-shim serve, sh -c), and checks that every service in it reloads twice.
# SPDX-License-Identifier: MIT
# Real Toki is not needed: serve starts the command with the variables Toki sets,
# in its own process group, and broadcasts AUTH_REFRESHED every 0.3 s. The auth
# command is Toki's; it is run once here, before the start.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
work=$(mktemp -d)
serve=
cleanup() {
    [ -z "$serve" ] || kill "$serve" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until file $1 has a line with $2: tail follows it (and ends with the
# server), grep stops at the first match; 20 s at most.
wait_for() {
    if ! timeout 20 tail -n +1 -f --pid="$serve" "$1" | grep -q -m1 -- "$2"; then
        echo "check-examples: $3: no \"$2\" in its output:" >&2
        cat "$1" "$work/err" >&2
        exit 1
    fi
}

# run_pipeline NAME COMMAND PATTERN...: COMMAND as Toki's step would run it.
run_pipeline() {
    local name=$1 cmd=$2
    shift 2
    cmd=${cmd//\/tmp\/toki-shim-%p.log/$work/shim-%p.log}
    cmd=${cmd//.\/build\//$B/}
    date > /tmp/credential
    PATH="$PWD/$B:$PATH" "$B/toki-shim" serve --port 0 --every 0.3 --quiet -- sh -c "$cmd" \
        > "$work/out" 2> "$work/err" &
    serve=$!
    for pattern in "$@"; do
        wait_for "$work/out" "$pattern" "$name"
    done
    kill "$serve"
    wait "$serve" 2>/dev/null || true
    serve=
    grep -q "connected to Toki" "$work"/shim-*.log \
        || { echo "check-examples: $name: the shim's log file says nothing" >&2; exit 1; }
    rm -f "$work"/shim-*.log
    echo "check-examples: $name: every service reloaded twice"
}

json=$(sed -n 's/^ *"command": "\(toki-shim run.*\)",$/\1/p' examples/pipeline.json)
yml=$(sed -n '/^- command: >-$/,/^  auth:$/p' examples/pipeline.yml | sed '1d;$d' | sed 's/^ *//' | tr '\n' ' ')
[ -n "$json" ] && [ -n "$yml" ] || { echo "check-examples: cannot read the pipelines' commands" >&2; exit 1; }
run_pipeline pipeline.json "$json" "configuration loaded (#2)"
run_pipeline pipeline.yml "$yml" "toki_on_refresh called (#2)" "reloading (#2,"
