#!/usr/bin/env bash
# threading_golden.sh BASE NEW WORKDIR - proof that moving the CLI's worker pools into
# the library (issue 15, docs/threading.md) changed no output: runs two vidsim
# binaries (BASE: built before the change, NEW: after) on the same inputs and
# compares byte for byte. Prints "same" or "DIFFERS" per case; exits 1 on any
# difference. The inputs include one file that is not a video, so the failure
# messages and exit codes are compared too. Cases: `extract` of a few clips (every .vsf with cmp), `extract --raw`
# then `pca --features` (-j 1: the accumulator adds files in the order they finish,
# so only one worker gives a fixed order), `index add` of the same clips into two
# fresh indexes (`index ls --format csv` without the ids, timestamps and random
# feature-file names, sorted by path; then every feature file with cmp), and
# `search --top 0` of the dev draw's query features with -j 1 and -j 2.
# Environment: VIDEOS (default /work/shared/data/videos), DRAW (default
# /tmp/draws/seed1; read only), VIDSIM_MODELS (default: models/ next to this script).
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 BASE NEW WORKDIR" >&2
    exit 2
fi
BASE=$1 NEW=$2 W=$3
VIDEOS=${VIDEOS:-/work/shared/data/videos}
DRAW=${DRAW:-/tmp/draws/seed1}
export VIDSIM_MODELS=${VIDSIM_MODELS:-$(cd "$(dirname "$0")/.." && pwd)/models}
CLIPS="gh__AugLy__small_input_1.mp4 deb__lebiniou-data__lebiniou-2021-06-10_12-32-58.mp4
       gh__ProPainter__test-sample0.mp4 gh__DeepLabCut__vid.avi"
rm -rf "$W" && mkdir -p "$W/base" "$W/new" || exit 2
inputs=()
for c in $CLIPS; do inputs+=("$VIDEOS/$c"); done
inputs+=("$VIDEOS/SOURCES.md") # not a video: the failure paths, their messages and exit codes
fail=0
report() { # report CASE STATUS(0 = same)
    if [ "$2" = 0 ]; then echo "same     $1"; else echo "DIFFERS  $1"; fail=1; fi
}
cmp_dirs() { # every file of dir A equal to the same name in B, and the same names
    local a=$1 b=$2 rc=0
    [ "$(cd "$a" && ls)" = "$(cd "$b" && ls)" ] || rc=1
    for f in "$a"/*; do cmp -s "$f" "$b/$(basename "$f")" || rc=1; done
    return $rc
}

for v in base new; do
    bin=$BASE; [ $v = new ] && bin=$NEW
    "$bin" extract -j 2 -o "$W/$v/x" "${inputs[@]}" >"$W/$v/extract.out" 2>"$W/$v/extract.err"
    echo $? >"$W/$v/extract.rc"
    "$bin" extract -j 2 --raw -o "$W/$v/raw" "${inputs[@]}" >/dev/null 2>&1
    "$bin" pca -j 1 --dim 64 --features "$W/$v/raw" -o "$W/$v/pca.vstf" >"$W/$v/pca.out" 2>"$W/$v/pca.err"
    echo $? >"$W/$v/pca.rc"
    "$bin" pca -j 1 --dim 16 --videos "${inputs[0]}" "${inputs[@]: -1}" -o "$W/$v/pcav.vstf" >/dev/null 2>"$W/$v/pcav.err"
    echo $? >>"$W/$v/pcav.err"
    "$bin" index add --index "$W/$v/idx" -j 2 "${inputs[@]}" >"$W/$v/add.out" 2>"$W/$v/add.err"
    echo $? >"$W/$v/add.rc"
    "$bin" index ls --index "$W/$v/idx" --format csv 2>/dev/null |
        awk -F, 'NR > 1 { print $2","$3","$4","$5","$6","$7","$8","$10","$12","$13"|"$11 }' | sort >"$W/$v/ls.csv"
    for j in 1 2; do
        "$bin" search --index "$DRAW/index" --top 0 -j $j "$DRAW"/qf/*.vsf >"$W/$v/search_j$j.csv" 2>"$W/$v/search_j$j.err"
        echo $? >"$W/$v/search_j$j.rc"
    done
done

cmp_dirs "$W/base/x" "$W/new/x" && cmp -s "$W/base/extract.rc" "$W/new/extract.rc"
report "extract: $(ls "$W/base/x" | wc -l) feature files, exit code" $?
# the summary line without its timing
sed 's/ in [0-9.]* s$//' "$W/base/extract.err" >"$W/base/extract.msg"
sed 's/ in [0-9.]* s$//' "$W/new/extract.err" >"$W/new/extract.msg"
cmp -s "$W/base/extract.msg" "$W/new/extract.msg"
report "extract: messages (timing left out)" $?
sed "s#$W/base#W#g" "$W/base/pca.err" >"$W/base/pca.msg"
sed "s#$W/new#W#g" "$W/new/pca.err" >"$W/new/pca.msg"
cmp -s "$W/base/pca.vstf" "$W/new/pca.vstf" && cmp -s "$W/base/pca.msg" "$W/new/pca.msg" &&
    cmp -s "$W/base/pca.rc" "$W/new/pca.rc"
report "pca --features -j 1: whitening file, messages, exit code" $?
sed "s#$W/base#W#g" "$W/base/pcav.err" >"$W/base/pcav.msg"
sed "s#$W/new#W#g" "$W/new/pcav.err" >"$W/new/pcav.msg"
cmp -s "$W/base/pcav.vstf" "$W/new/pcav.vstf" && cmp -s "$W/base/pcav.msg" "$W/new/pcav.msg"
report "pca --videos -j 1 (one not a video): whitening file, messages, exit code" $?
cut -d'|' -f1 "$W/base/ls.csv" >"$W/base/ls.rows"
cut -d'|' -f1 "$W/new/ls.csv" >"$W/new/ls.rows"
cmp -s "$W/base/ls.rows" "$W/new/ls.rows" && cmp -s "$W/base/add.rc" "$W/new/add.rc"
report "index add -j 2: index ls rows ($(wc -l <"$W/base/ls.rows") videos), exit code" $?
rc=0
paste -d'|' "$W/base/ls.csv" "$W/new/ls.csv" >"$W/ls.pairs"
while IFS='|' read -r _ fb _ fn; do
    [ -n "$fb" ] && [ -n "$fn" ] && { cmp -s "$W/base/idx/$fb" "$W/new/idx/$fn" || rc=1; }
done <"$W/ls.pairs"
report "index add -j 2: feature files" $rc
sed 's/ in [0-9.]* s$//' "$W/base/add.err" | sed "s#$W/base#W#g" >"$W/base/add.msg"
sed 's/ in [0-9.]* s$//' "$W/new/add.err" | sed "s#$W/new#W#g" >"$W/new/add.msg"
cmp -s "$W/base/add.msg" "$W/new/add.msg"
report "index add -j 2: messages (timing left out)" $?
for j in 1 2; do
    cmp -s "$W/base/search_j$j.csv" "$W/new/search_j$j.csv" && cmp -s "$W/base/search_j$j.rc" "$W/new/search_j$j.rc" &&
        [ -s "$W/base/search_j$j.csv" ]
    report "search --top 0 -j $j: $(ls "$DRAW"/qf/*.vsf | wc -l) queries, $(wc -l <"$W/base/search_j$j.csv") rows, exit code" $?
done
exit $fail
