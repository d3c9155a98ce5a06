/*
 * searcher.c - vs_searcher (search.h): params, creation, the query and its dispatch to
 * the backends (exhaustive.c, two_stage.c, clip.c), freeing, timing. What the backends
 * share is in common.c. Prints nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "search/search_internal.h"
#include "core/internal.h"
#include "features/modelid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

vs_search_params vs_search_default_params(void) {
    vs_search_params p;
    memset(&p, 0, sizeof p);
    p.mode = VS_SEARCH_EXHAUSTIVE;
    p.top = 10;
    p.threshold = -1e30;
    p.symmetric = 1;
    p.model = "visil_f";
    p.two_stage_k = 100;
    p.gvec_segments = 0; /* VS_GVEC_SEGMENTS with a gvec first stage */
    p.n_threads = 1;
    p.sim_precision = vs_simmodel_default_precision();
    p.temporal = VS_TEMPORAL_DEFAULT;
    p.frame_levels = VS_FRAME_LEVELS_DEFAULT;
    p.localize = vs_localize_default_params();
    p.normalize = 1;
    p.mirror_view = 1;
    p.inset_view = 1;
    p.norm = vs_norm_default_params();
    p.cmd = "search";
    return p;
}

static char *dup_or_null(const char *s) { return s ? vs__strdup(s) : NULL; }

vs_status vs_searcher_create(vs_searcher **out, vs_index *idx, const vs_search_params *p) {
    *out = NULL;
    if (!idx || !p) return vs__err(VS_ERR_INVALID_ARG, "vs_searcher_create: NULL argument");
    vs_status st = vs_search_params_check(p); /* params.c: the rules of every front end */
    if (st) return st;
    vs_searcher *s = vs__calloc(1, sizeof *s);
    if (!s) return vs__err(VS_ERR_NOMEM, "out of memory");
    s->p = *p;
    s->idx = idx;
    s->model = dup_or_null(p->model ? p->model : "visil_f");
    s->hash_model = dup_or_null(p->hash_model);
    s->gvec_whiten = dup_or_null(p->gvec_whiten);
    s->pca = dup_or_null(p->pca);
    s->calib = dup_or_null(p->calib);
    s->cmd = dup_or_null(p->cmd ? p->cmd : "search");
    s->models_dir = dup_or_null(p->models.dir);
    s->p.model = s->model;
    s->p.hash_model = s->hash_model;
    s->p.gvec_whiten = s->gvec_whiten;
    s->p.pca = s->pca;
    s->p.calib = s->calib;
    s->p.cmd = s->cmd;
    s->p.models.dir = s->models_dir;
    if (s->p.n_threads < 1) s->p.n_threads = 1;
    if (!s->model || !s->cmd || (p->hash_model && !s->hash_model) || (p->gvec_whiten && !s->gvec_whiten) ||
        (p->pca && !s->pca) ||
        (p->calib && !s->calib) || (p->models.dir && !s->models_dir)) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    switch (p->mode) {
    case VS_SEARCH_EXHAUSTIVE: st = vs__exhaustive_create(s); break;
    case VS_SEARCH_TWO_STAGE:
    case VS_SEARCH_HASH_ONLY: st = vs__two_stage_create(s); break;
    case VS_SEARCH_CLIP: st = vs__clip_create(s); break;
    }
    if (st) goto fail;
    *out = s;
    return VS_OK;
fail:
    vs_searcher_free(s);
    return st;
}

void vs_searcher_free(vs_searcher *s) {
    if (!s) return;
    if (s->p.mode == VS_SEARCH_EXHAUSTIVE) vs__exhaustive_drop(s); /* a query between its halves (dist.h) */
    vs__bg_free(&s->bg);
    vs__corpus_free(&s->c);
    vs__two_stage_free(s);
    vs__clip_free(s);
    vs_index_entries_free(s->es);
    vs__free(s->hits);
    vs__free(s->sims);
    vs__free(s->rsims);
    vs__free(s->lv);
    vs__free(s->segs);
    vs__free(s->nsegs);
    vs_extract_state_free(s->est);
    vs_extractor_free(s->ex);
    vs__skips_free(&s->skipped);
    vs__free(s->model);
    vs__free(s->hash_model);
    vs__free(s->gvec_whiten);
    vs_gvec_whiten_free(s->whiten);
    vs__free(s->pca);
    vs__free(s->calib);
    vs__free(s->cmd);
    vs__free(s->models_dir);
    vs__free(s);
}

static vs_status query_one(vs_searcher *s, const char *query, vs_search_result **out) {
    switch (s->p.mode) {
    case VS_SEARCH_EXHAUSTIVE: return vs__exhaustive_query(s, query, out);
    case VS_SEARCH_CLIP: return vs__clip_query(s, query, out);
    default: return vs__two_stage_query(s, query, out);
    }
}

int vs__mirror_source(const char *q) {
    size_t ql = strlen(q);
    struct stat sb;
    if (ql > 4 && !strcmp(q + ql - 4, ".vsf")) { /* a feature file: when it stores the view */
        vs_features *h = NULL;
        int has = vs_features_load_header(&h, q) == VS_OK && h->mirror;
        vs_features_free(h);
        return has;
    }
    return stat(q, &sb) == 0 && S_ISREG(sb.st_mode);
}

vs_status vs__merge_views(vs_search_result *a, vs_search_result *b, long top) {
    vs_search_hit *h = vs__realloc(a->hits, sizeof *h * (size_t)(a->n + b->n + 1));
    if (!h) return vs__err(VS_ERR_NOMEM, "out of memory merging the query's views");
    a->hits = h;
    for (long j = 0; j < b->n; j++) {
        vs_search_hit *bj = &b->hits[j];
        long i = 0;
        while (i < a->n && a->hits[i].video_id != bj->video_id) i++;
        if (i == a->n) {
            a->hits[a->n++] = *bj;
        } else if (bj->score > a->hits[i].score) {
            vs__search_hit_free(&a->hits[i]);
            a->hits[i] = *bj;
        } else {
            vs__search_hit_free(bj);
            continue;
        }
        memset(bj, 0, sizeof *bj); /* moved */
    }
    b->n = 0;
    qsort(a->hits, (size_t)a->n, sizeof *a->hits, vs__cmp_search_hit);
    if (top > 0)
        while (a->n > top) vs__search_hit_free(&a->hits[--a->n]);
    a->n_failed += b->n_failed;
    if (b->n_skipped > a->n_skipped) a->n_skipped = b->n_skipped;
    return VS_OK;
}

/* The best score of a result's hits; -inf when it has none. */
static float best_score(const vs_search_result *r) {
    float m = -INFINITY;
    for (long i = 0; i < r->n; i++)
        if (r->hits[i].score > m) m = r->hits[i].score;
    return m;
}

vs_status vs__view_done(vs_search_result *a, vs_search_result *b, vs_status st, int v, long top) {
    if (st && v == 2) st = VS_OK;
    /* An extra view counts only when its best match beats the views before it: a mirror
     * image or a part of the picture that finds nothing better than the picture itself
     * is the same video seen again (or, for an inset, a donor pasted over it), and its
     * scores would only give every reference one more chance at a false match
     * (docs/hard_copies.md "Extra views join when they find a better match"). */
    else if (!st && a && b && !(best_score(b) > best_score(a))) st = VS_OK;
    else if (!st && a && b) st = vs__merge_views(a, b, top);
    vs_search_result_free(b);
    return st;
}

vs_status vs_searcher_query(vs_searcher *s, const char *query, vs_search_result **out) {
    *out = NULL;
    if (!s || !query) return vs__err(VS_ERR_INVALID_ARG, "vs_searcher_query: NULL argument");
    s->view = 0;
    memset(&s->inset, 0, sizeof s->inset); /* set by the first view's load (a video's probe, a .vsf's block) */
    vs_status st = query_one(s, query, out);
    if (st || s->p.mode == VS_SEARCH_CLIP || s->p.mode == VS_SEARCH_HASH_ONLY) return st;
    /* view 1: the mirror image; view 2: the inset the first view's extraction found */
    const int views[2] = {s->p.mirror_view && vs__mirror_source(query), s->p.inset_view && s->inset.found};
    for (int v = 1; v <= 2 && !st; v++) {
        if (!views[v - 1]) continue;
        vs_search_result *r2 = NULL; /* the same query id: vs__load_query derives it from query */
        s->view = v;
        st = query_one(s, query, &r2);
        s->view = 0;
        st = vs__view_done(*out, r2, st, v, s->p.top);
    }
    if (st) {
        vs_search_result_free(*out);
        *out = NULL;
    }
    return st;
}

const vs_inset *vs_searcher_inset(const vs_searcher *s) { return s ? &s->inset : NULL; }

const vs_search_skips *vs_searcher_skipped(const vs_searcher *s) { return &s->skipped.l; }

void vs_searcher_timing(const vs_searcher *s, vs_search_timing *out) {
    *out = s->timing;
    out->hash_id = s->h ? vs_hasher_id(s->h) : s->ann ? s->ann_spec : "";
    out->bits = s->h ? vs_hasher_bits(s->h) : 0;
    out->n_codes = s->n;
    out->k = s->K;
}

const char *vs_searcher_query_name(const vs_searcher *s) { return s->qname; }
