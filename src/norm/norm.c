/*
 * norm.c - score normalisation against a background (norm.h): the background level
 * of a score list, the member set, one video's level against the members, and the
 * stored reference-side values (index extras of kind "bg": computed by vs_norm_build,
 * read by vs_norm_load), and the frame levels (kind "fbg": vs_norm_frame_levels, stored by
 * vs_norm_build with the values, read by vs_norm_load_frames).
 */
#include "vidsim/norm.h"

#include "vidsim/features.h"

#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NORM_MAX_KEEP 256
#define NORM_KIND "bg"
#define FRAMES_KIND "fbg"
#define NORM_BATCH 64

vs_norm_params vs_norm_default_params(void) {
    vs_norm_params p;
    p.skip = 1;
    p.n = 10;
    p.copy_above = 0.8f;
    p.max_members = 512;
    p.temporal = VS_TEMPORAL_DEFAULT;
    p.frames = 1;
    return p;
}

int vs_norm_operating_point(const char *name, double *threshold) {
    static const struct { const char *name; double value; } points[] = {
        {"p90", -0.040}, {"p95", -0.015}, {"p99", 0.030}};
    for (size_t k = 0; name && k < sizeof points / sizeof points[0]; k++)
        if (!strcmp(name, points[k].name)) {
            *threshold = points[k].value;
            return 1;
        }
    return 0;
}

vs_status vs_norm_check_params(const vs_norm_params *p) {
    if (!p) return vs__err(VS_ERR_INVALID_ARG, "normalisation params: NULL");
    if (p->skip < 0 || p->n < 1 || p->skip + p->n > NORM_MAX_KEEP)
        return vs__err(VS_ERR_INVALID_ARG, "normalisation params: need skip >= 0, n >= 1, skip + n <= %d (got %d, %d)",
                       NORM_MAX_KEEP, p->skip, p->n);
    if (!(p->copy_above > -1.0f))
        return vs__err(VS_ERR_INVALID_ARG, "normalisation params: copy_above must be > -1 (got %g)", (double)p->copy_above);
    if (p->max_members < 2)
        return vs__err(VS_ERR_INVALID_ARG, "normalisation params: max_members must be >= 2 (got %ld)", p->max_members);
    if (!(p->temporal >= 0.0f && p->temporal <= 1.0f))
        return vs__err(VS_ERR_INVALID_ARG, "normalisation params: temporal must be in [0, 1] (got %g)",
                       (double)p->temporal);
    return VS_OK;
}

float vs_norm_stat(const float *scores, long n, const vs_norm_params *p) {
    /* the best skip + n scores, kept sorted descending by insertion */
    float top[NORM_MAX_KEEP];
    int keep = p->skip + p->n, m = 0;
    if (keep > NORM_MAX_KEEP) keep = NORM_MAX_KEEP;
    for (long i = 0; i < n; i++) {
        float s = scores[i];
        if (isnan(s) || s >= p->copy_above) continue;
        if (m == keep && s <= top[m - 1]) continue;
        int j = m < keep ? m++ : m - 1;
        while (j > 0 && top[j - 1] < s) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = s;
    }
    if (m <= p->skip) return 0.0f;
    double sum = 0.0;
    for (int i = p->skip; i < m; i++) sum += top[i];
    return (float)(sum / (m - p->skip));
}

static void set_prefix(char *out, size_t n, const char *model_tag, int sym, const vs_norm_params *p) {
    /* ViSiL_f's temporal weight when not 0 (the ids of levels stored before it existed) */
    char t[24] = "";
    if (!strcmp(model_tag, "visil_f") && p->temporal != 0.0f) snprintf(t, sizeof t, "t%.3g", (double)p->temporal);
    snprintf(out, n, "%s|%s|s%dn%dc%.3g%s|upto", model_tag, sym ? "sym" : "q2r", p->skip, p->n,
             (double)p->copy_above, t);
}

void vs_norm_extra_model(char *out, size_t n, const char *model_tag, int sym, const vs_norm_params *p,
                         int64_t upto, uint64_t member_sig) {
    char pre[160];
    set_prefix(pre, sizeof pre, model_tag, sym, p);
    snprintf(out, n, "%s%lld|m%016llx", pre, (long long)upto, (unsigned long long)member_sig);
}

vs_status vs_norm_model_tag(char *out, size_t n, const char *model) {
    if (!strcmp(model, "visil_f")) {
        snprintf(out, n, "visil_f");
        return VS_OK;
    }
    uint64_t h = 0, size = 0;
    int64_t mt = 0;
    vs_status s = vs_file_fingerprint(model, &h, &size, &mt);
    if (s) return s;
    const char *b = strrchr(model, '/');
    b = b ? b + 1 : model;
    snprintf(out, n, "file:%.80s:%016llx", b, (unsigned long long)h);
    return VS_OK;
}

uint64_t vs_norm_members_sig(const int64_t *ids, long n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the member ids */
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)ids[i];
        for (int b = 0; b < 8; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 1099511628211ull;
        }
    }
    return h;
}

vs_status vs_norm_value(vs_simmodel_state *st, float *out, const vs_simvideo *v, long self,
                        const vs_simvideo *members, long n_members, int R, int D, int sym,
                        const vs_norm_params *p, float *scratch) {
    if (n_members <= 0) {
        *out = 0.0f;
        return VS_OK;
    }
    vs_status s = vs_simmodel_similarity(st, scratch, v->x, v->T, members, (int)n_members, R, D);
    if (s) return s;
    if (sym) {
        /* the members (but v itself) as queries of v, whole pairs over the threads: the
         * floats of one thread, so a level does not depend on -j */
        vs_simvideo *qs = vs__malloc((size_t)n_members * (sizeof *qs + sizeof(float)));
        if (!qs) return vs__err(VS_ERR_NOMEM, "background: out of memory");
        float *rev = (float *)(qs + n_members);
        long nq = 0;
        for (long k = 0; k < n_members; k++)
            if (k != self) qs[nq++] = members[k];
        s = vs_simmodel_similarity_to(st, rev, qs, (int)nq, v->x, v->T, R, D);
        for (long k = 0, i = 0; s == VS_OK && k < n_members; k++)
            if (k != self) scratch[k] = 0.5f * (scratch[k] + rev[i++]);
        vs__free(qs);
        if (s) return s;
    }
    if (self >= 0 && self < n_members) scratch[self] = NAN; /* a video is not its own background */
    *out = vs_norm_stat(scratch, n_members, p);
    return VS_OK;
}

vs_status vs_norm_frame_levels(vs_simmodel_state *st, float *out, const vs_simvideo *v, long self,
                               const vs_simvideo *members, long n_members, int R, int D, const vs_norm_params *p) {
    const int T = v->T;
    const size_t nm1 = (size_t)(n_members > 0 ? n_members : 1);
    float *rm = vs__malloc(sizeof(float) * (size_t)T * nm1); /* [n_members, T], vs_simmodel_f2f_rowmax */
    float *mx = vs__malloc(sizeof(float) * (size_t)T * nm1);
    if (!rm || !mx) {
        vs__free(rm);
        vs__free(mx);
        return vs__err(VS_ERR_NOMEM, "frame levels: out of memory for %d frames x %ld members", T, n_members);
    }
    /* mx [T, n_members]: frame j's best match in member k (NaN: v itself), the members' pairs
     * over the state's threads */
    vs_status s = n_members > 0 ? vs_simmodel_f2f_rowmax(st, rm, v->x, T, members, (int)n_members, R, D) : VS_OK;
    for (long k = 0; k < n_members && !s; k++)
        for (int j = 0; j < T; j++) mx[(long)j * n_members + k] = k == self ? NAN : rm[(size_t)k * T + j];
    /* a member that is a copy of v (its Chamfer score v -> member, the mean of v's row
     * maxima, at or above copy_above) is left out of every frame's level, as a copy is left
     * out of the video level; the frames' own values are not cut (with features on which
     * unrelated videos score above the cut, a per-frame cut would measure some frames
     * against everything and others against nothing) */
    long used = 0;
    for (long k = 0; k < n_members && !s; k++) {
        if (k == self) continue;
        double c = 0.0;
        for (int j = 0; j < T; j++) c += mx[(long)j * n_members + k];
        if (c / T >= p->copy_above)
            for (int j = 0; j < T; j++) mx[(long)j * n_members + k] = NAN;
        else
            used++;
    }
    /* a level is the mean of p->n members' values; fewer (a small index, or features on
     * which most videos pass the copy cut) measure too little to take per frame: 0 */
    vs_norm_params pf = *p;
    pf.skip = 0;               /* every other member counts */
    pf.copy_above = INFINITY;  /* copies are out already */
    for (int j = 0; j < T && !s; j++) out[j] = used >= p->n ? vs_norm_stat(mx + (long)j * n_members, n_members, &pf) : 0.0f;
    vs__free(rm);
    vs__free(mx);
    return s;
}

void vs_norm_frames_model(char *out, size_t n, const vs_norm_table *t) {
    snprintf(out, n, "%s|frames", t->model_id);
}

void vs_norm_frames_free(vs_norm_frames *f) {
    if (!f) return;
    for (long k = 0; f->lev && k < f->n; k++) vs__free(f->lev[k]);
    vs__free(f->lev);
    vs__free(f->T);
    memset(f, 0, sizeof *f);
}

void vs_norm_table_free(vs_norm_table *t) {
    if (!t) return;
    vs__free(t->ids);
    vs__free(t->values);
    vs__free(t->have);
    vs__free(t->members);
    memset(t, 0, sizeof *t);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static long find_id(const int64_t *ids, long n, int64_t id) {
    const int64_t *p = bsearch(&id, ids, (size_t)n, sizeof *ids, cmp_i64);
    return p ? (long)(p - ids) : -1;
}

/* members of a set with cutoff upto among ids [n]: the ids <= upto (a prefix, ids ascending) */
static long members_upto(const int64_t *ids, long n, int64_t upto) {
    long k = 0;
    while (k < n && ids[k] <= upto) k++;
    return k;
}

/* Set t's member set to the first max_members of its ids (a new set). */
static void new_set(vs_norm_table *t, const char *tag, int sym, const vs_norm_params *p) {
    long nm = t->n < p->max_members ? t->n : p->max_members;
    t->stored = 0;
    t->upto = nm > 0 ? t->ids[nm - 1] : 0;
    t->n_members = nm;
    for (long k = 0; k < nm; k++) t->members[k] = k;
    vs_norm_extra_model(t->model_id, sizeof t->model_id, tag, sym, p, t->upto, vs_norm_members_sig(t->ids, nm));
    for (long k = 0; k < t->n; k++) t->have[k] = 0;
    t->n_missing = t->n;
}

vs_status vs_norm_load(vs_index *idx, const char *model_tag, int sym, const vs_norm_params *p,
                       const int64_t *ids, long n, vs_norm_table *out) {
    memset(out, 0, sizeof *out);
    vs_status s = vs_norm_check_params(p);
    if (s) return s;
    out->n = n;
    size_t nn = (size_t)(n ? n : 1);
    out->ids = vs__malloc(nn * sizeof *out->ids);
    out->values = vs__calloc(nn, sizeof *out->values);
    out->have = vs__calloc(nn, 1);
    out->members = vs__malloc(nn * sizeof *out->members);
    if (!out->ids || !out->values || !out->have || !out->members) {
        vs_norm_table_free(out);
        return vs__err(VS_ERR_NOMEM, "background values: out of memory");
    }
    if (n) memcpy(out->ids, ids, (size_t)n * sizeof *ids);
    new_set(out, model_tag, sym, p);

    /* a stored set of this model, direction and params whose members are all still here */
    char pre[160];
    set_prefix(pre, sizeof pre, model_tag, sym, p);
    vs_index_extra_kinds *kinds = NULL;
    if ((s = vs_index_list_extra_kinds(idx, &kinds))) {
        vs_norm_table_free(out);
        return s;
    }
    long best_n = -1;
    char best[192] = "";
    int64_t best_upto = 0;
    for (long i = 0; i < kinds->n; i++) {
        const vs_index_extra_kind *k = &kinds->v[i];
        if (strcmp(k->kind, NORM_KIND) || strncmp(k->model_id, pre, strlen(pre))) continue;
        long long upto;
        unsigned long long sig;
        int used = 0;
        if (sscanf(k->model_id + strlen(pre), "%lld|m%16llx%n", &upto, &sig, &used) != 2 ||
            k->model_id[strlen(pre) + (size_t)used] != 0)
            continue;
        long nm = members_upto(ids, n, (int64_t)upto);
        if (nm < 1 || vs_norm_members_sig(ids, nm) != (uint64_t)sig) continue; /* a member is gone */
        if (k->n > best_n) {
            best_n = k->n;
            best_upto = (int64_t)upto;
            snprintf(best, sizeof best, "%s", k->model_id);
        }
    }
    vs_index_extra_kinds_free(kinds);
    if (best_n < 0) return VS_OK; /* none stored: every value missing, a new member set */

    out->stored = 1;
    out->upto = best_upto;
    out->n_members = members_upto(ids, n, best_upto);
    for (long k = 0; k < out->n_members; k++) out->members[k] = k;
    snprintf(out->model_id, sizeof out->model_id, "%s", best);
    vs_index_extras *x = NULL;
    if ((s = vs_index_load_extras(idx, NORM_KIND, out->model_id, &x))) {
        vs_norm_table_free(out);
        return s;
    }
    if (x->n_bad > 0) {
        s = vs__err(VS_ERR_FORMAT,
                    "%s: the stored background value of video id %lld is damaged (run 'vidsim index verify "
                    "--repair', then 'vidsim index background')",
                    vs_index_dir(idx), (long long)x->bad_ids[0]);
        vs_index_extras_free(x);
        vs_norm_table_free(out);
        return s;
    }
    for (long i = 0; i < x->n; i++) {
        long k = find_id(ids, n, x->video_ids[i]);
        const vs_index_extra *e = &x->v[i];
        if (k < 0) continue;
        if (e->dtype != VS_INDEX_F32 || e->n_rows * e->n_cols != 1 || !isfinite(((const float *)e->data)[0])) {
            s = vs__err(VS_ERR_FORMAT, "%s: the stored background value of video id %lld is malformed",
                        vs_index_dir(idx), (long long)x->video_ids[i]);
            vs_index_extras_free(x);
            vs_norm_table_free(out);
            return s;
        }
        out->values[k] = ((const float *)e->data)[0];
        out->have[k] = 1;
    }
    vs_index_extras_free(x);
    out->n_missing = 0;
    for (long k = 0; k < n; k++) out->n_missing += !out->have[k];
    return VS_OK;
}

vs_status vs_norm_load_frames(vs_index *idx, const vs_norm_table *t, vs_norm_frames *out) {
    memset(out, 0, sizeof *out);
    size_t nn = (size_t)(t->n ? t->n : 1);
    out->n = t->n;
    out->lev = vs__calloc(nn, sizeof *out->lev);
    out->T = vs__calloc(nn, sizeof *out->T);
    if (!out->lev || !out->T) {
        vs_norm_frames_free(out);
        return vs__err(VS_ERR_NOMEM, "frame levels: out of memory");
    }
    vs_norm_frames_model(out->model_id, sizeof out->model_id, t);
    out->n_missing = t->n;
    if (t->n_members < 1) return VS_OK;
    vs_index_extras *x = NULL;
    vs_status s = vs_index_load_extras(idx, FRAMES_KIND, out->model_id, &x);
    if (s) {
        vs_norm_frames_free(out);
        return s;
    }
    if (x->n_bad > 0)
        s = vs__err(VS_ERR_FORMAT,
                    "%s: the stored frame levels of video id %lld are damaged (run 'vidsim index verify "
                    "--repair', then 'vidsim index background')",
                    vs_index_dir(idx), (long long)x->bad_ids[0]);
    for (long i = 0; i < x->n && !s; i++) {
        long k = find_id(t->ids, t->n, x->video_ids[i]);
        const vs_index_extra *e = &x->v[i];
        if (k < 0 || out->lev[k]) continue;
        int ok = e->dtype == VS_INDEX_F32 && e->n_cols == 1 && e->n_rows >= 1 && e->n_rows <= (1 << 24);
        for (int64_t j = 0; ok && j < e->n_rows; j++) ok = isfinite(((const float *)e->data)[j]);
        if (!ok) {
            s = vs__err(VS_ERR_FORMAT, "%s: the stored frame levels of video id %lld are malformed",
                        vs_index_dir(idx), (long long)x->video_ids[i]);
            break;
        }
        if (!(out->lev[k] = vs__malloc(sizeof(float) * (size_t)e->n_rows))) {
            s = vs__err(VS_ERR_NOMEM, "frame levels: out of memory");
            break;
        }
        memcpy(out->lev[k], e->data, sizeof(float) * (size_t)e->n_rows);
        out->T[k] = (int)e->n_rows;
        out->n_missing--;
    }
    vs_index_extras_free(x);
    if (s) vs_norm_frames_free(out);
    return s;
}

/* ------------------------------------------------------------------ build */

typedef struct {
    vs_features *f;
    float *x; /* indexed */
} loaded;

static void loaded_free(loaded *l) {
    vs_features_free(l->f);
    vs__free(l->x);
    l->f = NULL;
    l->x = NULL;
}

static vs_status load_one(vs_index *idx, vs_simmodel_state *st, const vs_index_entry *e, loaded *l, int *R,
                          int *D) {
    vs_status s = vs_index_load_features(idx, e, &l->f);
    if (s) return s;
    const vs_features *f = l->f;
    if (*R == 0) {
        *R = f->R;
        *D = f->D;
    } else if (f->R != *R || f->D != *D) {
        s = vs__err(VS_ERR_FORMAT, "%s has R=%d D=%d, others R=%d D=%d", e->path, f->R, f->D, *R, *D);
        loaded_free(l);
        return s;
    }
    size_t nx = (size_t)f->T * f->R * f->D;
    if (!(l->x = vs__malloc((nx ? nx : 1) * sizeof(float)))) {
        loaded_free(l);
        return vs__err(VS_ERR_NOMEM, "background: out of memory");
    }
    if ((s = vs_simmodel_index(st, l->x, NULL, f->data, f->T, f->R, f->D))) {
        s = vs__err_prefix(s, "%s: ", e->path);
        loaded_free(l);
    }
    return s;
}

static vs_status store_batch(vs_index *idx, const char *model_id, long n, const int64_t *ids, const float *vals) {
    vs_index_extra xs[NORM_BATCH];
    for (long i = 0; i < n; i++) xs[i] = (vs_index_extra){VS_INDEX_F32, 1, 1, &vals[i]};
    return vs_index_put_extras(idx, n, ids, NORM_KIND, model_id, xs);
}

/* frame levels of n videos, one transaction; frees the arrays */
static vs_status store_frames(vs_index *idx, const char *model_id, long n, const int64_t *ids, float **lev,
                              const int *T) {
    vs_index_extra xs[NORM_BATCH] = {{VS_INDEX_F32, 0, 0, NULL}};
    for (long i = 0; i < n; i++) xs[i] = (vs_index_extra){VS_INDEX_F32, T[i], 1, lev[i]};
    vs_status s = vs_index_put_extras(idx, n, ids, FRAMES_KIND, model_id, xs);
    for (long i = 0; i < n; i++) {
        vs__free(lev[i]);
        lev[i] = NULL;
    }
    return s;
}

/* delete values of kind of other member sets of this model, direction and params */
static vs_status delete_stale(vs_index *idx, const char *kind, const char *model_id, long *n_deleted) {
    vs_index_extra_kinds *k = NULL;
    vs_status s = vs_index_list_extra_kinds(idx, &k);
    if (s) return s;
    const char *m = strstr(model_id, "|upto");
    size_t pre = m ? (size_t)(m - model_id) + 5 : strlen(model_id);
    for (long i = 0; i < k->n && !s; i++) {
        if (strcmp(k->v[i].kind, kind) || strncmp(k->v[i].model_id, model_id, pre) ||
            !strcmp(k->v[i].model_id, model_id))
            continue;
        long d = 0;
        s = vs_index_delete_extras(idx, kind, k->v[i].model_id, &d);
        *n_deleted += d;
    }
    vs_index_extra_kinds_free(k);
    return s;
}

vs_status vs_norm_build(vs_index *idx, const char *model, int sym, const vs_norm_params *p, int threads,
                        int force, vs_norm_progress_fn progress, void *user, vs_norm_build_report *rep) {
    vs_norm_build_report r;
    memset(&r, 0, sizeof r);
    if (rep) *rep = r;
    vs_status s = vs_norm_check_params(p);
    if (s) return s;
    char tag[128];
    if ((s = vs_norm_model_tag(tag, sizeof tag, model))) return s;

    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    vs_index_entries *es = NULL;
    loaded *mem = NULL;
    vs_simvideo *mv = NULL;
    int64_t *ids = NULL, *bids = NULL, *fids = NULL;
    float *scratch = NULL, *bvals = NULL, *flev[NORM_BATCH] = {0};
    int fT[NORM_BATCH];
    long *rows = NULL, nm = 0, nf = 0;
    vs_norm_table t;
    vs_norm_frames fr;
    memset(&t, 0, sizeof t);
    memset(&fr, 0, sizeof fr);
    int R = 0, D = 0;

    s = !strcmp(model, "visil_f") ? vs_simmodel_builtin(&m, model) : vs_simmodel_load(&m, model);
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.n_threads = threads > 0 ? threads : 1;
    sp.precision = vs_simmodel_default_precision(); /* as search: stored levels equal computed ones */
    sp.temporal = p->temporal;
    if (!s) s = vs_simmodel_state_create(&st, m, &sp);
    if (!s) s = vs_index_list(idx, NULL, &es);
    if (s) goto done;

    /* the ok rows, in id order (vs_index_list orders by id) */
    ids = vs__malloc((size_t)(es->n + 1) * sizeof *ids);
    rows = vs__malloc((size_t)(es->n + 1) * sizeof *rows);
    if (!ids || !rows) {
        s = vs__err(VS_ERR_NOMEM, "background: out of memory");
        goto done;
    }
    long n = 0;
    for (long i = 0; i < es->n; i++)
        if (es->v[i].ok) {
            ids[n] = es->v[i].id;
            rows[n++] = i;
        }
    r.n_videos = n;
    if ((s = vs_norm_load(idx, tag, sym, p, ids, n, &t))) goto done;
    if (force && t.stored) new_set(&t, tag, sym, p);
    nm = t.n_members;
    r.n_members = nm;
    if ((s = delete_stale(idx, NORM_KIND, t.model_id, &r.n_deleted))) goto done;
    /* the frame levels of the same member set (ViSiL_f only: what vs_simvideo.lev is for) */
    const int frames = p->frames && !strcmp(vs_simmodel_kind(m), "visil_f");
    if (frames) {
        if ((s = vs_norm_load_frames(idx, &t, &fr))) goto done;
        if (force)
            for (long i = 0; i < n; i++) {
                vs__free(fr.lev[i]);
                fr.lev[i] = NULL;
            }
        if ((s = delete_stale(idx, FRAMES_KIND, fr.model_id, &r.n_deleted))) goto done;
    }
#define NEED_FRAMES(i) (frames && !fr.lev[i])

    long total = 0, done_n = 0, nb = 0;
    for (long i = 0; i < n; i++) total += !t.have[i] || NEED_FRAMES(i);
    for (long i = 0; i < n; i++) r.n_kept += t.have[i];
    if (total == 0) goto done;

    mem = vs__calloc((size_t)(nm + 1), sizeof *mem);
    mv = vs__calloc((size_t)(nm + 1), sizeof *mv);
    scratch = vs__malloc((size_t)(nm + 1) * sizeof *scratch);
    bids = vs__malloc(NORM_BATCH * sizeof *bids);
    fids = vs__malloc(NORM_BATCH * sizeof *fids);
    bvals = vs__malloc(NORM_BATCH * sizeof *bvals);
    if (!mem || !mv || !scratch || !bids || !fids || !bvals) {
        s = vs__err(VS_ERR_NOMEM, "background: out of memory");
        goto done;
    }
    for (long k = 0; k < nm; k++) {
        if ((s = load_one(idx, st, &es->v[rows[k]], &mem[k], &R, &D))) goto done;
        mv[k] = (vs_simvideo){mem[k].x, mem[k].f->T, NULL};
    }
    for (long i = 0; i < n && !s; i++) {
        if (t.have[i] && !NEED_FRAMES(i)) continue;
        loaded tmp = {0};
        const vs_simvideo *v;
        vs_simvideo vv;
        if (i < nm) {
            v = &mv[i];
        } else {
            if (load_one(idx, st, &es->v[rows[i]], &tmp, &R, &D)) {
                r.n_skipped++; /* a damaged non-member: left without a value (verify reports it) */
                continue;
            }
            vv = (vs_simvideo){tmp.x, tmp.f->T, NULL};
            v = &vv;
        }
        /* what this video lacks, computed while its features are loaded */
        const int T = v->T;
        const long self = i < nm ? i : -1;
        float val = 0.0f, *lev = NULL;
        if (NEED_FRAMES(i) && !(lev = vs__malloc(sizeof(float) * (size_t)(T > 0 ? T : 1))))
            s = vs__err(VS_ERR_NOMEM, "frame levels: out of memory");
        if (!s && lev) s = vs_norm_frame_levels(st, lev, v, self, mv, nm, R, D, p);
        if (!s && !t.have[i]) s = vs_norm_value(st, &val, v, self, mv, nm, R, D, sym, p, scratch);
        loaded_free(&tmp);
        if (s) {
            vs__free(lev);
            break;
        }
        /* queued, each kind stored in batches */
        if (lev) {
            flev[nf] = lev;
            fT[nf] = T;
            fids[nf++] = ids[i];
            if (nf == NORM_BATCH) {
                if ((s = store_frames(idx, fr.model_id, nf, fids, flev, fT))) break;
                r.n_frames += nf;
                nf = 0;
            }
        }
        if (!t.have[i]) {
            bids[nb] = ids[i];
            bvals[nb++] = val;
            if (nb == NORM_BATCH) {
                if ((s = store_batch(idx, t.model_id, nb, bids, bvals))) break;
                r.n_computed += nb;
                nb = 0;
            }
        }
        done_n++;
        if (progress && progress(user, done_n, total)) {
            r.stopped = 1;
            break;
        }
    }
    if (!s && nb) {
        if (!(s = store_batch(idx, t.model_id, nb, bids, bvals))) r.n_computed += nb;
    }
    if (!s && nf) {
        if (!(s = store_frames(idx, fr.model_id, nf, fids, flev, fT))) r.n_frames += nf;
        nf = 0;
    }
#undef NEED_FRAMES
done:
    if (rep) *rep = r;
    for (long i = 0; i < nf; i++) vs__free(flev[i]);
    vs_norm_frames_free(&fr);
    vs_norm_table_free(&t);
    if (mem)
        for (long k = 0; k < nm; k++) loaded_free(&mem[k]);
    vs__free(mem);
    vs__free(mv);
    vs__free(scratch);
    vs__free(bids);
    vs__free(fids);
    vs__free(bvals);
    vs__free(ids);
    vs__free(rows);
    vs_index_entries_free(es);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    return s;
}
