/*
 * two_stage.c - the two-stage search (docs/search.md): stage 1 ranks the index by the
 * Hamming distance between binary codes (stored by `index hash`, computed on the fly
 * for videos lacking one) and keeps the K nearest; stage 2 scores those candidates
 * with the similarity network exactly as the exhaustive search scores them, and
 * localises the listed ones with segments on. HASH_ONLY returns stage 1's ranking
 * (score 1 - d/bits). With first_stage "gvec" stage 1 is instead the inner product of
 * segment vectors, S global vectors per video, one per equal temporal part
 * (vs_ann_segment_vectors; S = gvec_segments, 1 = the mean vector; stored as extras
 * kind "gvec", computed on the fly for videos lacking them) through a vs_ann index over
 * all of them built here (ann.h): a video scores its best (query part, reference part)
 * pair; HASH_ONLY then ranks by that score.
 */
#include "search/search_internal.h"
#include "core/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vs__two_stage_free(vs_searcher *s) {
    if (s->es && s->xs)
        for (long i = 0; i < s->es->n; i++) vs__free(s->xs[i]);
    if (s->es && s->times)
        for (long i = 0; i < s->es->n; i++) vs__free(s->times[i]);
    vs__free(s->times);
    vs__free(s->fps);
    vs__free(s->dur);
    vs__free(s->xs);
    vs__free(s->T);
    vs__free(s->codes);
    vs__free(s->gv);
    vs__free(s->gv_vid);
    vs__free(s->gv_best);
    vs__free(s->gv_touch);
    vs_ann_free(s->ann);
    s->ann = NULL;
    s->gv = NULL;
    s->gv_vid = NULL;
    s->gv_best = NULL;
    s->gv_touch = NULL;
    vs__free(s->row);
    vs__free(s->hh);
    vs__free(s->targets);
    vs__free(s->cand);
    vs_hamming_state_free(s->hst);
    vs_hamming_index_free(s->hidx);
    vs_simmodel_state_free(s->st);
    vs_simmodel_state_free(s->st1);
    vs_simmodel_free(s->m);
    vs_hasher_free(s->h);
    s->xs = NULL;
    s->times = NULL;
    s->h = NULL;
    s->hst = NULL;
    s->hidx = NULL;
    s->st = s->st1 = NULL;
    s->m = NULL;
}

/* Codes of every ok row: stored ones, the rest computed from the features. */
static vs_status load_codes(vs_searcher *s) {
    vs_index_extras *x = NULL;
    vs_status st = vs_index_load_extras(s->idx, VS_HASH_KIND, vs_hasher_id(s->h), &x);
    if (st) return st;
    long n = s->es->n, k = 0, computed = 0;
    s->codes = vs__calloc((size_t)(n + 1) * s->W, sizeof *s->codes);
    s->row = vs__calloc((size_t)n + 1, sizeof *s->row);
    if (!s->codes || !s->row) {
        vs_index_extras_free(x);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    for (long i = 0; i < n; i++) {
        const vs_index_entry *e = &s->es->v[i];
        if (!e->ok) continue;
        uint64_t *dst = s->codes + (size_t)s->n * s->W;
        while (k < x->n && x->video_ids[k] < e->id) k++;
        if (k < x->n && x->video_ids[k] == e->id && x->v[k].dtype == VS_INDEX_U64 &&
            x->v[k].n_rows * x->v[k].n_cols == s->W) {
            memcpy(dst, x->v[k].data, sizeof(uint64_t) * s->W);
        } else {
            vs_features *f = NULL;
            if (vs_index_load_features(s->idx, e, &f) != VS_OK) {
                char why[2048];
                snprintf(why, sizeof why, "%s", vs_last_error());
                if (!vs__entry_vanished(s, s->idx, e)) vs__skips_add(&s->skipped, e, why, s);
                continue;
            }
            st = vs_hasher_encode(s->h, dst, f);
            vs_features_free(f);
            if (st) {
                vs_index_extras_free(x);
                return vs__err_prefix(st, "%s", e->path);
            }
            computed++;
        }
        s->row[s->n++] = i;
    }
    if (computed)
        vs__search_note(s, "%ld of %ld videos have no stored %s code; computed them now "
                           "(store them with `vidsim index hash --index %s --hash-model %s`)",
                        computed, s->n, vs_hasher_id(s->h), vs_index_dir(s->idx), vs_hasher_spec(s->h));
    if (x->n_bad) vs__search_note(s, "%ld stored codes are malformed (run `vidsim index verify --repair`)", x->n_bad);
    vs_index_extras_free(x);
    vs_hamming_params hp = vs_hamming_default_params();
    hp.n_threads = s->p.n_threads;
    st = vs_hamming_index_create(&s->hidx, s->codes, s->row, s->n, vs_hasher_bits(s->h), &hp);
    if (!st) st = vs_hamming_state_create(&s->hst, s->hidx);
    return st;
}

/* The vs_ann spec for n vectors when none is given: exact below 50k vectors (a few ms
 * per query), else FAISS IVF with about 4 sqrt(n) lists, 128 of them probed, when built
 * with it, its vectors stored as 8-bit scalars (SQ8: a quarter of IVF-Flat's RAM for the
 * same recall, docs/scale.md "IVF-SQ8"; the candidates are re-scored by the fine stage
 * anyway). params gets the search-time parameters. */
static void auto_spec(long n, char *spec, size_t ns, char *params, size_t np) {
    params[0] = 0;
    if (n < 50000 || !vs_ann_have_faiss()) {
        snprintf(spec, ns, "flat");
        return;
    }
    long nlist = 1024;
    while (nlist < 16384 && nlist * nlist < 16 * n) nlist *= 2; /* ~ 4 sqrt(n) */
    while (nlist > 64 && n < 39 * nlist) nlist /= 2;                   /* FAISS wants 39 per list */
    snprintf(spec, ns, "faiss:IVF%ld,SQ8", nlist);
    /* true pairs' global vectors are far apart (docs/scale.md): few probes lose them */
    snprintf(params, np, "nprobe=%ld", nlist / 8 < 128 ? (nlist / 8 < 32 ? 32 : nlist / 8) : 128);
}

/* Whether the map w was learned on the index's features (model id mid): one of its
 * "features*" ids (the fp32 id, and "features_int8": the same features through the
 * bundled int8 calibration, whose hash the int8 id includes) names the same backbone,
 * crop, whitening and hash, whatever the precision (bf16 shares the fp32 hash); an id
 * that does not parse must be equal. */
static int map_fits(const vs_gvec_whiten *w, const char *mid) {
    static const char *const keys[] = {"features", "features_int8"};
    vs_model_id a, b;
    int pa = vs_model_id_parse(&a, mid) == VS_OK;
    for (int k = 0; k < 2; k++) {
        const char *f = vs_gvec_whiten_meta(w, keys[k]);
        if (!f) continue;
        if (!pa || vs_model_id_parse(&b, f) != VS_OK) {
            if (!strcmp(f, mid)) return 1;
            continue;
        }
        if (!strcmp(a.backbone, b.backbone) && a.crop == b.crop && a.pca == b.pca && a.dim == b.dim && a.hash == b.hash)
            return 1;
    }
    return 0;
}

/* The learned whitening of the gvec first stage (vs_search_params.gvec_whiten): s->whiten,
 * or NULL with "off", when no bundled file is installed for the index's backbone, and
 * (with a note) when the bundled one was learned on other features. */
static vs_status open_whiten(vs_searcher *s) {
    const char *wp = s->p.gvec_whiten, *mid = s->info.model_id;
    if (wp && !strcmp(wp, "off")) return VS_OK;
    char path[PATH_MAX], name[96];
    if (!wp) {
        snprintf(name, sizeof name, "gvec_whiten_%.*s.vstf", (int)strcspn(mid, "-/"), mid);
        if (vs_model_locate(&s->p.models, name, path, sizeof path) != 0) return VS_OK; /* none for this backbone */
    } else
        snprintf(path, sizeof path, "%s", wp);
    vs_status st = vs_gvec_whiten_load(&s->whiten, path);
    if (st) return vs__err_prefix(st, "gvec_whiten");
    const char *wf = vs_gvec_whiten_meta(s->whiten, "features");
    if (vs_gvec_whiten_dim(s->whiten) != s->info.D || !map_fits(s->whiten, mid)) {
        char why[PATH_MAX + 512];
        snprintf(why, sizeof why, "%s was learned on %.200s features (D=%d), the index has %.64s (D=%d)", path,
                 wf ? wf : "unnamed", vs_gvec_whiten_dim(s->whiten), mid, s->info.D);
        vs_gvec_whiten_free(s->whiten);
        s->whiten = NULL;
        if (!wp) {
            vs__search_note(s, "the bundled whitening does not apply: %s; the first stage's global vectors are used "
                               "as they are", why);
            return VS_OK;
        }
        return vs__err(VS_ERR_INVALID_ARG, "gvec_whiten: %s (learn one with `vidsim train-gvec`, or pass off)", why);
    }
    return VS_OK;
}

/* Segment vectors of every ok row (S = gv_S per video, vs_ann_segment_vectors): stored
 * ones (extras kind "gvec", model id "mean1" for S = 1, else "segS"), the rest computed
 * from the features (and stored with store_clip); then the ANN index over all of them,
 * each vector's video in gv_vid. */
static vs_status load_gvecs(vs_searcher *s, const char *spec_in) {
    int D = s->info.D, S = s->gv_S;
    if (D <= 0) return vs__err(VS_ERR_FORMAT, "%s: no readable features to take D from", vs_index_dir(s->idx));
    vs_status st = open_whiten(s); /* first: a bad file fails before the vectors are read */
    if (st) return st;
    char mid[32];
    if (S == 1) snprintf(mid, sizeof mid, "%s", VS_GVEC_ID);
    else snprintf(mid, sizeof mid, "seg%d", S);
    vs_index_extras *x = NULL;
    if ((st = vs_index_load_extras(s->idx, VS_GVEC_KIND, mid, &x))) return st;
    long n = s->es->n, k = 0, computed = 0, stored = 0;
    s->gv = vs__malloc(sizeof(float) * ((size_t)n * S + 1) * D);
    s->gv_vid = vs__malloc(sizeof(long) * ((size_t)n * S + 1));
    s->gv_best = vs__malloc(sizeof(float) * ((size_t)n + 1));
    s->gv_touch = vs__malloc(sizeof(long) * ((size_t)n + 1));
    s->row = vs__calloc((size_t)n + 1, sizeof *s->row);
    if (!s->gv || !s->gv_vid || !s->gv_best || !s->gv_touch || !s->row) {
        vs_index_extras_free(x);
        return vs__err(VS_ERR_NOMEM, "out of memory for %ld x %d global vectors", n, S);
    }
    s->n_gv = 0;
    for (long i = 0; i < n; i++) {
        const vs_index_entry *e = &s->es->v[i];
        if (!e->ok) continue;
        float *dst = s->gv + (size_t)s->n_gv * D;
        int P = 0;
        while (k < x->n && x->video_ids[k] < e->id) k++;
        if (k < x->n && x->video_ids[k] == e->id && x->v[k].dtype == VS_INDEX_F32 && x->v[k].n_cols == D &&
            x->v[k].n_rows >= 1 && x->v[k].n_rows <= S) {
            P = (int)x->v[k].n_rows;
            memcpy(dst, x->v[k].data, sizeof(float) * (size_t)P * D);
        } else {
            vs_features *f = NULL;
            if (vs_index_load_features(s->idx, e, &f) != VS_OK) {
                char why[2048];
                snprintf(why, sizeof why, "%s", vs_last_error());
                if (!vs__entry_vanished(s, s->idx, e)) vs__skips_add(&s->skipped, e, why, s);
                continue;
            }
            if (f->D != D) {
                char why[2048];
                snprintf(why, sizeof why, "%s has D=%d, the index D=%d", e->path, f->D, D);
                vs__skips_add(&s->skipped, e, why, s);
                vs_features_free(f);
                continue;
            }
            P = vs_ann_segment_vectors(dst, f->data, f->T, f->R, D, S);
            vs_features_free(f);
            computed++;
            if (s->p.store_clip) {
                vs_index_extra ex = {VS_INDEX_F32, P, D, dst};
                if ((st = vs_index_put_extra(s->idx, e->id, VS_GVEC_KIND, mid, &ex)) != VS_OK) {
                    vs_index_extras_free(x);
                    return vs__err_prefix(st, "storing global vectors");
                }
                stored++;
            }
        }
        for (int j = 0; j < P; j++) s->gv_vid[s->n_gv++] = s->n;
        s->gv_best[s->n] = -INFINITY;
        s->row[s->n++] = i;
    }
    if (computed && !stored) {
        char opt[48] = "";
        if (S != VS_GVEC_SEGMENTS) snprintf(opt, sizeof opt, " --gvec-segments %d", S);
        vs__search_note(s, "%ld of %ld videos have no stored global vectors (%s %s); computed them now "
                           "(store them with `vidsim search --index %s --first-stage gvec%s --store-gvec ...`)",
                        computed, s->n, VS_GVEC_KIND, mid, vs_index_dir(s->idx), opt);
    }
    if (x->n_bad)
        vs__search_note(s, "%ld stored global vectors are malformed (run `vidsim index verify --repair`)", x->n_bad);
    vs_index_extras_free(x);
    if (s->whiten && (st = vs_gvec_whiten_apply(s->whiten, s->gv, s->n_gv))) return st;
    /* the index over all n_gv vectors: "gvec" (auto, by their count), or "gvec:SPEC[|PARAMS]" */
    char spec[256], params[256] = "";
    if (!spec_in || !*spec_in) {
        auto_spec(s->n_gv, spec, sizeof spec, params, sizeof params);
    } else {
        snprintf(spec, sizeof spec, "%s", spec_in);
        char *bar = strchr(spec, '|');
        if (bar) {
            snprintf(params, sizeof params, "%s", bar + 1);
            *bar = 0;
        }
    }
    snprintf(s->ann_spec, sizeof s->ann_spec, "gvec S=%d %s%s%s%s%s", S, spec, *params ? " " : "", params,
             s->whiten ? " whiten=" : "", s->whiten ? vs_gvec_whiten_id(s->whiten) : "");
    if ((st = vs_ann_create(&s->ann, D, spec))) return vs__err_prefix(st, "first_stage");
    if (!vs_ann_is_trained(s->ann) && (st = vs_ann_train(s->ann, s->gv, s->n_gv))) return st;
    if ((st = vs_ann_add(s->ann, s->gv, s->n_gv))) return st;
    if ((st = vs_ann_set(s->ann, params))) return vs__err_prefix(st, "first_stage");
    vs__free(s->gv); /* the index holds its own copy */
    s->gv = NULL;
    return VS_OK;
}

vs_status vs__two_stage_create(vs_searcher *s) {
    vs_status st = vs_index_list(s->idx, NULL, &s->es);
    if (!st) st = vs_index_get_info(s->idx, &s->info);
    if (st) return st;
    if (s->info.n_ok == 0) {
        const char *dir = vs_index_dir(s->idx);
        if (s->info.n_failed == 0)
            return vs__err(VS_ERR_INVALID_ARG, "%s has no successfully indexed videos (nothing was added yet): "
                                               "nothing to search", dir);
        return vs__err(VS_ERR_INVALID_ARG, "%s has no successfully indexed videos (%ld failed add%s; `vidsim index "
                                           "ls --index %s` shows why): nothing to search",
                       dir, s->info.n_failed, s->info.n_failed == 1 ? "" : "s", dir);
    }
    const char *fs = s->p.first_stage; /* its value and gvec_segments' range: vs_search_params_check */
    s->gvec = fs && !strncmp(fs, "gvec", 4);
    s->gv_S = s->p.gvec_segments ? s->p.gvec_segments : VS_GVEC_SEGMENTS;
    if (!s->gvec) {
        if ((st = vs_hasher_open(&s->h, s->hash_model, s->idx, &s->p.models))) return st;
        s->W = vs_hasher_bits(s->h) / 64;
    }
    const int hash_only = s->p.mode == VS_SEARCH_HASH_ONLY;
    if (!hash_only) {
        vs_simmodel_params p1 = vs_simmodel_default_params();
        p1.n_threads = 1;
        p1.precision = s->p.sim_precision;
        p1.temporal = s->p.temporal;
        st = vs__open_simmodel(&s->m, &s->st, s->model, s->p.n_threads, s->p.sim_precision, s->p.temporal);
        if (!st) st = vs_simmodel_state_create(&s->st1, s->m, &p1);
        if (st) return st;
    }
    if ((st = s->gvec ? load_gvecs(s, fs[4] == ':' ? fs + 5 : NULL) : load_codes(s))) return st;
    s->p.first_stage = NULL; /* borrowed from the caller: read here only */
    long N = s->n, K = hash_only ? (s->p.top > 0 ? s->p.top : N) : s->p.two_stage_k;
    if (K > N) K = N;
    s->K = K;
    long n = s->es->n;
    s->xs = vs__calloc((size_t)n + 1, sizeof *s->xs);
    s->T = vs__calloc((size_t)n + 1, sizeof *s->T);
    s->times = vs__calloc((size_t)n + 1, sizeof *s->times);
    s->fps = vs__calloc((size_t)n + 1, sizeof *s->fps);
    s->dur = vs__calloc((size_t)n + 1, sizeof *s->dur);
    s->hh = vs__calloc((size_t)K + 2, sizeof *s->hh);
    s->hits = vs__calloc((size_t)K + 1, sizeof *s->hits);
    s->sims = vs__calloc((size_t)K + 1, sizeof *s->sims);
    s->rsims = vs__calloc((size_t)K + 1, sizeof *s->rsims);
    s->targets = vs__calloc((size_t)K + 1, sizeof *s->targets);
    s->cand = vs__calloc((size_t)K + 1, sizeof *s->cand);
    s->lv = vs__calloc((size_t)K + 1, sizeof *s->lv);
    s->segs = vs__calloc((size_t)K + 1, sizeof *s->segs);
    s->nsegs = vs__calloc((size_t)K + 1, sizeof *s->nsegs);
    if (!s->lv || !s->segs || !s->nsegs || !s->xs || !s->T || !s->times || !s->fps || !s->dur || !s->hh ||
        !s->hits || !s->sims || !s->rsims || !s->targets || !s->cand)
        return vs__err(VS_ERR_NOMEM, "out of memory");
    if (!hash_only && (st = vs__bg_open(s, s->es, s->m))) return st;
    return VS_OK;
}

/* Indexed features of row i for stage 2 (loaded once, then cached); NULL if unreadable
 * (then listed as skipped, unless the row vanished). */
static const float *stage2_features(vs_searcher *s, long i, int *T) {
    if (s->T[i] < 0) return NULL;
    if (!s->xs[i]) {
        vs_features *f = NULL;
        float *x = NULL;
        char why[2048] = "";
        const vs_index_entry *e = &s->es->v[i];
        if (vs_index_load_features(s->idx, e, &f) != VS_OK) {
            snprintf(why, sizeof why, "%s", vs_last_error());
        } else if (s->D && (f->R != s->R || f->D != s->D)) {
            snprintf(why, sizeof why, "%s has R=%d D=%d, others R=%d D=%d", e->path, f->R, f->D, s->R, s->D);
        } else {
            s->R = f->R;
            s->D = f->D;
            x = vs__index_features(s->st, f);
            if (!x) snprintf(why, sizeof why, "%s: %s", e->path, vs_last_error());
            s->T[i] = f->T;
            s->fps[i] = f->fps;
            s->dur[i] = f->duration;
            if (x && f->times && (s->times[i] = vs__malloc(sizeof(float) * (size_t)f->T + 1)))
                memcpy(s->times[i], f->times, sizeof(float) * (size_t)f->T);
        }
        if (!x) {
            /* a row removed or replaced since the search listed the index is not damage
             * (its file goes after its row); anything else is listed as skipped */
            if (f || !vs__entry_vanished(s, s->idx, e)) vs__skips_add(&s->skipped, e, why, s);
            s->T[i] = -1;
            vs_features_free(f);
            return NULL;
        }
        vs_features_free(f);
        s->xs[i] = x;
    }
    *T = s->T[i];
    return s->xs[i];
}

/* Stage 2 of one query: the candidates s->cand [nc] (the query itself already left
 * out) re-scored into s->sims, ranked, and the listed ones localised into *out.
 * Returns VS_OK, or a failure already noted. */
static vs_status rerank(vs_searcher *s, const char *q, vs_features *qf, long nc, vs_search_result **out) {
    double t1 = vs__now();
    long nt = 0;
    for (long k = 0; k < nc; k++) {
        int T;
        const float *x = stage2_features(s, s->cand[k], &T);
        if (!x) continue;
        s->cand[nt] = s->cand[k];
        s->targets[nt++] = (vs_simvideo){x, T, NULL};
    }
    nc = nt;
    if (nc > 0 && (qf->R != s->R || qf->D != s->D)) {
        vs__search_note(s, "%s: features of R=%d D=%d, the index has R=%d D=%d", q, qf->R, qf->D, s->R, s->D);
        return VS_ERR_INVALID_ARG;
    }
    /* The similarity network splits each pair over all threads when it gets fewer
     * targets than threads, which rounds differently. The exhaustive search scores
     * all N at once, so score the candidates the same way as it: one thread per
     * pair (a one-thread state) unless the exhaustive search would split too. */
    vs_simmodel_state *fst = nc < s->p.n_threads && s->n >= s->p.n_threads ? s->st1 : s->st;
    /* segments with visil_f, symmetric: as the exhaustive search, one pass */
    const int fused = s->p.segments && s->p.symmetric && !strcmp(s->model, "visil_f");
    float *qx = NULL;
    if (nc > 0 && !(qx = vs__index_features(s->st, qf))) {
        vs__search_note(s, "%s: %s", q, vs_last_error());
        return VS_ERR_INTERNAL;
    }
    /* the candidates' frame levels (computed on first use, then kept) */
    if (nc > 0 && vs__bg_frames(s, s->st, s->R, s->D, stage2_features, s->cand, nc, s->targets, NULL) != VS_OK) {
        vs__search_note(s, "%s", vs_last_error());
        vs__free(qx);
        return VS_ERR_INTERNAL;
    }
    vs_loc_video qv = {qx, qf->T, qf->times, qf->fps, qf->duration, NULL};
    if (fused && nc > 0) {
        for (long k = 0; k < nc; k++)
            s->lv[k] = (vs_loc_video){s->targets[k].x, s->targets[k].T, s->times[s->cand[k]], s->fps[s->cand[k]],
                                      s->dur[s->cand[k]], s->targets[k].lev};
        if (vs_localize_search(s->st, s->m, &qv, s->lv, (int)nc, s->R, s->D, &s->p.localize, s->sims, s->segs,
                               s->nsegs) != VS_OK) {
            vs__search_note(s, "%s: %s", s->qname, vs_last_error());
            vs__free(qx);
            return VS_ERR_INTERNAL;
        }
    } else if (nc > 0 && vs_simmodel_similarity(fst, s->sims, qx, qf->T, s->targets, (int)nc, s->R, s->D) != VS_OK) {
        vs__search_note(s, "%s: %s", q, vs_last_error());
        vs__free(qx);
        return VS_ERR_INTERNAL;
    }
    int n_failed = 0;
    if (s->p.symmetric && nc > 0 && !fused) {
        if (vs_simmodel_similarity_to(s->st, s->rsims, s->targets, (int)nc, qx, qf->T, s->R, s->D) == VS_OK) {
            for (long k = 0; k < nc; k++) s->sims[k] = 0.5f * (s->sims[k] + s->rsims[k]);
        } else
            for (long k = 0; k < nc; k++) { /* one by one, noting the pairs that fail */
                float r;
                if (vs_simmodel_similarity_to(s->st, &r, &s->targets[k], 1, qx, qf->T, s->R, s->D) != VS_OK) {
                    vs__search_note(s, "%s: %s", q, vs_last_error());
                    n_failed++;
                    r = s->sims[k];
                }
                s->sims[k] = 0.5f * (s->sims[k] + r);
            }
    }
    if (vs__bg_apply(s, s->st, s->R, s->D, stage2_features, s->sims, s->cand, nc, -1, fused ? s->segs : NULL,
                     s->nsegs) != VS_OK) {
        vs__search_note(s, "%s: %s", q, vs_last_error());
        if (fused)
            for (long k = 0; k < nc; k++) {
                vs__free(s->segs[k]);
                s->segs[k] = NULL;
            }
        vs__free(qx);
        return VS_ERR_INTERNAL;
    }
    s->timing.rerank_s += vs__now() - t1;
    /* only the re-ranked candidates that are listed get localised */
    long nk = vs__rank(s, s->hits, s->sims, s->cand, nc, s->es, -1);
    double t2 = vs__now();
    vs_search_result *r = NULL;
    vs_status st = vs__result_new(s, s->es, s->hits, nk, &r);
    if (!st) vs__bg_explain(s, r, s->hits);
    for (long k = 0; !st && s->p.segments && k < nk; k++) {
        vs_search_hit *h = &r->hits[k];
        long row = s->hits[k].row;
        vs_loc_video rv = {s->xs[row], s->T[row], s->times[row], s->fps[row], s->dur[row], NULL};
        h->query_duration = vs__whole_duration(&qv);
        h->ref_duration = vs__whole_duration(&rv);
        if (fused) {
            h->segments = s->segs[s->hits[k].k];
            h->n_segments = s->nsegs[s->hits[k].k];
            s->segs[s->hits[k].k] = NULL;
        } else if (vs_localize_videos(&h->segments, &h->n_segments, s->st, &qv, &rv, s->R, s->D, s->p.symmetric,
                                      h->score, &s->p.localize) != VS_OK) {
            vs__search_note(s, "%s vs %s: %s", s->qname, h->name, vs_last_error());
            h->n_segments = -1;
            n_failed++;
        }
    }
    if (fused)
        for (long k = 0; k < nc; k++) {
            vs__free(s->segs[k]);
            s->segs[k] = NULL;
        }
    s->timing.localize_s += vs__now() - t2;
    vs__free(qx);
    if (r) r->n_failed = n_failed;
    *out = r;
    return st;
}

typedef struct gv_hit {
    float s;
    long v;            /* position in row[] */
} gv_hit;
/* best score first, ties by row position (catalogue order) */
static int cmp_gv_hit(const void *pa, const void *pb) {
    const gv_hit *a = pa, *b = pb;
    if (a->s != b->s) return a->s > b->s ? -1 : 1;
    return (a->v > b->v) - (a->v < b->v);
}

/* Stage 1 by segment vectors: each of the query's P parts (vs_ann_segment_vectors) asks
 * the index for its k' = want x S nearest vectors, and a video's score is the best
 * (query part, reference part) inner product among them. With an exact index this is
 * the exact top of that score: a video among the `want` best by one query part has
 * fewer than want better videos, so at most (want - 1) S vectors rank before its best
 * one. The K best videos (leaving out self) go into s->cand, their scores into s->sims,
 * *nc of them, best first, ties in catalogue order. */
static vs_status gvec_stage(vs_searcher *s, const vs_features *qf, int64_t self, long *nc) {
    int D = s->info.D, S = s->gv_S;
    *nc = 0;
    if (qf->D != D)
        return vs__err(VS_ERR_INVALID_ARG, "features of D=%d, the index has D=%d", qf->D, D);
    if (s->n == 0 || s->n_gv == 0) return VS_OK;
    long want = s->K + (self >= 0 && s->K < s->n);
    long kk = want * S < s->n_gv ? want * S : s->n_gv;
    float *qv = vs__malloc(sizeof(float) * (size_t)S * D);
    float *sc = vs__malloc(sizeof(float) * (size_t)kk * S);
    int64_t *ids = vs__malloc(sizeof(int64_t) * (size_t)kk * S);
    gv_hit *hits = NULL;
    vs_status st = VS_OK;
    long nt = 0;
    if (!qv || !sc || !ids) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    int P = vs_ann_segment_vectors(qv, qf->data, qf->T, qf->R, D, S);
    if (s->whiten && (st = vs_gvec_whiten_apply(s->whiten, qv, P))) goto out;
    /* the flat index: all parts in one pass over the vectors; FAISS: one part at a time,
     * since a batch would run its OpenMP threads (the library starts no hidden threads) */
    if (!strcmp(vs_ann_spec(s->ann), "flat")) {
        if ((st = vs_ann_search(s->ann, qv, P, kk, sc, ids)) != VS_OK) goto out;
    } else
        for (int j = 0; j < P; j++)
            if ((st = vs_ann_search(s->ann, qv + (size_t)j * D, 1, kk, sc + (size_t)j * kk, ids + (size_t)j * kk)))
                goto out;
    for (long k = 0; k < (long)P * kk; k++) {
        if (ids[k] < 0 || ids[k] >= s->n_gv) continue;
        long v = s->gv_vid[ids[k]];
        if (s->gv_best[v] == -INFINITY) { /* first seen: never -inf again, so listed once */
            s->gv_touch[nt++] = v;
            s->gv_best[v] = -FLT_MAX;
        }
        if (sc[k] > s->gv_best[v]) s->gv_best[v] = sc[k]; /* a NaN score stays -FLT_MAX: last */
    }
    if (nt > 0 && !(hits = vs__malloc(sizeof *hits * (size_t)nt))) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (long k = 0; k < nt; k++) hits[k] = (gv_hit){s->gv_best[s->gv_touch[k]], s->gv_touch[k]};
    if (nt > 1) qsort(hits, (size_t)nt, sizeof *hits, cmp_gv_hit);
    for (long k = 0; k < nt && *nc < s->K; k++) {
        long row = (long)s->row[hits[k].v];
        if (s->es->v[row].id == self) continue;
        s->cand[*nc] = row;
        s->sims[(*nc)++] = hits[k].s;
    }
out:
    for (long k = 0; k < nt; k++) s->gv_best[s->gv_touch[k]] = -INFINITY;
    vs__free(hits);
    vs__free(qv);
    vs__free(sc);
    vs__free(ids);
    return st;
}

vs_status vs__two_stage_query(vs_searcher *s, const char *q, vs_search_result **out) {
    vs_features *qf = NULL;
    int64_t self = -1;
    vs_status st = vs__load_query(s, q, &qf, &self);
    if (st) return st;
    /* stage 1: the query's code (or global vector), the K nearest codes (one more if the
     * query is indexed) */
    double t0 = vs__now();
    long nh = 0, nc = 0, N = s->n, K = s->K;
    if (s->gvec) {
        if ((st = gvec_stage(s, qf, self, &nc)) != VS_OK) {
            vs__search_note(s, "%s: %s", q, vs_last_error());
            vs_features_free(qf);
            return st;
        }
    } else {
        uint64_t qcode[VS_HAMMING_MAX_BITS / 64];
        if ((st = vs_hasher_encode(s->h, qcode, qf)) != VS_OK ||
            (N > 0 && (st = vs_hamming_search(s->hst, s->hh, &nh, qcode, K + (self >= 0 && K < N))) != VS_OK)) {
            vs__search_note(s, "%s: %s", q, vs_last_error());
            vs_features_free(qf);
            return st;
        }
        int bits = vs_hasher_bits(s->h);
        for (long k = 0; k < nh && nc < K; k++)
            if (s->es->v[s->hh[k].id].id != self) {
                s->cand[nc] = (long)s->hh[k].id;
                s->sims[nc++] = 1.0f - (float)s->hh[k].dist / (float)bits;
            }
    }
    s->timing.hash_s += vs__now() - t0;
    if (s->p.mode == VS_SEARCH_HASH_ONLY) {
        vs_features_free(qf);
        s->timing.n_queries++;
        long nk = vs__rank(s, s->hits, s->sims, s->cand, nc, s->es, -1);
        return vs__result_new(s, s->es, s->hits, nk, out);
    }
    st = rerank(s, q, qf, nc, out);
    vs_features_free(qf);
    if (!st) s->timing.n_queries++;
    return st;
}
