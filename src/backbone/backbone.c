/*
 * backbone.c - the public backbone API (include/vidsim/backbone.h): per-state memory
 * planning, the thread pool and the forward pass over the fused graph of graph.c
 * with the kernels of ops.c.
 *
 * Memory: a state plans, once, one arena for every node output at max_batch frames:
 * buffers are placed first-fit by size over their live ranges (first write .. last
 * read; taps live to the end), and a node whose only reader is a Concatenate writes
 * straight into its channel slice of the concat output (row pitch = concat width), so
 * the concat costs nothing. Per-thread im2col scratch is sized up front; the forward
 * pass never allocates.
 *
 * Engines: convolutions run on oneDNN (dnnl.c) when built in and not disabled by
 * params.engine, else on im2col + OpenBLAS (ops.c). With oneDNN, n_threads goes to its
 * OpenMP runtime and the remaining small layers run on the caller's thread.
 * With OpenBLAS: n_threads - 1 pthreads per state plus the caller; creating such a
 * state puts OpenBLAS at one thread (core/blas.c: once, process-wide, never switched
 * back, unless the application chose with vs_blas_set_threads) and our threads
 * split each conv into row tiles whose size depends only on the batch and the layer,
 * never on n_threads, so results are bitwise the same for any thread count.
 * Pool/depthwise/elementwise layers are split by output rows.
 * Precision: INT8/BF16 states convert the activations convolutions read and run the
 * convolutions in that format on oneDNN (dnnl.c); everything else stays float. A
 * calibration pass (calib.c) observes every node's output during an FP32 forward.
 * vs_backbone_default_precision is the tools' default (INT8 for InceptionV3 where it
 * runs natively); INT8/BF16 states are refused below AVX-512 with a message saying so.
 * Not here: NCHW, fp16, GPU.
 */
#include "bb_dnnl.h"
#include "backbone/bb_split.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TILE_FLOATS (1L << 20) /* im2col tile budget per thread: 4 MB */
#define TILE_MIN 64
#define TILE_MAX 4096
#define MIN_PAR_ROWS 128       /* below this, one tile per 128 rows at most */
#define MAX_THREADS 64

struct vs_backbone_state {
    const vs_backbone *bb;
    vs_backbone_params p;
    bb_geom *g;          /* [n_nodes] at p.input_size */
    size_t *off;         /* [n_nodes] float offset of the node's first row in arena */
    int *ld;             /* [n_nodes] row pitch in floats */
    int *alias;          /* [n_nodes] 1: written into its concat consumer's buffer */
    float *arena;
    size_t arena_floats;
    float *scratch;      /* [n_threads, scratch_floats] */
    size_t scratch_floats;
    int n;               /* frames of the last forward (0: none yet) */
    int use_dnnl;        /* convs run on oneDNN (dnnl.c) */
    vs_backbone_calib *observe; /* during vs_backbone_calib_forward */
#ifdef VS_HAVE_DNNL
    bb_dnnl *dnnl;
#endif

    /* thread pool */
    pthread_t *th;
    int n_started;
    pthread_mutex_t mu;
    pthread_cond_t cv, cv_done;
    unsigned gen;
    int pending, stop, pool_ok;
    int step;            /* node being run */
    int n_items;         /* work items of the step (tiles or row chunks) */
    long tile;           /* conv tile rows */
    atomic_int next;     /* next item (dynamic scheduling) */
};

vs_backbone_params vs_backbone_default_params(void) {
    vs_backbone_params p = {224, 16, 1, VS_BACKBONE_ENGINE_AUTO, VS_PRECISION_FP32, NULL};
    return p;
}

const char *vs_precision_name(int precision) {
    switch (precision) {
    case VS_PRECISION_FP32: return "fp32";
    case VS_PRECISION_INT8: return "int8";
    case VS_PRECISION_BF16: return "bf16";
    default: return NULL;
    }
}

int vs_precision_parse(const char *name) {
    for (int p = 0; name && p < 3; p++)
        if (strcmp(name, vs_precision_name(p)) == 0) return p;
    return -1;
}

const char *vs_backbone_isa(void) {
#ifdef VS_HAVE_DNNL
    return vs__bb_dnnl_isa(NULL);
#else
    return "none";
#endif
}

int vs_backbone_isa_has_vnni(void) {
#ifdef VS_HAVE_DNNL
    int v;
    vs__bb_dnnl_isa(&v);
    return v;
#else
    return 0;
#endif
}

int vs_backbone_default_precision(const char *backbone) {
    if (!backbone || (strcmp(backbone, "inception_v3") && strcmp(backbone, "inception"))) return VS_PRECISION_FP32;
    /* native int8 needs VNNI/AMX (vs_backbone_isa_has_vnni) and AVX-512 (the INT8
     * state's stem runs in BF16, which oneDNN 2.6 has no avx2 kernels for) */
    const char *isa = vs_backbone_isa();
    return vs_backbone_isa_has_vnni() && !strncmp(isa, "avx512_core", 11) ? VS_PRECISION_INT8 : VS_PRECISION_FP32;
}

static long rows_of(const bb_geom *g, int n) { return (long)n * g->h * g->w; }

/* Tile rows for a conv with M output rows and K = kh*kw*cin. Independent of threads. */
static long conv_tile(long M, long K) {
    long tmax = TILE_FLOATS / K;
    if (tmax > TILE_MAX) tmax = TILE_MAX;
    if (tmax < TILE_MIN) tmax = TILE_MIN;
    tmax &= ~7L;
    long nt = (M + tmax - 1) / tmax;
    long par = (M + MIN_PAR_ROWS - 1) / MIN_PAR_ROWS;
    if (par > 4) par = 4;
    if (nt < par) nt = par;
    long t = (M + nt - 1) / nt;
    t = (t + 7) & ~7L;
    return t < tmax ? t : tmax;
}

static int is_im2col(const bb_node *nd, const bb_geom *go) {
    return !(nd->kh == 1 && nd->kw == 1 && nd->sh == 1 && nd->sw == 1 && go->pt == 0 &&
             go->pl == 0);
}

/* Run work item `it` of the current step on thread `tid`. */
static void run_item(vs_backbone_state *st, int tid, int it) {
    const vs_backbone *bb = st->bb;
    const int i = st->step;
    const bb_node *nd = &bb->nodes[i];
    const bb_geom *go = &st->g[i];
    float *out = st->arena + st->off[i];
    const int ldo = st->ld[i];
    const float *x = st->arena + st->off[nd->in[0]];
    const bb_geom *gi = &st->g[nd->in[0]];
    if (nd->op == BB_CONV) {
        long M = rows_of(go, st->n);
        long r0 = (long)it * st->tile, r1 = r0 + st->tile < M ? r0 + st->tile : M;
        vs__bb_conv_tile(out, ldo, st->scratch + (size_t)tid * st->scratch_floats, x, nd, gi, go,
                         r0, r1);
        return;
    }
    /* row ops: item = contiguous chunk of rows */
    long R = (nd->op == BB_ADD || nd->op == BB_CONCAT) ? rows_of(go, st->n) : (long)st->n * go->h;
    long r0 = R * it / st->n_items, r1 = R * (it + 1) / st->n_items;
    switch (nd->op) {
    case BB_DWCONV: vs__bb_dwconv_rows(out, ldo, x, nd, gi, go, r0, r1); break;
    case BB_MAXPOOL: vs__bb_maxpool_rows(out, ldo, x, nd, gi, go, r0, r1); break;
    case BB_AVGPOOL: vs__bb_avgpool_rows(out, ldo, x, nd, gi, go, r0, r1); break;
    case BB_ADD:
        vs__bb_add_rows(out, ldo, x, st->arena + st->off[nd->in[1]], go->c, r0, r1);
        for (int q = 2; q < nd->n_in; q++)
            vs__bb_add_rows(out, ldo, out, st->arena + st->off[nd->in[q]], go->c, r0, r1);
        break;
    case BB_CONCAT: {
        int coff = 0;
        for (int q = 0; q < nd->n_in; q++) {
            int src = nd->in[q], c = st->g[src].c;
            if (!st->alias[src])
                vs__bb_copy_rows(out + coff, ldo, st->arena + st->off[src], c, r0, r1);
            coff += c;
        }
        break;
    }
    }
}

static void run_items(vs_backbone_state *st, int tid) {
    for (;;) {
        int it = atomic_fetch_add(&st->next, 1);
        if (it >= st->n_items) break;
        run_item(st, tid, it);
    }
}

typedef struct { vs_backbone_state *st; int id; } worker_arg;

static void *worker(void *arg) {
    vs_backbone_state *st = ((worker_arg *)arg)->st;
    int id = ((worker_arg *)arg)->id;
    vs__free(arg);
    unsigned gen = 0;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->gen == gen && !st->stop) pthread_cond_wait(&st->cv, &st->mu);
        if (st->stop) break;
        gen = st->gen;
        pthread_mutex_unlock(&st->mu);
        run_items(st, id);
        pthread_mutex_lock(&st->mu);
        if (--st->pending == 0) pthread_cond_signal(&st->cv_done);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Run node i over n_items items, on all threads when worth it. */
static void run_step(vs_backbone_state *st, int i, int n_items, int parallel) {
    st->step = i;
    st->n_items = n_items;
    atomic_store(&st->next, 0);
    if (!parallel || st->n_started == 0 || n_items < 2) {
        run_items(st, 0);
        return;
    }
    pthread_mutex_lock(&st->mu);
    st->pending = st->n_started;
    st->gen++;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    run_items(st, 0);
    pthread_mutex_lock(&st->mu);
    while (st->pending > 0) pthread_cond_wait(&st->cv_done, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

void vs_backbone_state_free(vs_backbone_state *st) {
    if (!st) return;
    if (st->n_started) {
        pthread_mutex_lock(&st->mu);
        st->stop = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        for (int t = 0; t < st->n_started; t++) pthread_join(st->th[t], NULL);
    }
    if (st->pool_ok) {
        pthread_cond_destroy(&st->cv_done);
        pthread_cond_destroy(&st->cv);
        pthread_mutex_destroy(&st->mu);
    }
    vs__free(st->th);
#ifdef VS_HAVE_DNNL
    vs__bb_dnnl_free(st->dnnl);
#endif
    vs__free_aligned(st->scratch);
    vs__free_aligned(st->arena);
    vs__free(st->alias);
    vs__free(st->ld);
    vs__free(st->off);
    vs__free(st->g);
    vs__free(st);
}

/* Place every owned buffer in one arena (first fit over live ranges, largest first). */
static vs_status plan(vs_backbone_state *st) {
    const vs_backbone *bb = st->bb;
    const int nn = bb->n_nodes, B = st->p.max_batch;
    vs_status ret = VS_OK;
    int *first = vs__calloc(nn, sizeof(int)), *last = vs__calloc(nn, sizeof(int));
    int *order = vs__calloc(nn, sizeof(int)), *placed = vs__calloc(nn, sizeof(int));
    size_t *size = vs__calloc(nn, sizeof(size_t));
    if (!first || !last || !order || !placed || !size) {
        ret = vs__err(VS_ERR_NOMEM, "%s: out of memory planning activations", bb->path);
        goto out;
    }
    for (int i = 0; i < nn; i++) {
        const bb_node *nd = &bb->nodes[i];
        first[i] = last[i] = i;
        st->ld[i] = st->g[i].c;
        /* oneDNN writes dense NHWC only (strided dst falls back to a slow reference) */
        int dense_only = st->use_dnnl && (nd->op == BB_CONV || nd->op == BB_DWCONV);
        if (nd->n_consumers == 1 && nd->op != BB_INPUT && nd->op != BB_CONCAT && !dense_only) {
            for (int j = i + 1; j < nn; j++) {
                const bb_node *cj = &bb->nodes[j];
                int reads = 0;
                for (int q = 0; q < cj->n_in; q++) reads |= cj->in[q] == i;
                if (reads && cj->op == BB_CONCAT) st->alias[i] = 1;
                if (reads) break;
            }
        }
        for (int t = 0; t < bb->n_taps; t++)
            if (bb->tap_node[t] == i) st->alias[i] = 0, last[i] = nn;
        size[i] = st->alias[i] ? 0 : ((size_t)rows_of(&st->g[i], B) * st->g[i].c + 15) / 16 * 16;
    }
    for (int i = 0; i < nn; i++) {
        const bb_node *nd = &bb->nodes[i];
        for (int q = 0; q < nd->n_in; q++) {
            int s = nd->in[q];
            if (last[s] < i) last[s] = i;
            if (st->alias[s] && first[i] > first[s]) first[i] = first[s];
        }
    }
    /* order owned buffers by size, descending (insertion sort; n is small) */
    int n_own = 0;
    for (int i = 0; i < nn; i++) {
        if (st->alias[i]) continue;
        int k = n_own++;
        while (k > 0 && size[order[k - 1]] < size[i]) order[k] = order[k - 1], k--;
        order[k] = i;
    }
    size_t total = 0;
    for (int a = 0; a < n_own; a++) {
        int i = order[a];
        size_t off = 0;
        for (int again = 1; again;) { /* bump past every overlapping placed buffer */
            again = 0;
            for (int b = 0; b < a; b++) {
                int j = order[b];
                if (first[i] > last[j] || first[j] > last[i]) continue;
                if (off < st->off[j] + size[j] && st->off[j] < off + size[i]) {
                    off = st->off[j] + size[j];
                    again = 1;
                }
            }
        }
        st->off[i] = off;
        placed[i] = 1;
        if (off + size[i] > total) total = off + size[i];
    }
    /* aliased nodes: their concat's buffer plus the channel offset */
    for (int j = 0; j < nn; j++) {
        const bb_node *cj = &bb->nodes[j];
        if (cj->op != BB_CONCAT) continue;
        int coff = 0;
        for (int q = 0; q < cj->n_in; q++) {
            int s = cj->in[q];
            if (st->alias[s]) {
                st->off[s] = st->off[j] + coff;
                st->ld[s] = st->g[j].c;
            }
            coff += st->g[s].c;
        }
    }
    st->arena_floats = total;
out:
    vs__free(size);
    vs__free(placed);
    vs__free(order);
    vs__free(last);
    vs__free(first);
    return ret;
}

vs_status vs_backbone_state_create(vs_backbone_state **out, const vs_backbone *bb,
                                   const vs_backbone_params *p) {
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_state_create: NULL out");
    *out = NULL;
    if (!bb) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_state_create: NULL backbone");
    vs_backbone_params prm = p ? *p : vs_backbone_default_params();
    if (prm.input_size < 1 || prm.input_size > 4096 || prm.max_batch < 1 ||
        prm.max_batch > 4096 || prm.n_threads < 1 || prm.n_threads > MAX_THREADS)
        return vs__err(VS_ERR_INVALID_ARG,
                       "backbone state: bad params (input_size %d, max_batch %d, n_threads %d)",
                       prm.input_size, prm.max_batch, prm.n_threads);
    if (!vs_precision_name(prm.precision))
        return vs__err(VS_ERR_INVALID_ARG, "backbone state: unknown precision %d", prm.precision);
    if (prm.precision != VS_PRECISION_FP32) {
#ifdef VS_HAVE_DNNL
        if (prm.engine == VS_BACKBONE_ENGINE_BLAS)
#endif
            return vs__err(VS_ERR_UNSUPPORTED, "backbone state: %s needs the oneDNN engine%s",
                           vs_precision_name(prm.precision),
#ifdef VS_HAVE_DNNL
                           ""
#else
                           " (this build has no oneDNN)"
#endif
            );
#ifdef VS_HAVE_DNNL
        /* oneDNN 2.6 has no bf16 convolutions below AVX-512 (and an INT8 state's stem
         * is bf16): say so here rather than "primitive desc failed" for some layer */
        const char *isa = vs_backbone_isa();
        if (!strncmp(isa, "avx2", 4) || !strcmp(isa, "avx") || !strcmp(isa, "sse41"))
            return vs__err(VS_ERR_UNSUPPORTED,
                           "%s: %s needs a CPU with AVX-512 (oneDNN's instruction set here: %s%s); use fp32",
                           bb->path, vs_precision_name(prm.precision), isa,
                           getenv("DNNL_MAX_CPU_ISA") ? ", capped by DNNL_MAX_CPU_ISA" : "");
#endif
    }
    if (prm.precision == VS_PRECISION_INT8) {
        if (!prm.calib)
            return vs__err(VS_ERR_INVALID_ARG, "%s: int8 needs a calibration (vidsim calibrate)",
                           bb->path);
        if (prm.calib->bb != bb && (prm.calib->n_nodes != bb->n_nodes ||
                                    prm.calib->weights_hash != vs__bb_weights_hash(bb)))
            return vs__err(VS_ERR_INVALID_ARG, "%s: the calibration is for other weights", bb->path);
    }
    vs_backbone_state *st = vs__calloc(1, sizeof *st);
    if (!st) return vs__err(VS_ERR_NOMEM, "backbone state: out of memory");
    st->bb = bb;
    st->p = prm;
#ifdef VS_HAVE_DNNL
    st->use_dnnl = prm.engine != VS_BACKBONE_ENGINE_BLAS;
#else
    if (prm.engine == VS_BACKBONE_ENGINE_DNNL) {
        vs__free(st);
        return vs__err(VS_ERR_UNSUPPORTED, "backbone state: this build has no oneDNN");
    }
#endif
    const int nn = bb->n_nodes;
    vs_status ret;
    st->g = vs__calloc(nn, sizeof(bb_geom));
    st->off = vs__calloc(nn, sizeof(size_t));
    st->ld = vs__calloc(nn, sizeof(int));
    st->alias = vs__calloc(nn, sizeof(int));
    if (!st->g || !st->off || !st->ld || !st->alias) goto nomem;
    if ((ret = vs__bb_infer(st->g, bb, prm.input_size))) goto fail;
    if ((ret = plan(st))) goto fail;
#ifdef VS_HAVE_DNNL
    if (st->use_dnnl &&
        (ret = vs__bb_dnnl_create(&st->dnnl, bb, st->g, prm.max_batch, prm.n_threads,
                                  prm.precision, prm.calib)))
        goto fail;
#endif
    for (int i = 0; i < nn && !st->use_dnnl; i++) {
        const bb_node *nd = &bb->nodes[i];
        if (nd->op != BB_CONV || !is_im2col(nd, &st->g[i])) continue;
        long K = (long)nd->kh * nd->kw * nd->cin;
        /* conv_tile is not monotonic in M: size the scratch for every batch size */
        for (int nb = 1; nb <= prm.max_batch; nb++) {
            size_t need = (size_t)conv_tile(rows_of(&st->g[i], nb), K) * K;
            if (need > st->scratch_floats) st->scratch_floats = need;
        }
    }
    st->scratch_floats = (st->scratch_floats + 15) / 16 * 16;
    st->arena = vs__malloc_aligned((st->arena_floats ? st->arena_floats : 1) * sizeof(float));
    st->scratch = vs__malloc_aligned(
        ((size_t)prm.n_threads * st->scratch_floats + 16) * sizeof(float));
    if (!st->arena || !st->scratch) goto nomem;
    /* With oneDNN the convs use its OpenMP threads; the small memory-bound layers left
     * (pools, concat copies, adds) run on the caller, so that no second pool of
     * threads competes with OpenMP's spinning workers. */
    if (prm.n_threads > 1 && !st->use_dnnl) {
        st->th = vs__calloc(prm.n_threads, sizeof(pthread_t));
        if (!st->th) goto nomem;
        if (pthread_mutex_init(&st->mu, NULL) || pthread_cond_init(&st->cv, NULL) ||
            pthread_cond_init(&st->cv_done, NULL)) {
            ret = vs__err(VS_ERR_INTERNAL, "backbone state: cannot create thread pool");
            goto fail;
        }
        st->pool_ok = 1;
        for (int t = 1; t < prm.n_threads; t++) {
            worker_arg *a = vs__malloc(sizeof *a);
            if (!a) goto nomem;
            a->st = st;
            a->id = t;
            if (pthread_create(&st->th[st->n_started], NULL, worker, a) != 0) {
                vs__free(a);
                ret = vs__err(VS_ERR_INTERNAL, "backbone state: cannot start thread %d", t);
                goto fail;
            }
            st->n_started++;
        }
    }
    if (!st->use_dnnl) vs__blas_pool_started(); /* our threads split the GEMMs, not OpenBLAS */
    *out = st;
    return VS_OK;
nomem:
    ret = vs__err(VS_ERR_NOMEM, "%s: out of memory for a backbone state (input %d, batch %d)",
                  bb->path, prm.input_size, prm.max_batch);
fail:
    vs_backbone_state_free(st);
    return ret;
}

/* Run every node on the st->n frames already in the input buffer. */
static vs_status run_graph(vs_backbone_state *st) {
    const vs_backbone *bb = st->bb;
    vs_status ret = VS_OK;
#ifdef VS_HAVE_DNNL
    if (st->use_dnnl) vs__bb_dnnl_begin(st->dnnl);
#endif
    if (st->observe)
        vs__bb_calib_observe(st->observe, 0, st->arena + st->off[0], rows_of(&st->g[0], st->n), 3, 3);
    for (int i = 1; i < bb->n_nodes; i++) {
        const bb_node *nd = &bb->nodes[i];
        const bb_geom *go = &st->g[i];
        if (st->observe && i > 1)
            vs__bb_calib_observe(st->observe, i - 1, st->arena + st->off[i - 1],
                                 rows_of(&st->g[i - 1], st->n), st->g[i - 1].c, st->ld[i - 1]);
#ifdef VS_HAVE_DNNL
        if (st->use_dnnl && vs__bb_dnnl_has(st->dnnl, i)) {
            const bb_geom *gi = &st->g[nd->in[0]];
            ret = vs__bb_dnnl_run(st->dnnl, bb, i, st->arena + st->off[i],
                                  st->arena + st->off[nd->in[0]], st->n,
                                  (size_t)gi->h * gi->w * gi->c, (size_t)go->h * go->w * go->c);
            if (ret) break;
            continue;
        }
#endif
        long rows = nd->op == BB_ADD || nd->op == BB_CONCAT ? rows_of(go, st->n)
                                                           : (long)st->n * go->h;
        if (nd->op == BB_CONV) {
            long M = rows_of(go, st->n);
            st->tile = conv_tile(M, (long)nd->kh * nd->kw * nd->cin);
            run_step(st, i, (int)((M + st->tile - 1) / st->tile), 1);
            continue;
        }
        if (nd->op == BB_CONCAT) {
            int all = 1;
            for (int q = 0; q < nd->n_in; q++) all &= st->alias[nd->in[q]];
            if (all) continue; /* inputs already wrote their slices */
        }
        long work = rows_of(go, st->n) * go->c;
        int items = st->p.n_threads;
        if (items > rows) items = (int)rows;
        run_step(st, i, items, work >= 16384);
    }
    return ret;
}

vs_status vs_backbone_calib_forward(vs_backbone_calib *c, vs_backbone_state *st, const uint8_t *rgb,
                                    int n) {
    if (!c || !st || !rgb) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_calib_forward: NULL argument");
    if (!c->hist) return vs__err(VS_ERR_INVALID_ARG, "calibration: a loaded calibration records nothing");
    if (st->bb != c->bb || st->p.precision != VS_PRECISION_FP32)
        return vs__err(VS_ERR_INVALID_ARG, "calibration: needs an fp32 state of the same backbone");
    st->observe = c;
    vs_status ret = vs_backbone_forward(st, rgb, n);
    st->observe = NULL;
    if (!ret) c->frames += n;
    return ret;
}

vs_status vs_backbone_forward_f32(vs_backbone_state *st, const float *x, int n) {
    if (!st || !x) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_forward_f32: NULL argument");
    if (n < 1 || n > st->p.max_batch)
        return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_forward_f32: n = %d, max_batch %d", n,
                       st->p.max_batch);
    memcpy(st->arena + st->off[0], x, sizeof(float) * (size_t)rows_of(&st->g[0], n) * 3);
    st->n = n;
    vs_status ret = run_graph(st);
    if (ret) st->n = 0;
    return ret;
}

vs_status vs_backbone_forward(vs_backbone_state *st, const uint8_t *rgb, int n) {
    if (!st || !rgb) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_forward: NULL argument");
    if (n < 1 || n > st->p.max_batch)
        return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_forward: n = %d, max_batch %d", n,
                       st->p.max_batch);
    vs__bb_preprocess(st->arena + st->off[0], rgb, rows_of(&st->g[0], n) * 3);
    st->n = n;
    vs_status ret = run_graph(st);
    if (ret) st->n = 0;
    return ret;
}

vs_status vs__backbone_forward_split(vs_backbone_state *st, const uint8_t *rgb, int n, double *pre_s,
                                     double *net_s) {
    if (!st || !rgb) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_forward: NULL argument");
    if (n < 1 || n > st->p.max_batch)
        return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_forward: n = %d, max_batch %d", n,
                       st->p.max_batch);
    double t0 = vs__now();
    vs__bb_preprocess(st->arena + st->off[0], rgb, rows_of(&st->g[0], n) * 3);
    double t1 = vs__now();
    st->n = n;
    vs_status ret = run_graph(st);
    if (ret) st->n = 0;
    *pre_s += t1 - t0;
    *net_s += vs__now() - t1;
    return ret;
}

void vs__backbone_dnnl_stats(const vs_backbone_state *st, int *n_fused, long *n_exec) {
    if (n_fused) *n_fused = 0;
    if (n_exec) *n_exec = 0;
#ifdef VS_HAVE_DNNL
    if (st && st->dnnl) vs__bb_dnnl_stats(st->dnnl, n_fused, n_exec);
#else
    (void)st;
#endif
}

const float *vs_backbone_tap(const vs_backbone_state *st, const char *name, int *h, int *w,
                             int *c) {
    if (!st || !name || st->n == 0) return NULL;
    const vs_backbone *bb = st->bb;
    for (int t = 0; t < bb->n_taps; t++) {
        if (strcmp(bb->taps[t], name) != 0) continue;
        int i = bb->tap_node[t];
        if (h) *h = st->g[i].h;
        if (w) *w = st->g[i].w;
        if (c) *c = st->g[i].c;
        return st->arena + st->off[i];
    }
    return NULL;
}
