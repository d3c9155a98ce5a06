/*
 * test_holdout.c - the check after training (vs_holdout_compare, train.h) on five
 * synthetic clips: ViSiL_f against itself gives the same μAP and mAP exactly (the two
 * rankings are the same code path); the report counts 5 references and 15 queries
 * whose edits add up; the same seed gives the same report and another seed other
 * copies; ViSiL_f finds these copies (μAP >= 0.7 on distinct sources) while an
 * untrained random ViSiL scores lower; a non-video is left out and counted; bad
 * arguments are refused. Needs ffmpeg and the MobileNetV2 weights.
 */
#include "test.h"
#include "vidsim/vidsim.h"

#include <unistd.h>

int main(void) {
    const char *models = getenv("VS_MODELS"), *tmp = getenv("VS_TMP");
    char bb[1200], dir[1200], cmd[8400];
    snprintf(bb, sizeof bb, "%s/mobilenet_v2.vstf", models && *models ? models : "models");
    if (access(bb, R_OK) != 0) SKIP("%s missing (run scripts/fetch_weights.sh)", bb);
    if (system("ffmpeg -version > /dev/null 2>&1") != 0) SKIP("no ffmpeg to make the test clips");
    snprintf(dir, sizeof dir, "%s/holdout", tmp && *tmp ? tmp : "/tmp");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) SKIP("cannot make %s", dir);
    static const char *const srcs[] = {"testsrc2=", "mandelbrot=", "smptebars=", "life=seed=11:mold=10:", "cellauto=seed=5:"} /* seeded: the same clips every run */;
    char paths[6][1300];
    const char *v[6];
    for (int i = 0; i < 5; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/v%d.mp4", dir, i);
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i '%ssize=192x144:rate=10' -t 12 "
                 "-pix_fmt yuv420p '%s'",
                 srcs[i], paths[i]);
        if (system(cmd) != 0) SKIP("ffmpeg could not make %s", paths[i]);
        v[i] = paths[i];
    }
    snprintf(paths[5], sizeof paths[5], "%s/not_a_video.mp4", dir);
    FILE *f = fopen(paths[5], "w");
    if (f) {
        fputs("not a video", f);
        fclose(f);
    }
    v[5] = paths[5];

    vs_extract_params ep = vs_extract_default_params();
    vs_extractor *ex = NULL;
    vs_extract_state *st = NULL;
    CHECK_EQ(vs_extractor_load(&ex, bb, NULL, &ep), VS_OK);
    CHECK_EQ(vs_extract_state_create(&st, ex), VS_OK);
    if (!st) return vs_test_done();
    const int R = VS_REGIONS, D = vs_extractor_dim(ex);
    vs_simmodel *vf = NULL, *rnd = NULL;
    CHECK_EQ(vs_simmodel_builtin(&vf, "visil_f"), VS_OK);
    CHECK_EQ(vs_simmodel_create_random(&rnd, D, 5), VS_OK);

    vs_holdout_params p = vs_holdout_default_params();
    p.max_frames = 12;
    vs_holdout_report a, b, c, r;
    CHECK_EQ(vs_holdout_compare(st, R, D, v, 6, vf, &p, &a), VS_OK);
    CHECK_EQ(a.n_videos, 5);
    CHECK_EQ(a.n_queries, 15);
    CHECK_EQ(a.n_failed, 1);
    int sum = 0;
    for (int k = 0; k < VS_HOLDOUT_N_EDITS; k++) sum += a.edits[k];
    CHECK_EQ(sum, 15);
    CHECK(a.uap_model == a.uap_baseline && a.map_model == a.map_baseline);
    CHECK_MSG(a.uap_baseline >= 0.7 && a.uap_baseline <= 1, "ViSiL_f uAP %.3f on edited copies of distinct clips",
              a.uap_baseline);
    CHECK_MSG(a.map_baseline >= a.uap_baseline - 0.2, "mAP %.3f uAP %.3f", a.map_baseline, a.uap_baseline);
    fprintf(stderr, "visil_f: uAP %.3f mAP %.3f; edits:", a.uap_baseline, a.map_baseline);
    for (int k = 0; k < VS_HOLDOUT_N_EDITS; k++) fprintf(stderr, " %s %d", vs_holdout_edit_name(k), a.edits[k]);
    fputc('\n', stderr);

    CHECK_EQ(vs_holdout_compare(st, R, D, v, 5, vf, &p, &b), VS_OK);
    CHECK(b.uap_baseline == a.uap_baseline && b.map_baseline == a.map_baseline && b.n_failed == 0);
    CHECK(memcmp(a.edits, b.edits, sizeof a.edits) == 0);
    vs_holdout_params p2 = p;
    p2.seed = 2;
    CHECK_EQ(vs_holdout_compare(st, R, D, v, 5, vf, &p2, &c), VS_OK);
    CHECK(memcmp(a.edits, c.edits, sizeof a.edits) != 0 || c.uap_baseline != a.uap_baseline);

    CHECK_EQ(vs_holdout_compare(st, R, D, v, 5, rnd, &p, &r), VS_OK);
    CHECK(r.uap_baseline == a.uap_baseline);
    CHECK_MSG(r.uap_model < r.uap_baseline, "random ViSiL uAP %.3f, ViSiL_f %.3f", r.uap_model, r.uap_baseline);
    fprintf(stderr, "random ViSiL: uAP %.3f mAP %.3f\n", r.uap_model, r.map_model);

    vs_holdout_report z;
    CHECK_EQ(vs_holdout_compare(st, R, D, v, 1, vf, &p, &z), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_holdout_compare(st, R, D, v, 5, NULL, &p, &z), VS_ERR_INVALID_ARG);
    const char *bad2[2] = {paths[5], paths[5]};
    CHECK_EQ(vs_holdout_compare(st, R, D, bad2, 2, vf, &p, &z), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "fewer than 2") != NULL);

    vs_simmodel_free(vf);
    vs_simmodel_free(rnd);
    vs_extract_state_free(st);
    vs_extractor_free(ex);
    return vs_test_done();
}
