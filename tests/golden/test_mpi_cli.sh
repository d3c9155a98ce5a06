#!/usr/bin/env bash
# test_mpi_cli.sh - vidsim over MPI ranks (docs/mpi.md) with `mpirun -np 2 --oversubscribe`
# on this machine: `index add` under 2 ranks gives an index that verifies, with the rows
# of a one-process add (same ids, names, frames) and the same search output; `search`
# (normalised, --norm off, --segments, --explain, --top 0, jsonl, a video query) and
# `dedup` print byte-identical output under 1 and 2 ranks (3 for the defaults), also with
# background levels computed in memory (an index added with --no-background); a rank killed (kill -9)
# mid-add loses nothing committed and a rerun completes the set; a damaged feature file
# is named and makes the exit status 1 as in one process; a rank whose shard is missing
# (its index folder absent) makes search refuse, naming the shard, unless --allow-partial,
# which says which shard is missing; commands that do not split their work refuse to run
# over ranks. A vidsim built without MPI refuses to run under mpirun (the whole test
# then checks only that). Synthetic videos (ffmpeg), MobileNet weights.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/mpi_cli
MODELS=${VS_MODELS:-models}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: no mpirun (Debian openmpi-bin)"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
# OpenMPI in containers: root, more ranks than cores, no cross-memory attach
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
# under ASan: OpenMPI's own allocations (its plug-ins, unloaded at MPI_Finalize) are not
# freed, so the ranks run without LeakSanitizer (ASan and UBSan stay on)
MPIENV=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
MPI() { local np=$1; shift; "${MPIENV[@]}" timeout 120 mpirun --allow-run-as-root --oversubscribe -x VIDSIM_MODELS -x ASAN_OPTIONS -np "$np" "$@"; }
rm -rf "$TMP"; mkdir -p "$TMP/in" "$TMP/q" "$TMP/long"

if "$BIN" --help | grep -q "^MPI: no"; then
    # built without MPI: N ranks must not run N copies writing the same output
    MPI 2 "$BIN" dedup --index "$TMP/none" >"$TMP/o.txt" 2>"$TMP/e.txt"
    rc=$?
    [ $rc -ne 0 ] && ok || bad "no-MPI vidsim under mpirun -np 2 exited 0"
    [ ! -s "$TMP/o.txt" ] && ok || bad "no-MPI vidsim under mpirun printed output: $(head -3 "$TMP/o.txt")"
    grep -q "built without MPI support" "$TMP/e.txt" && ok || bad "no refusal message: $(head -3 "$TMP/e.txt")"
    MPI 1 "$BIN" --help >/dev/null 2>&1 && ok || bad "no-MPI vidsim under mpirun -np 1 should run"
    echo "test_mpi_cli (built without MPI): $pass passed, $fail failed"
    [ $fail -eq 0 ]
    exit
fi
"$BIN" --help | grep -q "^MPI: yes" || { echo "SKIP: vidsim --help says nothing about MPI"; exit 77; }

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
i=0
seeded() { case $1 in life) echo "life=seed=11:$2" ;; cellauto) echo "cellauto=seed=5:$2" ;; *) echo "$1=$2" ;; esac; } # the same clips every run
for src in testsrc2 mandelbrot life rgbtestsrc smptebars cellauto; do
    ff -f lavfi -i "$(seeded "$src" size=320x240:rate=25)" -t 5 -pix_fmt yuv420p "$TMP/in/v$i.mp4"
    i=$((i + 1))
done
ff -i "$TMP/in/v1.mp4" -vf scale=160:120 -c:v libx264 -crf 30 "$TMP/in/v1_small.mp4"
cp "$TMP/in/v0.mp4" "$TMP/in/v0_dup.mp4"
echo "not a video" > "$TMP/in/bad.mp4"
ff -i "$TMP/in/v2.mp4" -vf "crop=280:200,eq=brightness=0.1" -c:v libx264 -crf 35 "$TMP/q/v2_copy.mkv"

# ---- index add: one process, then 2 ranks (bad.mp4 fails in both: exit 1)
"$BIN" index add --index "$TMP/i1" "$TMP/in" --backbone mobilenet -j 1 >/dev/null 2>"$TMP/add1.txt"
[ $? -eq 1 ] && ok || bad "one-process add: $(cat "$TMP/add1.txt")"
MPI 2 "$BIN" index add --index "$TMP/i2" "$TMP/in" --backbone mobilenet >/dev/null 2>"$TMP/add2.txt"
[ $? -eq 1 ] && ok || bad "2-rank add should exit 1 (bad.mp4): $(cat "$TMP/add2.txt")"
grep -q "8 added, 0 replaced, 0 unchanged, 1 failed of 9 videos" "$TMP/add2.txt" && ok || bad "2-rank add summary: $(cat "$TMP/add2.txt")"
grep -q "bad.mp4" "$TMP/add2.txt" && ok || bad "2-rank add does not name bad.mp4"
"$BIN" index verify --index "$TMP/i2" >"$TMP/v.txt" 2>&1 && ok || bad "2-rank index does not verify: $(cat "$TMP/v.txt")"
"$BIN" index ls --index "$TMP/i1" | cut -d, -f1-4 >"$TMP/ls1.csv"
"$BIN" index ls --index "$TMP/i2" | cut -d, -f1-4 >"$TMP/ls2.csv"
cmp -s "$TMP/ls1.csv" "$TMP/ls2.csv" && ok || bad "rows differ: $(diff "$TMP/ls1.csv" "$TMP/ls2.csv" | head -5)"
"$BIN" search --index "$TMP/i1" v0 v1 v2 v3 --top 0 >"$TMP/s1.csv" 2>/dev/null
"$BIN" search --index "$TMP/i2" v0 v1 v2 v3 --top 0 >"$TMP/s2.csv" 2>/dev/null
# the two indexes hold byte-identical features and background levels (computed with -j 1
# and by 2 ranks with 2 threads: a level is the same float for any thread count and any
# split, tests/unit/test_norm.c), so the searches are byte-identical
[ "$(wc -l <"$TMP/s1.csv")" -gt 20 ] && cmp -s "$TMP/s1.csv" "$TMP/s2.csv" && ok ||
  bad "search on the 2-rank index differs: $(diff "$TMP/s1.csv" "$TMP/s2.csv" | head -4)"
MPI 2 "$BIN" index add --index "$TMP/i2" "$TMP/in" --backbone mobilenet >/dev/null 2>"$TMP/add3.txt"
grep -q "0 added, 0 replaced, 8 unchanged, 1 failed" "$TMP/add3.txt" && ok || bad "2-rank re-add: $(cat "$TMP/add3.txt")"

# ---- search and dedup: byte-identical under 1 and 2 ranks (3 for one set of options each)
Q="v0 v1_small v4 $TMP/q/v2_copy.mkv"
n=0
for opts in "" "--norm off" "--segments" "--top 0 --explain" "--format jsonl --segments" "--direction q2r --segments" "--mirror-view off --top 3 --segments"; do
    "$BIN" search --index "$TMP/i1" $Q -j 1 $opts >"$TMP/a.out" 2>"$TMP/a.err"
    r1=$?
    nps=2
    [ -z "$opts" ] && nps="2 3"
    for np in $nps; do
        MPI $np "$BIN" search --index "$TMP/i1" $Q -j 1 $opts >"$TMP/b.out" 2>"$TMP/b.err"
        r2=$?
        [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && cmp -s "$TMP/a.out" "$TMP/b.out" && ok ||
            bad "search [$opts] np=$np: exit $r1/$r2, $(diff "$TMP/a.out" "$TMP/b.out" | head -4) $(head -3 "$TMP/b.err")"
    done
    n=$((n + $(wc -l <"$TMP/a.out")))
done
[ $n -gt 100 ] && ok || bad "too few search rows ($n) to compare"
grep -q "^v2_copy,v2," "$TMP/a.out" || grep -q '"query_id":"v2_copy","ref_id":"v2"' "$TMP/a.out" && ok || bad "v2_copy does not find v2"
for opts in "--threshold -1" "--norm off --threshold 0" "--format jsonl --groups --threshold -0.5"; do
    "$BIN" dedup --index "$TMP/i1" -j 1 $opts >"$TMP/a.out" 2>"$TMP/a.err"
    r1=$?
    nps=2
    [ "$opts" = "--threshold -1" ] && nps="2 3"
    for np in $nps; do
        MPI $np "$BIN" dedup --index "$TMP/i1" -j 1 $opts >"$TMP/b.out" 2>"$TMP/b.err"
        r2=$?
        [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && cmp -s "$TMP/a.out" "$TMP/b.out" && ok ||
            bad "dedup [$opts] np=$np: exit $r1/$r2, $(diff "$TMP/a.out" "$TMP/b.out" | head -4) $(head -3 "$TMP/b.err")"
    done
done
"$BIN" dedup --index "$TMP/i1" --threshold -1 | grep -q "^v0,v0_dup,.*,same_bytes$" && ok || bad "dedup misses v0,v0_dup"

# ---- background levels not stored (computed in memory: members loaded across shards)
"$BIN" index add --index "$TMP/inb" "$TMP/in" --backbone mobilenet --no-background -j 2 >/dev/null 2>&1
"$BIN" search --index "$TMP/inb" v0 v1 v4 --top 0 >"$TMP/a.out" 2>/dev/null
MPI 2 "$BIN" search --index "$TMP/inb" v0 v1 v4 --top 0 >"$TMP/b.out" 2>"$TMP/b.err"
[ "$(wc -l <"$TMP/a.out")" -gt 10 ] && cmp -s "$TMP/a.out" "$TMP/b.out" && ok || bad "search without stored levels differs"
"$BIN" dedup --index "$TMP/inb" --threshold -1 >"$TMP/a.out" 2>/dev/null
MPI 2 "$BIN" dedup --index "$TMP/inb" --threshold -1 >"$TMP/b.out" 2>"$TMP/b.err"
cmp -s "$TMP/a.out" "$TMP/b.out" && ok || bad "dedup without stored levels differs"

# ---- a damaged feature file: named, exit 1 (0 with --allow-partial), same rows as one process
cp -r "$TMP/i1" "$TMP/id"
f=$("$BIN" index ls --index "$TMP/id" | awk -F, '$2=="v3"{print $11}')
head -c 100 "$TMP/id/$f" >"$TMP/id/$f.t" && mv "$TMP/id/$f.t" "$TMP/id/$f"
"$BIN" search --index "$TMP/id" v0 v1 >"$TMP/a.out" 2>/dev/null
MPI 2 "$BIN" search --index "$TMP/id" v0 v1 >"$TMP/b.out" 2>"$TMP/b.err"
[ $? -eq 1 ] && ok || bad "a damaged entry should make the 2-rank search exit 1"
grep -q "skipped .*/in/v3.mp4" "$TMP/b.err" && ok || bad "the damaged entry is not named: $(cat "$TMP/b.err")"
cmp -s "$TMP/a.out" "$TMP/b.out" && ok || bad "rows with a damaged entry differ"
MPI 2 "$BIN" search --index "$TMP/id" v0 v1 --allow-partial >/dev/null 2>&1 && ok || bad "--allow-partial should exit 0"

# ---- a missing shard: rank 1 is given an index folder that does not exist
MPIX() { "${MPIENV[@]}" timeout 120 mpirun --allow-run-as-root --oversubscribe -x VIDSIM_MODELS -x ASAN_OPTIONS "$@"; }
MPIX -np 1 "$BIN" search --index "$TMP/i1" v0 : -np 1 "$BIN" search --index "$TMP/gone" v0 >"$TMP/b.out" 2>"$TMP/b.err"
[ $? -ne 0 ] && ok || bad "a missing shard should fail the search"
[ "$(grep -c , "$TMP/b.out")" = 0 ] && ok || bad "a missing shard gave rows: $(head -3 "$TMP/b.out")"
grep -q "shard 1 of 2 .*gone" "$TMP/b.err" && ok || bad "the missing shard is not named: $(head -3 "$TMP/b.err")"
MPIX -np 1 "$BIN" search --index "$TMP/i1" v0 --allow-partial : -np 1 "$BIN" search --index "$TMP/gone" v0 --allow-partial \
    >"$TMP/b.out" 2>"$TMP/b.err" && ok || bad "--allow-partial with a missing shard should exit 0: $(cat "$TMP/b.err")"
grep -q "missing shard 1 of 2" "$TMP/b.err" && ok || bad "--allow-partial does not say which shard is missing"
[ "$(grep -c '^v0,' "$TMP/b.out")" -ge 1 ] && ok || bad "--allow-partial gave no rows"

# ---- commands that do not split their work refuse
MPI 2 "$BIN" index ls --index "$TMP/i1" >"$TMP/b.out" 2>"$TMP/b.err"
[ $? -eq 2 ] && grep -q "does not run over several MPI ranks" "$TMP/b.err" && ok || bad "index ls under 2 ranks: $(cat "$TMP/b.err")"

# ---- kill -9 of rank 1 mid-add, then a rerun completes the set
for k in 0 1 2 3 4 5; do
    ff -f lavfi -i "testsrc2=size=320x240:rate=25" -t 12 -vf "hue=h=$((k * 40))" -pix_fmt yuv420p "$TMP/long/l$k.mp4"
done
"$BIN" index add --index "$TMP/k1" "$TMP/long" --backbone mobilenet --fps 4 -j 1 >/dev/null 2>&1 && ok || bad "one-process add of the long videos"
MPI 2 "$BIN" index add --index "$TMP/k2" "$TMP/long" --backbone mobilenet --fps 4 >/dev/null 2>"$TMP/kill.err" &
mp=$!
nok=0
for t in $(seq 1 300); do
    nok=$("$BIN" index ls --index "$TMP/k2" 2>/dev/null | grep -c ',ok,')
    [ "${nok:-0}" -ge 2 ] && break
    sleep 0.1
done
desc() { local c; for c in $(pgrep -P "$1"); do echo "$c"; desc "$c"; done; }
killed=0
for p in $(desc $mp); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q '^OMPI_COMM_WORLD_RANK=1$'; then kill -9 "$p"; killed=1; fi
done
wait $mp
rc=$?
[ $killed = 1 ] && [ $rc -ne 0 ] && ok || bad "could not kill rank 1 mid-add (killed=$killed, exit $rc)"
nk=$("$BIN" index ls --index "$TMP/k2" | grep -c ',ok,')
[ "$nk" -ge 2 ] && [ "$nk" -lt 6 ] && ok || bad "after the kill: $nk ok rows (want 2..5: committed kept, the rest missing)"
"$BIN" index verify --index "$TMP/k2" >"$TMP/v.txt" 2>&1 && ok || bad "killed index does not verify: $(cat "$TMP/v.txt")"
MPI 2 "$BIN" index add --index "$TMP/k2" "$TMP/long" --backbone mobilenet --fps 4 >/dev/null 2>"$TMP/rerun.err" && ok ||
    bad "rerun after the kill: $(cat "$TMP/rerun.err")"
grep -q "$((6 - nk)) added, 0 replaced, $nk unchanged, 0 failed of 6 videos" "$TMP/rerun.err" && ok ||
    bad "rerun should add only the missing: $(grep 'videos' "$TMP/rerun.err")"
"$BIN" index verify --index "$TMP/k2" >"$TMP/v.txt" 2>&1 && ok || bad "rerun index does not verify: $(cat "$TMP/v.txt")"
"$BIN" index ls --index "$TMP/k1" | cut -d, -f1-4 >"$TMP/ls1.csv"
"$BIN" index ls --index "$TMP/k2" | cut -d, -f1-4 >"$TMP/ls2.csv"
cmp -s "$TMP/ls1.csv" "$TMP/ls2.csv" && ok || bad "rows after kill+rerun differ: $(diff "$TMP/ls1.csv" "$TMP/ls2.csv" | head -4)"
"$BIN" search --index "$TMP/k1" l0 l3 l5 --top 0 >"$TMP/a.out" 2>/dev/null
"$BIN" search --index "$TMP/k2" l0 l3 l5 --top 0 >"$TMP/b.out" 2>/dev/null
cmp -s "$TMP/a.out" "$TMP/b.out" && ok || bad "search after kill+rerun differs from the one-process index"

echo "test_mpi_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
