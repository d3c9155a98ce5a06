#!/usr/bin/env bash
# test_layering.sh - the include graph against the declared layering. Reads the
# layering table of docs/architecture.md (between "layering:begin" and
# "layering:end"; one row per module: its public headers and the modules it uses
# directly), checks that the table itself has no circle, then reads every
# `#include "..."` line of src/*/ and include/vidsim/ and fails when a module includes
# a module that is not below it (not reachable through the table's "uses"), a module
# or module header includes the umbrella vidsim/vidsim.h, or a folder under src/ or
# a public header is missing from the table or the umbrella. tools/ may include only public headers
# (vidsim/*.h) and its own files; bench/ only public headers and bench/bench.h.
# Needs only bash, grep, sed and awk; builds nothing.
set -u
SRC=${VS_SRC:-.}
DOC=$SRC/docs/architecture.md
[ -r "$DOC" ] || { echo "FAIL: no $DOC"; exit 1; }
fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

declare -A USES OWNER BELOW
rows=$(sed -n '/<!-- layering:begin/,/<!-- layering:end/p' "$DOC" |
       grep '^|' | grep -v '^| *module *|' | grep -v '^| *-')
[ -n "$rows" ] || { echo "FAIL: no layering table in $DOC"; exit 1; }
while IFS='|' read -r _ mod hdrs deps _; do
    mod=$(echo $mod)
    [ -n "$mod" ] || continue
    USES[$mod]=$(echo $deps | tr ',' ' ')
    for h in $(echo "$hdrs" | tr ',' ' '); do
        [ "$h" = "-" ] || OWNER[$h]=$mod
    done
done <<<"$rows"

# below(m): every module reachable from m through USES (the modules m may include)
visiting=""
below() {
    local m=$1 acc="" d
    [ -n "${BELOW[$m]+x}" ] && return 0
    case " $visiting " in *" $m "*) bad "layering table: circle through $m ($visiting $m)"; BELOW[$m]=""; return 0;; esac
    visiting="$visiting $m"
    for d in ${USES[$m]}; do
        [ -n "${USES[$d]+x}" ] || { bad "layering table: $m uses $d, which has no row"; continue; }
        below "$d"
        acc="$acc $d ${BELOW[$d]}"
    done
    visiting=${visiting% $m}
    BELOW[$m]=" $(echo $acc | tr ' ' '\n' | sort -u | tr '\n' ' ')"
}
for m in "${!USES[@]}"; do below "$m"; done
for m in "${!USES[@]}"; do
    case " ${BELOW[$m]} " in *" $m "*) bad "layering table: $m reaches itself";; esac
done

# which module an include names, seen from a file of module self in folder dir
target_of() {
    local inc=$1 self=$2
    case $inc in
    vidsim/vidsim.h) echo "UMBRELLA";;
    vidsim/*) echo "${OWNER[${inc#vidsim/}]:-UNKNOWN:$inc}";;
    */*) echo "${inc%%/*}";;
    *) echo "$self";; # a file of the same folder
    esac
}
allowed() { # allowed FROM TO
    [ "$1" = "$2" ] && return 0
    case " ${BELOW[$1]} " in *" $2 "*) return 0;; esac
    return 1
}
n_checked=0
check_file() { # check_file FILE MODULE
    local f=$1 self=$2 inc to
    while read -r inc; do
        n_checked=$((n_checked + 1))
        to=$(target_of "$inc" "$self")
        case $to in
        UMBRELLA) bad "$f includes the umbrella vidsim/vidsim.h (include vidsim/base.h and the module headers it needs)";;
        UNKNOWN:*) bad "$f includes ${to#UNKNOWN:}, a public header in no row of the layering table";;
        *)
            if [ -z "${USES[$to]+x}" ]; then bad "$f includes $inc: module '$to' has no row in the layering table"
            elif ! allowed "$self" "$to"; then bad "$f ($self) includes $inc ($to), which is not below $self"
            fi;;
        esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
}

for d in "$SRC"/src/*/; do
    m=$(basename "$d")
    [ -n "${USES[$m]+x}" ] || { bad "src/$m/ has no row in the layering table of docs/architecture.md"; continue; }
    for f in "$d"*.c "$d"*.h; do [ -e "$f" ] && check_file "$f" "$m"; done
done
for f in "$SRC"/include/vidsim/*.h; do
    h=$(basename "$f")
    [ "$h" = vidsim.h ] && continue
    m=${OWNER[$h]:-}
    [ -n "$m" ] || { bad "include/vidsim/$h is in no row of the layering table"; continue; }
    check_file "$f" "$m"
done
# the umbrella includes only public headers, and every one of them
umbrella=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$SRC/include/vidsim/vidsim.h")
for inc in $umbrella; do
    case $inc in vidsim/*) ;; *) bad "include/vidsim/vidsim.h includes $inc (only public headers)";; esac
done
for f in "$SRC"/include/vidsim/*.h; do
    h=$(basename "$f")
    [ "$h" = vidsim.h ] && continue
    case " $(echo $umbrella) " in *" vidsim/$h "*) ;; *) bad "the umbrella include/vidsim/vidsim.h does not include vidsim/$h";; esac
done
# tools/ and bench/: public headers only (plus their own files)
for f in "$SRC"/tools/*/*.c "$SRC"/tools/*/*.h "$SRC"/bench/*.c; do
    [ -e "$f" ] || continue
    while read -r inc; do
        case $inc in
        vidsim/*) ;;
        */*) bad "$f includes $inc (tools/ and bench/ see only include/vidsim/ and their own files)";;
        *) [ -e "$(dirname "$f")/$inc" ] || bad "$f includes $inc, not a file of its folder";;
        esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

if [ $fail -gt 0 ]; then
    echo "layering: $fail violation(s) among $n_checked includes (table: docs/architecture.md)"
    exit 1
fi
echo "layering: $n_checked includes of ${#USES[@]} modules follow docs/architecture.md"
exit 0
