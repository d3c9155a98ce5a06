#!/usr/bin/env bash
# golden_compare.sh BASE_BIN NEW_BIN WORKDIR - proof that a refactoring changed no output:
# runs two vidsim binaries (a baseline built before the change and the new one) on the same
# inputs and compares stdout, stderr and the exit status of each run byte for byte, plus the
# hash codes `index hash` stores. Prints one line per case, "same" or "DIFFERS", and exits 1
# if any case differs (the outputs stay in WORKDIR/{base,new} for a diff).
#
# Inputs: (a) the demo collection (scripts/make_demo_videos.sh + `index add`; DEMO=DIR reuses
# one built by scripts/demo.sh, default /tmp/demo when it has an index), and (b) a dev draw
# (DRAW=DIR, default /tmp/draws/seed1: DIR/index, DIR/qf/*.vsf, DIR/dev/gt.csv) when present.
# Neither is modified: everything that writes works on copies under WORKDIR.
# Cases: search CSV and JSON Lines (exhaustive, --direction q2r, --two-stage with stored and
# computed codes, --hash-only, --model clip, clip:mean, --segments, queries by indexed name,
# feature file and video file), a damaged index entry (skip list, --allow-partial), a query
# that fails, missing models, dedup, `index hash` (stored codes) and eval of the outputs.
# Models: VIDSIM_MODELS (default: the repository's models/).
set -uo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 BASE_BIN NEW_BIN WORKDIR" >&2
    exit 2
fi
BASE=$(realpath "$1")
NEW=$(realpath "$2")
W=$3
here=$(cd "$(dirname "$0")/.." && pwd)
export VIDSIM_MODELS=${VIDSIM_MODELS:-$here/models}
DRAW=${DRAW:-/tmp/draws/seed1}
J=${J:-2}
mkdir -p "$W"
W=$(realpath "$W")
rm -rf "$W/base" "$W/new" "$W/data"
mkdir -p "$W/base" "$W/new" "$W/data"
fail=0

# the demo collection: a copy of a built one, or built now with the baseline binary
DEMO=${DEMO:-/tmp/demo}
if [ -d "$DEMO/index" ] && [ -d "$DEMO/queries" ]; then
    cp -r "$DEMO" "$W/data/demo"
else
    bash "$here/scripts/make_demo_videos.sh" "$W/data/demo" >/dev/null 2>&1 || { echo "cannot make the demo videos" >&2; exit 2; }
    "$BASE" index add --index "$W/data/demo/index" -j "$J" "$W/data/demo/refs" >/dev/null 2>&1 ||
        { echo "cannot index the demo" >&2; exit 2; }
fi
D=$W/data/demo
DI=$D/index
# query features of the demo (.vsf), extracted once with the baseline
mkdir -p "$D/qf"
"$BASE" extract -o "$D/qf" -j "$J" "$D"/queries/*.mp4 >/dev/null 2>&1
# a damaged copy: one feature file truncated
cp -r "$DI" "$D/index_damaged"
victim=$(ls "$D/index_damaged/features" | sort | sed -n 3p)
[ -n "$victim" ] && head -c 100 "$D/index_damaged/features/$victim" > "$D/index_damaged/features/$victim.tmp" &&
    mv "$D/index_damaged/features/$victim.tmp" "$D/index_damaged/features/$victim"
# query features of another model (MobileNetV2), which every search must refuse
mkdir -p "$D/qf_other"
"$BASE" extract -o "$D/qf_other" --backbone mobilenet -j "$J" "$D/queries/copy_blur.mp4" >/dev/null 2>&1
# an index with no ok video: one failed add
mkdir -p "$D/bad"
head -c 5000 /dev/urandom >"$D/bad/broken.mp4"
"$BASE" index add --index "$D/index_empty" -j 1 "$D/bad/broken.mp4" >/dev/null 2>&1
have_draw=0
if [ -d "$DRAW/index" ] && [ -d "$DRAW/qf" ]; then
    have_draw=1
    cp -r "$DRAW/index" "$W/data/draw_index"
fi
DR=$W/data/draw_index

# norm FILE BINDIR: the parts of stderr that differ between two runs (scratch dirs, times,
# the binary's own folder in the list of places searched for models)
norm() {
    sed -E -e "s#$W/(base|new)/#WORK/#g" -e "s#$2/#BINDIR/#g" -e 's/in [0-9.]+ s$/in T s/' \
        -e 's/[0-9]+\.[0-9]+ ms/X ms/g' "$1"
}

# run NAME ARGS...: both binaries, "{}" in ARGS replaced by the binary's own scratch dir
run() {
    local name=$1
    shift
    local who bin d
    for who in base new; do
        bin=$BASE
        [ $who = new ] && bin=$NEW
        d=$W/$who
        local args=()
        for a in "$@"; do args+=("${a//\{\}/$d}"); done
        (cd "$W" && "$bin" "${args[@]}") >"$d/$name.out" 2>"$d/$name.err"
        echo $? >"$d/$name.rc"
        norm "$d/$name.err" "$(dirname "$bin")" >"$d/$name.errn"
    done
    local r=same
    for x in out rc errn; do
        cmp -s "$W/base/$name.$x" "$W/new/$name.$x" || r=DIFFERS
    done
    printf '%-40s %s\n' "$name" "$r"
    [ $r = same ] || fail=1
}

# codes NAME: the extras of the two hashed copies
codes() {
    local name=$1 who
    for who in base new; do
        sqlite3 "$W/$who/$name/catalogue.sqlite" \
            "select v.name, e.kind, e.model_id, e.dtype, e.n_rows, e.n_cols, e.checksum, hex(e.data)
             from extras e join videos v on v.id = e.video_id order by 1, 2, 3" >"$W/$who/$name.codes"
    done
    local r=same
    cmp -s "$W/base/$name.codes" "$W/new/$name.codes" || r=DIFFERS
    [ -s "$W/base/$name.codes" ] || r=DIFFERS
    printf '%-40s %s\n' "$name.codes" "$r"
    [ $r = same ] || fail=1
}

QV=("$D"/queries/*.mp4)
QF=("$D"/qf/*.vsf)
# --- (a) the demo collection
run demo_search_video_top3        search --index "$DI" -j "$J" --top 3 "${QV[@]}"
run demo_search_video_all         search --index "$DI" -j "$J" --top 0 "${QV[@]}"
run demo_search_video_jsonl       search --index "$DI" -j "$J" --format jsonl "${QV[@]}"
run demo_search_vsf               search --index "$DI" -j "$J" --top 0 "${QF[@]}"
run demo_search_vsf_q2r_thr       search --index "$DI" -j "$J" --direction q2r --threshold 0.3 "${QF[@]}"
run demo_search_names             search --index "$DI" -j "$J" --top 0 hug_movie synth_life "$D/refs/synth_testsrc.mp4"
run demo_search_names_j1          search --index "$DI" -j 1 --top 0 hug_movie synth_life
run demo_search_bad_query         search --index "$DI" -j "$J" "$D/nope.vsf" hug_movie "$D/nope.mp4"
run demo_search_bad_query_jsonl   search --index "$DI" -j "$J" --format jsonl "$D/nope.vsf" hug_movie "$D/nope.mp4"
run demo_segments_video           search --index "$DI" -j "$J" --top 1 --segments "${QV[@]}"
run demo_segments_jsonl           search --index "$DI" -j "$J" --top 3 --segments --format jsonl "${QF[@]}"
run demo_segments_q2r             search --index "$DI" -j "$J" --top 2 --segments --direction q2r "${QF[@]}"
run demo_two_stage_lsh            search --index "$DI" -j "$J" --two-stage --top-k 3 --hash-model lsh64 "${QF[@]}"
run demo_two_stage_conmh          search --index "$DI" -j "$J" --two-stage --top-k 5 "${QF[@]}" hug_movie
run demo_two_stage_all            search --index "$DI" -j "$J" --two-stage --top-k 100 --top 0 "${QF[@]}"
run demo_two_stage_segments       search --index "$DI" -j "$J" --two-stage --top-k 4 --segments "${QF[@]}"
run demo_two_stage_seg_q2r_jsonl  search --index "$DI" -j "$J" --two-stage --top-k 4 --segments --direction q2r --format jsonl "${QF[@]}"
run demo_two_stage_video          search --index "$DI" -j "$J" --two-stage --top-k 3 --hash-model lsh128 "${QV[@]:0:3}"
run demo_hash_only                search --index "$DI" -j "$J" --hash-only --top 0 "${QF[@]}"
run demo_hash_only_lsh256_jsonl   search --index "$DI" -j "$J" --hash-only --hash-model lsh256 --format jsonl "${QF[@]}"
run demo_clip                     search --index "$DI" --model clip:bundled --top 0 "${QF[@]}" hug_movie
run demo_clip_video               search --index "$DI" --model clip "${QV[@]:0:3}"
run demo_clip_mean                search --index "$DI" --model clip:mean --top 0 "${QF[@]}"
run demo_clip_mean_q2r_jsonl      search --index "$DI" --model clip:mean --direction q2r --format jsonl "${QF[@]}" "$D/nope.vsf"
run demo_dedup                    dedup --index "$DI" -j "$J" --threshold 0.5
run demo_dedup_all_jsonl          dedup --index "$DI" -j "$J" --threshold -1 --format jsonl
run demo_damaged_search           search --index "$D/index_damaged" -j "$J" --top 0 "${QF[@]:0:3}"
run demo_damaged_search_partial   search --index "$D/index_damaged" -j "$J" --allow-partial --format jsonl "${QF[@]:0:3}"
run demo_damaged_two_stage        search --index "$D/index_damaged" -j "$J" --two-stage --hash-model lsh64 "${QF[@]:0:3}"
run demo_damaged_dedup            dedup --index "$D/index_damaged" -j "$J" --allow-partial
run demo_damaged_clip             search --index "$D/index_damaged" --model clip:mean "${QF[@]:0:2}"
run demo_other_model              search --index "$DI" -j "$J" "$D"/qf_other/*.vsf "${QF[0]}"
run demo_other_model_jsonl        search --index "$DI" -j "$J" --format jsonl "${QF[0]}" "$D"/qf_other/*.vsf
run demo_other_model_two_stage    search --index "$DI" -j "$J" --two-stage --format jsonl "$D"/qf_other/*.vsf "${QF[1]}"
run demo_other_model_clip         search --index "$DI" --model clip:mean --format jsonl "$D"/qf_other/*.vsf "${QF[1]}"
run demo_no_videos                search --index "$D/index_empty" -j "$J" "${QF[0]}"
run demo_no_videos_two_stage      search --index "$D/index_empty" -j "$J" --two-stage "${QF[0]}"
run demo_no_videos_dedup          dedup --index "$D/index_empty" -j "$J"
run demo_no_videos_clip           search --index "$D/index_empty" --model clip "${QF[0]}"
run demo_no_videos_clip_mean      search --index "$D/index_empty" --model clip:mean "${QF[0]}"
run demo_no_index                 search --index "$D/nonexistent" -j "$J" "${QF[0]}"
run demo_timing                   search --index "$DI" -j "$J" --two-stage --top-k 3 --hash-model lsh64 --timing "${QF[@]}"
run demo_timing_hash_only         search --index "$DI" -j "$J" --hash-only --hash-model lsh64 --timing "${QF[@]}"
run demo_bad_hash_model           search --index "$DI" -j "$J" --two-stage --hash-model /nonexistent.vstf "${QF[0]}"
run demo_hash_model_by_name       search --index "$DI" -j "$J" --two-stage --hash-model conmh_128.vstf --top-k 4 "${QF[@]}"
run demo_indexed_path             search --index "$DI" -j "$J" --top 0 "$D/refs/hug_movie.mp4" "$D/refs/synth_life.mp4"
run demo_simmodel_missing         search --index "$DI" -j "$J" --model /nonexistent.vstf "${QF[0]}"
for who in base new; do cp -r "$DI" "$W/$who/demo_cidx"; done
run demo_clip_store               search --index "{}/demo_cidx" --model clip --store --top 3 "${QF[@]}"
run demo_clip_stored              search --index "{}/demo_cidx" --model clip --top 3 "${QF[@]}"
codes demo_cidx
run demo_empty_models             search --index "$DI" -j "$J" --model /nonexistent.vstf hug_movie
VIDSIM_MODELS=/nonexistent run demo_no_models_video search --index "$DI" -j "$J" "${QV[@]:0:2}"
for who in base new; do cp -r "$DI" "$W/$who/demo_hidx"; done
run demo_index_hash_lsh           index hash --index "{}/demo_hidx" --hash-model lsh64 -j "$J"
run demo_index_hash_default       index hash --index "{}/demo_hidx" -j "$J"
run demo_index_hash_again         index hash --index "{}/demo_hidx" -j "$J"
codes demo_hidx
run demo_two_stage_stored         search --index "{}/demo_hidx" -j "$J" --two-stage --top-k 3 "${QF[@]}"
run demo_eval                     eval --gt "$D/gt.csv" --pred "{}/demo_search_video_all.out"
run demo_eval_json                eval --gt "$D/gt.csv" --pred "{}/demo_search_vsf.out" --format json

# --- (b) the dev draw
if [ $have_draw = 1 ]; then
    Q=("$DRAW"/qf/*.vsf)
    run draw_search                   search --index "$DR" -j "$J" --top 0 "${Q[@]}"
    run draw_search_jsonl             search --index "$DR" -j "$J" --format jsonl "${Q[@]}"
    run draw_search_q2r               search --index "$DR" -j "$J" --direction q2r --top 5 "${Q[@]}"
    run draw_two_stage_k10            search --index "$DR" -j "$J" --two-stage --top-k 10 --top 0 "${Q[@]}"
    run draw_two_stage_lsh256         search --index "$DR" -j "$J" --two-stage --top-k 20 --hash-model lsh256 --top 0 "${Q[@]}"
    run draw_two_stage_k36            search --index "$DR" -j "$J" --two-stage --top-k 36 --top 0 "${Q[@]}"
    run draw_two_stage_j1             search --index "$DR" -j 1 --two-stage --top-k 5 "${Q[@]:0:20}"
    run draw_hash_only                search --index "$DR" -j "$J" --hash-only --top 0 "${Q[@]}"
    run draw_hash_only_lsh64_jsonl    search --index "$DR" -j "$J" --hash-only --hash-model lsh64 --format jsonl "${Q[@]}"
    run draw_clip                     search --index "$DR" --model clip --top 0 "${Q[@]}"
    run draw_clip_mean                search --index "$DR" --model clip:mean --top 0 "${Q[@]}"
    run draw_segments                 search --index "$DR" -j "$J" --top 2 --segments "${Q[@]}"
    run draw_segments_jsonl           search --index "$DR" -j "$J" --top 1 --segments --format jsonl "${Q[@]}"
    run draw_two_stage_segments       search --index "$DR" -j "$J" --two-stage --top-k 10 --top 2 --segments "${Q[@]}"
    run draw_dedup                    dedup --index "$DR" -j "$J" --threshold 0.3
    run draw_dedup_jsonl              dedup --index "$DR" -j "$J" --threshold 0.5 --format jsonl
    for who in base new; do cp -r "$DR" "$W/$who/draw_hidx"; done
    run draw_index_hash_default       index hash --index "{}/draw_hidx" -j "$J"
    run draw_index_hash_lsh256        index hash --index "{}/draw_hidx" --hash-model lsh256 -j 1
    run draw_index_hash_force         index hash --index "{}/draw_hidx" --hash-model lsh256 --force -j "$J"
    codes draw_hidx
    run draw_two_stage_stored         search --index "{}/draw_hidx" -j "$J" --two-stage --top-k 10 --top 0 "${Q[@]}"
    run draw_eval                     eval --gt "$DRAW/dev/gt.csv" --pred "{}/draw_search.out"
    run draw_eval_two_stage           eval --gt "$DRAW/dev/gt.csv" --pred "{}/draw_two_stage_k10.out" --format csv
    run draw_eval_clip                eval --gt "$DRAW/dev/gt.csv" --pred "{}/draw_clip.out"
    run draw_eval_segments            eval --segments --gt "$DRAW/dev/gt.csv" --pred "{}/draw_segments.out"
    run draw_eval_segments_json       eval --segments --gt "$DRAW/dev/gt.csv" --pred "{}/draw_two_stage_segments.out" --format json
else
    echo "no dev draw at $DRAW: its cases were not run" >&2
fi
exit $fail
