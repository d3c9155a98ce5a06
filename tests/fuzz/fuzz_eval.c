/*
 * fuzz_eval.c - libFuzzer target for the evaluation readers (src/eval): the CSV
 * readers vs_eval_gt_load, vs_eval_pred_load and vs_eval_segments_load (with and
 * without a score column), and the JSON readers vs_eval_queries_load,
 * vs_eval_segment_queries_load and vs_eval_dataset_load. Every reader runs on
 * every input, so the corpus holds plain gt/pred/segment CSV and queries JSON.
 * When the same input loads as both ground truth and predictions (a CSV with
 * query_id, ref_id and score columns) it is also scored against itself, with the
 * queries when the input is also valid queries JSON (never both), and likewise
 * for segments, so the scorers see what the readers accept.
 * Not here: the dataset protocols' evaluation (vs_eval_dataset_evaluate).
 */
#include "fuzz.h"

#include "vidsim/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (64u << 10)) return 0; /* the readers are linear; the scorers need not be */
    const char *path = fuzz_write(data, size);

    vs_eval_gt *gt = NULL;
    vs_eval_pred *pred = NULL;
    vs_eval_queries *q = NULL;
    if (fuzz_note("vs_eval_gt_load", vs_eval_gt_load(&gt, path)) != VS_OK) gt = NULL;
    if (fuzz_note("vs_eval_pred_load", vs_eval_pred_load(&pred, path)) != VS_OK) pred = NULL;
    if (fuzz_note("vs_eval_queries_load", vs_eval_queries_load(&q, path)) != VS_OK) q = NULL;
    if (gt && pred) {
        vs_eval_report *rep = NULL;
        if (fuzz_note("vs_eval_score", vs_eval_score(&rep, gt, pred, q)) == VS_OK) vs_eval_report_free(rep);
    }
    vs_eval_queries_free(q);
    vs_eval_pred_free(pred);
    vs_eval_gt_free(gt);

    vs_eval_segments *sg = NULL, *sp = NULL;
    vs_eval_segment_queries *sq = NULL;
    if (fuzz_note("vs_eval_segments_load/gt", vs_eval_segments_load(&sg, path, 0)) != VS_OK) sg = NULL;
    if (fuzz_note("vs_eval_segments_load/score", vs_eval_segments_load(&sp, path, 1)) != VS_OK) sp = NULL;
    if (fuzz_note("vs_eval_segment_queries_load", vs_eval_segment_queries_load(&sq, path)) != VS_OK) sq = NULL;
    if (sg && sp) {
        vs_eval_segment_report *rep = NULL;
        if (fuzz_note("vs_eval_segment_score", vs_eval_segment_score(&rep, sg, sp, sq)) == VS_OK) vs_eval_segment_report_free(rep);
    }
    vs_eval_segment_queries_free(sq);
    vs_eval_segments_free(sp);
    vs_eval_segments_free(sg);

    vs_eval_dataset *ds = NULL;
    if (fuzz_note("vs_eval_dataset_load", vs_eval_dataset_load(&ds, path)) == VS_OK) {
        (void)vs_eval_dataset_kind_of(ds);
        vs_eval_dataset_free(ds);
    }
    return 0;
}
