/*
 * test_index_kill.c - crash safety of the index, library level, without the
 * decoder: a child process adds (and replaces, and removes) synthetic videos and
 * reports each completed call through a pipe; the parent SIGKILLs it at a random
 * moment, then checks that the index opens, that vs_index_verify finds no bad row
 * and no catalogue damage (orphan/temp files are allowed and swept), that every
 * row's features load, and that every add the child had completed is there. A final
 * unkilled run completes the set. The CLI-level version is tests/golden/test_index_crash.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { NV = 40, ROUNDS = 40 };

static char dir[1200];

/* Version v of video i: content hash encodes both. */
static uint64_t hash_of(int i, int v) { return (uint64_t)(v * 1000 + i + 1); }

static vs_features *synth(int i, int v) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = 3 + (i + v) % 6;
    f->R = VS_REGIONS;
    f->D = 32;
    f->data = malloc(sizeof(float) * f->T * f->R * f->D);
    f->times = malloc(sizeof(float) * f->T);
    for (long k = 0; k < (long)f->T * f->R * f->D; k++) f->data[k] = (float)((k * 31 + i * 7 + v) % 97) / 97.f;
    for (int t = 0; t < f->T; t++) f->times[t] = (float)t;
    f->fps = 1.0;
    f->duration = f->T;
    snprintf(f->model_id, sizeof f->model_id, "synthetic/32");
    f->source_hash = hash_of(i, v);
    f->source_size = 5000 + f->source_hash;
    f->source_mtime = (int64_t)f->source_hash;
    return f;
}

static void synth_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

static void src_path(char *out, size_t n, int i) { snprintf(out, n, "/synthetic/vid%03d.mp4", i); }

/* Child: version v of every video in a shuffled order; every 7th completed add
 * also removes another video (if removals). Writes "i v\n" after each completed
 * add, "?i\n" before and "-i\n" after each removal. Exits 0 when done. */
static void child(int fd, int v, int removals, unsigned seed) {
    vs_index *idx;
    if (vs_index_open(&idx, dir, VS_INDEX_CREATE) != VS_OK) _exit(3);
    if (vs_index_sweep(idx, NULL) != VS_OK) _exit(4);
    int order[NV];
    for (int i = 0; i < NV; i++) order[i] = i;
    for (int i = NV - 1; i > 0; i--) {
        int j = (int)(rand_r(&seed) % (unsigned)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < NV; k++) {
        int i = order[k];
        vs_features *f = synth(i, v);
        char src[64], msg[32];
        src_path(src, sizeof src, i);
        vs_status s = vs_index_add_features(idx, src, f, 0, NULL);
        synth_free(f);
        if (s != VS_OK) _exit(5);
        int n = snprintf(msg, sizeof msg, "%d %d\n", i, v);
        if (write(fd, msg, (size_t)n) != n) _exit(6);
        if (removals && k % 7 == 3) {
            int victim = order[(k + 5) % NV];
            vs_index_entries *es;
            src_path(src, sizeof src, victim);
            if (vs_index_list(idx, src, &es) != VS_OK) _exit(7);
            n = snprintf(msg, sizeof msg, "?%d\n", victim); /* removal in flight */
            if (write(fd, msg, (size_t)n) != n) _exit(6);
            if (es->n == 1 && vs_index_remove(idx, es->v[0].id) == VS_OK) {
                n = snprintf(msg, sizeof msg, "-%d\n", victim);
                if (write(fd, msg, (size_t)n) != n) _exit(6);
            }
            vs_index_entries_free(es);
        }
    }
    vs_index_close(idx);
    _exit(0);
}

/* Per video: -1 unknown; else the version whose add last completed (or -2 if removed
 * last). A kill in the middle of a call leaves either state for that video. */
static int done_ver[NV], pending[NV];

static void parse(const char *buf) {
    const char *p = buf;
    while (*p) {
        int i, v;
        if (*p == '-' && sscanf(p, "-%d", &i) == 1) {
            if (i >= 0 && i < NV) done_ver[i] = -2, pending[i] = 0;
        } else if (*p == '?' && sscanf(p, "?%d", &i) == 1) {
            if (i >= 0 && i < NV) pending[i] = 1;
        } else if (sscanf(p, "%d %d", &i, &v) == 2) {
            if (i >= 0 && i < NV) done_ver[i] = v;
        }
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        p = nl + 1;
    }
}

/* Check the index after a kill; returns the number of rows. */
static long check_index(int round, int v) {
    vs_index *idx;
    vs_status s = vs_index_open(&idx, dir, VS_INDEX_CREATE); /* a kill may come before the first open */
    CHECK_MSG(s == VS_OK, "round %d: open: %s", round, vs_last_error());
    if (s) return -1;
    vs_index_report *rep;
    s = vs_index_verify(idx, 0, &rep);
    CHECK_MSG(s == VS_OK, "round %d: verify: %s", round, vs_last_error());
    if (!s) {
        for (long k = 0; k < rep->n_problems; k++) {
            vs_index_problem *p = &rep->problems[k];
            CHECK_MSG(p->kind == VS_INDEX_ORPHAN || p->kind == VS_INDEX_TMP, "round %d: %s: %s", round, p->what,
                      p->detail);
        }
        vs_index_report_free(rep);
    }
    vs_index_entries *es;
    long n = -1;
    if (vs_index_list(idx, NULL, &es) == VS_OK) {
        n = es->n;
        int present[NV] = {0}, observed[NV] = {0};
        for (long k = 0; k < es->n; k++) {
            int i = -1;
            sscanf(es->v[k].name, "vid%d", &i);
            if (i < 0 || i >= NV) continue;
            present[i] = 1;
            observed[i] = (int)((es->v[k].hash - 1) / 1000);
            vs_features *f = NULL;
            CHECK_MSG(vs_index_load_features(idx, &es->v[k], &f) == VS_OK, "round %d: %s", round, vs_last_error());
            if (f) CHECK_EQ(f->source_hash, es->v[k].hash);
            vs_features_free(f);
            /* its version is the last completed one, or the one in flight */
            int ver = (int)((es->v[k].hash - 1) / 1000);
            CHECK_MSG(ver == done_ver[i] || ver == v || done_ver[i] == -1,
                      "round %d: video %d has version %d, last completed %d", round, i, ver, done_ver[i]);
        }
        for (int i = 0; i < NV; i++) {
            if (done_ver[i] >= 0 && !pending[i]) CHECK_MSG(present[i], "round %d: video %d (version %d) lost", round, i, done_ver[i]);
            pending[i] = 0;
        }
        /* the state just checked is the new baseline: a call killed after its commit
         * but before its report is settled now */
        for (int i = 0; i < NV; i++) done_ver[i] = present[i] ? observed[i] : -2;
        vs_index_entries_free(es);
    }
    long nrm = 0;
    CHECK_EQ(vs_index_sweep(idx, &nrm), VS_OK);
    vs_index_close(idx);
    return n;
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/test_index_kill", vs_test_tmpdir());
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    for (int i = 0; i < NV; i++) done_ver[i] = -1;
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("VS_CRASH_SEED");
    if (env) seed = (unsigned)atoi(env);
    fprintf(stderr, "seed %u\n", seed);
    srand(seed);
    int killed = 0, finished = 0;
    /* At least ROUNDS rounds; on a fast machine a child may finish before its kill
     * lands, so keep going (up to 3*ROUNDS) until more than ROUNDS/2 were killed. */
    for (int round = 0;; round++) {
        int last = (round >= ROUNDS && killed > ROUNDS / 2) || round == 3 * ROUNDS;
        int v = round % 3; /* versions cycle: re-adds replace */
        int fds[2];
        if (pipe(fds) != 0) return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child(fds[1], v, !last && v > 0, seed + (unsigned)round);
        }
        close(fds[1]);
        if (!last) {
            /* kill at a random moment: 0 to ~150 ms, often in the first few ms */
            long us = rand() % 4 == 0 ? rand() % 3000 : rand() % 150000;
            struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
            nanosleep(&ts, NULL);
            kill(pid, SIGKILL);
        }
        char buf[8192];
        size_t len = 0;
        ssize_t r;
        while ((r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
        buf[len] = 0;
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) killed++;
        else {
            finished++;
            CHECK_MSG(WEXITSTATUS(status) == 0, "round %d: child exit %d", round, WEXITSTATUS(status));
        }
        parse(buf);
        long n = check_index(round, v);
        if (last) {
            CHECK_EQ(n, NV); /* the unkilled final run completes the set */
            for (int i = 0; i < NV; i++) CHECK_EQ(done_ver[i], v);
            break;
        }
    }
    fprintf(stderr, "%d runs killed, %d finished\n", killed, finished);
    CHECK(killed > ROUNDS / 2);
    return vs_test_done();
}
