#!/usr/bin/env bash
# check-completion.sh: `make check-completion`: toki-shim completion prints the scripts of contrib/completion/, valid shell, and bash completes with it.
# SPDX-License-Identifier: MIT
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${B:-build}/toki-shim
fail() { echo "check-completion: $*" >&2; exit 1; }

"$cmd" completion bash | cmp -s - contrib/completion/toki-shim.bash || fail "completion bash is not contrib/completion/toki-shim.bash"
"$cmd" completion zsh | cmp -s - contrib/completion/_toki-shim || fail "completion zsh is not contrib/completion/_toki-shim"
"$cmd" completion bash | bash -n || fail "the bash script does not parse"
if command -v zsh >/dev/null; then
    "$cmd" completion zsh | zsh -n || fail "the zsh script does not parse"
    zsh_said="zsh parses its own"
else
    zsh_said="zsh is not installed: its script not parsed"
fi

# Drives the completion function as bash does on TAB: COMP_WORDS, COMP_CWORD, and
# COMPREPLY read back. One line per case: the words (the last is being typed),
# then what must be offered, exactly.
source <("$cmd" completion bash)
complete_line() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _toki_shim
    echo "${COMPREPLY[*]}"
}
expect() { # expect WANT WORD...
    local want=$1 got
    shift
    got=$(complete_line "$@")
    [ "$got" = "$want" ] || fail "'$*<TAB>' offers '$got', not '$want'"
}
expect "run" toki-shim r
expect "serve" toki-shim se
expect "completion" toki-shim comp
expect "--supervise" toki-shim run --sup
expect "auto hook signal both fd none" toki-shim run --action ""
expect "USR1 USR2" toki-shim run --signal U
expect "--every" toki-shim serve --ev
expect "bash zsh" toki-shim completion ""
expect "check" toki-shim help ch
expect "--json --all --help" toki-shim check -
# After run's options, and after "--", the word is a command to start.
case " $(complete_line toki-shim run --log info -- bas) " in *" bash "*) ;; *) fail "no command offered after run's --" ;; esac
case " $(complete_line toki-shim run bas) " in *" bash "*) ;; *) fail "no command offered as run's COMMAND" ;; esac
echo "check-completion: toki-shim completion prints both scripts; bash completes 'toki-shim r' to run; $zsh_said"
