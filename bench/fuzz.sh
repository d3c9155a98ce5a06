#!/usr/bin/env bash
# fuzz.sh - run the libFuzzer targets of tests/fuzz (docs/reliability.md).
#
#   bash bench/fuzz.sh [SECONDS] [TARGET...]     # default 1800 s each, every target
#
# Builds the library sources and each target with clang -fsanitize=fuzzer,address,
# undefined (Debian 12: packages clang and libclang-rt-14-dev; installed with apt-get
# if missing and we are root), then runs each target for SECONDS on a copy of its
# seed corpus (tests/fuzz/corpus/<target>, never modified); the http target also
# compiles the server's files of tools/cli and links libmicrohttpd (libmicrohttpd-dev).
# Prints executions, coverage (libFuzzer's cov: and ft:), corpus size and findings
# per target.
# Everything goes under $FUZZ_DIR (default /tmp/vs-fuzz): obj/ and bin/ (the build),
# corpus/<target> (grown corpus), crashes/<target>/ (crash-*, leak-*, timeout-*,
# oom-* inputs), logs/<target>.log. A finding stops that target (libFuzzer's
# default); replay it with tests/fuzz_<target>_replay FILE in a normal build, fix,
# and copy the file into tests/fuzz/corpus/<target>/ so CTest keeps checking it.
# Environment: FUZZ_DIR, JOBS (compile jobs, default nproc), PARALLEL (targets run
# at once, default 1), FUZZ_ARGS (extra libFuzzer flags). Never run as a test.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
SECONDS_EACH=${1:-1800}
shift $(( $# > 0 ? 1 : 0 ))
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(tensorfile featfile models eval checkpoints decode index http)
W=${FUZZ_DIR:-/tmp/vs-fuzz}
JOBS=${JOBS:-$(nproc)}
PARALLEL=${PARALLEL:-1}

# ---- toolchain: clang with libFuzzer's runtime
CC=${CC_FUZZ:-clang}
have_fuzzer() {
  command -v "$CC" >/dev/null 2>&1 &&
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
    "$CC" -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1
}
if ! have_fuzzer; then
  if [ "$(id -u)" = 0 ]; then
    ver=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
    apt-get install -y clang "libclang-rt-${ver:-14}-dev" >/dev/null 2>&1 ||
      apt-get install -y clang >/dev/null
  fi
  have_fuzzer || { echo "fuzz.sh: $CC cannot link -fsanitize=fuzzer (install clang and libclang-rt-14-dev)" >&2; exit 1; }
fi

# ---- build: instrumented library objects, then one binary per target
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CBLAS=$(dirname "$(ls /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h /usr/include/openblas/cblas.h 2>/dev/null | head -1)")
PKGS="libavformat libavcodec libswscale libavutil libpng sqlite3 freetype2"
CFLAGS="-std=c11 -O1 -g -D_GNU_SOURCE $SAN -fsanitize=fuzzer-no-link -I$SRC/include -I$SRC/src -I$CBLAS $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -llapacke -lopenblas -lpthread -lm"
mkdir -p "$W/obj" "$W/bin" "$W/logs"
echo "fuzz.sh: building in $W (clang: $($CC --version | head -1))"
find src -name '*.c' | sort | while read -r f; do
  o="$W/obj/$(echo "${f%.c}" | tr / _).o"
  [ "$o" -nt "$f" ] && ! find src -name '*.h' -newer "$o" | grep -q . || echo "$f $o"
done | xargs -r -P "$JOBS" -n 2 sh -c "$CC $CFLAGS -c \"\$0\" -o \"\$1\" || exit 255"
rm -f "$W/libvidsim_fuzz.a"
ar rcs "$W/libvidsim_fuzz.a" "$W"/obj/*.o
for t in "${TARGETS[@]}"; do
  # http: the server's request handling (tools/cli) on libmicrohttpd (libmicrohttpd-dev)
  extra=()
  [ "$t" = http ] && extra=(-DVS_HAVE_MHD=1 -Itools/cli tools/cli/serve_http.c tools/cli/serve_parse.c tools/cli/util.c
                            $(pkg-config --libs libmicrohttpd))
  $CC $CFLAGS -fsanitize=fuzzer "tests/fuzz/fuzz_$t.c" "${extra[@]}" "$W/libvidsim_fuzz.a" $LIBS -o "$W/bin/fuzz_$t"
done

# ---- run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=suppressions=$SRC/tests/suppressions/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1
run_one() {
  local t=$1
  rm -rf "$W/corpus/$t" "$W/crashes/$t"
  mkdir -p "$W/corpus/$t" "$W/crashes/$t"
  cp tests/fuzz/corpus/"$t"/* "$W/corpus/$t/"
  set +e
  "$W/bin/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$W/crashes/$t/" \
    ${FUZZ_ARGS:-} "$W/corpus/$t" >"$W/logs/$t.log" 2>&1
  echo $? >"$W/logs/$t.rc"
  set -e
}
echo "fuzz.sh: ${#TARGETS[@]} target(s), $SECONDS_EACH s each, $PARALLEL at a time"
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then wait -n; running=$((running - 1)); fi
done
wait

# ---- report
printf '%-11s %12s %8s %8s %7s %9s  %s\n' target executions exec/s cov ft corpus findings
status=0
for t in "${TARGETS[@]}"; do
  L="$W/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$L" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$L" | tail -1)
  last=$(grep -E '^#[0-9]+' "$L" | grep 'cov:' | tail -1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  ncorp=$(ls "$W/corpus/$t" | wc -l)
  nfind=$(ls "$W/crashes/$t" | wc -l)
  what=$( [ "$nfind" -gt 0 ] && ls "$W/crashes/$t" | tr '\n' ' ' || echo none)
  printf '%-11s %12s %8s %8s %7s %9s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$ncorp" "$what"
  if [ "$nfind" -gt 0 ]; then
    status=1
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$L" | sed 's/^/    /' || true
  fi
done
echo "fuzz.sh: logs in $W/logs, findings in $W/crashes"
exit $status
