# toki-shim.bash: bash completion for toki-shim: its commands, their options, the options' values, the command run starts.
# SPDX-License-Identifier: MIT
# Installed as bash-completion/completions/toki-shim, or: source <(toki-shim completion bash)
# Plain bash (compgen, COMP_WORDS): bash-completion's helpers are used when loaded, not needed.

# The options that take a value, per command: their next word is that value.
_toki_shim_takes_value()
{
    case $1:$2 in
    run:--signal | run:--action | run:--events | run:--only | run:--skip | run:--log | \
        run:--log-file | run:--debounce-ms | run:--splay-ms | run:--touch | \
        serve:--port | serve:--token | serve:--every) return 0 ;;
    esac
    return 1
}

_toki_shim_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$1")
    fi
}

# Words from position $2 on belong to the program run or serve starts: its name
# first, then whatever that program takes (files, here).
_toki_shim_program()
{
    if [[ $COMP_CWORD -eq $2 ]]; then
        mapfile -t COMPREPLY < <(compgen -c -- "$1" | sort -u)
    else
        _toki_shim_files "$1"
    fi
}

_toki_shim()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local cmd=${COMP_WORDS[1]} i w opts=
    COMPREPLY=()
    if [[ $COMP_CWORD -eq 1 ]]; then
        mapfile -t COMPREPLY < <(compgen -W "run serve check completion help --help --version" -- "$cur")
        return
    fi
    # Past "--", or past run's first word that is neither an option nor a value,
    # the words are the program's.
    for ((i = 2; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == -- ]]; then
            _toki_shim_program "$cur" $((i + 1))
            return
        fi
        if [[ $cmd == run && $w != -* ]] && ! _toki_shim_takes_value run "${COMP_WORDS[i - 1]}"; then
            _toki_shim_program "$cur" "$i"
            return
        fi
    done
    case $cmd:$prev in
    run:--signal) opts="HUP USR1 USR2 INT QUIT TERM WINCH RTMIN RTMIN+1 RTMIN+2 RTMIN+3" ;;
    run:--action) opts="auto hook signal both fd none" ;;
    run:--log) opts="quiet error warn info debug" ;;
    run:--events) opts="AUTH_REFRESHED FINISHED" ;;
    run:--log-file | run:--touch) _toki_shim_files "$cur"; return ;;
    *) _toki_shim_takes_value "$cmd" "$prev" && return ;;
    esac
    if [[ -z $opts ]]; then
        case $cmd in
        run)
            opts="--signal --action --debounce-ms --splay-ms --events --only --skip --no-inherit
                  --follow-fork --log --log-file --force-signal --supervise --no-supervise --touch --help --"
            [[ $cur != -* ]] && { _toki_shim_program "$cur" "$COMP_CWORD"; return; }
            ;;
        serve) opts="--port --token --dev --every --quiet --help --" ;;
        check)
            opts="--json --all --help"
            [[ $cur != -* ]] && opts="$(cd /proc && compgen -G '[0-9]*')"
            ;;
        completion) [[ $COMP_CWORD -eq 2 ]] && opts="bash zsh" ;;
        help) [[ $COMP_CWORD -eq 2 ]] && opts="run serve check completion" ;;
        esac
    fi
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}
complete -F _toki_shim toki-shim
