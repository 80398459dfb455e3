#!/usr/bin/env bash
# demo.sh: `make demo`: two unmodified-style services reload on three Toki refreshes, under toki-shim serve.
# SPDX-License-Identifier: MIT
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
# The command and the examples: the build's, or an install's (scripts/check-deb.sh).
cmd=${DEMO_CMD:-$B/toki-shim}
examples=${DEMO_EXAMPLES:-$B/examples}
work=$(mktemp -d)
pids=()

# Every process this script started goes, whatever way it ends (Ctrl-C included).
cleanup() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    { exec 3>&-; } 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# Ctrl-C also reaches the server through the fifo's closing; a write to it then
# fails, and this script ends through cleanup either way.
trap 'exit 130' INT TERM PIPE

# Waits up to 10 s for a line containing $2 to appear $3 times in file $1.
wait_for() {
    for _ in $(seq 200); do
        [ "$(grep -c -- "$2" "$1" 2>/dev/null || true)" -ge "$3" ] && return 0
        sleep 0.05
    done
    echo "demo: timed out waiting for \"$2\" in $1" >&2
    cat "$1" >&2
    return 1
}

echo "== toki-shim demo: a Toki-compatible server and two services that know nothing of Toki"
mkfifo "$work/events"
"$cmd" serve --port 0 < "$work/events" > "$work/env" 2> "$work/server.log" &
pids+=($!)
exec 3> "$work/events"            # keeps the server's stdin open; we write events here
wait_for "$work/env" TOKI_TOKEN= 1
export $(cat "$work/env")         # TOKI_PORT and TOKI_TOKEN, as Toki would set them

echo "credential-1" > "$work/credential"
"$cmd" run -- "$examples/reload_service" "$work/credential" > "$work/reload.log" 2>&1 &
pids+=($!)
"$cmd" run -- "$examples/hook_service" > "$work/hook.log" 2>&1 &
pids+=($!)
wait_for "$work/server.log" authenticated 2
wait_for "$work/reload.log" "loaded (#0)" 1
echo "   reload_service (reloads on SIGHUP) and hook_service (defines toki_on_refresh) are connected"

for i in 1 2 3; do
    echo "credential-$((i + 1))" > "$work/credential"   # what Toki's auth command would do
    echo "== refresh $i: Toki broadcasts AUTH_REFRESHED"
    echo AUTH_REFRESHED 2>/dev/null >&3 || exit 130   # the server is gone: Ctrl-C
    [ -n "${DEMO_STEP_DELAY:-}" ] && sleep "$DEMO_STEP_DELAY"   # for watching it, or interrupting it
    wait_for "$work/reload.log" "loaded (#$i)" 1
    wait_for "$work/hook.log" "called (#$i)" 1
    grep -h -- "(#$i)" "$work/reload.log" "$work/hook.log" | sed 's/^/   /'
done
echo "== done: 3 refreshes, 3 reloads in each: reload_service has no line about Toki, hook_service one function"
