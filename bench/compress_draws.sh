#!/usr/bin/env bash
# compress_draws.sh SRCDIR WORKDIR CODEC - compressed fine features on the dev draws
# (docs/compression.md): for every seed in VS_BENCH_SEEDS (default "1 2 3 4 5") copy
# SRCDIR/seedN/index (a draw built by bench/copydetect_draws.sh; SRCDIR is read only)
# into WORKDIR/seedN/index, link its dev/ and qf/, run `vidsim index compress --codec
# CODEC` on the copy, then run bench/copydetect_draws.sh WORKDIR visil_f on the copies.
# CODEC "none" leaves the copies uncompressed: the baseline, to compare in the same run.
#
# Output: CSV on stdout, header codec,seed,uap,map,r1,kb_per_min: one row per seed, then
# seed=mean (kb_per_min: bytes of the feature files on disk / 1024 / minutes of video,
# minutes from the catalogue). Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: $0 SRCDIR WORKDIR CODEC" >&2; exit 2; }
SRC=$1 W=$2 CODEC=$3
V=${VS_BIN:-build/vidsim}
SEEDS=${VS_BENCH_SEEDS:-1 2 3 4 5}
declare -A kb
for s in $SEEDS; do
  d=$W/seed$s
  [ -f "$SRC/seed$s/ready" ] || { echo "$0: $SRC/seed$s is not a built draw" >&2; exit 2; }
  rm -rf "$d" && mkdir -p "$d"
  ln -s "$(cd "$SRC/seed$s" && pwd)/dev" "$(cd "$SRC/seed$s" && pwd)/qf" "$d/"
  cp -r "$SRC/seed$s/index" "$d/index"
  rm -f "$d/index/lock"
  touch "$d/ready"
  if [ "$CODEC" != none ]; then
    echo "compressing draw $s with $CODEC" >&2
    $V index compress --index "$d/index" --codec "$CODEC" > "$d/compress.log"
  fi
  bytes=$(find "$d/index/features" -name '*.vsf' -printf '%s\n' | awk '{s+=$1} END{print s+0}')
  mins=$($V index ls --index "$d/index" --format csv |
         awk -F, 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $c["status"]=="ok"{m+=$c["duration"]/60} END{print m}')
  kb[$s]=$(awk -v b="$bytes" -v m="$mins" 'BEGIN{printf "%.1f", (m > 0 ? b/1024/m : 0)}')
done
echo "codec,seed,uap,map,r1,kb_per_min"
bash bench/copydetect_draws.sh "$W" visil_f | awk -F, -v codec="$CODEC" -v kbs="$(for s in $SEEDS; do printf '%s=%s ' "$s" "${kb[$s]}"; done)" '
  BEGIN{n=split(kbs,a," "); for(i=1;i<=n;i++){split(a[i],p,"="); k[p[1]]=p[2]; sum+=p[2]; cnt++}}
  NR>1{printf "%s,%s,%s,%s,%s,%s\n", codec, $2, $3, $4, $5, ($2=="mean" ? sprintf("%.1f", sum/cnt) : k[$2])}'
