/*
 * review.c - what a person reviewing matches needs from the engine (`vidsim serve`,
 * `vidsim dedup --groups/--hide-rejected`): the duplicate groups of a dedup result
 * (connected components of its pairs), results with the pairs a reviewer marked
 * "not duplicate" (index.h verdicts) left out, and everything about one pair of
 * indexed videos (raw scores both ways, the map localisation reads, its segments).
 * Not here: scoring a collection (exhaustive.c, two_stage.c), drawing (simmodel's
 * heatmap), HTTP.
 */
#define _POSIX_C_SOURCE 200809L
#include "core/internal.h"
#include "search/search_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- verdict filter: a sorted list of rejected pairs, looked up with bsearch. */

typedef struct rejected {
    long n;
    const vs_index_verdict **v; /* [n] not_duplicate verdicts, ordered by (a, b) */
    vs_index_verdicts *all;
} rejected;

static vs_status rejected_load(rejected *r, vs_index *idx) {
    memset(r, 0, sizeof *r);
    vs_status s = vs_index_list_verdicts(idx, &r->all);
    if (s) return s;
    r->v = vs__calloc((size_t)r->all->n + 1, sizeof *r->v);
    if (!r->v) {
        vs_index_verdicts_free(r->all);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    for (long i = 0; i < r->all->n; i++) /* listed ordered by (a, b) already */
        if (r->all->v[i].verdict == VS_VERDICT_NOT_DUPLICATE) r->v[r->n++] = &r->all->v[i];
    return VS_OK;
}

static void rejected_free(rejected *r) {
    vs__free(r->v);
    vs_index_verdicts_free(r->all);
}

typedef struct pair_key {
    const char *a, *b;
} pair_key;

static int cmp_key(const void *k, const void *e) {
    const pair_key *x = k;
    const vs_index_verdict *y = *(const vs_index_verdict *const *)e;
    int c = strcmp(x->a, y->a);
    return c ? c : strcmp(x->b, y->b);
}

static int is_rejected(const rejected *r, const char *a, const char *b) {
    if (!r->n || !a || !b) return 0;
    pair_key k = strcmp(a, b) <= 0 ? (pair_key){a, b} : (pair_key){b, a};
    return bsearch(&k, r->v, (size_t)r->n, sizeof *r->v, cmp_key) != NULL;
}

vs_status vs_search_hide_rejected(vs_index *idx, vs_search_result *r, long *n_hidden) {
    if (n_hidden) *n_hidden = 0;
    if (!idx || !r) return vs__err(VS_ERR_INVALID_ARG, "vs_search_hide_rejected: NULL argument");
    rejected rj;
    vs_status s = rejected_load(&rj, idx);
    if (s) return s;
    long w = 0;
    for (long k = 0; k < r->n; k++) {
        if (is_rejected(&rj, r->query_id, r->hits[k].name)) {
            vs__free(r->hits[k].segments);
            vs__free((char *)r->hits[k].name);
            continue;
        }
        r->hits[w++] = r->hits[k];
    }
    if (n_hidden) *n_hidden = r->n - w;
    r->n = w;
    rejected_free(&rj);
    return VS_OK;
}

vs_status vs_dedup_hide_rejected(vs_index *idx, vs_dedup_result *r, long *n_hidden) {
    if (n_hidden) *n_hidden = 0;
    if (!idx || !r) return vs__err(VS_ERR_INVALID_ARG, "vs_dedup_hide_rejected: NULL argument");
    rejected rj;
    vs_status s = rejected_load(&rj, idx);
    if (s) return s;
    long w = 0;
    for (long k = 0; k < r->n; k++)
        if (!is_rejected(&rj, r->pairs[k].a, r->pairs[k].b)) r->pairs[w++] = r->pairs[k];
    if (n_hidden) *n_hidden = r->n - w;
    r->n = w; /* the names point into the result's own entries: nothing to free */
    rejected_free(&rj);
    return VS_OK;
}

/* ---- groups: union-find over the distinct names of the pairs. */

typedef struct name_ix {
    const char *name;
    long ix;
} name_ix;

static int cmp_name_ix(const void *a, const void *b) {
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

static long find_root(long *parent, long x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static long name_lookup(const name_ix *names, long n, const char *s) {
    name_ix k = {s, 0};
    const name_ix *e = bsearch(&k, names, (size_t)n, sizeof *names, cmp_name_ix);
    return e ? e->ix : -1;
}

typedef struct grp_sort {
    long root;
    float best;
    long first_pair; /* rank of its best pair in the result: ties broken by it */
} grp_sort;

static int cmp_grp(const void *a, const void *b) {
    const grp_sort *x = a, *y = b;
    if (x->best != y->best) return x->best < y->best ? 1 : -1;
    return x->first_pair < y->first_pair ? -1 : x->first_pair > y->first_pair;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void vs_dedup_groups_free(vs_dedup_groups *g) {
    if (!g) return;
    for (long i = 0; i < g->n; i++) {
        for (long j = 0; j < g->v[i].n_members; j++) vs__free(g->v[i].members[j]);
        vs__free(g->v[i].members);
    }
    vs__free(g->v);
    vs__free(g);
}

vs_status vs_dedup_groups_make(const vs_dedup_result *r, vs_dedup_groups **out) {
    *out = NULL;
    if (!r) return vs__err(VS_ERR_INVALID_ARG, "vs_dedup_groups_make: NULL result");
    long np = r->n, nn = 0;
    vs_status s = VS_OK;
    vs_dedup_groups *g = vs__calloc(1, sizeof *g);
    name_ix *all = vs__calloc((size_t)(2 * np) + 1, sizeof *all);
    long *parent = vs__calloc((size_t)(2 * np) + 1, sizeof *parent);
    grp_sort *gs = vs__calloc((size_t)(2 * np) + 1, sizeof *gs);
    long *gix = vs__calloc((size_t)(2 * np) + 1, sizeof *gix);
    if (!g || !all || !parent || !gs || !gix) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* distinct names, each with its own index */
    for (long k = 0; k < np; k++) {
        all[2 * k] = (name_ix){r->pairs[k].a, 0};
        all[2 * k + 1] = (name_ix){r->pairs[k].b, 0};
    }
    qsort(all, (size_t)(2 * np), sizeof *all, cmp_name_ix);
    for (long k = 0; k < 2 * np; k++)
        if (!nn || strcmp(all[nn - 1].name, all[k].name)) {
            all[nn] = all[k];
            all[nn].ix = nn;
            nn++;
        }
    for (long k = 0; k < nn; k++) parent[k] = k;
    for (long k = 0; k < np; k++) {
        long x = find_root(parent, name_lookup(all, nn, r->pairs[k].a));
        long y = find_root(parent, name_lookup(all, nn, r->pairs[k].b));
        if (x != y) parent[x > y ? x : y] = x < y ? x : y;
    }
    /* one group per root; its best pair is the first of the (best-first) pairs it holds */
    long ng = 0;
    for (long k = 0; k < nn; k++) gix[k] = -1;
    for (long k = 0; k < np; k++) {
        long root = find_root(parent, name_lookup(all, nn, r->pairs[k].a));
        if (gix[root] < 0) {
            gix[root] = ng;
            gs[ng++] = (grp_sort){root, r->pairs[k].score, k};
        } else if (r->pairs[k].score > gs[gix[root]].best)
            gs[gix[root]].best = r->pairs[k].score;
    }
    qsort(gs, (size_t)ng, sizeof *gs, cmp_grp);
    for (long i = 0; i < ng; i++) gix[gs[i].root] = i;
    g->v = vs__calloc((size_t)ng + 1, sizeof *g->v);
    if (!g->v) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    g->n = ng;
    for (long i = 0; i < ng; i++) g->v[i].best_score = gs[i].best;
    for (long k = 0; k < nn; k++) g->v[gix[find_root(parent, k)]].n_members++;
    for (long k = 0; k < np; k++) g->v[gix[find_root(parent, name_lookup(all, nn, r->pairs[k].a))]].n_pairs++;
    for (long i = 0; i < ng; i++) {
        g->v[i].members = vs__calloc((size_t)g->v[i].n_members + 1, sizeof(char *));
        if (!g->v[i].members) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            goto out;
        }
        g->v[i].n_members = 0;
    }
    for (long k = 0; k < nn; k++) {
        vs_dedup_group *e = &g->v[gix[find_root(parent, k)]];
        if (!(e->members[e->n_members] = vs__strdup(all[k].name))) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            goto out;
        }
        e->n_members++;
    }
    for (long i = 0; i < ng; i++) qsort(g->v[i].members, (size_t)g->v[i].n_members, sizeof(char *), cmp_str);
out:
    vs__free(all);
    vs__free(parent);
    vs__free(gs);
    vs__free(gix);
    if (s) {
        vs_dedup_groups_free(g);
        return s;
    }
    *out = g;
    return VS_OK;
}

/* ---- one pair */

void vs_pair_result_free(vs_pair_result *r) {
    if (!r) return;
    vs__free(r->a);
    vs__free(r->b);
    free(r->segments); /* vs_localize's buffer: free() by its contract */
    vs__free(r->matrix);
    vs__free(r);
}

/* The first ok row named key (a name or path). New entries object in *es. */
static vs_status find_ok(vs_index *idx, const char *key, vs_index_entries **es, const vs_index_entry **e) {
    *e = NULL;
    vs_status s = vs_index_list(idx, key, es);
    if (s) return s;
    for (long i = 0; i < (*es)->n; i++)
        if ((*es)->v[i].ok) {
            *e = &(*es)->v[i];
            return VS_OK;
        }
    return vs__err(VS_ERR_INVALID_ARG, "%s: no successfully indexed video named '%s'", vs_index_dir(idx), key);
}

vs_status vs_pair_compare(vs_index *idx, const char *a, const char *b, const vs_search_params *p,
                          vs_pair_result **out) {
    *out = NULL;
    if (!idx || !a || !b || !p) return vs__err(VS_ERR_INVALID_ARG, "vs_pair_compare: NULL argument");
    vs_status pst = vs_search_params_check(p);
    if (pst) return pst;
    vs_index_entries *ea = NULL, *eb = NULL;
    const vs_index_entry *va, *vb;
    vs_features *fa = NULL, *fb = NULL;
    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    float *xa = NULL, *xb = NULL;
    vs_pair_result *r = NULL;
    vs_status s;
    if ((s = find_ok(idx, a, &ea, &va)) || (s = find_ok(idx, b, &eb, &vb))) goto fail;
    if ((s = vs_index_load_features(idx, va, &fa)) || (s = vs_index_load_features(idx, vb, &fb))) goto fail;
    if (fa->R != fb->R || fa->D != fb->D) {
        s = vs__err(VS_ERR_FORMAT, "%s: %s and %s have features of different shapes", vs_index_dir(idx), a, b);
        goto fail;
    }
    if ((s = vs__open_simmodel(&m, &st, p->model ? p->model : "visil_f", p->n_threads > 0 ? p->n_threads : 1,
                               p->sim_precision, p->temporal)))
        goto fail;
    if (!(xa = vs__index_features(st, fa)) || !(xb = vs__index_features(st, fb))) {
        s = vs__err(VS_ERR_NOMEM, "out of memory indexing the pair's features");
        goto fail;
    }
    r = vs__calloc(1, sizeof *r);
    if (!r || !(r->a = vs__strdup(va->name)) || !(r->b = vs__strdup(vb->name)) ||
        !(r->matrix = vs__malloc(sizeof(float) * (size_t)fa->T * fb->T + 1))) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    r->a_id = va->id;
    r->b_id = vb->id;
    r->T = fa->T;
    r->U = fb->T;
    r->a_duration = fa->duration;
    r->b_duration = fb->duration;
    vs_simmodel_pair_out ab = {0}, ba = {0};
    if ((s = vs_simmodel_pair(st, &ab, xa, fa->T, xb, fb->T, fa->R, fa->D)) ||
        (s = vs_simmodel_pair(st, &ba, xb, fb->T, xa, fa->T, fa->R, fa->D)))
        goto fail;
    r->a_to_b = ab.sim;
    r->b_to_a = ba.sim;
    int sym = p->symmetric != 0;
    r->score = sym ? 0.5f * (ab.sim + ba.sim) : ab.sim;
    if ((s = vs_localize_pair_matrix(st, r->matrix, xa, fa->T, xb, fb->T, fa->R, fa->D, sym))) goto fail;
    double qs = fa->fps > 0 ? 1.0 / fa->fps : 1.0, rs = fb->fps > 0 ? 1.0 / fb->fps : 1.0;
    if ((s = vs_localize(&r->segments, &r->n_segments, r->matrix, fa->T, fb->T, fa->times, qs, fb->times, rs,
                         &p->localize)))
        goto fail;
    vs_segments_clamp(r->segments, r->n_segments, fa->duration, fb->duration);
    vs_segments_rescore(r->segments, r->n_segments, r->score);
    *out = r;
    r = NULL;
fail:
    vs_pair_result_free(r);
    vs__free(xa);
    vs__free(xb);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    vs_features_free(fa);
    vs_features_free(fb);
    vs_index_entries_free(ea);
    vs_index_entries_free(eb);
    return s;
}
