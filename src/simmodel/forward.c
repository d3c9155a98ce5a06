/*
 * forward.c - the similarity model's inference and training-forward entry points:
 * per-thread state, indexing (attention), one pair with every map, one query against
 * many targets (or many queries against one target) spread over worker threads, with
 * every score the same float for any thread count, and the batched all-pairs forward with
 * frame masks that training uses (its activations stay cached for backward).
 * Short videos (< 4 frames) are repeated by concatenation until >= 4 frames, as the
 * reference does; repeating is done on the f2f map (row i of the doubled query is row
 * i mod T), which is identical and cheaper. All scratch is sized before the compute
 * loops (grown with the largest pair seen), so workers never allocate.
 * Long pairs: the f2f GEMM runs in bounded blocks (f2f.c) and, in the many-target
 * call, the comparator runs in bands of output rows with a halo once its activations
 * would exceed band_floats, so memory is the f2f map (T*U floats) plus a bounded band.
 * Backward of the training forward: backward.c.
 */
#include "simmodel/simmodel_internal.h"

#include "core/pool.h"
#include "nn/nn.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

vs_status vs__simgrow(float **p, size_t *cap, size_t need) {
    if (need <= *cap && *p) return VS_OK;
    vs__free_aligned(*p);
    *p = NULL;
    *cap = 0;
    if (need == 0) need = 16;
    *p = vs__malloc_aligned(sizeof(float) * need);
    if (!*p) return vs__err(VS_ERR_NOMEM, "simmodel: out of memory for %zu floats of scratch", need);
    *cap = need;
    return VS_OK;
}

static int eff_len(int T) {
    while (T > 0 && T < VS_SIMMODEL_MIN_FRAMES) T *= 2;
    return T;
}

/* ------------------------------------------------------------------ state */

/* 1 when the state runs the f2f GEMM in bfloat16 */
#define BF16(st) ((st)->p.precision == VS_PRECISION_BF16)

vs_status vs_simmodel_state_create(vs_simmodel_state **out, const vs_simmodel *m,
                                   const vs_simmodel_params *p) {
    *out = NULL;
    vs_simmodel_state *st = vs__calloc(1, sizeof *st);
    if (!st) return vs__err(VS_ERR_NOMEM, "simmodel: out of memory");
    st->m = m;
    st->p = p ? *p : vs_simmodel_default_params();
    if (st->p.n_threads < 1) st->p.n_threads = 1;
    if (st->p.n_threads > 256) st->p.n_threads = 256;
    if (st->p.gemm_chunk < 1024) st->p.gemm_chunk = 1024;
    if (st->p.band_floats < 1024) st->p.band_floats = 1024;
    if (st->p.target_chunk < 0) st->p.target_chunk = 0;
    if (st->p.target_chunk > 0 && st->p.target_chunk < VS_SIMMODEL_MIN_FRAMES)
        st->p.target_chunk = VS_SIMMODEL_MIN_FRAMES;
    if (st->p.precision != VS_PRECISION_FP32 && st->p.precision != VS_PRECISION_BF16) {
        vs__free(st);
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: precision must be fp32 or bf16, got %d", p->precision);
    }
    if (!(st->p.temporal >= 0.0f && st->p.temporal <= 1.0f)) { /* NaN fails too */
        const double t = st->p.temporal;
        vs__free(st);
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: temporal must be in [0, 1], got %g", t);
    }
    if (st->p.precision == VS_PRECISION_BF16 && !vs__gemm_bf16_available()) {
        vs__free(st);
        return vs__err(VS_ERR_UNSUPPORTED, "simmodel: bf16 similarity needs a build with oneDNN and a CPU with "
                                           "AVX-512 BF16 or AMX, which this one lacks; use fp32");
    }
    st->n_work = st->p.n_threads;
    st->work = vs__calloc((size_t)st->n_work, sizeof *st->work);
    if (!st->work) {
        vs__free(st);
        return vs__err(VS_ERR_NOMEM, "simmodel: out of memory");
    }
    if (st->n_work > 1) vs__blas_pool_started(); /* the workers' f2f sgemm: docs/threading.md */
    *out = st;
    return VS_OK;
}

void vs_simmodel_state_free(vs_simmodel_state *st) {
    if (!st) return;
    for (int i = 0; i < st->n_work; i++) {
        vs__simwork *w = &st->work[i];
        vs__free_aligned(w->buf);
        vs__free_aligned(w->col);
        vs__free_aligned(w->gemm);
        vs__free_aligned(w->f2f0);
        vs__free_aligned(w->f2f);
        vs__free_aligned(w->rawf);
        vs__free_aligned(w->dbuf);
        vs__free_aligned(w->dxi);
        vs__free_aligned(w->dgrad);
    }
    vs__free(st->work);
    vs__free_aligned(st->att_h);
    vs__free_aligned(st->batch.block);
    vs__free(st->batch.masks);
    vs__free(st->batch.amax);
    vs__free(st);
}

static vs_status check_dims(const vs_simmodel_state *st, int R, int D) {
    if (R < 1 || D < 1)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: bad region count %d or dimension %d", R, D);
    if (st->m->D && st->m->D != D)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: features have D=%d, the model expects D=%d",
                       D, st->m->D);
    return VS_OK;
}

/* ------------------------------------------------------------------ index */

vs_status vs_simmodel_index(vs_simmodel_state *st, float *out, float *weights, const float *x,
                            int T, int R, int D) {
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (T < 0) return vs__err(VS_ERR_INVALID_ARG, "simmodel: negative frame count %d", T);
    const long N = (long)T * R;
    if (!st->m->attention) {
        if (out != x) memmove(out, x, sizeof(float) * (size_t)N * D);
        if (weights)
            for (long n = 0; n < N; n++) weights[n] = 1.0f;
        return VS_OK;
    }
    if (N == 0) return VS_OK;
    /* h [N,D] cache, then a [N] when the caller does not want the weights */
    s = vs__simgrow(&st->att_h, &st->att_h_cap, (size_t)N * D + (size_t)N);
    if (s != VS_OK) return s;
    float *a = weights ? weights : st->att_h + (size_t)N * D;
    const vs__simw *w = &st->m->w;
    vs__visil_attention_forward(out, a, st->att_h, x, w->att_W, w->att_b, w->att_u, (int)N, D);
    return VS_OK;
}

/* ------------------------------------------------------------------ one pair */

/* Comparator output rows per band for a Te x Ue map: Te/4 (one band, no halo) when
 * the whole activation block fits the state's band_floats, or `full` is asked (the
 * pair call keeps every map). A band of nA output rows reads f2f rows
 * [4*a0 - 8, 4*a1 + 12): the 8-row halo above and 12 below cover the receptive field
 * (f2f rows 4a-7 .. 4a+10 feed output row a) and keep the 2x2 pools on the global grid. */
static int band_out_rows(const vs_simmodel_state *st, int Te, int Ue, int full) {
    int T4 = Te / 4;
    if (full || vs__simacts_size(Te, Ue) <= (size_t)st->p.band_floats) return T4;
    int nA = 1;
    while (nA < T4 && vs__simacts_size(4 * (nA + 1) + 20, Ue) <= (size_t)st->p.band_floats) nA++;
    return nA;
}

/* The f2f GEMM block bound of a pair of raw lengths T, U: the whole product when it
 * fits gemm_chunk. Every path of one pair uses this one value, so the pair's block grid
 * (vs__f2f_n_blocks), hence its floats, is the same whichever path or thread runs it. */
static long pair_gemm_cap(const vs_simmodel_state *st, int T, int U, int R) {
    long whole = (long)T * R * U * R, cap = st->p.gemm_chunk;
    if (cap > whole) cap = whole;
    if (cap < (long)R * R) cap = (long)R * R;
    return cap;
}

/* Make w big enough for a pair of raw lengths T, U (and any shorter target). */
static vs_status work_reserve(vs__simwork *w, const vs_simmodel_state *st, int T, int U, int R,
                              int full) {
    const int visil = st->m->kind == VS__SIM_VISIL;
    int Te = eff_len(T), Ue = eff_len(U);
    vs_status s = vs__simgrow(&w->f2f, &w->f2f_cap, (size_t)Te * Ue);
    if (s == VS_OK && visil) {
        size_t whole = vs__simacts_size(Te, Ue), need = whole;
        if (!full && whole > (size_t)st->p.band_floats) {
            size_t minband = vs__simacts_size(Te < 24 ? Te : 24, Ue);
            need = (size_t)st->p.band_floats > minband ? (size_t)st->p.band_floats : minband;
        }
        s = vs__simgrow(&w->buf, &w->buf_cap, need);
        if (s == VS_OK) s = vs__simgrow(&w->col, &w->col_cap, vs__simcomp_col_size(Te, Ue));
        if (s == VS_OK) s = vs__simgrow(&w->rawf, &w->rawf_cap, (size_t)(Te / 4) * (Ue / 4));
    }
    long cap = pair_gemm_cap(st, T, U, R);
    if (s == VS_OK && (w->gemm_cap < (size_t)cap || !w->gemm))
        s = vs__simgrow(&w->gemm, &w->gemm_cap, (size_t)cap);
    if (s == VS_OK && (Te != T || Ue != U))
        s = vs__simgrow(&w->f2f0, &w->f2f0_cap, (size_t)T * U);
    return s;
}

/* Comparator output rows [a0, a0+nA) of a Te x Ue pair from the shared f2f map into
 * the shared rawf [Te/4, Ue/4], with w's own band scratch. */
static void run_band(vs__simwork *w, const vs_simmodel *m, const float *f2f, float *rawf, int Te,
                     int Ue, int a0, int nA) {
    const int T4 = Te / 4, U4 = Ue / 4;
    int a1 = a0 + nA < T4 ? a0 + nA : T4;
    int r0 = 4 * a0 - 8 > 0 ? 4 * a0 - 8 : 0, r1 = 4 * a1 + 12 < Te ? 4 * a1 + 12 : Te;
    vs__simacts *a = &w->acts;
    vs__simacts_bind(a, w->buf, r1 - r0, Ue);
    a->f2f = (float *)f2f + (size_t)r0 * Ue; /* a slice of rows, same pitch; read only */
    vs__comparator_forward(a, w->col, &m->w);
    memcpy(rawf + (size_t)a0 * U4, a->raw + (size_t)(a0 - r0 / 4) * U4,
           sizeof(float) * (size_t)(a1 - a0) * U4);
}

/* Compute the pair (unmasked) with w's reserved scratch. full = keep every map of the
 * whole pair in w->acts (else the comparator may run in bands and only the final map
 * is complete, in w->rawf). Leaves w->score_map / score_rows / score_cols set. */
static void pair_compute(vs__simwork *w, const vs_simmodel_state *st, const float *q, int T,
                         const float *t, int U, int R, int D, int full) {
    const vs_simmodel *m = st->m;
    int Te = eff_len(T), Ue = eff_len(U);
    long cap = pair_gemm_cap(st, T, U, R); /* <= w->gemm_cap: work_reserve */
    /* f2f [Te,Ue]; short videos: row i of the repeated query is row i mod T */
    if (Te == T && Ue == U) {
        vs__f2f_forward(BF16(st), w->f2f, Ue, w->gemm, cap, q, T, t, U, R, D);
    } else {
        vs__f2f_forward(BF16(st), w->f2f0, U, w->gemm, cap, q, T, t, U, R, D);
        for (int i = 0; i < Te; i++)
            for (int j = 0; j < Ue; j++) w->f2f[(long)i * Ue + j] = w->f2f0[(long)(i % T) * U + j % U];
    }
    vs__simacts *a = &w->acts;
    if (m->kind != VS__SIM_VISIL) {
        memset(a, 0, sizeof *a);
        a->T = Te;
        a->U = Ue;
        a->f2f = w->f2f;
        w->score_map = w->f2f;
        w->score_rows = Te;
        w->score_cols = Ue;
        w->score_T = T;
        w->score_U = U;
        return;
    }
    const int T4 = Te / 4, U4 = Ue / 4, nA = band_out_rows(st, Te, Ue, full);
    if (nA >= T4) { /* one band: the whole pair */
        vs__simacts_bind(a, w->buf, Te, Ue);
        a->f2f = w->f2f;
        vs__comparator_forward(a, w->col, &m->w);
        w->score_map = a->raw;
    } else {
        for (int a0 = 0; a0 < T4; a0 += nA) run_band(w, m, w->f2f, w->rawf, Te, Ue, a0, nA);
        w->score_map = w->rawf;
    }
    w->score_rows = T4;
    w->score_cols = U4;
}

/* Evaluation-scale score of the pair just computed by w, with the frame levels of its query
 * rlev [T] and target clev [U] (vs_simvideo.lev; NULL: none; visil_f only). */
static float pair_score(const vs__simwork *w, const vs_simmodel_state *st, const float *rlev, const float *clev) {
    /* visil_f with a temporal weight: on the untiled map (a short video repeated to 4
     * frames would join its last frame to its first along the diagonals); the plain
     * Chamfer is the same on both (row and column maxima repeat) and reads the tiled one,
     * as it always did */
    if (st->m->kind != VS__SIM_VISIL && (st->p.temporal != 0.0f || rlev || clev))
        return vs__visil_f_chamfer(w->score_map, w->score_T, w->score_U, w->score_cols, st->p.temporal, 0, rlev,
                                   clev);
    if (st->m->kind != VS__SIM_VISIL)
        return vs__visil_f_chamfer(w->score_map, w->score_rows, w->score_cols, w->score_cols, 0.0f, 0, NULL, NULL);
    return vs__video_chamfer(w->score_map, w->score_rows, w->score_cols, NULL, NULL, 1, 1.0f, 0.0f);
}

void vs_simmodel_pair_dims(const vs_simmodel *m, int T, int U, int *f2f_rows, int *f2f_cols,
                           int *map_rows, int *map_cols) {
    int Te = eff_len(T), Ue = eff_len(U);
    if (f2f_rows) *f2f_rows = Te;
    if (f2f_cols) *f2f_cols = Ue;
    int mr = m->kind == VS__SIM_VISIL ? Te / 2 / 2 : Te, mc = m->kind == VS__SIM_VISIL ? Ue / 2 / 2 : Ue;
    if (map_rows) *map_rows = mr;
    if (map_cols) *map_cols = mc;
}

vs_status vs_simmodel_pair(vs_simmodel_state *st, vs_simmodel_pair_out *out, const float *query,
                           int T, const float *target, int U, int R, int D) {
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (T < 1 || U < 1)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: empty video (query %d, target %d frames)", T, U);
    vs__simwork *w = &st->work[0];
    s = work_reserve(w, st, T, U, R, 1);
    if (s != VS_OK) return s;
    pair_compute(w, st, query, T, target, U, R, D, 1);
    const vs__simacts *a = &w->acts;
    const int visil = st->m->kind == VS__SIM_VISIL;
    const float *raw = visil ? a->raw : a->f2f;
    int mr = visil ? a->T4 : a->T, mc = visil ? a->U4 : a->U;
    out->sim = pair_score(w, st, NULL, NULL);
    out->sim_train = vs__video_chamfer(raw, mr, mc, NULL, NULL, visil, 0.5f, 0.5f);
    float reg = 0.0f;
    if (visil)
        for (long k = 0; k < (long)mr * mc; k++) {
            float c = raw[k];
            reg += fabsf(fminf(c + 1.0f, 0.0f)) + fabsf(fmaxf(c - 1.0f, 0.0f));
        }
    out->reg_loss = reg;
    if (out->f2f) memcpy(out->f2f, a->f2f, sizeof(float) * (size_t)a->T * a->U);
    if (out->map_raw) memcpy(out->map_raw, raw, sizeof(float) * (size_t)mr * mc);
    if (out->map) {
        if (visil)
            vs__hardtanh_forward(out->map, raw, (long)mr * mc);
        else
            memcpy(out->map, raw, sizeof(float) * (size_t)mr * mc);
    }
    return VS_OK;
}

/* the GEMM block of vs_simmodel_f2f for a pair of T and U frames */
static long f2f_cap(const vs_simmodel_state *st, int T, int U, int R) {
    long whole = (long)T * R * U * R, cap = st->p.gemm_chunk;
    if (cap > whole) cap = whole;
    if (cap < (long)R * R) cap = (long)R * R;
    return cap;
}

static vs_status f2f_either(vs_simmodel_state *st, float *f2f, float *bt, const float *query, int T,
                            const float *target, int U, int R, int D, int sym) {
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (T < 1 || U < 1 || !query || !target || !f2f)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: empty video (query %d, target %d frames)", T, U);
    vs__simwork *w = &st->work[0];
    const long cap = f2f_cap(st, T, U, R);
    if (w->gemm_cap < (size_t)cap || !w->gemm) s = vs__simgrow(&w->gemm, &w->gemm_cap, (size_t)cap);
    if (s != VS_OK) return s;
    if (sym && R > 256) return vs__err(VS_ERR_INVALID_ARG, "simmodel: %d regions per frame (at most 256)", R);
    if (sym)
        vs__f2f_forward_both(BF16(st), f2f, bt, U, w->gemm, cap, query, T, target, U, R, D);
    else
        vs__f2f_forward(BF16(st), f2f, U, w->gemm, cap, query, T, target, U, R, D);
    return VS_OK;
}

vs_status vs_simmodel_f2f(vs_simmodel_state *st, float *f2f, const float *query, int T,
                          const float *target, int U, int R, int D) {
    return f2f_either(st, f2f, NULL, query, T, target, U, R, D, 0);
}

typedef struct rowmax_job {
    vs_simmodel_state *st;
    const float *q;
    int T, R, D, n;
    const vs_simvideo *tg;
    float *out;
    atomic_int next;
} rowmax_job;

static void rowmax_worker(void *ctx, int wi) {
    rowmax_job *j = ctx;
    vs__simwork *w = &j->st->work[wi];
    for (;;) {
        int k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n) break;
        const int U = j->tg[k].T;
        vs__f2f_forward(BF16(j->st), w->f2f0, U, w->gemm, f2f_cap(j->st, j->T, U, j->R), j->q, j->T, j->tg[k].x, U,
                        j->R, j->D);
        float *o = j->out + (size_t)k * j->T;
        for (int i = 0; i < j->T; i++) {
            const float *row = w->f2f0 + (size_t)i * U;
            float b = row[0];
            for (int u = 1; u < U; u++) b = row[u] > b ? row[u] : b;
            o[i] = b;
        }
    }
}

vs_status vs_simmodel_f2f_rowmax(vs_simmodel_state *st, float *out, const float *query, int T,
                                 const vs_simvideo *targets, int n, int R, int D) {
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (T < 1 || !query) return vs__err(VS_ERR_INVALID_ARG, "simmodel: empty query");
    if (n < 0) return vs__err(VS_ERR_INVALID_ARG, "simmodel: negative target count");
    int Umax = 0;
    long capmax = 0;
    for (int k = 0; k < n; k++) {
        if (targets[k].T < 1 || !targets[k].x)
            return vs__err(VS_ERR_INVALID_ARG, "simmodel: target %d is empty", k);
        if (targets[k].T > Umax) Umax = targets[k].T;
        long c = f2f_cap(st, T, targets[k].T, R);
        if (c > capmax) capmax = c;
    }
    if (n == 0) return VS_OK;
    /* every worker's scratch before any thread starts: the map [T, Umax] and the GEMM block */
    const int nw = st->n_work < n ? st->n_work : n;
    for (int i = 0; i < nw && s == VS_OK; i++) {
        vs__simwork *w = &st->work[i];
        s = vs__simgrow(&w->f2f0, &w->f2f0_cap, (size_t)T * Umax);
        if (s == VS_OK && (w->gemm_cap < (size_t)capmax || !w->gemm)) s = vs__simgrow(&w->gemm, &w->gemm_cap, (size_t)capmax);
    }
    if (s != VS_OK) return s;
    rowmax_job job = {.st = st, .q = query, .T = T, .R = R, .D = D, .n = n, .tg = targets, .out = out};
    atomic_init(&job.next, 0);
    vs__simpar_run(nw, rowmax_worker, &job);
    return VS_OK;
}

vs_status vs_simmodel_f2f_sym(vs_simmodel_state *st, float *f2f, const float *query, int T,
                              const float *target, int U, int R, int D) {
    return f2f_either(st, f2f, NULL, query, T, target, U, R, D, 1);
}

vs_status vs_simmodel_f2f_both(vs_simmodel_state *st, float *f2f, float *f2f_rev_t, const float *query,
                               int T, const float *target, int U, int R, int D) {
    if (!f2f_rev_t) return vs__err(VS_ERR_INVALID_ARG, "simmodel: NULL reverse map");
    return f2f_either(st, f2f, f2f_rev_t, query, T, target, U, R, D, 1);
}

float vs_simmodel_chamfer(const float *map, int T, int U, int by_cols) {
    if (T < 1 || U < 1 || !map) return NAN;
    return vs__visil_f_chamfer(map, T, U, U, 0.0f, by_cols, NULL, NULL);
}

float vs_simmodel_state_chamfer(const vs_simmodel_state *st, const float *map, int T, int U, int by_cols,
                                const float *row_lev, const float *col_lev) {
    if (!st || T < 1 || U < 1 || !map) return NAN;
    if (st->m->kind == VS__SIM_VISIL) return vs__visil_f_chamfer(map, T, U, U, 0.0f, by_cols, NULL, NULL);
    return vs__visil_f_chamfer(map, T, U, U, st->p.temporal, by_cols, row_lev, col_lev);
}

const vs__simacts *vs__simmodel_last_acts(const vs_simmodel_state *st) { return &st->work[0].acts; }

/* ------------------------------------------------------------------ many targets */

/* Run fn(ctx, worker) on workers 0..nw-1: worker 0 in the calling thread, the others
 * on threads started for this call (src/core/pool.c; a worker whose thread cannot be
 * started runs on the calling thread). Work is claimed through atomic counters
 * inside ctx. */
void vs__simpar_run(int nw, vs__simpar_fn fn, void *ctx) { vs__pool_each(nw, fn, ctx); }

/* One pair computed by all workers together (fewer targets than workers): the f2f
 * map's GEMM blocks, then the comparator's bands, each claimed through a counter. The
 * blocks and bands are exactly those of pair_compute (same gemm cap, same band rows),
 * each written to its own part of the shared map, so the score is the one a single
 * worker gives, bit for bit, whatever the number of workers: background levels and
 * symmetric scores, whose reverse direction has one target, do not depend on -j. */
typedef struct split_job {
    vs_simmodel_state *st;
    const float *q, *t;
    int T, U, R, D, nb, nA;
    long cap;
    float *f2f, *rawf; /* worker 0's buffers, shared */
    atomic_int next;
} split_job;

static void split_f2f(void *ctx, int wi) {
    split_job *j = ctx;
    vs__simwork *w = &j->st->work[wi];
    for (;;) {
        int b = atomic_fetch_add(&j->next, 1);
        if (b >= j->nb) break;
        vs__f2f_forward_block(BF16(j->st), j->f2f, j->U, w->gemm, j->cap, j->q, j->T, j->t, j->U, j->R, j->D, b);
    }
}

static void split_bands(void *ctx, int wi) {
    split_job *j = ctx;
    vs__simwork *w = &j->st->work[wi];
    for (;;) {
        int a0 = atomic_fetch_add(&j->next, 1) * j->nA;
        if (a0 >= j->T / 4) break;
        run_band(w, j->st->m, j->f2f, j->rawf, j->T, j->U, a0, j->nA);
    }
}

static float score_pair_split(vs_simmodel_state *st, const float *q, int T, const float *t,
                              int U, int R, int D, const float *qlev, const float *tlev) {
    vs__simwork *w0 = &st->work[0];
    const vs_simmodel *m = st->m;
    const int visil = m->kind == VS__SIM_VISIL;
    split_job j = {.st = st, .q = q, .t = t, .T = T, .U = U, .R = R, .D = D,
                   .f2f = w0->f2f, .rawf = w0->rawf, .cap = pair_gemm_cap(st, T, U, R)};
    j.nb = vs__f2f_n_blocks(T, U, R, j.cap);
    j.nA = visil ? band_out_rows(st, T, U, 0) : T / 4;
    const int n_bands = visil && T / 4 > 0 ? (T / 4 + j.nA - 1) / j.nA : 0;
    /* tiny (doubled) pairs, or nothing to share: worker 0 alone, no threads started */
    if (eff_len(T) != T || eff_len(U) != U || (j.nb == 1 && n_bands <= 1)) {
        pair_compute(w0, st, q, T, t, U, R, D, 0);
        return pair_score(w0, st, qlev, tlev);
    }
    atomic_init(&j.next, 0);
    if (j.nb > 1)
        vs__simpar_run(st->n_work < j.nb ? st->n_work : j.nb, split_f2f, &j);
    else
        vs__f2f_forward_block(BF16(st), w0->f2f, U, w0->gemm, j.cap, q, T, t, U, R, D, 0);
    if (!visil) return vs__visil_f_chamfer(w0->f2f, T, U, U, st->p.temporal, 0, qlev, tlev);
    if (n_bands <= 1) { /* fits one band: worker 0 alone */
        vs__simacts *a = &w0->acts;
        vs__simacts_bind(a, w0->buf, T, U);
        a->f2f = w0->f2f;
        vs__comparator_forward(a, w0->col, &m->w);
        return vs__video_chamfer(a->raw, T / 4, U / 4, NULL, NULL, 1, 1.0f, 0.0f);
    }
    atomic_store(&j.next, 0);
    vs__simpar_run(st->n_work < n_bands ? st->n_work : n_bands, split_bands, &j);
    return vs__video_chamfer(w0->rawf, T / 4, U / 4, NULL, NULL, 1, 1.0f, 0.0f);
}

typedef struct sim_job {
    vs_simmodel_state *st;
    const float *q, *qlev;
    int T, R, D, n;
    const vs_simvideo *tg; /* [n] targets of q; or, with qs, the one target */
    const vs_simvideo *qs; /* [n] queries of tg[0] (vs_simmodel_similarity_to), or NULL */
    float *sims;
    atomic_int next;
} sim_job;

/* Number of chunks of a target of U frames under target_chunk c (tail < 4 dropped). */
static int n_chunks(int U, int c) {
    if (c <= 0 || U <= c) return 1;
    int n = U / c, tail = U % c;
    return n + (tail >= VS_SIMMODEL_MIN_FRAMES ? 1 : 0);
}

/* Score of one target: by worker w alone, or (w == NULL) by all workers together. */
static float score_target(vs__simwork *w, vs_simmodel_state *st, const float *q, int T, const float *qlev,
                          const vs_simvideo *tv, int R, int D) {
    int c = st->p.target_chunk, U = tv->T, nc = n_chunks(U, c);
    if (c <= 0 || U <= c) c = U;
    /* S2VS calculate_similarities_to_queries: mean of the chunk scores */
    double sum = 0.0;
    for (int k = 0; k < nc; k++) {
        int j0 = k * c, len = U - j0 < c ? U - j0 : c;
        const float *t = tv->x + (size_t)j0 * R * D, *tlev = tv->lev ? tv->lev + j0 : NULL;
        if (w) {
            pair_compute(w, st, q, T, t, len, R, D, 0);
            sum += pair_score(w, st, qlev, tlev);
        } else {
            sum += score_pair_split(st, q, T, t, len, R, D, qlev, tlev);
        }
    }
    return nc == 1 ? (float)sum : (float)(sum / nc);
}

static void sim_worker(void *ctx, int wi) {
    sim_job *j = ctx;
    vs__simwork *w = &j->st->work[wi];
    for (;;) {
        int k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n) break;
        if (j->qs)
            j->sims[k] = score_target(w, j->st, j->qs[k].x, j->qs[k].T, j->qs[k].lev, j->tg, j->R, j->D);
        else
            j->sims[k] = score_target(w, j->st, j->q, j->T, j->qlev, &j->tg[k], j->R, j->D);
    }
}

/* vs_simmodel_similarity with the query's frame levels qlev [T] (or NULL) */
static vs_status similarity(vs_simmodel_state *st, float *sims, const float *query, int T, const float *qlev,
                            const vs_simvideo *targets, int n, int R, int D) {
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (T < 1) return vs__err(VS_ERR_INVALID_ARG, "simmodel: empty query");
    if (n < 0) return vs__err(VS_ERR_INVALID_ARG, "simmodel: negative target count");
    /* Umax: the longest raw piece (chunk or whole target), for f2f0; Uemax: the
     * longest piece after the doubling of short videos, which is what the f2f map,
     * comparator and band scratch are sized by. eff_len is not monotone (3 frames
     * become 6, 4 stay 4), so the largest doubled length need not belong to the
     * longest target: sizing by max(Umax, 4) overflowed on 3-frame targets. */
    int Umax = 0, Umin = 1 << 30, Uemax = 0;
    for (int k = 0; k < n; k++) {
        if (targets[k].T < 1 || !targets[k].x)
            return vs__err(VS_ERR_INVALID_ARG, "simmodel: target %d is empty", k);
        int U = targets[k].T;
        if (st->p.target_chunk > 0 && U > st->p.target_chunk) U = st->p.target_chunk;
        if (U > Umax) Umax = U;
        if (U < Umin) Umin = U;
        if (eff_len(U) > Uemax) Uemax = eff_len(U);
    }
    if (n == 0) return VS_OK;
    /* Fewer targets than workers: every pair is split over all workers. */
    const int split = n < st->n_work && st->n_work > 1;
    int nw = split ? st->n_work : (st->n_work < n ? st->n_work : n);
    /* Size every worker's scratch for the largest doubled target before any thread
     * starts, so workers cannot fail; f2f0 holds the undoubled map of a short pair. */
    for (int i = 0; i < nw; i++) {
        s = work_reserve(&st->work[i], st, T, Uemax, R, 0);
        if (s == VS_OK && (T < VS_SIMMODEL_MIN_FRAMES || Umin < VS_SIMMODEL_MIN_FRAMES))
            s = vs__simgrow(&st->work[i].f2f0, &st->work[i].f2f0_cap, (size_t)T * Umax);
        if (s != VS_OK) return s;
    }
    if (split) {
        for (int k = 0; k < n; k++) sims[k] = score_target(NULL, st, query, T, qlev, &targets[k], R, D);
        return VS_OK;
    }
    sim_job job = {.st = st, .q = query, .qlev = qlev, .T = T, .R = R, .D = D, .n = n, .tg = targets, .sims = sims};
    atomic_init(&job.next, 0);
    vs__simpar_run(nw, sim_worker, &job);
    return VS_OK;
}

vs_status vs_simmodel_similarity(vs_simmodel_state *st, float *sims, const float *query, int T,
                                 const vs_simvideo *targets, int n, int R, int D) {
    return similarity(st, sims, query, T, NULL, targets, n, R, D);
}

vs_status vs_simmodel_similarity_to(vs_simmodel_state *st, float *sims, const vs_simvideo *queries,
                                    int n, const float *target, int U, int R, int D) {
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (U < 1 || !target) return vs__err(VS_ERR_INVALID_ARG, "simmodel: empty target");
    if (n < 0) return vs__err(VS_ERR_INVALID_ARG, "simmodel: negative query count");
    for (int k = 0; k < n; k++)
        if (queries[k].T < 1 || !queries[k].x)
            return vs__err(VS_ERR_INVALID_ARG, "simmodel: query %d is empty", k);
    if (n == 0) return VS_OK;
    if (n == 1) return similarity(st, sims, queries[0].x, queries[0].T, queries[0].lev,
                                  &(vs_simvideo){target, U, NULL}, 1, R, D);
    /* the target's pieces (chunks, or the whole): longest raw, shortest, longest doubled */
    int c = st->p.target_chunk, Umax = c > 0 && U > c ? c : U, Umin = Umax, Uemax = eff_len(Umax);
    if (c > 0 && U > c && U % c >= VS_SIMMODEL_MIN_FRAMES) { /* the tail chunk */
        Umin = U % c;
        if (eff_len(Umin) > Uemax) Uemax = eff_len(Umin);
    }
    /* whole pairs, one per worker at a time, each computed as a lone worker would: the
     * floats of vs_simmodel_similarity with any thread count. Scratch for every query
     * length before any thread starts (simgrow only grows). */
    int nw = st->n_work < n ? st->n_work : n;
    for (int i = 0; i < nw; i++)
        for (int k = 0; k < n; k++) {
            int T = queries[k].T;
            s = work_reserve(&st->work[i], st, T, Uemax, R, 0);
            if (s == VS_OK && (T < VS_SIMMODEL_MIN_FRAMES || Umin < VS_SIMMODEL_MIN_FRAMES))
                s = vs__simgrow(&st->work[i].f2f0, &st->work[i].f2f0_cap, (size_t)T * Umax);
            if (s != VS_OK) return s;
        }
    vs_simvideo tv = {target, U, NULL};
    sim_job job = {.st = st, .R = R, .D = D, .n = n, .tg = &tv, .qs = queries, .sims = sims};
    atomic_init(&job.next, 0);
    vs__simpar_run(nw, sim_worker, &job);
    return VS_OK;
}

/* ------------------------------------------------------------------ training batch */

const vs__simacts *vs__simmodel_batch_acts(const vs_simmodel_state *st, int a, int b,
                                           vs__simacts *tmp) {
    const vs__simbatch *bt = &st->batch;
    int T = bt->T, T2 = T / 2, T4 = T2 / 2, B = bt->B;
    vs__simacts_bind(tmp, bt->acts + (size_t)(a * B + b) * bt->pair_floats, T, T);
    unsigned char *m0 = bt->masks, *m1 = m0 + (size_t)B * T, *m2 = m1 + (size_t)B * T2;
    tmp->rm0 = m0 + (size_t)a * T;
    tmp->cm0 = m0 + (size_t)b * T;
    tmp->rm1 = m1 + (size_t)a * T2;
    tmp->cm1 = m1 + (size_t)b * T2;
    tmp->rm2 = m2 + (size_t)a * T4;
    tmp->cm2 = m2 + (size_t)b * T4;
    return tmp;
}

static size_t al16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct batch_job {
    vs_simmodel_state *st;
    float *sims;
    atomic_int next;
} batch_job;

/* Pairs of the training batch claimed one by one: f2f (masked), comparator, L_reg and
 * the training-scale masked Chamfer, all cached in the pair's block. */
static void batch_worker(void *ctx, int wi) {
    batch_job *j = ctx;
    vs_simmodel_state *st = j->st;
    vs__simbatch *bt = &st->batch;
    vs__simwork *w = &st->work[wi];
    const int B = bt->B, T = bt->T, R = bt->R, D = bt->D, T4 = T / 4;
    long cap = (long)w->gemm_cap < st->p.gemm_chunk ? (long)w->gemm_cap : st->p.gemm_chunk;
    for (;;) {
        int k = atomic_fetch_add(&j->next, 1);
        if (k >= B * B) break;
        int a = k / B, b = k % B;
        vs__simacts tmp;
        vs__simacts *ac = (vs__simacts *)vs__simmodel_batch_acts(st, a, b, &tmp);
        const float *qa = bt->xi + (size_t)a * T * R * D, *tb = bt->xi + (size_t)b * T * R * D;
        vs__f2f_forward_arg(ac->f2f, T, bt->amax + (size_t)k * T * R * T, w->gemm, cap, qa, T,
                            tb, T, R, D);
        vs__mask_apply(ac->f2f, ac->f2f, ac->rm0, ac->cm0, T, T);
        vs__comparator_forward(ac, w->col, &st->m->w);
        float r = 0.0f;
        for (long c = 0; c < (long)T4 * T4; c++) {
            float v = ac->raw[c];
            r += fabsf(fminf(v + 1.0f, 0.0f)) + fabsf(fmaxf(v - 1.0f, 0.0f));
        }
        bt->regs[k] = r;
        j->sims[k] = vs__video_chamfer(ac->raw, T4, T4, ac->rm2, ac->cm2, 1, 0.5f, 0.5f);
    }
}

vs_status vs_simmodel_forward_batch(vs_simmodel_state *st, float *sims, float *reg_loss,
                                    const float *x, const int32_t *mask, int B, int T, int R,
                                    int D) {
    const vs_simmodel *m = st->m;
    if (m->kind != VS__SIM_VISIL)
        return vs__err(VS_ERR_UNSUPPORTED, "simmodel: forward_batch needs a ViSiL model");
    vs_status s = check_dims(st, R, D);
    if (s != VS_OK) return s;
    if (B < 1 || T < VS_SIMMODEL_MIN_FRAMES)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: forward_batch needs B >= 1 and T >= %d (B=%d, T=%d)",
                       VS_SIMMODEL_MIN_FRAMES, B, T);
    vs__simbatch *bt = &st->batch;
    const long N = (long)B * T * R;
    const int T2 = T / 2, T4 = T2 / 2;
    bt->B = B;
    bt->T = T;
    bt->R = R;
    bt->D = D;
    bt->pair_floats = al16(vs__simacts_size(T, T));
    size_t need = al16((size_t)N * D) * 2 + al16((size_t)N) + al16((size_t)B * B) +
                  (size_t)B * B * bt->pair_floats;
    s = vs__simgrow(&bt->block, &bt->cap, need);
    if (s != VS_OK) return s;
    size_t mneed = (size_t)B * (T + T2 + T4);
    if (bt->mcap < mneed) {
        vs__free(bt->masks);
        bt->masks = vs__malloc(mneed);
        bt->mcap = bt->masks ? mneed : 0;
        if (!bt->masks) return vs__err(VS_ERR_NOMEM, "simmodel: out of memory for masks");
    }
    size_t aneed = (size_t)B * B * T * R * T;
    if (bt->amax_cap < aneed) {
        vs__free(bt->amax);
        bt->amax = vs__malloc(aneed);
        bt->amax_cap = bt->amax ? aneed : 0;
        if (!bt->amax) return vs__err(VS_ERR_NOMEM, "simmodel: out of memory for the f2f argmax cache");
    }
    bt->xi = bt->block;
    bt->att_h = bt->xi + al16((size_t)N * D);
    bt->att_a = bt->att_h + al16((size_t)N * D);
    bt->regs = bt->att_a + al16((size_t)N);
    bt->acts = bt->regs + al16((size_t)B * B);
    const int nw = st->n_work < B * B ? st->n_work : B * B;
    for (int i = 0; i < nw; i++) {
        s = work_reserve(&st->work[i], st, T, T, R, 1); /* gemm + col scratch */
        if (s != VS_OK) return s;
    }

    /* masks per level: [B,T], [B,T2], [B,T4] (max-pooled like the maps) */
    unsigned char *m0 = bt->masks, *m1 = m0 + (size_t)B * T, *m2 = m1 + (size_t)B * T2;
    for (long k = 0; k < (long)B * T; k++) m0[k] = mask ? (unsigned char)(mask[k] != 0) : 1;
    for (int b = 0; b < B; b++) {
        vs__mask_pool2(m1 + (size_t)b * T2, m0 + (size_t)b * T, T);
        vs__mask_pool2(m2 + (size_t)b * T4, m1 + (size_t)b * T2, T2);
    }
    /* index_video: attention on every region (padded ones too), then zero padded frames */
    if (m->attention) {
        vs__visil_attention_forward(bt->xi, bt->att_a, bt->att_h, x, m->w.att_W, m->w.att_b,
                                    m->w.att_u, (int)N, D);
    } else {
        memcpy(bt->xi, x, sizeof(float) * (size_t)N * D);
        for (long k = 0; k < N; k++) bt->att_a[k] = 1.0f;
    }
    for (long f = 0; f < (long)B * T; f++)
        if (!m0[f]) memset(bt->xi + (size_t)f * R * D, 0, sizeof(float) * (size_t)R * D);

    /* all B*B pairs, shared among the workers; per-pair L_reg summed in pair order
     * afterwards so the result does not depend on the thread count */
    batch_job job = {.st = st, .sims = sims};
    atomic_init(&job.next, 0);
    vs__simpar_run(nw, batch_worker, &job);
    double reg = 0.0;
    for (int k = 0; k < B * B; k++) reg += bt->regs[k];
    if (reg_loss) *reg_loss = (float)reg;
    return VS_OK;
}
