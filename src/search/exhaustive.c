/*
 * exhaustive.c - the exhaustive search (every ok video of the index scored by the
 * similarity network, both directions by default, optionally with the copied
 * segments of each listed pair) and dedup (every pair inside the index), over one
 * corpus: every ok video's features loaded once and passed through the network's
 * indexing step. Entries whose feature file fails to load are skipped and listed.
 */
#include "search/search_internal.h"
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vs__corpus_free(vs__corpus *c) {
    if (c->es && c->feats && c->xs) {
        for (long i = 0; i < c->es->n; i++) {
            vs_features_free(c->feats[i]);
            vs__free(c->xs[i]);
        }
    }
    vs__free(c->feats);
    vs__free(c->xs);
    vs__free(c->targets);
    vs__free(c->target_row);
    vs_simmodel_state_free(c->st);
    vs_simmodel_free(c->m);
    vs_index_entries_free(c->es);
    memset(c, 0, sizeof *c);
}

vs_status vs__corpus_open(vs__corpus *c, const vs_searcher *s, vs_index *idx, const char *model, int threads,
                          vs__skips *skipped) {
    memset(c, 0, sizeof *c);
    c->idx = idx;
    vs_status st = vs_index_list(idx, NULL, &c->es);
    if (!st)
        st = vs__open_simmodel(&c->m, &c->st, model, threads, s ? s->p.sim_precision : VS_PRECISION_FP32,
                               s ? s->p.temporal : 0.0f);
    if (st) return st;
    long n = c->es->n;
    c->feats = vs__calloc((size_t)n + 1, sizeof *c->feats);
    c->xs = vs__calloc((size_t)n + 1, sizeof *c->xs);
    c->targets = vs__calloc((size_t)n + 1, sizeof *c->targets);
    c->target_row = vs__calloc((size_t)n + 1, sizeof *c->target_row);
    if (!c->feats || !c->xs || !c->targets || !c->target_row) return vs__err(VS_ERR_NOMEM, "out of memory");
    const int ns = s->p.n_shards > 1 ? s->p.n_shards : 1;
    long pos = -1; /* position among the ok rows: the shard split */
    for (long i = 0; i < n; i++) {
        const vs_index_entry *e = &c->es->v[i];
        if (!e->ok) continue;
        if (++pos % ns != (ns > 1 ? s->p.shard : 0)) continue;
        if (vs_index_load_features(idx, e, &c->feats[i]) != VS_OK) {
            /* a damaged entry must not take the whole collection down: skip it and list it */
            char why[2048];
            snprintf(why, sizeof why, "%s", vs_last_error());
            c->feats[i] = NULL;
            if (!vs__entry_vanished(s, idx, e)) vs__skips_add(skipped, e, why, s);
            continue;
        }
        const vs_features *f = c->feats[i];
        if (c->n_ok == 0) {
            c->R = f->R;
            c->D = f->D;
        } else if (f->R != c->R || f->D != c->D) {
            return vs__err(VS_ERR_FORMAT, "%s has R=%d D=%d, others R=%d D=%d", e->path, f->R, f->D, c->R, c->D);
        }
        if (!(c->xs[i] = vs__index_features(c->st, f))) return vs__err_prefix(VS_ERR_INTERNAL, "%s", e->path);
        c->targets[c->n_ok] = (vs_simvideo){c->xs[i], f->T, NULL};
        c->target_row[c->n_ok++] = i;
    }
    return VS_OK;
}

/* indexed features of a corpus row (background levels); a shard loads the rows of
 * other shards that it needs (background members) on first use, without listing
 * damaged ones (their own shard lists them) */
static const float *corpus_features(vs_searcher *s, long row, int *T) {
    vs__corpus *c = &s->c;
    if (!c->xs[row] && s->p.n_shards > 1 && c->es->v[row].ok && !c->feats[row] &&
        vs_index_load_features(c->idx, &c->es->v[row], &c->feats[row]) == VS_OK) {
        const vs_features *f = c->feats[row];
        if (f->R != c->R || f->D != c->D || !(c->xs[row] = vs__index_features(c->st, f))) {
            vs_features_free(c->feats[row]);
            c->feats[row] = NULL;
        }
    }
    if (!s->c.xs[row]) return NULL;
    *T = s->c.feats[row]->T;
    return s->c.xs[row];
}

static vs_loc_video loc_video(const float *x, const vs_features *f) {
    return (vs_loc_video){x, f->T, f->times, f->fps, f->duration, NULL};
}

/* The message for an index without a single ok row (only failed adds, or none). */
static vs_status no_videos(const vs_searcher *s) {
    const char *dir = vs_index_dir(s->idx);
    if (s->info.n_failed == 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s has no successfully indexed videos (nothing was added yet): nothing to "
                                           "search", dir);
    return vs__err(VS_ERR_INVALID_ARG, "%s has no successfully indexed videos (%ld failed add%s; `vidsim index ls "
                                       "--index %s` shows why): nothing to search",
                   dir, s->info.n_failed, s->info.n_failed == 1 ? "" : "s", dir);
}

vs_status vs__exhaustive_create(vs_searcher *s) {
    vs__corpus *c = &s->c;
    vs_status st = vs__corpus_open(c, s, s->idx, s->model, s->p.n_threads, &s->skipped);
    if (!st) st = vs_index_get_info(s->idx, &s->info);
    if (st) return st;
    if (s->info.n_ok == 0) return no_videos(s);
    if ((st = vs__bg_open(s, c->es, c->m))) return st;
    s->hits = vs__calloc((size_t)c->n_ok + 1, sizeof *s->hits);
    s->sims = vs__calloc((size_t)c->n_ok + 1, sizeof *s->sims);
    s->rsims = vs__calloc((size_t)c->n_ok + 1, sizeof *s->rsims);
    if (!s->hits || !s->sims || !s->rsims) return vs__err(VS_ERR_NOMEM, "out of memory");
    s->fused = s->p.segments && s->p.symmetric && !strcmp(s->model, "visil_f");
    if (s->fused) {
        s->lv = vs__calloc((size_t)c->n_ok + 1, sizeof *s->lv);
        s->segs = vs__calloc((size_t)c->n_ok + 1, sizeof *s->segs);
        s->nsegs = vs__calloc((size_t)c->n_ok + 1, sizeof *s->nsegs);
        if (!s->lv || !s->segs || !s->nsegs) return vs__err(VS_ERR_NOMEM, "out of memory");
        for (long k = 0; k < c->n_ok; k++) s->lv[k] = loc_video(c->targets[k].x, c->feats[c->target_row[k]]);
    }
    return VS_OK;
}

static void free_segs(vs_segment **segs, long n) {
    for (long k = 0; k < n; k++) {
        vs__free(segs[k]);
        segs[k] = NULL;
    }
}

void vs__exhaustive_drop(vs_searcher *s) {
    vs__xquery *x = &s->xq;
    if (s->fused && s->segs) free_segs(s->segs, s->c.n_ok);
    vs__free(x->qx);
    vs_features_free(x->qf);
    memset(x, 0, sizeof *x);
}

vs_status vs__exhaustive_raw(vs_searcher *s, const char *q, float *cand, long *nc) {
    vs__corpus *c = &s->c;
    vs__xquery *x = &s->xq;
    long nc0;
    if (!nc) nc = &nc0;
    vs__exhaustive_drop(s);
    *nc = 0;
    x->self = -1;
    vs_status st = vs__load_query(s, q, &x->qf, &x->self);
    if (st) return st;
    const vs_features *qf = x->qf;
    if (c->n_ok > 0 && (qf->R != c->R || qf->D != c->D)) {
        vs__search_note(s, "%s: features of R=%d D=%d, the index has R=%d D=%d", q, qf->R, qf->D, c->R, c->D);
        vs__exhaustive_drop(s);
        return VS_ERR_INVALID_ARG;
    }
    if (c->n_ok == 0) return VS_OK; /* every ok row was left out as damaged (or none in this shard) */
    float *qx = x->qx = vs__index_features(c->st, qf);
    /* the references' frame levels (computed on first use, then kept) */
    if (qx && vs__bg_frames(s, c->st, c->R, c->D, corpus_features, c->target_row, c->n_ok, c->targets,
                            s->fused ? s->lv : NULL) != VS_OK) {
        vs__search_note(s, "%s", vs_last_error());
        vs__exhaustive_drop(s);
        return VS_ERR_INTERNAL;
    }
    if (s->fused && qx) {
        vs_loc_video fq = loc_video(qx, qf);
        if (vs_localize_search(c->st, c->m, &fq, s->lv, (int)c->n_ok, c->R, c->D, &s->p.localize, s->sims, s->segs,
                               s->nsegs) != VS_OK) {
            vs__search_note(s, "%s: %s", s->qname, vs_last_error());
            vs__exhaustive_drop(s);
            return VS_ERR_INTERNAL;
        }
    } else if (!qx || vs_simmodel_similarity(c->st, s->sims, qx, qf->T, c->targets, (int)c->n_ok, c->R, c->D) != VS_OK) {
        vs__search_note(s, "%s: %s", q, vs_last_error());
        vs__exhaustive_drop(s);
        return VS_ERR_INTERNAL;
    }
    if (s->p.symmetric && !s->fused) {
        /* reverse direction: each target as the query, this query as the only target,
         * whole pairs over the threads (the floats of -j 1); one by one if that fails */
        if (vs_simmodel_similarity_to(c->st, s->rsims, c->targets, (int)c->n_ok, qx, qf->T, c->R, c->D) == VS_OK) {
            for (long k = 0; k < c->n_ok; k++) s->sims[k] = 0.5f * (s->sims[k] + s->rsims[k]);
        } else
            for (long k = 0; k < c->n_ok; k++) {
                float r;
                if (vs_simmodel_similarity_to(c->st, &r, &c->targets[k], 1, qx, qf->T, c->R, c->D) != VS_OK) {
                    vs__search_note(s, "%s: %s", q, vs_last_error());
                    x->n_failed++;
                    r = s->sims[k];
                }
                s->sims[k] = 0.5f * (s->sims[k] + r);
            }
    }
    if (cand) *nc = vs__bg_candidates(s, s->sims, c->target_row, c->n_ok, x->self, cand);
    return VS_OK;
}

vs_status vs__exhaustive_finish(vs_searcher *s, float qlev, vs_search_result **out) {
    vs__corpus *c = &s->c;
    vs__xquery *x = &s->xq;
    *out = NULL;
    if (!x->qf) return vs__err(VS_ERR_INVALID_ARG, "vs__exhaustive_finish: no query");
    if (c->n_ok == 0) {
        vs_status st = vs__result_new(s, c->es, NULL, 0, out);
        vs__exhaustive_drop(s);
        return st;
    }
    const vs_features *qf = x->qf;
    const char *q = s->qname;
    int n_failed = x->n_failed;
    if (vs__bg_apply_level(s, c->st, c->R, c->D, corpus_features, s->sims, c->target_row, c->n_ok, qlev,
                           s->fused ? s->segs : NULL, s->nsegs) != VS_OK) {
        vs__search_note(s, "%s: %s", q, vs_last_error());
        vs__exhaustive_drop(s);
        return VS_ERR_INTERNAL;
    }
    long nh = vs__rank(s, s->hits, s->sims, c->target_row, c->n_ok, c->es, x->self);
    vs_search_result *r = NULL;
    vs_status st = vs__result_new(s, c->es, s->hits, nh, &r);
    if (!st) vs__bg_explain(s, r, s->hits);
    vs_loc_video qv = loc_video(x->qx, qf);
    for (long k = 0; !st && s->p.segments && k < nh; k++) {
        vs_search_hit *h = &r->hits[k];
        long row = s->hits[k].row;
        vs_loc_video rv = loc_video(c->xs[row], c->feats[row]);
        h->query_duration = vs__whole_duration(&qv);
        h->ref_duration = vs__whole_duration(&rv);
        if (s->fused) {
            h->segments = s->segs[s->hits[k].k];
            h->n_segments = s->nsegs[s->hits[k].k];
            s->segs[s->hits[k].k] = NULL;
        } else if (vs_localize_videos(&h->segments, &h->n_segments, c->st, &qv, &rv, c->R, c->D, s->p.symmetric,
                                      h->score, &s->p.localize) != VS_OK) {
            vs__search_note(s, "%s vs %s: %s", s->qname, h->name, vs_last_error());
            h->n_segments = -1;
            n_failed++;
        }
    }
    vs__exhaustive_drop(s);
    if (r) r->n_failed = n_failed;
    *out = r;
    return st;
}

vs_status vs__exhaustive_query(vs_searcher *s, const char *q, vs_search_result **out) {
    *out = NULL;
    vs_status st = vs__exhaustive_raw(s, q, NULL, NULL);
    if (st) return st;
    vs__corpus *c = &s->c;
    float qlev = 0.0f;
    if (s->bg.on && c->n_ok > 0) {
        /* the query's level over all its scores, itself left out (vs__bg_apply's) */
        long ks = -1;
        for (long k = 0; k < c->n_ok && s->xq.self >= 0; k++)
            if (c->es->v[c->target_row[k]].id == s->xq.self) ks = k;
        float keep = ks >= 0 ? s->sims[ks] : 0.0f;
        if (ks >= 0) s->sims[ks] = NAN;
        qlev = vs_norm_stat(s->sims, c->n_ok, &s->p.norm);
        if (ks >= 0) s->sims[ks] = keep;
    }
    return vs__exhaustive_finish(s, qlev, out);
}

/* ------------------------------------------------------------------ dedup */

typedef struct { long a, b; float score; } pair;

static int cmp_pair(const void *x, const void *y) {
    const pair *p = x, *q = y;
    if (p->score != q->score) return p->score < q->score ? 1 : -1;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

typedef struct dedup_priv {
    vs_searcher s;         /* what notes, the skip list and the background levels need; its
                              corpus s.c is dedup's */
} dedup_priv;

void vs_dedup_result_free(vs_dedup_result *r) {
    if (!r) return;
    dedup_priv *d = r->priv_;
    if (d) {
        vs__bg_free(&d->s.bg);
        vs__corpus_free(&d->s.c);
        vs__skips_free(&d->s.skipped);
        vs__free(d);
    }
    vs__free(r->pairs);
    vs__free(r);
}

/* 1 when files a and b hold the same bytes (read in full; 0 when either cannot be read) */
static int same_bytes(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fa ? fopen(b, "rb") : NULL;
    int same = fa && fb;
    static const size_t CH = 1 << 16;
    unsigned char *x = same ? vs__malloc(2 * CH) : NULL;
    if (!x) same = 0;
    while (same) {
        size_t na = fread(x, 1, CH, fa), nb = fread(x + CH, 1, CH, fb);
        if (na != nb || memcmp(x, x + CH, na)) same = 0;
        if (na < CH) break;
    }
    if (same && (ferror(fa) || ferror(fb))) same = 0;
    vs__free(x);
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* VS_DEDUP_SAME_BYTES, VS_DEDUP_SAME_FRAMES or 0 for two indexed videos */
static int exact_kind(const vs_index_entry *ea, const vs_index_entry *eb, const vs_features *fa,
                      const vs_features *fb) {
    if (ea->size == eb->size && ea->hash == eb->hash && same_bytes(ea->path, eb->path)) return VS_DEDUP_SAME_BYTES;
    if (fa && fb && fa->T == fb->T && fa->R == fb->R && fa->D == fb->D &&
        !memcmp(fa->data, fb->data, sizeof(float) * (size_t)fa->T * fa->R * fa->D))
        return VS_DEDUP_SAME_FRAMES;
    return 0;
}

vs_status vs_dedup(vs_index *idx, const vs_search_params *p, vs_dedup_result **out) {
    return vs__dedup_run(idx, p, NULL, out);
}

vs_status vs__dedup_run(vs_index *idx, const vs_search_params *p, const vs__dedup_split *sp, vs_dedup_result **out) {
    *out = NULL;
    if (!idx || !p) return vs__err(VS_ERR_INVALID_ARG, "vs_dedup: NULL argument");
    vs_status pst = vs_search_params_check(p);
    if (pst) return pst;
    const int rank = sp ? sp->rank : 0, size = sp && sp->size > 1 ? sp->size : 1;
    int exchanged = 0;
    vs_dedup_result *r = vs__calloc(1, sizeof *r);
    dedup_priv *d = r ? vs__calloc(1, sizeof *d) : NULL;
    if (!d) {
        vs__free(r);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    r->priv_ = d;
    d->s.p = *p;
    d->s.p.n_shards = 0; /* every rank holds the whole corpus: a pair's videos may be anywhere */
    d->s.cmd = (char *)(p->cmd ? p->cmd : "dedup");
    d->s.idx = idx;
    float *sim = NULL, *lev = NULL;
    vs_status st = vs__corpus_open(&d->s.c, &d->s, idx, p->model ? p->model : "visil_f", p->n_threads > 0 ? p->n_threads : 1,
                                   &d->s.skipped);
    if (st) goto fail;
    vs__corpus *c = &d->s.c;
    long n = c->n_ok;
    sim = vs__calloc((size_t)n * n + 1, sizeof *sim);
    r->pairs = vs__calloc((size_t)n * (n > 1 ? n - 1 : 1) / 2 + 1, sizeof *r->pairs);
    pair *pairs = vs__calloc((size_t)n * (n > 1 ? n - 1 : 1) / 2 + 1, sizeof *pairs);
    if (!sim || !r->pairs || !pairs) {
        vs__free(pairs);
        st = vs__err(VS_ERR_NOMEM, "out of memory for %ld videos", n);
        goto fail;
    }
    for (long i = rank; i < n; i += size)
        if ((st = vs_simmodel_similarity(c->st, sim + i * n, c->targets[i].x, c->targets[i].T, c->targets, (int)n, c->R,
                                         c->D)) != VS_OK) {
            vs__free(pairs);
            goto fail;
        }
    /* normalisation: each video's reference-side level (stored, or computed against the
     * members), subtracted for both videos of a pair */
    lev = vs__calloc((size_t)n + 1, sizeof *lev);
    if (!lev) {
        vs__free(pairs);
        st = vs__err(VS_ERR_NOMEM, "out of memory for %ld videos", n);
        goto fail;
    }
    if (p->normalize) {
        d->s.model = (char *)(p->model ? p->model : "visil_f");
        d->s.p.symmetric = 1; /* dedup scores both directions */
        if (!(st = vs__bg_open(&d->s, c->es, NULL))) /* dedup: no frame levels */
            for (long i = rank; i < n && !st; i += size)
                st = vs__bg_level(&d->s, c->st, c->R, c->D, corpus_features, c->target_row[i], &lev[i]);
        d->s.model = NULL;
        if (st) {
            vs__free(pairs);
            goto fail;
        }
    }
    if (sp) { /* rank 0 gets every rank's rows and levels */
        exchanged = 1;
        if ((st = sp->exchange(sp->user, 1, sim, lev, n))) {
            vs__free(pairs);
            goto fail;
        }
        if (rank != 0) n = 0; /* the pairs are rank 0's to make */
    }
    long np = 0;
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++) {
            float sc = 0.5f * (sim[i * n + j] + sim[j * n + i]) - lev[i] - lev[j];
            if (sc >= p->threshold) pairs[np++] = (pair){i, j, sc};
        }
    qsort(pairs, (size_t)np, sizeof *pairs, cmp_pair);
    for (long k = 0; k < np; k++) {
        const long ra = c->target_row[pairs[k].a], rb = c->target_row[pairs[k].b];
        r->pairs[k] = (vs_dedup_pair){c->es->v[ra].name, c->es->v[rb].name, pairs[k].score,
                                      exact_kind(&c->es->v[ra], &c->es->v[rb], c->feats[ra], c->feats[rb])};
    }
    r->n = np;
    r->skipped = d->s.skipped.l;
    vs__free(pairs);
    vs__free(sim);
    vs__free(lev);
    *out = r;
    return VS_OK;
fail:
    if (sp && !exchanged) {
        /* the other ranks wait in the exchange: take part, saying this rank failed */
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", vs_last_error());
        sp->exchange(sp->user, 0, NULL, NULL, 0);
        vs__err(st, "%s", msg);
    }
    vs__free(sim);
    vs__free(lev);
    vs_dedup_result_free(r);
    return st;
}
