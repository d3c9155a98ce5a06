/*
 * ann.c - vs_ann (ann.h): the exact flat inner-product index in plain C (the
 * reference, always built), and the dispatch to the FAISS shim (faiss_shim.cc) for
 * "faiss:FACTORY" specs when built with VS_HAVE_FAISS, with vidsim's own scan of FAISS's
 * IVF-SQ8 lists (sq8scan.c's kernels); the global (mean) vector of a video's regions and
 * the segment vectors of its temporal parts.
 */
#include "vidsim/ann.h"
#include "ann/ann_internal.h"
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vs_ann {
    int d;
    char spec[256];
    void *fx;       /* FAISS index, or NULL for flat */
    float *x;       /* flat: [n, d] */
    long n, cap;
};

int vs_ann_have_faiss(void) {
#ifdef VS_HAVE_FAISS
    return 1;
#else
    return 0;
#endif
}

vs_status vs_ann_create(vs_ann **out, int d, const char *spec) {
    *out = NULL;
    if (d <= 0) return vs__err(VS_ERR_INVALID_ARG, "ann: bad dimension %d", d);
    if (!spec || (strcmp(spec, "flat") && strncmp(spec, "faiss:", 6)) || strlen(spec) >= 256)
        return vs__err(VS_ERR_INVALID_ARG, "ann: unknown index '%s' (flat or faiss:FACTORY, e.g. faiss:HNSW32)",
                       spec ? spec : "(null)");
    vs_ann *a = vs__calloc(1, sizeof *a);
    if (!a) return vs__err(VS_ERR_NOMEM, "out of memory");
    a->d = d;
    snprintf(a->spec, sizeof a->spec, "%s", spec);
    if (!strncmp(spec, "faiss:", 6)) {
#ifdef VS_HAVE_FAISS
        char err[1024] = "";
        a->fx = vs__faiss_create(d, spec + 6, err, sizeof err);
        if (!a->fx) {
            vs__free(a);
            return vs__err(VS_ERR_INVALID_ARG, "ann: FAISS index '%s': %s", spec + 6, err);
        }
#else
        vs__free(a);
        return vs__err(VS_ERR_UNSUPPORTED, "ann: '%s' needs FAISS, and this vidsim was built without it "
                                           "(install libfaiss-dev and rebuild; 'flat' works without)", spec);
#endif
    }
    *out = a;
    return VS_OK;
}

void vs_ann_free(vs_ann *a) {
    if (!a) return;
#ifdef VS_HAVE_FAISS
    if (a->fx) vs__faiss_free(a->fx);
#endif
    vs__free(a->x);
    vs__free(a);
}

int vs_ann_dim(const vs_ann *a) { return a->d; }
const char *vs_ann_spec(const vs_ann *a) { return a->spec; }

long vs_ann_size(const vs_ann *a) { return a->n; }

int vs_ann_is_trained(const vs_ann *a) {
#ifdef VS_HAVE_FAISS
    if (a->fx) return vs__faiss_is_trained(a->fx);
#else
    (void)a;
#endif
    return 1;
}

vs_status vs_ann_train(vs_ann *a, const float *x, long n) {
    if (n < 0) return vs__err(VS_ERR_INVALID_ARG, "ann: bad count %ld", n);
#ifdef VS_HAVE_FAISS
    char err[1024] = "";
    if (a->fx && vs__faiss_train(a->fx, n, x, err, sizeof err))
        return vs__err(VS_ERR_INVALID_ARG, "ann: training %s on %ld vectors: %s", a->spec, n, err);
#else
    (void)a, (void)x;
#endif
    return VS_OK;
}

vs_status vs_ann_add(vs_ann *a, const float *x, long n) {
    if (n < 0) return vs__err(VS_ERR_INVALID_ARG, "ann: bad count %ld", n);
    if (!n) return VS_OK;
#ifdef VS_HAVE_FAISS
    if (a->fx) {
        char err[1024] = "";
        if (!vs__faiss_is_trained(a->fx))
            return vs__err(VS_ERR_INVALID_ARG, "ann: %s is not trained (vs_ann_train first)", a->spec);
        if (vs__faiss_add(a->fx, n, x, err, sizeof err))
            return vs__err(VS_ERR_INTERNAL, "ann: adding %ld vectors to %s: %s", n, a->spec, err);
        a->n += n;
        return VS_OK;
    }
#endif
    if (a->n + n > a->cap) {
        long cap = a->cap ? a->cap : 1024;
        while (cap < a->n + n) cap *= 2;
        float *nx = vs__realloc(a->x, sizeof(float) * (size_t)cap * (size_t)a->d);
        if (!nx) return vs__err(VS_ERR_NOMEM, "ann: out of memory for %ld vectors", cap);
        a->x = nx;
        a->cap = cap;
    }
    memcpy(a->x + (size_t)a->n * a->d, x, sizeof(float) * (size_t)n * a->d);
    a->n += n;
    return VS_OK;
}

vs_status vs_ann_set(vs_ann *a, const char *params) {
    if (!params || !*params) return VS_OK;
#ifdef VS_HAVE_FAISS
    if (a->fx) {
        char err[1024] = "";
        if (vs__faiss_set(a->fx, params, err, sizeof err))
            return vs__err(VS_ERR_INVALID_ARG, "ann: parameters '%s' for %s: %s", params, a->spec, err);
        return VS_OK;
    }
#else
    (void)a;
#endif
    return vs__err(VS_ERR_INVALID_ARG, "ann: the flat index takes no parameters, got '%s'", params);
}

static float dot(const float *a, const float *b, int d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < d; j++) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

/* heap order: a is "worse" than b (lower score, or equal score and higher id) */
static int worse(float sa, int64_t ia, float sb, int64_t ib) { return sa < sb || (sa == sb && ia > ib); }

/* Min-heap (worst on top) of the k best so far. */
static void sift_down(float *s, int64_t *id, long n, long i) {
    for (;;) {
        long l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(s[l], id[l], s[m], id[m])) m = l;
        if (r < n && worse(s[r], id[r], s[m], id[m])) m = r;
        if (m == i) return;
        float ts = s[i];
        int64_t ti = id[i];
        s[i] = s[m], id[i] = id[m];
        s[m] = ts, id[m] = ti;
        i = m;
    }
}

/* Offer (v, i) to the min-heap sc/ids of *h of the k best so far. */
static void heap_offer(float *sc, int64_t *ids, long *h, long k, float v, int64_t i) {
    if (*h < k) {
        long j = (*h)++;
        sc[j] = v, ids[j] = i;
        while (j > 0) { /* sift up */
            long p = (j - 1) / 2;
            if (!worse(sc[j], ids[j], sc[p], ids[p])) break;
            float ts = sc[j];
            int64_t ti = ids[j];
            sc[j] = sc[p], ids[j] = ids[p];
            sc[p] = ts, ids[p] = ti;
            j = p;
        }
    } else if (worse(sc[0], ids[0], v, i)) {
        sc[0] = v, ids[0] = i;
        sift_down(sc, ids, *h, 0);
    }
}

/* The heap of h into best-first order, -inf / -1 past h up to k. */
static void heap_finish(float *sc, int64_t *ids, long h, long k) {
    for (long e = h - 1; e > 0; e--) { /* pop the worst to the end */
        float ts = sc[0];
        int64_t ti = ids[0];
        sc[0] = sc[e], ids[0] = ids[e];
        sc[e] = ts, ids[e] = ti;
        sift_down(sc, ids, e, 0);
    }
    for (long j = h; j < k; j++) sc[j] = -INFINITY, ids[j] = -1;
}

/* Exact search of nq queries in one pass over the vectors: a block of rows (in cache)
 * against every query, so that several queries (a video's segment vectors) read the
 * index once. Rows are offered in ascending order to each query's heap, so the result
 * is the same as one query at a time. */
static vs_status flat_search(const vs_ann *a, const float *q, long nq, long k, float *sc, int64_t *ids) {
    enum { BLOCK = 64 }; /* rows: 64 KB at d = 256 */
    long *h = vs__calloc((size_t)nq + 1, sizeof *h);
    if (!h) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (long i0 = 0; i0 < a->n; i0 += BLOCK) {
        long i1 = i0 + BLOCK < a->n ? i0 + BLOCK : a->n;
        for (long qi = 0; qi < nq; qi++) {
            const float *qv = q + (size_t)qi * a->d;
            float *s = sc + qi * k;
            int64_t *id = ids + qi * k;
            for (long i = i0; i < i1; i++) heap_offer(s, id, &h[qi], k, dot(qv, a->x + (size_t)i * a->d, a->d), i);
        }
    }
    for (long qi = 0; qi < nq; qi++) heap_finish(sc + qi * k, ids + qi * k, h[qi], k);
    vs__free(h);
    return VS_OK;
}

#ifdef VS_HAVE_FAISS
/* IVF-SQ8 search with vidsim's own scan (sq8scan.c): FAISS's index, lists and trained
 * ranges, FAISS's score formula (ann_internal.h), the vectors' SQ8 part through kern.
 * Per query: the coarse scores of every list, the nprobe best lists, then every code of
 * those lists offered to the k-heap (ties to the lower id, as the flat index). */
static vs_status ivfsq8_search(const vs__ivfsq8 *v, const vs__sq8_kernel *kern, const float *q, long nq, long k,
                               float *sc, int64_t *ids) {
    const int d = v->d;
    const long np = v->nprobe < 1 ? 1 : v->nprobe > v->nlist ? v->nlist : v->nprobe;
    float *cs = vs__malloc(sizeof(float) * ((size_t)v->nlist + (size_t)np + (size_t)d));
    int64_t *pl = vs__malloc(sizeof(int64_t) * (size_t)np);
    if (!cs || !pl) {
        vs__free(cs);
        vs__free(pl);
        return vs__err(VS_ERR_NOMEM, "ann: out of memory");
    }
    float *ps = cs + v->nlist, *w = ps + np;
    for (long qi = 0; qi < nq; qi++) {
        const float *qv = q + (size_t)qi * d;
        long h = 0;
        for (long l = 0; l < v->nlist; l++) {
            cs[l] = dot(qv, v->centroids + (size_t)l * d, d);
            heap_offer(ps, pl, &h, np, cs[l], l);
        }
        /* the code's part: sum_j (q_j vdiff_j / 255) code_j; the rest is one number */
        double c0 = 0.0;
        for (int j = 0; j < d; j++) {
            w[j] = qv[j] * v->vdiff[j] / 255.0f;
            c0 += (double)qv[j] * v->vmin[j] + 0.5 * w[j];
        }
        float *s = sc + qi * k;
        int64_t *id = ids + qi * k;
        long hk = 0;
        for (long p = 0; p < h; p++) {
            const uint8_t *codes;
            const int64_t *lid;
            const long n = vs__faiss_list(v->ix, pl[p], &codes, &lid);
            const float base = (float)c0 + (v->by_residual ? cs[pl[p]] : 0.0f);
            for (long i = 0; i < n; i++)
                heap_offer(s, id, &hk, k, base + kern->dot(codes + (size_t)i * d, w, d), lid[i]);
        }
        heap_finish(s, id, hk, k);
    }
    vs__free(cs);
    vs__free(pl);
    return VS_OK;
}
#endif

vs_status vs_ann_search(const vs_ann *a, const float *q, long nq, long k, float *scores, int64_t *ids) {
    if (nq < 0 || k <= 0) return vs__err(VS_ERR_INVALID_ARG, "ann: bad search nq=%ld k=%ld", nq, k);
#ifdef VS_HAVE_FAISS
    vs__ivfsq8 v;
    const vs__sq8_kernel *kern = vs__sq8_current();
    if (a->fx && kern->dot && vs__faiss_ivfsq8(a->fx, &v)) return ivfsq8_search(&v, kern, q, nq, k, scores, ids);
    if (a->fx) {
        char err[1024] = "";
        if (vs__faiss_search(a->fx, nq, q, k, scores, ids, err, sizeof err))
            return vs__err(VS_ERR_INTERNAL, "ann: searching %s: %s", a->spec, err);
        for (long i = 0; i < nq * k; i++)
            if (ids[i] < 0) scores[i] = -INFINITY;
        return VS_OK;
    }
#endif
    return flat_search(a, q, nq, k, scores, ids);
}

static const char FLAT_MAGIC[8] = {'V', 'S', 'A', 'N', 'N', 'F', 'L', '1'};

vs_status vs_ann_save(const vs_ann *a, const char *path) {
    unsigned char *buf = NULL;
    size_t len = 0;
#ifdef VS_HAVE_FAISS
    if (a->fx) {
        char err[1024] = "";
        if (vs__faiss_serialize(a->fx, &buf, &len, err, sizeof err))
            return vs__err(VS_ERR_IO, "%s: writing %s: %s", path, a->spec, err);
        vs_status st = vs__write_file_atomic(path, buf, len);
        free(buf); /* malloc'd by the shim */
        return st;
    }
#endif
    len = 8 + 4 + 8 + sizeof(float) * (size_t)a->n * a->d;
    if (!(buf = vs__malloc(len))) return vs__err(VS_ERR_NOMEM, "out of memory");
    int32_t d = a->d;
    int64_t n = a->n;
    memcpy(buf, FLAT_MAGIC, 8);
    memcpy(buf + 8, &d, 4);
    memcpy(buf + 12, &n, 8);
    if (n) memcpy(buf + 20, a->x, sizeof(float) * (size_t)n * d);
    vs_status st = vs__write_file_atomic(path, buf, len);
    vs__free(buf);
    return st;
}

vs_status vs_ann_load(vs_ann **out, const char *path, const char *spec, int d) {
    *out = NULL;
    vs_ann *a = NULL;
    vs_status st = vs_ann_create(&a, d, spec);
    if (st) return st;
#ifdef VS_HAVE_FAISS
    if (a->fx) {
        char err[1024] = "";
        void *fx = vs__faiss_read(path, err, sizeof err);
        if (!fx) {
            vs_ann_free(a);
            return vs__err(VS_ERR_FORMAT, "%s: not a readable FAISS index: %s", path, err);
        }
        vs__faiss_free(a->fx);
        a->fx = fx;
        int fd = vs__faiss_dim(fx);
        if (fd != d) {
            vs_ann_free(a);
            return vs__err(VS_ERR_FORMAT, "%s: FAISS index of %d-dim vectors, expected %d", path, fd, d);
        }
        a->n = vs__faiss_ntotal(fx); /* ids continue from the stored count */
        *out = a;
        return VS_OK;
    }
#endif
    FILE *f = fopen(path, "rb");
    if (!f) {
        vs_ann_free(a);
        return vs__err(VS_ERR_IO, "%s: cannot open", path);
    }
    char magic[8];
    int32_t fd = 0;
    int64_t n = 0;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, FLAT_MAGIC, 8) || fread(&fd, 4, 1, f) != 1 ||
        fread(&n, 8, 1, f) != 1 || fd != d || n < 0) {
        fclose(f);
        vs_ann_free(a);
        return vs__err(VS_ERR_FORMAT, "%s: not a flat vidsim ANN file of %d-dim vectors", path, d);
    }
    a->x = vs__malloc(sizeof(float) * ((size_t)n * d + 1));
    if (!a->x || fread(a->x, sizeof(float) * d, (size_t)n, f) != (size_t)n) {
        fclose(f);
        vs_ann_free(a);
        return vs__err(VS_ERR_FORMAT, "%s: truncated (%lld vectors announced)", path, (long long)n);
    }
    fclose(f);
    a->n = a->cap = n;
    *out = a;
    return VS_OK;
}

void vs_ann_mean_vector(float *out, const float *x, long n, int D) {
    double *acc = NULL;
    for (int j = 0; j < D; j++) out[j] = 0;
    if (n <= 0) return;
    /* float sums per row block, then double: stable and fast enough for T x R rows */
    acc = vs__calloc((size_t)D, sizeof *acc);
    if (!acc) {
        for (long i = 0; i < n; i++)
            for (int j = 0; j < D; j++) out[j] += x[(size_t)i * D + j];
    } else {
        for (long i = 0; i < n; i++)
            for (int j = 0; j < D; j++) acc[j] += x[(size_t)i * D + j];
    }
    double s = 0;
    for (int j = 0; j < D; j++) {
        double v = acc ? acc[j] : out[j];
        s += v * v;
    }
    s = sqrt(s);
    for (int j = 0; j < D; j++) out[j] = s > 0 ? (float)((acc ? acc[j] : out[j]) / s) : 0.0f;
    vs__free(acc);
}

int vs_ann_segment_vectors(float *out, const float *x, int T, int R, int D, int S) {
    if (S < 1) S = 1;
    if (T <= 0 || R <= 0) {
        vs_ann_mean_vector(out, x, 0, D);
        return 1;
    }
    if (S == 1) {
        vs_ann_mean_vector(out, x, (long)T * R, D);
        return 1;
    }
    int P = T < S ? T : S;
    for (int j = 0; j < P; j++) {
        long a = (long)j * T / P, b = (long)(j + 1) * T / P; /* b > a since T >= P */
        vs_ann_mean_vector(out + (size_t)j * D, x + (size_t)a * R * D, (b - a) * R, D);
    }
    return P;
}
