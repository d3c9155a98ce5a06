/*
 * common.c - what the search backends (exhaustive.c, two_stage.c, clip.c,
 * background.c) share, below the dispatch in searcher.c: notes to the caller, the list
 * of skipped (damaged) entries, entries that vanished under a concurrent writer, the
 * similarity model and its indexing step, query resolution (indexed video, .vsf, or a
 * video extracted with the index's model; the mirror view: a video extracted mirrored, a
 * .vsf's stored mirror block; the inset view: a video's rectangle extracted, a .vsf's
 * stored inset block), ranking and result objects. Prints nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "search/search_internal.h"
#include "core/internal.h"
#include "features/featfile.h"
#include "features/modelid.h"
#include "vidsim/inset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vs__search_note(const vs_searcher *s, const char *fmt, ...) {
    if (!s || !s->p.note) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->p.note(s->p.note_user, msg);
}

void vs__skips_free(vs__skips *l) {
    for (long i = 0; i < l->l.n; i++) {
        vs__free(l->l.v[i].path);
        vs__free(l->l.v[i].name);
        vs__free(l->l.v[i].why);
    }
    vs__free(l->l.v);
    memset(l, 0, sizeof *l);
}

void vs__skips_add(vs__skips *l, const vs_index_entry *e, const char *why, const vs_searcher *note_to) {
    if (l->l.n == l->cap) {
        long cap = l->cap ? 2 * l->cap : 8;
        vs_search_skip *v = vs__realloc(l->l.v, (size_t)cap * sizeof *v);
        if (!v) {
            /* out of memory: still say it, so the entry is not dropped silently */
            vs__search_note(note_to, "skipped damaged index entry %s: %s", e->path, why);
            return;
        }
        l->l.v = v;
        l->cap = cap;
    }
    vs_search_skip *k = &l->l.v[l->l.n++];
    k->path = vs__strdup(e->path);
    k->name = vs__strdup(e->name);
    k->why = vs__strdup(why && *why ? why : "cannot be loaded");
}

/* Called after the features of e failed to load. A concurrent `index rm` (or an
 * `index add` that replaced the video) deletes the row and then its feature file,
 * so a file that vanished under a row that vanished too is not damage: note what
 * happened and return 1. Returns 0 if the row is still there as it was (the file
 * is damaged). */
int vs__entry_vanished(const vs_searcher *s, vs_index *idx, const vs_index_entry *e) {
    vs_index_entries *now = NULL;
    if (vs_index_list(idx, e->path, &now) != VS_OK) return 0;
    int still = 0, replaced = 0;
    for (long i = 0; i < now->n; i++) {
        if (now->v[i].id == e->id) still = 1;
        else if (!strcmp(now->v[i].path, e->path)) replaced = 1;
    }
    vs_index_entries_free(now);
    if (still) return 0;
    const char *cmd = s->cmd;
    if (replaced)
        vs__search_note(s, "%s was re-indexed (replaced) by another process during the %s; left out "
                           "(run the %s again to include it)", e->path, cmd, cmd);
    else
        vs__search_note(s, "%s was removed from the index during the %s; left out", e->path, cmd);
    return 1;
}

vs_status vs__open_simmodel(vs_simmodel **m, vs_simmodel_state **st, const char *model, int threads,
                            int precision, float temporal) {
    vs_status s = !strcmp(model, "visil_f") ? vs_simmodel_builtin(m, model) : vs_simmodel_load(m, model);
    vs_simmodel_params p = vs_simmodel_default_params();
    p.n_threads = threads;
    p.precision = precision;
    p.temporal = temporal;
    if (!s) s = vs_simmodel_state_create(st, *m, &p);
    return s;
}

/* Copy features through the model's indexing step (attention) into a new buffer. */
float *vs__index_features(vs_simmodel_state *st, const vs_features *f) {
    size_t n = (size_t)f->T * f->R * f->D;
    float *x = vs__malloc(n * sizeof(float) + 1);
    if (!x) return NULL;
    if (vs_simmodel_index(st, x, NULL, f->data, f->T, f->R, f->D) != VS_OK) {
        vs__free(x);
        return NULL;
    }
    return x;
}

void vs_search_query_id(const char *q, char *out, size_t n) {
    const char *b = strrchr(q, '/');
    snprintf(out, n, "%s", b ? b + 1 : q);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

/* The remedy for a video query's extractor whose model id `got` is not the index's
 * `want`: int8 ids that differ in their hash alone differ in the calibration (or the
 * whitening: the hash covers both), else in the whitening. Written into buf [n]. */
static void model_mismatch(const vs_searcher *s, const char *want, const char *got, char *buf, size_t n) {
    vs_model_id a, b;
    int calib = vs_model_id_parse(&a, want) == VS_OK && vs_model_id_parse(&b, got) == VS_OK &&
                a.precision == VS_PRECISION_INT8 && b.precision == VS_PRECISION_INT8 &&
                !strcmp(a.backbone, b.backbone) && a.crop == b.crop && a.pca == b.pca && a.dim == b.dim;
    if (!calib)
        snprintf(buf, n, "the index was built with model %s, the bundled files give %s (pass --pca)", want, got);
    else if (!s->calib)
        snprintf(buf, n, "the index was built with model %s, the bundled int8 calibration gives %s (pass --calib "
                         "FILE, the calibration the index was added with: index add --calib; and --pca FILE if it "
                         "was added with its own whitening)", want, got);
    else
        snprintf(buf, n, "the index was built with model %s, --calib %s gives %s (pass --calib FILE with the "
                         "calibration the index was added with, and --pca FILE if it was added with its own "
                         "whitening)", want, s->calib, got);
}

/* The extractor of video queries (s->ex, s->est), for the index's model id with
 * s->pca and s->calib, on first use (again after a failed load); one whose files give
 * another model id is refused once and then kept, so that each later query is refused
 * by its own features' id. */
static vs_status load_query_extractor(vs_searcher *s) {
    vs_extract_params p = vs_extract_default_params();
    p.decode.fps = s->info.fps > 0 ? s->info.fps : 1.0;
    p.calib_path = s->calib; /* read for an int8 id only (load_model.c) */
    vs_status st = vs__extractor_load_model(&s->ex, &s->p.models, s->info.model_id, s->pca, &p);
    if (!st) st = vs_extract_state_create(&s->est, s->ex);
    if (st) {
        vs__search_note(s, "%s", vs_last_error());
        vs_extractor_free(s->ex); /* no state: loaded again by the next video query */
        s->ex = NULL;
        return st;
    }
    if (strcmp(vs_extractor_model_id(s->ex), s->info.model_id) != 0) {
        char msg[1024 + PATH_MAX];
        model_mismatch(s, s->info.model_id, vs_extractor_model_id(s->ex), msg, sizeof msg);
        vs__search_note(s, "%s", msg);
        return VS_ERR_INVALID_ARG;
    }
    return VS_OK;
}

/* Features of a video query, extracted with the index's model (load_query_extractor). */
static vs_status extract_query(vs_searcher *s, const char *path, vs_features **out) {
    if (!s->ex) {
        vs_status st = load_query_extractor(s);
        if (st) return st;
    }
    const float rect[4] = {s->inset.x0, s->inset.y0, s->inset.x1, s->inset.y1};
    vs_extract_state_set_mirror(s->est, s->view == 1);
    vs_extract_state_set_probe(s->est, s->view == 0 && s->p.inset_view);
    vs_extract_state_set_view(s->est, s->view == 2 ? rect : NULL);
    if (s->view == 2) vs_extract_state_set_view_span(s->est, s->inset.t0, s->inset.t1);
    vs_status st = vs_extract_video(s->est, path, out);
    if (s->view == 0 && !st) s->inset = *vs_extract_state_inset(s->est);
    vs_extract_state_set_mirror(s->est, 0);
    vs_extract_state_set_probe(s->est, 0);
    vs_extract_state_set_view(s->est, NULL);
    if (st && s->view != 2) vs__search_note(s, "%s", vs_last_error()); /* the inset view is best effort */
    return st;
}

vs_status vs__load_query(vs_searcher *s, const char *q, vs_features **qf, int64_t *self) {
    vs_index_entries *qe = NULL;
    size_t ql = strlen(q);
    vs_status st = VS_OK;
    *qf = NULL;
    *self = -1;
    vs_search_query_id(q, s->qname, sizeof s->qname);
    if (ql > 4 && !strcmp(q + ql - 4, ".vsf")) {
        if ((st = vs_features_load(qf, q)) != VS_OK) {
            if (s->view != 2) vs__search_note(s, "%s", vs_last_error()); /* the inset view is best effort */
        } else if (s->view == 0 && s->p.inset_view) { /* the stored probe, as a video's extraction gives it */
            s->inset = (*qf)->inset;
            if ((*qf)->inset_probed && !vs__inset_current(*qf)) { /* used as it is, but said */
                char v[32] = "an unrecorded version";
                if ((*qf)->inset_detector) snprintf(v, sizeof v, "version %d", (*qf)->inset_detector);
                vs__search_note(s, "%s: inset probed by detector %s, this build's is version %d; used as stored "
                                "(`vidsim extract --inset-view on` probes it again)", q, v, VS_INSET_DETECTOR);
            }
        } else if (s->view == 2 && !(*qf)->inset_T) { /* none, or no usable frame: dropped, as for a video */
            st = vs__err(VS_ERR_FORMAT, "%s: no inset view frames in the feature file", q);
        } else if (s->view == 2) { /* the stored inset view: its own frames and times, in the mapping */
            (*qf)->T = (*qf)->inset_T;
            (*qf)->data = (*qf)->inset_data;
            (*qf)->times = (*qf)->inset_times;
            (*qf)->mirror = NULL;
        } else if (s->view == 1 && !(*qf)->mirror) { /* vs__mirror_source saw one: the file changed since */
            st = vs__err(VS_ERR_FORMAT, "%s: no mirror block (the feature file changed during the search)", q);
            vs__search_note(s, "%s", vs_last_error());
        } else if (s->view == 1) { /* the stored mirror view; both stay in the file's mapping */
            float *d = (*qf)->data;
            (*qf)->data = (*qf)->mirror;
            (*qf)->mirror = d;
        }
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", s->qname);
        vs_search_query_id(tmp, s->qname, sizeof s->qname); /* a.mp4.vsf -> a */
    } else if (vs_index_list(s->idx, q, &qe) == VS_OK && qe->n == 1 && qe->v[0].ok) {
        if ((st = vs_index_load_features(s->idx, &qe->v[0], qf)) != VS_OK) vs__search_note(s, "%s", vs_last_error());
        snprintf(s->qname, sizeof s->qname, "%s", qe->v[0].name);
        *self = qe->v[0].id;
    } else {
        st = extract_query(s, q, qf);
    }
    vs_index_entries_free(qe);
    if (st) {
        vs_features_free(*qf);
        *qf = NULL;
        return st;
    }
    if (strcmp((*qf)->model_id, s->info.model_id) != 0) {
        /* noted, but not made the thread's error: as the CLI always did */
        vs__search_note(s, "%s: features of model %s, the index has %s", q, (*qf)->model_id, s->info.model_id);
        vs_features_free(*qf);
        *qf = NULL;
        return VS_ERR_INVALID_ARG;
    }
    return VS_OK;
}

int vs__cmp_hit(const void *a, const void *b) {
    const vs__hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->row < y->row ? -1 : x->row > y->row;
}

long vs__rank(const vs_searcher *s, vs__hit *hits, const float *sims, const long *rows, long n,
              const vs_index_entries *es, int64_t self) {
    long nh = 0;
    for (long k = 0; k < n; k++) {
        long row = rows[k];
        if ((self >= 0 && es->v[row].id == self) || sims[k] < s->p.threshold) continue;
        hits[nh++] = (vs__hit){row, sims[k], k};
    }
    qsort(hits, (size_t)nh, sizeof *hits, vs__cmp_hit);
    if (s->p.top > 0 && nh > s->p.top) nh = s->p.top;
    return nh;
}

double vs__whole_duration(const vs_loc_video *v) {
    return v->duration > 0 ? v->duration : v->T / (v->fps > 0 ? v->fps : 1.0);
}

void vs__search_hit_free(vs_search_hit *h) {
    vs__free(h->segments);
    vs__free((char *)h->name);
    memset(h, 0, sizeof *h);
}

int vs__cmp_search_hit(const void *a, const void *b) {
    const vs_search_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->video_id < y->video_id ? -1 : x->video_id > y->video_id;
}

void vs_search_result_free(vs_search_result *r) {
    if (!r) return;
    for (long k = 0; k < r->n; k++) vs__search_hit_free(&r->hits[k]);
    vs__free(r->hits);
    vs__free(r->query_id);
    vs__free(r);
}

vs_status vs__result_new(vs_searcher *s, const vs_index_entries *es, const vs__hit *hits, long nh,
                         vs_search_result **out) {
    vs_search_result *r = vs__calloc(1, sizeof *r);
    if (r) r->hits = vs__calloc((size_t)nh + 1, sizeof *r->hits);
    if (r) r->query_id = vs__strdup(s->qname);
    if (!r || !r->hits || !r->query_id) {
        vs_search_result_free(r);
        *out = NULL;
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    r->n_skipped = s->skipped.l.n;
    for (long k = 0; k < nh; k++) {
        r->hits[k].video_id = es->v[hits[k].row].id;
        r->hits[k].score = hits[k].score;
        r->hits[k].raw = hits[k].score; /* normalisation's parts: vs__bg_explain */
        if (!(r->hits[k].name = vs__strdup(es->v[hits[k].row].name))) {
            vs_search_result_free(r);
            *out = NULL;
            return vs__err(VS_ERR_NOMEM, "out of memory");
        }
        r->n = k + 1;
    }
    *out = r;
    return VS_OK;
}

