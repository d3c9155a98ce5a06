/*
 * clip.c - search with 3D-CSL-F clip vectors (clipmodel.h): reference vectors come
 * from the index's extras (kind "clip", model id = vs_clipmodel_id) when stored there,
 * else they are computed from the feature files (and stored with store_clip); each
 * query is encoded and scored against every reference with the top-k Chamfer
 * similarity, both directions averaged unless symmetric is 0. Every pair is scored:
 * no approximate first stage. References whose features fail to load are left out and
 * listed as skipped (vs_searcher_skipped), as in the other backends.
 */
#include "search/search_internal.h"
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vs__clip_free(vs_searcher *s) {
    if (s->cv && s->es)
        for (long r = 0; r < s->es->n; r++) vs__free(s->cv[r]);
    vs__free(s->cv);
    vs__free(s->cn);
    vs_clipmodel_free(s->cm);
    s->cv = NULL;
    s->cn = NULL;
    s->cm = NULL;
}

/* Encode features into new clip vectors *v [*n, d]. */
static vs_status encode(const vs_clipmodel *m, const vs_features *f, float **v, int *n) {
    int nc = vs_clipmodel_n_clips(m, f->T), d = vs_clipmodel_dim(m);
    *v = vs__malloc(sizeof(float) * (size_t)(nc > 0 ? nc : 1) * d);
    *n = nc;
    if (!*v) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_status st = vs_clipmodel_encode(m, *v, f->data, f->T, f->R, f->D);
    if (st) {
        vs__free(*v);
        *v = NULL;
    }
    return st;
}

/* The clip model named by s->model: "clip" and "clip:mean" (training-free: the bundled
 * 3D-CSL model scores below it on the dev benchmark, docs/hard_copies.md), "clip:bundled"
 * (clip_<backbone>.vstf of the index's backbone, found through the locator) or
 * "clip:FILE". */
static vs_status open_model(vs_searcher *s) {
    const char *model = s->model; /* clip or clip:...: vs_search_params_check */
    if (!model[4]) model = "clip:mean";
    char mpath[PATH_MAX];
    if (model[4] == ':' && strcmp(model, "clip:bundled")) {
        snprintf(mpath, sizeof mpath, "%s", model + 5);
    } else {
        vs_model_id id;
        char name[96];
        char saved[2048];
        snprintf(saved, sizeof saved, "%s", vs_last_error());
        if (vs_model_id_parse(&id, s->info.model_id) != VS_OK) vs__err(VS_OK, "%s", saved);
        snprintf(name, sizeof name, "clip_%s.vstf", id.backbone);
        vs_model_locate(&s->p.models, name, mpath, sizeof mpath);
    }
    if (!strcmp(model, "clip:mean")) { /* training-free builtin: needs R and D of the index */
        int R = s->info.R, D = s->info.D;
        if (!D) return vs__err(VS_ERR_FORMAT, "clip:mean: no readable features in the index");
        if (vs_clipmodel_builtin(&s->cm, "mean", D, R) != VS_OK) return vs__err_prefix(VS_ERR_FORMAT, "clip:mean");
        return VS_OK;
    }
    return vs_clipmodel_load(&s->cm, mpath);
}

vs_status vs__clip_create(vs_searcher *s) {
    vs_status st = vs_index_get_info(s->idx, &s->info);
    if (!st) st = vs_index_list(s->idx, NULL, &s->es);
    if (!st) st = open_model(s);
    if (st) return st;
    const char *mid = vs_clipmodel_id(s->cm);
    int d = vs_clipmodel_dim(s->cm);
    long n = s->es->n;
    const vs_index_entries *es = s->es;
    s->cv = vs__calloc((size_t)n + 1, sizeof *s->cv);
    s->cn = vs__calloc((size_t)n + 1, sizeof *s->cn);
    s->hits = vs__calloc((size_t)n + 1, sizeof *s->hits);
    if (!s->cv || !s->cn || !s->hits) return vs__err(VS_ERR_NOMEM, "out of memory");
    /* stored vectors first */
    vs_index_extras *ex = NULL;
    if (vs_index_load_extras(s->idx, "clip", mid, &ex) == VS_OK) {
        for (long k = 0, r = 0; k < ex->n; k++) {
            while (r < n && es->v[r].id < ex->video_ids[k]) r++;
            if (r < n && es->v[r].id == ex->video_ids[k] && ex->v[k].dtype == VS_INDEX_F32 && ex->v[k].n_cols == d) {
                s->cn[r] = (int)ex->v[k].n_rows;
                s->cv[r] = vs__malloc(sizeof(float) * (size_t)(s->cn[r] ? s->cn[r] : 1) * d);
                if (!s->cv[r]) {
                    vs_index_extras_free(ex);
                    return vs__err(VS_ERR_NOMEM, "out of memory");
                }
                memcpy(s->cv[r], ex->v[k].data, sizeof(float) * (size_t)s->cn[r] * d);
            }
        }
        vs_index_extras_free(ex);
    } else {
        vs__search_note(s, "%s (computing clip vectors from features)", vs_last_error());
    }
    for (long r = 0; r < n; r++) {
        if (!es->v[r].ok || s->cv[r]) continue;
        vs_features *f = NULL;
        if (vs_index_load_features(s->idx, &es->v[r], &f) != VS_OK || encode(s->cm, f, &s->cv[r], &s->cn[r])) {
            /* listed as skipped like the other backends' (a vanished row is only noted) */
            char why[2048];
            snprintf(why, sizeof why, "%s", vs_last_error());
            if (f || !vs__entry_vanished(s, s->idx, &es->v[r])) vs__skips_add(&s->skipped, &es->v[r], why, s);
            vs_features_free(f);
            continue;
        }
        vs_features_free(f);
        if (s->p.store_clip) {
            vs_index_extra x = {VS_INDEX_F32, s->cn[r], d, s->cv[r]};
            if ((st = vs_index_put_extra(s->idx, es->v[r].id, "clip", mid, &x)) != VS_OK)
                return vs__err_prefix(st, "storing clip vectors (store_clip)");
        }
    }
    return VS_OK;
}

vs_status vs__clip_query(vs_searcher *s, const char *q, vs_search_result **out) {
    vs_features *qf = NULL;
    int64_t self = -1;
    vs_status st = vs__load_query(s, q, &qf, &self);
    if (st) return st;
    float *qv = NULL;
    int qn = 0, d = vs_clipmodel_dim(s->cm);
    st = encode(s->cm, qf, &qv, &qn);
    vs_features_free(qf);
    if (st) {
        vs__search_note(s, "%s: %s", q, vs_last_error());
        return st;
    }
    long nh = 0;
    for (long r = 0; r < s->es->n; r++) {
        if (!s->cv[r] || s->es->v[r].id == self) continue;
        float sc = vs_clip_similarity(qv, qn, s->cv[r], s->cn[r], d, VS_CLIP_TOPK);
        if (s->p.symmetric) sc = 0.5f * (sc + vs_clip_similarity(s->cv[r], s->cn[r], qv, qn, d, VS_CLIP_TOPK));
        if (sc >= s->p.threshold) s->hits[nh++] = (vs__hit){r, sc, r};
    }
    vs__free(qv);
    qsort(s->hits, (size_t)nh, sizeof *s->hits, vs__cmp_hit);
    if (s->p.top > 0 && nh > s->p.top) nh = s->p.top;
    return vs__result_new(s, s->es, s->hits, nh, out);
}
