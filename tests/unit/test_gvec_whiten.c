/*
 * test_gvec_whiten.c - the learned whitening of global vectors (ann.h vs_gvec_whiten_*):
 * a known answer (pairs whose difference scatter is diag(2, 0.5): W = diag(1/sqrt(2 +
 * 1.25 s), 1/sqrt(0.5 + 1.25 s))); on random pairs in d = 24, W against a plain double
 * reference (Jacobi eigendecomposition of the scatter, written here) to 2e-5 of its
 * largest entry, W symmetric and W (C + reg I) W = I; apply equal to normalise(W x) in
 * double (1e-6), a zero row left zero, a row's floats the same alone and among others;
 * save / load round trip (same bits, id and metadata); refusals: no pairs, d out of range,
 * shrink <= 0, a non-finite value, pairs that never differ, a file of another kind, a
 * damaged file (named).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "core/tensorfile.h"
#include "vidsim/ann.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double gauss(void) {
    double u = urand() + 1e-12, v = urand();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Cyclic Jacobi: A [n, n] symmetric (destroyed) -> eigenvalues ev, eigenvectors in the
 * columns of V. */
static void jacobi(double *A, int n, double *ev, double *V) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) V[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) off += A[i * n + j] * A[i * n + j];
        if (off < 1e-30) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                if (fabs(A[p * n + q]) < 1e-300) continue;
                double th = (A[q * n + q] - A[p * n + p]) / (2 * A[p * n + q]);
                double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* A := J^T A J */
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = V[k * n + p], vkq = V[k * n + q];
                    V[k * n + p] = c * vkp - s * vkq;
                    V[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++) ev[i] = A[i * n + i];
}

static void test_known_answer(void) {
    /* differences (+-2, 0) and (0, +-1), as many of each: C = diag(2, 0.5), mean eigenvalue 1.25 */
    enum { N = 8 };
    float a[N * 2], b[N * 2];
    for (int i = 0; i < N; i++) {
        float s = i % 4 < 2 ? 1.0f : -1.0f;
        a[2 * i] = 0.3f, a[2 * i + 1] = -0.1f;
        b[2 * i] = a[2 * i] - (i % 2 == 0 ? 2 * s : 0);
        b[2 * i + 1] = a[2 * i + 1] - (i % 2 == 1 ? s : 0);
    }
    const double shr[] = {0.1, 1.0, 3.0};
    for (int k = 0; k < 3; k++) {
        vs_gvec_whiten *w = NULL;
        CHECK_EQ(vs_gvec_whiten_learn(&w, a, b, N, 2, shr[k], NULL), VS_OK);
        if (!w) continue;
        const float *W = vs_gvec_whiten_matrix(w);
        double w0 = 1 / sqrt(2 + 1.25 * shr[k]), w1 = 1 / sqrt(0.5 + 1.25 * shr[k]);
        CHECK_MSG(fabs(W[0] - w0) < 1e-6 && fabs(W[3] - w1) < 1e-6 && fabs(W[1]) < 1e-7 && fabs(W[2]) < 1e-7,
                  "shrink %g: W = [%g %g; %g %g], want diag(%g, %g)", shr[k], W[0], W[1], W[2], W[3], w0, w1);
        CHECK(vs_gvec_whiten_dim(w) == 2 && !strcmp(vs_gvec_whiten_meta(w, "n_pairs"), "8"));
        vs_gvec_whiten_free(w);
    }
}

enum { DD = 24, NP = 400 };
static float pa[NP * DD], pb[NP * DD];

static void make_pairs(void) {
    /* a: random vectors; b = a + a difference stretched along a few directions */
    double stretch[DD];
    for (int j = 0; j < DD; j++) stretch[j] = j < 4 ? 1.5 : 0.2;
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < DD; j++) {
            pa[i * DD + j] = (float)gauss();
            pb[i * DD + j] = (float)(pa[i * DD + j] + stretch[(j * 7) % DD] * gauss() + 0.1 * gauss());
        }
}

static void test_against_reference(void) {
    const double shrink = 0.7;
    vs_gvec_whiten *w = NULL;
    const char *meta[] = {"features", "synthetic/24", NULL};
    CHECK_EQ(vs_gvec_whiten_learn(&w, pa, pb, NP, DD, shrink, meta), VS_OK);
    if (!w) return;
    CHECK(!strcmp(vs_gvec_whiten_meta(w, "features"), "synthetic/24"));
    CHECK(vs_gvec_whiten_meta(w, "nothing") == NULL);
    static double C[DD * DD], V[DD * DD], ev[DD], R[DD * DD], Cr[DD * DD];
    memset(C, 0, sizeof C);
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < DD; j++)
            for (int k = 0; k < DD; k++)
                C[j * DD + k] += ((double)pa[i * DD + j] - pb[i * DD + j]) * ((double)pa[i * DD + k] - pb[i * DD + k]);
    double tr = 0;
    for (int j = 0; j < DD * DD; j++) C[j] /= NP;
    for (int j = 0; j < DD; j++) tr += C[j * DD + j];
    double reg = shrink * tr / DD;
    memcpy(Cr, C, sizeof C);
    jacobi(Cr, DD, ev, V);
    double maxref = 0;
    for (int i = 0; i < DD; i++)
        for (int j = 0; j < DD; j++) {
            double s = 0;
            for (int k = 0; k < DD; k++) s += V[i * DD + k] * V[j * DD + k] / sqrt((ev[k] > 0 ? ev[k] : 0) + reg);
            R[i * DD + j] = s;
            if (fabs(s) > maxref) maxref = fabs(s);
        }
    const float *W = vs_gvec_whiten_matrix(w);
    double maxd = 0, asym = 0;
    for (int i = 0; i < DD * DD; i++)
        if (fabs(W[i] - R[i]) > maxd) maxd = fabs(W[i] - R[i]);
    for (int i = 0; i < DD; i++)
        for (int j = 0; j < DD; j++) asym = fmax(asym, fabs(W[i * DD + j] - W[j * DD + i]));
    CHECK_MSG(maxd < 2e-5 * maxref, "W against the Jacobi reference: max |diff| %.3g (max |W| %.3g)", maxd, maxref);
    CHECK_MSG(asym == 0, "W not symmetric: %.3g", asym);
    /* W (C + reg I) W = I */
    double maxe = 0;
    for (int i = 0; i < DD; i++)
        for (int j = 0; j < DD; j++) {
            double s = 0;
            for (int k = 0; k < DD; k++)
                for (int l = 0; l < DD; l++)
                    s += (double)W[i * DD + k] * (C[k * DD + l] + (k == l ? reg : 0)) * W[l * DD + j];
            maxe = fmax(maxe, fabs(s - (i == j)));
        }
    CHECK_MSG(maxe < 1e-4, "W (C + reg I) W differs from I by %.3g", maxe);

    /* apply: normalise(W x) in double; a zero row stays zero; rows independent */
    enum { NR = 5 };
    float x[NR * DD], one[DD];
    for (int i = 0; i < NR * DD; i++) x[i] = (float)gauss();
    for (int j = 0; j < DD; j++) x[2 * DD + j] = 0; /* row 2: zero */
    float x0[NR * DD];
    memcpy(x0, x, sizeof x);
    memcpy(one, x + 3 * DD, sizeof one);
    CHECK_EQ(vs_gvec_whiten_apply(w, x, NR), VS_OK);
    CHECK_EQ(vs_gvec_whiten_apply(w, one, 1), VS_OK);
    double maxa = 0;
    for (int i = 0; i < NR; i++) {
        double y[DD], n2 = 0;
        for (int j = 0; j < DD; j++) {
            y[j] = 0;
            for (int k = 0; k < DD; k++) y[j] += R[j * DD + k] * x0[i * DD + k];
            n2 += y[j] * y[j];
        }
        for (int j = 0; j < DD; j++) {
            double want = n2 > 0 ? y[j] / sqrt(n2) : 0;
            maxa = fmax(maxa, fabs(x[i * DD + j] - want));
        }
    }
    CHECK_MSG(maxa < 1e-5, "apply against normalise(W x): %.3g", maxa);
    int zero = 1;
    for (int j = 0; j < DD; j++) zero &= x[2 * DD + j] == 0.0f;
    CHECK_MSG(zero, "a zero row must stay zero");
    CHECK_MSG(!memcmp(one, x + 3 * DD, sizeof one), "a row alone and among others: the same floats");

    /* save / load */
    char path[1200];
    snprintf(path, sizeof path, "%s/whiten.vstf", vs_test_tmpdir());
    CHECK_EQ(vs_gvec_whiten_save(w, path), VS_OK);
    vs_gvec_whiten *l = NULL;
    CHECK_EQ(vs_gvec_whiten_load(&l, path), VS_OK);
    if (l) {
        CHECK(vs_gvec_whiten_dim(l) == DD && !memcmp(vs_gvec_whiten_matrix(l), W, sizeof(float) * DD * DD));
        CHECK(!strcmp(vs_gvec_whiten_id(l), vs_gvec_whiten_id(w)) && strlen(vs_gvec_whiten_id(l)) == 16);
        CHECK(!strcmp(vs_gvec_whiten_meta(l, "features"), "synthetic/24"));
        CHECK(!strcmp(vs_gvec_whiten_meta(l, "shrink"), "0.69999999999999996"));
        CHECK(!strcmp(vs_gvec_whiten_meta(l, "n_pairs"), "400"));
    }
    vs_gvec_whiten_free(l);
    /* damaged: one byte of W flipped -> the checksum fails, the file is named */
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.bad' && printf 'X' | dd of='%s.bad' bs=1 seek=600 conv=notrunc 2>/dev/null",
             path, path, path);
    CHECK(system(cmd) == 0);
    char bad[1300];
    snprintf(bad, sizeof bad, "%s.bad", path);
    l = NULL;
    vs_status st = vs_gvec_whiten_load(&l, bad);
    CHECK_MSG(st != VS_OK && l == NULL && strstr(vs_last_error(), "whiten.vstf.bad"), "damaged file: %s",
              vs_last_error());
    vs_gvec_whiten_free(w);
}

static void test_refusals(void) {
    vs_gvec_whiten *w = (vs_gvec_whiten *)1;
    CHECK(vs_gvec_whiten_learn(&w, pa, pb, 0, DD, 1, NULL) == VS_ERR_INVALID_ARG && w == NULL);
    CHECK(vs_gvec_whiten_learn(&w, pa, pb, NP, 0, 1, NULL) == VS_ERR_INVALID_ARG);
    CHECK(vs_gvec_whiten_learn(&w, pa, pb, NP, 5000, 1, NULL) == VS_ERR_INVALID_ARG);
    CHECK(vs_gvec_whiten_learn(&w, pa, pb, NP, DD, 0, NULL) == VS_ERR_INVALID_ARG);
    CHECK(vs_gvec_whiten_learn(&w, pa, pb, NP, DD, NAN, NULL) == VS_ERR_INVALID_ARG);
    CHECK(vs_gvec_whiten_learn(&w, pa, pa, NP, DD, 1, NULL) == VS_ERR_INVALID_ARG &&
          strstr(vs_last_error(), "never differ"));
    float keep = pb[5];
    pb[5] = NAN;
    CHECK(vs_gvec_whiten_learn(&w, pa, pb, NP, DD, 1, NULL) == VS_ERR_INVALID_ARG &&
          strstr(vs_last_error(), "non-finite"));
    pb[5] = keep;
    CHECK(w == NULL);
    /* a VSTF of another kind, one with W of the wrong shape, one with a NaN in W; not a VSTF */
    char path[1200];
    float Wb[4] = {1, 0, 0, NAN};
    int64_t d2[2] = {2, 2}, d3[2] = {2, 3};
    struct { const char *name, *kind, *dim; int64_t *dims; const char *why; } cases[] = {
        {"kind.vstf", "pca_whitening", "2", d2, "not a global-vector whitening file"},
        {"shape.vstf", "gvec_whitening", "2", d3, "shape"},
        {"nan.vstf", "gvec_whitening", "2", d2, "non-finite"},
        {"dim.vstf", "gvec_whitening", "0", d2, "bad dim"},
    };
    for (int c = 0; c < 4; c++) {
        snprintf(path, sizeof path, "%s/%s", vs_test_tmpdir(), cases[c].name);
        vs__tfw *wr = NULL;
        float Wsix[6] = {1, 0, 0, 0, 1, 0};
        CHECK_EQ(vs__tfw_create(&wr), VS_OK);
        vs__tfw_meta(wr, "kind", cases[c].kind);
        vs__tfw_meta(wr, "dim", cases[c].dim);
        vs__tfw_add(wr, "whiten.W", VS_DT_F32, 2, cases[c].dims, cases[c].dims == d3 ? Wsix : Wb);
        CHECK_EQ(vs__tfw_save(wr, path), VS_OK);
        vs__tfw_free(wr);
        vs_gvec_whiten *l = (vs_gvec_whiten *)1;
        vs_status st = vs_gvec_whiten_load(&l, path);
        CHECK_MSG(st == VS_ERR_FORMAT && l == NULL && strstr(vs_last_error(), cases[c].name) &&
                      strstr(vs_last_error(), cases[c].why),
                  "%s: status %d, %s", cases[c].name, st, vs_last_error());
    }
    snprintf(path, sizeof path, "%s/not_a_vstf", vs_test_tmpdir());
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("hello", f);
        fclose(f);
    }
    vs_gvec_whiten *l = NULL;
    CHECK(vs_gvec_whiten_load(&l, path) != VS_OK && l == NULL && strstr(vs_last_error(), "not_a_vstf"));
    CHECK(vs_gvec_whiten_load(&l, "/nonexistent/w.vstf") == VS_ERR_IO && strstr(vs_last_error(), "/nonexistent/w.vstf"));
}

int main(void) {
    test_known_answer();
    make_pairs();
    test_against_reference();
    test_refusals();
    return vs_test_done();
}
