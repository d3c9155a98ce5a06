/*
 * bench_scale.c - the scale benchmark (bench/scale/run.sh, docs/scale.md): the dev
 * draws' real references hidden among N synthetic distractors, and for each first
 * stage (global vectors through vs_ann: exact flat, FAISS IVF-Flat, IVF-PQ, HNSW; ConMH
 * binary codes through the Hamming index) the recall@10/100 of the true references of
 * every dev query, its latency on one thread (p50/p99), its build time and bytes per
 * video; for the first stage the search uses (--e2e) also the end-to-end latency
 * (first stage + ViSiL_f re-ranking of K candidates with localisation, 2 threads) and
 * the ranked list of each query (pred_N_seedS.csv, scored by run.sh with vidsim eval).
 *
 * Distractors (the recipe, docs/scale.md "Distractors"): distractor i is generated
 * from i alone (splitmix64 of seed and i): three different real references A, B, C of
 * the draws (the "pool") are mixed frame by frame and region by region,
 *   v[t,r] = normalise(wA A[a(t),r] + 0.8 P_B(B[b(t),r]) + wC P_C(C[c(t),r+rC]) + 0.3 N[t,r]),
 * with a(t) = (oA + sA t) mod T_A, b(t) = (oB + t) mod T_B, c(t) = (oC + sC t) mod T_C
 * (random offsets, speeds 1 or 2), region rotation rC, P_B and P_C random signed
 * permutations of the D dimensions (from a table of 64), wA ~ U(0, --hardness) the weight
 * of the one untransformed source, wC ~ U(.3, .6), noise N from a fixed table of Gaussian
 * vectors, and a length of T_B x U(.6, 1.4) frames (4 to 180). Its fine features are
 * regenerated on demand for re-ranking (never stored); its global vector and ConMH code are computed
 * once at build time and kept for all N (written to the work folder: the disk figure).
 *
 * With --segs S every video has S segment vectors (vs_ann_segment_vectors, what
 * `vidsim search --first-stage gvec --gvec-segments S` indexes): all go into the index,
 * each query vector asks for S x (K + extra) rows, and a video scores its best pair of
 * parts, as src/search/two_stage.c does (flat: all query vectors in one pass; FAISS: one
 * at a time).
 *
 * --qsegs Q (an experiment) cuts each query into Q parts instead of S, searched against
 * the references' S parts (default Q = S, what the search does).
 *
 * With --views 1 a query feature file's extra views (the mirror and the inset block that
 * `vidsim extract --mirror-view on --inset-view on` stores, the views `vidsim search`
 * queries too: each runs its own first stage) are searched as well, and a true reference
 * counts as recalled when any view's first K holds it: the candidates the re-ranking gets
 * to see. Each such first stage then prints a second row, "SPEC +views", with that recall
 * and the latency of all the query's views; the first row stays the normal view's alone.
 * Its recall at the whole --k (the ceiling of any re-scoring of those K candidates, e.g.
 * --k 1000) is printed on stderr ("recall@K=...").
 * The end-to-end run then re-ranks every view's candidates and merges them as the search
 * does (a view joins when its best raw score beats the list so far; each video keeps its
 * best), its latency that of all views.
 *
 * --gvec-whiten FILE passes every vector (references', distractors' and queries', each
 * view) through a learned whitening (ann.h vs_gvec_whiten_apply, `vidsim train-gvec`),
 * as `vidsim search --first-stage gvec` does with the bundled one. --ranks FILE writes
 * each true pair's rank (normal view, best view; -1 = not in the first K) per first
 * stage, for recall over a subset of the pairs (docs/scale.md: held-out folds).
 *
 * The search space of draw s is the N distractors plus draw s's references: the
 * references of every draw are added to the indexes (ids N..), and the others' are
 * dropped from the results (the first stage asks for K + their count).
 *
 * Output: CSV on stdout, one row per (N, first stage): docs/scale.md explains the
 * columns. Progress and the calibration statistics go to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "vidsim/vidsim.h"
#include "../bench.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define MAXN_LIST 8
#define MAXFS 8
#define NOISE_N 4096

static void die(const char *what) {
    fprintf(stderr, "bench_scale: %s: %s\n", what, vs_last_error());
    exit(1);
}
static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_scale: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double u01(uint64_t *x) { return (double)(splitmix(x) >> 11) / 9007199254740992.0; }
static double gauss(uint64_t *x) {
    double u = u01(x) + 1e-12, v = u01(x);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* ------------------------------------------------------------------ the real videos */

typedef struct video {
    char name[64];
    int T;
    float *x;        /* [T, R, D] region features */
    float *times;
    double fps, dur;
    float *gv;       /* [S, D] its first-stage vectors */
    float *gvv[2];   /* queries with --views 1: [S, D] of the mirror and the inset view, or NULL */
    float *vx[2];    /* ... and their region features [vT, R, D] (the mirror view's times are times) */
    int vT[2];
    float *vtimes[2];
    uint64_t code[4];
} video;

typedef struct draw {
    int seed;
    video *refs;     /* [nref] */
    int nref;
    long ref0;       /* id of refs[0] among all refs (ids N + ref0 + j) */
    video *qs;       /* [nq] */
    int nq;
    char (*gt_q)[64], (*gt_r)[64];
    int ngt;
} draw;

static int R_, D_;
static int S_ = 1; /* vectors per video: 1 = the global (mean) vector; S > 1: the means of S equal
                      temporal parts (a video's score = its best pair of parts; --segs) */

static int pool_kind = 0; /* experiment: 0 mean (vs_ann_mean_vector), 1 signed sqrt of the mean, 2 max */

static void pool_vec(float *out, const float *x, long n) {
    vs_ann_mean_vector(out, x, n, D_);
    if (pool_kind == 1) {
        for (int j = 0; j < D_; j++) out[j] = out[j] < 0 ? -sqrtf(-out[j]) : sqrtf(out[j]);
    } else if (pool_kind == 2) {
        for (int j = 0; j < D_; j++) out[j] = -1e30f;
        for (long i = 0; i < n; i++)
            for (int j = 0; j < D_; j++)
                if (x[i * D_ + j] > out[j]) out[j] = x[i * D_ + j];
    } else return;
    double ss = 0;
    for (int j = 0; j < D_; j++) ss += (double)out[j] * out[j];
    for (int j = 0; j < D_; j++) out[j] = (float)(out[j] / sqrt(ss > 0 ? ss : 1));
}

/* The S first-stage vectors out [S, D] of x [T, R, D]: the product's segment vectors
 * (vs_ann_segment_vectors, what `search --first-stage gvec` indexes); a video of
 * T < S frames has T parts, its last one repeated here to fill S rows (the same
 * best-pair scores; the bench keeps a fixed stride). --pool experiments: S parts. */
static vs_gvec_whiten *whiten; /* --gvec-whiten FILE: every vector through the learned whitening */
static FILE *ranks_f;          /* --ranks FILE: each true pair's rank (normal view, best view) */
static void seg_vectors_n(float *out, const float *x, int T, int S) {
    if (pool_kind == 0) {
        int P = vs_ann_segment_vectors(out, x, T, R_, D_, S);
        if (whiten) vs_gvec_whiten_apply(whiten, out, P);
        for (int j = P; j < S; j++) memcpy(out + (size_t)j * D_, out + (size_t)(P - 1) * D_, sizeof(float) * D_);
        return;
    }
    for (int j = 0; j < S; j++) {
        int a = (int)((long)j * T / S), b = (int)((long)(j + 1) * T / S);
        if (b <= a) b = a + 1;
        if (a >= T) a = T - 1, b = T;
        pool_vec(out + (size_t)j * D_, x + (size_t)a * R_ * D_, (long)(b - a) * R_);
    }
    if (S == 1) pool_vec(out, x, (long)T * R_);
}
static void seg_vectors(float *out, const float *x, int T) { seg_vectors_n(out, x, T, S_); }

/* Similarity of two videos' vector sets: the best pair. */
static double vsim_n(const float *a, int na, const float *b) {
    double best = -2;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < S_; j++) {
            double c = 0;
            for (int k = 0; k < D_; k++) c += (double)a[(size_t)i * D_ + k] * b[(size_t)j * D_ + k];
            if (c > best) best = c;
        }
    return best;
}
static double vsim(const float *a, const float *b) { return vsim_n(a, S_, b); }
static vs_hashmodel *hm;
static int W_ = 1, BITS = 64;
static int QS_ = 0; /* --qsegs: the query's parts (0: S_), searched against the references' S_ */
static int views_on = 0; /* --views: search a query file's mirror and inset views too */
/* --gvec-level B (experiment): each indexed vector's level, the mean of its 10 best inner
 * products with the rows of the first 512 videos (its own video's rows left out, values >= 0.8
 * too), taken off its first-stage score times B, as an extra dimension (-B level; the query's
 * is 1): the ANN ranks by <q, r> - B level(r) (a hubness correction, CSLS-like) */
static float glev_beta = 0.0f;
static int DA_; /* the ANN's dimension: D_, or D_ + 1 with --gvec-level */

/* vectors x [n, D_] into xa [n, DA_] with the extra dimension e[i] (or 1 for queries: e NULL) */
static void augment(float *xa, const float *x, long n, const float *e) {
    for (long i = 0; i < n; i++) {
        memcpy(xa + (size_t)i * DA_, x + (size_t)i * D_, sizeof(float) * D_);
        if (DA_ > D_) xa[(size_t)i * DA_ + D_] = e ? e[i] : 1.0f;
    }
}

static void video_finish(video *v, int S) {
    v->gv = xmalloc(sizeof(float) * D_ * S);
    seg_vectors_n(v->gv, v->x, v->T, S);
    memset(v->code, 0, sizeof v->code);
    if (hm && vs_hashmodel_encode(hm, v->code, v->x, v->T, R_, D_)) die("hash encode");
}

static void take_features(video *v, vs_features *f, const char *name, int S) {
    if (R_ == 0) R_ = f->R, D_ = f->D;
    if (f->R != R_ || f->D != D_) {
        fprintf(stderr, "bench_scale: %s has R=%d D=%d, others R=%d D=%d\n", name, f->R, f->D, R_, D_);
        exit(1);
    }
    snprintf(v->name, sizeof v->name, "%s", name);
    v->T = f->T;
    size_t n = (size_t)f->T * R_ * D_;
    v->x = xmalloc(sizeof(float) * n);
    memcpy(v->x, f->data, sizeof(float) * n);
    v->times = NULL;
    if (f->times) {
        v->times = xmalloc(sizeof(float) * (size_t)f->T);
        memcpy(v->times, f->times, sizeof(float) * (size_t)f->T);
    }
    v->fps = f->fps;
    v->dur = f->duration;
    for (int w = 0; w < 2; w++) v->gvv[w] = v->vx[w] = v->vtimes[w] = NULL, v->vT[w] = 0;
    if (views_on && f->mirror) {
        v->gvv[0] = xmalloc(sizeof(float) * D_ * S);
        seg_vectors_n(v->gvv[0], f->mirror, v->T, S);
        v->vx[0] = xmalloc(sizeof(float) * n);
        memcpy(v->vx[0], f->mirror, sizeof(float) * n);
        v->vT[0] = v->T;
    }
    if (views_on && f->inset_T > 0 && f->inset_data) {
        v->gvv[1] = xmalloc(sizeof(float) * D_ * S);
        seg_vectors_n(v->gvv[1], f->inset_data, f->inset_T, S);
        size_t ni = (size_t)f->inset_T * R_ * D_;
        v->vx[1] = xmalloc(sizeof(float) * ni);
        memcpy(v->vx[1], f->inset_data, sizeof(float) * ni);
        v->vT[1] = f->inset_T;
        if (f->inset_times) {
            v->vtimes[1] = xmalloc(sizeof(float) * (size_t)f->inset_T);
            memcpy(v->vtimes[1], f->inset_times, sizeof(float) * (size_t)f->inset_T);
        }
    }
    vs_features_free(f); /* its arrays may live in one block: copied above */
    video_finish(v, S);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void load_draw(draw *d, const char *root, int seed) {
    char p[2048];
    d->seed = seed;
    snprintf(p, sizeof p, "%s/seed%d/index", root, seed);
    vs_index *idx;
    vs_index_entries *es;
    if (vs_index_open(&idx, p, VS_INDEX_READONLY) || vs_index_list(idx, NULL, &es)) die(p);
    d->refs = calloc((size_t)es->n + 1, sizeof *d->refs);
    for (long i = 0; i < es->n; i++) {
        if (!es->v[i].ok) continue;
        vs_features *f;
        if (vs_index_load_features(idx, &es->v[i], &f)) die(es->v[i].path);
        take_features(&d->refs[d->nref++], f, es->v[i].name, S_);
    }
    vs_index_entries_free(es);
    vs_index_close(idx);
    /* queries: the .vsf files of qf/, sorted */
    snprintf(p, sizeof p, "%s/seed%d/qf", root, seed);
    DIR *dir = opendir(p);
    if (!dir) {
        fprintf(stderr, "bench_scale: %s: cannot open\n", p);
        exit(1);
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".vsf")) continue;
        if (n == cap) names = realloc(names, sizeof *names * (size_t)(cap = cap ? 2 * cap : 256));
        names[n++] = strdup(de->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    d->qs = calloc((size_t)n + 1, sizeof *d->qs);
    for (int i = 0; i < n; i++) {
        char fp[4096], id[64];
        snprintf(fp, sizeof fp, "%s/%s", p, names[i]);
        vs_features *f;
        if (vs_features_load(&f, fp)) die(fp);
        snprintf(id, sizeof id, "%s", names[i]);
        *strchr(id, '.') = 0; /* Q0000.mp4.vsf: the gt's Q0000 */
        take_features(&d->qs[d->nq++], f, id, QS_);
        free(names[i]);
    }
    free(names);
    /* ground truth: query_id,ref_id,... */
    snprintf(p, sizeof p, "%s/seed%d/dev/gt.csv", root, seed);
    FILE *g = fopen(p, "r");
    if (!g) {
        fprintf(stderr, "bench_scale: %s: cannot open\n", p);
        exit(1);
    }
    char line[1024];
    int cap2 = 256;
    d->gt_q = xmalloc(sizeof *d->gt_q * cap2);
    d->gt_r = xmalloc(sizeof *d->gt_r * cap2);
    if (!fgets(line, sizeof line, g)) line[0] = 0;
    while (fgets(line, sizeof line, g)) {
        char *c1 = strchr(line, ',');
        if (!c1) continue;
        char *c2 = strchr(c1 + 1, ',');
        if (c2) *c2 = 0;
        *c1 = 0;
        char *nl = strpbrk(c1 + 1, "\r\n");
        if (nl) *nl = 0;
        if (d->ngt == cap2) {
            cap2 *= 2;
            d->gt_q = realloc(d->gt_q, sizeof *d->gt_q * cap2);
            d->gt_r = realloc(d->gt_r, sizeof *d->gt_r * cap2);
        }
        snprintf(d->gt_q[d->ngt], 64, "%s", line);
        snprintf(d->gt_r[d->ngt], 64, "%s", c1 + 1);
        d->ngt++;
    }
    fclose(g);
}

/* ------------------------------------------------------------------ distractors */

static video **pool;   /* every draw's references */
static int npool;
static float *noise;   /* [NOISE_N, D] Gaussian / sqrt(D) */
static uint64_t gen_seed = 20261205;

static int *perm;       /* [NPERM, D] dimension permutations ... */
static float *sgn;      /* [NPERM, D] ... and signs: signed permutations, orthogonal maps that
                           keep whitened (near-isotropic) features' statistics */
static double hardness = 0.3; /* alpha_max: the largest weight of the one untransformed source */
#define NPERM 64

/* The region features of distractor i: *x [T, R, D] (new), T returned. */
static int gen_distractor(long i, float **xo) {
    uint64_t s = gen_seed * 0x2545f4914f6cdd1dULL + (uint64_t)i;
    splitmix(&s);
    int ia = (int)(splitmix(&s) % (uint64_t)npool), ib, ic;
    do ib = (int)(splitmix(&s) % (uint64_t)npool); while (ib == ia && npool > 1);
    do ic = (int)(splitmix(&s) % (uint64_t)npool); while ((ic == ia || ic == ib) && npool > 2);
    const video *A = pool[ia], *B = pool[ib], *C = pool[ic];
    int T = (int)(B->T * (0.6 + 0.8 * u01(&s)));
    if (T < 4) T = 4;
    if (T > 180) T = 180;
    int oA = (int)(splitmix(&s) % (uint64_t)A->T), oB = (int)(splitmix(&s) % (uint64_t)B->T),
        oC = (int)(splitmix(&s) % (uint64_t)C->T);
    int sA = 1 + (splitmix(&s) % 4 == 0), sC = 1 + (splitmix(&s) % 4 == 0);
    int rC = (int)(splitmix(&s) % (uint64_t)R_);
    const int *pB = perm + (size_t)(splitmix(&s) % NPERM) * D_, *pC = perm + (size_t)(splitmix(&s) % NPERM) * D_;
    const float *gB = sgn + (size_t)(splitmix(&s) % NPERM) * D_, *gC = sgn + (size_t)(splitmix(&s) % NPERM) * D_;
    float wA = (float)(hardness * u01(&s)), wB = 0.8f, wC = (float)(0.3 + 0.3 * u01(&s)), sn = 0.3f;
    float *x = xmalloc(sizeof(float) * (size_t)T * R_ * D_);
    for (int t = 0; t < T; t++) {
        const float *fa = A->x + (size_t)((oA + sA * t) % A->T) * R_ * D_;
        const float *fb = B->x + (size_t)((oB + t) % B->T) * R_ * D_;
        const float *fc = C->x + (size_t)((oC + sC * t) % C->T) * R_ * D_;
        for (int r = 0; r < R_; r++) {
            const float *a = fa + (size_t)r * D_, *b = fb + (size_t)r * D_, *c = fc + (size_t)((r + rC) % R_) * D_;
            const float *nz = noise + (size_t)(splitmix(&s) % NOISE_N) * D_;
            float *v = x + ((size_t)t * R_ + r) * D_;
            double nn = 0;
            for (int j = 0; j < D_; j++) {
                v[j] = wA * a[j] + wB * gB[j] * b[pB[j]] + wC * gC[j] * c[pC[j]] + sn * nz[j];
                nn += (double)v[j] * v[j];
            }
            float inv = nn > 0 ? (float)(1.0 / sqrt(nn)) : 0.f;
            for (int j = 0; j < D_; j++) v[j] *= inv;
        }
    }
    *xo = x;
    return T;
}

typedef struct gen_job {
    long lo, hi, next;
    float *gv;        /* [N, S, D] */
    uint64_t *codes;  /* [N, W] */
    pthread_mutex_t mu;
} gen_job;

static void *gen_worker(void *arg) {
    gen_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        long lo = j->next, hi = lo + 256 < j->hi ? lo + 256 : j->hi;
        j->next = hi;
        pthread_mutex_unlock(&j->mu);
        if (lo >= hi) break;
        for (long i = lo; i < hi; i++) {
            float *x;
            int T = gen_distractor(i, &x);
            seg_vectors(j->gv + (size_t)i * S_ * D_, x, T);
            if (hm && vs_hashmodel_encode(hm, j->codes + (size_t)i * W_, x, T, R_, D_)) die("hash encode");
            free(x);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ measuring */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double pct(double *v, long n, double p) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    long k = (long)ceil(p * (double)n) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return v[k];
}
static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}
static double file_mb(const char *p) {
    struct stat st;
    return stat(p, &st) ? 0 : (double)st.st_size / 1048576.0;
}

typedef struct fstage {
    char spec[256];   /* "conmh" or a vs_ann spec; params after '|' */
    char params[128];
    double bytes;     /* per video */
} fstage;

/* Rank of the gt refs of query q of draw d among ids [n] (ids >= N are refs). */
static int gt_has(const draw *d, const char *q, const char *r) {
    for (int i = 0; i < d->ngt; i++)
        if (!strcmp(d->gt_q[i], q) && !strcmp(d->gt_r[i], r)) return 1;
    return 0;
}

typedef struct vhit { int64_t v; float s; } vhit;
static int cmp_vhit_id(const void *a, const void *b) {
    const vhit *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->s > y->s ? -1 : x->s < y->s;
}
static int cmp_vhit_score(const void *a, const void *b) {
    const vhit *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->v < y->v ? -1 : x->v > y->v;
}
/* S lists of k vector hits (sc, ids [S, k]) into the best K videos by their best vector
 * pair (ids / S): out_sc, out_ids [K]. Returns how many. */
static long merge_videos(const float *sc, const int64_t *ids, int nq, long k, float *out_sc, int64_t *out_ids, long K) {
    static vhit *h;
    static long cap;
    if (!sc) { /* the end: free the scratch */
        free(h);
        h = NULL, cap = 0;
        return 0;
    }
    long n = (long)nq * k, m = 0;
    if (cap < n) h = realloc(h, sizeof *h * (size_t)(cap = n));
    for (long i = 0; i < n; i++)
        if (ids[i] >= 0) h[m++] = (vhit){ids[i] / S_, sc[i]};
    qsort(h, (size_t)m, sizeof *h, cmp_vhit_id);
    long u = 0;
    for (long i = 0; i < m; i++)
        if (!u || h[u - 1].v != h[i].v) h[u++] = h[i];
    qsort(h, (size_t)u, sizeof *h, cmp_vhit_score);
    if (u > K) u = K;
    for (long i = 0; i < u; i++) out_sc[i] = h[i].s, out_ids[i] = h[i].v;
    return u;
}

/* One first-stage search of one query vector set (the S parts of a view): the first K
 * candidates among the distractors and this draw's references into sc/ids, their count
 * returned. The hash stage searches the query's code (views have none). */
typedef struct fs_ctx {
    int is_hash, is_flat;
    vs_ann *ann;
    vs_hamming_state *hs;
    vs_hamming_hit *hh;
    long KX, K, N;
    const draw *d;
    float *vsc;     /* [KX * S * S] scratch */
    int64_t *vids;  /* [KX * S * S] scratch */
} fs_ctx;

static long first_stage(const fs_ctx *c, const float *qgv, const uint64_t *code, float *sc, int64_t *ids) {
    long nh = 0, KX = c->KX;
    static float qa[64 * 1025];
    if (!c->is_hash && DA_ > D_) { /* --gvec-level: the query's extra dimension */
        augment(qa, qgv, QS_, NULL);
        qgv = qa;
    }
    if (c->is_hash) {
        if (vs_hamming_search(c->hs, c->hh, &nh, code, KX)) die("hamming search");
        for (long k = 0; k < nh; k++) ids[k] = c->hh[k].id;
    } else {
        /* as the search does: the flat index all query vectors in one pass, FAISS one at a
         * time (a batch would run its OpenMP threads, and the figure is one core's) */
        if (c->is_flat) {
            if (vs_ann_search(c->ann, qgv, QS_, KX * S_, c->vsc, c->vids)) die("ann search");
        } else
            for (int j = 0; j < QS_; j++)
                if (vs_ann_search(c->ann, qgv + (size_t)j * DA_, 1, KX * S_, c->vsc + (size_t)j * KX * S_,
                                  c->vids + (size_t)j * KX * S_))
                    die("ann search");
        nh = merge_videos(c->vsc, c->vids, QS_, KX * S_, sc, ids, KX);
    }
    /* keep distractors and this draw's references, the first K */
    long nc = 0;
    for (long k = 0; k < nh && nc < c->K; k++) {
        int64_t id = ids[k];
        if (id < 0) continue;
        if (id >= c->N) {
            long r = (long)(id - c->N) - c->d->ref0;
            if (r < 0 || r >= c->d->nref) continue;
        }
        ids[nc] = id;
        sc[nc++] = sc[k];
    }
    return nc;
}

/* End to end for one view of a query: the candidates' fine features (references: stored;
 * distractors: regenerated from their id), ViSiL_f both ways and segments in one pass;
 * the scores into sims [nc]. */
static void rerank(vs_simmodel_state *sst, const vs_simmodel *sm, const vs_localize_params *lp, const draw *d,
                   long N, const video *qv, const float *x, int T, const float *times, const int64_t *ids, long nc,
                   float *sims) {
    if (!nc) return;
    vs_loc_video *lv = xmalloc(sizeof *lv * (size_t)nc);
    float **tmp = xmalloc(sizeof *tmp * (size_t)nc);
    float *qx = xmalloc(sizeof(float) * (size_t)T * R_ * D_);
    if (vs_simmodel_index(sst, qx, NULL, x, T, R_, D_)) die("index query");
    for (long k = 0; k < nc; k++) {
        tmp[k] = NULL;
        if (ids[k] >= N) {
            const video *rv = &d->refs[ids[k] - N - d->ref0];
            lv[k] = (vs_loc_video){rv->x, rv->T, rv->times, rv->fps, rv->dur, NULL};
        } else {
            int Td = gen_distractor(ids[k], &tmp[k]);
            if (vs_simmodel_index(sst, tmp[k], NULL, tmp[k], Td, R_, D_)) die("index distractor");
            lv[k] = (vs_loc_video){tmp[k], Td, NULL, 1.0, (double)Td, NULL};
        }
    }
    vs_loc_video ql = {qx, T, times, qv->fps, qv->dur, NULL};
    vs_segment **segs = xmalloc(sizeof *segs * (size_t)nc);
    int *nsegs = xmalloc(sizeof(int) * (size_t)nc);
    if (vs_localize_search(sst, sm, &ql, lv, (int)nc, R_, D_, lp, sims, segs, nsegs)) die("re-rank");
    for (long k = 0; k < nc; k++) free(segs[k]), free(tmp[k]);
    free(lv), free(tmp), free(qx), free(segs), free(nsegs);
}

/* The rank of reference `ref` among a first stage's candidates, or -1. */
static long true_rank(const draw *d, long N, const int64_t *ids, long nc, const char *ref) {
    for (long k = 0; k < nc; k++)
        if (ids[k] >= N && !strcmp(d->refs[ids[k] - N - d->ref0].name, ref)) return k;
    return -1;
}

int main(int argc, char **argv) {
    const char *root = NULL, *work = "/tmp/B-scale", *hash_model = "models/conmh_64.vstf", *e2e = "auto";
    long Ns[MAXN_LIST];
    int nN = 0, seeds[16], nseeds = 0, K = 100, threads = 2, e2e_seeds = 5;
    float temporal = VS_TEMPORAL_DEFAULT; /* --temporal: ViSiL_f's weight in the end-to-end re-ranking */
    char fs_list[2048] = "flat;faiss:IVF{L},Flat|nprobe=128/nprobe=32;faiss:IVF{L},PQ32x4fs|nprobe=32;conmh";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "--draws")) root = v;
        else if (!strcmp(a, "--work")) work = v;
        else if (!strcmp(a, "--hash-model")) hash_model = v;
        else if (!strcmp(a, "--first-stages")) snprintf(fs_list, sizeof fs_list, "%s", v);
        else if (!strcmp(a, "--e2e")) e2e = v;
        else if (!strcmp(a, "--e2e-seeds")) e2e_seeds = atoi(v);
        else if (!strcmp(a, "--k")) K = atoi(v);
        else if (!strcmp(a, "--temporal")) temporal = (float)atof(v);
        else if (!strcmp(a, "--hardness")) hardness = atof(v);
        else if (!strcmp(a, "--segs")) S_ = atoi(v) < 1 ? 1 : atoi(v);
        else if (!strcmp(a, "--qsegs")) QS_ = atoi(v) < 0 ? 0 : atoi(v);
        else if (!strcmp(a, "--pool")) pool_kind = atoi(v);
        else if (!strcmp(a, "--views")) views_on = atoi(v) != 0;
        else if (!strcmp(a, "--gvec-level")) glev_beta = (float)atof(v);
        else if (!strcmp(a, "--gvec-whiten")) {
            if (vs_gvec_whiten_load(&whiten, v) != VS_OK) {
                fprintf(stderr, "bench_scale: %s\n", vs_last_error());
                return 2;
            }
        }
        else if (!strcmp(a, "--ranks")) {
            if (!(ranks_f = fopen(v, "w"))) {
                fprintf(stderr, "bench_scale: cannot write %s\n", v);
                return 2;
            }
            fprintf(ranks_f, "n,first_stage,seed,query_id,ref_id,rank,rank_views\n");
        }
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--n")) {
            char *c = strdup(v), *save = NULL;
            for (char *t = strtok_r(c, ",", &save); t && nN < MAXN_LIST; t = strtok_r(NULL, ",", &save))
                Ns[nN++] = atol(t);
            free(c);
        } else if (!strcmp(a, "--seeds")) {
            char *c = strdup(v), *save = NULL;
            for (char *t = strtok_r(c, ",", &save); t && nseeds < 16; t = strtok_r(NULL, ",", &save))
                seeds[nseeds++] = atoi(t);
            free(c);
        } else goto usage;
        i++;
    }
    if (!root) goto usage;
    if (QS_ < 1) QS_ = S_;
    if (!nN) Ns[nN++] = 100000;
    if (!nseeds)
        for (int s = 1; s <= 5; s++) seeds[nseeds++] = s;
    long Nmax = 0;
    for (int i = 0; i < nN; i++)
        if (Ns[i] > Nmax) Nmax = Ns[i];
    mkdir(work, 0755);
    vs_blas_set_threads(1);

    /* the hash model (optional: no file, no conmh rows) */
    if (hash_model && *hash_model && vs_hashmodel_load(&hm, hash_model)) {
        fprintf(stderr, "bench_scale: no ConMH model (%s): conmh rows left out\n", vs_last_error());
        hm = NULL;
    }
    if (hm) BITS = vs_hashmodel_bits(hm), W_ = BITS / 64;

    /* the draws */
    double t0 = bench_now();
    draw *ds = calloc((size_t)nseeds, sizeof *ds);
    long nref_all = 0;
    for (int s = 0; s < nseeds; s++) {
        load_draw(&ds[s], root, seeds[s]);
        ds[s].ref0 = nref_all;
        nref_all += ds[s].nref;
    }
    pool = xmalloc(sizeof *pool * (size_t)nref_all);
    for (int s = 0; s < nseeds; s++)
        for (int j = 0; j < ds[s].nref; j++) pool[npool++] = &ds[s].refs[j];
    if (hm && vs_hashmodel_dim(hm) != D_) {
        fprintf(stderr, "bench_scale: %s takes D=%d, the draws have D=%d: conmh rows left out\n", hash_model,
                vs_hashmodel_dim(hm), D_);
        vs_hashmodel_free(hm);
        hm = NULL;
    }
    fprintf(stderr, "loaded %d draws: %ld references, R=%d D=%d (%.1f s)\n", nseeds, nref_all, R_, D_,
            bench_now() - t0);
    uint64_t ns = 777;
    noise = xmalloc(sizeof(float) * NOISE_N * D_);
    for (long i = 0; i < (long)NOISE_N * D_; i++) noise[i] = (float)(gauss(&ns) / sqrt((double)D_));
    perm = xmalloc(sizeof(int) * NPERM * D_);
    sgn = xmalloc(sizeof(float) * NPERM * D_);
    for (int k = 0; k < NPERM; k++) {
        int *p = perm + (size_t)k * D_;
        for (int j = 0; j < D_; j++) p[j] = j, sgn[(size_t)k * D_ + j] = splitmix(&ns) & 1 ? 1.f : -1.f;
        for (int j = D_ - 1; j > 0; j--) {
            int l = (int)(splitmix(&ns) % (uint64_t)(j + 1)), t = p[j];
            p[j] = p[l], p[l] = t;
        }
    }

    /* distractors: global vectors and codes of all Nmax, then the references after them */
    double tg = bench_now();
    long NT = Nmax + nref_all;
    float *gv = xmalloc(sizeof(float) * (size_t)NT * S_ * D_);
    uint64_t *codes = xmalloc(sizeof(uint64_t) * (size_t)NT * W_);
    gen_job job = {0, Nmax, 0, gv, codes, PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[64];
    int nth = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    for (int t = 0; t < nth; t++) pthread_create(&th[t], NULL, gen_worker, &job);
    for (int t = 0; t < nth; t++) pthread_join(th[t], NULL);
    double gen_s = bench_now() - tg;
    for (int s = 0; s < nseeds; s++)
        for (int j = 0; j < ds[s].nref; j++) {
            long id = Nmax + ds[s].ref0 + j;
            memcpy(gv + (size_t)id * S_ * D_, ds[s].refs[j].gv, sizeof(float) * D_ * S_);
            memcpy(codes + (size_t)id * W_, ds[s].refs[j].code, sizeof(uint64_t) * W_);
        }
    fprintf(stderr, "generated %ld distractors' global vectors%s in %.1f s (%.1f us each, %d threads)\n", Nmax,
            hm ? " and codes" : "", gen_s, 1e6 * gen_s / (double)(Nmax ? Nmax : 1), nth);

    /* calibration: how close distractors and unrelated references come to a reference */
    {
        const draw *d = &ds[0];
        double qt = 0, rr = 0, dr = 0;
        int nqt = 0;
        for (int i = 0; i < d->ngt; i++)
            for (int q = 0; q < d->nq; q++)
                if (!strcmp(d->qs[q].name, d->gt_q[i]))
                    for (int j = 0; j < d->nref; j++)
                        if (!strcmp(d->refs[j].name, d->gt_r[i])) {
                            qt += vsim_n(d->qs[q].gv, QS_, d->refs[j].gv), nqt++;
                        }
        for (int j = 0; j < d->nref; j++) {
            double best = -1;
            for (int k = 0; k < d->nref; k++) {
                if (k == j) continue;
                double c = vsim(d->refs[j].gv, d->refs[k].gv);
                if (c > best) best = c;
            }
            rr += best;
        }
        long nd = Nmax < 2000 ? Nmax : 2000;
        for (long i = 0; i < nd; i++) {
            double best = -1;
            for (int j = 0; j < npool; j++) {
                double c = vsim(gv + (size_t)i * S_ * D_, pool[j]->gv);
                if (c > best) best = c;
            }
            dr += best;
        }
        fprintf(stderr, "calibration (global-vector cosine, draw %d): query - its reference %.3f (mean of %d), "
                        "reference - nearest other reference %.3f, distractor - nearest pool reference %.3f\n",
                d->seed, nqt ? qt / nqt : 0, nqt, rr / (d->nref ? d->nref : 1), nd ? dr / (double)nd : 0);
    }

    /* disk: what a deployment keeps for all N (vectors, codes) */
    char path[4096];
    snprintf(path, sizeof path, "%s/gvec_%ld.f32", work, Nmax);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(gv, sizeof(float) * D_ * S_, (size_t)Nmax, f) != (size_t)Nmax || fclose(f)) {
        fprintf(stderr, "bench_scale: %s: write failed\n", path);
        exit(1);
    }
    double gv_disk = file_mb(path);
    double code_disk = 0;
    if (hm) {
        snprintf(path, sizeof path, "%s/conmh_%ld.u64", work, Nmax);
        f = fopen(path, "wb");
        if (!f || fwrite(codes, sizeof(uint64_t) * W_, (size_t)Nmax, f) != (size_t)Nmax || fclose(f)) {
            fprintf(stderr, "bench_scale: %s: write failed\n", path);
            exit(1);
        }
        code_disk = file_mb(path);
    }

    /* the first stages */
    fstage fs[MAXFS];
    int nfs = 0;
    {
        char *c = strdup(fs_list), *save = NULL;
        for (char *t = strtok_r(c, ";", &save); t && nfs < MAXFS; t = strtok_r(NULL, ";", &save)) {
            if (!strcmp(t, "conmh") && !hm) continue;
            if (!strncmp(t, "faiss:", 6) && !vs_ann_have_faiss()) {
                fprintf(stderr, "bench_scale: %s needs FAISS (built without): left out\n", t);
                continue;
            }
            char *bar = strchr(t, '|');
            fs[nfs].params[0] = 0;
            if (bar) snprintf(fs[nfs].params, sizeof fs[nfs].params, "%s", bar + 1), *bar = 0;
            snprintf(fs[nfs].spec, sizeof fs[nfs].spec, "%s", t);
            nfs++;
        }
        free(c);
    }

    vs_simmodel *sm = NULL;
    vs_simmodel_state *sst = NULL;
    vs_simmodel_params smp = vs_simmodel_default_params();
    smp.n_threads = threads;
    smp.temporal = temporal; /* ViSiL_f as the search scores it (default VS_TEMPORAL_DEFAULT) */
    if (vs_simmodel_builtin(&sm, "visil_f") || vs_simmodel_state_create(&sst, sm, &smp)) die("visil_f");
    vs_localize_params lp = vs_localize_default_params();

    printf("n,first_stage,bytes_per_video,build_s,ram_mb,disk_mb,recall10,recall100,fs_p50_ms,fs_p99_ms,"
           "e2e_p50_ms,e2e_p99_ms,queries\n");
    long nq_all = 0;
    for (int s = 0; s < nseeds; s++) nq_all += ds[s].nq;
    double *lat = xmalloc(sizeof(double) * (size_t)nq_all), *lat2 = xmalloc(sizeof(double) * (size_t)nq_all);
    double *latv = xmalloc(sizeof(double) * (size_t)nq_all); /* first stage of all the query's views */
    long KX = K + nref_all;
    float *sc = xmalloc(sizeof(float) * (size_t)KX * S_ * (QS_ > S_ ? QS_ : S_));
    int64_t *ids = xmalloc(sizeof(int64_t) * (size_t)KX * S_ * (QS_ > S_ ? QS_ : S_));
    float *vsc = xmalloc(sizeof(float) * (size_t)KX * S_ * (QS_ > S_ ? QS_ : S_));
    int64_t *vids = xmalloc(sizeof(int64_t) * (size_t)KX * S_ * (QS_ > S_ ? QS_ : S_));
    vs_hamming_hit *hh = xmalloc(sizeof *hh * (size_t)KX);
    float *scv[2];
    int64_t *idsv[2];
    for (int v = 0; v < 2; v++) {
        scv[v] = xmalloc(sizeof(float) * (size_t)KX);
        idsv[v] = xmalloc(sizeof(int64_t) * (size_t)KX);
    }

    for (int in = 0; in < nN; in++) {
        long N = Ns[in];
        /* the index holds distractors 0..N-1 and every reference (ids Nmax.. in gv) */
        float *xv = xmalloc(sizeof(float) * (size_t)(N + nref_all) * S_ * D_);
        memcpy(xv, gv, sizeof(float) * (size_t)N * S_ * D_);
        memcpy(xv + (size_t)N * S_ * D_, gv + (size_t)Nmax * S_ * D_, sizeof(float) * (size_t)nref_all * S_ * D_);
        uint64_t *xc = xmalloc(sizeof(uint64_t) * (size_t)(N + nref_all) * W_);
        memcpy(xc, codes, sizeof(uint64_t) * (size_t)N * W_);
        memcpy(xc + (size_t)N * W_, codes + (size_t)Nmax * W_, sizeof(uint64_t) * (size_t)nref_all * W_);
        long NI = N + nref_all, NV = NI * S_; /* videos, vectors */
        DA_ = glev_beta > 0.0f ? D_ + 1 : D_;
        if (DA_ > D_) { /* --gvec-level: each row's level against the first 512 videos' rows */
            const long M = NI < 512 ? NI : 512, MR = M * S_;
            float *e = xmalloc(sizeof(float) * (size_t)NV), *xa = xmalloc(sizeof(float) * (size_t)NV * DA_);
            double tl = bench_now(), lsum = 0;
            for (long r = 0; r < NV; r++) {
                float top[10];
                int m = 0;
                const float *xr = xv + (size_t)r * D_;
                for (long j = 0; j < MR; j++) {
                    if (j / S_ == r / S_) continue; /* its own video */
                    const float *y = xv + (size_t)j * D_;
                    float v = 0;
                    for (int k = 0; k < D_; k++) v += xr[k] * y[k];
                    if (v >= 0.8f || (m == 10 && v <= top[9])) continue;
                    int p = m < 10 ? m++ : 9;
                    while (p > 0 && top[p - 1] < v) top[p] = top[p - 1], p--;
                    top[p] = v;
                }
                double sum = 0;
                for (int k = 0; k < m; k++) sum += top[k];
                e[r] = m ? (float)(-glev_beta * sum / m) : 0.0f;
                lsum += m ? sum / m : 0;
            }
            augment(xa, xv, NV, e);
            free(xv);
            free(e);
            xv = xa;
            fprintf(stderr, "bench_scale: gvec levels of %ld rows against %ld in %.1f s (mean %.3f)\n", NV, MR,
                    bench_now() - tl, lsum / NV);
        }
        long nlist = 256;
        while (nlist < 16384 && nlist * nlist < 16 * NV) nlist *= 2;
        while (nlist > 16 && NV < 39 * nlist) nlist /= 2;
        for (int fi = 0; fi < nfs; fi++) {
            char spec[256];
            const char *L = strstr(fs[fi].spec, "{L}");
            if (L)
                snprintf(spec, sizeof spec, "%.*s%ld%s", (int)(L - fs[fi].spec), fs[fi].spec, nlist, L + 3);
            else
                snprintf(spec, sizeof spec, "%s", fs[fi].spec);
            int is_hash = !strcmp(spec, "conmh");
            double tb = bench_now(), disk = 0, bytes = 0;
            vs_ann *ann = NULL;
            vs_hamming_index *hi = NULL;
            vs_hamming_state *hs = NULL;
            if (is_hash) {
                vs_hamming_params hp = vs_hamming_default_params();
                if (vs_hamming_index_create(&hi, xc, NULL, NI, BITS, &hp) || vs_hamming_state_create(&hs, hi))
                    die("hamming index");
                bytes = BITS / 8.0;
                disk = code_disk * (double)N / (double)Nmax;
            } else {
                if (vs_ann_create(&ann, DA_, spec)) die(spec);
                if (!vs_ann_is_trained(ann)) {
                    long nt = NV < 100000 ? NV : 100000; /* a prefix: distractors are i.i.d. */
                    if (vs_ann_train(ann, xv, nt)) die(spec);
                }
                if (vs_ann_add(ann, xv, NV)) die(spec);
                snprintf(path, sizeof path, "%s/ann_%ld_%d.idx", work, N, fi);
                if (vs_ann_save(ann, path)) die(path);
                disk = file_mb(path);
                bytes = disk * 1048576.0 / (double)NI;
                remove(path);
            }
            double build_s = bench_now() - tb;
            /* search parameter sets "a/b/...": one row each over the same index, e2e with the first */
            char psets[128];
            snprintf(psets, sizeof psets, "%s", fs[fi].params);
            char *psave = NULL, *ps = strtok_r(psets, "/", &psave);
            for (int pi = 0; pi == 0 || ps; pi++, ps = strtok_r(NULL, "/", &psave)) {
            if (ann && vs_ann_set(ann, ps ? ps : "")) die(spec);
            /* first stage of every query; recall of its true references */
            long nlat = 0, hit10 = 0, hit100 = 0, ngt = 0, nlat2 = 0, hitv10 = 0, hitv100 = 0, hitvK = 0;
            int do_e2e = pi == 0 && !is_hash && (!strcmp(e2e, "all") ||
                                      (!strcmp(e2e, "auto") && strstr(spec, ",Flat")) || !strcmp(e2e, spec));
            for (int s = 0; s < nseeds; s++) {
                draw *d = &ds[s];
                FILE *pred = NULL;
                if (do_e2e && s < e2e_seeds) {
                    snprintf(path, sizeof path, "%s/pred_%ld_seed%d.csv", work, N, d->seed);
                    pred = fopen(path, "w");
                    if (pred) fprintf(pred, "query_id,ref_id,score\n");
                }
                for (int q = 0; q < d->nq; q++) {
                    const video *qv = &d->qs[q];
                    double t1 = bench_now();
                    fs_ctx fc = {is_hash, !strcmp(spec, "flat"), ann, hs, hh, KX, K, N, d, vsc, vids};
                    long nc = first_stage(&fc, qv->gv, qv->code, sc, ids);
                    double fs_ms = 1e3 * (bench_now() - t1);
                    lat[nlat++] = fs_ms;
                    long ncv[2] = {0, 0};
                    for (int v = 0; v < 2; v++) /* the query's extra views (--views 1), each its own first stage */
                        if (!is_hash && qv->gvv[v]) ncv[v] = first_stage(&fc, qv->gvv[v], NULL, scv[v], idsv[v]);
                    latv[nlat - 1] = 1e3 * (bench_now() - t1);
                    for (int g = 0; g < d->ngt; g++) {
                        if (strcmp(d->gt_q[g], qv->name)) continue;
                        ngt++;
                        long rank = true_rank(d, N, ids, nc, d->gt_r[g]);
                        hit100 += rank >= 0 && rank < 100;
                        hit10 += rank >= 0 && rank < 10;
                        for (int v = 0; v < 2; v++) {
                            long rv = true_rank(d, N, idsv[v], ncv[v], d->gt_r[g]);
                            if (rv >= 0 && (rank < 0 || rv < rank)) rank = rv;
                        }
                        if (ranks_f) {
                            long r0 = true_rank(d, N, ids, nc, d->gt_r[g]);
                            fprintf(ranks_f, "%ld,\"%s%s%s\",%d,%s,%s,%ld,%ld\n", N, spec, ps ? "|" : "", ps ? ps : "",
                                    d->seed, qv->name, d->gt_r[g], r0, rank);
                        }
                        hitv100 += rank >= 0 && rank < 100;
                        hitv10 += rank >= 0 && rank < 10;
                        hitvK += rank >= 0;
                    }
                    if (!pred) continue;
                    /* end to end: the normal view's candidates re-ranked; with --views 1 each
                     * extra view's too, merged as vs_searcher_query does (a view joins only when
                     * its best score beats the list so far, then each video keeps its best) */
                    double t2 = bench_now();
                    long cap = nc + ncv[0] + ncv[1] + 1, nm = nc;
                    float *msc = xmalloc(sizeof(float) * (size_t)cap), *vs_ = xmalloc(sizeof(float) * (size_t)cap);
                    int64_t *mid = xmalloc(sizeof(int64_t) * (size_t)cap);
                    rerank(sst, sm, &lp, d, N, qv, qv->x, qv->T, qv->times, ids, nc, msc);
                    memcpy(mid, ids, sizeof(int64_t) * (size_t)nc);
                    for (int v = 0; v < 2; v++) {
                        if (!qv->vx[v] || !ncv[v]) continue;
                        rerank(sst, sm, &lp, d, N, qv, qv->vx[v], qv->vT[v], v ? qv->vtimes[v] : qv->times, idsv[v],
                               ncv[v], vs_);
                        float bv = -INFINITY, bm = -INFINITY;
                        for (long k = 0; k < ncv[v]; k++) bv = vs_[k] > bv ? vs_[k] : bv;
                        for (long k = 0; k < nm; k++) bm = msc[k] > bm ? msc[k] : bm;
                        if (!(bv > bm)) continue;
                        for (long k = 0; k < ncv[v]; k++) {
                            long j = 0;
                            while (j < nm && mid[j] != idsv[v][k]) j++;
                            if (j == nm) mid[nm] = idsv[v][k], msc[nm++] = vs_[k];
                            else if (vs_[k] > msc[j]) msc[j] = vs_[k];
                        }
                    }
                    lat2[nlat2++] = (views_on ? latv[nlat - 1] : fs_ms) + 1e3 * (bench_now() - t2);
                    for (long k = 0; k < nm; k++) {
                        if (mid[k] >= N)
                            fprintf(pred, "%s,%s,%.6f\n", qv->name, d->refs[mid[k] - N - d->ref0].name, msc[k]);
                        else
                            fprintf(pred, "%s,D%07lld,%.6f\n", qv->name, (long long)mid[k], msc[k]);
                    }
                    free(msc), free(vs_), free(mid);
                }
                if (pred) fclose(pred);
            }
            double p50 = pct(lat, nlat, 0.5), p99 = pct(lat, nlat, 0.99);
            double e50 = nlat2 ? pct(lat2, nlat2, 0.5) : NAN, e99 = nlat2 ? pct(lat2, nlat2, 0.99) : NAN;
            char name[512];
            snprintf(name, sizeof name, "%s%s%s", spec, ps ? "|" : "", ps ? ps : "");
            printf("%ld,\"%s\",%.1f,%.2f,%.0f,%.1f,%.2f,%.2f,%.3f,%.3f,%.1f,%.1f,%ld\n", N, name, bytes,
                   build_s + gen_s * (double)N / (double)(Nmax ? Nmax : 1), peak_rss_mb(),
                   disk + (is_hash ? 0 : 0), 100.0 * hit10 / (double)(ngt ? ngt : 1),
                   100.0 * hit100 / (double)(ngt ? ngt : 1), p50, p99, e50, e99, nlat);
            fflush(stdout);
            fprintf(stderr, "N=%ld %s: recall@K=%ld with views %.2f%%\n", N, name, K,
                    100.0 * hitvK / (double)(ngt ? ngt : 1));
            fprintf(stderr, "N=%ld %s: build %.1f s, recall@100 %.2f%%, first stage p50 %.3f ms p99 %.3f ms%s\n", N,
                    name, build_s, 100.0 * hit100 / (double)(ngt ? ngt : 1), p50, p99, nlat2 ? " (+ e2e)" : "");
            if (views_on && !is_hash) { /* the same index searched with every view of each query */
                double v50 = pct(latv, nlat, 0.5), v99 = pct(latv, nlat, 0.99);
                printf("%ld,\"%s +views\",%.1f,%.2f,%.0f,%.1f,%.2f,%.2f,%.3f,%.3f,nan,nan,%ld\n", N, name, bytes,
                       build_s + gen_s * (double)N / (double)(Nmax ? Nmax : 1), peak_rss_mb(), disk,
                       100.0 * hitv10 / (double)(ngt ? ngt : 1), 100.0 * hitv100 / (double)(ngt ? ngt : 1), v50,
                       v99, nlat);
                fflush(stdout);
            }
            if (!ps) break;
            }
            vs_ann_free(ann);
            vs_hamming_state_free(hs);
            vs_hamming_index_free(hi);
        }
        free(xv);
        free(xc);
    }
    fprintf(stderr, "global vectors of %ld distractors on disk: %.1f MB; codes %.1f MB; peak RSS %.0f MB\n", Nmax,
            gv_disk, code_disk, peak_rss_mb());
    /* everything back (the ASan build checks the benchmark too) */
    for (int s2 = 0; s2 < nseeds; s2++) {
        for (int j = 0; j < ds[s2].nref; j++) free(ds[s2].refs[j].x), free(ds[s2].refs[j].times), free(ds[s2].refs[j].gv);
        for (int j = 0; j < ds[s2].nq; j++) free(ds[s2].qs[j].x), free(ds[s2].qs[j].times), free(ds[s2].qs[j].gv),
                                                    free(ds[s2].qs[j].gvv[0]), free(ds[s2].qs[j].gvv[1]),
                                                    free(ds[s2].qs[j].vx[0]), free(ds[s2].qs[j].vx[1]),
                                                    free(ds[s2].qs[j].vtimes[1]);
        free(ds[s2].refs), free(ds[s2].qs), free(ds[s2].gt_q), free(ds[s2].gt_r);
    }
    free(ds), free(pool), free(noise), free(perm), free(sgn), free(gv), free(codes);
    free(lat), free(lat2), free(sc), free(ids), free(vsc), free(vids), free(hh);
    for (int v = 0; v < 2; v++) free(scv[v]), free(idsv[v]);
    free(latv);
    merge_videos(NULL, NULL, 0, 0, NULL, NULL, 0); /* frees its scratch */
    vs_simmodel_state_free(sst);
    vs_simmodel_free(sm);
    vs_hashmodel_free(hm);
    vs_gvec_whiten_free(whiten);
    if (ranks_f) fclose(ranks_f);
    return 0;
usage:
    fprintf(stderr, "usage: bench_scale --draws DIR [--n 10000,100000] [--seeds 1,2,3,4,5] [--work DIR]\n"
                    "       [--first-stages 'flat;faiss:IVF{L},Flat|nprobe=128/nprobe=32;...;conmh'] [--k 100]\n"
                    "       [--e2e auto|all|none|SPEC] [--e2e-seeds 5] [--threads 2] [--hash-model FILE]\n"
                    "       [--temporal W (ViSiL_f's temporal weight in the re-ranking, default 0.5)]\n"
                    "       [--hardness 0.3] [--segs 1] [--qsegs 0] [--pool 0] [--views 0] [--gvec-level 0]\n"
                    "       [--gvec-whiten FILE] [--ranks FILE]\n");
    return 2;
}
