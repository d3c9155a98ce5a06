/*
 * bindings.c - entry points for language bindings (bindings.h): search params set by
 * name, results and the catalogue as JSON text, the add-many call and a pair's
 * comparison with JSON out. Built only on the public API of the other modules.
 */
#include "vidsim/bindings.h"

#include "vidsim/batch.h"
#include "vidsim/features.h"
#include "vidsim/localize.h"
#include "vidsim/norm.h"
#include "vidsim/simmodel.h"

#include "core/internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ JSON text */

typedef struct jbuf {
    char *s;
    size_t n, cap;
    int oom;
} jbuf;

static void jput(jbuf *b, const char *t, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1) cap *= 2;
        char *s = vs__realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, t, len);
    b->n += len;
    b->s[b->n] = 0;
}

static void jraw(jbuf *b, const char *t) { jput(b, t, strlen(t)); }

static void jfmt(jbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) jput(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* a JSON string; control characters escaped, other bytes as they are */
static void jstr(jbuf *b, const char *t) {
    jraw(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(t ? t : ""); *p; p++) {
        if (*p == '"') jraw(b, "\\\"");
        else if (*p == '\\') jraw(b, "\\\\");
        else if (*p < 0x20) jfmt(b, "\\u%04x", *p);
        else jput(b, (const char *)p, 1);
    }
    jraw(b, "\"");
}

/* a number, null when not finite */
static void jnum(jbuf *b, double v) {
    if (isfinite(v)) jfmt(b, "%.9g", v);
    else jraw(b, "null");
}

static vs_status jdone(jbuf *b, char **out) {
    if (b->oom || !b->s) {
        vs__free(b->s);
        return vs__err(VS_ERR_NOMEM, "out of memory writing JSON");
    }
    *out = b->s;
    return VS_OK;
}

static void jsegments(jbuf *b, const vs_segment *g, int n) {
    jraw(b, "[");
    for (int k = 0; k < n; k++) {
        if (k) jraw(b, ",");
        jraw(b, "{\"query_start\":");
        jnum(b, g[k].query_start);
        jraw(b, ",\"query_end\":");
        jnum(b, g[k].query_end);
        jraw(b, ",\"ref_start\":");
        jnum(b, g[k].ref_start);
        jraw(b, ",\"ref_end\":");
        jnum(b, g[k].ref_end);
        jraw(b, ",\"score\":");
        jnum(b, g[k].score);
        jraw(b, "}");
    }
    jraw(b, "]");
}

/* ------------------------------------------------------------------ search params */

/* the params first, so that a vs_search_params * is also the wrapper's address */
typedef struct params_box {
    vs_search_params p;
    char *model, *hash_model, *pca, *calib, *models_dir, *first_stage, *gvec_whiten;
} params_box;

vs_search_params *vs_search_params_new(void) {
    params_box *b = vs__calloc(1, sizeof *b);
    if (!b) {
        vs__err(VS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    b->p = vs_search_default_params();
    return &b->p;
}

void vs_search_params_free(vs_search_params *p) {
    if (!p) return;
    params_box *b = (params_box *)(void *)p;
    vs__free(b->model);
    vs__free(b->hash_model);
    vs__free(b->pca);
    vs__free(b->calib);
    vs__free(b->models_dir);
    vs__free(b->first_stage);
    vs__free(b->gvec_whiten);
    vs__free(b);
}

static int parse_long(const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static int parse_num(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

static vs_status set_str(char **slot, const char **field, const char *value) {
    char *c = vs__strdup(value);
    if (!c) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs__free(*slot);
    *slot = c;
    *field = c;
    return VS_OK;
}

/* 0/1, also on/off (the CLI's spelling): 0 or 1, -1 for another value */
static int parse_flag(const char *v) {
    if (!strcmp(v, "1") || !strcmp(v, "on")) return 1;
    if (!strcmp(v, "0") || !strcmp(v, "off")) return 0;
    return -1;
}

vs_status vs_search_params_set(vs_search_params *p, const char *key, const char *value) {
    if (!p || !key || !value) return vs__err(VS_ERR_INVALID_ARG, "vs_search_params_set: NULL argument");
    params_box *b = (params_box *)(void *)p;
    long x;
    double d;
    int f;
    if (!strcmp(key, "mode")) {
        static const char *const modes[] = {"exhaustive", "two_stage", "hash_only", "clip"};
        for (int k = 0; k < 4; k++)
            if (!strcmp(value, modes[k])) {
                p->mode = (vs_search_mode)k;
                return VS_OK;
            }
    } else if (!strcmp(key, "top")) {
        if (!parse_long(value, 0, INT_MAX, &x)) { p->top = (int)x; return VS_OK; }
    } else if (!strcmp(key, "threshold")) {
        if (vs_norm_operating_point(value, &p->threshold)) return VS_OK;
        if (!parse_num(value, &d)) { p->threshold = d; return VS_OK; }
    } else if (!strcmp(key, "symmetric") || !strcmp(key, "normalize") || !strcmp(key, "segments") ||
               !strcmp(key, "mirror_view") || !strcmp(key, "inset_view") || !strcmp(key, "store_gvec") ||
               !strcmp(key, "store_clip")) {
        if ((f = parse_flag(value)) >= 0) {
            if (!strcmp(key, "symmetric")) p->symmetric = f;
            else if (!strcmp(key, "normalize")) p->normalize = f;
            else if (!strcmp(key, "segments")) p->segments = f;
            else if (!strcmp(key, "mirror_view")) p->mirror_view = f;
            else if (!strcmp(key, "inset_view")) p->inset_view = f;
            else p->store_clip = f; /* store_gvec, store_clip: the same field */
            return VS_OK;
        }
    } else if (!strcmp(key, "sim_precision")) {
        /* the similarity model runs fp32 or bf16 (simmodel.h); int8 is a backbone format */
        if (!strcmp(value, "fp32")) { p->sim_precision = VS_PRECISION_FP32; return VS_OK; }
        if (!strcmp(value, "bf16")) { p->sim_precision = VS_PRECISION_BF16; return VS_OK; }
        return vs__err(VS_ERR_INVALID_ARG, "search params: bad value '%s' for sim_precision (fp32 or bf16)", value);
    } else if (!strcmp(key, "temporal")) {
        if (!parse_num(value, &d) && d >= 0.0 && d <= 1.0) { p->temporal = (float)d; return VS_OK; }
        return vs__err(VS_ERR_INVALID_ARG, "search params: bad value '%s' for temporal (0 to 1; 0: the published "
                       "ViSiL_f)", value);
    } else if (!strcmp(key, "frame_levels")) {
        if (!parse_num(value, &d) && d >= 0.0 && d <= 1.0) { p->frame_levels = (float)d; return VS_OK; }
        return vs__err(VS_ERR_INVALID_ARG, "search params: bad value '%s' for frame_levels (0 to 1; 0: none)", value);
    } else if (!strcmp(key, "first_stage")) {
        if (!strcmp(value, "hash") || !strcmp(value, "gvec") || (!strncmp(value, "gvec:", 5) && value[5]))
            return set_str(&b->first_stage, &p->first_stage, value);
        return vs__err(VS_ERR_INVALID_ARG, "search params: bad value '%s' for first_stage (hash, gvec or gvec:SPEC)",
                       value);
    } else if (!strcmp(key, "gvec_segments")) {
        if (!parse_long(value, 0, VS_GVEC_MAX_SEGMENTS, &x)) { p->gvec_segments = (int)x; return VS_OK; }
        return vs__err(VS_ERR_INVALID_ARG,
                       "search params: bad value '%s' for gvec_segments (1 to %d; 0: the default %d)", value,
                       VS_GVEC_MAX_SEGMENTS, VS_GVEC_SEGMENTS);
    } else if (!strcmp(key, "gvec_whiten")) {
        if (*value) return set_str(&b->gvec_whiten, &p->gvec_whiten, value);
        return vs__err(VS_ERR_INVALID_ARG, "search params: bad value '' for gvec_whiten (a file or off)");
    } else if (!strcmp(key, "two_stage_k")) {
        if (!parse_long(value, 1, LONG_MAX, &x)) { p->two_stage_k = x; return VS_OK; }
    } else if (!strcmp(key, "threads")) {
        if (!parse_long(value, 1, 4096, &x)) { p->n_threads = (int)x; return VS_OK; }
    } else if (!strcmp(key, "model")) {
        return set_str(&b->model, &p->model, value);
    } else if (!strcmp(key, "hash_model")) {
        return set_str(&b->hash_model, &p->hash_model, value);
    } else if (!strcmp(key, "pca")) {
        return set_str(&b->pca, &p->pca, value);
    } else if (!strcmp(key, "calib")) { /* search --calib: int8 calibration of video queries */
        return set_str(&b->calib, &p->calib, value);
    } else if (!strcmp(key, "models_dir")) {
        return set_str(&b->models_dir, &p->models.dir, value);
    } else {
        return vs__err(VS_ERR_INVALID_ARG, "search params: unknown key '%s'", key);
    }
    return vs__err(VS_ERR_INVALID_ARG, "search params: bad value '%s' for %s", value, key);
}

/* ------------------------------------------------------------------ results */

vs_status vs_search_result_json(const vs_search_result *r, char **out) {
    *out = NULL;
    if (!r) return vs__err(VS_ERR_INVALID_ARG, "vs_search_result_json: NULL result");
    jbuf b = {0};
    jraw(&b, "{\"query_id\":");
    jstr(&b, r->query_id);
    jfmt(&b, ",\"n_skipped\":%ld,\"n_failed\":%d,\"hits\":[", r->n_skipped, r->n_failed);
    for (long k = 0; k < r->n; k++) {
        const vs_search_hit *h = &r->hits[k];
        if (k) jraw(&b, ",");
        jraw(&b, "{\"ref_id\":");
        jstr(&b, h->name);
        jfmt(&b, ",\"video_id\":%lld,\"score\":", (long long)h->video_id);
        jnum(&b, h->score);
        jraw(&b, ",\"raw\":");
        jnum(&b, h->raw);
        jraw(&b, ",\"query_level\":");
        jnum(&b, h->query_level);
        jraw(&b, ",\"ref_level\":");
        jnum(&b, h->ref_level);
        if (h->n_segments > 0 || h->segments) {
            jraw(&b, ",\"segments\":");
            jsegments(&b, h->segments, h->n_segments > 0 ? h->n_segments : 0);
        }
        jraw(&b, "}");
    }
    jraw(&b, "]}");
    return jdone(&b, out);
}

vs_status vs_index_json(vs_index *idx, char **out) {
    *out = NULL;
    vs_index_info info;
    vs_index_entries *es = NULL;
    vs_status s = vs_index_get_info(idx, &info);
    if (!s) s = vs_index_list(idx, NULL, &es);
    if (s) return s;
    jbuf b = {0};
    jraw(&b, "{\"model_id\":");
    jstr(&b, info.model_id);
    jraw(&b, ",\"fps\":");
    jnum(&b, info.fps);
    jfmt(&b, ",\"n_ok\":%ld,\"n_failed\":%ld,\"videos\":[", info.n_ok, info.n_failed);
    for (long i = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        if (i) jraw(&b, ",");
        jfmt(&b, "{\"id\":%lld,\"name\":", (long long)e->id);
        jstr(&b, e->name);
        jraw(&b, ",\"path\":");
        jstr(&b, e->path);
        jfmt(&b, ",\"ok\":%s,\"frames\":%d,\"duration\":", e->ok ? "true" : "false", e->n_frames);
        jnum(&b, e->duration);
        jraw(&b, ",\"error\":");
        jstr(&b, e->error);
        jraw(&b, "}");
    }
    jraw(&b, "]}");
    vs_index_entries_free(es);
    return jdone(&b, out);
}

/* ------------------------------------------------------------------ add */

/* Split a backbone name that may carry a precision as in model ids ("inception",
 * "inception-fp32"): name without it into base [n], *prec the precision (-1: none
 * given). VS_ERR_UNSUPPORTED for an unknown name. */
static vs_status split_backbone(const char *backbone, char *base, size_t n, int *prec) {
    snprintf(base, n, "%s", backbone);
    char *dash = strrchr(base, '-');
    *prec = -1;
    if (dash && vs_precision_parse(dash + 1) >= 0) {
        *prec = vs_precision_parse(dash + 1);
        *dash = 0;
    }
    return vs_model_files(base, NULL, 0, NULL, 0);
}

/* The bundled weights and whitening of backbone ("inception", "mobilenet", optionally
 * with a precision "inception-fp32"; NULL: "inception"), found in models_dir (NULL:
 * ./models), at the named precision, else at the backbone's default
 * (vs_backbone_default_precision, as the CLI); ep's precision is ignored. */
static vs_status bundled_extractor(vs_extractor **ex, const char *backbone, const char *models_dir,
                                   const vs_extract_params *ep) {
    vs_model_locator loc = {models_dir, NULL, NULL};
    char base[64], w[128], pc[128], wp[4096], pp[4096];
    int prec;
    vs_status s = split_backbone(backbone ? backbone : "inception", base, sizeof base, &prec);
    if (s) return s;
    vs_model_files(base, w, sizeof w, pc, sizeof pc);
    vs_model_locate(&loc, w, wp, sizeof wp);
    vs_model_locate(&loc, pc, pp, sizeof pp);
    vs_extract_params p = *ep;
    p.precision = prec >= 0 ? prec : vs_backbone_default_precision(base);
    return vs_extractor_load(ex, wp, pp, &p); /* int8: calib_BASE.vstf next to the weights */
}

typedef struct add_log {
    int *outcome;  /* [n] vs_index_outcome, 0 = not done */
    char **error;  /* [n] */
} add_log;

static void on_added(const vs_batch_item *it, void *user) {
    add_log *l = user;
    if (it->i < 0) return;
    l->outcome[it->i] = it->add ? (int)it->add->outcome : 0;
    if (it->status && !l->outcome[it->i]) l->outcome[it->i] = VS_INDEX_FAILED;
    if (it->error && it->error[0]) l->error[it->i] = vs__strdup(it->error);
}

vs_status vs_index_add_json(vs_index *idx, const char *const *paths, int n, int n_jobs, const char *backbone,
                            const char *models_dir, int no_background, char **out) {
    return vs_index_add_json_calib(idx, paths, n, n_jobs, backbone, models_dir, NULL, no_background, out);
}

vs_status vs_index_add_json_calib(vs_index *idx, const char *const *paths, int n, int n_jobs, const char *backbone,
                                  const char *models_dir, const char *calib, int no_background, char **out) {
    *out = NULL;
    if (!idx || n < 0 || (n > 0 && !paths)) return vs__err(VS_ERR_INVALID_ARG, "vs_index_add_json: bad arguments");
    vs_index_info info;
    vs_status s = vs_index_get_info(idx, &info);
    if (s) return s;
    vs_model_locator loc = {models_dir, NULL, NULL};
    vs_extract_params ep = vs_extract_default_params();
    if (info.fps > 0) ep.decode.fps = info.fps;
    ep.calib_path = calib; /* `index add --calib`: read for an int8 model only (load_model.c) */
    vs_extractor *ex = NULL;
    if (info.model_id[0]) {
        /* the index's model; a backbone or precision named that differs is refused */
        vs_model_id id;
        char base[64], ibase[64], w[128];
        int prec;
        if (backbone && vs_model_id_parse(&id, info.model_id) == VS_OK) {
            if ((s = split_backbone(backbone, base, sizeof base, &prec))) return s;
            vs_model_files(base, w, sizeof w, NULL, 0);
            snprintf(base, sizeof base, "%.*s", (int)strlen(w) - 5, w); /* "inception" -> "inception_v3" */
            snprintf(ibase, sizeof ibase, "%s", id.backbone);
            if (strcmp(base, ibase) || (prec >= 0 && prec != id.precision))
                return vs__err(VS_ERR_INVALID_ARG,
                               "%s was built with model %s; backbone %s asks for %s%s%s (leave it out to follow the "
                               "index's model, or use another index)",
                               vs_index_dir(idx), info.model_id, backbone, base, prec >= 0 ? "-" : "",
                               prec >= 0 ? vs_precision_name(prec) : "");
        }
        s = vs_extractor_load_for_model(&ex, &loc, info.model_id, NULL, &ep);
    } else {
        s = bundled_extractor(&ex, backbone, models_dir, &ep);
    }
    if (s) return s;
    add_log l;
    l.outcome = vs__calloc((size_t)n + 1, sizeof *l.outcome);
    l.error = vs__calloc((size_t)n + 1, sizeof *l.error);
    if (!l.outcome || !l.error) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto done;
    }
    vs_batch_params bp = vs_batch_default_params();
    bp.n_jobs = n_jobs > 0 ? n_jobs : 1;
    bp.on_item = on_added;
    bp.user = &l;
    if ((s = vs_index_add_files(idx, ex, paths, n, 0, &bp))) goto done;
    char bg_error[1024] = "";
    if (!no_background && n > 0) {
        vs_norm_params np = vs_norm_default_params();
        vs_norm_build_report rep;
        if (vs_norm_build(idx, "visil_f", 1, &np, bp.n_jobs, 0, NULL, NULL, &rep) != VS_OK)
            snprintf(bg_error, sizeof bg_error, "%s", vs_last_error());
    }
    static const char *const names[] = {"", "added", "replaced", "unchanged", "failed"};
    long count[5] = {0};
    for (int i = 0; i < n; i++) count[l.outcome[i] >= 0 && l.outcome[i] <= 4 ? l.outcome[i] : 0]++;
    jbuf b = {0};
    jfmt(&b, "{\"added\":%ld,\"replaced\":%ld,\"unchanged\":%ld,\"failed\":%ld,\"not_done\":%ld,\"background_error\":",
         count[1], count[2], count[3], count[4], count[0]);
    jstr(&b, bg_error);
    jraw(&b, ",\"videos\":[");
    for (int i = 0; i < n; i++) {
        if (i) jraw(&b, ",");
        jraw(&b, "{\"path\":");
        jstr(&b, paths[i]);
        jraw(&b, ",\"outcome\":");
        jstr(&b, l.outcome[i] >= 1 && l.outcome[i] <= 4 ? names[l.outcome[i]] : "not_done");
        jraw(&b, ",\"error\":");
        jstr(&b, l.error[i] ? l.error[i] : "");
        jraw(&b, "}");
    }
    jraw(&b, "]}");
    s = jdone(&b, out);
done:
    if (l.error)
        for (int i = 0; i < n; i++) vs__free(l.error[i]);
    vs__free(l.error);
    vs__free(l.outcome);
    vs_extractor_free(ex);
    return s;
}

/* ------------------------------------------------------------------ compare */

static int is_vsf(const char *p) {
    size_t n = strlen(p);
    return n > 4 && !strcmp(p + n - 4, ".vsf");
}

/* features of a .vsf file, or of a video extracted with the extractor of model id
 * follow (the other input's, NULL: none), else the bundled inception one at its default
 * precision (as `vidsim compare`) */
static vs_status features_of(const char *path, const char *follow, const char *models_dir, vs_extractor **ex,
                             vs_extract_state **st, vs_features **out) {
    if (is_vsf(path)) return vs_features_load(out, path);
    if (!*ex) {
        vs_extract_params ep = vs_extract_default_params();
        vs_model_locator loc = {models_dir, NULL, NULL};
        vs_status s = follow ? vs_extractor_load_for_model(ex, &loc, follow, NULL, &ep)
                             : bundled_extractor(ex, "inception", models_dir, &ep);
        if (!s) s = vs_extract_state_create(st, *ex);
        if (s) return s;
    }
    return vs_extract_video(*st, path, out);
}

vs_status vs_compare_json(const char *a, const char *b, const vs_search_params *p, const char *models_dir,
                          char **out) {
    *out = NULL;
    if (!a || !b) return vs__err(VS_ERR_INVALID_ARG, "vs_compare_json: NULL path");
    vs_search_params dp = vs_search_default_params();
    if (!p) {
        dp.segments = 1;
        p = &dp;
    }
    const char *model = p->model ? p->model : "visil_f";
    vs_extractor *ex = NULL;
    vs_extract_state *est = NULL;
    vs_features *fa = NULL, *fb = NULL;
    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    float *xa = NULL, *xb = NULL;
    vs_segment *segs = NULL;
    int nseg = 0;
    /* a .vsf input first: a video input is then extracted with its model */
    vs_status s;
    if (is_vsf(b) && !is_vsf(a)) {
        s = features_of(b, NULL, models_dir, &ex, &est, &fb);
        if (!s) s = features_of(a, fb->model_id, models_dir, &ex, &est, &fa);
    } else {
        s = features_of(a, NULL, models_dir, &ex, &est, &fa);
        if (!s) s = features_of(b, is_vsf(a) ? fa->model_id : NULL, models_dir, &ex, &est, &fb);
    }
    if (s) goto done;
    if (strcmp(fa->model_id, fb->model_id) || fa->R != fb->R || fa->D != fb->D) {
        s = vs__err(VS_ERR_INVALID_ARG, "%s has features of model %s, %s of %s", a, fa->model_id, b, fb->model_id);
        goto done;
    }
    s = !strcmp(model, "visil_f") ? vs_simmodel_builtin(&m, model) : vs_simmodel_load(&m, model);
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.n_threads = p->n_threads > 0 ? p->n_threads : 1;
    sp.precision = vs_simmodel_default_precision(); /* as search */
    sp.temporal = p->temporal;
    if (!s) s = vs_simmodel_state_create(&st, m, &sp);
    if (s) goto done;
    const int R = fa->R, D = fa->D;
    xa = vs__malloc(sizeof(float) * ((size_t)fa->T * R * D + 1));
    xb = vs__malloc(sizeof(float) * ((size_t)fb->T * R * D + 1));
    if (!xa || !xb) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((s = vs_simmodel_index(st, xa, NULL, fa->data, fa->T, R, D)) ||
        (s = vs_simmodel_index(st, xb, NULL, fb->data, fb->T, R, D)))
        goto done;
    vs_simvideo va = {xa, fa->T, NULL}, vb = {xb, fb->T, NULL};
    float ab, ba;
    if ((s = vs_simmodel_similarity(st, &ab, xa, fa->T, &vb, 1, R, D)) ||
        (s = vs_simmodel_similarity(st, &ba, xb, fb->T, &va, 1, R, D)))
        goto done;
    const float score = p->symmetric ? 0.5f * (ab + ba) : ab;
    if (p->segments) {
        vs_loc_video la = {xa, fa->T, fa->times, fa->fps, fa->duration, NULL};
        vs_loc_video lb = {xb, fb->T, fb->times, fb->fps, fb->duration, NULL};
        if ((s = vs_localize_videos(&segs, &nseg, st, &la, &lb, R, D, p->symmetric, score, &p->localize))) goto done;
    }
    jbuf j = {0};
    jraw(&j, "{\"a\":");
    jstr(&j, a);
    jraw(&j, ",\"b\":");
    jstr(&j, b);
    jraw(&j, ",\"score\":");
    jnum(&j, score);
    jraw(&j, ",\"a_to_b\":");
    jnum(&j, ab);
    jraw(&j, ",\"b_to_a\":");
    jnum(&j, ba);
    if (p->segments) {
        jraw(&j, ",\"segments\":");
        jsegments(&j, segs, nseg);
    }
    jraw(&j, "}");
    s = jdone(&j, out);
done:
    vs_free(segs);
    vs__free(xa);
    vs__free(xb);
    vs_features_free(fa);
    vs_features_free(fb);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    vs_extract_state_free(est);
    vs_extractor_free(ex);
    return s;
}
