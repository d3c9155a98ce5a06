#!/usr/bin/env bash
# test_fault_io_cli.sh - failure injection on the durable writes of `index add` (issue
# 19): with an LD_PRELOAD layer (tests/fault/fault_io.c) the N-th fsync/fdatasync of the
# process fails with EIO, for every N that `index add` of one video reaches (its feature
# file, the features folder, SQLite's WAL and database). Each run must exit non-zero
# with a message naming a file and the reason; the index must verify clean afterwards
# with every video completed before still there; the video being added is either fully
# in or absent; and a rerun without the fault adds it. Also ENOSPC: on a small tmpfs
# (when this user may mount one) `index add` stops with "No space left on device" naming
# the file, keeps every video it had completed, leaves no temporary file, and the copy
# of that index on a roomy disk takes the rest; and `extract -o` onto a full disk fails
# naming the feature file, leaving no partial file and the earlier files intact.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/fault_io
MODELS=${VS_MODELS:-models}
SHIM=$(dirname "$BIN")/tests/libvs_fault_io.so
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -r "$SHIM" ] || { echo "SKIP: $SHIM not built (it is not built under sanitizers)"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
export VIDSIM_MODELS=$MODELS
rm -rf "$TMP"; mkdir -p "$TMP/clips"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
seeded() { case $1 in life) echo "life=seed=11:$2" ;; cellauto) echo "cellauto=seed=5:$2" ;; *) echo "$1=$2" ;; esac; } # the same clips every run
srcs=(testsrc2 mandelbrot smptebars rgbtestsrc life cellauto)
for k in "${!srcs[@]}"; do
  ff -f lavfi -i "$(seeded "${srcs[$k]}" size=192x144:rate=15)" -t 6 -pix_fmt yuv420p "$TMP/clips/c$k.mp4" || { echo "SKIP: ffmpeg clip $k"; exit 77; }
done
ADD=(index add --backbone mobilenet --raw --fps 2)
count_ok() { "$BIN" index ls --index "$1" --format csv 2>/dev/null | awk -F, 'NR > 1 && $3 == "ok"' | wc -l; }

# ---- fsync failures
BASE=$TMP/base
"$BIN" "${ADD[@]}" --index "$BASE" "$TMP/clips/c0.mp4" > /dev/null 2>&1 && ok || bad "base add"
cp -a "$BASE" "$TMP/count"
VS_FAULT_LOG=$TMP/fsyncs.log LD_PRELOAD=$SHIM "$BIN" "${ADD[@]}" --index "$TMP/count" "$TMP/clips/c1.mp4" > /dev/null 2>&1 && ok || bad "counting run"
M=$(grep -c '^fsync ' "$TMP/fsyncs.log" 2>/dev/null || echo 0)
[ "$M" -ge 3 ] && ok || bad "expected at least 3 fsyncs in one index add (feature file, folder, catalogue), saw $M"
echo "index add of one video: $M fsync/fdatasync calls" >&2
absorbed=""
for N in $(seq 1 "$M"); do
  I=$TMP/f$N; rm -rf "$I"; cp -a "$BASE" "$I"
  VS_FAULT_FSYNC=$N LD_PRELOAD=$SHIM "$BIN" "${ADD[@]}" --index "$I" "$TMP/clips/c1.mp4" > "$I.out" 2> "$I.err"; rc=$?
  what=$(sed -n "${N}p" "$TMP/fsyncs.log" | cut -d' ' -f4-)
  if [ $rc -ne 0 ]; then
    ok
    grep -Eq "Input/output error|I/O error" "$I.err" && grep -q "$I/" "$I.err" && ok ||
      bad "fsync $N ($what): the message names no file or reason: $(cat "$I.err")"
  else
    # SQLite itself ignores a failed sync of the index folder after it creates the WAL,
    # and a failed checkpoint at close (the commit was already durable in the WAL):
    # exit 0 is then right only if the video is fully in
    [ "$(count_ok "$I")" -eq 2 ] && ok || bad "fsync $N ($what) failed, index add exited 0 and the video is not in: $(cat "$I.err")"
    absorbed="$absorbed $N"
  fi
  "$BIN" index verify --index "$I" > "$I.verify" 2>&1 && ok || bad "fsync $N ($what): verify after the failure: $(cat "$I.verify")"
  n=$(count_ok "$I")
  [ "$n" -eq 1 ] || [ "$n" -eq 2 ] && ok || bad "fsync $N ($what): $n ok rows (expected c0, and c1 either in or absent)"
  "$BIN" index ls --index "$I" --format csv 2>/dev/null | grep -q ",c0,ok," && ok || bad "fsync $N ($what): c0 lost"
  ls "$I/features" | grep -q '\.tmp\.' && bad "fsync $N ($what): a temporary file was left: $(ls "$I/features")" || ok
  "$BIN" "${ADD[@]}" --index "$I" "$TMP/clips/c1.mp4" > /dev/null 2>&1 && ok || bad "fsync $N ($what): rerun"
  [ "$(count_ok "$I")" -eq 2 ] && ok || bad "fsync $N ($what): rerun did not complete the set"
  "$BIN" index verify --index "$I" > /dev/null 2>&1 && ok || bad "fsync $N ($what): verify after the rerun"
done

[ -n "$absorbed" ] && echo "note: fsync failures absorbed with the data durable (SQLite's folder sync, checkpoint):$absorbed" >&2

# ---- ENOSPC on a small tmpfs
MNT=$TMP/mnt; mkdir -p "$MNT"
if mount -t tmpfs -o size=600k tmpfs "$MNT" 2>/dev/null; then
  trap 'umount "$MNT" 2>/dev/null' EXIT
  "$BIN" "${ADD[@]}" -j 1 -v --index "$MNT/idx" "$TMP/clips" > "$TMP/enospc.out" 2> "$TMP/enospc.err"; rc=$?
  [ $rc -ne 0 ] && ok || bad "add onto a full tmpfs exited 0 ($(cat "$TMP/enospc.err"))"
  grep -Eq "No space left on device|disk is full" "$TMP/enospc.err" && grep -q "$MNT" "$TMP/enospc.err" && ok ||
    bad "ENOSPC message names no file or reason: $(cat "$TMP/enospc.err")"
  added=$(grep -c "^added " "$TMP/enospc.out")
  [ "$added" -ge 1 ] && ok || bad "nothing was added before the disk filled (size the tmpfs up): $(cat "$TMP/enospc.err")"
  "$BIN" index verify --index "$MNT/idx" > "$TMP/enospc.verify" 2>&1 && ok || bad "verify on the full disk: $(cat "$TMP/enospc.verify")"
  [ "$(count_ok "$MNT/idx")" -eq "$added" ] && ok || bad "ok rows $(count_ok "$MNT/idx") != videos reported added $added"
  ls "$MNT/idx/features" | grep -q '\.tmp\.' && bad "temporary file left on the full disk" || ok
  cp -a "$MNT/idx" "$TMP/roomy"
  umount "$MNT"
  # feature files: `extract -o` onto a disk too small for them fails naming the file and
  # the reason, leaves no partial or temporary file, and keeps the file extracted before
  mount -t tmpfs -o size=400k tmpfs "$MNT"
  "$BIN" extract --backbone mobilenet --raw --fps 2 -j 1 "$TMP/clips/c0.mp4" -o "$MNT/f" > /dev/null 2>&1
  cp "$MNT/f/c0.mp4.vsf" "$TMP/c0_first.vsf" 2>/dev/null
  "$BIN" extract --backbone mobilenet --raw --fps 2 -j 1 "$TMP/clips" -o "$MNT/f" > /dev/null 2> "$TMP/exfull.err"; rc=$?
  [ $rc -ne 0 ] && grep -q "No space left on device" "$TMP/exfull.err" && grep -q "$MNT/f/.*\.vsf" "$TMP/exfull.err" && ok ||
    bad "extract onto a full disk: exit $rc: $(cat "$TMP/exfull.err")"
  ls "$MNT/f" | grep -q '\.tmp\.' && bad "extract left a temporary file: $(ls "$MNT/f")" || ok
  for v in "$MNT"/f/*.vsf; do
    "$BIN" compare "$v" "$v" > /dev/null 2>&1 || bad "extract left an unreadable feature file: $v"
  done
  cmp -s "$MNT/f/c0.mp4.vsf" "$TMP/c0_first.vsf" && ok || bad "the feature file extracted before changed"
  umount "$MNT"; trap - EXIT
  "$BIN" "${ADD[@]}" --index "$TMP/roomy" "$TMP/clips" > /dev/null 2>&1 && ok || bad "rerun on a roomy disk"
  [ "$(count_ok "$TMP/roomy")" -eq ${#srcs[@]} ] && ok || bad "rerun did not complete the set: $(count_ok "$TMP/roomy") of ${#srcs[@]}"
  "$BIN" index verify --index "$TMP/roomy" > /dev/null 2>&1 && ok || bad "verify after the rerun"
else
  echo "note: cannot mount a tmpfs here (not root?): the ENOSPC part was skipped" >&2
fi
echo "fault_io: $pass passed, $fail failed"
[ $fail -eq 0 ]
