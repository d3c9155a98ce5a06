/*
 * test_features.c - region pooling geometry and values on known maps (and equal to
 * the direct window scan on random maps), row L2,
 * the PCA-whitening learner (whitened training data must have identity scatter,
 * eigenvalues must match a known spectrum), and the feature file round trip with
 * rejection of truncated/corrupt files.
 */
#include "test.h"
#include "core/tensorfile.h"
#include "features/region.h"
#include "vidsim/features.h"

#include <stdint.h>

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((*s >> 11) & ((1ULL << 53) - 1)) / (double)(1ULL << 53);
}

static void test_grid(void) {
    int k, s;
    vs__region_grid(25, &k, &s); /* mixed0-2 at 224 input */
    CHECK_EQ(k, 13); CHECK_EQ(s, 6);
    vs__region_grid(12, &k, &s); /* mixed3-5 at 224 */
    CHECK_EQ(k, 6); CHECK_EQ(s, 3);
    vs__region_grid(35, &k, &s); /* 299 input */
    CHECK_EQ(k, 17); CHECK_EQ(s, 9);
    vs__region_grid(17, &k, &s);
    CHECK_EQ(k, 9); CHECK_EQ(s, 4);
    for (int len = 1; len < 80; len++) { /* windows always inside the map and covering it */
        vs__region_grid(len, &k, &s);
        CHECK(k >= 1 && 2 * s + k <= len + (len < 3 ? 2 * s : 0));
        if (len >= 4) CHECK_EQ(2 * s + k, len);
    }
}

static void test_pool(void) {
    /* map 2 frames of 12x12x3: value = frame*1000 + y*12 + x for ch 0, negative for ch 1 */
    int n = 2, h = 12, w = 12, c = 3;
    float *map = malloc(sizeof(float) * n * h * w * c);
    for (int b = 0; b < n; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float *p = map + ((b * h + y) * w + x) * c;
                p[0] = b * 1000 + y * 12 + x;
                p[1] = -(float)(y * 12 + x);
                p[2] = (y == 4 && x == 4) ? 7.f : 0.f;
            }
    float out[2 * 9 * 5];
    vs__region_maxpool(out, 5, map, n, h, w, c);
    /* k=6, s=3: region (gy,gx) covers y in [3gy, 3gy+5] */
    for (int b = 0; b < n; b++)
        for (int r = 0; r < 9; r++) {
            int gy = r / 3, gx = r % 3;
            const float *o = out + (b * 9 + r) * 5;
            CHECK_NEAR(o[0], b * 1000 + (3 * gy + 5) * 12 + 3 * gx + 5, 0);
            CHECK_NEAR(o[1], -(float)(3 * gy * 12 + 3 * gx), 0);
            int inside = 4 >= 3 * gy && 4 <= 3 * gy + 5 && 4 >= 3 * gx && 4 <= 3 * gx + 5;
            CHECK_NEAR(o[2], inside ? 7 : 0, 0);
        }
    vs__l2norm_rows(out, 18, 3, 5);
    for (int i = 0; i < 18; i++) {
        double ss = 0;
        for (int j = 0; j < 3; j++) ss += out[i * 5 + j] * out[i * 5 + j];
        CHECK_NEAR(ss, 1.0, 1e-6);
    }
    free(map);
}

/* The separable, vectorised pooling equals the direct scan of each window exactly,
 * on random maps of every size the backbones give (and tiny ones), odd channel counts. */
static void test_pool_random(void) {
    static const int sizes[][3] = {{25, 25, 256}, {12, 12, 768}, {35, 35, 67}, {17, 13, 5},
                                   {7, 7, 33},    {3, 5, 16},    {2, 2, 3},    {1, 1, 1}};
    uint64_t seed = 99;
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int h = sizes[t][0], w = sizes[t][1], c = sizes[t][2], n = 2, ld = c + 3;
        float *map = malloc(sizeof(float) * n * h * w * c);
        float *got = malloc(sizeof(float) * n * 9 * ld), *want = malloc(sizeof(float) * n * 9 * ld);
        for (long i = 0; i < (long)n * h * w * c; i++) map[i] = (float)(urand(&seed) * 2 - 1);
        vs__region_maxpool(got, ld, map, n, h, w, c);
        int kh, sh, kw, sw;
        vs__region_grid(h, &kh, &sh);
        vs__region_grid(w, &kw, &sw);
        int bad = 0;
        for (int b = 0; b < n; b++)
            for (int r = 0; r < 9; r++) {
                int y0 = (r / 3) * sh, x0 = (r % 3) * sw;
                if (y0 + kh > h) y0 = h - kh;
                if (x0 + kw > w) x0 = w - kw;
                for (int ch = 0; ch < c; ch++) {
                    float m = -INFINITY;
                    for (int y = y0; y < y0 + kh; y++)
                        for (int x = x0; x < x0 + kw; x++) {
                            float v = map[(((size_t)b * h + y) * w + x) * c + ch];
                            if (v > m) m = v;
                        }
                    want[(b * 9 + r) * ld + ch] = m;
                    if (got[(b * 9 + r) * ld + ch] != m) bad++;
                }
            }
        CHECK_MSG(bad == 0, "maxpool %dx%dx%d: %d values differ from the direct scan", h, w, c, bad);
        free(map);
        free(got);
        free(want);
    }
}

static void test_pca(void) {
    /* data = A z + mu with z ~ U(-1,1)^k in a d-dim space: known spectrum */
    int d = 12, k = 4;
    long n = 3000;
    uint64_t seed = 42;
    float *x = malloc(sizeof(float) * n * d);
    double scales[4] = {5, 3, 2, 1};
    /* orthonormal basis: coordinate axes permuted, so eigenvalues = n * scale^2 / 3 */
    int axes[4] = {7, 2, 10, 5};
    for (long i = 0; i < n; i++)
        for (int j = 0; j < d; j++) x[i * d + j] = 0.5f + 0.01f * (float)(urand(&seed) - 0.5);
    for (long i = 0; i < n; i++)
        for (int q = 0; q < k; q++) x[i * d + axes[q]] += (float)(scales[q] * (2 * urand(&seed) - 1));
    vs_pca_acc *acc;
    CHECK_EQ(vs_pca_acc_create(&acc, d), VS_OK);
    CHECK_EQ(vs_pca_acc_add(acc, x, 1000), VS_OK);
    CHECK_EQ(vs_pca_acc_add(acc, x + 1000 * d, n - 1000), VS_OK);
    CHECK_EQ(vs_pca_acc_count(acc), n);
    char path[4096];
    snprintf(path, sizeof path, "%s/pca_test.vstf", vs_test_tmpdir());
    const char *meta[] = {"backbone", "test", NULL};
    CHECK_EQ(vs_pca_fit_save(acc, k, 1e-7, meta, path), VS_OK);
    CHECK_EQ(vs_pca_fit_save(acc, d + 1, 1e-7, meta, path), VS_ERR_INVALID_ARG);
    vs_pca_acc_free(acc);
    vs__tf *tf;
    CHECK_EQ(vs__tf_open(&tf, path), VS_OK);
    const vs__tensor *tm, *tp, *te;
    CHECK_EQ(vs__tf_get(tf, "pca.mean", VS_DT_F32, 1, NULL, &tm), VS_OK);
    CHECK_EQ(vs__tf_get(tf, "pca.proj", VS_DT_F32, 2, NULL, &tp), VS_OK);
    CHECK_EQ(vs__tf_get(tf, "pca.eigenvalues", VS_DT_F32, 1, NULL, &te), VS_OK);
    CHECK(strcmp(vs__tf_meta(tf, "backbone"), "test") == 0);
    const float *mean = tm->data, *P = tp->data, *ev = te->data;
    for (int q = 0; q < k; q++) /* eigenvalue of the un-normalised scatter: n*var, var = s^2/3 */
        CHECK_NEAR(ev[q] / (n * scales[q] * scales[q] / 3.0), 1.0, 0.08);
    /* whitened training data: sum_n y_k y_l = delta_kl */
    double G[16] = {0};
    for (long i = 0; i < n; i++) {
        double y[4] = {0};
        for (int q = 0; q < k; q++)
            for (int j = 0; j < d; j++) y[q] += (x[i * d + j] - mean[j]) * P[j * k + q];
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++) G[a * k + b] += y[a] * y[b];
    }
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) CHECK_NEAR(G[a * k + b], a == b, 1e-3);
    vs__tf_close(tf);
    free(x);
}

static void test_featfile(void) {
    vs_features f;
    memset(&f, 0, sizeof f);
    f.T = 5;
    f.R = 9;
    f.D = 8;
    f.fps = 1;
    f.duration = 5.2;
    snprintf(f.model_id, sizeof f.model_id, "test/model");
    f.source = "some/dir/video name.mp4";
    f.source_size = 12345;
    f.source_mtime = 1700000000123456789LL;
    f.source_hash = 0xdeadbeefcafef00dULL;
    f.n_damaged = 3;
    float data[5 * 9 * 8], times[5];
    for (int i = 0; i < 5 * 9 * 8; i++) data[i] = (float)i * 0.25f - 7;
    for (int i = 0; i < 5; i++) times[i] = (float)i;
    f.data = data;
    f.times = times;
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/ff_test.vsf", vs_test_tmpdir());
    snprintf(bad, sizeof bad, "%s/ff_bad.vsf", vs_test_tmpdir());
    CHECK_EQ(vs_features_save(&f, path), VS_OK);
    vs_features *g;
    CHECK_EQ(vs_features_load(&g, path), VS_OK);
    CHECK(g->T == 5 && g->R == 9 && g->D == 8);
    CHECK(memcmp(g->data, data, sizeof data) == 0);
    CHECK(memcmp(g->times, times, sizeof times) == 0);
    CHECK(((uintptr_t)g->data & 63) == 0);
    CHECK(!strcmp(g->source, f.source) && !strcmp(g->model_id, "test/model"));
    CHECK(g->source_hash == f.source_hash && g->source_size == 12345 &&
          g->source_mtime == f.source_mtime && g->n_damaged == 3);
    CHECK_NEAR(g->duration, 5.2, 0);
    g->data[0] = 99; /* copy-on-write mapping: the file stays intact */
    vs_features_free(g);
    CHECK_EQ(vs_features_load(&g, path), VS_OK);
    CHECK_NEAR(g->data[0], data[0], 0);
    vs_features_free(g);
    size_t len;
    unsigned char *buf = vs_test_read_file(path, &len);
    for (int k = 0; k < 3; k++) {
        FILE *fp = fopen(bad, "wb");
        if (k == 0) fwrite(buf, 1, len - 10, fp);
        if (k == 1) { buf[len - 30] ^= 1; fwrite(buf, 1, len, fp); buf[len - 30] ^= 1; }
        if (k == 2) fwrite(buf + 64, 1, len - 64, fp);
        fclose(fp);
        g = NULL;
        CHECK_EQ(vs_features_load(&g, bad), VS_ERR_FORMAT);
        CHECK(g == NULL);
        CHECK_MSG(strstr(vs_last_error(), "ff_bad.vsf") != NULL, "%s", vs_last_error());
    }
    free(buf);
    uint64_t h1, h2, sz;
    int64_t mt;
    CHECK_EQ(vs_file_fingerprint(path, &h1, &sz, &mt), VS_OK);
    CHECK_EQ(sz, len);
    CHECK_EQ(vs_file_fingerprint(bad, &h2, &sz, &mt), VS_OK);
    CHECK(h1 != h2);
}

int main(void) {
    test_grid();
    test_pool();
    test_pool_random();
    test_pca();
    test_featfile();
    return vs_test_done();
}
