#!/usr/bin/env bash
# mpi_scaling.sh - scaling efficiency of vidsim over MPI ranks (docs/mpi.md, docs/scale.md
# "Many machines: MPI") on one machine: extraction (`index add` of one dev draw's
# references and queries, one video at a time per rank, 1 backbone thread) and all-pairs
# dedup of the resulting index (1 thread per rank), and a search of every query against
# the references, at np = 1 (one process, no MPI) and np = 2 (mpirun). Efficiency =
# T(1) / (np * T(np)); on a machine shared with other work the figures are noisy (the
# script also prints the load average). Checks on the way that the np = 2 index has the
# rows of the np = 1 one and that dedup and search outputs are byte-identical.
#
# usage: VS_BIN=build/vidsim bash bench/mpi_scaling.sh WORKDIR [DRAW_DIR]
#   DRAW_DIR: a dev draw with dev/refs and dev/queries (default /tmp/draws/seed1)
#   env NP (default 2), VIDSIM_MODELS (default ./models)
# Output: one CSV row per measurement on stdout:
#   task,np,videos,seconds,speedup,efficiency
set -euo pipefail
W=${1:?usage: bench/mpi_scaling.sh WORKDIR [DRAW_DIR]}
DRAW=${2:-/tmp/draws/seed1}
BIN=${VS_BIN:-build/vidsim}
NP=${NP:-2}
export VIDSIM_MODELS=${VIDSIM_MODELS:-$PWD/models}
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
command -v mpirun >/dev/null || { echo "no mpirun (Debian openmpi-bin)" >&2; exit 1; }
"$BIN" --help | grep -q "^MPI: yes" || { echo "$BIN was built without MPI" >&2; exit 1; }
[ -d "$DRAW/dev/refs" ] && [ -d "$DRAW/dev/queries" ] || { echo "no $DRAW/dev/refs or dev/queries" >&2; exit 1; }
MPI() { mpirun --allow-run-as-root --oversubscribe -x VIDSIM_MODELS -np "$NP" "$@"; }
now() { date +%s.%N; }
mkdir -p "$W"
rm -rf "$W/i1" "$W/i$NP"
nv=$(find "$DRAW/dev/refs" "$DRAW/dev/queries" -type f | wc -l)
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $nv videos from $DRAW" >&2
echo "task,np,videos,seconds,speedup,efficiency"
row() { awk -v t="$1" -v n="$2" -v v="$3" -v a="$4" -v b="$5" 'BEGIN{printf "%s,1,%d,%.2f,1.00,1.00\n%s,%d,%d,%.2f,%.2f,%.2f\n", t, v, a, t, n, v, b, a/b, a/(n*b)}'; }
# the add's own time: "N frames in S s" (extraction and commits; not the background pass)
add_s() { sed -n 's/.* frames in \([0-9.]*\) s$/\1/p' "$1" | tail -1; }

"$BIN" index add --index "$W/i1" "$DRAW/dev/refs" "$DRAW/dev/queries" -j 1 --threads 1 2>"$W/add1.txt" || true
MPI "$BIN" index add --index "$W/i$NP" "$DRAW/dev/refs" "$DRAW/dev/queries" --threads 1 2>"$W/add$NP.txt" || true
row extract "$NP" "$nv" "$(add_s "$W/add1.txt")" "$(add_s "$W/add$NP.txt")"
cmp -s <("$BIN" index ls --index "$W/i1" | cut -d, -f1-4) <("$BIN" index ls --index "$W/i$NP" | cut -d, -f1-4) ||
    echo "# WARNING: the np=$NP index's rows differ from np=1's" >&2

n=$("$BIN" index ls --index "$W/i1" | grep -c ',ok,')
t0=$(now); "$BIN" dedup --index "$W/i1" -j 1 --threshold -1 >"$W/dedup1.csv"; t1=$(now)
MPI "$BIN" dedup --index "$W/i1" -j 1 --threshold -1 >"$W/dedup$NP.csv"; t2=$(now)
row dedup "$NP" "$n" "$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')" "$(awk -v a=$t1 -v b=$t2 'BEGIN{print b-a}')"
cmp -s "$W/dedup1.csv" "$W/dedup$NP.csv" || echo "# WARNING: dedup outputs differ" >&2

# search: every query (indexed in i1) against everything else in i1
qs=$(find "$DRAW/dev/queries" -type f | sort)
t0=$(now); "$BIN" search --index "$W/i1" $qs -j 1 >"$W/search1.csv"; t1=$(now)
MPI "$BIN" search --index "$W/i1" $qs -j 1 >"$W/search$NP.csv"; t2=$(now)
row search "$NP" "$(echo "$qs" | wc -l)" "$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')" "$(awk -v a=$t1 -v b=$t2 'BEGIN{print b-a}')"
cmp -s "$W/search1.csv" "$W/search$NP.csv" || echo "# WARNING: search outputs differ" >&2
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
