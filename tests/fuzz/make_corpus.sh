#!/usr/bin/env bash
# make_corpus.sh - regenerate the seed corpora in tests/fuzz/corpus/<target>/ with
# the project's own writers (tests/fuzz/make_corpus.c), in a CMake build folder
# (default /tmp/vs-fuzz-corpus-build; give another as $1). Past findings kept
# under corpus/<target>/crash-* are left alone. Deterministic: rerunning gives the
# same bytes, so the committed files only change when a writer's format changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-/tmp/vs-fuzz-corpus-build}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j "${JOBS:-2}" --target fuzz_make_corpus >/dev/null
"$B/fuzz_make_corpus" tests/fuzz/corpus
for d in tests/fuzz/corpus/*/; do
  printf '%-32s %3d files, largest %5d bytes\n' "$d" "$(ls "$d" | wc -l)" \
    "$(find "$d" -type f -printf '%s\n' | sort -n | tail -1)"
done
