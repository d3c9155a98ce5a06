/*
 * test_index_heal.c - an "unchanged" video whose feature file in the index is
 * damaged is healed by the next add instead of being skipped forever: for a
 * truncated file, a bit flipped in the middle (same size, only the checksum sees
 * it), a deleted file and a file swapped for another video's (wrong frame count),
 * vs_index_add_features reports VS_INDEX_REPLACED with repair_reason naming the
 * file and the fault, deletes the damaged file, and the entry loads again; an
 * intact row stays VS_INDEX_UNCHANGED with an empty repair_reason. Synthetic
 * features, no decoder or backbone.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Synthetic features: T frames, 9 regions, D dims, values from a seed. */
static vs_features *synth(int T, int D, uint64_t hash) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = D;
    f->data = malloc(sizeof(float) * T * f->R * D);
    f->times = malloc(sizeof(float) * T);
    uint64_t s = hash * 2654435761u + 1;
    for (long i = 0; i < (long)T * f->R * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        f->data[i] = (float)((s >> 40) & 0xffff) / 65536.f - 0.5f;
    }
    for (int t = 0; t < T; t++) f->times[t] = (float)t;
    f->fps = 1.0;
    f->duration = T;
    snprintf(f->model_id, sizeof f->model_id, "m1");
    f->source_size = 1000 + hash;
    f->source_mtime = 1700000000000000000LL + (int64_t)hash;
    f->source_hash = hash;
    return f;
}

static void synth_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

/* The full path of the feature file of the row for path (into out); 0 if none. */
static int feature_path(vs_index *idx, const char *path, char *out, size_t n) {
    vs_index_entries *es = NULL;
    int ok = vs_index_list(idx, path, &es) == VS_OK && es->n == 1 && es->v[0].ok;
    if (ok) snprintf(out, n, "%s/%s", vs_index_dir(idx), es->v[0].feature_file);
    vs_index_entries_free(es);
    return ok;
}

static int loads(vs_index *idx, const char *path) {
    vs_index_entries *es = NULL;
    vs_features *f = NULL;
    int ok = vs_index_list(idx, path, &es) == VS_OK && es->n == 1 &&
             vs_index_load_features(idx, &es->v[0], &f) == VS_OK;
    vs_features_free(f);
    vs_index_entries_free(es);
    return ok;
}

static void flip_middle(const char *p) {
    FILE *f = fopen(p, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long mid = ftell(f) / 2;
    fseek(f, mid, SEEK_SET);
    int c = fgetc(f);
    fseek(f, mid, SEEK_SET);
    fputc((c ^ 0x10) & 0xff, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to) {
    size_t len = 0;
    unsigned char *b = vs_test_read_file(from, &len);
    FILE *f = fopen(to, "wb");
    CHECK(b && f);
    if (b && f) CHECK_EQ(fwrite(b, 1, len, f), len);
    if (f) fclose(f);
    free(b);
}

int main(void) {
    char dir[1024], cmd[1100];
    snprintf(dir, sizeof dir, "%s/index_heal", vs_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    if (!idx) return vs_test_done();
    vs_features *a = synth(5, 16, 11), *b = synth(7, 16, 22);
    const char *pa = "/videos/a.mp4", *pb = "/videos/b.mp4";
    vs_index_add_result r;
    CHECK_EQ(vs_index_add_features(idx, pa, a, 0, &r), VS_OK);
    CHECK_EQ(vs_index_add_features(idx, pb, b, 0, &r), VS_OK);
    CHECK_EQ(vs_index_add_features(idx, pa, a, 0, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_UNCHANGED);
    CHECK(r.repair_reason[0] == 0);

    static const struct { const char *what, *reason; } cases[] = {
        {"truncated", "truncated"},
        {"bit flip", "checksum mismatch"},
        {"deleted", "No such file"},
        {"another video's file", "frames, the catalogue says 5"},
    };
    for (int k = 0; k < 4; k++) {
        char fa[2048], fb[2048], before[2048];
        CHECK(feature_path(idx, pa, fa, sizeof fa) && feature_path(idx, pb, fb, sizeof fb));
        snprintf(before, sizeof before, "%s", fa);
        if (k == 0) CHECK_EQ(truncate(fa, 1000), 0);
        if (k == 1) flip_middle(fa);
        if (k == 2) CHECK_EQ(unlink(fa), 0);
        if (k == 3) copy_file(fb, fa); /* a valid file, but of b: 7 frames, not 5 */
        CHECK_MSG(!loads(idx, pa), "%s: damage not detected by vs_index_load_features", cases[k].what);
        CHECK_EQ(vs_index_add_features(idx, pa, a, 0, &r), VS_OK);
        CHECK_MSG(r.outcome == VS_INDEX_REPLACED, "%s: outcome %d, want VS_INDEX_REPLACED", cases[k].what,
                  (int)r.outcome);
        CHECK_MSG(strstr(r.repair_reason, cases[k].reason) != NULL, "%s: repair_reason \"%s\" lacks \"%s\"",
                  cases[k].what, r.repair_reason, cases[k].reason);
        const char *base = strrchr(before, '/');
        CHECK_MSG(base && strstr(r.repair_reason, base + 1) != NULL, "%s: repair_reason does not name %s",
                  cases[k].what, base ? base + 1 : before);
        CHECK_MSG(loads(idx, pa), "%s: not healed", cases[k].what);
        CHECK_MSG(access(before, F_OK) != 0, "%s: the damaged file %s was left behind", cases[k].what, before);
        CHECK(loads(idx, pb));
        /* healed: the next add skips it again */
        CHECK_EQ(vs_index_add_features(idx, pa, a, 0, &r), VS_OK);
        CHECK_EQ(r.outcome, VS_INDEX_UNCHANGED);
        CHECK(r.repair_reason[0] == 0);
    }
    /* FORCE replaces without a repair reason */
    CHECK_EQ(vs_index_add_features(idx, pa, a, VS_INDEX_FORCE, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_REPLACED);
    CHECK(r.repair_reason[0] == 0);
    vs_index_report *rep = NULL;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK(rep && rep->n_problems == 0);
    vs_index_report_free(rep);
    vs_index_close(idx);
    synth_free(a);
    synth_free(b);
    return vs_test_done();
}
