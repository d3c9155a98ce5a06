/*
 * test_featfile_mirror.c - the feature file's mirror block (docs/formats.md "VSF
 * version 3", vs_extract_params.mirror_view): a version-1 file written before the block
 * existed (tests/data/featfile_v1.vsf, committed; the values below made it) loads exactly
 * as before, and vs_features_save / vs_features_save_mirror without a block still write
 * it byte for byte; a file with the block round-trips, its checksum covers the block, and
 * a truncated, extended or damaged block (or padding) is refused naming the file and the
 * reason; the index stores the normal view only (the same bytes as for a file without the
 * block); with MobileNetV2 and ffmpeg, one extraction with mirror_view gives exactly the
 * features of a plain pass and of a separate mirrored pass, vs_extract_files writes the
 * block and re-extracts a file without it.
 */
#include "test.h"
#include "vidsim/vidsim.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char g_dir[1024];

/* The struct tests/data/featfile_v1.vsf was written from (by the version-1 writer). */
static float g_data[24], g_times[2] = {0.25f, 1.25f};
static void golden_struct(vs_features *f) {
    for (int i = 0; i < 24; i++) g_data[i] = (float)(i % 5) * 0.125f - 0.25f;
    memset(f, 0, sizeof *f);
    f->T = 2, f->R = 3, f->D = 4, f->data = g_data, f->times = g_times, f->fps = 1, f->duration = 2.5;
    snprintf(f->model_id, sizeof f->model_id, "golden/224/raw4/00000001");
    f->source = "golden.mp4";
    f->source_size = 4321, f->source_mtime = 1700000000123456789LL, f->source_hash = 0x0123456789abcdefULL;
    f->n_damaged = 1;
}

static int same_file(const char *a, const char *b) {
    size_t la, lb;
    unsigned char *x = vs_test_read_file(a, &la), *y = vs_test_read_file(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void write_bytes(const char *path, const unsigned char *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(p, 1, n, fp);
    fclose(fp);
}

static uint32_t version_of(const char *path) {
    size_t n;
    unsigned char *b = vs_test_read_file(path, &n);
    uint32_t v = 0;
    if (b && n >= 12) memcpy(&v, b + 8, 4);
    free(b);
    return v;
}

static void test_v1_golden(void) {
    const char *src = getenv("VS_SRC");
    char golden[4096], out[2048];
    snprintf(golden, sizeof golden, "%s/tests/data/featfile_v1.vsf", src && *src ? src : ".");
    vs_features want, *g = NULL;
    golden_struct(&want);
    CHECK_EQ(version_of(golden), 1);
    CHECK_EQ(vs_features_load(&g, golden), VS_OK);
    if (!g) return;
    CHECK(g->T == 2 && g->R == 3 && g->D == 4);
    CHECK(memcmp(g->data, g_data, sizeof g_data) == 0);
    CHECK(memcmp(g->times, g_times, sizeof g_times) == 0);
    CHECK(g->mirror == NULL);
    CHECK(!strcmp(g->model_id, want.model_id) && !strcmp(g->source, "golden.mp4"));
    CHECK(g->source_size == 4321 && g->source_mtime == want.source_mtime && g->source_hash == want.source_hash);
    CHECK(g->n_damaged == 1 && g->fps == 1 && g->duration == 2.5);
    vs_features_free(g);
    g = NULL;
    CHECK_EQ(vs_features_load_header(&g, golden), VS_OK);
    if (g) CHECK(g->mirror == NULL && g->T == 2);
    vs_features_free(g);
    /* the writer of files without the block is unchanged, byte for byte */
    snprintf(out, sizeof out, "%s/v1.vsf", g_dir);
    CHECK_EQ(vs_features_save(&want, out), VS_OK);
    CHECK_MSG(same_file(out, golden), "vs_features_save no longer writes %s's bytes", golden);
    CHECK_EQ(vs_features_save_mirror(&want, out), VS_OK); /* mirror NULL: the same */
    CHECK_MSG(same_file(out, golden), "vs_features_save_mirror without a block differs from %s", golden);
}

static void test_v3(void) {
    vs_features f;
    golden_struct(&f);
    f.source = "some/dir/video name.mp4"; /* H = 192 */
    f.T = 3, f.R = 3, f.D = 5;
    float data[45], mirror[45], times[3] = {0, 1, 2};
    for (int i = 0; i < 45; i++) data[i] = (float)i * 0.5f - 3, mirror[i] = (float)(44 - i) * 0.25f + 1;
    f.data = data, f.times = times, f.mirror = mirror;
    char p1[2048], p3[2048], bad[2048], ps[2048];
    snprintf(p1, sizeof p1, "%s/plain.vsf", g_dir);
    snprintf(p3, sizeof p3, "%s/mirror.vsf", g_dir);
    snprintf(bad, sizeof bad, "%s/bad_mirror.vsf", g_dir);
    snprintf(ps, sizeof ps, "%s/resaved.vsf", g_dir);
    CHECK_EQ(vs_features_save(&f, p1), VS_OK); /* the normal view only, f.mirror set or not */
    CHECK_EQ(version_of(p1), 1);
    CHECK_EQ(vs_features_save_mirror(&f, p3), VS_OK);
    CHECK_EQ(version_of(p3), 3);
    size_t n1, n3;
    unsigned char *b1 = vs_test_read_file(p1, &n1), *b3 = vs_test_read_file(p3, &n3);
    if (!b1 || !b3) {
        CHECK(0);
        return;
    }
    /* H 192 + data 180 + times 12 = 384 (a 64-byte boundary already), then the block: 180 */
    CHECK_EQ(n1, 384);
    CHECK_EQ(n3, 384 + 180);
    CHECK(memcmp(b1 + 80, b3 + 80, n1 - 80) == 0 && memcmp(b1, b3, 8) == 0); /* version 1 plus the block */
    CHECK(memcmp(b3 + 384, mirror, sizeof mirror) == 0);
    vs_features *g = NULL;
    CHECK_EQ(vs_features_load(&g, p3), VS_OK);
    if (g) {
        CHECK(g->T == 3 && g->R == 3 && g->D == 5 && g->mirror != NULL);
        CHECK(memcmp(g->data, data, sizeof data) == 0 && memcmp(g->times, times, sizeof times) == 0);
        CHECK(g->mirror && memcmp(g->mirror, mirror, sizeof mirror) == 0);
        CHECK(((uintptr_t)g->data & 63) == 0 && ((uintptr_t)g->mirror & 63) == 0);
        /* saved again without the block: exactly the file without it (what an index stores) */
        CHECK_EQ(vs_features_save(g, ps), VS_OK);
        CHECK(same_file(ps, p1));
        CHECK_EQ(vs_features_save_mirror(g, ps), VS_OK);
        CHECK(same_file(ps, p3));
    }
    vs_features_free(g);
    g = NULL;
    CHECK_EQ(vs_features_load_header(&g, p3), VS_OK);
    if (g) CHECK(g->mirror != NULL);
    vs_features_free(g);

    /* T=1, D=4 (H 192 + 144 + 4 = 340): the block starts after zero padding at 384 */
    f.T = 1, f.R = 9, f.D = 4;
    float d2[36], m2[36], t2[1] = {0.5f};
    for (int i = 0; i < 36; i++) d2[i] = (float)i, m2[i] = -(float)i;
    f.data = d2, f.times = t2, f.mirror = m2;
    char pp[2048];
    snprintf(pp, sizeof pp, "%s/padded.vsf", g_dir);
    CHECK_EQ(vs_features_save_mirror(&f, pp), VS_OK);
    size_t np;
    unsigned char *bp = vs_test_read_file(pp, &np);
    CHECK_EQ(np, 384 + 144);
    if (bp && np == 384 + 144) {
        int zero = 1;
        for (size_t i = 340; i < 384; i++) zero &= bp[i] == 0;
        CHECK(zero);
        CHECK(memcmp(bp + 384, m2, sizeof m2) == 0);
        g = NULL;
        CHECK_EQ(vs_features_load(&g, pp), VS_OK);
        if (g) CHECK(g->mirror && g->mirror[5] == -5.0f && g->data[5] == 5.0f && g->times[0] == 0.5f);
        vs_features_free(g);
        /* a byte of the padding changed: the checksum covers it */
        bp[350] ^= 1;
        write_bytes(bad, bp, np);
        g = NULL;
        CHECK_EQ(vs_features_load(&g, bad), VS_ERR_FORMAT);
        CHECK(g == NULL);
        CHECK_MSG(strstr(vs_last_error(), "bad_mirror.vsf") && strstr(vs_last_error(), "checksum"), "%s",
                  vs_last_error());
    }
    free(bp);

    /* damage to the block: each refused naming the file and the reason */
    struct { const char *what; size_t len; long flip; const char *why; } cases[] = {
        {"block cut short", n3 - 4, -1, "mirror block"},
        {"block missing", n1, -1, "mirror block"},
        {"block and times cut", 192 + 100, -1, "truncated"},
        {"extra bytes", n3 + 64, -1, "mirror block"},
        {"a flipped bit in the block", n3, (long)n3 - 7, "checksum mismatch"},
        {"a flipped bit in the normal view", n3, 200, "checksum mismatch"},
    };
    unsigned char *big = calloc(n3 + 64, 1);
    for (size_t k = 0; big && k < sizeof cases / sizeof *cases; k++) {
        memcpy(big, b3, n3);
        if (cases[k].flip >= 0) big[cases[k].flip] ^= 0x10;
        write_bytes(bad, big, cases[k].len);
        g = NULL;
        vs_status st = vs_features_load(&g, bad);
        CHECK_MSG(st == VS_ERR_FORMAT && g == NULL, "%s: status %d", cases[k].what, (int)st);
        CHECK_MSG(strstr(vs_last_error(), "bad_mirror.vsf") && strstr(vs_last_error(), cases[k].why),
                  "%s: %s", cases[k].what, vs_last_error());
        if (cases[k].flip < 0) { /* a size that does not fit: the header read refuses it too */
            g = NULL;
            CHECK_MSG(vs_features_load_header(&g, bad) == VS_ERR_FORMAT && g == NULL, "%s: header read",
                      cases[k].what);
        }
    }
    /* a version after 5 (4 and 5: the inset block, test_featfile_inset.c): refused by its number */
    memcpy(big, b3, n3);
    big[8] = 6;
    write_bytes(bad, big, n3);
    g = NULL;
    CHECK_EQ(vs_features_load(&g, bad), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "bad_mirror.vsf") && strstr(vs_last_error(), "version 6") &&
              strstr(vs_last_error(), "reads 1 to 5"), "%s", vs_last_error());
    /* version 3's layout under version 4's or 5's number: no view table after the times */
    big[8] = 5;
    write_bytes(bad, big, n3);
    g = NULL;
    CHECK_EQ(vs_features_load(&g, bad), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "bad_mirror.vsf") && strstr(vs_last_error(), "view table"), "%s",
              vs_last_error());
    big[8] = 4;
    write_bytes(bad, big, n3);
    g = NULL;
    CHECK_EQ(vs_features_load(&g, bad), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "bad_mirror.vsf") && strstr(vs_last_error(), "inset block"), "%s",
              vs_last_error());
    free(big);
    free(b1);
    free(b3);
}

/* An index stores the normal view only: the same feature file whether the features
 * added carry a mirror block or not. */
static void test_index_storage(void) {
    char p1[2048], p3[2048], i1[2048], i3[2048];
    snprintf(p1, sizeof p1, "%s/plain.vsf", g_dir);
    snprintf(p3, sizeof p3, "%s/mirror.vsf", g_dir);
    snprintf(i1, sizeof i1, "%s/idx_plain", g_dir);
    snprintf(i3, sizeof i3, "%s/idx_mirror", g_dir);
    long sizes[2] = {-1, -1};
    unsigned char *bytes[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        vs_features *f = NULL;
        vs_index *idx = NULL;
        CHECK_EQ(vs_features_load(&f, k ? p3 : p1), VS_OK);
        CHECK_EQ(vs_index_open(&idx, k ? i3 : i1, VS_INDEX_CREATE), VS_OK);
        if (!f || !idx) {
            vs_features_free(f);
            vs_index_close(idx);
            return;
        }
        CHECK(k ? f->mirror != NULL : f->mirror == NULL);
        vs_index_add_result r;
        CHECK_EQ(vs_index_add_features(idx, "/videos/q/a.mp4", f, 0, &r), VS_OK);
        vs_index_entries *es = NULL;
        CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
        if (es && es->n == 1) {
            char ff[4096];
            snprintf(ff, sizeof ff, "%s/%s", k ? i3 : i1, es->v[0].feature_file);
            bytes[k] = vs_test_read_file(ff, &lens[k]);
            sizes[k] = (long)lens[k];
            vs_features *s = NULL;
            CHECK_EQ(vs_index_load_features(idx, &es->v[0], &s), VS_OK);
            if (s) CHECK(s->mirror == NULL && s->T == 3);
            vs_features_free(s);
            CHECK_EQ(version_of(ff), 1);
        } else
            CHECK(0);
        vs_index_entries_free(es);
        vs_index_close(idx);
        vs_features_free(f);
    }
    CHECK_MSG(sizes[0] > 0 && sizes[0] == sizes[1], "stored %ld bytes without the block, %ld with", sizes[0],
              sizes[1]);
    CHECK(bytes[0] && bytes[1] && lens[0] == lens[1] && memcmp(bytes[0], bytes[1], lens[0]) == 0);
    free(bytes[0]);
    free(bytes[1]);
}

static int make_clip(const char *src, int seconds, const char *path) {
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i '%s%csize=320x240:rate=25' -t %d "
             "-pix_fmt yuv420p '%s'",
             src, strchr(src, '=') ? ':' : '=', seconds, path);
    return system(cmd) == 0;
}

typedef struct { int n, skipped, failed; } seen;
static void on_item(const vs_batch_item *it, void *user) {
    seen *s = user;
    s->n++;
    s->skipped += it->skipped;
    if (it->error[0]) {
        s->failed++;
        fprintf(stderr, "extract: %s\n", it->error);
    }
}

/* One pass with mirror_view = a plain pass + a separately mirrored pass, bit for bit. */
static void test_extract(void) {
    const char *models = getenv("VS_MODELS");
    char bb[2048], clip[2048], out[2048];
    snprintf(bb, sizeof bb, "%s/mobilenet_v2.vstf", models && *models ? models : "models");
    if (access(bb, R_OK) != 0 || system("ffmpeg -version > /dev/null 2>&1") != 0) {
        fprintf(stderr, "note: extraction part skipped (no %s or no ffmpeg)\n", bb);
        return;
    }
    snprintf(clip, sizeof clip, "%s/a.mp4", g_dir);
    snprintf(out, sizeof out, "%s/a.mp4.vsf", g_dir);
    if (!make_clip("testsrc2", 6, clip)) {
        CHECK_MSG(0, "ffmpeg could not make %s", clip);
        return;
    }
    vs_extract_params p = vs_extract_default_params();
    p.batch = 4; /* 6 samples: a full batch and a partial one */
    vs_extractor *ex0 = NULL, *ex1 = NULL;
    vs_extract_state *s0 = NULL, *s1 = NULL;
    CHECK_EQ(vs_extractor_load(&ex0, bb, NULL, &p), VS_OK);
    p.mirror_view = 1;
    CHECK_EQ(vs_extractor_load(&ex1, bb, NULL, &p), VS_OK);
    if (!ex0 || !ex1) goto out;
    CHECK(!strcmp(vs_extractor_model_id(ex0), vs_extractor_model_id(ex1))); /* the same model */
    CHECK_EQ(vs_extract_state_create(&s0, ex0), VS_OK);
    CHECK_EQ(vs_extract_state_create(&s1, ex1), VS_OK);
    vs_features *plain = NULL, *flipped = NULL, *both = NULL;
    CHECK_EQ(vs_extract_video(s0, clip, &plain), VS_OK);
    vs_extract_state_set_mirror(s0, 1);
    CHECK_EQ(vs_extract_video(s0, clip, &flipped), VS_OK);
    CHECK_EQ(vs_extract_video(s1, clip, &both), VS_OK);
    if (plain && flipped && both) {
        size_t n = (size_t)plain->T * plain->R * plain->D;
        CHECK_EQ(plain->T, 6);
        CHECK(plain->mirror == NULL && flipped->mirror == NULL && both->mirror != NULL);
        CHECK(both->T == plain->T && both->D == plain->D);
        CHECK(memcmp(both->data, plain->data, n * sizeof(float)) == 0);
        CHECK(both->mirror && memcmp(both->mirror, flipped->data, n * sizeof(float)) == 0);
        CHECK(memcmp(both->times, plain->times, (size_t)plain->T * sizeof(float)) == 0);
        CHECK(memcmp(plain->data, flipped->data, n * sizeof(float)) != 0); /* the views differ */
    }
    vs_features_free(plain);
    vs_features_free(flipped);
    vs_features_free(both);

    /* vs_extract_files: no block without mirror_view; with it the file is out of date and
     * rewritten with the block; then up to date for both settings */
    const char *in[1] = {clip}, *outs[1] = {out};
    vs_batch_params bp = vs_batch_default_params();
    bp.on_item = on_item;
    seen sn = {0, 0, 0};
    bp.user = &sn;
    CHECK_EQ(vs_extract_files(ex0, in, outs, 1, 0, &bp), VS_OK);
    CHECK(sn.n == 1 && sn.skipped == 0 && sn.failed == 0 && version_of(out) == 1);
    sn = (seen){0, 0, 0};
    CHECK_EQ(vs_extract_files(ex1, in, outs, 1, 0, &bp), VS_OK);
    CHECK_MSG(sn.n == 1 && sn.skipped == 0 && sn.failed == 0, "a file without the block was left alone (%d skipped)",
              sn.skipped);
    CHECK_EQ(version_of(out), 3);
    sn = (seen){0, 0, 0};
    CHECK_EQ(vs_extract_files(ex1, in, outs, 1, 0, &bp), VS_OK);
    CHECK(sn.n == 1 && sn.skipped == 1);
    sn = (seen){0, 0, 0};
    CHECK_EQ(vs_extract_files(ex0, in, outs, 1, 0, &bp), VS_OK);
    CHECK(sn.n == 1 && sn.skipped == 1 && version_of(out) == 3);
    vs_features *g = NULL;
    CHECK_EQ(vs_features_load(&g, out), VS_OK);
    if (g) CHECK(g->mirror != NULL && g->T == 6);
    vs_features_free(g);
out:
    vs_extract_state_free(s0);
    vs_extract_state_free(s1);
    vs_extractor_free(ex0);
    vs_extractor_free(ex1);
}

int main(void) {
    const char *tmp = getenv("VS_TMP");
    snprintf(g_dir, sizeof g_dir, "%s/featfile_mirror", tmp && *tmp ? tmp : "/tmp");
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    if (system(cmd) != 0) SKIP("cannot make %s", g_dir);
    test_v1_golden();
    test_v3();
    test_index_storage();
    test_extract();
    return vs_test_done();
}
