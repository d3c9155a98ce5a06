/*
 * dist.c - the MPI layer (dist.h, docs/mpi.md): start and end MPI, the refusal to run
 * as several ranks without it, and the three distributed commands over the MPI-free
 * hooks of src/search and src/index: search over shards (raw scores per shard, the
 * query level from every shard's background candidates, each shard's top hits merged
 * on rank 0), dedup (similarity rows split by rank, gathered on rank 0) and index add
 * (ranks extract, rank 0 commits in list order). The only file that calls MPI; without
 * VS_HAVE_MPI it compiles to the stubs at the end.
 */
#define _POSIX_C_SOURCE 200809L
#include "vidsim/dist.h"
#include "core/internal.h"
#include "index/index_internal.h"
#include "search/search_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vs_dist_launched_size(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            long n = strtol(v, NULL, 10);
            return n > 1 ? (int)(n > 1 << 20 ? 1 << 20 : n) : 1;
        }
    }
    return 1;
}

#ifdef VS_HAVE_MPI
#include <mpi.h>
#include <pthread.h>
#include <time.h>

static int g_on, g_rank, g_size = 1;

int vs_dist_available(void) { return 1; }
int vs_dist_rank(void) { return g_rank; }
int vs_dist_size(void) { return g_size; }

vs_status vs_dist_init(int *argc, char ***argv) {
    if (g_on || vs_dist_launched_size() <= 1) return VS_OK; /* one process: no MPI at all */
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return vs__err(VS_ERR_INTERNAL, "MPI_Init_thread failed");
    g_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return VS_OK;
}

int vs_dist_finish(int rc) {
    if (!g_on) return rc;
    int all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    g_on = 0;
    return all;
}

int vs_dist_agree(int ok) {
    if (!g_on) return ok != 0;
    int v = ok != 0, all = 0;
    MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

/* ---- a byte buffer for messages */

typedef struct buf {
    char *p;
    size_t n, cap, at; /* at: the reading position */
    int bad;           /* out of memory, or read past the end */
} buf;

static void put(buf *b, const void *x, size_t n) {
    if (b->bad) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        char *p = vs__realloc(b->p, cap);
        if (!p) {
            b->bad = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, x, n);
    b->n += n;
}
static void put_i64(buf *b, int64_t v) { put(b, &v, sizeof v); }
static void put_f32(buf *b, float v) { put(b, &v, sizeof v); }
static void put_f64(buf *b, double v) { put(b, &v, sizeof v); }
static void put_str(buf *b, const char *s) {
    int64_t n = s ? (int64_t)strlen(s) : -1;
    put_i64(b, n);
    if (n > 0) put(b, s, (size_t)n);
}
static void get(buf *b, void *x, size_t n) {
    if (b->bad || b->at + n > b->n) {
        b->bad = 1;
        memset(x, 0, n);
        return;
    }
    memcpy(x, b->p + b->at, n);
    b->at += n;
}
static int64_t get_i64(buf *b) {
    int64_t v;
    get(b, &v, sizeof v);
    return v;
}
static float get_f32(buf *b) {
    float v;
    get(b, &v, sizeof v);
    return v;
}
static double get_f64(buf *b) {
    double v;
    get(b, &v, sizeof v);
    return v;
}
/* a new string (NULL for a NULL one, or when out of memory: b->bad) */
static char *get_str(buf *b) {
    int64_t n = get_i64(b);
    if (n < 0 || b->bad) return NULL;
    if ((size_t)n > b->n - b->at) {
        b->bad = 1;
        return NULL;
    }
    char *s = vs__malloc((size_t)n + 1);
    if (!s) {
        b->bad = 1;
        return NULL;
    }
    memcpy(s, b->p + b->at, (size_t)n);
    s[n] = 0;
    b->at += (size_t)n;
    return s;
}

/* Every rank's buffer on rank 0: all [size] (rank 0's own is copied too); elsewhere
 * all is untouched. Returns VS_OK on every rank when every rank's buffer was whole. */
static vs_status gather(buf *mine, buf *all) {
    int ok = !mine->bad && mine->n < (size_t)1 << 31;
    if (!vs_dist_agree(ok)) return vs__err(VS_ERR_NOMEM, "out of memory packing a message for the other ranks");
    int n = (int)mine->n;
    int *counts = NULL, *displs = NULL;
    char *recv = NULL;
    long total = 0;
    if (g_rank == 0) {
        counts = vs__calloc((size_t)g_size, sizeof *counts);
        displs = vs__calloc((size_t)g_size, sizeof *displs);
    }
    MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (g_rank == 0) {
        for (int r = 0; r < g_size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        recv = vs__malloc((size_t)total + 1);
    }
    MPI_Gatherv(mine->p, n, MPI_BYTE, recv, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (g_rank == 0)
        for (int r = 0; r < g_size; r++) {
            memset(&all[r], 0, sizeof all[r]);
            put(&all[r], recv + displs[r], (size_t)counts[r]);
        }
    vs__free(recv);
    vs__free(counts);
    vs__free(displs);
    return VS_OK;
}

static void bufs_free(buf *all, int n) {
    for (int r = 0; all && r < n; r++) vs__free(all[r].p);
}

/* ---- search over shards */

struct vs_dist_search {
    vs_searcher *s;        /* NULL: this rank's shard is missing */
    int normalize;
    vs_norm_params norm;
    int top;
    int mirror_view;       /* vs_search_params.mirror_view */
    int inset_view;        /* vs_search_params.inset_view */
    float *cand;           /* [skip + n] */
    vs__skips skipped;     /* rank 0: every shard's */
    char **missing;        /* rank 0: [n_missing] */
    int n_missing;
};

void vs_dist_search_free(vs_dist_search *d) {
    if (!d) return;
    vs_searcher_free(d->s);
    vs__free(d->cand);
    vs__skips_free(&d->skipped);
    for (int i = 0; i < d->n_missing; i++) vs__free(d->missing[i]);
    vs__free(d->missing);
    vs__free(d);
}

typedef struct skip_row {
    long row;
    vs_search_skip k;
} skip_row;

static int cmp_skip_row(const void *a, const void *b) {
    const skip_row *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* the shards' skip lists into rank 0's d->skipped, in catalogue order */
static vs_status gather_skips(vs_dist_search *d) {
    buf mine = {0};
    const vs_search_skips *l = d->s ? vs_searcher_skipped(d->s) : NULL;
    long n = l ? l->n : 0;
    put_i64(&mine, n);
    for (long i = 0; i < n; i++) {
        long row = -1;
        const vs_index_entries *es = d->s->c.es;
        for (long j = 0; es && j < es->n && row < 0; j++)
            if (l->v[i].path && !strcmp(es->v[j].path, l->v[i].path)) row = j;
        put_i64(&mine, row);
        put_str(&mine, l->v[i].path);
        put_str(&mine, l->v[i].name);
        put_str(&mine, l->v[i].why);
    }
    buf *all = g_rank == 0 ? vs__calloc((size_t)g_size, sizeof *all) : NULL;
    vs_status st = gather(&mine, all);
    vs__free(mine.p);
    if (st || g_rank != 0) {
        bufs_free(all, all ? g_size : 0);
        vs__free(all);
        return st;
    }
    long total = 0;
    for (int r = 0; r < g_size; r++) {
        all[r].at = 0;
        total += get_i64(&all[r]);
    }
    skip_row *v = vs__calloc((size_t)total + 1, sizeof *v);
    long k = 0;
    for (int r = 0; v && r < g_size; r++) {
        all[r].at = 0;
        long m = get_i64(&all[r]);
        for (long i = 0; i < m && k < total; i++, k++) {
            v[k].row = (long)get_i64(&all[r]);
            v[k].k.path = get_str(&all[r]);
            v[k].k.name = get_str(&all[r]);
            v[k].k.why = get_str(&all[r]);
        }
    }
    if (v) qsort(v, (size_t)k, sizeof *v, cmp_skip_row);
    d->skipped.l.v = vs__calloc((size_t)k + 1, sizeof *d->skipped.l.v);
    for (long i = 0; v && i < k; i++) {
        if (d->skipped.l.v) d->skipped.l.v[d->skipped.l.n++] = v[i].k;
        else {
            vs__free(v[i].k.path);
            vs__free(v[i].k.name);
            vs__free(v[i].k.why);
        }
    }
    d->skipped.cap = d->skipped.l.n;
    int bad = !v || !d->skipped.l.v;
    vs__free(v);
    bufs_free(all, g_size);
    vs__free(all);
    return bad ? vs__err(VS_ERR_NOMEM, "out of memory") : VS_OK;
}

vs_status vs_dist_search_create(vs_dist_search **out, vs_index *idx, const char *why, const vs_search_params *p,
                                int allow_partial) {
    *out = NULL;
    if (!g_on) return vs__err(VS_ERR_INVALID_ARG, "vs_dist_search_create: not started as MPI ranks (vs_dist_init under "
                                                  "mpirun); use vs_searcher_create in one process");
    if (p->mode != VS_SEARCH_EXHAUSTIVE) /* the same on every rank: no exchange needed */
        return vs__err(VS_ERR_UNSUPPORTED, "only the exhaustive search runs over MPI ranks (not --two-stage, "
                                           "--hash-only or clip vectors; docs/mpi.md)");
    vs_dist_search *d = vs__calloc(1, sizeof *d);
    if (!d) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_search_params q = *p;
    q.shard = g_rank;
    q.n_shards = g_size;
    d->mirror_view = p->mirror_view;
    d->inset_view = p->inset_view;
    d->normalize = p->normalize;
    d->norm = p->norm;
    d->top = p->top;
    vs_status st = VS_OK;
    char msg[2048] = "";
    if (!idx)
        st = vs__err(VS_ERR_IO, "%s", why && *why ? why : "the index could not be opened");
    else
        st = vs_searcher_create(&d->s, idx, &q);
    if (st) snprintf(msg, sizeof msg, "%s", vs_last_error());
    if (!st && !(d->cand = vs__malloc(((size_t)p->norm.skip + p->norm.n + 1) * sizeof *d->cand))) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        snprintf(msg, sizeof msg, "%s", vs_last_error());
    }
    /* which shards are missing, and why, on rank 0 */
    char host[MPI_MAX_PROCESSOR_NAME] = "";
    int hl = 0;
    MPI_Get_processor_name(host, &hl);
    buf mine = {0};
    put_i64(&mine, st ? 1 : 0);
    put_str(&mine, host);
    put_str(&mine, msg);
    buf *all = g_rank == 0 ? vs__calloc((size_t)g_size, sizeof *all) : NULL;
    vs_status gs = gather(&mine, all);
    vs__free(mine.p);
    int n_ok = 0, my_ok = !st;
    MPI_Allreduce(&my_ok, &n_ok, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (!gs && g_rank == 0) {
        d->missing = vs__calloc((size_t)g_size, sizeof *d->missing);
        for (int r = 0; d->missing && r < g_size; r++) {
            all[r].at = 0;
            int failed = (int)get_i64(&all[r]);
            char *h = get_str(&all[r]), *m = get_str(&all[r]);
            if (failed) {
                char line[4096];
                snprintf(line, sizeof line, "shard %d of %d (rank %d on %s): %s", r, g_size, r, h ? h : "?",
                         m ? m : "?");
                d->missing[d->n_missing++] = vs__strdup(line);
            }
            vs__free(h);
            vs__free(m);
        }
    }
    bufs_free(all, all ? g_size : 0);
    vs__free(all);
    if (gs) st = gs;
    else if (n_ok == 0 || (n_ok < g_size && !allow_partial)) {
        /* every rank refuses, rank 0 naming the shards */
        char list[8192] = "";
        size_t at = 0;
        for (int i = 0; i < d->n_missing && at < sizeof list; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? "; " : "", d->missing[i]);
        if (g_rank == 0)
            st = vs__err(VS_ERR_IO, "%d of %d shards missing (no partial results without --allow-partial): %s",
                         g_size - n_ok, g_size, list);
        else if (!st)
            st = vs__err(VS_ERR_IO, "another rank's shard is missing (rank 0 says which)");
    } else {
        if (st) { /* this shard is missing; the others go on (allow_partial) */
            vs_searcher_free(d->s);
            d->s = NULL;
        }
        st = gather_skips(d);
    }
    if (st) {
        vs_dist_search_free(d);
        return st;
    }
    *out = d;
    return VS_OK;
}

const vs_search_skips *vs_dist_search_skipped(const vs_dist_search *d) { return &d->skipped.l; }

const char *const *vs_dist_search_missing(const vs_dist_search *d, int *n) {
    *n = d->n_missing;
    return (const char *const *)d->missing;
}

static void put_result(buf *b, const vs_search_result *r) {
    put_i64(b, r ? 1 : 0);
    if (!r) return;
    put_str(b, r->query_id);
    put_i64(b, r->n_failed);
    put_i64(b, r->n_skipped);
    put_i64(b, r->n);
    for (long k = 0; k < r->n; k++) {
        const vs_search_hit *h = &r->hits[k];
        put_i64(b, h->video_id);
        put_str(b, h->name);
        put_f32(b, h->score);
        put_f32(b, h->raw);
        put_f32(b, h->query_level);
        put_f32(b, h->ref_level);
        put_f64(b, h->query_duration);
        put_f64(b, h->ref_duration);
        put_i64(b, h->n_segments);
        if (h->n_segments > 0) put(b, h->segments, sizeof *h->segments * (size_t)h->n_segments);
    }
}

/* rank 0: the ranks' results [size] into one, or VS_ERR_INTERNAL if a rank failed */
static vs_status merge(vs_dist_search *d, buf *all, vs_search_result **out) {
    long total = 0, nh = 0;
    int failed = 0;
    vs_search_result *r = vs__calloc(1, sizeof *r);
    if (!r) return vs__err(VS_ERR_NOMEM, "out of memory");
    /* first pass: sizes */
    for (int k = 0; k < g_size; k++) all[k].at = 0;
    vs_search_hit *hits = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < g_size; k++) {
            buf *b = &all[k];
            b->at = 0;
            int64_t present = get_i64(b);
            if (present == 0) continue;
            if (present < 0) {
                failed = 1;
                continue;
            }
            char *qid = get_str(b);
            int64_t nf = get_i64(b), ns = get_i64(b), n = get_i64(b);
            if (pass == 0) {
                total += n;
                r->n_failed += (int)nf;
                r->n_skipped += ns;
                if (!r->query_id) r->query_id = qid;
                else vs__free(qid);
                continue;
            }
            vs__free(qid);
            for (int64_t i = 0; i < n && nh < total; i++) {
                vs_search_hit *h = &hits[nh++];
                h->video_id = get_i64(b);
                h->name = get_str(b);
                h->score = get_f32(b);
                h->raw = get_f32(b);
                h->query_level = get_f32(b);
                h->ref_level = get_f32(b);
                h->query_duration = get_f64(b);
                h->ref_duration = get_f64(b);
                h->n_segments = (int)get_i64(b);
                if (h->n_segments > 0 && (h->segments = vs__malloc(sizeof *h->segments * (size_t)h->n_segments)))
                    get(b, h->segments, sizeof *h->segments * (size_t)h->n_segments);
                else if (h->n_segments > 0)
                    b->bad = 1;
            }
        }
        if (pass == 0 && !(hits = vs__calloc((size_t)total + 1, sizeof *hits))) {
            vs_search_result_free(r);
            return vs__err(VS_ERR_NOMEM, "out of memory");
        }
    }
    int bad = 0;
    for (int k = 0; k < g_size; k++) bad |= all[k].bad;
    if (failed || bad || !r->query_id) {
        for (long i = 0; i < nh; i++) vs__search_hit_free(&hits[i]);
        vs__free(hits);
        vs_search_result_free(r);
        return failed ? vs__err(VS_ERR_INTERNAL, "the query failed on another rank (its message is above)")
                      : vs__err(VS_ERR_NOMEM, "out of memory (or a damaged message) merging the shards' results");
    }
    qsort(hits, (size_t)nh, sizeof *hits, vs__cmp_search_hit);
    long keep = d->top > 0 && nh > d->top ? d->top : nh;
    for (long i = keep; i < nh; i++) vs__search_hit_free(&hits[i]);
    /* localisation failures count only for the hits listed */
    r->hits = hits;
    r->n = keep;
    *out = r;
    return VS_OK;
}

static vs_status query_view(vs_dist_search *d, const char *query, vs_search_result **out) {
    *out = NULL;
    vs_status st = VS_OK;
    long nc = 0;
    if (d->s) st = vs__exhaustive_raw(d->s, query, d->cand, &nc);
    int bad = st != VS_OK, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any) {
        if (d->s && !st) vs__exhaustive_drop(d->s);
        return st ? st : vs__err(VS_ERR_INTERNAL, "%s: the query failed on another rank (its message is above)", query);
    }
    /* the query's level: vs_norm_stat over every shard's best candidates */
    float qlev = 0.0f;
    if (d->normalize && d->s && d->s->bg.on) {
        int mine = (int)nc, *counts = vs__calloc((size_t)g_size, sizeof *counts),
            *displs = vs__calloc((size_t)g_size, sizeof *displs);
        float *allc = vs__calloc((size_t)g_size * ((size_t)d->norm.skip + d->norm.n) + 1, sizeof *allc);
        if (!counts || !displs || !allc) {
            vs__free(counts);
            vs__free(displs);
            vs__free(allc);
            MPI_Abort(MPI_COMM_WORLD, 1); /* out of memory mid-collective: nothing else is safe */
        }
        MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
        int total = 0;
        for (int r = 0; r < g_size; r++) {
            displs[r] = total;
            total += counts[r];
        }
        MPI_Allgatherv(d->cand, mine, MPI_FLOAT, allc, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
        qlev = vs_norm_stat(allc, total, &d->norm);
        vs__free(counts);
        vs__free(displs);
        vs__free(allc);
    } else if (d->normalize) {
        /* a missing shard (allow_partial) still takes part in the exchange */
        int zero = 0, *counts = vs__calloc((size_t)g_size, sizeof *counts),
            *displs = vs__calloc((size_t)g_size, sizeof *displs);
        float *allc = vs__calloc((size_t)g_size * ((size_t)d->norm.skip + d->norm.n) + 1, sizeof *allc);
        if (!counts || !displs || !allc) MPI_Abort(MPI_COMM_WORLD, 1);
        MPI_Allgather(&zero, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
        int total = 0;
        for (int r = 0; r < g_size; r++) {
            displs[r] = total;
            total += counts[r];
        }
        MPI_Allgatherv(allc, 0, MPI_FLOAT, allc, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
        vs__free(counts);
        vs__free(displs);
        vs__free(allc);
    }
    vs_search_result *r = NULL;
    buf mine = {0};
    if (d->s) {
        st = vs__exhaustive_finish(d->s, qlev, &r);
        if (st) put_i64(&mine, -1);
        else put_result(&mine, r);
    } else
        put_result(&mine, NULL);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", vs_last_error());
    vs_search_result_free(r);
    buf *all = g_rank == 0 ? vs__calloc((size_t)g_size, sizeof *all) : NULL;
    vs_status gs = gather(&mine, all);
    vs__free(mine.p);
    if (!gs && g_rank == 0) gs = all ? merge(d, all, out) : vs__err(VS_ERR_NOMEM, "out of memory");
    bufs_free(all, all ? g_size : 0);
    vs__free(all);
    if (st) return vs__err(st, "%s", msg);
    return gs;
}

/* Every view of the query when asked, as one process does in vs_searcher_query: the
 * mirror view (vs_search_params.mirror_view; rank 0 decides whether the query has one:
 * a video, or a .vsf with a mirror block, vs__mirror_source) and the inset view
 * (vs_search_params.inset_view; the inset rank 0 found extracting a video query, or read
 * from a .vsf's inset block, sent
 * to every rank). Each view is one exchanged query (each rank extracts a video, or
 * loads the .vsf's block, itself), and rank 0 merges the results. */
vs_status vs_dist_search_query(vs_dist_search *d, const char *query, vs_search_result **out) {
    if (d->s) memset(&d->s->inset, 0, sizeof d->s->inset);
    vs_status st = query_view(d, query, out);
    int two = d->mirror_view && g_rank == 0 && vs__mirror_source(query);
    MPI_Bcast(&two, 1, MPI_INT, 0, MPI_COMM_WORLD);
    vs_inset ins; /* rank 0's, whole (the ranks run the same build) */
    memset(&ins, 0, sizeof ins);
    if (g_rank == 0 && d->inset_view && d->s) ins = d->s->inset;
    MPI_Bcast(&ins, (int)sizeof ins, MPI_BYTE, 0, MPI_COMM_WORLD);
    int ok = st == VS_OK, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) return st;
    vs_status st2 = VS_OK;
    for (int v = 1; v <= 2 && !st2; v++) {
        if ((v == 1 && !two) || (v == 2 && !ins.found)) continue;
        vs_search_result *r2 = NULL;
        if (d->s) {
            d->s->view = v;
            if (v == 2) d->s->inset = ins;
        }
        st2 = query_view(d, query, &r2); /* a failure is on every rank */
        if (d->s) d->s->view = 0;
        st2 = vs__view_done(*out, r2, st2, v, d->top);
    }
    if (st2) {
        vs_search_result_free(*out);
        *out = NULL;
    }
    return st2;
}

/* ---- dedup */

static vs_status dedup_exchange(void *user, int ok, float *sim, float *lev, long n) {
    (void)user;
    if (!vs_dist_agree(ok)) return vs__err(VS_ERR_INTERNAL, "dedup failed on another rank (its message is above)");
    long lo = n, hi = n;
    MPI_Allreduce(&n, &lo, 1, MPI_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&n, &hi, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (lo != hi)
        return vs__err(VS_ERR_INVALID_ARG, "the ranks see %ld and %ld readable videos: the index changed during the "
                                           "dedup (run it again)", lo, hi);
    /* each rank's rows i (i % size == rank), each followed by its level */
    long mine = 0;
    for (long i = g_rank; i < n; i += g_size) mine++;
    size_t row = (size_t)n + 1;
    int fits = (double)row * (double)(n / g_size + 1) < 2147483647.0;
    if (!vs_dist_agree(fits)) return vs__err(VS_ERR_UNSUPPORTED, "dedup of %ld videos over %d ranks: messages over 2^31 "
                                                                 "floats (use more ranks)", n, g_size);
    float *pack = vs__malloc(row * (size_t)mine * sizeof *pack + 1);
    int *counts = NULL, *displs = NULL;
    float *recv = NULL;
    if (g_rank == 0) {
        counts = vs__calloc((size_t)g_size, sizeof *counts);
        displs = vs__calloc((size_t)g_size, sizeof *displs);
        recv = vs__malloc(row * (size_t)n * sizeof *recv + 1);
    }
    int okm = pack && (g_rank != 0 || (counts && displs && recv));
    if (!vs_dist_agree(okm)) {
        vs__free(pack);
        vs__free(counts);
        vs__free(displs);
        vs__free(recv);
        return vs__err(VS_ERR_NOMEM, "out of memory for the dedup of %ld videos", n);
    }
    long k = 0;
    for (long i = g_rank; i < n; i += g_size, k++) {
        memcpy(pack + (size_t)k * row, sim + (size_t)i * n, (size_t)n * sizeof *pack);
        pack[(size_t)k * row + n] = lev[i];
    }
    if (g_rank == 0) {
        int at = 0;
        for (int r = 0; r < g_size; r++) {
            long m = 0;
            for (long i = r; i < n; i += g_size) m++;
            counts[r] = (int)(m * (long)row);
            displs[r] = at;
            at += counts[r];
        }
    }
    MPI_Gatherv(pack, (int)(mine * (long)row), MPI_FLOAT, recv, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (g_rank == 0)
        for (int r = 0; r < g_size; r++) {
            const float *p = recv + displs[r];
            for (long i = r; i < n; i += g_size, p += row) {
                memcpy(sim + (size_t)i * n, p, (size_t)n * sizeof *sim);
                lev[i] = p[n];
            }
        }
    vs__free(pack);
    vs__free(counts);
    vs__free(displs);
    vs__free(recv);
    return VS_OK;
}

vs_status vs_dist_dedup(vs_index *idx, const vs_search_params *p, vs_dedup_result **out) {
    if (!g_on || g_size <= 1) return vs_dedup(idx, p, out);
    vs__dedup_split sp = {g_rank, g_size, dedup_exchange, NULL};
    return vs__dedup_run(idx, p, &sp, out);
}

/* ---- index add */

enum { K_UNCHANGED = 1, K_FEATURES, K_FAILED, K_NOROW, K_ABORTED };
enum { TAG_HDR = 17, TAG_FEAT = 18 };

typedef struct item_hdr {
    int64_t i;
    int32_t kind;
    int32_t status;
    char err[2048];
    vs_index_add_result res;
} item_hdr;

typedef struct slot {
    int ready;
    item_hdr h;
    vs_features *f;
} slot;

static int is_file_error(vs_status s) {
    return s == VS_ERR_DECODE || s == VS_ERR_FORMAT || s == VS_ERR_IO || s == VS_ERR_UNSUPPORTED;
}

/* vs_index_add_video up to the commit: the unchanged check and the extraction */
static void prepare(vs_index *idx, const vs_extractor *ex, vs_extract_state *st, const char *path, int flags,
                    const vs_batch_params *bp, item_hdr *h, vs_features **f) {
    *f = NULL;
    memset(&h->res, 0, sizeof h->res);
    h->err[0] = 0;
    h->status = VS_OK;
    if (bp->abort_fn && bp->abort_fn(bp->abort_user)) {
        h->kind = K_ABORTED;
        return;
    }
    char *abs = NULL;
    uint64_t hash, size;
    int64_t mtime;
    char why[sizeof h->res.repair_reason] = "";
    vs_status s = vs__index_abspath(path, &abs);
    if (!s) s = vs_file_fingerprint(abs, &hash, &size, &mtime);
    if (s) goto norow;
    if (!(flags & VS_INDEX_FORCE)) {
        int u = vs__index_unchanged_intact(idx, abs, size, mtime, hash, vs_extractor_model_id(ex), &h->res);
        if (u > 0) {
            h->kind = K_UNCHANGED;
            vs__free(abs);
            return;
        }
        if (u < 0) {
            s = (vs_status)u;
            goto norow;
        }
        memcpy(why, h->res.repair_reason, sizeof why);
    }
    s = vs_extract_video(st, abs, f);
    if (!s && (*f)->T <= 0) s = vs__err(VS_ERR_DECODE, "%s: no frames could be decoded", abs);
    vs__free(abs);
    memset(&h->res, 0, sizeof h->res);
    memcpy(h->res.repair_reason, why, sizeof why);
    if (!s) {
        h->kind = K_FEATURES;
        return;
    }
    vs_features_free(*f);
    *f = NULL;
    h->kind = is_file_error(s) ? K_FAILED : s == VS_ERR_ABORTED ? K_ABORTED : K_NOROW;
    h->status = s;
    snprintf(h->err, sizeof h->err, "%s", vs_last_error());
    return;
norow:
    vs__free(abs);
    h->kind = K_NOROW;
    h->status = s;
    snprintf(h->err, sizeof h->err, "%s", vs_last_error());
}

static void put_features(buf *b, const vs_features *f) {
    put_i64(b, f->T);
    put_i64(b, f->R);
    put_i64(b, f->D);
    put_f64(b, f->fps);
    put_f64(b, f->duration);
    put(b, f->model_id, sizeof f->model_id);
    put_str(b, f->source);
    put_i64(b, (int64_t)f->source_size);
    put_i64(b, f->source_mtime);
    put_i64(b, (int64_t)f->source_hash);
    put_i64(b, f->n_damaged);
    put(b, f->data, sizeof(float) * (size_t)f->T * f->R * f->D);
    put(b, f->times, sizeof(float) * (size_t)f->T);
}

static vs_features *get_features(buf *b) {
    vs_features *f = vs__calloc(1, sizeof *f);
    if (!f) return NULL;
    f->T = (int)get_i64(b);
    f->R = (int)get_i64(b);
    f->D = (int)get_i64(b);
    f->fps = get_f64(b);
    f->duration = get_f64(b);
    get(b, f->model_id, sizeof f->model_id);
    f->model_id[sizeof f->model_id - 1] = 0;
    f->source = get_str(b);
    f->source_size = (uint64_t)get_i64(b);
    f->source_mtime = get_i64(b);
    f->source_hash = (uint64_t)get_i64(b);
    f->n_damaged = (long)get_i64(b);
    size_t nd = (size_t)f->T * f->R * f->D;
    if (!b->bad && f->T > 0 && f->R > 0 && f->D > 0 && nd * sizeof(float) + (size_t)f->T * sizeof(float) == b->n - b->at) {
        f->data = vs__malloc(nd * sizeof(float));
        f->times = vs__malloc((size_t)f->T * sizeof(float));
        if (f->data && f->times) {
            get(b, f->data, nd * sizeof(float));
            get(b, f->times, (size_t)f->T * sizeof(float));
        } else
            b->bad = 1;
    } else
        b->bad = 1;
    if (b->bad) {
        vs_features_free(f);
        return NULL;
    }
    return f;
}

typedef struct own_job {
    vs_index *idx;
    const vs_extractor *ex;
    const char *const *files;
    int n, flags;
    const vs_batch_params *bp;
    slot *slots;
    pthread_mutex_t mu;
} own_job;

/* rank 0's own share, extracted on a thread while the main thread receives and commits */
static void *own_share(void *arg) {
    own_job *j = arg;
    vs_extract_state *st = NULL;
    vs_status s0 = vs_extract_state_create(&st, j->ex);
    char err0[1024];
    snprintf(err0, sizeof err0, "%s", s0 ? vs_last_error() : "");
    for (int i = 0; i < j->n; i += g_size) {
        item_hdr h;
        vs_features *f = NULL;
        memset(&h, 0, sizeof h);
        h.i = i;
        if (s0) {
            h.kind = K_NOROW;
            h.status = s0;
            snprintf(h.err, sizeof h.err, "%s: %s", j->files[i], err0);
        } else
            prepare(j->idx, j->ex, st, j->files[i], j->flags, j->bp, &h, &f);
        pthread_mutex_lock(&j->mu);
        j->slots[i].h = h;
        j->slots[i].f = f;
        j->slots[i].ready = 1;
        pthread_mutex_unlock(&j->mu);
    }
    vs_extract_state_free(st);
    return NULL;
}

/* rank 0: commit slot i (as vs_index_add_video would) and tell on_item */
static void commit(vs_index *idx, const vs_extractor *ex, const char *path, int flags, slot *sl, int done, int n,
                   const vs_batch_params *bp) {
    item_hdr *h = &sl->h;
    vs_index_add_result res = h->res;
    vs_status s = (vs_status)h->status;
    char err[2100] = "";
    char *abs = NULL;
    if (h->kind == K_FEATURES || h->kind == K_FAILED) {
        vs_status sa = vs__index_abspath(path, &abs);
        if (sa) {
            s = sa;
            snprintf(err, sizeof err, "%s", vs_last_error());
            h->kind = K_NOROW;
        }
    }
    if (h->kind == K_FEATURES) {
        s = vs_index_add_features(idx, abs, sl->f, flags | VS_INDEX_FORCE, &res);
        if (!s) memcpy(res.repair_reason, h->res.repair_reason, sizeof res.repair_reason);
        else snprintf(err, sizeof err, "%s", vs_last_error());
    } else if (h->kind == K_FAILED) {
        vs_status s2 = vs_index_add_failed(idx, abs, vs_extractor_model_id(ex), h->err, &res);
        if (s2) {
            s = s2;
            snprintf(err, sizeof err, "%s", vs_last_error());
        } else {
            memcpy(res.repair_reason, h->res.repair_reason, sizeof res.repair_reason);
            snprintf(err, sizeof err, "%s", h->err);
        }
    } else if (h->kind == K_NOROW) {
        if (!err[0]) snprintf(err, sizeof err, "%s", h->err);
        memset(&res, 0, sizeof res);
    } else if (h->kind == K_ABORTED) {
        s = VS_ERR_ABORTED;
        memset(&res, 0, sizeof res);
    }
    if (s == VS_ERR_ABORTED) err[0] = 0;
    vs__free(abs);
    vs_features_free(sl->f);
    sl->f = NULL;
    if (bp->on_item) {
        vs_batch_item it = {.i = (int)h->i, .done = done, .total = n, .status = s, .error = err,
                            .n_frames = res.n_frames, .add = &res};
        bp->on_item(&it, bp->user);
    }
}

static void nap(void) {
    struct timespec t = {0, 1000000};
    nanosleep(&t, NULL);
}

static int g_go_sent;

static int go_bcast(int go) {
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return go;
}

void vs_dist_index_add_cancel(void) {
    if (!g_on || g_size <= 1 || g_rank != 0 || g_go_sent) return;
    g_go_sent = 1;
    go_bcast(0);
}

int vs_dist_index_add_wait(void) {
    if (!g_on || g_size <= 1 || g_rank == 0) return 1;
    return go_bcast(0);
}

/* rank 0's file list to every rank: *files [*n] new on the others (free_list) */
static vs_status bcast_list(const char *const **files, int *n, char ***mine) {
    buf b = {0};
    if (g_rank == 0) {
        put_i64(&b, *n);
        for (int i = 0; i < *n; i++) put_str(&b, (*files)[i]);
    }
    int64_t len = (int64_t)b.n;
    if (b.bad) len = -1;
    MPI_Bcast(&len, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (len < 0 || len >= (int64_t)1 << 31) {
        vs__free(b.p);
        return vs__err(VS_ERR_NOMEM, "the list of videos cannot be sent to the other ranks");
    }
    if (g_rank != 0) {
        b.p = vs__malloc((size_t)len + 1);
        b.n = b.cap = (size_t)len;
    }
    int okb = b.p != NULL;
    if (!vs_dist_agree(okb)) {
        vs__free(b.p);
        return vs__err(VS_ERR_NOMEM, "out of memory for the list of videos");
    }
    MPI_Bcast(b.p, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
    vs_status st = VS_OK;
    if (g_rank != 0) {
        int m = (int)get_i64(&b);
        char **v = m >= 0 ? vs__calloc((size_t)m + 1, sizeof *v) : NULL;
        for (int i = 0; v && i < m; i++) v[i] = get_str(&b);
        if (!v || b.bad) st = vs__err(VS_ERR_NOMEM, "out of memory for the list of videos");
        *mine = v;
        *files = (const char *const *)v;
        *n = v ? m : 0;
    }
    vs__free(b.p);
    return st;
}

static void free_list(char **v, int n) {
    for (int i = 0; v && i < n; i++) vs__free(v[i]);
    vs__free(v);
}

vs_status vs_dist_index_add(vs_index *idx, const vs_extractor *ex, const char *const *files, int n, int flags,
                            const vs_batch_params *bp) {
    vs_batch_params dp = vs_batch_default_params();
    if (!bp) bp = &dp;
    if (!g_on || g_size <= 1) return vs_index_add_files(idx, ex, files, n, flags, bp);
    if (g_rank == 0 && !g_go_sent) {
        g_go_sent = 1;
        go_bcast(1);
    }
    char **mine = NULL;
    vs_status ls = bcast_list(&files, &n, &mine);
    /* every rank must extract with rank 0's model */
    char model[256] = "";
    if (g_rank == 0 && ex) snprintf(model, sizeof model, "%s", vs_extractor_model_id(ex));
    MPI_Bcast(model, (int)sizeof model, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (!ls && g_rank != 0 && ex && strcmp(model, vs_extractor_model_id(ex)) != 0)
        ls = vs__err(VS_ERR_INVALID_ARG, "index add: rank %d extracts with model %s, rank 0 with %s (give every rank "
                                         "the same options and model files)", g_rank, vs_extractor_model_id(ex), model);
    int ok = !ls && idx && ex && n >= 0 && (n == 0 || files);
    if (!vs_dist_agree(ok)) {
        free_list(mine, n);
        return ls ? ls : vs__err(VS_ERR_INVALID_ARG, "index add: a rank has no index or extractor (its message is above)");
    }
    if (g_rank != 0) {
        /* extract this rank's share and send it to rank 0 */
        vs_extract_state *st = NULL;
        vs_status s0 = vs_extract_state_create(&st, ex);
        char err0[1024];
        snprintf(err0, sizeof err0, "%s", s0 ? vs_last_error() : "");
        for (int i = g_rank; i < n; i += g_size) {
            item_hdr h;
            vs_features *f = NULL;
            memset(&h, 0, sizeof h);
            h.i = i;
            if (s0) {
                h.kind = K_NOROW;
                h.status = s0;
                snprintf(h.err, sizeof h.err, "%s: %s", files[i], err0);
            } else
                prepare(idx, ex, st, files[i], flags, bp, &h, &f);
            buf b = {0};
            if (f) put_features(&b, f);
            if (f && b.bad) { /* cannot pack: rank 0 records no row, says why */
                h.kind = K_NOROW;
                h.status = VS_ERR_NOMEM;
                snprintf(h.err, sizeof h.err, "%s: out of memory sending its features to rank 0", files[i]);
            }
            MPI_Send(&h, (int)sizeof h, MPI_BYTE, 0, TAG_HDR, MPI_COMM_WORLD);
            if (h.kind == K_FEATURES) MPI_Send(b.p, (int)b.n, MPI_BYTE, 0, TAG_FEAT, MPI_COMM_WORLD);
            vs__free(b.p);
            vs_features_free(f);
        }
        vs_extract_state_free(st);
        free_list(mine, n);
        return VS_OK;
    }
    /* rank 0: its own share on a thread; receive the others'; commit in list order */
    own_job j = {idx, ex, files, n, flags, bp, vs__calloc((size_t)n + 1, sizeof(slot)), PTHREAD_MUTEX_INITIALIZER};
    if (!j.slots) MPI_Abort(MPI_COMM_WORLD, 1); /* the others are already sending */
    pthread_t th;
    int threaded = pthread_create(&th, NULL, own_share, &j) == 0;
    if (!threaded) own_share(&j);
    vs_status st = VS_OK;
    for (int next = 0; next < n;) {
        pthread_mutex_lock(&j.mu);
        int ready = j.slots[next].ready;
        pthread_mutex_unlock(&j.mu);
        if (ready) {
            commit(idx, ex, files[next], flags, &j.slots[next], next + 1, n, bp);
            next++;
            continue;
        }
        int flag = 0;
        MPI_Status ms;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_HDR, MPI_COMM_WORLD, &flag, &ms);
        if (!flag) {
            nap();
            continue;
        }
        item_hdr h;
        MPI_Recv(&h, (int)sizeof h, MPI_BYTE, ms.MPI_SOURCE, TAG_HDR, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        vs_features *f = NULL;
        if (h.kind == K_FEATURES) {
            MPI_Status fs;
            int cnt = 0;
            MPI_Probe(ms.MPI_SOURCE, TAG_FEAT, MPI_COMM_WORLD, &fs);
            MPI_Get_count(&fs, MPI_BYTE, &cnt);
            buf b = {0};
            b.p = vs__malloc((size_t)cnt + 1);
            b.n = b.cap = (size_t)cnt;
            if (!b.p) MPI_Abort(MPI_COMM_WORLD, 1);
            MPI_Recv(b.p, cnt, MPI_BYTE, ms.MPI_SOURCE, TAG_FEAT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            f = get_features(&b);
            vs__free(b.p);
            if (!f) {
                h.kind = K_NOROW;
                h.status = VS_ERR_FORMAT;
                snprintf(h.err, sizeof h.err, "%s: a damaged message from rank %d (or out of memory)",
                         h.i >= 0 && h.i < n ? files[h.i] : "?", ms.MPI_SOURCE);
            }
        }
        if (h.i < 0 || h.i >= n || j.slots[h.i].ready) {
            vs_features_free(f);
            st = vs__err(VS_ERR_INTERNAL, "rank %d sent video %lld, which is not its own", ms.MPI_SOURCE, (long long)h.i);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        pthread_mutex_lock(&j.mu);
        j.slots[h.i].h = h;
        j.slots[h.i].f = f;
        j.slots[h.i].ready = 1;
        pthread_mutex_unlock(&j.mu);
    }
    if (threaded) pthread_join(th, NULL);
    vs__free(j.slots);
    return st;
}

#else /* no MPI: one process; a launcher's N ranks are refused */

int vs_dist_available(void) { return 0; }
int vs_dist_rank(void) { return 0; }
int vs_dist_size(void) { return 1; }

vs_status vs_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    int n = vs_dist_launched_size();
    if (n > 1)
        return vs__err(VS_ERR_UNSUPPORTED, "started as %d MPI ranks (mpirun), but this vidsim was built without MPI "
                                           "support: refusing to run %d independent copies that would write the "
                                           "same output (install libopenmpi-dev and rebuild; docs/mpi.md)", n, n);
    return VS_OK;
}

int vs_dist_finish(int rc) { return rc; }
int vs_dist_agree(int ok) { return ok != 0; }

static vs_status no_mpi(void) {
    return vs__err(VS_ERR_UNSUPPORTED, "this vidsim was built without MPI support (docs/mpi.md)");
}

vs_status vs_dist_search_create(vs_dist_search **out, vs_index *idx, const char *why, const vs_search_params *p,
                                int allow_partial) {
    (void)idx;
    (void)why;
    (void)p;
    (void)allow_partial;
    *out = NULL;
    return no_mpi();
}
void vs_dist_search_free(vs_dist_search *d) { (void)d; }
vs_status vs_dist_search_query(vs_dist_search *d, const char *query, vs_search_result **out) {
    (void)d;
    (void)query;
    *out = NULL;
    return no_mpi();
}
const vs_search_skips *vs_dist_search_skipped(const vs_dist_search *d) {
    (void)d;
    return NULL;
}
const char *const *vs_dist_search_missing(const vs_dist_search *d, int *n) {
    (void)d;
    *n = 0;
    return NULL;
}
vs_status vs_dist_dedup(vs_index *idx, const vs_search_params *p, vs_dedup_result **out) {
    return vs_dedup(idx, p, out);
}
vs_status vs_dist_index_add(vs_index *idx, const vs_extractor *ex, const char *const *files, int n, int flags,
                            const vs_batch_params *bp) {
    return vs_index_add_files(idx, ex, files, n, flags, bp);
}
void vs_dist_index_add_cancel(void) {}
int vs_dist_index_add_wait(void) { return 1; }

#endif
