/*
 * test_verdicts.c - reviewers' verdicts in the index catalogue (src/index/verdicts.c):
 * set/get/list round trips with unordered pairs, replacement and deletion (NONE),
 * bad arguments, read-only handles (refused writes; an index without the table reads
 * as no verdicts), persistence across reopen and `index rebuild`, the verdict filter of search results and
 * dedup pairs (src/search/review.c), and crash safety: a child setting verdicts is
 * SIGKILLed at random moments; every verdict it reported is there, verify stays clean.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"
#include "vidsim/search.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[1024];

static void rm_rf(const char *p) {
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
}

static void test_round_trip(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/rt", base);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    vs_verdict v = 99;
    CHECK_EQ(vs_index_get_verdict(idx, "a", "b", &v), VS_OK); /* no table yet */
    CHECK_EQ(v, VS_VERDICT_NONE);
    vs_index_verdicts *l = NULL;
    CHECK_EQ(vs_index_list_verdicts(idx, &l), VS_OK);
    CHECK(l && l->n == 0);
    vs_index_verdicts_free(l);
    CHECK_EQ(vs_index_set_verdict(idx, "b", "a", VS_VERDICT_NOT_DUPLICATE), VS_OK);
    CHECK_EQ(vs_index_get_verdict(idx, "a", "b", &v), VS_OK);
    CHECK_EQ(v, VS_VERDICT_NOT_DUPLICATE);
    CHECK_EQ(vs_index_get_verdict(idx, "b", "a", &v), VS_OK);
    CHECK_EQ(v, VS_VERDICT_NOT_DUPLICATE);
    CHECK_EQ(vs_index_set_verdict(idx, "a", "b", VS_VERDICT_DUPLICATE), VS_OK); /* replaces */
    CHECK_EQ(vs_index_set_verdict(idx, "c", "a", VS_VERDICT_NOT_DUPLICATE), VS_OK);
    CHECK_EQ(vs_index_set_verdict(idx, "x y\"z", "\xc3\xa9t\xc3\xa9", VS_VERDICT_DUPLICATE), VS_OK);
    CHECK_EQ(vs_index_list_verdicts(idx, &l), VS_OK);
    CHECK_EQ(l->n, 3);
    CHECK(!strcmp(l->v[0].a, "a") && !strcmp(l->v[0].b, "b") && l->v[0].verdict == VS_VERDICT_DUPLICATE);
    CHECK(!strcmp(l->v[1].a, "a") && !strcmp(l->v[1].b, "c") && l->v[1].verdict == VS_VERDICT_NOT_DUPLICATE);
    CHECK(l->v[0].set_ns > 0);
    vs_index_verdicts_free(l);
    /* bad arguments */
    CHECK_EQ(vs_index_set_verdict(idx, "a", "a", VS_VERDICT_DUPLICATE), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_set_verdict(idx, "", "a", VS_VERDICT_DUPLICATE), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_set_verdict(idx, "a", NULL, VS_VERDICT_DUPLICATE), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_set_verdict(idx, "a", "b", (vs_verdict)7), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_verdict_parse("duplicate"), VS_VERDICT_DUPLICATE);
    CHECK_EQ(vs_verdict_parse("not_duplicate"), VS_VERDICT_NOT_DUPLICATE);
    CHECK_EQ(vs_verdict_parse("none"), VS_VERDICT_NONE);
    CHECK_EQ((int)vs_verdict_parse("maybe"), -1);
    CHECK_EQ((int)vs_verdict_parse(NULL), -1);
    CHECK(!strcmp(vs_verdict_name(VS_VERDICT_NOT_DUPLICATE), "not_duplicate"));
    /* delete */
    CHECK_EQ(vs_index_set_verdict(idx, "c", "a", VS_VERDICT_NONE), VS_OK);
    CHECK_EQ(vs_index_get_verdict(idx, "a", "c", &v), VS_OK);
    CHECK_EQ(v, VS_VERDICT_NONE);
    vs_index_close(idx);
    /* persists; read-only handles read but never write */
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_get_verdict(idx, "a", "b", &v), VS_OK);
    CHECK_EQ(v, VS_VERDICT_DUPLICATE);
    CHECK_EQ(vs_index_set_verdict(idx, "a", "b", VS_VERDICT_NONE), VS_ERR_INVALID_ARG);
    vs_index_close(idx);
    vs_index_report *rep;
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    vs_index_close(idx);
    /* a rebuilt catalogue keeps the verdicts */
    vs_index_rebuild_report *rr = NULL;
    CHECK_EQ(vs_index_rebuild(dir, &rr), VS_OK);
    vs_index_rebuild_report_free(rr);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_list_verdicts(idx, &l), VS_OK);
    CHECK_EQ(l->n, 2);
    vs_index_verdicts_free(l);
    CHECK_EQ(vs_index_get_verdict(idx, "b", "a", &v), VS_OK);
    CHECK_EQ(v, VS_VERDICT_DUPLICATE);
    vs_index_close(idx);
}

/* The filters over plain results (no scoring needed: results are plain data). */
static void test_filters(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/flt", base);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    CHECK_EQ(vs_index_set_verdict(idx, "q", "r2", VS_VERDICT_NOT_DUPLICATE), VS_OK);
    CHECK_EQ(vs_index_set_verdict(idx, "r1", "q", VS_VERDICT_DUPLICATE), VS_OK);
    CHECK_EQ(vs_index_set_verdict(idx, "r3", "r1", VS_VERDICT_NOT_DUPLICATE), VS_OK);
    vs_search_result *r = calloc(1, sizeof *r);
    r->query_id = strdup("q");
    r->n = 3;
    r->hits = calloc(3, sizeof *r->hits);
    const char *names[] = {"r1", "r2", "r3"};
    for (int k = 0; k < 3; k++) {
        r->hits[k].name = strdup(names[k]);
        r->hits[k].score = 1.f - 0.1f * k;
    }
    long hidden = -1;
    CHECK_EQ(vs_search_hide_rejected(idx, r, &hidden), VS_OK);
    CHECK_EQ(hidden, 1);
    CHECK_EQ(r->n, 2);
    CHECK(!strcmp(r->hits[0].name, "r1") && !strcmp(r->hits[1].name, "r3"));
    vs_search_result_free(r);

    vs_dedup_pair pairs[] = {{"r1", "r3", 0.9f, 0}, {"q", "r1", 0.8f, 0}, {"r2", "q", 0.7f, 0}};
    vs_dedup_result d = {3, pairs, {0, NULL}, NULL};
    CHECK_EQ(vs_dedup_hide_rejected(idx, &d, &hidden), VS_OK);
    CHECK_EQ(hidden, 2);
    CHECK_EQ(d.n, 1);
    CHECK(!strcmp(d.pairs[0].a, "q") && !strcmp(d.pairs[0].b, "r1"));
    vs_index_close(idx);
}

enum { KN = 40, KROUNDS = 12 };

static void kill_child(const char *dir, int round, int fd) {
    vs_index *idx;
    if (vs_index_open(&idx, dir, 0) != VS_OK) _exit(3);
    for (int i = 0; i < KN; i++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "v%02d", i);
        snprintf(b, sizeof b, "w%02d", i);
        if (vs_index_set_verdict(idx, a, b, (round + i) % 2 ? VS_VERDICT_DUPLICATE : VS_VERDICT_NOT_DUPLICATE) != VS_OK)
            _exit(4);
        char msg[16];
        int n = snprintf(msg, sizeof msg, "%d\n", i);
        if (write(fd, msg, (size_t)n) != n) _exit(5);
    }
    vs_index_close(idx);
    _exit(0);
}

static void test_kill(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/kill", base);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    vs_index_close(idx);
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "kill seed %u\n", seed);
    int killed = 0;
    for (int round = 1; round <= KROUNDS; round++) {
        int fds[2];
        if (pipe(fds) != 0) return;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            kill_child(dir, round, fds[1]);
        }
        close(fds[1]);
        long us = (long)(rand_r(&seed) % 12000);
        struct timespec ts = {0, us * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        killed += WIFSIGNALED(st);
        char buf[512] = "";
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        close(fds[0]);
        int reported = -1;
        for (char *p = buf; n > 0 && *p;) {
            reported = atoi(p);
            char *nl = strchr(p, '\n');
            if (!nl) break;
            p = nl + 1;
        }
        CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
        vs_index_report *rep;
        CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
        CHECK_MSG(rep->n_problems == 0, "round %d: %ld problems", round, rep->n_problems);
        vs_index_report_free(rep);
        for (int i = 0; i <= reported; i++) {
            char a[32], b[32];
            snprintf(a, sizeof a, "v%02d", i);
            snprintf(b, sizeof b, "w%02d", i);
            vs_verdict v;
            CHECK_EQ(vs_index_get_verdict(idx, a, b, &v), VS_OK);
            CHECK_MSG(v == ((round + i) % 2 ? VS_VERDICT_DUPLICATE : VS_VERDICT_NOT_DUPLICATE),
                      "round %d: verdict %d reported set but not stored", round, i);
        }
        vs_index_close(idx);
    }
    fprintf(stderr, "kill: %d of %d children killed before finishing\n", killed, KROUNDS);
}

int main(void) {
    snprintf(base, sizeof base, "%s/test_verdicts", vs_test_tmpdir());
    rm_rf(base);
    mkdir(base, 0755);
    test_round_trip();
    test_filters();
    test_kill();
    return vs_test_done();
}
