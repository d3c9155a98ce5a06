/*
 * bench.c - the project benchmark's scorer: loads gt.csv, predictions and
 * queries.json, and computes muAP, mAP and R@1 overall and per edit with the rules
 * of shared/bench/score.py, which is the definition (see docs/eval.md):
 *   - predictions: a repeated (query, ref) pair keeps its highest score; NaN is an
 *     error; unlisted pairs are never predicted (a missed positive adds 0 to AP);
 *   - ranking: score descending, and among equal scores negatives first, so ties
 *     earn no credit (AP, muAP and R@1 alike);
 *   - muAP pools every predicted pair of the subset's queries, divided by every
 *     positive pair of those queries; mAP and R@1 average over queries with a
 *     positive; a per-edit subset is its positive queries plus all negatives.
 * The sums run in the same order as score.py, so uAP agrees to the last bit; mAP
 * may differ in the last bits (Python sums over a set in hash order).
 */
#include "eval/eval_internal.h"
#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ loading -- */

typedef struct csv_file {
    unsigned char *text;
    size_t len;
    vs__csv csv;
} csv_file;

static int find_col(const char **f, size_t n, const char *name) {
    int col = -1;
    for (size_t i = 0; i < n; i++) /* DictReader: a repeated name maps to its last column */
        if (strcmp(f[i], name) == 0) col = (int)i;
    return col;
}

static vs_status next_row(csv_file *cf, const char *path, const char ***f, size_t *nf, int *line,
                          int *got) {
    vs_status st;
    do {
        *got = vs__csv_next(&cf->csv, f, nf, line, &st);
        if (st != VS_OK) return vs__err_prefix(st, "%s:%d", path, cf->csv.line);
    } while (*got && *nf == 0); /* DictReader skips blank rows */
    return VS_OK;
}

size_t vs_eval_gt_count(const vs_eval_gt *gt) { return gt ? gt->n_pos : 0; }
size_t vs_eval_pred_count(const vs_eval_pred *p) { return p ? p->n : 0; }

void vs_eval_gt_free(vs_eval_gt *gt) {
    if (!gt) return;
    vs__strtab_free(&gt->ids);
    vs__pairmap_free(&gt->pos);
    vs__free(gt->pq);
    vs__free(gt->pr);
    vs__free(gt);
}

static vs_status gt_add(vs_eval_gt *gt, const char *q, const char *r) {
    int32_t qi, ri, old;
    vs_status st;
    if ((st = vs__strtab_intern(&gt->ids, q, &qi)) != VS_OK) return st;
    if ((st = vs__strtab_intern(&gt->ids, r, &ri)) != VS_OK) return st;
    if ((st = vs__pairmap_put(&gt->pos, qi, ri, (int32_t)gt->n_pos, &old)) != VS_OK) return st;
    if (old >= 0) return VS_OK;
    if (gt->n_pos == gt->cap) {
        size_t nc = gt->cap ? 2 * gt->cap : 256;
        int32_t *a = vs__realloc(gt->pq, nc * sizeof *a);
        if (!a) return vs__err(VS_ERR_NOMEM, "out of memory");
        gt->pq = a;
        a = vs__realloc(gt->pr, nc * sizeof *a);
        if (!a) return vs__err(VS_ERR_NOMEM, "out of memory");
        gt->pr = a;
        gt->cap = nc;
    }
    gt->pq[gt->n_pos] = qi;
    gt->pr[gt->n_pos] = ri;
    gt->n_pos++;
    return VS_OK;
}

vs_status vs_eval_gt_load(vs_eval_gt **out, const char *path) {
    csv_file cf;
    const char **f;
    size_t nf;
    int line, got, cq = -1, cr = -1, hline = 1;
    vs_status st;
    *out = NULL;
    vs_eval_gt *gt = vs__calloc(1, sizeof *gt);
    if (!gt) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    if ((st = vs__read_file(path, &cf.text, &cf.len)) != VS_OK) {
        vs__free(gt);
        return st;
    }
    vs__csv_init(&cf.csv, (const char *)cf.text, cf.len);
    /* The header is the first record, even a blank one (as DictReader). */
    got = vs__csv_next(&cf.csv, &f, &nf, &hline, &st);
    if (st != VS_OK) {
        vs__err_prefix(st, "%s:%d", path, cf.csv.line);
        goto fail;
    }
    if (got) {
        cq = find_col(f, nf, "query_id");
        cr = find_col(f, nf, "ref_id");
    }
    for (;;) {
        if ((st = next_row(&cf, path, &f, &nf, &line, &got)) != VS_OK) goto fail;
        if (!got) break;
        if (cq < 0 || cr < 0) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: the header has no column %s", path, hline,
                         cq < 0 ? "query_id" : "ref_id");
            goto fail;
        }
        if ((size_t)cq >= nf || (size_t)cr >= nf) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: %zu field%s, no value for %s", path, line, nf,
                         nf == 1 ? "" : "s", (size_t)cq >= nf ? "query_id" : "ref_id");
            goto fail;
        }
        if ((st = gt_add(gt, f[cq], f[cr])) != VS_OK) {
            vs__err_prefix(st, "%s:%d", path, line);
            goto fail;
        }
    }
    vs__csv_free(&cf.csv);
    vs__free(cf.text);
    *out = gt;
    return VS_OK;
fail:
    vs__csv_free(&cf.csv);
    vs__free(cf.text);
    vs_eval_gt_free(gt);
    return st;
}

vs_status vs_eval_pred_create(vs_eval_pred **out) {
    *out = vs__calloc(1, sizeof **out);
    return *out ? VS_OK : vs__err(VS_ERR_NOMEM, "out of memory");
}

void vs_eval_pred_free(vs_eval_pred *p) {
    if (!p) return;
    vs__strtab_free(&p->ids);
    vs__pairmap_free(&p->idx);
    vs__free(p->q);
    vs__free(p->r);
    vs__free(p->score);
    vs__free(p);
}

vs_status vs_eval_pred_add(vs_eval_pred *p, const char *query_id, const char *ref_id, double score) {
    int32_t qi, ri;
    vs_status st;
    if (!p || !query_id || !ref_id) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_pred_add: NULL argument");
    if (score != score)
        return vs__err(VS_ERR_INVALID_ARG, "NaN score for (%s, %s)", query_id, ref_id);
    if ((st = vs__strtab_intern(&p->ids, query_id, &qi)) != VS_OK) return st;
    if ((st = vs__strtab_intern(&p->ids, ref_id, &ri)) != VS_OK) return st;
    int32_t old = vs__pairmap_get(&p->idx, qi, ri);
    if (old >= 0) {
        if (score > p->score[old]) p->score[old] = score;
        return VS_OK;
    }
    if (p->n >= INT32_MAX - 1) return vs__err(VS_ERR_UNSUPPORTED, "more than 2^31 predictions");
    if (p->n == p->cap) { /* grow the arrays before the map, so a failure leaves both consistent */
        size_t nc = p->cap ? 2 * p->cap : 1024;
        int32_t *a = vs__realloc(p->q, nc * sizeof *a);
        if (!a) goto nomem;
        p->q = a;
        a = vs__realloc(p->r, nc * sizeof *a);
        if (!a) goto nomem;
        p->r = a;
        double *s = vs__realloc(p->score, nc * sizeof *s);
        if (!s) goto nomem;
        p->score = s;
        p->cap = nc;
    }
    if ((st = vs__pairmap_put(&p->idx, qi, ri, (int32_t)p->n, NULL)) != VS_OK) return st;
    p->q[p->n] = qi;
    p->r[p->n] = ri;
    p->score[p->n] = score;
    p->n++;
    return VS_OK;
nomem:
    return vs__err(VS_ERR_NOMEM, "out of memory adding a prediction");
}

vs_status vs_eval_pred_load(vs_eval_pred **out, const char *path) {
    csv_file cf;
    const char **f;
    size_t nf;
    int line = 1, got, cq = -1, cr = -1, cs = -1;
    vs_status st;
    vs_eval_pred *p;
    *out = NULL;
    if ((st = vs_eval_pred_create(&p)) != VS_OK) return st;
    if ((st = vs__read_file(path, &cf.text, &cf.len)) != VS_OK) {
        vs_eval_pred_free(p);
        return st;
    }
    vs__csv_init(&cf.csv, (const char *)cf.text, cf.len);
    got = vs__csv_next(&cf.csv, &f, &nf, &line, &st);
    if (st != VS_OK) {
        vs__err_prefix(st, "%s:%d", path, cf.csv.line);
        goto fail;
    }
    if (got) {
        cq = find_col(f, nf, "query_id");
        cr = find_col(f, nf, "ref_id");
        cs = find_col(f, nf, "score");
    }
    if (cq < 0 || cr < 0 || cs < 0) {
        st = vs__err(VS_ERR_FORMAT, "%s:%d: missing column %s (the header must name query_id, "
                     "ref_id and score)", path, line,
                     cq < 0 ? "query_id" : cr < 0 ? "ref_id" : "score");
        goto fail;
    }
    for (;;) {
        if ((st = next_row(&cf, path, &f, &nf, &line, &got)) != VS_OK) goto fail;
        if (!got) break;
        if ((size_t)cq >= nf || (size_t)cr >= nf || (size_t)cs >= nf) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: %zu field%s, no value for %s", path, line, nf,
                         nf == 1 ? "" : "s",
                         (size_t)cq >= nf ? "query_id" : (size_t)cr >= nf ? "ref_id" : "score");
            goto fail;
        }
        double s;
        if (vs__parse_pyfloat(f[cs], &s) != 0) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: score '%.40s' is not a number", path, line, f[cs]);
            goto fail;
        }
        if (s != s) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: NaN score for (%s, %s)", path, line, f[cq], f[cr]);
            goto fail;
        }
        if ((st = vs_eval_pred_add(p, f[cq], f[cr], s)) != VS_OK) {
            vs__err_prefix(st, "%s:%d", path, line);
            goto fail;
        }
    }
    vs__csv_free(&cf.csv);
    vs__free(cf.text);
    *out = p;
    return VS_OK;
fail:
    vs__csv_free(&cf.csv);
    vs__free(cf.text);
    vs_eval_pred_free(p);
    return st;
}

void vs_eval_queries_free(vs_eval_queries *q) {
    if (!q) return;
    for (size_t i = 0; i < q->n; i++) {
        vs__free(q->q[i].id);
        for (size_t k = 0; k < q->q[i].n_edits; k++) vs__free(q->q[i].edits[k]);
        vs__free(q->q[i].edits);
    }
    vs__free(q->q);
    vs__free(q);
}

static vs_status query_from_json(vs__eval_query *dst, const vs__json *m, const char *path) {
    const vs__json *id = vs__json_get(m, "query_id");
    if (m->type != VS__JSON_OBJ)
        return vs__err(VS_ERR_FORMAT, "%s:%d: each entry must be an object, not %s", path, m->line,
                       vs__json_type_name(m));
    if (!id || id->type != VS__JSON_STR)
        return vs__err(VS_ERR_FORMAT, "%s:%d: \"query_id\" must be a string (is %s)", path, m->line,
                       vs__json_type_name(id));
    if (!(dst->id = vs__strdup(id->str))) return vs__err(VS_ERR_NOMEM, "out of memory");
    dst->positive = vs__json_truthy(vs__json_get(m, "ref_id"));
    if (!dst->positive) return VS_OK;
    const vs__json *ed = vs__json_get(m, "edits");
    if (!ed || ed->type != VS__JSON_ARR)
        return vs__err(VS_ERR_FORMAT, "%s:%d: query %s has a ref_id, so \"edits\" must be an "
                       "array of strings (is %s)", path, m->line, id->str, vs__json_type_name(ed));
    dst->edits = vs__calloc(ed->n ? ed->n : 1, sizeof *dst->edits);
    if (!dst->edits) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < ed->n; k++) {
        const vs__json *e = ed->items[k];
        if (e->type != VS__JSON_STR)
            return vs__err(VS_ERR_FORMAT, "%s:%d: an edit of query %s is %s, not a string", path,
                           e->line, id->str, vs__json_type_name(e));
        int dup = 0; /* set(m["edits"]) */
        for (size_t j = 0; j < dst->n_edits; j++) dup |= strcmp(dst->edits[j], e->str) == 0;
        if (dup) continue;
        if (!(dst->edits[dst->n_edits] = vs__strdup(e->str))) return vs__err(VS_ERR_NOMEM, "out of memory");
        dst->n_edits++;
    }
    if (dst->n_edits == 0) {
        if (!(dst->edits[0] = vs__strdup("none"))) return vs__err(VS_ERR_NOMEM, "out of memory");
        dst->n_edits = 1;
    }
    return VS_OK;
}

vs_status vs_eval_queries_load(vs_eval_queries **out, const char *path) {
    vs__json *root;
    vs_status st;
    *out = NULL;
    if ((st = vs__json_load(&root, path)) != VS_OK) return st;
    if (root->type != VS__JSON_ARR) {
        st = vs__err(VS_ERR_FORMAT, "%s: expected an array of queries, found %s", path,
                     vs__json_type_name(root));
        vs__json_free(root);
        return st;
    }
    vs_eval_queries *q = vs__calloc(1, sizeof *q);
    if (q) q->q = vs__calloc(root->n ? root->n : 1, sizeof *q->q);
    if (!q || !q->q) {
        vs__free(q);
        vs__json_free(root);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < root->n; i++) {
        q->n = i + 1; /* so that free releases a partly filled entry */
        if ((st = query_from_json(&q->q[i], root->items[i], path)) != VS_OK) {
            vs_eval_queries_free(q);
            vs__json_free(root);
            return st;
        }
    }
    q->n = root->n;
    vs__json_free(root);
    *out = q;
    return VS_OK;
}

/* ------------------------------------------------------------------ scoring -- */

typedef struct ranked {
    double s;
    int32_t u;         /* query in the unified id table */
    unsigned char pos;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->s > y->s) return -1;
    if (x->s < y->s) return 1;
    return (int)x->pos - (int)y->pos; /* negatives first: ties earn no credit */
}

typedef struct scorer {
    vs__strtab u;        /* every id of gt, pred and queries */
    size_t n_u;
    ranked *rk;          /* [n_rk] all predictions, sorted */
    size_t n_rk;
    long *npos;          /* [n_u] positive pairs per query */
    double *apsum;       /* [n_u] sum of tp/rank over the query's ranking */
    long *nrank;         /* [n_u] predictions seen so far (pass state) */
    long *tp;            /* [n_u] */
    signed char *top;    /* [n_u] -1 no prediction, else is the top one positive */
    unsigned char *in;   /* [n_u] membership of the current subset */
} scorer;

static void scorer_free(scorer *sc) {
    vs__strtab_free(&sc->u);
    vs__free(sc->rk);
    vs__free(sc->npos);
    vs__free(sc->apsum);
    vs__free(sc->nrank);
    vs__free(sc->tp);
    vs__free(sc->top);
    vs__free(sc->in);
}

static void figures(const scorer *sc, vs_eval_figures *f) {
    double sum = 0, ap_total = 0, r1_total = 0;
    long tp = 0, i = 0, g = 0, nq = 0, npq = 0;
    for (size_t k = 0; k < sc->n_rk; k++) {
        const ranked *e = &sc->rk[k];
        if (!sc->in[e->u]) continue;
        i++;
        if (e->pos) {
            tp++;
            sum += (double)tp / (double)i;
        }
    }
    for (size_t u = 0; u < sc->n_u; u++) {
        if (!sc->in[u]) continue;
        nq++;
        g += sc->npos[u];
        if (sc->npos[u] == 0) continue;
        npq++;
        ap_total += 100.0 * sc->apsum[u] / (double)sc->npos[u];
        r1_total += sc->top[u] == 1 ? 100.0 : 0.0;
    }
    f->uap = g ? 100.0 * sum / (double)g : NAN;
    f->map = npq ? ap_total / (double)npq : NAN;
    f->r1 = npq ? r1_total / (double)npq : NAN;
    f->n_queries = nq;
    f->n_positive_queries = npq;
    f->n_positive_pairs = g;
    f->n_predicted_pairs = i;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void vs_eval_report_free(vs_eval_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) vs__free((char *)r->subsets[i].subset);
    vs__free(r->subsets);
    vs__free(r);
}

static vs_status build(scorer *sc, const vs_eval_gt *gt, const vs_eval_pred *pred,
                       const vs_eval_queries *queries) {
    vs_status st;
    int32_t *g2u = NULL, *p2u = NULL, id;
    vs__pairmap posmap = {0};
    size_t n_all;
    g2u = vs__malloc((gt->ids.n + 1) * sizeof *g2u);
    p2u = vs__malloc((pred->ids.n + 1) * sizeof *p2u);
    if (!g2u || !p2u) goto nomem;
    for (size_t i = 0; i < gt->ids.n; i++) {
        if ((st = vs__strtab_intern(&sc->u, gt->ids.strs[i], &id)) != VS_OK) goto out;
        g2u[i] = id;
    }
    for (size_t i = 0; i < pred->ids.n; i++) {
        if ((st = vs__strtab_intern(&sc->u, pred->ids.strs[i], &id)) != VS_OK) goto out;
        p2u[i] = id;
    }
    if (queries)
        for (size_t i = 0; i < queries->n; i++)
            if ((st = vs__strtab_intern(&sc->u, queries->q[i].id, &id)) != VS_OK) goto out;
    n_all = sc->n_u = sc->u.n;
    sc->npos = vs__calloc(n_all + 1, sizeof *sc->npos);
    sc->apsum = vs__calloc(n_all + 1, sizeof *sc->apsum);
    sc->nrank = vs__calloc(n_all + 1, sizeof *sc->nrank);
    sc->tp = vs__calloc(n_all + 1, sizeof *sc->tp);
    sc->top = vs__malloc(n_all + 1);
    sc->in = vs__calloc(n_all + 1, 1);
    sc->rk = vs__malloc((pred->n + 1) * sizeof *sc->rk);
    if (!sc->npos || !sc->apsum || !sc->nrank || !sc->tp || !sc->top || !sc->in || !sc->rk)
        goto nomem;
    memset(sc->top, 0xff, n_all + 1);
    for (size_t k = 0; k < gt->n_pos; k++) {
        int32_t q = g2u[gt->pq[k]], r = g2u[gt->pr[k]];
        if ((st = vs__pairmap_put(&posmap, q, r, 1, NULL)) != VS_OK) goto out;
        sc->npos[q]++;
    }
    for (size_t k = 0; k < pred->n; k++) {
        int32_t q = p2u[pred->q[k]], r = p2u[pred->r[k]];
        sc->rk[k].s = pred->score[k];
        sc->rk[k].u = q;
        sc->rk[k].pos = vs__pairmap_get(&posmap, q, r) >= 0;
    }
    sc->n_rk = pred->n;
    qsort(sc->rk, sc->n_rk, sizeof *sc->rk, cmp_ranked);
    /* One pass gives every query's own AP sum and top-1: the global order
     * restricted to one query is that query's order. */
    for (size_t k = 0; k < sc->n_rk; k++) {
        const ranked *e = &sc->rk[k];
        long rank = ++sc->nrank[e->u];
        if (rank == 1) sc->top[e->u] = (signed char)e->pos;
        if (e->pos) sc->apsum[e->u] += (double)++sc->tp[e->u] / (double)rank;
    }
    st = VS_OK;
    goto out;
nomem:
    st = vs__err(VS_ERR_NOMEM, "out of memory scoring %zu predictions", pred->n);
out:
    vs__pairmap_free(&posmap);
    vs__free(g2u);
    vs__free(p2u);
    return st;
}

/* Collect the distinct edit names of the positive queries, sorted by bytes. */
static vs_status edit_names(const vs_eval_queries *queries, char ***names, size_t *n) {
    size_t total = 0, k = 0;
    *names = NULL;
    *n = 0;
    for (size_t i = 0; i < queries->n; i++) total += queries->q[i].n_edits;
    char **all = vs__malloc((total + 1) * sizeof *all);
    if (!all) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < queries->n; i++)
        for (size_t e = 0; e < queries->q[i].n_edits; e++) all[k++] = queries->q[i].edits[e];
    qsort(all, total, sizeof *all, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < total; i++)
        if (m == 0 || strcmp(all[m - 1], all[i]) != 0) all[m++] = all[i];
    *names = all; /* borrowed strings */
    *n = m;
    return VS_OK;
}

static vs_status set_name(vs_eval_figures *f, const char *name) {
    char *c = vs__strdup(name);
    if (!c) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs__free((char *)f->subset);
    f->subset = c;
    return VS_OK;
}

vs_status vs_eval_score(vs_eval_report **out, const vs_eval_gt *gt, const vs_eval_pred *pred,
                        const vs_eval_queries *queries) {
    scorer sc;
    vs_status st;
    char **names = NULL;
    size_t n_names = 0;
    *out = NULL;
    if (!gt || !pred) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_score: NULL gt or pred");
    memset(&sc, 0, sizeof sc);
    vs_eval_report *rep = vs__calloc(1, sizeof *rep);
    if (!rep) return vs__err(VS_ERR_NOMEM, "out of memory");
    if ((st = build(&sc, gt, pred, queries)) != VS_OK) goto fail;
    /* score.py: "if metas:" - an empty queries.json gives no per-edit figures. */
    if (queries && queries->n && (st = edit_names(queries, &names, &n_names)) != VS_OK) goto fail;
    rep->subsets = vs__calloc(n_names + 1, sizeof *rep->subsets);
    if (!rep->subsets) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    rep->n = 1;
    if ((st = set_name(&rep->subsets[0], "all")) != VS_OK) goto fail;
    if (queries) {
        for (size_t i = 0; i < queries->n; i++) sc.in[vs__strtab_find(&sc.u, queries->q[i].id)] = 1;
    } else {
        for (size_t k = 0; k < gt->n_pos; k++)
            sc.in[vs__strtab_find(&sc.u, gt->ids.strs[gt->pq[k]])] = 1;
        for (size_t k = 0; k < pred->n; k++)
            sc.in[vs__strtab_find(&sc.u, pred->ids.strs[pred->q[k]])] = 1;
    }
    figures(&sc, &rep->subsets[0]);
    for (size_t e = 0; e < n_names; e++) {
        memset(sc.in, 0, sc.n_u);
        for (size_t i = 0; i < queries->n; i++) {
            const vs__eval_query *q = &queries->q[i];
            int take = !q->positive;
            for (size_t k = 0; k < q->n_edits && !take; k++) take = strcmp(q->edits[k], names[e]) == 0;
            if (take) sc.in[vs__strtab_find(&sc.u, q->id)] = 1;
        }
        /* score.py keeps results in a dict keyed by name: an edit called "all"
         * replaces the overall figures in place. */
        vs_eval_figures *f = strcmp(names[e], "all") == 0 ? &rep->subsets[0] : &rep->subsets[rep->n++];
        figures(&sc, f);
        if ((st = set_name(f, names[e])) != VS_OK) goto fail;
    }
    vs__free(names);
    scorer_free(&sc);
    *out = rep;
    return VS_OK;
fail:
    vs__free(names);
    scorer_free(&sc);
    vs_eval_report_free(rep);
    return st;
}
