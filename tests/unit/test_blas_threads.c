/*
 * test_blas_threads.c - the library's OpenBLAS thread policy for extraction
 * (docs/threading.md): loading an extractor leaves OpenBLAS's thread count alone; an
 * extraction state without whitening (no BLAS call of its own) leaves it alone too; the
 * first state of a whitened extractor puts it at one thread; two such states give
 * byte-identical unit-length features.
 * Needs ffmpeg, the MobileNetV2 weights and their whitening, and a machine with at least
 * two cores (OpenBLAS's default count is the core count); skips naming what is missing.
 */
#include "test.h"
#include "vidsim/vidsim.h"

#include <cblas.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    const char *models = getenv("VS_MODELS");
    if (!models || !*models) models = "models";
    char bb[1200], pca[1200], dir[1024], clip[1200], cmd[3000];
    snprintf(bb, sizeof bb, "%s/mobilenet_v2.vstf", models);
    snprintf(pca, sizeof pca, "%s/pca_mobilenet_v2.vstf", models);
    if (access(bb, R_OK) != 0) SKIP("%s missing (run scripts/fetch_weights.sh)", bb);
    if (access(pca, R_OK) != 0) SKIP("%s missing", pca);
    if (system("ffmpeg -version > /dev/null 2>&1") != 0) SKIP("no ffmpeg to make the test clip");
    int g0 = openblas_get_num_threads();
    if (g0 < 2) SKIP("OpenBLAS starts with %d thread here (one core): nothing to observe", g0);

    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/vs_blas_threads_%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) SKIP("cannot make %s", dir);
    snprintf(clip, sizeof clip, "%s/a.mp4", dir);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i 'testsrc2=size=320x240:rate=25' -t 4 "
             "-pix_fmt yuv420p '%s'",
             clip);
    if (system(cmd) != 0) SKIP("ffmpeg could not make the clip");

    vs_extract_params p = vs_extract_default_params();
    p.batch = 2; /* 4 samples: two whitening GEMMs */
    vs_extractor *raw = NULL, *white = NULL;
    vs_extract_state *sr = NULL, *s1 = NULL, *s2 = NULL;
    CHECK_EQ(vs_extractor_load(&raw, bb, NULL, &p), VS_OK);
    CHECK_EQ(vs_extractor_load(&white, bb, pca, &p), VS_OK);
    CHECK_MSG(openblas_get_num_threads() == g0, "loading extractors changed OpenBLAS to %d threads (was %d)",
              openblas_get_num_threads(), g0);
    CHECK_EQ(vs_extract_state_create(&sr, raw), VS_OK);
    CHECK_MSG(openblas_get_num_threads() == g0, "a raw extractor's state changed OpenBLAS to %d threads (was %d)",
              openblas_get_num_threads(), g0);

    vs_features *fr = NULL, *fw = NULL, *fw2 = NULL;
    CHECK_EQ(vs_extract_video(sr, clip, &fr), VS_OK);
    CHECK_EQ(vs_extract_state_create(&s1, white), VS_OK);
    CHECK_MSG(openblas_get_num_threads() == 1, "a whitened extractor's state left OpenBLAS at %d threads",
              openblas_get_num_threads());
    CHECK_EQ(vs_extract_state_create(&s2, white), VS_OK);
    CHECK_EQ(openblas_get_num_threads(), 1);
    CHECK_EQ(vs_extract_video(s1, clip, &fw), VS_OK);
    CHECK_EQ(vs_extract_video(s2, clip, &fw2), VS_OK);
    if (fr && fw && fw2) {
        CHECK_EQ(fw->T, 4);
        CHECK_EQ(fr->T, fw->T);
        CHECK_EQ(fw->D, vs_extractor_dim(white));
        size_t n = (size_t)fw->T * fw->R * fw->D;
        CHECK_MSG(fw2->T == fw->T && memcmp(fw->data, fw2->data, n * sizeof(float)) == 0,
                  "two whitened states disagree");
        /* Every whitened region is unit length. */
        double worst = 0;
        for (size_t r = 0; r < (size_t)fw->T * fw->R; r++) {
            double ss = 0;
            for (int d = 0; d < fw->D; d++) ss += (double)fw->data[r * fw->D + d] * fw->data[r * fw->D + d];
            if (fabs(sqrt(ss) - 1) > worst) worst = fabs(sqrt(ss) - 1);
        }
        CHECK_MSG(worst < 1e-4, "whitened region norm off by %g", worst);
    }
    vs_features_free(fr);
    vs_features_free(fw);
    vs_features_free(fw2);
    vs_extract_state_free(sr);
    vs_extract_state_free(s1);
    vs_extract_state_free(s2);
    vs_extractor_free(raw);
    vs_extractor_free(white);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return vs_test_done();
}
