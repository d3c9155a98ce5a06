/*
 * test_eval.c - unit tests of the evaluation module against hand-computed answers:
 * AP of known rankings (missed positives, both tie rules), muAP with pooled pairs,
 * mAP and R@1 through vs_eval_score, per-edit subsets, mAP@K divided by K, EVVE's
 * trapezoidal AP; the CSV splitter and Python-float parser on awkward text; the
 * JSON reader; error messages naming file and line; and an allocation-failure loop
 * proving every error path of loading and scoring frees what it took (run under
 * ASan to see leaks).
 */
#include "test.h"
#include "core/json.h"
#include "eval/eval_internal.h"
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

static void test_ap(void) {
    double s[5] = {0.9, 0.8, 0.7, 0.6, 0.5}, ap;
    unsigned char r[5] = {1, 0, 1, 0, 1};
    CHECK_EQ(vs_eval_ap(&ap, s, r, 5, 3, VS_EVAL_TIES_PESSIMISTIC), VS_OK);
    CHECK_NEAR(ap, (1.0 + 2.0 / 3 + 3.0 / 5) / 3, 1e-12);
    /* a positive never retrieved stays in the denominator */
    CHECK_EQ(vs_eval_ap(&ap, s, r, 5, 4, VS_EVAL_TIES_PESSIMISTIC), VS_OK);
    CHECK_NEAR(ap, (1.0 + 2.0 / 3 + 3.0 / 5) / 4, 1e-12);
    /* order of the input does not matter, only the scores */
    double s2[5] = {0.5, 0.7, 0.9, 0.6, 0.8};
    unsigned char r2[5] = {1, 1, 1, 0, 0};
    CHECK_EQ(vs_eval_ap(&ap, s2, r2, 5, 3, VS_EVAL_TIES_PESSIMISTIC), VS_OK);
    CHECK_NEAR(ap, (1.0 + 2.0 / 3 + 3.0 / 5) / 3, 1e-12);
    /* ties: pessimistic puts the negative first; input order keeps the order */
    double t[3] = {0.5, 0.5, 0.2};
    unsigned char tr[3] = {1, 0, 0};
    CHECK_EQ(vs_eval_ap(&ap, t, tr, 3, 1, VS_EVAL_TIES_PESSIMISTIC), VS_OK);
    CHECK_NEAR(ap, 0.5, 1e-12);
    CHECK_EQ(vs_eval_ap(&ap, t, tr, 3, 1, VS_EVAL_TIES_INPUT_ORDER), VS_OK);
    CHECK_NEAR(ap, 1.0, 1e-12);
    /* no positive: NaN; misuse: error */
    CHECK_EQ(vs_eval_ap(&ap, t, tr, 0, 0, VS_EVAL_TIES_PESSIMISTIC), VS_OK);
    CHECK(isnan(ap));
    CHECK_EQ(vs_eval_ap(&ap, t, tr, 3, 0, VS_EVAL_TIES_PESSIMISTIC), VS_ERR_INVALID_ARG);
    /* nothing retrieved at all: 0 */
    CHECK_EQ(vs_eval_ap(&ap, NULL, NULL, 0, 2, VS_EVAL_TIES_PESSIMISTIC), VS_OK);
    CHECK_NEAR(ap, 0.0, 0);
}

static void test_map_at_k(void) {
    unsigned char rel[2 * 4] = {1, 0, 1, 0, /* q0 */ 0, 1, 1, 1 /* q1 */};
    /* q0: (1/1 + 2/3)/K; q1: (1/2 + 2/3 + 3/4)/K */
    double q0 = 1.0 + 2.0 / 3, q1 = 0.5 + 2.0 / 3 + 0.75;
    CHECK_NEAR(vs_eval_map_at_k(rel, 2, 4, 4), (q0 / 4 + q1 / 4) / 2, 1e-12);
    CHECK_NEAR(vs_eval_map_at_k(rel, 2, 4, 2), (1.0 / 2 + 0.5 / 2) / 2, 1e-12);
    /* K beyond the list: still divided by K */
    CHECK_NEAR(vs_eval_map_at_k(rel, 2, 4, 10), (q0 / 10 + q1 / 10) / 2, 1e-12);
    CHECK_NEAR(vs_eval_map_at_k(rel, 1, 4, 1), 1.0, 1e-12);
    CHECK(isnan(vs_eval_map_at_k(rel, 0, 4, 5)));
}

static void test_trapezoid(void) {
    double ranks[2] = {0, 2};
    /* k=0,r=0: (1 + 1)/2/2 = 0.5; k=1,r=2: (1/2 + 2/3)/2/2 */
    CHECK_NEAR(vs_eval_ap_trapezoid(ranks, 2, 2), 0.5 + (0.5 + 2.0 / 3) / 4, 1e-12);
    double r1[1] = {3};
    CHECK_NEAR(vs_eval_ap_trapezoid(r1, 1, 4), (0.0 / 3 + 1.0 / 4) / 2 / 4, 1e-12);
    CHECK_NEAR(vs_eval_ap_trapezoid(r1, 0, 4), 0.0, 0);
    CHECK_NEAR(vs_eval_ap_trapezoid(r1, 1, 0), 0.0, 0);
}

/* muAP, mAP and R@1 of a toy benchmark worked out by hand:
 *   gt: Q1-R1, Q2-R3, Q2-R5 (never predicted), Q3-R1 (no prediction at all)
 *   pred: Q1 R1 .9 (+), Q1 R2 .8, Q2 R3 .85 (+), Q2 R4 .95, QN R1 .7 (negative query)
 * pooled: .95 -, .9 +, .85 +, .8 -, .7 -  => (1/2 + 2/3) / 4 positives
 * per query: Q1 AP 1, Q2 AP (1/2)/2, Q3 AP 0 => mAP 41.67; R@1: Q1 only => 33.3 */
static void test_score_toy(void) {
    const char *gtp = write_tmp("eval_toy_gt.csv",
                                "query_id,ref_id,query_start\nQ1,R1,0\nQ2,R3,0\nQ2,R5,1\nQ3,R1,0\nQ1,R1,5\n");
    vs_eval_gt *gt;
    vs_eval_pred *pr;
    vs_eval_report *rep;
    CHECK_EQ(vs_eval_gt_load(&gt, gtp), VS_OK);
    CHECK_EQ(vs_eval_gt_count(gt), 4);
    CHECK_EQ(vs_eval_pred_create(&pr), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "Q1", "R1", 0.9), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "Q1", "R2", 0.8), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "Q2", "R3", 0.1), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "Q2", "R3", 0.85), VS_OK); /* duplicate: max kept */
    CHECK_EQ(vs_eval_pred_add(pr, "Q2", "R3", 0.2), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "Q2", "R4", 0.95), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "QN", "R1", 0.7), VS_OK);
    CHECK_EQ(vs_eval_pred_add(pr, "QN", "R2", NAN), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_eval_pred_count(pr), 5);
    CHECK_EQ(vs_eval_score(&rep, gt, pr, NULL), VS_OK);
    CHECK_EQ(rep->n, 1);
    const vs_eval_figures *f = &rep->subsets[0];
    CHECK(strcmp(f->subset, "all") == 0);
    CHECK_NEAR(f->uap, 100.0 * (0.5 + 2.0 / 3) / 4, 1e-9);
    CHECK_NEAR(f->map, 100.0 * (1.0 + 0.25 + 0.0) / 3, 1e-9);
    CHECK_NEAR(f->r1, 100.0 / 3, 1e-9);
    CHECK_EQ(f->n_queries, 4);
    CHECK_EQ(f->n_positive_queries, 3);
    CHECK_EQ(f->n_positive_pairs, 4);
    CHECK_EQ(f->n_predicted_pairs, 5);
    vs_eval_report_free(rep);

    /* per edit: Q1 {crop}, Q2 {crop, blur}, Q3 {} -> "none", QN negative */
    const char *qp = write_tmp("eval_toy_queries.json",
                               "[{\"query_id\": \"Q1\", \"ref_id\": \"R1\", \"edits\": [\"crop\"]},\n"
                               " {\"query_id\": \"Q2\", \"ref_id\": \"R3\", \"edits\": [\"crop\", \"blur\", \"crop\"]},\n"
                               " {\"query_id\": \"Q3\", \"ref_id\": \"R1\", \"edits\": []},\n"
                               " {\"query_id\": \"QN\", \"ref_id\": null, \"edits\": [\"hflip\"]}]");
    vs_eval_queries *qs;
    CHECK_EQ(vs_eval_queries_load(&qs, qp), VS_OK);
    CHECK_EQ(vs_eval_score(&rep, gt, pr, qs), VS_OK);
    CHECK_EQ(rep->n, 4);
    if (rep->n == 4) {
        CHECK(strcmp(rep->subsets[1].subset, "blur") == 0);
        CHECK(strcmp(rep->subsets[2].subset, "crop") == 0);
        CHECK(strcmp(rep->subsets[3].subset, "none") == 0);
        /* blur = Q2 + QN: pooled .95 -, .85 +, .7 - => (1/2)/2 */
        CHECK_NEAR(rep->subsets[1].uap, 100.0 * 0.5 / 2, 1e-9);
        CHECK_NEAR(rep->subsets[1].map, 25.0, 1e-9);
        CHECK_NEAR(rep->subsets[1].r1, 0.0, 0);
        CHECK_EQ(rep->subsets[1].n_queries, 2);
        /* crop = Q1, Q2, QN: pooled .95 -, .9 +, .85 +, .8 -, .7 - over 3 positives */
        CHECK_NEAR(rep->subsets[2].uap, 100.0 * (0.5 + 2.0 / 3) / 3, 1e-9);
        CHECK_NEAR(rep->subsets[2].map, 100.0 * 1.25 / 2, 1e-9);
        CHECK_NEAR(rep->subsets[2].r1, 50.0, 1e-9);
        /* none = Q3 + QN: one positive, never predicted */
        CHECK_NEAR(rep->subsets[3].uap, 0.0, 0);
        CHECK_NEAR(rep->subsets[3].map, 0.0, 0);
        CHECK_EQ(rep->subsets[3].n_positive_queries, 1);
    }
    vs_eval_report_free(rep);
    vs_eval_queries_free(qs);

    /* no positive at all: every figure is NaN */
    vs_eval_gt *empty;
    CHECK_EQ(vs_eval_gt_load(&empty, write_tmp("eval_empty_gt.csv", "")), VS_OK);
    CHECK_EQ(vs_eval_score(&rep, empty, pr, NULL), VS_OK);
    CHECK(isnan(rep->subsets[0].uap) && isnan(rep->subsets[0].map) && isnan(rep->subsets[0].r1));
    CHECK_EQ(rep->subsets[0].n_queries, 3);
    vs_eval_report_free(rep);
    vs_eval_gt_free(empty);
    vs_eval_pred_free(pr);
    vs_eval_gt_free(gt);
}

static void test_csv(void) {
    const char *text = "a,\"b,\"\"c\"\"\",d\r\n\n\"multi\r\nline\",x\"y\rlast,\"q\"z,\n\"open";
    vs__csv c;
    const char **f;
    size_t n;
    int line;
    vs_status st;
    vs__csv_init(&c, text, strlen(text));
    CHECK_EQ(vs__csv_next(&c, &f, &n, &line, &st), 1);
    CHECK_EQ(n, 3);
    CHECK_EQ(line, 1);
    if (n == 3) CHECK(!strcmp(f[0], "a") && !strcmp(f[1], "b,\"c\"") && !strcmp(f[2], "d"));
    CHECK_EQ(vs__csv_next(&c, &f, &n, &line, &st), 1); /* blank line */
    CHECK_EQ(n, 0);
    CHECK_EQ(vs__csv_next(&c, &f, &n, &line, &st), 1);
    CHECK_EQ(line, 3);
    CHECK_EQ(n, 2);
    if (n == 2) CHECK(!strcmp(f[0], "multi\nline") && !strcmp(f[1], "x\"y"));
    CHECK_EQ(vs__csv_next(&c, &f, &n, &line, &st), 1);
    CHECK_EQ(line, 5);
    CHECK_EQ(n, 3);
    if (n == 3) CHECK(!strcmp(f[0], "last") && !strcmp(f[1], "qz") && !strcmp(f[2], ""));
    CHECK_EQ(vs__csv_next(&c, &f, &n, &line, &st), 1); /* unterminated quote at the end */
    CHECK_EQ(n, 1);
    if (n == 1) CHECK(!strcmp(f[0], "open"));
    CHECK_EQ(vs__csv_next(&c, &f, &n, &line, &st), 0);
    vs__csv_free(&c);
}

static void test_pyfloat(void) {
    struct { const char *s; double v; } ok[] = {
        {"1", 1}, {" 2.5 ", 2.5}, {"\t-3e2\n", -300}, {"1_000.5", 1000.5}, {".5", 0.5},
        {"5.", 5}, {"+1E-2", 0.01}, {"1e1_0", 1e10}, {"-0.0", -0.0}, {"1e999", INFINITY},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -12345;
        CHECK_MSG(vs__parse_pyfloat(ok[i].s, &v) == 0 && v == ok[i].v, "'%s' -> %g", ok[i].s, v);
    }
    double v;
    CHECK(vs__parse_pyfloat("inf", &v) == 0 && isinf(v) && v > 0);
    CHECK(vs__parse_pyfloat("-Infinity", &v) == 0 && isinf(v) && v < 0);
    CHECK(vs__parse_pyfloat("NaN", &v) == 0 && isnan(v));
    const char *bad[] = {"", " ", "abc", "1__0", "_1", "1_", "0x10", "1e", ".", "1.2.3", "1 2",
                         "infx", "nan(1)", "1._5", "e5", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(vs__parse_pyfloat(bad[i], &v) != 0, "'%s' accepted", bad[i]);
}

static void test_json(void) {
    vs__json *j;
    const char *t = "{\"a\": [1, -2.5e1, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"],\n \"b\": {}, \"a\": NaN}";
    CHECK_EQ(vs__json_parse(&j, t, strlen(t), "t.json"), VS_OK);
    if (j) {
        const vs__json *a = vs__json_get(j, "a"); /* last duplicate wins */
        CHECK(a && a->type == VS__JSON_NUM && isnan(a->num));
        const vs__json *arr = j->items[0];
        CHECK_EQ(arr->n, 5);
        CHECK_NEAR(arr->items[1]->num, -25, 0);
        CHECK(!strcmp(arr->items[4]->str, "x\xc3\xa9\xf0\x9f\x98\x80\n"));
        CHECK(!vs__json_truthy(vs__json_get(j, "b")));
        CHECK(vs__json_truthy(arr->items[2]) && !vs__json_truthy(arr->items[3]));
        vs__json_free(j);
    }
    const char *bad[] = {"[1,]", "{\"a\" 1}", "[1] 2", "\"abc", "[01]", "{\"a\":\"\x01\"}", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(vs__json_parse(&j, bad[i], strlen(bad[i]), "b.json") == VS_ERR_FORMAT, "%s", bad[i]);
        CHECK(j == NULL);
    }
    CHECK_EQ(vs__json_parse(&j, "[\n\n  tru]", 10, "b.json"), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "b.json:3") != NULL, "%s", vs_last_error());
}

static void test_errors(void) {
    vs_eval_pred *p;
    vs_eval_gt *g;
    vs_eval_queries *q;
    CHECK_EQ(vs_eval_pred_load(&p, write_tmp("eval_bad1.csv", "query_id,ref_id,score\nQ,R,1\nQ,S,nan\n")),
             VS_ERR_FORMAT);
    CHECK(p == NULL);
    CHECK_MSG(strstr(vs_last_error(), "eval_bad1.csv:3") && strstr(vs_last_error(), "NaN"), "%s", vs_last_error());
    CHECK_EQ(vs_eval_pred_load(&p, write_tmp("eval_bad2.csv", "query_id,ref_id,score\n\n\"Q\n\",R,x1\n")),
             VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "eval_bad2.csv:3") && strstr(vs_last_error(), "x1"), "%s", vs_last_error());
    CHECK_EQ(vs_eval_pred_load(&p, write_tmp("eval_bad3.csv", "query,ref_id,score\n")), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "missing column query_id"), "%s", vs_last_error());
    CHECK_EQ(vs_eval_pred_load(&p, "/nonexistent/pred.csv"), VS_ERR_IO);
    CHECK_MSG(strstr(vs_last_error(), "/nonexistent/pred.csv"), "%s", vs_last_error());
    CHECK_EQ(vs_eval_gt_load(&g, write_tmp("eval_bad_gt.csv", "query_id,ref\nQ1,R1\n")), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "eval_bad_gt.csv:1") && strstr(vs_last_error(), "ref_id"), "%s",
              vs_last_error());
    /* a header without the columns but no rows is an empty ground truth (as score.py) */
    CHECK_EQ(vs_eval_gt_load(&g, write_tmp("eval_hdr_gt.csv", "a,b\n")), VS_OK);
    CHECK_EQ(vs_eval_gt_count(g), 0);
    vs_eval_gt_free(g);
    CHECK_EQ(vs_eval_queries_load(&q, write_tmp("eval_bad_q.json", "{\"query_id\": \"Q\"}")), VS_ERR_FORMAT);
    CHECK_EQ(vs_eval_queries_load(&q, write_tmp("eval_bad_q2.json",
                                                "[{\"query_id\": \"Q\", \"ref_id\": \"R\", \"edits\": []},\n"
                                                " {\"query_id\": 7}]")), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "eval_bad_q2.json:2"), "%s", vs_last_error());
}

/* Every allocation of loading and scoring may fail: the call must report
 * VS_ERR_NOMEM and free everything (ASan checks the leaks). */
static void test_alloc_failures(void) {
    const char *gtp = write_tmp("eval_oom_gt.csv", "query_id,ref_id\nQ1,R1\nQ2,R2\nQ2,R3\n");
    const char *pp = write_tmp("eval_oom_pred.csv", "query_id,ref_id,score\nQ1,R1,1\nQ1,R2,2\nQ2,R2,0.5\nQ3,R1,1\n");
    const char *qp = write_tmp("eval_oom_q.json",
                               "[{\"query_id\": \"Q1\", \"ref_id\": \"R1\", \"edits\": [\"a\", \"b\"]},"
                               " {\"query_id\": \"Q2\", \"ref_id\": \"R2\", \"edits\": []},"
                               " {\"query_id\": \"Q3\", \"ref_id\": null}]");
    int ok_at = -1;
    for (long n = 1; n < 2000 && ok_at < 0; n++) {
        vs_eval_gt *g = NULL;
        vs_eval_pred *p = NULL;
        vs_eval_queries *q = NULL;
        vs_eval_report *r = NULL;
        vs_alloc_fail_after(n);
        vs_status st = vs_eval_gt_load(&g, gtp);
        if (st == VS_OK) st = vs_eval_pred_load(&p, pp);
        if (st == VS_OK) st = vs_eval_queries_load(&q, qp);
        if (st == VS_OK) st = vs_eval_score(&r, g, p, q);
        vs_alloc_fail_after(0);
        if (st == VS_OK) {
            ok_at = (int)n;
            CHECK_EQ(r->n, 4);
        } else if (st != VS_ERR_NOMEM) {
            CHECK_MSG(0, "allocation %ld: status %d (%s)", n, st, vs_last_error());
        }
        vs_eval_report_free(r);
        vs_eval_queries_free(q);
        vs_eval_pred_free(p);
        vs_eval_gt_free(g);
    }
    CHECK_MSG(ok_at > 10, "succeeded at allocation %d", ok_at);
}

/* Random text from a hostile alphabet through the CSV splitter, the float parser
 * and the JSON reader: no crash, no out-of-bounds access (run under ASan). */
static void test_random_inputs(void) {
    static const char alpha[] = ",\"\n\r\\ a1.e-+_[]{}:tnufl0\x01\xc3\xa9";
    unsigned long seed = 12345;
    char text[96];
    int parsed = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = 0, len;
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        len = (seed >> 33) % sizeof text;
        for (; n < len; n++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            text[n] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        vs__csv c;
        const char **f;
        size_t nf;
        int line, got;
        vs_status st;
        double v;
        vs__csv_init(&c, text, n);
        while ((got = vs__csv_next(&c, &f, &nf, &line, &st)) == 1)
            for (size_t i = 0; i < nf; i++) parsed += vs__parse_pyfloat(f[i], &v) == 0;
        vs__csv_free(&c);
        vs__json *j = NULL;
        if (vs__json_parse(&j, text, n, "r.json") == VS_OK) parsed++;
        vs__json_free(j);
    }
    CHECK(parsed > 0);
}

/* The example of eval.h's header, verbatim but for the file names. */
static void test_header_example(void) {
    const char *gtf = write_tmp("eval_ex_gt.csv", "query_id,ref_id\nQ1,R1\n");
    const char *prf = write_tmp("eval_ex_pred.csv", "query_id,ref_id,score\nQ1,R2,0.9\nQ1,R1,0.8\n");
    int printed = 0;
    vs_eval_gt *gt = NULL; vs_eval_pred *pr = NULL; vs_eval_report *rep = NULL;
    if (vs_eval_gt_load(&gt, gtf) == VS_OK && vs_eval_pred_load(&pr, prf) == VS_OK &&
        vs_eval_score(&rep, gt, pr, NULL) == VS_OK)
        printed = printf("uAP %.2f mAP %.2f R@1 %.2f\n", rep->subsets[0].uap, rep->subsets[0].map,
                         rep->subsets[0].r1);
    else
        fprintf(stderr, "%s\n", vs_last_error());
    CHECK(printed > 0);
    CHECK(rep && rep->subsets[0].uap == 50.0 && rep->subsets[0].r1 == 0.0);
    vs_eval_report_free(rep); vs_eval_pred_free(pr); vs_eval_gt_free(gt);
}

int main(void) {
    test_header_example();
    test_ap();
    test_map_at_k();
    test_trapezoid();
    test_score_toy();
    test_csv();
    test_pyfloat();
    test_json();
    test_errors();
    test_alloc_failures();
    test_random_inputs();
    return vs_test_done();
}
