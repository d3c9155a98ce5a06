/*
 * datasets.c - the evaluation protocols of published near-duplicate video datasets,
 * as the official S2VS code computes them (datasets/{fivr,vcdb,evve,cc_web_video}.py,
 * summarised in shared/specs/s2vs.md section 4):
 *   FIVR-200K/5K  mAP (DSVR, CSVR, ISVR) and muAP (DSVD, CSVD, ISVD), query excluded
 *                 from its own ranking and ground truth, ground truth intersected with
 *                 the videos obtained, and the "_h" figures without easy duplicates;
 *                 the audio variant (DAVR, DAVD) on the queries with DA labels.
 *   VCDB          mAP and muAP, query excluded from its ranking, no empty-GT guard.
 *   EVVE          per-query trapezoidal AP (score_ap_from_ranks_1) with ranks that
 *                 skip videos not obtained, mean over queries, per-event means; muAP.
 *   CC_WEB_VIDEO  mAP, mAP* (all videos ranked), and the cleaned variants; the query
 *                 itself is not excluded (it is labelled E for its own set).
 * This file loads the JSON written by reference/python/convert_annotations.py;
 * protocols.c computes the figures.
 *
 * Differences from the Python code: equal scores are ordered by the chosen tie rule
 * (numpy's argsort order is implementation-defined); a (query, target) pair listed
 * twice keeps its highest score, where a Python dict would keep the last.
 */
#include "eval/eval_internal.h"
#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vs_eval_dataset_params vs_eval_dataset_default_params(void) {
    vs_eval_dataset_params p;
    memset(&p, 0, sizeof p);
    p.fivr_version = "200k";
    p.ties = VS_EVAL_TIES_INPUT_ORDER;
    return p;
}

vs_eval_dataset_kind vs_eval_dataset_kind_of(const vs_eval_dataset *ds) { return ds->kind; }

void vs_eval_dataset_free(vs_eval_dataset *ds) {
    if (!ds) return;
    vs__strtab_free(&ds->ids);
    for (size_t i = 0; i < 2; i++) {
        vs__free(ds->ver_name[i]);
        vs__free(ds->ver_q[i].v);
        vs__free(ds->ver_db[i].v);
    }
    vs__free(ds->ann_q);
    vs__free(ds->ann_v);
    vs__free(ds->ann_l);
    vs__free(ds->easy.v);
    vs__free(ds->da_keys.v);
    vs__free(ds->queries.v);
    vs__free(ds->database.v);
    vs__free(ds->distractors.v);
    vs__free(ds->ev_of);
    for (size_t e = 0; e < ds->n_ev; e++) {
        vs__free(ds->ev_name ? ds->ev_name[e] : NULL);
        if (ds->ev_q) vs__free(ds->ev_q[e].v);
        if (ds->ev_pos) vs__free(ds->ev_pos[e].v);
    }
    vs__free(ds->ev_name);
    vs__free(ds->ev_q);
    vs__free(ds->ev_pos);
    vs__free(ds->cc_index);
    if (ds->cc_gt)
        for (size_t k = 0; k < ds->queries.n; k++) {
            for (size_t i = 0; ds->cc_gt[k] && i < ds->cc_n_gt[k]; i++) vs__free(ds->cc_gt[k][i].label);
            vs__free(ds->cc_gt[k]);
        }
    vs__free(ds->cc_gt);
    vs__free(ds->cc_n_gt);
    if (ds->cc_excl)
        for (size_t k = 0; k < ds->queries.n; k++) vs__free(ds->cc_excl[k].v);
    vs__free(ds->cc_excl);
    vs__free(ds);
}

/* ------------------------------------------------------------------ loading -- */

typedef struct loader {
    vs_eval_dataset *ds;
    const char *path;
} loader;

static vs_status bad(const loader *L, const vs__json *at, const char *what) {
    return vs__err(VS_ERR_FORMAT, "%s:%d: %s", L->path, at ? at->line : 1, what);
}

static const vs__json *member(const loader *L, const vs__json *obj, const char *key,
                              vs__json_type t, vs_status *st) {
    const vs__json *m = vs__json_get(obj, key);
    if (!m || m->type != t) {
        *st = vs__err(VS_ERR_FORMAT, "%s:%d: \"%s\" must be %s (is %s)", L->path, obj->line, key,
                      t == VS__JSON_ARR ? "an array" : t == VS__JSON_OBJ ? "an object" : "a string",
                      vs__json_type_name(m));
        return NULL;
    }
    *st = VS_OK;
    return m;
}

/* An array of strings (ids) into an vs__idlist of interned ids. */
static vs_status read_ids(const loader *L, const vs__json *arr, vs__idlist *out) {
    out->v = vs__malloc((arr->n + 1) * sizeof *out->v);
    if (!out->v) return vs__err(VS_ERR_NOMEM, "%s: out of memory", L->path);
    out->n = 0;
    for (size_t i = 0; i < arr->n; i++) {
        const vs__json *s = arr->items[i];
        if (s->type != VS__JSON_STR) return bad(L, s, "video ids must be strings");
        vs_status st = vs__strtab_intern(&L->ds->ids, s->str, &out->v[out->n]);
        if (st != VS_OK) return st;
        out->n++;
    }
    return VS_OK;
}

static vs_status push_triple(loader *L, size_t *cap, int32_t q, int32_t v, unsigned char l) {
    vs_eval_dataset *ds = L->ds;
    if (ds->n_ann == *cap) {
        size_t nc = *cap ? 2 * *cap : 1024;
        int32_t *a = vs__realloc(ds->ann_q, nc * sizeof *a);
        if (!a) return vs__err(VS_ERR_NOMEM, "out of memory");
        ds->ann_q = a;
        a = vs__realloc(ds->ann_v, nc * sizeof *a);
        if (!a) return vs__err(VS_ERR_NOMEM, "out of memory");
        ds->ann_v = a;
        unsigned char *b = vs__realloc(ds->ann_l, nc);
        if (!b) return vs__err(VS_ERR_NOMEM, "out of memory");
        ds->ann_l = b;
        *cap = nc;
    }
    ds->ann_q[ds->n_ann] = q;
    ds->ann_v[ds->n_ann] = v;
    ds->ann_l[ds->n_ann] = l;
    ds->n_ann++;
    return VS_OK;
}

static vs_status push_id(loader *L, vs__idlist *l, size_t *cap, int32_t id) {
    if (l->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        int32_t *a = vs__realloc(l->v, nc * sizeof *a);
        if (!a) return vs__err(VS_ERR_NOMEM, "%s: out of memory", L->path);
        l->v = a;
        *cap = nc;
    }
    l->v[l->n++] = id;
    return VS_OK;
}

/* {query: {label: [ids]}} (FIVR; label bits) or {query: [ids]} (VCDB; label 1). */
static vs_status read_annotation(loader *L, const vs__json *obj, int labelled) {
    size_t cap = 0, da_cap = 0;
    vs_status st;
    for (size_t i = 0; i < obj->n; i++) {
        int32_t q;
        if ((st = vs__strtab_intern(&L->ds->ids, obj->keys[i], &q)) != VS_OK) return st;
        const vs__json *v = obj->items[i];
        size_t n_groups = labelled ? v->n : 1;
        if (v->type != (labelled ? VS__JSON_OBJ : VS__JSON_ARR))
            return bad(L, v, labelled ? "annotation entries must be {label: [ids]}"
                                      : "positives must be {query: [ids]}");
        for (size_t g = 0; g < n_groups; g++) {
            const vs__json *arr = labelled ? v->items[g] : v;
            unsigned char bit = 1;
            if (labelled) {
                const char *k = v->keys[g];
                bit = !strcmp(k, "ND") ? VS__L_ND : !strcmp(k, "DS") ? VS__L_DS : !strcmp(k, "CS") ? VS__L_CS
                    : !strcmp(k, "IS") ? VS__L_IS : !strcmp(k, "DA") ? VS__L_DA : 0;
                if (!bit) continue; /* labels no task uses */
                if (bit == VS__L_DA && (st = push_id(L, &L->ds->da_keys, &da_cap, q)) != VS_OK) return st;
            }
            if (arr->type != VS__JSON_ARR) return bad(L, arr, "expected an array of video ids");
            vs__idlist tmp;
            if ((st = read_ids(L, arr, &tmp)) != VS_OK) {
                vs__free(tmp.v);
                return st;
            }
            for (size_t k = 0; k < tmp.n && st == VS_OK; k++) st = push_triple(L, &cap, q, tmp.v[k], bit);
            vs__free(tmp.v);
            if (st != VS_OK) return st;
        }
    }
    return VS_OK;
}

static vs_status load_fivr(loader *L, const vs__json *root) {
    vs_status st;
    vs_eval_dataset *ds = L->ds;
    const vs__json *vers = member(L, root, "versions", VS__JSON_OBJ, &st);
    if (!vers) return st;
    for (size_t i = 0; i < vers->n && ds->n_ver < 2; i++) {
        const vs__json *v = vers->items[i], *q, *d;
        if (!(q = member(L, v, "queries", VS__JSON_ARR, &st))) return st;
        if (!(d = member(L, v, "database", VS__JSON_ARR, &st))) return st;
        size_t k = ds->n_ver++;
        if (!(ds->ver_name[k] = vs__strdup(vers->keys[i]))) return vs__err(VS_ERR_NOMEM, "out of memory");
        if ((st = read_ids(L, q, &ds->ver_q[k])) != VS_OK) return st;
        if ((st = read_ids(L, d, &ds->ver_db[k])) != VS_OK) return st;
    }
    const vs__json *ann = member(L, root, "annotation", VS__JSON_OBJ, &st);
    if (!ann) return st;
    if ((st = read_annotation(L, ann, 1)) != VS_OK) return st;
    const vs__json *easy = vs__json_get(root, "easy_duplicates");
    if (easy) {
        if (easy->type != VS__JSON_ARR) return bad(L, easy, "\"easy_duplicates\" must be an array");
        ds->has_easy = 1;
        if ((st = read_ids(L, easy, &ds->easy)) != VS_OK) return st;
    }
    return VS_OK;
}

static vs_status load_vcdb(loader *L, const vs__json *root) {
    vs_status st;
    const vs__json *q, *p, *d = vs__json_get(root, "distractors");
    if (!(q = member(L, root, "queries", VS__JSON_ARR, &st))) return st;
    if (!(p = member(L, root, "positives", VS__JSON_OBJ, &st))) return st;
    if ((st = read_ids(L, q, &L->ds->queries)) != VS_OK) return st;
    if ((st = read_annotation(L, p, 0)) != VS_OK) return st;
    if (d && d->type != VS__JSON_ARR) return bad(L, d, "\"distractors\" must be an array");
    if (d) return read_ids(L, d, &L->ds->distractors);
    return VS_OK;
}

static vs_status load_evve(loader *L, const vs__json *root) {
    vs_status st;
    vs_eval_dataset *ds = L->ds;
    const vs__json *ev, *q, *d;
    if (!(ev = member(L, root, "events", VS__JSON_OBJ, &st))) return st;
    if (!(q = member(L, root, "queries", VS__JSON_ARR, &st))) return st;
    if (!(d = member(L, root, "database", VS__JSON_ARR, &st))) return st;
    if ((st = read_ids(L, q, &ds->queries)) != VS_OK) return st;
    if ((st = read_ids(L, d, &ds->database)) != VS_OK) return st;
    ds->ev_name = vs__calloc(ev->n + 1, sizeof *ds->ev_name);
    ds->ev_q = vs__calloc(ev->n + 1, sizeof *ds->ev_q);
    ds->ev_pos = vs__calloc(ev->n + 1, sizeof *ds->ev_pos);
    if (!ds->ev_name || !ds->ev_q || !ds->ev_pos) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (size_t e = 0; e < ev->n; e++) {
        const vs__json *eq, *ep;
        ds->n_ev = e + 1;
        if (!(ds->ev_name[e] = vs__strdup(ev->keys[e]))) return vs__err(VS_ERR_NOMEM, "out of memory");
        if (!(eq = member(L, ev->items[e], "queries", VS__JSON_ARR, &st))) return st;
        if (!(ep = member(L, ev->items[e], "positives", VS__JSON_ARR, &st))) return st;
        if ((st = read_ids(L, eq, &ds->ev_q[e])) != VS_OK) return st;
        if ((st = read_ids(L, ep, &ds->ev_pos[e])) != VS_OK) return st;
    }
    ds->ev_of = vs__malloc((ds->ids.n + 1) * sizeof *ds->ev_of);
    if (!ds->ev_of) return vs__err(VS_ERR_NOMEM, "out of memory");
    memset(ds->ev_of, 0xff, (ds->ids.n + 1) * sizeof *ds->ev_of);
    for (size_t e = 0; e < ds->n_ev; e++) /* later events win, as the Python dict does */
        for (size_t i = 0; i < ds->ev_q[e].n; i++) ds->ev_of[ds->ev_q[e].v[i]] = (int32_t)e;
    for (size_t i = 0; i < ds->queries.n; i++)
        if (ds->ev_of[ds->queries.v[i]] < 0)
            return vs__err(VS_ERR_FORMAT, "%s: query %s belongs to no event", L->path,
                           ds->ids.strs[ds->queries.v[i]]);
    return VS_OK;
}

static int cmp_cc(const void *a, const void *b) {
    long x = ((const vs__cc_label *)a)->video, y = ((const vs__cc_label *)b)->video;
    return x < y ? -1 : x > y;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static vs_status load_ccweb(loader *L, const vs__json *root) {
    vs_status st;
    vs_eval_dataset *ds = L->ds;
    const vs__json *ix, *q, *gt, *ex;
    if (!(ix = member(L, root, "index", VS__JSON_OBJ, &st))) return st;
    if (!(q = member(L, root, "queries", VS__JSON_ARR, &st))) return st;
    if (!(gt = member(L, root, "ground_truth", VS__JSON_ARR, &st))) return st;
    if (!(ex = member(L, root, "excluded", VS__JSON_ARR, &st))) return st;
    if (gt->n != q->n || ex->n != q->n)
        return bad(L, root, "\"queries\", \"ground_truth\" and \"excluded\" must have one entry per query set");
    for (size_t i = 0; i < ix->n; i++) {
        int32_t id;
        if (ix->items[i]->type != VS__JSON_NUM) return bad(L, ix->items[i], "index values must be numbers");
        if ((st = vs__strtab_intern(&ds->ids, ix->keys[i], &id)) != VS_OK) return st;
    }
    if ((st = read_ids(L, q, &ds->queries)) != VS_OK) return st;
    ds->cc_index = vs__malloc((ds->ids.n + 1) * sizeof *ds->cc_index);
    ds->cc_gt = vs__calloc(q->n + 1, sizeof *ds->cc_gt);
    ds->cc_n_gt = vs__calloc(q->n + 1, sizeof *ds->cc_n_gt);
    ds->cc_excl = vs__calloc(q->n + 1, sizeof *ds->cc_excl);
    if (!ds->cc_index || !ds->cc_gt || !ds->cc_n_gt || !ds->cc_excl)
        return vs__err(VS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i <= ds->ids.n; i++) ds->cc_index[i] = -1;
    for (size_t i = 0; i < ix->n; i++) /* duplicate keys: the last one wins */
        ds->cc_index[vs__strtab_find(&ds->ids, ix->keys[i])] = (long)ix->items[i]->num;
    for (size_t k = 0; k < q->n; k++) {
        const vs__json *g = gt->items[k], *e = ex->items[k];
        if (g->type != VS__JSON_OBJ) return bad(L, g, "ground_truth entries must be {video: label}");
        if (e->type != VS__JSON_ARR) return bad(L, e, "excluded entries must be arrays of numbers");
        ds->cc_gt[k] = vs__calloc(g->n + 1, sizeof **ds->cc_gt);
        ds->cc_excl[k].v = vs__malloc((e->n + 1) * sizeof *ds->cc_excl[k].v);
        if (!ds->cc_gt[k] || !ds->cc_excl[k].v) return vs__err(VS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < g->n; i++) {
            char *end;
            long v = strtol(g->keys[i], &end, 10);
            if (*end || end == g->keys[i] || g->items[i]->type != VS__JSON_STR)
                return bad(L, g, "ground_truth entries must map video numbers to label strings");
            if (!(ds->cc_gt[k][i].label = vs__strdup(g->items[i]->str)))
                return vs__err(VS_ERR_NOMEM, "out of memory");
            ds->cc_gt[k][i].video = v;
            ds->cc_n_gt[k] = i + 1;
        }
        qsort(ds->cc_gt[k], ds->cc_n_gt[k], sizeof **ds->cc_gt, cmp_cc);
        for (size_t i = 0; i < e->n; i++) {
            if (e->items[i]->type != VS__JSON_NUM) return bad(L, e->items[i], "excluded ids must be numbers");
            ds->cc_excl[k].v[ds->cc_excl[k].n++] = (int32_t)e->items[i]->num;
        }
        qsort(ds->cc_excl[k].v, ds->cc_excl[k].n, sizeof(int32_t), cmp_i32);
    }
    return VS_OK;
}

vs_status vs_eval_dataset_load(vs_eval_dataset **out, const char *path) {
    vs__json *root;
    vs_status st;
    *out = NULL;
    if ((st = vs__json_load(&root, path)) != VS_OK) return st;
    vs_eval_dataset *ds = vs__calloc(1, sizeof *ds);
    if (!ds) {
        vs__json_free(root);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    loader L = {ds, path};
    const vs__json *kind = vs__json_get(root, "dataset");
    const char *k = kind && kind->type == VS__JSON_STR ? kind->str : "";
    if (root->type != VS__JSON_OBJ) st = bad(&L, root, "expected an object (see convert_annotations.py)");
    else if (!strcmp(k, "fivr")) ds->kind = VS_EVAL_FIVR, st = load_fivr(&L, root);
    else if (!strcmp(k, "vcdb")) ds->kind = VS_EVAL_VCDB, st = load_vcdb(&L, root);
    else if (!strcmp(k, "evve")) ds->kind = VS_EVAL_EVVE, st = load_evve(&L, root);
    else if (!strcmp(k, "cc_web_video")) ds->kind = VS_EVAL_CC_WEB_VIDEO, st = load_ccweb(&L, root);
    else
        st = vs__err(VS_ERR_FORMAT, "%s: \"dataset\" must be fivr, vcdb, evve or cc_web_video "
                     "(files made by reference/python/convert_annotations.py)", path);
    vs__json_free(root);
    if (st != VS_OK) {
        vs_eval_dataset_free(ds);
        return st;
    }
    *out = ds;
    return VS_OK;
}
