/*
 * test_pca_fold.c - the learned whitening folded into the region-vector whitening
 * (vs_pca_fold_whiten, features.h; docs/features.md "The learned whitening"):
 *   - on a synthetic whitening file: the folded projection equals P W in double (1e-6
 *     of its largest entry), the mean, the eigenvalues and the metadata are kept, and
 *     "learned_whiten" names the map; a map of another dimension is refused by name;
 *   - with the MobileNetV2 weights and a real clip (skipped without them): features
 *     extracted with the folded file equal normalise(W y) of the features y extracted
 *     with the plain one, region by region (1e-4);
 *   - the bundled InceptionV3 files: an index made with the plain PCA before the switch
 *     (model id of pca_inception_v3.v1.vstf) still gets an extractor that reproduces its
 *     id (vs_extractor_load_for_model tries the earlier bundled whitening), and the
 *     current file's id loads directly; without the earlier file the id is refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "core/tensorfile.h"
#include "vidsim/ann.h"
#include "vidsim/features.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 0x1234567887654321ULL;
static double gauss(void) {
    double u, v;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    u = (double)(rng >> 11) / 9007199254740992.0 + 1e-12;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    v = (double)(rng >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static vs_gvec_whiten *random_map(int d) {
    enum { N = 600 };
    float *a = malloc(sizeof(float) * N * d), *b = malloc(sizeof(float) * N * d);
    for (int i = 0; i < N * d; i++) {
        a[i] = (float)gauss();
        b[i] = a[i] + (float)(((i % d) < d / 8 ? 1.0 : 0.2) * gauss());
    }
    vs_gvec_whiten *w = NULL;
    CHECK_EQ(vs_gvec_whiten_learn(&w, a, b, N, d, 1.0, NULL), VS_OK);
    free(a);
    free(b);
    return w;
}

static void test_synthetic(void) {
    enum { DIN = 20, DOUT = 8 };
    float mean[DIN], P[DIN * DOUT], ev[DOUT];
    for (int i = 0; i < DIN; i++) mean[i] = (float)gauss();
    for (int i = 0; i < DIN * DOUT; i++) P[i] = (float)gauss();
    for (int k = 0; k < DOUT; k++) ev[k] = (float)(DOUT - k);
    char in[1200], out[1200];
    snprintf(in, sizeof in, "%s/pca_in.vstf", vs_test_tmpdir());
    snprintf(out, sizeof out, "%s/pca_out.vstf", vs_test_tmpdir());
    vs__tfw *wr = NULL;
    CHECK_EQ(vs__tfw_create(&wr), VS_OK);
    vs__tfw_meta(wr, "kind", "pca_whitening");
    vs__tfw_meta(wr, "backbone", "synthetic");
    int64_t dm[1] = {DIN}, dp[2] = {DIN, DOUT}, de[1] = {DOUT};
    vs__tfw_add(wr, "pca.mean", VS_DT_F32, 1, dm, mean);
    vs__tfw_add(wr, "pca.proj", VS_DT_F32, 2, dp, P);
    vs__tfw_add(wr, "pca.eigenvalues", VS_DT_F32, 1, de, ev);
    CHECK_EQ(vs__tfw_save(wr, in), VS_OK);
    vs__tfw_free(wr);
    vs_gvec_whiten *w = random_map(DOUT);
    if (!w) return;
    CHECK_EQ(vs_pca_fold_whiten(in, w, out), VS_OK);
    vs__tf *tf = NULL;
    CHECK_EQ(vs__tf_open(&tf, out), VS_OK);
    if (tf) {
        const vs__tensor *tm, *tp, *te;
        CHECK_EQ(vs__tf_get(tf, "pca.mean", VS_DT_F32, 1, dm, &tm), VS_OK);
        CHECK_EQ(vs__tf_get(tf, "pca.proj", VS_DT_F32, 2, dp, &tp), VS_OK);
        CHECK_EQ(vs__tf_get(tf, "pca.eigenvalues", VS_DT_F32, 1, de, &te), VS_OK);
        const float *W = vs_gvec_whiten_matrix(w);
        double maxd = 0, maxr = 0;
        for (int i = 0; tp && i < DIN; i++)
            for (int k = 0; k < DOUT; k++) {
                double r = 0;
                for (int j = 0; j < DOUT; j++) r += (double)P[i * DOUT + j] * W[j * DOUT + k];
                maxd = fmax(maxd, fabs(((const float *)tp->data)[i * DOUT + k] - r));
                maxr = fmax(maxr, fabs(r));
            }
        CHECK_MSG(maxd < 1e-6 * maxr, "folded projection against P W: %.3g (max %.3g)", maxd, maxr);
        CHECK(tm && !memcmp(tm->data, mean, sizeof mean) && te && !memcmp(te->data, ev, sizeof ev));
        CHECK(vs__tf_meta(tf, "backbone") && !strcmp(vs__tf_meta(tf, "backbone"), "synthetic"));
        CHECK(vs__tf_meta(tf, "learned_whiten") && !strcmp(vs__tf_meta(tf, "learned_whiten"), vs_gvec_whiten_id(w)));
    }
    vs__tf_close(tf);
    vs_gvec_whiten *w3 = random_map(DOUT + 1);
    CHECK(w3 && vs_pca_fold_whiten(in, w3, out) == VS_ERR_INVALID_ARG && strstr(vs_last_error(), "pca_in.vstf"));
    vs_gvec_whiten_free(w3);
    vs_gvec_whiten_free(w);
}

/* features with the folded file = normalise(W y) of the plain file's features y */
static void test_extract(void) {
    char bb[4096], pca[4096], folded[4096], video[4096];
    snprintf(bb, sizeof bb, "%s/mobilenet_v2.vstf", vs_test_models());
    snprintf(pca, sizeof pca, "%s/pca_mobilenet_v2.vstf", vs_test_models());
    snprintf(video, sizeof video, "%s/data/videos/gh__AugLy__small_input_1.mp4", vs_test_shared());
    if (access(bb, R_OK) || access(pca, R_OK)) {
        printf("skipped the extraction check: %s or %s absent\n", bb, pca);
        return;
    }
    if (access(video, R_OK)) {
        printf("skipped the extraction check: %s absent\n", video);
        return;
    }
    snprintf(folded, sizeof folded, "%s/pca_folded.vstf", vs_test_tmpdir());
    vs_gvec_whiten *w = random_map(256);
    if (!w) return;
    CHECK_EQ(vs_pca_fold_whiten(pca, w, folded), VS_OK);
    vs_extract_params ep = vs_extract_default_params();
    ep.decode.max_frames = 4;
    vs_features *f[2] = {NULL, NULL};
    const char *pcas[2] = {pca, folded};
    for (int k = 0; k < 2; k++) {
        vs_extractor *ex = NULL;
        vs_extract_state *st = NULL;
        CHECK_EQ(vs_extractor_load(&ex, bb, pcas[k], &ep), VS_OK);
        CHECK_EQ(vs_extract_state_create(&st, ex), VS_OK);
        if (st) CHECK_EQ(vs_extract_video(st, video, &f[k]), VS_OK);
        vs_extract_state_free(st);
        vs_extractor_free(ex);
    }
    if (f[0] && f[1]) {
        CHECK(f[0]->T == f[1]->T && f[0]->T > 0 && f[0]->D == 256 && strcmp(f[0]->model_id, f[1]->model_id));
        long n = (long)f[0]->T * f[0]->R;
        CHECK_EQ(vs_gvec_whiten_apply(w, f[0]->data, n), VS_OK);
        double maxd = 0;
        for (long i = 0; i < n * 256; i++) maxd = fmax(maxd, fabs(f[0]->data[i] - f[1]->data[i]));
        CHECK_MSG(maxd < 1e-4, "folded extraction against the map applied after: %.3g", maxd);
    }
    vs_features_free(f[0]);
    vs_features_free(f[1]);
    vs_gvec_whiten_free(w);
}

/* the earlier bundled InceptionV3 whitening still serves the indexes made with it */
static void test_legacy(void) {
    char bb[4096], v1[4096], cur[4096], dir[2048], cmd[20000];
    snprintf(bb, sizeof bb, "%s/inception_v3.vstf", vs_test_models());
    snprintf(v1, sizeof v1, "%s/pca_inception_v3.v1.vstf", vs_test_models());
    snprintf(cur, sizeof cur, "%s/pca_inception_v3.vstf", vs_test_models());
    if (access(bb, R_OK) || access(v1, R_OK) || access(cur, R_OK)) {
        printf("skipped the legacy check: InceptionV3 files absent in %s\n", vs_test_models());
        return;
    }
    vs_extract_params ep = vs_extract_default_params();
    ep.precision = VS_PRECISION_FP32;
    char id_v1[64] = "", id_cur[64] = "";
    vs_extractor *ex = NULL;
    CHECK_EQ(vs_extractor_load(&ex, bb, v1, &ep), VS_OK);
    if (ex) snprintf(id_v1, sizeof id_v1, "%s", vs_extractor_model_id(ex));
    vs_extractor_free(ex);
    CHECK_EQ(vs_extractor_load(&ex, bb, cur, &ep), VS_OK);
    if (ex) snprintf(id_cur, sizeof id_cur, "%s", vs_extractor_model_id(ex));
    vs_extractor_free(ex);
    CHECK(*id_v1 && *id_cur && strcmp(id_v1, id_cur));
    vs_model_locator loc = {vs_test_models(), NULL, NULL};
    const char *ids[2] = {id_v1, id_cur};
    for (int k = 0; k < 2; k++) {
        ex = NULL;
        CHECK_MSG(vs_extractor_load_for_model(&ex, &loc, ids[k], NULL, &ep) == VS_OK && ex &&
                      !strcmp(vs_extractor_model_id(ex), ids[k]),
                  "id %s: %s", ids[k], ex ? vs_extractor_model_id(ex) : vs_last_error());
        vs_extractor_free(ex);
    }
    /* a models folder without the earlier file: the old id is refused, naming both ids */
    snprintf(dir, sizeof dir, "%s/models_nov1", vs_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && ln -s '%s' '%s/' && ln -s '%s' '%s/'", dir, dir, bb, dir,
             cur, dir);
    CHECK(system(cmd) == 0);
    vs_model_locator loc2 = {dir, NULL, NULL};
    ex = NULL;
    vs_status st = vs_extractor_load_for_model(&ex, &loc2, id_v1, NULL, &ep);
    CHECK_MSG(st == VS_ERR_INVALID_ARG && !ex && strstr(vs_last_error(), id_v1) && strstr(vs_last_error(), id_cur),
              "without the earlier file: %d %s", st, vs_last_error());
}

int main(void) {
    test_synthetic();
    test_extract();
    test_legacy();
    return vs_test_done();
}
