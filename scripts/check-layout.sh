#!/bin/sh
# check-layout.sh: the folders' include rules (ARCHITECTURE.md), no include cycle between modules, no function over 80 lines, a licence line atop each source file.
# SPDX-License-Identifier: MIT
set -eu
cd "$(dirname "$0")/.."
fail=0

# An include directive as the preprocessor reads it: spaces are allowed before and
# after the "#", and between "include" and the name, which may be in quotes or in
# angle brackets (-Isrc finds both).
include='^[[:space:]]*#[[:space:]]*include[[:space:]]*'

# What each folder may include besides itself: common is the base; the library and
# the command build on it and never on each other; only the library implements the
# public header.
for f in src/common/* src/shim/* src/cli/*; do
    dir=$(basename "$(dirname "$f")")
    case $dir in
        common) bad='[<"](shim|cli)/|[<"]toki_shim\.h[>"]|[<"]\.\./' ;;
        shim) bad='[<"]cli/|[<"]\.\./' ;;
        cli) bad='[<"]shim/|[<"]toki_shim\.h[>"]|[<"]\.\./' ;;
    esac
    if grep -En "$include($bad)" "$f" >/dev/null; then
        echo "check-layout: $f includes across the folder rules:" >&2
        grep -En "$include($bad)" "$f" >&2
        fail=1
    fi
done

# The module graph: an edge from module A to module B when A's .c or .h includes
# B's header (in quotes, or in angle brackets by its folder). tsort reports any loop.
edges=$(for f in src/*/*.c src/*/*.h; do
    dir=$(basename "$(dirname "$f")") mod=$(basename "$f" | sed 's/\.[ch]$//')
    sed -n -e "s/$include\"\\([^\"]*\\)\\.h\".*/\\1/p" \
        -e "s/$include<\\(\\(common\\|shim\\|cli\\)\\/[^>]*\\)\\.h>.*/\\1/p" "$f" | while read -r inc; do
        case $inc in */*) to=$inc ;; *) to=$dir/$inc ;; esac
        [ "$to" = "$dir/$mod" ] || echo "$dir/$mod $to"
    done
done)
if ! printf '%s\n' "$edges" | tsort >/dev/null 2>/tmp/check-layout.$$; then
    echo "check-layout: the modules include each other in a cycle:" >&2
    cat /tmp/check-layout.$$ >&2
    fail=1
fi
rm -f /tmp/check-layout.$$

# The two checks below read code only: this awk prologue blanks comments, string
# and character literals and preprocessor directives (with their continuation
# lines), keeping every line in its place, so that a brace or a name in prose or in
# a string neither counts nor hides anything.
code='FNR == 1 { incomment = 0; cont = 0 }
{
    if (cont || (!incomment && $0 ~ /^[ \t]*#/)) {
        cont = ($0 ~ /\\$/)
        $0 = ""
    } else
        $0 = code_of($0)
}
function code_of(line,    out, i, n, c, two, q) {
    out = ""
    n = length(line)
    for (i = 1; i <= n; i++) {
        c = substr(line, i, 1)
        two = substr(line, i, 2)
        if (incomment) {
            if (two == "*/") { incomment = 0; i++ }
            out = out " "
        } else if (two == "/*") {
            incomment = 1
            i++
            out = out " "
        } else if (two == "//") {
            break
        } else if (c == "\"" || c == "\047") {
            q = c
            for (i++; i <= n && substr(line, i, 1) != q; i++)
                if (substr(line, i, 1) == "\\") i++
            out = out q q
        } else
            out = out c
    }
    return out
}'

# libc's functions are looked up once, in real.c's table (the program's hooks are
# found in the loaded objects' own tables). A dlsym or dlvsym anywhere else (a call,
# with or without a space before its parenthesis, or its address taken) would run
# the loader (its locks, its allocations) inside fork(), exit() or close().
lookups=$(for f in src/*/*.[ch] src/*.h; do [ "$f" = src/shim/real.c ] || echo "$f"; done |
    xargs awk "$code"'
    /(^|[^A-Za-z0-9_])dlv?sym([^A-Za-z0-9_]|$)/ { print FILENAME ":" FNR }')
if [ -n "$lookups" ]; then
    echo "check-layout: dlsym outside real.c:" >&2
    echo "$lookups" >&2
    fail=1
fi

# A function's body is what its "{" at file scope opens, to the "}" that brings the
# brace depth back to zero, wherever either stands on its line. A brace at file
# scope opens a function when what comes before it (since the last ";" or "}")
# ends in ")" and assigns nothing outside parentheses (an initializer's "= {"
# does; Criterion's Test(s, t, .init = f) does not); a struct's or an enum's head
# ends in its name, and extern "C" { opens no scope of its own. Static inline
# functions in headers, and the tests and their hosts, count as much as the code.
long=$(ls src/*/*.[ch] src/*.h tests/*.[ch] tests/*/*.[ch] | xargs awk "$code"'
    FNR == 1 { depth = 0; head = ""; paren = 0; assigns = 0; opened = 0 }
    {
        n = length($0)
        for (i = 1; i <= n; i++) {
            c = substr($0, i, 1)
            if (depth > 0) {
                if (c == "{")
                    depth++
                else if (c == "}" && --depth == 0 && isfn && FNR - start + 1 > 80)
                    printf "%s:%d: %s: %d lines\n", FILENAME, start, name, FNR - start + 1
            } else if (c == ";" || c == "}") {
                head = ""; paren = 0; assigns = 0
            } else if (c == "{") {
                if (head !~ /extern[ \t]*""[ \t]*$/) {
                    depth = 1
                    start = FNR
                    isfn = !assigns && head ~ /\)[ \t]*$/
                    name = name_of(substr(head, 1, opened - 1), substr(head, opened))
                }
                head = ""; paren = 0; assigns = 0
            } else {
                if (c == "(" && paren++ == 0)
                    opened = length(head) + 1
                else if (c == ")")
                    paren--
                else if (c == "=" && paren == 0)
                    assigns = 1
                head = head c
            }
        }
        if (depth == 0)
            head = head " "
    }
    # The name before the last parenthesis at the outer level (a leading
    # __attribute__((...)) has its own); a Criterion test by its suite and name.
    function name_of(before, args,    m) {
        m = match(before, /[A-Za-z_][A-Za-z0-9_]*[ \t]*$/)
        before = m ? substr(before, m) : before
        sub(/[ \t]+$/, "", before)
        if (before == "Test" || before == "ParameterizedTest") {
            sub(/^\([ \t]*/, "", args)
            m = match(args, /^[^,]*,[^,)]*/)
            return before "(" (m ? substr(args, 1, RLENGTH) : args) ")"
        }
        return before
    }')
if [ -n "$long" ]; then
    echo "check-layout: functions over 80 lines:" >&2
    echo "$long" >&2
    fail=1
fi
# Each source file says its licence (LICENSE) in its header: the SPDX line comes
# after the shebang and the one-line job comment, within the first five lines.
# Data files (JSON, the fuzz corpus) and prose (Markdown) carry none.
unlicensed=$(find src tests scripts examples man debian contrib .ci Makefile toki-shim.pc.in \
        -path tests/fuzz/corpus -prune -o -type f \( -name '*.[ch]' -o -name '*.cpp' -o -name '*.go' \
        -o -name '*.java' -o -name '*.py' -o -name '*.sh' -o -name '*.map' -o -name '*.abi' -o -name '*.yml' -o -name '*.[17]' \
        -o -name '*.service' -o -name '*.conf' -o -name 'Dockerfile*' -o -name 'Makefile' -o -name '*.in' \
        -o -name run -o -name rules -o -name 'toki-shim*.bash' -o -name '_toki-shim' \) -print 2>/dev/null |
    while read -r f; do head -n 5 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"; done)
if [ -n "$unlicensed" ]; then
    echo "check-layout: no 'SPDX-License-Identifier: MIT' in the first five lines of:" >&2
    echo "$unlicensed" >&2
    fail=1
fi

[ $fail -eq 0 ] && echo "check-layout: folders respected, no include cycle, dlsym in real.c only, no function over 80 lines in src/ or tests/, every source file licensed"
exit $fail
