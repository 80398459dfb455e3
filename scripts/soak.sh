#!/usr/bin/env bash
# soak.sh: `make soak`: many shimmed processes, events every 10 ms, the server restarted every minute; nothing lost or leaked.
# SPDX-License-Identifier: MIT
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
lib="$(cd "$B" && pwd)/libtoki_shim.so" # B may be relative or absolute
MINUTES=${SOAK_MINUTES:-30}
PROCS=${SOAK_PROCS:-50}
EVERY=${SOAK_EVERY:-0.01}
TOKEN=0f8fad5b-d9cb-469f-a165-70867728950e
work=$(mktemp -d)
pids=()
server=""

cleanup() {
    trap - EXIT INT TERM
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    { exec 3>&-; } 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # $1: port (0 the first time); $2: round. Sets server and port.
    "$B/toki-shim" serve --port "$1" --token "$TOKEN" --every "$EVERY" \
        < /dev/null > "$work/env.$2" 2> "$work/server.$2" &
    server=$!
    for _ in $(seq 200); do grep -q TOKI_PORT= "$work/env.$2" 2>/dev/null && break; sleep 0.05; done
    port=$(sed -n 's/TOKI_PORT=//p' "$work/env.$2")
}

# What a host holds: private memory (RssAnon: a leak shows here; code pages touched
# for the first time would not be one) and descriptors.
sample() { # $1: pid
    echo "$(awk '/^RssAnon:/{print $2}' /proc/"$1"/status) $(ls /proc/"$1"/fd | wc -l)"
}

echo "soak: $PROCS processes, an event every $EVERY s, the server restarted every minute, for $MINUTES min"
start_server 0 0
mkfifo "$work/stdin"
exec 3<> "$work/stdin"   # every host's stdin, held open until the end
for i in $(seq "$PROCS"); do
    TOKI_PORT=$port TOKI_TOKEN=$TOKEN TOKI_SHIM_RETRY_MAX_MS=500 LD_PRELOAD="$lib" \
        "$B/tests/hosts/host_hook" < "$work/stdin" > "$work/host.$i" 2>&1 &
    pids+=($!)
done
for _ in $(seq 400); do
    [ "$(grep -c authenticated "$work/server.0")" -ge "$PROCS" ] && break
    sleep 0.05
done
connected=$(grep -c authenticated "$work/server.0" || true)
if [ "$connected" -lt "$PROCS" ]; then
    echo "soak: only $connected of $PROCS hosts connected within 20 s; first host said:"
    head -5 "$work/host.1"
    echo "soak: FAILED"
    exit 1
fi
sleep 2
for i in $(seq "$PROCS"); do sample "${pids[$((i - 1))]}" > "$work/before.$i"; done

for round in $(seq "$MINUTES"); do
    sleep 60
    kill -TERM "$server"; wait "$server" 2>/dev/null || true
    start_server "$port" "$round"
    echo "soak: minute $round: server restarted"
done
sleep 2
kill -TERM "$server"; wait "$server" 2>/dev/null || true
server=""
sleep 2

# Every event a server sent to a connected client (or queued for one that was still
# handing over its token, delivered after it, as Toki does) must have run a hook.
sent=$(cat "$work"/server.* | sed -n 's/.*sent AUTH_REFRESHED to \([0-9]*\) client[s]*\( (and queued for \([0-9]*\).*\)\{0,1\}$/\1 \3/p' \
    | awk '{s += $1 + $2} END {print s+0}')
got=0
grow_rss=0
grow_fd=0
for i in $(seq "$PROCS"); do
    n=$(grep -c '^refresh ' "$work/host.$i" || true)
    got=$((got + n))
    read -r rss0 fd0 < "$work/before.$i"
    read -r rss1 fd1 < <(sample "${pids[$((i - 1))]}")
    [ "$rss1" -gt "$((rss0 + 8))" ] && grow_rss=$((grow_rss + 1))
    [ "$fd1" -gt "$fd0" ] && grow_fd=$((grow_fd + 1))
done
echo "soak: events sent to connected clients: $sent, hooks run: $got"
echo "soak: processes whose private memory grew by more than 8 KiB: $grow_rss; whose fd count grew: $grow_fd"
[ "$sent" -eq "$got" ] && [ "$grow_rss" -eq 0 ] && [ "$grow_fd" -eq 0 ] && [ "$sent" -gt 0 ] \
    && { echo "soak: passed"; exit 0; }
echo "soak: FAILED"
exit 1
