/*
 * background.c - score normalisation inside the search (norm.h, docs/search.md "Score
 * normalisation"): the reference-side levels of the searcher's rows (stored ones read
 * once, missing ones computed in memory against the index's members on first use),
 * s - bg(query) - bg(ref) applied to a query's scored list before ranking, and the
 * references' frame levels (norm.h "Frame levels") that the pairs are scored with.
 */
#include "search/search_internal.h"
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* above this many videos without a stored level, the search says that computing them
 * in memory costs time and how to store them */
#define BG_NOTE_MISSING 1000

void vs__bg_free(vs__bg *b) {
    vs_norm_table_free(&b->t);
    vs__free(b->row_of);
    vs__free(b->pos_of);
    vs__free(b->val);
    vs__free(b->have);
    vs__free(b->scratch);
    vs__free(b->mv);
    vs__free(b->mv_row);
    vs__free(b->raw);
    vs__free(b->rlev);
    if (b->flev && b->es)
        for (long i = 0; i < b->es->n; i++) vs__free(b->flev[i]);
    vs__free(b->flev);
    vs_norm_frames_free(&b->fr);
    memset(b, 0, sizeof *b);
}

vs_status vs__bg_open(vs_searcher *s, const vs_index_entries *es, const vs_simmodel *model) {
    vs__bg *b = &s->bg;
    memset(b, 0, sizeof *b);
    if (!s->p.normalize) return VS_OK;
    s->p.norm.temporal = s->p.temporal; /* the levels of the scorer in use */
    vs_status st = vs_norm_check_params(&s->p.norm);
    if (st) return st;
    char tag[128];
    if ((st = vs_norm_model_tag(tag, sizeof tag, s->model))) return st;
    size_t n = (size_t)es->n + 1;
    int64_t *ids = vs__malloc(n * sizeof *ids);
    b->row_of = vs__malloc(n * sizeof *b->row_of);
    b->pos_of = vs__malloc(n * sizeof *b->pos_of);
    b->val = vs__calloc(n, sizeof *b->val);
    b->have = vs__calloc(n, 1);
    if (!ids || !b->row_of || !b->pos_of || !b->val || !b->have) {
        vs__free(ids);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    long m = 0;
    for (long i = 0; i < es->n; i++) {
        b->pos_of[i] = -1;
        if (!es->v[i].ok) continue;
        ids[m] = es->v[i].id;
        b->pos_of[i] = m;
        b->row_of[m++] = i;
    }
    st = vs_norm_load(s->idx, tag, s->p.symmetric, &s->p.norm, ids, m, &b->t);
    vs__free(ids);
    if (st) return st;
    for (long k = 0; k < m; k++)
        if (b->t.have[k]) {
            b->val[b->row_of[k]] = b->t.values[k];
            b->have[b->row_of[k]] = 1;
        }
    b->raw = vs__calloc(n, sizeof *b->raw);
    b->rlev = vs__calloc(n, sizeof *b->rlev);
    if (!b->raw || !b->rlev) return vs__err(VS_ERR_NOMEM, "out of memory");
    b->scratch = vs__malloc(((size_t)b->t.n_members + 1) * sizeof *b->scratch);
    b->mv = vs__calloc((size_t)b->t.n_members + 1, sizeof *b->mv);
    b->mv_row = vs__calloc((size_t)b->t.n_members + 1, sizeof *b->mv_row);
    if (!b->scratch || !b->mv || !b->mv_row) return vs__err(VS_ERR_NOMEM, "out of memory");
    b->es = es;
    b->on = 1;
    if (model && s->p.frame_levels > 0.0f && !strcmp(vs_simmodel_kind(model), "visil_f")) {
        if ((st = vs_norm_load_frames(s->idx, &b->t, &b->fr))) return st;
        if (!(b->flev = vs__calloc(n, sizeof *b->flev))) return vs__err(VS_ERR_NOMEM, "out of memory");
        b->frames_on = 1;
    }
    if (b->frames_on && b->t.n_missing <= BG_NOTE_MISSING && b->fr.n_missing > BG_NOTE_MISSING)
        vs__search_note(s,
                        "%s: %ld videos have no stored frame levels for this model; they are computed in memory as "
                        "the search meets them (`vidsim index background --index %s` stores them)",
                        vs_index_dir(s->idx), b->fr.n_missing, vs_index_dir(s->idx));
    if (b->t.n_missing > BG_NOTE_MISSING)
        vs__search_note(s,
                        "%s: %ld videos have no stored background level for this model; they are computed in "
                        "memory as the search meets them (`vidsim index background --index %s` stores them)",
                        vs_index_dir(s->idx), b->t.n_missing, vs_index_dir(s->idx));
    return VS_OK;
}

/* The readable members' indexed features, back to back, once (unreadable members are
 * left out of the set). */
static void load_members(vs_searcher *s, vs__bg_features_fn fn) {
    vs__bg *b = &s->bg;
    if (b->members_loaded) return;
    b->members_loaded = 1;
    b->n_mv = 0;
    for (long j = 0; j < b->t.n_members; j++) {
        int T = 0;
        const long row = b->row_of[b->t.members[j]];
        const float *x = fn(s, row, &T);
        if (!x) continue;
        b->mv_row[b->n_mv] = row;
        b->mv[b->n_mv++] = (vs_simvideo){x, T, NULL};
    }
}

/* row's place among the loaded members, or -1 when it is not one */
static long member_pos(const vs__bg *b, long row) {
    for (long j = 0; j < b->n_mv; j++)
        if (b->mv_row[j] == row) return j;
    return -1;
}

/* the level of row, computed against the members (itself left out) */
static vs_status compute(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn, long row) {
    vs__bg *b = &s->bg;
    load_members(s, fn);
    int T = 0;
    const float *x = fn(s, row, &T);
    if (!x) { /* unreadable: no level (such a row is not scored anyway) */
        b->have[row] = 1;
        b->val[row] = 0.0f;
        return VS_OK;
    }
    vs_simvideo v = {x, T, NULL};
    vs_status rc = vs_norm_value(st, &b->val[row], &v, member_pos(b, row), b->mv, b->n_mv, R, D, s->p.symmetric,
                                 &s->p.norm, b->scratch);
    if (rc) return rc;
    b->have[row] = 1;
    b->n_computed++;
    return VS_OK;
}

vs_status vs__bg_apply(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn, float *sims,
                       const long *rows, long n, int64_t self, vs_segment **segs, const int *nsegs) {
    vs__bg *b = &s->bg;
    if (!b->on || n <= 0) return VS_OK;
    long ks = -1;
    for (long k = 0; k < n && self >= 0; k++)
        if (b->es->v[rows[k]].id == self) ks = k;
    float keep = 0.0f;
    if (ks >= 0) {
        keep = sims[ks];
        sims[ks] = NAN; /* a query is not its own background */
    }
    const float qbg = vs_norm_stat(sims, n, &s->p.norm);
    if (ks >= 0) sims[ks] = keep;
    return vs__bg_apply_level(s, st, R, D, fn, sims, rows, n, qbg, segs, nsegs);
}

long vs__bg_candidates(const vs_searcher *s, const float *sims, const long *rows, long n, int64_t self, float *out) {
    const vs__bg *b = &s->bg;
    const vs_norm_params *p = &s->p.norm;
    int keep = p->skip + p->n, m = 0;
    if (!b->on) return 0;
    /* the same selection as vs_norm_stat: the best keep scores, sorted descending */
    for (long k = 0; k < n; k++) {
        float v = sims[k];
        if ((self >= 0 && b->es->v[rows[k]].id == self) || isnan(v) || v >= p->copy_above) continue;
        if (m == keep && v <= out[m - 1]) continue;
        int j = m < keep ? m++ : m - 1;
        while (j > 0 && out[j - 1] < v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    return m;
}

vs_status vs__bg_apply_level(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn,
                             float *sims, const long *rows, long n, float qbg, vs_segment **segs, const int *nsegs) {
    vs__bg *b = &s->bg;
    if (!b->on || n <= 0) return VS_OK;
    b->qlev = qbg;
    for (long k = 0; k < n; k++) {
        long row = rows[k];
        if (!b->have[row]) {
            vs_status rc = compute(s, st, R, D, fn, row);
            if (rc) return rc;
        }
        const float off = qbg + b->val[row];
        b->raw[k] = sims[k];
        b->rlev[k] = b->val[row];
        sims[k] -= off;
        if (segs && segs[k])
            for (int j = 0; j < nsegs[k]; j++) segs[k][j].score -= off;
    }
    return VS_OK;
}

/* beta * L of row into b->flev[row] (a stored one, or computed against the members) */
static vs_status frames_of(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn, long row) {
    vs__bg *b = &s->bg;
    int T = 0;
    const float *x = fn(s, row, &T);
    if (!x || T < 1) return VS_OK; /* unreadable: not scored */
    const long k = b->pos_of[row];
    float *lev = k >= 0 ? b->fr.lev[k] : NULL;
    if (lev && b->fr.T[k] != T)
        return vs__err(VS_ERR_FORMAT,
                       "%s: the stored frame levels of video id %lld have %d frames, its features %d (run 'vidsim "
                       "index background --index %s --force')",
                       vs_index_dir(s->idx), (long long)b->es->v[row].id, b->fr.T[k], T, vs_index_dir(s->idx));
    if (lev) {
        b->fr.lev[k] = NULL; /* moved */
    } else {
        if (!(lev = vs__malloc(sizeof(float) * (size_t)T))) return vs__err(VS_ERR_NOMEM, "out of memory");
        load_members(s, fn);
        vs_simvideo v = {x, T, NULL};
        vs_status rc = vs_norm_frame_levels(st, lev, &v, member_pos(b, row), b->mv, b->n_mv, R, D, &s->p.norm);
        if (rc) {
            vs__free(lev);
            return rc;
        }
        b->n_frames_computed++;
    }
    for (int j = 0; j < T; j++) lev[j] *= s->p.frame_levels;
    b->flev[row] = lev;
    return VS_OK;
}

vs_status vs__bg_frames(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn,
                        const long *rows, long n, vs_simvideo *targets, vs_loc_video *lv) {
    vs__bg *b = &s->bg;
    for (long k = 0; k < n; k++) {
        const float *lev = NULL;
        if (b->frames_on) {
            if (!b->flev[rows[k]]) {
                vs_status rc = frames_of(s, st, R, D, fn, rows[k]);
                if (rc) return rc;
            }
            lev = b->flev[rows[k]];
        }
        if (targets) targets[k].lev = lev;
        if (lv) lv[k].lev = lev;
    }
    return VS_OK;
}

vs_status vs__bg_level(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn, long row,
                       float *out) {
    vs__bg *b = &s->bg;
    *out = 0.0f;
    if (!b->on) return VS_OK;
    if (!b->have[row]) {
        vs_status rc = compute(s, st, R, D, fn, row);
        if (rc) return rc;
    }
    *out = b->val[row];
    return VS_OK;
}

void vs__bg_explain(const vs_searcher *s, vs_search_result *r, const vs__hit *hits) {
    const vs__bg *b = &s->bg;
    for (long k = 0; r && k < r->n; k++) {
        vs_search_hit *h = &r->hits[k];
        if (!b->on) {
            h->raw = h->score;
            continue;
        }
        h->raw = b->raw[hits[k].k];
        h->query_level = b->qlev;
        h->ref_level = b->rlev[hits[k].k];
    }
}
