/*
 * test_eval_datasets.c - the dataset protocols (FIVR, VCDB, EVVE, CC_WEB_VIDEO) on
 * hand-made toy annotations whose answers are worked out by hand in the comments:
 * query exclusion, missing-video removal, the hard FIVR variant, the audio
 * variant, VCDB without an empty-GT guard and with distractors, EVVE's trapezoid
 * AP with ranks that skip videos not obtained, and CC_WEB_VIDEO's four variants
 * with the query's self-match. No equal scores unless a test is about ties.
 */
#include "test.h"
#include "vidsim/eval.h"

static const char *write_tmp(const char *name, const char *text) {
    static char path[8][4096];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 4096, "%s/%s", vs_test_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) return p;
    fputs(text, f);
    fclose(f);
    return p;
}

static double metric(const vs_eval_metrics *m, const char *name) {
    for (size_t i = 0; m && i < m->n; i++)
        if (!strcmp(m->m[i].name, name)) return m->m[i].value;
    fprintf(stderr, "metric %s absent\n", name);
    return -1234;
}

static vs_eval_pred *sims(const char *name, const char *csv) {
    vs_eval_pred *p = NULL;
    CHECK_EQ(vs_eval_pred_load(&p, write_tmp(name, csv)), VS_OK);
    return p;
}

static vs_eval_dataset *dataset(const char *name, const char *json) {
    vs_eval_dataset *d = NULL;
    vs_status st = vs_eval_dataset_load(&d, write_tmp(name, json));
    CHECK_MSG(st == VS_OK, "%s", vs_last_error());
    return d;
}

/* FIVR: q1 has ND a, DS b, CS c, IS d; q2 has ND {q2 itself, e} and DA a; q3 CS c.
 * Ranked targets (self, x not in the database, and q4 not a query are ignored):
 *   q1: a .9, c .8, e .7, b .5, d .3    q2: b .75, a .6, e .4    q3: a .85, c .2
 * DSVR q1 (a, b at ranks 1, 4) (1 + 2/4)/2; q2 (e at 3) 1/3; q3 no GT -> skipped.
 * Pooled order: q1a .9, q3a .85, q1c .8, q2b .75, q1e .7, q2a .6, q1b .5, q2e .4, q1d .3, q3c .2 */
static void test_fivr(void) {
    vs_eval_dataset *ds = dataset("fivr.json",
        "{\"dataset\": \"fivr\", \"versions\": {"
        "\"200k\": {\"queries\": [\"q1\", \"q2\", \"q3\"], \"database\": [\"q1\", \"q2\", \"q3\", \"a\", \"b\", \"c\", \"d\", \"e\"]},"
        "\"5k\": {\"queries\": [\"q1\"], \"database\": [\"a\", \"b\", \"c\"]}},"
        "\"annotation\": {\"q1\": {\"ND\": [\"a\"], \"DS\": [\"b\"], \"CS\": [\"c\"], \"IS\": [\"d\"]},"
        "\"q2\": {\"ND\": [\"q2\", \"e\"], \"DA\": [\"a\"]}, \"q3\": {\"CS\": [\"c\"]}},"
        "\"easy_duplicates\": [\"a\"]}");
    vs_eval_pred *p = sims("fivr_sims.csv",
        "query_id,ref_id,score\n"
        "q1,a,.9\nq1,b,.5\nq1,c,.8\nq1,d,.3\nq1,e,.7\nq1,q1,.99\nq1,x,.95\n"
        "q2,a,.6\nq2,e,.4\nq2,q2,1.0\nq2,b,.75\nq3,c,.2\nq3,a,.85\nq4,a,1.0\n");
    if (!ds || !p) goto out;
    CHECK_EQ(vs_eval_dataset_kind_of(ds), VS_EVAL_FIVR);
    vs_eval_metrics *m;
    vs_eval_dataset_params prm = vs_eval_dataset_default_params();
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, &prm), VS_OK);
    CHECK_EQ(m->n, 12);
    CHECK_EQ(m->n_missing_queries, 0);
    CHECK(!strcmp(m->m[0].name, "DSVR") && !strcmp(m->m[3].name, "DSVD") && !strcmp(m->m[6].name, "DSVR_h"));
    CHECK_NEAR(metric(m, "DSVR"), ((1 + 2.0 / 4) / 2 + 1.0 / 3) / 2, 1e-12);
    /* CSVR: q1 a, c, b at 1, 2, 4; q3 c at 2 */
    CHECK_NEAR(metric(m, "CSVR"), ((1 + 1 + 3.0 / 4) / 3 + 1.0 / 3 + 0.5) / 3, 1e-12);
    CHECK_NEAR(metric(m, "ISVR"), ((1 + 1 + 3.0 / 4 + 4.0 / 5) / 4 + 1.0 / 3 + 0.5) / 3, 1e-12);
    /* DSVD: positives q1a, q1b, q2e at pooled ranks 1, 7, 8 of 3 */
    CHECK_NEAR(metric(m, "DSVD"), (1 + 2.0 / 7 + 3.0 / 8) / 3, 1e-12);
    CHECK_NEAR(metric(m, "CSVD"), (1 + 2.0 / 3 + 3.0 / 7 + 4.0 / 8 + 5.0 / 10) / 5, 1e-12);
    CHECK_NEAR(metric(m, "ISVD"), (1 + 2.0 / 3 + 3.0 / 7 + 4.0 / 8 + 5.0 / 9 + 6.0 / 10) / 6, 1e-12);
    /* hard: a removed from rankings and GT. q1: c .8, e .7, b .5, d .3; q2: b .75, e .4; q3: c .2 */
    CHECK_NEAR(metric(m, "DSVR_h"), (1.0 / 3 + 1.0 / 2) / 2, 1e-12);
    CHECK_NEAR(metric(m, "CSVR_h"), ((1 + 2.0 / 3) / 2 + 0.5 + 1) / 3, 1e-12);
    CHECK_NEAR(metric(m, "ISVR_h"), ((1 + 2.0 / 3 + 3.0 / 4) / 3 + 0.5 + 1) / 3, 1e-12);
    /* pooled hard: q1c .8, q2b .75, q1e .7, q1b .5, q2e .4, q1d .3, q3c .2 */
    CHECK_NEAR(metric(m, "DSVD_h"), (1.0 / 4 + 2.0 / 5) / 2, 1e-12);
    CHECK_NEAR(metric(m, "CSVD_h"), (1 + 2.0 / 4 + 3.0 / 5 + 4.0 / 7) / 4, 1e-12);
    CHECK_NEAR(metric(m, "ISVD_h"), (1 + 2.0 / 4 + 3.0 / 5 + 4.0 / 6 + 5.0 / 7) / 5, 1e-12);
    vs_eval_metrics_free(m);

    /* videos not obtained leave the GT: without e, q2 has no positive */
    const char *got[] = {"q1", "q2", "q3", "a", "b", "c", "d"};
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, got, 7, &prm), VS_OK);
    CHECK_NEAR(metric(m, "DSVR"), (1 + 2.0 / 3) / 2, 1e-12);
    vs_eval_metrics_free(m);

    /* FIVR-5K: database a, b, c only */
    prm.fivr_version = "5k";
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, &prm), VS_OK);
    CHECK_NEAR(metric(m, "DSVR"), (1 + 2.0 / 3) / 2, 1e-12);
    vs_eval_metrics_free(m);
    prm.fivr_version = "1m";
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, &prm), VS_ERR_INVALID_ARG);
    CHECK(m == NULL);

    /* audio: only q2 has DA (a, ranked 2nd of b .75, a .6, e .4); hard removes a */
    prm.fivr_version = "200k";
    prm.fivr_audio = true;
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, &prm), VS_OK);
    CHECK_EQ(m->n, 4);
    CHECK_NEAR(metric(m, "DAVR"), 0.5, 1e-12);
    CHECK_NEAR(metric(m, "DAVD"), 0.5, 1e-12);
    CHECK(isnan(metric(m, "DAVR_h"))); /* mean of no AP */
    CHECK(isnan(metric(m, "DAVD_h"))); /* 0/0 with pairs ranked */
    vs_eval_metrics_free(m);
out:
    vs_eval_pred_free(p);
    vs_eval_dataset_free(ds);
}

/* VCDB: v1 copies v2, v3; v2 copies v1; v3 lists v1 and itself (never retrievable).
 *   v1: zz .97, z1 .95, v2 .9, v3 .3     v2: v3 .8, v1 .2     v3: v1 .5
 * core database: v1 AP 1; v2 1/2; v3 (1/1)/2. Pooled .9+ .8- .5+ .3+ .2+ over 5. */
static void test_vcdb(void) {
    vs_eval_dataset *ds = dataset("vcdb.json",
        "{\"dataset\": \"vcdb\", \"queries\": [\"v1\", \"v2\", \"v3\"],"
        " \"positives\": {\"v1\": [\"v2\", \"v3\"], \"v2\": [\"v1\"], \"v3\": [\"v1\", \"v3\"]},"
        " \"distractors\": [\"z1\", \"z2\"]}");
    vs_eval_pred *p = sims("vcdb_sims.csv",
        "query_id,ref_id,score\nv1,v2,.9\nv1,z1,.95\nv1,v3,.3\nv1,v1,1.0\nv1,zz,.97\n"
        "v2,v1,.2\nv2,v3,.8\nv3,v1,.5\n");
    if (!ds || !p) goto out;
    vs_eval_metrics *m;
    vs_eval_dataset_params prm = vs_eval_dataset_default_params();
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, &prm), VS_OK);
    CHECK_NEAR(metric(m, "VCDB_mAP"), (1 + 0.5 + 0.5) / 3, 1e-12);
    CHECK_NEAR(metric(m, "VCDB_uAP"), (1 + 2.0 / 3 + 3.0 / 4 + 4.0 / 5) / 5, 1e-12);
    CHECK_EQ(m->n_missing_queries, 0);
    vs_eval_metrics_free(m);
    /* with distractors z1 ranks first for v1: (1/2 + 2/3)/2 */
    prm.vcdb_distractors = true;
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, &prm), VS_OK);
    CHECK_NEAR(metric(m, "VCDB_mAP"), ((0.5 + 2.0 / 3) / 2 + 0.5 + 0.5) / 3, 1e-12);
    CHECK_NEAR(metric(m, "VCDB_uAP"), (0.5 + 2.0 / 4 + 3.0 / 5 + 4.0 / 6) / 5, 1e-12);
    vs_eval_metrics_free(m);
    /* a caller's all_db is taken as given: zz counts even though no list names it */
    prm.vcdb_distractors = false;
    const char *got[] = {"v1", "v2", "v3", "zz"};
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, got, 4, &prm), VS_OK);
    CHECK_NEAR(metric(m, "VCDB_mAP"), ((0.5 + 2.0 / 3) / 2 + 0.5 + 0.5) / 3, 1e-12);
    vs_eval_metrics_free(m);
    /* v3 missing; v2 alone: its GT v1 is absent from all_db -> AP over 0 positives with
     * pairs ranked is NaN (no guard in the original), so the mean is NaN */
    vs_eval_pred *p2 = sims("vcdb_sims2.csv", "query_id,ref_id,score\nv2,v3,.8\n");
    const char *got2[] = {"v2", "v3"};
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p2, got2, 2, &prm), VS_OK);
    CHECK(isnan(metric(m, "VCDB_mAP")));
    CHECK_EQ(m->n_missing_queries, 2);
    vs_eval_metrics_free(m);
    vs_eval_pred_free(p2);
out:
    vs_eval_pred_free(p);
    vs_eval_dataset_free(ds);
}

/* EVVE: evB = queries e1, e2 with positives p1 p2 p3; evA = e3 with p4.
 *   e1 sorted: p1 .9, x .85 (not obtained), n1 .8, p2 .7, n2 .5, p3 .1
 *   ranks skip x: p1 0, p2 3-1 = 2, p3 5-1 = 4 -> trapezoids over 3 positives
 *   e2: p3 .6, p2 .4 -> ranks 0, 1 -> 2/3; e3 missing. */
static void test_evve(void) {
    vs_eval_dataset *ds = dataset("evve.json",
        "{\"dataset\": \"evve\", \"events\": {"
        "\"evB\": {\"queries\": [\"e2\", \"e1\"], \"positives\": [\"p1\", \"p2\", \"p3\"], \"null\": []},"
        "\"evA\": {\"queries\": [\"e3\"], \"positives\": [\"p4\"], \"null\": []}},"
        "\"queries\": [\"e2\", \"e3\", \"e1\"], \"database\": [\"p1\", \"p2\", \"p3\", \"p4\", \"n1\", \"n2\"]}");
    vs_eval_pred *p = sims("evve_sims.csv",
        "query_id,ref_id,score\ne2,p3,.6\ne2,p2,.4\n"
        "e1,p1,.9\ne1,n1,.8\ne1,x,.85\ne1,p2,.7\ne1,p3,.1\ne1,n2,.5\n");
    if (!ds || !p) goto out;
    vs_eval_metrics *m;
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, NULL), VS_OK);
    double e1 = (1 + 1) / 2.0 / 3 + (1.0 / 2 + 2.0 / 3) / 2 / 3 + (2.0 / 4 + 3.0 / 5) / 2 / 3;
    double e2 = 2.0 / 3;
    CHECK_NEAR(metric(m, "EVVE_mAP"), (e1 + e2) / 2, 1e-12);
    /* pooled (x not obtained): .9+ .8- .7+ .6+ .5- .4+ .1+ over 6 positives */
    CHECK_NEAR(metric(m, "EVVE_uAP"), (1 + 2.0 / 3 + 3.0 / 4 + 4.0 / 6 + 5.0 / 7) / 6, 1e-12);
    CHECK_NEAR(metric(m, "mAP/evA"), 0.0, 0); /* e3 missing: sum 0 over 1 query */
    CHECK_NEAR(metric(m, "mAP/evB"), (e1 + e2) / 2, 1e-12);
    CHECK(!strcmp(m->m[2].name, "mAP/evA")); /* events in name order */
    CHECK_EQ(m->n_missing_queries, 1);
    vs_eval_metrics_free(m);
out:
    vs_eval_pred_free(p);
    vs_eval_dataset_free(ds);
}

/* CC_WEB_VIDEO: set 0 (query 1/q = video 0) labels 0 E, 1 S, 2 X, 3 V; 3 is excluded
 * in the cleaned variants. Ranking: 1/q (itself, E) 1.0, zz (not in the index) .95,
 * 1/b (2, X) .9, 2/d (5, unlabelled) .8, 1/a (1, S) .7, 1/c (3, V) .6.
 * Set 1 (query 2/q) is missing: it adds 0 but does not count in the divisor. */
static void test_ccweb(void) {
    vs_eval_dataset *ds = dataset("ccweb.json",
        "{\"dataset\": \"cc_web_video\", \"index\": {\"1/q\": 0, \"1/a\": 1, \"1/b\": 2, \"1/c\": 3,"
        " \"2/q\": 4, \"2/d\": 5}, \"queries\": [\"1/q\", \"2/q\"],"
        " \"ground_truth\": [{\"0\": \"E\", \"1\": \"S\", \"2\": \"X\", \"3\": \"V\"}, {\"4\": \"E\", \"5\": \"M\"}],"
        " \"excluded\": [[3], []]}");
    vs_eval_pred *p = sims("ccweb_sims.csv",
        "query_id,ref_id,score\n1/q,1/q,1.0\n1/q,1/b,.9\n1/q,2/d,.8\n1/q,1/a,.7\n1/q,1/c,.6\n1/q,zz,.95\n");
    if (!ds || !p) goto out;
    vs_eval_metrics *m;
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, NULL), VS_OK);
    CHECK_EQ(m->n, 4);
    CHECK_NEAR(metric(m, "mAP"), (1 + 2.0 / 3 + 3.0 / 4) / 3, 1e-12);    /* labelled only */
    CHECK_NEAR(metric(m, "mAP_star"), (1 + 2.0 / 4 + 3.0 / 5) / 3, 1e-12); /* every video */
    CHECK_NEAR(metric(m, "mAP_c"), (1 + 2.0 / 3) / 2, 1e-12);
    CHECK_NEAR(metric(m, "mAP_c_star"), (1 + 2.0 / 4) / 2, 1e-12);
    CHECK_EQ(m->n_missing_queries, 1);
    vs_eval_metrics_free(m);
out:
    vs_eval_pred_free(p);
    vs_eval_dataset_free(ds);
}

/* Equal scores: the tie rule decides; pessimistic puts the negative first. */
static void test_ties(void) {
    vs_eval_dataset *ds = dataset("vcdb_ties.json",
        "{\"dataset\": \"vcdb\", \"queries\": [\"v1\", \"v2\"], \"positives\": {\"v1\": [\"v2\"], \"v2\": []}}");
    vs_eval_pred *p = sims("vcdb_ties.csv", "query_id,ref_id,score\nv1,v2,.5\nv1,v3,.5\n");
    const char *got[] = {"v1", "v2", "v3"};
    if (!ds || !p) goto out;
    vs_eval_metrics *m;
    vs_eval_dataset_params prm = vs_eval_dataset_default_params();
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, got, 3, &prm), VS_OK);
    CHECK_NEAR(metric(m, "VCDB_mAP"), 1.0, 1e-12); /* input order: v2 first */
    vs_eval_metrics_free(m);
    prm.ties = VS_EVAL_TIES_PESSIMISTIC;
    CHECK_EQ(vs_eval_dataset_evaluate(&m, ds, p, got, 3, &prm), VS_OK);
    CHECK_NEAR(metric(m, "VCDB_mAP"), 0.5, 1e-12);
    vs_eval_metrics_free(m);
out:
    vs_eval_pred_free(p);
    vs_eval_dataset_free(ds);
}

static void test_bad_files(void) {
    vs_eval_dataset *ds;
    CHECK_EQ(vs_eval_dataset_load(&ds, write_tmp("ds_bad1.json", "{\"dataset\": \"nope\"}")), VS_ERR_FORMAT);
    CHECK(ds == NULL);
    CHECK_EQ(vs_eval_dataset_load(&ds, write_tmp("ds_bad2.json", "{\"dataset\": \"vcdb\",\n \"queries\": 3}")),
             VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "ds_bad2.json") && strstr(vs_last_error(), "queries"), "%s", vs_last_error());
    CHECK_EQ(vs_eval_dataset_load(&ds, write_tmp("ds_bad3.json",
             "{\"dataset\": \"evve\", \"events\": {}, \"queries\": [\"q\"], \"database\": []}")), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "no event"), "%s", vs_last_error());
    /* allocation failures while loading and evaluating free everything */
    const char *path = write_tmp("ds_oom.json",
        "{\"dataset\": \"evve\", \"events\": {\"e\": {\"queries\": [\"q\"], \"positives\": [\"a\"], \"null\": []}},"
        " \"queries\": [\"q\"], \"database\": [\"a\", \"b\"]}");
    vs_eval_pred *p = sims("ds_oom.csv", "query_id,ref_id,score\nq,a,.5\nq,b,.7\n");
    int ok_at = -1;
    for (long n = 1; n < 1000 && ok_at < 0 && p; n++) {
        vs_eval_metrics *m = NULL;
        ds = NULL;
        vs_alloc_fail_after(n);
        vs_status st = vs_eval_dataset_load(&ds, path);
        if (st == VS_OK) st = vs_eval_dataset_evaluate(&m, ds, p, NULL, 0, NULL);
        vs_alloc_fail_after(0);
        if (st == VS_OK) ok_at = (int)n;
        else CHECK_MSG(st == VS_ERR_NOMEM, "allocation %ld: %s", n, vs_last_error());
        vs_eval_metrics_free(m);
        vs_eval_dataset_free(ds);
    }
    CHECK(ok_at > 5);
    vs_eval_pred_free(p);
}

int main(void) {
    test_fivr();
    test_vcdb();
    test_evve();
    test_ccweb();
    test_ties();
    test_bad_files();
    return vs_test_done();
}
