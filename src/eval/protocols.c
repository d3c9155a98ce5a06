/*
 * protocols.c - the figures of each dataset protocol (see datasets.c for the list
 * and the sources). Similarities come as a vs_eval_pred: its rows of one query, in
 * insertion order, play the role of the Python dict similarities[query]. Which
 * videos count ("all_db") is the protocol's default or the caller's list.
 *
 * Python corner cases kept on purpose: an AP over zero ground-truth positives is
 * NaN when anything was ranked and 0 when nothing was (numpy's 0/0 versus an empty
 * sum), a mean over no values is NaN, and CC_WEB_VIDEO divides by the number of
 * queries found even though missing ones add 0 to the sum.
 */
#include "eval/eval_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------- helpers -- */

typedef struct ctx {
    const vs_eval_dataset *ds;
    const vs_eval_pred *p;
    vs_eval_ties ties;
    size_t n_d, n_p;        /* ids of the dataset, of the predictions */
    int32_t *start, *rows;  /* CSR: rows of pred query id k are rows[start[k] .. start[k+1]) */
    int32_t *qorder;        /* pred query ids in order of first appearance */
    size_t n_qorder;
    int32_t *p2d, *d2p;     /* id maps, -1 where absent */
    unsigned char *g_p, *g_d; /* membership in the caller's all_db list (if given) */
    int have_g;
    size_t n_g;
    unsigned char *eff_p, *eff_d; /* membership in the effective all_db */
    unsigned char *lab;     /* [n_d] scratch: label bits / flags of the current query */
    int32_t *ann_start, *ann_rows; /* CSR of annotation triples by dataset query id */
    double *ps;             /* pooled scores */
    unsigned char *pr;      /* pooled relevance */
    size_t pn, pcap;
    vs_eval_metrics *out;
} ctx;

static vs_status nomem(void) { return vs__err(VS_ERR_NOMEM, "out of memory evaluating"); }

static int has_query(const ctx *c, int32_t d) {
    int32_t k = d >= 0 ? c->d2p[d] : -1;
    return k >= 0 && c->start[k + 1] > c->start[k];
}

static vs_status pool_push(ctx *c, double s, int rel) {
    if (c->pn == c->pcap) {
        size_t nc = c->pcap ? 2 * c->pcap : 4096;
        double *a = vs__realloc(c->ps, nc * sizeof *a);
        if (!a) return nomem();
        c->ps = a;
        unsigned char *b = vs__realloc(c->pr, nc);
        if (!b) return nomem();
        c->pr = b;
        c->pcap = nc;
    }
    c->ps[c->pn] = s;
    c->pr[c->pn] = (unsigned char)(rel != 0);
    c->pn++;
    return VS_OK;
}

/* calculate_metric of the Python code on the pooled list. */
static vs_status pool_ap(ctx *c, size_t gt_len, double *ap) {
    if (gt_len == 0) {
        *ap = c->pn ? NAN : 0.0;
        return VS_OK;
    }
    return vs_eval_ap(ap, c->ps, c->pr, c->pn, gt_len, c->ties);
}

static vs_status add_metric(ctx *c, const char *name, double v) {
    vs_eval_metrics *m = c->out;
    vs_eval_metric *nm = vs__realloc(m->m, (m->n + 1) * sizeof *nm);
    if (!nm) return nomem();
    m->m = nm;
    char *s = vs__strdup(name);
    if (!s) return nomem();
    m->m[m->n].name = s;
    m->m[m->n].value = v;
    m->n++;
    return VS_OK;
}

void vs_eval_metrics_free(vs_eval_metrics *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) vs__free((char *)m->m[i].name);
    vs__free(m->m);
    vs__free(m);
}

static void ctx_free(ctx *c) {
    vs__free(c->start);
    vs__free(c->rows);
    vs__free(c->qorder);
    vs__free(c->p2d);
    vs__free(c->d2p);
    vs__free(c->g_p);
    vs__free(c->g_d);
    vs__free(c->eff_p);
    vs__free(c->eff_d);
    vs__free(c->lab);
    vs__free(c->ann_start);
    vs__free(c->ann_rows);
    vs__free(c->ps);
    vs__free(c->pr);
}

static vs_status ctx_init(ctx *c, const vs_eval_dataset *ds, const vs_eval_pred *p,
                          const char *const *all_db, size_t n_all_db) {
    vs__strtab g = {0};
    vs_status st = VS_OK;
    c->n_d = ds->ids.n;
    c->n_p = p->ids.n;
    c->start = vs__calloc(c->n_p + 2, sizeof *c->start);
    c->rows = vs__malloc((p->n + 1) * sizeof *c->rows);
    c->qorder = vs__malloc((c->n_p + 1) * sizeof *c->qorder);
    c->p2d = vs__malloc((c->n_p + 1) * sizeof *c->p2d);
    c->d2p = vs__malloc((c->n_d + 1) * sizeof *c->d2p);
    c->g_p = vs__calloc(c->n_p + 1, 1);
    c->g_d = vs__calloc(c->n_d + 1, 1);
    c->eff_p = vs__calloc(c->n_p + 1, 1);
    c->eff_d = vs__calloc(c->n_d + 1, 1);
    c->lab = vs__calloc(c->n_d + 1, 1);
    c->ann_start = vs__calloc(c->n_d + 2, sizeof *c->ann_start);
    c->ann_rows = vs__malloc((ds->n_ann + 1) * sizeof *c->ann_rows);
    if (!c->start || !c->rows || !c->qorder || !c->p2d || !c->d2p || !c->g_p || !c->g_d ||
        !c->eff_p || !c->eff_d || !c->lab || !c->ann_start || !c->ann_rows)
        return nomem();
    /* rows by query, stable (counting sort), and queries by first appearance */
    for (size_t i = 0; i < p->n; i++) {
        if (c->start[p->q[i] + 1]++ == 0) c->qorder[c->n_qorder++] = p->q[i];
    }
    for (size_t k = 0; k < c->n_p; k++) c->start[k + 1] += c->start[k];
    {
        int32_t *fill = vs__malloc((c->n_p + 1) * sizeof *fill);
        if (!fill) return nomem();
        memcpy(fill, c->start, (c->n_p + 1) * sizeof *fill);
        for (size_t i = 0; i < p->n; i++) c->rows[fill[p->q[i]]++] = (int32_t)i;
        vs__free(fill);
    }
    memset(c->d2p, 0xff, (c->n_d + 1) * sizeof *c->d2p);
    for (size_t k = 0; k < c->n_p; k++) {
        c->p2d[k] = vs__strtab_find(&ds->ids, p->ids.strs[k]);
        if (c->p2d[k] >= 0) c->d2p[c->p2d[k]] = (int32_t)k;
    }
    for (size_t i = 0; i < ds->n_ann; i++) c->ann_start[ds->ann_q[i] + 1]++;
    for (size_t k = 0; k < c->n_d; k++) c->ann_start[k + 1] += c->ann_start[k];
    {
        int32_t *fill = vs__malloc((c->n_d + 1) * sizeof *fill);
        if (!fill) return nomem();
        memcpy(fill, c->ann_start, (c->n_d + 1) * sizeof *fill);
        for (size_t i = 0; i < ds->n_ann; i++) c->ann_rows[fill[ds->ann_q[i]]++] = (int32_t)i;
        vs__free(fill);
    }
    if (all_db) {
        int32_t id;
        c->have_g = 1;
        for (size_t i = 0; i < n_all_db && st == VS_OK; i++) st = vs__strtab_intern(&g, all_db[i], &id);
        if (st == VS_OK) {
            c->n_g = g.n;
            for (size_t k = 0; k < c->n_p; k++) c->g_p[k] = vs__strtab_find(&g, p->ids.strs[k]) >= 0;
            for (size_t k = 0; k < c->n_d; k++) c->g_d[k] = vs__strtab_find(&g, ds->ids.strs[k]) >= 0;
        }
        vs__strtab_free(&g);
    }
    return st;
}

/* eff_p from eff_d, for protocols whose all_db is made of dataset ids only, or
 * from the caller's list when all_db is taken as given. */
static void eff_targets(ctx *c, int as_given) {
    for (size_t k = 0; k < c->n_p; k++) {
        int32_t d = c->p2d[k];
        c->eff_p[k] = as_given && c->have_g ? c->g_p[k] : (d >= 0 && c->eff_d[d]);
    }
}

static double mean(const double *v, size_t n) {
    if (!n) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return s / (double)n;
}

/* ---------------------------------------------------------------- FIVR, VCDB -- */

/* Mark c->lab with the label bits of query d (restricted to mask) and count the
 * distinct ground-truth videos in the effective all_db, the query excluded when
 * exclude_self. Call unmark after. */
static size_t mark_gt(ctx *c, int32_t d, unsigned mask, int exclude_self) {
    size_t n = 0;
    for (int32_t i = c->ann_start[d]; i < c->ann_start[d + 1]; i++) {
        int32_t t = c->ds->ann_v[c->ann_rows[i]];
        if (!(c->ds->ann_l[c->ann_rows[i]] & mask) || !c->eff_d[t] || (exclude_self && t == d)) continue;
        if (!c->lab[t]) n++;
        c->lab[t] = 1;
    }
    return n;
}

static void unmark(ctx *c, int32_t d) {
    for (int32_t i = c->ann_start[d]; i < c->ann_start[d + 1]; i++) c->lab[c->ds->ann_v[c->ann_rows[i]]] = 0;
}

/* Push query d's targets (not itself, in the effective all_db) to the pool. */
static vs_status pool_query(ctx *c, int32_t d) {
    int32_t k = c->d2p[d];
    vs_status st = VS_OK;
    for (int32_t i = c->start[k]; i < c->start[k + 1] && st == VS_OK; i++) {
        int32_t row = c->rows[i], tp = c->p->r[row], t = c->p2d[tp];
        if (t == d || !c->eff_p[tp]) continue;
        st = pool_push(c, c->p->score[row], t >= 0 && c->lab[t]);
    }
    return st;
}

static vs_status eval_fivr(ctx *c, const vs_eval_dataset_params *prm) {
    const vs_eval_dataset *ds = c->ds;
    static const char *names[] = {"DSVR", "CSVR", "ISVR", "DSVD", "CSVD", "ISVD"};
    static const unsigned masks[] = {VS__L_ND | VS__L_DS, VS__L_ND | VS__L_DS | VS__L_CS,
                                     VS__L_ND | VS__L_DS | VS__L_CS | VS__L_IS};
    static const char *anames[] = {"DAVR", "DAVD"};
    static const unsigned amask[] = {VS__L_DA};
    const char *const *tn = prm->fivr_audio ? anames : names;
    const unsigned *tm = prm->fivr_audio ? amask : masks;
    int n_tasks = prm->fivr_audio ? 1 : 3;
    const char *want = prm->fivr_version ? prm->fivr_version : "200k";
    size_t v = 0;
    vs_status st = VS_OK;
    while (v < ds->n_ver && strcmp(ds->ver_name[v], want) != 0) v++;
    if (v == ds->n_ver) return vs__err(VS_ERR_INVALID_ARG, "FIVR annotation has no version '%s'", want);
    unsigned char *is_q = vs__calloc(c->n_d + 1, 1), *is_db = vs__calloc(c->n_d + 1, 1);
    double *aps = vs__malloc((ds->ver_q[v].n + 1) * 3 * sizeof *aps);
    if (!is_q || !is_db || !aps) {
        st = nomem();
        goto out;
    }
    for (size_t i = 0; i < ds->ver_db[v].n; i++) is_db[ds->ver_db[v].v[i]] = 1;
    if (prm->fivr_audio) { /* the queries whose annotation has a DA entry */
        unsigned char *da = c->lab; /* scratch, cleared below */
        for (size_t i = 0; i < ds->da_keys.n; i++) da[ds->da_keys.v[i]] = 1;
        for (size_t i = 0; i < ds->ver_q[v].n; i++) is_q[ds->ver_q[v].v[i]] = da[ds->ver_q[v].v[i]];
        memset(c->lab, 0, c->n_d + 1);
    } else {
        for (size_t i = 0; i < ds->ver_q[v].n; i++) is_q[ds->ver_q[v].v[i]] = 1;
    }
    long missing = 0;
    for (size_t d = 0; d < c->n_d; d++) missing += is_q[d] && !has_query(c, (int32_t)d);
    c->out->n_missing_queries = missing;
    int n_variants = ds->has_easy ? 2 : 1;
    for (int hard = 0; hard < n_variants; hard++) {
        /* all_db = database & obtained videos, minus the easy duplicates for _h */
        for (size_t d = 0; d < c->n_d; d++) c->eff_d[d] = is_db[d] && (!c->have_g || c->g_d[d]);
        if (hard)
            for (size_t i = 0; i < ds->easy.n; i++) c->eff_d[ds->easy.v[i]] = 0;
        eff_targets(c, 0);
        double res[6] = {0};
        for (int t = 0; t < n_tasks; t++) {
            size_t n_ap = 0;
            for (size_t j = 0; j < c->n_qorder; j++) {
                int32_t d = c->p2d[c->qorder[j]];
                if (d < 0 || !is_q[d]) continue;
                size_t g = mark_gt(c, d, tm[t], 1);
                if (g) {
                    c->pn = 0;
                    if ((st = pool_query(c, d)) == VS_OK) st = pool_ap(c, g, &aps[n_ap++]);
                }
                unmark(c, d);
                if (st != VS_OK) goto out;
            }
            res[t] = mean(aps, n_ap);
            /* detection: every pair of every query pooled */
            size_t g_all = 0;
            c->pn = 0;
            for (size_t j = 0; j < c->n_qorder && st == VS_OK; j++) {
                int32_t d = c->p2d[c->qorder[j]];
                if (d < 0 || !is_q[d]) continue;
                g_all += mark_gt(c, d, tm[t], 1);
                st = pool_query(c, d);
                unmark(c, d);
            }
            if (st == VS_OK) st = pool_ap(c, g_all, &res[n_tasks + t]);
            if (st != VS_OK) goto out;
        }
        for (int t = 0; t < 2 * n_tasks && st == VS_OK; t++) {
            char name[16];
            snprintf(name, sizeof name, "%s%s", tn[t], hard ? "_h" : "");
            st = add_metric(c, name, res[t]);
        }
    }
out:
    vs__free(is_q);
    vs__free(is_db);
    vs__free(aps);
    return st;
}

static vs_status eval_vcdb(ctx *c, const vs_eval_dataset_params *prm) {
    const vs_eval_dataset *ds = c->ds;
    vs_status st = VS_OK;
    double *aps = vs__malloc((ds->queries.n + 1) * sizeof *aps), uap = NAN;
    if (!aps) return nomem();
    if (c->have_g) {
        memcpy(c->eff_d, c->g_d, c->n_d);
    } else {
        for (size_t i = 0; i < ds->queries.n; i++) c->eff_d[ds->queries.v[i]] = 1;
        if (prm->vcdb_distractors)
            for (size_t i = 0; i < ds->distractors.n; i++) c->eff_d[ds->distractors.v[i]] = 1;
    }
    eff_targets(c, 1);
    size_t n_ap = 0, g_all = 0;
    long missing = 0;
    for (size_t i = 0; i < ds->queries.n && st == VS_OK; i++) {
        int32_t d = ds->queries.v[i];
        if (!has_query(c, d)) {
            missing++;
            continue;
        }
        size_t g = mark_gt(c, d, 1, 0); /* positives & all_db; the query is not removed */
        c->pn = 0;
        if ((st = pool_query(c, d)) == VS_OK) st = pool_ap(c, g, &aps[n_ap++]);
        unmark(c, d);
    }
    c->pn = 0;
    for (size_t i = 0; i < ds->queries.n && st == VS_OK; i++) {
        int32_t d = ds->queries.v[i];
        if (!has_query(c, d)) continue;
        g_all += mark_gt(c, d, 1, 0);
        st = pool_query(c, d);
        unmark(c, d);
    }
    if (st == VS_OK) st = pool_ap(c, g_all, &uap);
    c->out->n_missing_queries = missing;
    if (st == VS_OK) st = add_metric(c, "VCDB_mAP", mean(aps, n_ap));
    if (st == VS_OK) st = add_metric(c, "VCDB_uAP", uap);
    vs__free(aps);
    return st;
}

/* --------------------------------------------------------------------- EVVE -- */

typedef struct item {
    double s;
    int rel;
    int32_t i;
} item;

static int cmp_item_input(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_item_pess(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    if (x->rel != y->rel) return x->rel - y->rel;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Rows of pred query k sorted by score, best first; rel from rel_of(target id). */
static item *sorted_rows(ctx *c, int32_t k, size_t *n, const unsigned char *rel_d) {
    size_t m = (size_t)(c->start[k + 1] - c->start[k]);
    item *it = vs__malloc((m + 1) * sizeof *it);
    if (!it) return NULL;
    for (size_t j = 0; j < m; j++) {
        int32_t row = c->rows[c->start[k] + (int32_t)j], t = c->p2d[c->p->r[row]];
        it[j].s = c->p->score[row];
        it[j].rel = rel_d && t >= 0 ? rel_d[t] : 0;
        it[j].i = row;
    }
    qsort(it, m, sizeof *it, c->ties == VS_EVAL_TIES_PESSIMISTIC ? cmp_item_pess : cmp_item_input);
    *n = m;
    return it;
}

typedef struct named {
    const char *s;
    int32_t id;
} named;

static int cmp_named(const void *a, const void *b) {
    return strcmp(((const named *)a)->s, ((const named *)b)->s);
}

static vs_status eval_evve(ctx *c) {
    const vs_eval_dataset *ds = c->ds;
    vs_status st = VS_OK;
    size_t nq = ds->queries.n, n_ev = ds->n_ev;
    int32_t *qs = vs__malloc((nq + 1) * sizeof *qs);
    double *ap = vs__malloc((nq + 1) * sizeof *ap), *ranks = NULL;
    size_t *ev_idx = vs__malloc((n_ev + 1) * sizeof *ev_idx);
    unsigned char *found = vs__calloc(nq + 1, 1);
    if (!qs || !ap || !ev_idx || !found) {
        st = nomem();
        goto out;
    }
    /* Python: sorted(queries); sorted(events) */
    {
        named *nm = vs__malloc((nq + 1) * sizeof *nm);
        if (!nm) {
            st = nomem();
            goto out;
        }
        for (size_t i = 0; i < nq; i++) {
            nm[i].s = ds->ids.strs[ds->queries.v[i]];
            nm[i].id = ds->queries.v[i];
        }
        qsort(nm, nq, sizeof *nm, cmp_named);
        for (size_t i = 0; i < nq; i++) qs[i] = nm[i].id;
        vs__free(nm);
    }
    for (size_t e = 0; e < n_ev; e++) ev_idx[e] = e;
    for (size_t a = 1; a < n_ev; a++) /* insertion sort of event names (13 of them) */
        for (size_t b = a; b > 0 && strcmp(ds->ev_name[ev_idx[b - 1]], ds->ev_name[ev_idx[b]]) > 0; b--) {
            size_t t = ev_idx[b];
            ev_idx[b] = ev_idx[b - 1];
            ev_idx[b - 1] = t;
        }
    if (c->have_g) {
        memcpy(c->eff_d, c->g_d, c->n_d);
    } else {
        for (size_t i = 0; i < ds->database.n; i++) c->eff_d[ds->database.v[i]] = 1;
        for (size_t i = 0; i < nq; i++) c->eff_d[ds->queries.v[i]] = 1;
    }
    eff_targets(c, 1);
    int intersect = !(c->have_g && c->n_g == 0); /* Python: "if all_db:" */
    long missing = 0;
    size_t g_all = 0;
    c->pn = 0;
    for (size_t i = 0; i < nq; i++) {
        int32_t d = qs[i], k = c->d2p[d];
        const vs__idlist *pos = &ds->ev_pos[ds->ev_of[d]];
        if (!has_query(c, d)) {
            missing++;
            continue;
        }
        found[i] = 1;
        size_t npos = 0, m;
        for (size_t j = 0; j < pos->n; j++) {
            int32_t t = pos->v[j];
            if (intersect && !c->eff_d[t]) continue;
            npos += !c->lab[t];
            c->lab[t] = 1;
        }
        item *it = sorted_rows(c, k, &m, c->lab);
        double *nr = it ? vs__realloc(ranks, (m + 1) * sizeof *ranks) : NULL;
        if (!it || !nr) {
            vs__free(it);
            st = nomem();
            goto out;
        }
        ranks = nr;
        size_t n_r = 0;
        double n_ext = 0;
        for (size_t j = 0; j < m; j++) {
            int32_t tp = c->p->r[it[j].i];
            if (it[j].rel) ranks[n_r++] = (double)j - n_ext;
            if (!c->eff_p[tp]) n_ext += 1;
        }
        ap[i] = vs_eval_ap_trapezoid(ranks, n_r, npos);
        /* muAP: pairs of this query in all_db, in dict order */
        g_all += npos;
        for (int32_t j = c->start[k]; j < c->start[k + 1] && st == VS_OK; j++) {
            int32_t row = c->rows[j], tp = c->p->r[row], t = c->p2d[tp];
            if (c->eff_p[tp]) st = pool_push(c, c->p->score[row], t >= 0 && c->lab[t]);
        }
        vs__free(it);
        for (size_t j = 0; j < pos->n; j++) c->lab[pos->v[j]] = 0;
        if (st != VS_OK) goto out;
    }
    c->out->n_missing_queries = missing;
    /* overall mAP: every found query's AP, events in name order */
    double sum = 0, uap = NAN;
    size_t n_found = 0;
    for (size_t e = 0; e < n_ev; e++)
        for (size_t i = 0; i < nq; i++)
            if (found[i] && (size_t)ds->ev_of[qs[i]] == ev_idx[e]) {
                sum += ap[i];
                n_found++;
            }
    if ((st = pool_ap(c, g_all, &uap)) != VS_OK) goto out;
    if ((st = add_metric(c, "EVVE_mAP", n_found ? sum / (double)n_found : NAN)) != VS_OK) goto out;
    if ((st = add_metric(c, "EVVE_uAP", uap)) != VS_OK) goto out;
    for (size_t e = 0; e < n_ev && st == VS_OK; e++) {
        size_t ev = ev_idx[e], in_db = 0;
        double s = 0;
        for (size_t j = 0; j < ds->ev_q[ev].n; j++) in_db += c->eff_d[ds->ev_q[ev].v[j]] != 0;
        for (size_t i = 0; i < nq; i++)
            if (found[i] && (size_t)ds->ev_of[qs[i]] == ev) s += ap[i];
        char *name = vs__malloc(strlen(ds->ev_name[ev]) + 8);
        if (!name) {
            st = nomem();
            break;
        }
        sprintf(name, "mAP/%s", ds->ev_name[ev]);
        st = add_metric(c, name, s / (double)in_db);
        vs__free(name);
    }
out:
    vs__free(qs);
    vs__free(ap);
    vs__free(ranks);
    vs__free(ev_idx);
    vs__free(found);
    return st;
}

/* ------------------------------------------------------------- CC_WEB_VIDEO -- */

static const char *cc_label_of(const vs_eval_dataset *ds, size_t k, long video) {
    size_t lo = 0, hi = ds->cc_n_gt[k];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ds->cc_gt[k][mid].video < video) lo = mid + 1;
        else hi = mid;
    }
    return lo < ds->cc_n_gt[k] && ds->cc_gt[k][lo].video == video ? ds->cc_gt[k][lo].label : NULL;
}

static int cmp_i32_(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int cc_excluded(const vs_eval_dataset *ds, size_t k, long video) {
    int32_t key = (int32_t)video;
    return video == key && bsearch(&key, ds->cc_excl[k].v, ds->cc_excl[k].n, sizeof(int32_t), cmp_i32_) != NULL;
}

static vs_status cc_map(ctx *c, int all_videos, int clean, double *out) {
    static const char *positive = "ESLMV";
    const vs_eval_dataset *ds = c->ds;
    unsigned char *rel = vs__calloc(c->n_d + 1, 1);
    if (!rel) return nomem();
    double map = 0;
    size_t n_found = 0;
    for (size_t k = 0; k < ds->queries.n; k++) {
        int32_t q = ds->queries.v[k];
        double i = 0, ri = 0, s = 0;
        if (has_query(c, q)) {
            size_t m;
            /* relevance per dataset id (only used to order ties pessimistically) */
            for (size_t d = 0; d < c->n_d; d++) {
                const char *l = ds->cc_index[d] >= 0 ? cc_label_of(ds, k, ds->cc_index[d]) : NULL;
                rel[d] = l && strstr(positive, l) != NULL;
            }
            item *it = sorted_rows(c, c->d2p[q], &m, rel);
            if (!it) {
                vs__free(rel);
                return nomem();
            }
            for (size_t j = 0; j < m; j++) {
                int32_t t = c->p2d[c->p->r[it[j].i]];
                if (t < 0 || ds->cc_index[t] < 0) continue; /* not in the index */
                long video = ds->cc_index[t];
                const char *l = cc_label_of(ds, k, video);
                if ((all_videos || l) && (!clean || !cc_excluded(ds, k, video))) {
                    ri += 1;
                    if (l && strstr(positive, l)) {
                        i += 1;
                        s += i / ri;
                    }
                }
            }
            vs__free(it);
        }
        double positives = 0;
        for (size_t j = 0; j < ds->cc_n_gt[k]; j++)
            if (strstr(positive, ds->cc_gt[k][j].label) && (!clean || !cc_excluded(ds, k, ds->cc_gt[k][j].video)))
                positives += 1;
        map += s / positives;
    }
    /* divided by the distinct queries found */
    unsigned char *seen = rel;
    memset(seen, 0, c->n_d + 1);
    for (size_t k = 0; k < ds->queries.n; k++) {
        int32_t q = ds->queries.v[k];
        if (has_query(c, q) && !seen[q]) {
            seen[q] = 1;
            n_found++;
        }
    }
    vs__free(rel);
    *out = map / (double)n_found;
    return VS_OK;
}

static vs_status eval_ccweb(ctx *c) {
    static const char *names[] = {"mAP", "mAP_star", "mAP_c", "mAP_c_star"};
    vs_status st = VS_OK;
    long missing = 0;
    unsigned char *seen = vs__calloc(c->n_d + 1, 1);
    if (!seen) return nomem();
    for (size_t k = 0; k < c->ds->queries.n; k++) {
        int32_t q = c->ds->queries.v[k];
        if (!seen[q] && !has_query(c, q)) missing++;
        seen[q] = 1;
    }
    vs__free(seen);
    c->out->n_missing_queries = missing;
    for (int v = 0; v < 4 && st == VS_OK; v++) {
        double m = NAN;
        st = cc_map(c, v & 1, v >> 1, &m);
        if (st == VS_OK) st = add_metric(c, names[v], m);
    }
    return st;
}

vs_status vs_eval_dataset_evaluate(vs_eval_metrics **out, const vs_eval_dataset *ds,
                                   const vs_eval_pred *sims, const char *const *all_db,
                                   size_t n_all_db, const vs_eval_dataset_params *p) {
    vs_eval_dataset_params dflt = vs_eval_dataset_default_params();
    ctx c;
    vs_status st;
    *out = NULL;
    if (!ds || !sims) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_dataset_evaluate: NULL argument");
    if (!p) p = &dflt;
    memset(&c, 0, sizeof c);
    c.ds = ds;
    c.p = sims;
    c.ties = p->ties;
    c.out = vs__calloc(1, sizeof *c.out);
    if (!c.out) return nomem();
    st = ctx_init(&c, ds, sims, all_db, n_all_db);
    if (st == VS_OK) {
        switch (ds->kind) {
        case VS_EVAL_FIVR: st = eval_fivr(&c, p); break;
        case VS_EVAL_VCDB: st = eval_vcdb(&c, p); break;
        case VS_EVAL_EVVE: st = eval_evve(&c); break;
        case VS_EVAL_CC_WEB_VIDEO: st = eval_ccweb(&c); break;
        default: st = vs__err(VS_ERR_INVALID_ARG, "unknown dataset kind");
        }
    }
    if (st != VS_OK) {
        vs_eval_metrics_free(c.out);
        c.out = NULL;
    }
    *out = c.out;
    ctx_free(&c);
    return st;
}
