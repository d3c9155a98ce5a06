/*
 * segments.c - copied-segment localisation scoring: the VSC22 matching-track
 * segment AP and the pairwise uAP of shared/bench/score_segments.py, which is the
 * definition (docs/eval.md, "Segment mode"). Loads segment CSVs (query_id, ref_id,
 * query_start, query_end, ref_start, ref_end[, score]) with the CSV and float()
 * rules of csvread.c, reads queries.json's edit lists, and scores overall and per
 * edit.
 *
 * How it stays O(P log P): the predictions are sorted once. score_segments.py
 * recomputes the touched (query, ref) pair from scratch after each prediction;
 * here each pair keeps, per axis, its merged predicted intervals and its merged
 * counted gt intervals as sorted disjoint arrays. A new prediction can change the
 * intersection only inside the window spanned by its own interval and the gt boxes
 * it newly makes counted, so the intersection is recomputed in that window only
 * (before and after the insertion) and the difference added. Results agree with
 * the Python scorer up to floating-point summation order (about 1e-12).
 *
 * Not done here: anything beyond score_segments.py (no IoU matching, no
 * per-query AP); no output formatting (tools/cli/cmd_eval.c prints).
 */
#include "eval/eval_internal.h"
#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct vs_eval_segments {
    vs__strtab ids;   /* query and ref ids share one table */
    int32_t *q, *r;   /* [n] ids */
    double *box;      /* [n][4] query_start, query_end, ref_start, ref_end (seconds) */
    double *score;    /* [n] */
    size_t n, cap;
};

struct vs_eval_segment_queries {
    char **edit;      /* [n_edits] distinct edit names, byte order */
    size_t n_edits;
    size_t *off;      /* [n_edits + 1] CSR offsets into qid */
    char **qid;       /* [off[n_edits]] query ids of each edit (owned, may repeat) */
};

/* ------------------------------------------------------------------ loading -- */

size_t vs_eval_segments_count(const vs_eval_segments *s) { return s ? s->n : 0; }

void vs_eval_segments_free(vs_eval_segments *s) {
    if (!s) return;
    vs__strtab_free(&s->ids);
    vs__free(s->q);
    vs__free(s->r);
    vs__free(s->box);
    vs__free(s->score);
    vs__free(s);
}

vs_status vs_eval_segments_create(vs_eval_segments **out) {
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_segments_create: NULL out");
    *out = vs__calloc(1, sizeof **out);
    return *out ? VS_OK : vs__err(VS_ERR_NOMEM, "out of memory");
}

vs_status vs_eval_segments_add(vs_eval_segments *s, const char *query_id, const char *ref_id,
                               double query_start, double query_end, double ref_start,
                               double ref_end, double score) {
    int32_t qi, ri;
    vs_status st;
    if (!s || !query_id || !ref_id)
        return vs__err(VS_ERR_INVALID_ARG, "vs_eval_segments_add: NULL argument");
    if (!isfinite(query_start) || !isfinite(query_end) || !isfinite(ref_start) ||
        !isfinite(ref_end) || !isfinite(score))
        return vs__err(VS_ERR_INVALID_ARG, "segment (%s, %s): a value is not finite", query_id,
                       ref_id);
    if (query_end < query_start || ref_end < ref_start)
        return vs__err(VS_ERR_INVALID_ARG, "segment (%s, %s): %s_end < %s_start", query_id, ref_id,
                       query_end < query_start ? "query" : "ref",
                       query_end < query_start ? "query" : "ref");
    if (s->n >= INT32_MAX - 1) return vs__err(VS_ERR_UNSUPPORTED, "more than 2^31 segment rows");
    if (s->n == s->cap) { /* grow every array before interning, so a failure leaves s consistent */
        size_t nc = s->cap ? 2 * s->cap : 256;
        int32_t *a = vs__realloc(s->q, nc * sizeof *a);
        if (!a) goto nomem;
        s->q = a;
        a = vs__realloc(s->r, nc * sizeof *a);
        if (!a) goto nomem;
        s->r = a;
        double *d = vs__realloc(s->box, nc * 4 * sizeof *d);
        if (!d) goto nomem;
        s->box = d;
        d = vs__realloc(s->score, nc * sizeof *d);
        if (!d) goto nomem;
        s->score = d;
        s->cap = nc;
    }
    if ((st = vs__strtab_intern(&s->ids, query_id, &qi)) != VS_OK) return st;
    if ((st = vs__strtab_intern(&s->ids, ref_id, &ri)) != VS_OK) return st;
    s->q[s->n] = qi;
    s->r[s->n] = ri;
    double *b = s->box + 4 * s->n;
    b[0] = query_start;
    b[1] = query_end;
    b[2] = ref_start;
    b[3] = ref_end;
    s->score[s->n] = score;
    s->n++;
    return VS_OK;
nomem:
    return vs__err(VS_ERR_NOMEM, "out of memory adding a segment");
}

/* Column names in the order of the stored values; the last is score. */
static const char *const col_names[7] = {"query_id",  "ref_id",  "query_start", "query_end",
                                         "ref_start", "ref_end", "score"};

vs_status vs_eval_segments_load(vs_eval_segments **out, const char *path, int need_score) {
    unsigned char *text = NULL;
    size_t len = 0, nf = 0;
    const char **f = NULL;
    int line = 1, got, col[7];
    const int n_cols = need_score ? 7 : 6;
    vs__csv csv;
    vs_status st;
    vs_eval_segments *s = NULL;
    if (!out || !path) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_segments_load: NULL argument");
    *out = NULL;
    if ((st = vs__read_file(path, &text, &len)) != VS_OK) return st;
    vs__csv_init(&csv, (const char *)text, len);
    if ((st = vs_eval_segments_create(&s)) != VS_OK) goto fail;
    /* The header is the first record, even a blank one (csv.DictReader). */
    got = vs__csv_next(&csv, &f, &nf, &line, &st);
    if (st != VS_OK) {
        vs__err_prefix(st, "%s:%d", path, csv.line);
        goto fail;
    }
    if (!got) {
        st = vs__err(VS_ERR_FORMAT, "%s:1: empty file, expected a header naming query_id, ref_id, "
                     "query_start, query_end, ref_start, ref_end%s", path,
                     need_score ? ", score" : "");
        goto fail;
    }
    {
        char missing[160] = "";
        for (int c = 0; c < n_cols; c++) {
            col[c] = -1;
            /* DictReader: a repeated name maps to its last column */
            for (size_t i = 0; i < nf; i++)
                if (strcmp(f[i], col_names[c]) == 0) col[c] = (int)i;
            if (col[c] < 0) {
                if (missing[0]) strcat(missing, ", ");
                strcat(missing, col_names[c]);
            }
        }
        if (missing[0]) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: missing column(s) %s", path, line, missing);
            goto fail;
        }
    }
    for (;;) {
        do {
            got = vs__csv_next(&csv, &f, &nf, &line, &st);
            if (st != VS_OK) {
                vs__err_prefix(st, "%s:%d", path, csv.line);
                goto fail;
            }
        } while (got && nf == 0); /* DictReader skips blank rows */
        if (!got) break;
        double v[5] = {0, 0, 0, 0, 1.0}; /* box, score (1.0 for gt, as score_segments.py) */
        for (int c = 0; c < n_cols; c++) {
            if ((size_t)col[c] >= nf) {
                st = vs__err(VS_ERR_FORMAT, "%s:%d: %zu field%s, no value for %s", path, line, nf,
                             nf == 1 ? "" : "s", col_names[c]);
                goto fail;
            }
            if (c < 2) continue;
            const char *t = f[col[c]];
            if (vs__parse_pyfloat(t, &v[c - 2]) != 0) {
                st = vs__err(VS_ERR_FORMAT, "%s:%d: %s '%.40s' is not a number", path, line,
                             col_names[c], t);
                goto fail;
            }
        }
        for (int c = 2; c < n_cols; c++)
            if (!isfinite(v[c - 2])) {
                st = vs__err(VS_ERR_FORMAT, "%s:%d: %s is %s, not a finite number", path, line,
                             col_names[c], isnan(v[c - 2]) ? "NaN" : "infinite");
                goto fail;
            }
        for (int ax = 0; ax < 2; ax++)
            if (v[2 * ax + 1] < v[2 * ax]) {
                st = vs__err(VS_ERR_FORMAT, "%s:%d: bad segment: %s %.17g < %s %.17g", path, line,
                             col_names[3 + 2 * ax], v[2 * ax + 1], col_names[2 + 2 * ax],
                             v[2 * ax]);
                goto fail;
            }
        if ((st = vs_eval_segments_add(s, f[col[0]], f[col[1]], v[0], v[1], v[2], v[3], v[4])) !=
            VS_OK) {
            vs__err_prefix(st, "%s:%d", path, line);
            goto fail;
        }
    }
    vs__csv_free(&csv);
    vs__free(text);
    *out = s;
    return VS_OK;
fail:
    vs__csv_free(&csv);
    vs__free(text);
    vs_eval_segments_free(s);
    return st;
}

void vs_eval_segment_queries_free(vs_eval_segment_queries *q) {
    if (!q) return;
    for (size_t i = 0; i < q->n_edits; i++) vs__free(q->edit[i]);
    if (q->off)
        for (size_t i = 0; i < q->off[q->n_edits]; i++) vs__free(q->qid[i]);
    vs__free(q->edit);
    vs__free(q->off);
    vs__free(q->qid);
    vs__free(q);
}

static int cmp_strp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Index of name in the sorted names[n], or -1. */
static long find_name(char *const *names, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid], name);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* score_segments.py: for q in json.load(f): for e in q.get("edits", []):
 * edits[e].add(q["query_id"]). Two passes over the tree: validate and collect
 * the edit names, then fill the per-edit query lists. */
vs_status vs_eval_segment_queries_load(vs_eval_segment_queries **out, const char *path) {
    vs__json *root = NULL;
    vs_status st;
    vs_eval_segment_queries *q = NULL;
    const char **names = NULL;
    size_t *fill = NULL, total = 0;
    if (!out || !path)
        return vs__err(VS_ERR_INVALID_ARG, "vs_eval_segment_queries_load: NULL argument");
    *out = NULL;
    if ((st = vs__json_load(&root, path)) != VS_OK) return st;
    if (root->type != VS__JSON_ARR) {
        st = vs__err(VS_ERR_FORMAT, "%s:%d: expected an array of queries, found %s", path,
                     root->line, vs__json_type_name(root));
        goto out;
    }
    for (size_t i = 0; i < root->n; i++) {
        const vs__json *m = root->items[i];
        if (m->type != VS__JSON_OBJ) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: each entry must be an object, not %s", path,
                         m->line, vs__json_type_name(m));
            goto out;
        }
        const vs__json *ed = vs__json_get(m, "edits"), *id = vs__json_get(m, "query_id");
        if (!ed) continue;
        if (ed->type != VS__JSON_ARR) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: \"edits\" must be an array of strings (is %s)",
                         path, ed->line, vs__json_type_name(ed));
            goto out;
        }
        if (ed->n && (!id || id->type != VS__JSON_STR)) {
            st = vs__err(VS_ERR_FORMAT, "%s:%d: \"query_id\" must be a string (is %s)", path,
                         m->line, vs__json_type_name(id));
            goto out;
        }
        for (size_t k = 0; k < ed->n; k++)
            if (ed->items[k]->type != VS__JSON_STR) {
                st = vs__err(VS_ERR_FORMAT, "%s:%d: an edit of query %s is %s, not a string", path,
                             ed->items[k]->line, id->str, vs__json_type_name(ed->items[k]));
                goto out;
            }
        total += ed->n;
    }
    q = vs__calloc(1, sizeof *q);
    names = vs__malloc((total + 1) * sizeof *names);
    if (!q || !names) goto nomem;
    total = 0;
    for (size_t i = 0; i < root->n; i++) {
        const vs__json *ed = vs__json_get(root->items[i], "edits");
        for (size_t k = 0; ed && k < ed->n; k++) names[total++] = ed->items[k]->str;
    }
    qsort(names, total, sizeof *names, cmp_strp);
    size_t m = 0;
    for (size_t i = 0; i < total; i++)
        if (m == 0 || strcmp(names[m - 1], names[i]) != 0) names[m++] = names[i];
    q->edit = vs__calloc(m + 1, sizeof *q->edit);
    q->off = vs__calloc(m + 1, sizeof *q->off);
    q->qid = vs__calloc(total + 1, sizeof *q->qid);
    fill = vs__calloc(m + 1, sizeof *fill);
    if (!q->edit || !q->off || !q->qid || !fill) goto nomem;
    for (size_t e = 0; e < m; e++) {
        if (!(q->edit[e] = vs__strdup(names[e]))) goto nomem;
        q->n_edits = e + 1; /* free releases what is filled */
    }
    /* count per edit, then place (ids allocated last so free can walk off[]) */
    for (size_t i = 0; i < root->n; i++) {
        const vs__json *ed = vs__json_get(root->items[i], "edits");
        for (size_t k = 0; ed && k < ed->n; k++)
            q->off[find_name(q->edit, m, ed->items[k]->str) + 1]++;
    }
    for (size_t e = 0; e < m; e++) q->off[e + 1] += q->off[e];
    for (size_t i = 0; i < root->n; i++) {
        const vs__json *ed = vs__json_get(root->items[i], "edits");
        const vs__json *id = vs__json_get(root->items[i], "query_id");
        for (size_t k = 0; ed && k < ed->n; k++) {
            long e = find_name(q->edit, m, ed->items[k]->str);
            if (!(q->qid[q->off[e] + fill[e]++] = vs__strdup(id->str))) goto nomem;
        }
    }
    st = VS_OK;
    goto out;
nomem:
    st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
out:
    vs__free(names);
    vs__free(fill);
    vs__json_free(root);
    if (st == VS_OK) {
        *out = q;
    } else {
        vs_eval_segment_queries_free(q);
    }
    return st;
}

/* ------------------------------------------------------ merged interval sets -- */

/* A union of intervals kept as sorted, disjoint, non-touching [s, e] with e > s
 * (zero-length intervals add nothing to any length, so they are never stored). */
typedef struct ivset {
    double *v; /* [2 * n]: s0, e0, s1, e1, ... */
    int n, cap;
} ivset;

/* First interval whose end is >= x (touching counts), or n. */
static int iv_lower(const ivset *a, double x) {
    int lo = 0, hi = a->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a->v[2 * mid + 1] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Add [s, e] (e > s) to the union; *grow gets the added length. -1 when out of memory. */
static int iv_insert(ivset *a, double s, double e, double *grow) {
    int i = iv_lower(a, s), j = i;
    double removed = 0;
    while (j < a->n && a->v[2 * j] <= e) { /* intervals i..j-1 overlap or touch [s, e] */
        removed += a->v[2 * j + 1] - a->v[2 * j];
        if (a->v[2 * j] < s) s = a->v[2 * j];
        if (a->v[2 * j + 1] > e) e = a->v[2 * j + 1];
        j++;
    }
    if (grow) *grow = (e - s) - removed;
    if (j == i) { /* no overlap: insert at i */
        if (a->n == a->cap) {
            int nc = a->cap ? 2 * a->cap : 4;
            double *nv = vs__realloc(a->v, (size_t)nc * 2 * sizeof *nv);
            if (!nv) return -1;
            a->v = nv;
            a->cap = nc;
        }
        memmove(a->v + 2 * (i + 1), a->v + 2 * i, (size_t)(a->n - i) * 2 * sizeof *a->v);
        a->n++;
    } else if (j > i + 1) { /* merge i..j-1 into i */
        memmove(a->v + 2 * (i + 1), a->v + 2 * j, (size_t)(a->n - j) * 2 * sizeof *a->v);
        a->n -= j - i - 1;
    }
    a->v[2 * i] = s;
    a->v[2 * i + 1] = e;
    return 0;
}

/* Length of a ∩ b ∩ [lo, hi]. */
static double iv_overlap_in(const ivset *a, const ivset *b, double lo, double hi) {
    int i = iv_lower(a, lo), j = iv_lower(b, lo);
    double tot = 0;
    while (i < a->n && j < b->n && a->v[2 * i] < hi && b->v[2 * j] < hi) {
        double l = a->v[2 * i] > b->v[2 * j] ? a->v[2 * i] : b->v[2 * j];
        double h = a->v[2 * i + 1] < b->v[2 * j + 1] ? a->v[2 * i + 1] : b->v[2 * j + 1];
        if (l < lo) l = lo;
        if (h > hi) h = hi;
        if (h > l) tot += h - l;
        if (a->v[2 * i + 1] < b->v[2 * j + 1]) i++;
        else j++;
    }
    return tot;
}

/* score_segments.py's boxes_touch: positive overlap on both axes. */
static int boxes_touch(const double *p, const double *g) {
    return fmin(p[1], g[1]) > fmax(p[0], g[0]) && fmin(p[3], g[3]) > fmax(p[2], g[2]);
}

static int cmp_interval(const void *a, const void *b) {
    const double *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Python's length(merged(intervals)) for the n boxes idx[] of rows, on axis ax;
 * tmp holds 2n doubles. Summed in the same order as score_segments.py. */
static double merged_length(const double *box, const int32_t *idx, size_t n, int ax, double *tmp) {
    for (size_t k = 0; k < n; k++) {
        tmp[2 * k] = box[4 * idx[k] + 2 * ax];
        tmp[2 * k + 1] = box[4 * idx[k] + 2 * ax + 1];
    }
    qsort(tmp, n, 2 * sizeof *tmp, cmp_interval);
    double total = 0, cs = 0, ce = 0;
    for (size_t k = 0; k < n; k++) {
        double s = tmp[2 * k], e = tmp[2 * k + 1];
        if (k > 0 && s <= ce) {
            if (e > ce) ce = e;
        } else {
            if (k > 0) total += ce - cs;
            cs = s;
            ce = e;
        }
    }
    if (n > 0) total += ce - cs;
    return total;
}

/* ------------------------------------------------------------------ scoring -- */

typedef struct order_key {
    double s;
    int32_t i;  /* tie-break: input order (Python's sort is stable) */
    int32_t k;  /* payload */
} order_key;

static int cmp_order(const void *a, const void *b) {
    const order_key *x = a, *y = b;
    if (x->s > y->s) return -1;
    if (x->s < y->s) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Per-pair scoring state of one subset. */
typedef struct pair_state {
    ivset p[2], g[2];   /* merged predicted / counted gt intervals per axis */
    int32_t n_wait;     /* gt boxes not yet touched: gperm[gt_off[k] .. + n_wait) */
} pair_state;

typedef struct seg_scorer {
    vs__strtab u;       /* every id of gt and pred */
    int32_t *gq, *gr;   /* [gt->n] unified ids of gt rows */
    int32_t *pq;        /* [pred->n] unified query id of prediction rows */
    int32_t *ppair;     /* [pred->n] pair of each prediction row */
    vs__pairmap pairs;  /* (query, ref) -> pair index */
    size_t n_pairs;
    int32_t *pair_q;    /* [n_pairs] unified query id */
    size_t *gt_off;     /* [n_pairs + 1] CSR of gt rows per pair */
    int32_t *gt_rows;   /* [gt->n] */
    int32_t *gperm;     /* [gt->n] working copy of gt_rows (touched boxes move to the end) */
    double *gt_len;     /* [n_pairs][2] merged gt length per axis */
    order_key *pord;    /* [pred->n] predictions, best first */
    order_key *uord;    /* [n_upairs] predicted pairs, best score first, then first seen */
    size_t n_upairs;
    pair_state *st;     /* [n_pairs] */
    unsigned char *in;  /* [u.n] query of the current subset */
} seg_scorer;

static void seg_scorer_free(seg_scorer *sc) {
    vs__strtab_free(&sc->u);
    vs__pairmap_free(&sc->pairs);
    vs__free(sc->gq);
    vs__free(sc->gr);
    vs__free(sc->pq);
    vs__free(sc->ppair);
    vs__free(sc->pair_q);
    vs__free(sc->gt_off);
    vs__free(sc->gt_rows);
    vs__free(sc->gperm);
    vs__free(sc->gt_len);
    vs__free(sc->pord);
    vs__free(sc->uord);
    if (sc->st)
        for (size_t k = 0; k < sc->n_pairs; k++)
            for (int ax = 0; ax < 2; ax++) {
                vs__free(sc->st[k].p[ax].v);
                vs__free(sc->st[k].g[ax].v);
            }
    vs__free(sc->st);
    vs__free(sc->in);
}

/* Pair index of (q, r), added when new. */
static vs_status pair_of(seg_scorer *sc, int32_t q, int32_t r, size_t *cap, int32_t *out) {
    int32_t k = vs__pairmap_get(&sc->pairs, q, r);
    if (k >= 0) {
        *out = k;
        return VS_OK;
    }
    if (sc->n_pairs == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        int32_t *a = vs__realloc(sc->pair_q, nc * sizeof *a);
        if (!a) return vs__err(VS_ERR_NOMEM, "out of memory");
        sc->pair_q = a;
        *cap = nc;
    }
    vs_status st = vs__pairmap_put(&sc->pairs, q, r, (int32_t)sc->n_pairs, NULL);
    if (st != VS_OK) return st;
    sc->pair_q[sc->n_pairs] = q;
    *out = (int32_t)sc->n_pairs++;
    return VS_OK;
}

static vs_status seg_build(seg_scorer *sc, const vs_eval_segments *gt,
                           const vs_eval_segments *pred) {
    vs_status st;
    int32_t *g2u = NULL, *p2u = NULL, *gpair = NULL, *first = NULL, id;
    double *best = NULL, *tmp = NULL;
    size_t cap = 0;
    g2u = vs__malloc((gt->ids.n + 1) * sizeof *g2u);
    p2u = vs__malloc((pred->ids.n + 1) * sizeof *p2u);
    gpair = vs__malloc((gt->n + 1) * sizeof *gpair);
    sc->gq = vs__malloc((gt->n + 1) * sizeof *sc->gq);
    sc->gr = vs__malloc((gt->n + 1) * sizeof *sc->gr);
    sc->pq = vs__malloc((pred->n + 1) * sizeof *sc->pq);
    sc->ppair = vs__malloc((pred->n + 1) * sizeof *sc->ppair);
    sc->pord = vs__malloc((pred->n + 1) * sizeof *sc->pord);
    if (!g2u || !p2u || !gpair || !sc->gq || !sc->gr || !sc->pq || !sc->ppair || !sc->pord)
        goto nomem;
    for (size_t i = 0; i < gt->ids.n; i++) {
        if ((st = vs__strtab_intern(&sc->u, gt->ids.strs[i], &id)) != VS_OK) goto out;
        g2u[i] = id;
    }
    for (size_t i = 0; i < pred->ids.n; i++) {
        if ((st = vs__strtab_intern(&sc->u, pred->ids.strs[i], &id)) != VS_OK) goto out;
        p2u[i] = id;
    }
    /* Pairs numbered by first appearance, gt rows first: the gt length sums then
     * run in score_segments.py's order (its gt_boxes dict). */
    for (size_t i = 0; i < gt->n; i++) {
        sc->gq[i] = g2u[gt->q[i]];
        sc->gr[i] = g2u[gt->r[i]];
        if ((st = pair_of(sc, sc->gq[i], sc->gr[i], &cap, &gpair[i])) != VS_OK) goto out;
    }
    size_t n_gt_pairs = sc->n_pairs;
    for (size_t i = 0; i < pred->n; i++) {
        sc->pq[i] = p2u[pred->q[i]];
        if ((st = pair_of(sc, sc->pq[i], p2u[pred->r[i]], &cap, &sc->ppair[i])) != VS_OK) goto out;
    }
    size_t np = sc->n_pairs;
    sc->gt_off = vs__calloc(np + 1, sizeof *sc->gt_off);
    sc->gt_rows = vs__malloc((gt->n + 1) * sizeof *sc->gt_rows);
    sc->gperm = vs__malloc((gt->n + 1) * sizeof *sc->gperm);
    sc->gt_len = vs__calloc(2 * (n_gt_pairs + 1), sizeof *sc->gt_len);
    sc->st = vs__calloc(np + 1, sizeof *sc->st);
    sc->in = vs__calloc(sc->u.n + 1, 1);
    best = vs__malloc((np + 1) * sizeof *best);
    first = vs__malloc((np + 1) * sizeof *first);
    sc->uord = vs__malloc((np + 1) * sizeof *sc->uord);
    tmp = vs__malloc((2 * gt->n + 2) * sizeof *tmp);
    if (!sc->gt_off || !sc->gt_rows || !sc->gperm || !sc->gt_len || !sc->st || !sc->in || !best ||
        !first || !sc->uord || !tmp)
        goto nomem;
    /* gt rows grouped by pair (CSR), in file order within a pair */
    for (size_t i = 0; i < gt->n; i++) sc->gt_off[gpair[i] + 1]++;
    for (size_t k = 0; k < np; k++) sc->gt_off[k + 1] += sc->gt_off[k];
    {
        size_t *fill = vs__calloc(np + 1, sizeof *fill);
        if (!fill) goto nomem;
        for (size_t i = 0; i < gt->n; i++)
            sc->gt_rows[sc->gt_off[gpair[i]] + fill[gpair[i]]++] = (int32_t)i;
        vs__free(fill);
    }
    for (size_t k = 0; k < n_gt_pairs; k++)
        for (int ax = 0; ax < 2; ax++)
            sc->gt_len[2 * k + ax] = merged_length(gt->box, sc->gt_rows + sc->gt_off[k],
                                                   sc->gt_off[k + 1] - sc->gt_off[k], ax, tmp);
    /* predictions by score, stable */
    for (size_t i = 0; i < pred->n; i++) {
        sc->pord[i].s = pred->score[i];
        sc->pord[i].i = (int32_t)i;
        sc->pord[i].k = (int32_t)i;
    }
    qsort(sc->pord, pred->n, sizeof *sc->pord, cmp_order);
    /* pair_uap: best score per pair, pairs in order of first appearance in pred */
    for (size_t k = 0; k < np; k++) first[k] = -1;
    for (size_t i = 0; i < pred->n; i++) {
        int32_t k = sc->ppair[i];
        if (first[k] < 0) {
            first[k] = (int32_t)i;
            best[k] = pred->score[i];
        } else if (pred->score[i] > best[k]) {
            best[k] = pred->score[i];
        }
    }
    for (size_t k = 0; k < np; k++)
        if (first[k] >= 0) {
            sc->uord[sc->n_upairs].s = best[k];
            sc->uord[sc->n_upairs].i = first[k];
            sc->uord[sc->n_upairs].k = (int32_t)k;
            sc->n_upairs++;
        }
    qsort(sc->uord, sc->n_upairs, sizeof *sc->uord, cmp_order);
    st = VS_OK;
    goto out;
nomem:
    st = vs__err(VS_ERR_NOMEM, "out of memory scoring %zu segment predictions", pred->n);
out:
    vs__free(g2u);
    vs__free(p2u);
    vs__free(gpair);
    vs__free(best);
    vs__free(first);
    vs__free(tmp);
    return st;
}

/* Add prediction box b to pair k and update the running sums inter[2], tot[2]. */
static int add_prediction(seg_scorer *sc, const double *gbox, size_t k, const double *b,
                          double *inter, double *tot) {
    pair_state *ps = &sc->st[k];
    int32_t *wait = sc->gperm + sc->gt_off[k];
    int32_t n_new = 0;
    /* gt boxes this prediction touches for the first time move from the front part
     * wait[0 .. n_wait) to just after it: wait[n_wait .. n_wait + n_new) */
    for (int32_t m = ps->n_wait - 1; m >= 0; m--)
        if (boxes_touch(b, gbox + 4 * wait[m])) {
            int32_t t = wait[m];
            wait[m] = wait[ps->n_wait - 1];
            wait[ps->n_wait - 1] = t;
            ps->n_wait--;
            n_new++;
        }
    for (int ax = 0; ax < 2; ax++) {
        double s = b[2 * ax], e = b[2 * ax + 1], lo = s, hi = e, grow = 0;
        for (int32_t m = 0; m < n_new; m++) {
            const double *g = gbox + 4 * wait[ps->n_wait + m];
            if (g[2 * ax] < lo) lo = g[2 * ax];
            if (g[2 * ax + 1] > hi) hi = g[2 * ax + 1];
        }
        /* nothing changes outside [lo, hi]: the new interval and the new gt lie in it */
        double before = hi > lo ? iv_overlap_in(&ps->p[ax], &ps->g[ax], lo, hi) : 0;
        if (e > s && iv_insert(&ps->p[ax], s, e, &grow) != 0) return -1;
        for (int32_t m = 0; m < n_new; m++) {
            const double *g = gbox + 4 * wait[ps->n_wait + m];
            if (iv_insert(&ps->g[ax], g[2 * ax], g[2 * ax + 1], NULL) != 0) return -1;
        }
        double after = hi > lo ? iv_overlap_in(&ps->p[ax], &ps->g[ax], lo, hi) : 0;
        inter[ax] += after - before;
        tot[ax] += grow;
    }
    return 0;
}

/* Segment AP (fraction) of the predictions and gt of the queries marked in sc->in. */
static vs_status segment_ap(seg_scorer *sc, const vs_eval_segments *gt,
                            const vs_eval_segments *pred, double *out) {
    double gl[2] = {0, 0}, inter[2] = {0, 0}, tot[2] = {0, 0}, ap = 0, recall = 0;
    *out = 0;
    for (size_t k = 0; k < sc->n_pairs; k++) {
        pair_state *ps = &sc->st[k];
        for (int ax = 0; ax < 2; ax++) ps->p[ax].n = ps->g[ax].n = 0;
        ps->n_wait = (int32_t)(sc->gt_off[k + 1] - sc->gt_off[k]);
        if (ps->n_wait && sc->in[sc->pair_q[k]]) {
            gl[0] += sc->gt_len[2 * k];
            gl[1] += sc->gt_len[2 * k + 1];
        }
    }
    if (gl[0] <= 0 || gl[1] <= 0) return VS_OK; /* as score_segments.py: no gt length, AP 0 */
    memcpy(sc->gperm, sc->gt_rows, gt->n * sizeof *sc->gperm);
    size_t i = 0;
    while (i < pred->n) {
        if (!sc->in[sc->pq[sc->pord[i].k]]) {
            i++;
            continue;
        }
        double step = sc->pord[i].s;
        /* one step: every prediction of the subset with this score */
        for (; i < pred->n && sc->pord[i].s == step; i++) {
            int32_t r = sc->pord[i].k;
            if (!sc->in[sc->pq[r]]) continue;
            if (add_prediction(sc, gt->box, (size_t)sc->ppair[r], pred->box + 4 * r, inter,
                               tot) != 0)
                return vs__err(VS_ERR_NOMEM, "out of memory scoring segments");
        }
        double rq = inter[0] / gl[0], rr = inter[1] / gl[1];
        double pq = tot[0] > 0 ? inter[0] / tot[0] : 0.0;
        double pr = tot[1] > 0 ? inter[1] / tot[1] : 0.0;
        double new_recall = sqrt(fmax(rq, 0) * fmax(rr, 0));
        ap += sqrt(fmax(pq, 0) * fmax(pr, 0)) * (new_recall - recall);
        recall = new_recall;
    }
    *out = ap;
    return VS_OK;
}

/* Figures of the subset marked in sc->in. */
static vs_status subset_figures(seg_scorer *sc, const vs_eval_segments *gt,
                                const vs_eval_segments *pred, vs_eval_segment_figures *f) {
    long n_gt = 0, n = 0, hits = 0;
    double ap = 0, sap;
    vs_status st;
    for (size_t k = 0; k < sc->n_pairs; k++)
        n_gt += sc->gt_off[k + 1] > sc->gt_off[k] && sc->in[sc->pair_q[k]];
    for (size_t j = 0; j < sc->n_upairs; j++) {
        int32_t k = sc->uord[j].k;
        if (!sc->in[sc->pair_q[k]]) continue;
        n++;
        if (sc->gt_off[k + 1] > sc->gt_off[k]) {
            hits++;
            ap += (double)hits / (double)n;
        }
    }
    if ((st = segment_ap(sc, gt, pred, &sap)) != VS_OK) return st;
    f->segment_ap = 100.0 * sap;
    f->pair_uap = n_gt ? 100.0 * (ap / (double)n_gt) : 0.0;
    f->n_gt_pairs = n_gt;
    return VS_OK;
}

void vs_eval_segment_report_free(vs_eval_segment_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) vs__free((char *)r->subsets[i].subset);
    vs__free(r->subsets);
    vs__free(r);
}

vs_status vs_eval_segment_score(vs_eval_segment_report **out, const vs_eval_segments *gt,
                                const vs_eval_segments *pred,
                                const vs_eval_segment_queries *queries) {
    seg_scorer sc;
    vs_status st;
    vs_eval_segment_report *rep = NULL;
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_segment_score: NULL out");
    *out = NULL;
    if (!gt || !pred) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_segment_score: NULL gt or pred");
    memset(&sc, 0, sizeof sc);
    if ((st = seg_build(&sc, gt, pred)) != VS_OK) goto fail;
    size_t n_edits = queries ? queries->n_edits : 0;
    rep = vs__calloc(1, sizeof *rep);
    if (rep) rep->subsets = vs__calloc(n_edits + 1, sizeof *rep->subsets);
    if (!rep || !rep->subsets || !(rep->subsets[0].subset = vs__strdup("all"))) goto nomem;
    rep->n = 1;
    memset(sc.in, 1, sc.u.n);
    if ((st = subset_figures(&sc, gt, pred, &rep->subsets[0])) != VS_OK) goto fail;
    for (size_t e = 0; e < n_edits; e++) {
        vs_eval_segment_figures f;
        memset(sc.in, 0, sc.u.n);
        for (size_t j = queries->off[e]; j < queries->off[e + 1]; j++) {
            int32_t u = vs__strtab_find(&sc.u, queries->qid[j]);
            if (u >= 0) sc.in[u] = 1;
        }
        if ((st = subset_figures(&sc, gt, pred, &f)) != VS_OK) goto fail;
        if (f.n_gt_pairs == 0) continue; /* score_segments.py: `if not g: continue` */
        /* results live in a dict keyed by name: an edit called "all" replaces the
         * overall figures in place */
        vs_eval_segment_figures *dst =
            strcmp(queries->edit[e], "all") == 0 ? &rep->subsets[0] : &rep->subsets[rep->n];
        f.subset = dst->subset;
        *dst = f;
        if (dst == &rep->subsets[rep->n]) {
            if (!(dst->subset = vs__strdup(queries->edit[e]))) goto nomem;
            rep->n++;
        }
    }
    seg_scorer_free(&sc);
    *out = rep;
    return VS_OK;
nomem:
    st = vs__err(VS_ERR_NOMEM, "out of memory scoring segments");
fail:
    seg_scorer_free(&sc);
    vs_eval_segment_report_free(rep);
    return st;
}
