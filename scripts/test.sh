#!/usr/bin/env bash
# test.sh - THE test command (README, .ci/run): installs what is missing, builds with
# -Werror, obtains and converts the backbone weights, runs the whole CTest suite,
# then builds with ASan+UBSan and runs the whole suite again under the sanitizers
# (LeakSanitizer included). Set VS_SKIP_ASAN=1 to skip the sanitizer pass locally.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --test
bash scripts/fetch_weights.sh
JOBS=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVS_WERROR=ON >/dev/null
cmake --build build -j "$JOBS"
(cd build && ctest --output-on-failure -j "$JOBS")
if [ "${VS_SKIP_ASAN:-0}" != "1" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVS_SANITIZE=address -DVS_WERROR=ON >/dev/null
  cmake --build build-asan -j "$JOBS"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export LSAN_OPTIONS=suppressions=$PWD/tests/suppressions/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest --output-on-failure -j "$JOBS" -LE slow)
fi
