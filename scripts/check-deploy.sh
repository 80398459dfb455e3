#!/usr/bin/env bash
# check-deploy.sh: `make check-deploy`: the Dockerfiles' build steps run here and every file they COPY or name exists; the systemd examples pass systemd-analyze verify.
# SPDX-License-Identifier: MIT
# Docker is not needed: each Dockerfile's make and compiler lines run in a scratch
# folder (the image's /src is this tree, its build folders and /out are scratch),
# then each COPY --from=build source must exist, and each absolute path of the final
# stage (RUN, ENV, ENTRYPOINT, CMD) that falls under a COPY destination must too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-deploy: $*" >&2; exit 1; }
said=()

# An image path of the build stage, here: /out and the build folders go to the
# scratch folder, the rest of /src is this tree.
local_path() {
    local p=$1
    case $p in
    /out*) echo "$work/out${p#/out}" ;;
    /src/build*) echo "$work/${p#/src/}" ;;
    /src/*) echo "$repo/${p#/src/}" ;;
    /src) echo "$repo" ;;
    build*) echo "$work/$p" ;;
    *) echo "$p" ;;
    esac
}

# Runs one command of a build-stage RUN line, paths mapped; apt-get, apk and the
# like (the image's own setup) are left out.
run_build_step() {
    local -a words=() args=()
    read -r -a words <<< "$1"
    case ${words[0]:-} in make | musl-gcc | gcc | cc) ;; *) return 0 ;; esac
    if [[ ${words[0]} == musl-gcc ]] && ! command -v musl-gcc >/dev/null; then
        return 3
    fi
    local w skip=0
    for w in "${words[@]:1}"; do
        if ((skip)); then skip=0; continue; fi
        case $w in
        -C) skip=1 ;;                      # make -C /src: this tree
        *=*) args+=("${w%%=*}=$(local_path "${w#*=}")") ;;
        *) args+=("$(local_path "$w")") ;;
        esac
    done
    if [[ ${words[0]} == make ]]; then
        for w in "${args[@]}"; do [[ $w == CC=musl-gcc ]] && ! command -v musl-gcc >/dev/null && return 3; done
        make -s --no-print-directory "${args[@]}" > "$work/step.log" 2>&1 || { cat "$work/step.log"; return 1; }
    else
        "${words[0]}" "${args[@]}"
    fi
}

# Whether the image has $1 from a COPY, if it falls under a COPY's destination or
# beside one (a path of the base image, /tmp or /run/secrets, is not ours to check).
brought() {
    local i dest src under=0
    for i in "${!copies_to[@]}"; do
        dest=${copies_to[i]}
        [[ ${1%/*} == "${dest%/*}" ]] && under=1
        [[ $1 == "$dest" || ($dest == */ && $1 == "$dest"*) ]] || continue
        under=1
        src=$(local_path "${copies_from[i]}")
        [[ $1 == "$dest" ]] || src=$src${1#"$dest"}
        [[ -e $src ]] && return 0
    done
    return $under
}

check_dockerfile() {
    local file=$1 stage=0 final=0 line kind rest part src dest tok n
    local -a copies_from=() copies_to=()
    n=$(grep -c '^FROM ' "$file")
    rm -rf "$work/out" "$work"/build*
    while IFS= read -r line; do
        kind=${line%% *} rest=${line#* }
        [[ $kind == FROM ]] && { stage=$((stage + 1)); [[ $stage -eq $n ]] && final=1; continue; }
        if [[ $kind == RUN && $final -eq 0 ]]; then
            while IFS= read -r part; do
                run_build_step "$part" || {
                    [[ $? -eq 3 ]] && { said+=("$file: skipped, no musl-gcc (apt-get install musl-tools)"); return 0; }
                    fail "$file: '$part' failed"
                }
            done < <(sed 's/ && /\n/g' <<< "$rest")
        elif [[ $kind == COPY && $rest == --from=* ]]; then
            read -r _ src dest <<< "$rest"
            [[ -e $(local_path "$src") ]] || fail "$file: COPY $src: not in the install (no $(local_path "$src"))"
            copies_from+=("$src") copies_to+=("$dest")
        elif [[ $final -eq 1 && $kind =~ ^(RUN|ENV|ENTRYPOINT|CMD)$ ]]; then
            for tok in $(tr '[],"=' '     ' <<< "$rest"); do
                [[ $tok == /* ]] && ! brought "$tok" && fail "$file: $kind names $tok, which no COPY brings"
            done
        fi
    done < <(grep -E '^(FROM|RUN|COPY|ENV|ENTRYPOINT|CMD) ' "$file")
    said+=("$file: built, every file it copies and names exists")
}

for f in examples/Dockerfile.*; do
    check_dockerfile "$f"
done

# The unit and the drop-in, verified in a root of their own: systemd's units, a
# stand-in for each program they start, and a unit for the drop-in to extend. The
# man pages of Documentation= are not looked up (not installed here).
if command -v systemd-analyze >/dev/null && [ -d /usr/lib/systemd/system ]; then
    root=$work/root
    mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system/example.service.d"
    cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
    cp examples/toki-pipeline.service "$root/etc/systemd/system/"
    cp examples/toki-shim.conf "$root/etc/systemd/system/example.service.d/"
    printf '[Service]\nExecStart=/usr/sbin/example-daemon\n' > "$root/etc/systemd/system/example.service"
    for exe in $(sed -n 's/^ExecStart=[-@+!:]*\([^ ]*\).*/\1/p' examples/*.service) /usr/sbin/example-daemon; do
        mkdir -p "$root$(dirname "$exe")" && printf '#!/bin/sh\n' > "$root$exe" && chmod +x "$root$exe"
    done
    out=$(systemd-analyze verify --man=no --root="$root" toki-pipeline.service example.service 2>&1) ||
        fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
    said+=("systemd-analyze verify: toki-pipeline.service and a unit with toki-shim.conf are clean")
    soname=$(make -s --no-print-directory print-SONAME)
    grep -q "^Environment=LD_PRELOAD=\(.*/\)\?$soname\$" examples/toki-shim.conf || fail "toki-shim.conf does not preload $soname"
else
    said+=("systemd-analyze is not installed (apt-get install systemd): the units are not verified")
fi
printf 'check-deploy: %s\n' "${said[@]}"
