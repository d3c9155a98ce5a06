/*
 * quant.c - the feature codecs of vidsim/quant.h: product quantisation (k-means per
 * sub-space, deterministic) and int8 with a per-vector scale; encode and decode,
 * each with a plain reference version, and the codebook file (VSTF, atomic,
 * checksummed; docs/formats.md "Codebook").
 */
#define _POSIX_C_SOURCE 200809L
#include "core/internal.h"
#include "core/tensorfile.h"
#include "vidsim/quant.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define Q_KIND "vidsim-codebook"
#define Q_K 256 /* centroids per sub-space: one byte per code */

struct vs_quant {
    char codec[16];      /* "pq64", "int8" */
    int pq;              /* 1: product quantisation, 0: int8 */
    int dim, m, dsub;    /* PQ: m sub-spaces of dsub dims */
    int code_size;
    float *cent;         /* PQ: [m, 256, dsub] */
    float *cnorm;        /* PQ: [m, 256] squared norms */
    char id[17];
    char model_id[64];
};

vs_quant_params vs_quant_default_params(void) {
    vs_quant_params p = {25, 32768, 1};
    return p;
}

vs_status vs_quant_check_codec(const char *codec, int dim, int *code_size) {
    if (code_size) *code_size = 0;
    if (!codec) return vs__err(VS_ERR_INVALID_ARG, "no codec given (int8 or pqM)");
    if (dim < 1 || dim > 65536) return vs__err(VS_ERR_INVALID_ARG, "codec %s: bad dimension %d", codec, dim);
    if (!strcmp(codec, "int8")) {
        if (code_size) *code_size = dim + 4;
        return VS_OK;
    }
    if (!strncmp(codec, "pq", 2) && codec[2] >= '1' && codec[2] <= '9') {
        char *end;
        long m = strtol(codec + 2, &end, 10);
        if (!*end && m >= 1 && m <= dim && dim % m == 0) {
            if (code_size) *code_size = (int)m;
            return VS_OK;
        }
        return vs__err(VS_ERR_INVALID_ARG, "codec %s: the number of sub-vectors must divide the dimension %d",
                       codec, dim);
    }
    return vs__err(VS_ERR_INVALID_ARG, "unknown codec '%s' (known: int8, pqM with M dividing %d, e.g. pq64)",
                   codec, dim);
}

/* The codec fields from its name (checked). */
static vs_status q_new(vs_quant **out, const char *codec, int dim, const char *model_id) {
    *out = NULL;
    int cs;
    vs_status s = vs_quant_check_codec(codec, dim, &cs);
    if (s) return s;
    vs_quant *q = vs__calloc(1, sizeof *q);
    if (!q) return vs__err(VS_ERR_NOMEM, "out of memory");
    snprintf(q->codec, sizeof q->codec, "%s", codec);
    snprintf(q->model_id, sizeof q->model_id, "%s", model_id ? model_id : "");
    q->dim = dim;
    q->code_size = cs;
    q->pq = codec[0] == 'p';
    if (q->pq) {
        q->m = cs;
        q->dsub = dim / cs;
        q->cent = vs__malloc((size_t)q->m * Q_K * q->dsub * sizeof(float));
        q->cnorm = vs__malloc((size_t)q->m * Q_K * sizeof(float));
        if (!q->cent || !q->cnorm) {
            vs_quant_free(q);
            return vs__err(VS_ERR_NOMEM, "out of memory");
        }
    }
    *out = q;
    return VS_OK;
}

void vs_quant_free(vs_quant *q) {
    if (!q) return;
    vs__free(q->cent);
    vs__free(q->cnorm);
    vs__free(q);
}

/* Norms of the centroids and the id: FNV-1a 64 of the codec, dim and centroids. */
static void q_finish(vs_quant *q) {
    uint64_t h = vs__fnv1a(VS__FNV_INIT, q->codec, strlen(q->codec));
    int32_t d = q->dim;
    h = vs__fnv1a(h, &d, 4);
    if (q->pq) {
        h = vs__fnv1a(h, q->cent, (size_t)q->m * Q_K * q->dsub * sizeof(float));
        for (long c = 0; c < (long)q->m * Q_K; c++) {
            const float *v = q->cent + c * q->dsub;
            float s = 0;
            for (int k = 0; k < q->dsub; k++) s += v[k] * v[k];
            q->cnorm[c] = s;
        }
    }
    snprintf(q->id, sizeof q->id, "%016llx", (unsigned long long)h);
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Nearest centroid of n sub-vectors x (row i at x + i*ld, ds dims) among c [256, ds]
 * (norms cn): argmin ||c||^2 - 2 x.c, the dot products by BLAS in blocks of QB rows.
 * out[i] (int or byte, by out_int / out_u8) at stride ostride. */
enum { QB = 64 };
static void assign_block(const float *x, long n, int ld, const float *c, const float *cn, int ds, int *out_int,
                         uint8_t *out_u8, int ostride) {
    float dots[QB * Q_K];
    for (long i0 = 0; i0 < n; i0 += QB) {
        int nb = (int)(n - i0 < QB ? n - i0 : QB);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, Q_K, ds, 1.0f, x + (size_t)i0 * ld, ld, c, ds, 0.0f,
                    dots, Q_K);
        for (int i = 0; i < nb; i++) {
            const float *d = dots + (size_t)i * Q_K;
            int best = 0;
            float bd = INFINITY;
            for (int k = 0; k < Q_K; k++) {
                float v = cn[k] - 2 * d[k];
                if (v < bd) { bd = v; best = k; }
            }
            if (out_int) out_int[(i0 + i) * ostride] = best;
            else out_u8[(i0 + i) * ostride] = (uint8_t)best;
        }
    }
}

/* k-means of one sub-space: xs [n, ds] (n >= 1) into c [256, ds]. */
static void kmeans(const float *xs, long n, int ds, int iters, uint64_t *rng, float *c, float *cn,
                   int *assign, double *sum, long *cnt) {
    /* initial centroids: random rows (every row, repeated, when n < 256) */
    for (int k = 0; k < Q_K; k++) {
        long i = n >= Q_K ? (long)(splitmix(rng) % (uint64_t)n) : k % n;
        memcpy(c + (size_t)k * ds, xs + (size_t)i * ds, ds * sizeof(float));
    }
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < Q_K; k++) {
            float s = 0;
            for (int j = 0; j < ds; j++) s += c[k * ds + j] * c[k * ds + j];
            cn[k] = s;
        }
        assign_block(xs, n, ds, c, cn, ds, assign, NULL, 1);
        memset(sum, 0, (size_t)Q_K * ds * sizeof(double));
        memset(cnt, 0, Q_K * sizeof(long));
        for (long i = 0; i < n; i++) {
            cnt[assign[i]]++;
            for (int j = 0; j < ds; j++) sum[(size_t)assign[i] * ds + j] += xs[(size_t)i * ds + j];
        }
        for (int k = 0; k < Q_K; k++) {
            if (cnt[k]) {
                for (int j = 0; j < ds; j++) c[k * ds + j] = (float)(sum[(size_t)k * ds + j] / cnt[k]);
            } else if (n >= Q_K) {
                /* empty cluster: restart it on a random training vector */
                long i = (long)(splitmix(rng) % (uint64_t)n);
                memcpy(c + (size_t)k * ds, xs + (size_t)i * ds, ds * sizeof(float));
            }
        }
    }
}

vs_status vs_quant_train(vs_quant **out, const char *codec, const float *x, long n, int dim,
                         const char *model_id, const vs_quant_params *p) {
    *out = NULL;
    vs_quant_params dp = vs_quant_default_params();
    if (!p) p = &dp;
    vs_quant *q;
    vs_status s = q_new(&q, codec, dim, model_id);
    if (s) return s;
    if (!q->pq) {
        q_finish(q);
        *out = q;
        return VS_OK;
    }
    if (!x || n < 1) {
        vs_quant_free(q);
        return vs__err(VS_ERR_INVALID_ARG, "codec %s: no training vectors", codec);
    }
    uint64_t rng = p->seed ^ 0x5151515151515151ULL;
    long nt = p->max_train > 0 && n > p->max_train ? p->max_train : n;
    int iters = p->iters > 0 ? p->iters : 1;
    long *rows = vs__malloc((size_t)n * sizeof *rows);
    float *xs = vs__malloc((size_t)nt * q->dsub * sizeof(float));
    int *assign = vs__malloc((size_t)nt * sizeof(int));
    double *sum = vs__malloc((size_t)Q_K * q->dsub * sizeof(double));
    long *cnt = vs__malloc(Q_K * sizeof(long));
    if (!rows || !xs || !assign || !sum || !cnt) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* the training sample: the first nt rows of a seeded partial shuffle, in row order */
    for (long i = 0; i < n; i++) rows[i] = i;
    for (long i = 0; i < nt && nt < n; i++) {
        long j = i + (long)(splitmix(&rng) % (uint64_t)(n - i));
        long t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
    for (int m = 0; m < q->m; m++) {
        for (long i = 0; i < nt; i++)
            memcpy(xs + (size_t)i * q->dsub, x + (size_t)rows[i] * dim + (size_t)m * q->dsub,
                   q->dsub * sizeof(float));
        kmeans(xs, nt, q->dsub, iters, &rng, q->cent + (size_t)m * Q_K * q->dsub, q->cnorm + (size_t)m * Q_K,
               assign, sum, cnt);
    }
    q_finish(q);
out:
    vs__free(rows);
    vs__free(xs);
    vs__free(assign);
    vs__free(sum);
    vs__free(cnt);
    if (s) vs_quant_free(q);
    else *out = q;
    return s;
}

const char *vs_quant_codec(const vs_quant *q) { return q->codec; }
const char *vs_quant_id(const vs_quant *q) { return q->id; }
const char *vs_quant_model_id(const vs_quant *q) { return q->model_id; }
int vs_quant_dim(const vs_quant *q) { return q->dim; }
int vs_quant_code_size(const vs_quant *q) { return q->code_size; }

/* ---- encode / decode */

static void int8_encode(const float *x, int dim, uint8_t *code) {
    float mx = 0;
    for (int j = 0; j < dim; j++) mx = fmaxf(mx, fabsf(x[j]));
    float scale = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / scale;
    memcpy(code, &scale, 4);
    for (int j = 0; j < dim; j++) {
        long v = lrintf(x[j] * inv);
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        code[4 + j] = (uint8_t)(int8_t)v;
    }
}

static void normalise(float *y, int dim) {
    float s = 0;
    for (int j = 0; j < dim; j++) s += y[j] * y[j];
    if (s > 0) {
        float inv = 1.0f / sqrtf(s);
        for (int j = 0; j < dim; j++) y[j] *= inv;
    }
}

void vs_quant_encode(const vs_quant *q, const float *x, long n, uint8_t *codes) {
    if (!q->pq) {
        for (long i = 0; i < n; i++) int8_encode(x + (size_t)i * q->dim, q->dim, codes + (size_t)i * q->code_size);
        return;
    }
    for (int m = 0; m < q->m; m++)
        assign_block(x + (size_t)m * q->dsub, n, q->dim, q->cent + (size_t)m * Q_K * q->dsub, q->cnorm + (size_t)m * Q_K,
                     q->dsub, NULL, codes + m, q->code_size);
}

void vs_quant_decode(const vs_quant *q, const uint8_t *codes, long n, float *x) {
    for (long i = 0; i < n; i++) {
        const uint8_t *ci = codes + (size_t)i * q->code_size;
        float *y = x + (size_t)i * q->dim;
        if (q->pq) {
            size_t bytes = q->dsub * sizeof(float);
            for (int m = 0; m < q->m; m++)
                memcpy(y + (size_t)m * q->dsub, q->cent + ((size_t)m * Q_K + ci[m]) * q->dsub, bytes);
        } else {
            float scale;
            memcpy(&scale, ci, 4);
            for (int j = 0; j < q->dim; j++) y[j] = (float)(int8_t)ci[4 + j] * scale;
        }
        normalise(y, q->dim);
    }
}

void vs_quant_encode_ref(const vs_quant *q, const float *x, long n, uint8_t *codes) {
    for (long i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * q->dim;
        uint8_t *ci = codes + (size_t)i * q->code_size;
        if (!q->pq) {
            int8_encode(xi, q->dim, ci);
            continue;
        }
        for (int m = 0; m < q->m; m++) {
            double bd = INFINITY;
            int best = 0;
            for (int k = 0; k < Q_K; k++) {
                const float *c = q->cent + ((size_t)m * Q_K + k) * q->dsub;
                double d = 0;
                for (int j = 0; j < q->dsub; j++) {
                    double e = (double)xi[m * q->dsub + j] - c[j];
                    d += e * e;
                }
                if (d < bd) {
                    bd = d;
                    best = k;
                }
            }
            ci[m] = (uint8_t)best;
        }
    }
}

void vs_quant_decode_ref(const vs_quant *q, const uint8_t *codes, long n, float *x) {
    for (long i = 0; i < n; i++) {
        const uint8_t *ci = codes + (size_t)i * q->code_size;
        float *y = x + (size_t)i * q->dim;
        for (int j = 0; j < q->dim; j++) {
            if (q->pq) {
                int m = j / q->dsub;
                y[j] = q->cent[((size_t)m * Q_K + ci[m]) * q->dsub + j % q->dsub];
            } else {
                float scale;
                memcpy(&scale, ci, 4);
                y[j] = (float)((int8_t)ci[4 + j]) * scale;
            }
        }
        double s = 0;
        for (int j = 0; j < q->dim; j++) s += (double)y[j] * y[j];
        if (s > 0)
            for (int j = 0; j < q->dim; j++) y[j] = (float)(y[j] / sqrt(s));
    }
}

/* ---- codebook file */

vs_status vs_quant_save(const vs_quant *q, const char *path) {
    vs__tfw *w;
    vs_status s = vs__tfw_create(&w);
    if (s) return s;
    char dim[16];
    snprintf(dim, sizeof dim, "%d", q->dim);
    if (!(s = vs__tfw_meta(w, "kind", Q_KIND)) && !(s = vs__tfw_meta(w, "codec", q->codec)) &&
        !(s = vs__tfw_meta(w, "dim", dim)) && !(s = vs__tfw_meta(w, "model_id", q->model_id)) &&
        !(s = vs__tfw_meta(w, "codebook_id", q->id))) {
        if (q->pq) {
            int64_t dims[3] = {q->m, Q_K, q->dsub};
            s = vs__tfw_add(w, "pq.centroids", VS_DT_F32, 3, dims, q->cent);
        } else {
            int64_t one = 1;
            uint8_t z = 0;
            s = vs__tfw_add(w, "int8.none", VS_DT_U8, 1, &one, &z);
        }
    }
    if (!s) s = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return s;
}

vs_status vs_quant_load(vs_quant **out, const char *path) {
    *out = NULL;
    vs__tf *tf;
    vs_status s = vs__tf_open(&tf, path);
    if (s) return s;
    vs_quant *q = NULL;
    const char *kind = vs__tf_meta(tf, "kind"), *codec = vs__tf_meta(tf, "codec"),
               *dim = vs__tf_meta(tf, "dim"), *mid = vs__tf_meta(tf, "model_id"),
               *id = vs__tf_meta(tf, "codebook_id");
    if (!kind || strcmp(kind, Q_KIND) || !codec || !dim || !mid || !id) {
        s = vs__err(VS_ERR_FORMAT, "%s: not a vidsim codebook (meta kind=%s)", path, kind ? kind : "missing");
        goto out;
    }
    if ((s = q_new(&q, codec, atoi(dim), mid))) {
        vs__err_prefix(s, "%s", path);
        goto out;
    }
    if (q->pq) {
        const vs__tensor *t;
        int64_t dims[3] = {q->m, Q_K, q->dsub};
        if ((s = vs__tf_get(tf, "pq.centroids", VS_DT_F32, 3, dims, &t))) {
            vs__err_prefix(s, "%s", path);
            goto out;
        }
        memcpy(q->cent, t->data, (size_t)t->nbytes);
    }
    q_finish(q);
    if (strcmp(q->id, id) != 0) {
        s = vs__err(VS_ERR_FORMAT, "%s: codebook id %s does not match its content (%s)", path, id, q->id);
        goto out;
    }
out:
    vs__tf_close(tf);
    if (s) vs_quant_free(q);
    else *out = q;
    return s;
}
