/*
 * test_featfile_inset.c - the feature file's inset block (docs/formats.md "VSF version
 * 4", vs_extract_params.inset_view): vs_features_save_views without a probe writes
 * versions 1 and 3 byte for byte as vs_features_save_mirror; with one it writes version 4
 * (the view table, the mirror block when there is one, the inset view's features and
 * times) at the documented offsets; it round-trips (a found inset with frames, one
 * without usable frames, none found), saved again without the blocks it is the plain
 * file, its checksum covers every block, and a cut, extended or damaged block or table is
 * refused naming the file and the reason; an index stores the normal view only (the same
 * bytes as for a plain file); with MobileNetV2 and ffmpeg, one extraction with
 * inset_view gives the features of a probed pass and of a separate pass over the
 * rectangle found (with mirror_view too), a video without an inset gets an empty block,
 * and vs_extract_files writes the block and re-extracts a file without it. Version 5: the
 * same with the detector's version at X+52 (vs_features.inset_detector); a file without it
 * (version 4) reads as 0 and is written back as version 4; a version of 0 in a version-5
 * file, or a negative one to save, is refused; vs_extract_files re-extracts a file probed
 * by another detector version or by an unrecorded one, with inset_view only; a search
 * uses such a file's block as it is and says so in a note naming the file and both versions.
 */
#include "test.h"
#include "vidsim/vidsim.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char g_dir[1024];

static float g_data[45], g_mirror[45], g_times[3] = {0, 1, 2}, g_idata[30], g_itimes[2] = {0.5f, 2.5f};

/* T=3 R=3 D=5 with a 23-byte source path: H = 192, the times end at 384 (a boundary) */
static void make_struct(vs_features *f, int mirror, int probed, int found, int t2) {
    for (int i = 0; i < 45; i++) g_data[i] = (float)i * 0.5f - 3, g_mirror[i] = (float)(44 - i) * 0.25f + 1;
    for (int i = 0; i < 30; i++) g_idata[i] = (float)i * -0.125f + 2;
    memset(f, 0, sizeof *f);
    f->T = 3, f->R = 3, f->D = 5, f->data = g_data, f->times = g_times, f->fps = 1, f->duration = 3.5;
    snprintf(f->model_id, sizeof f->model_id, "golden/224/raw5/00000001");
    f->source = "some/dir/video name.mp4";
    f->source_size = 4321, f->source_mtime = 1700000000123456789LL, f->source_hash = 0x0123456789abcdefULL;
    f->n_damaged = 2;
    f->mirror = mirror ? g_mirror : NULL;
    f->inset_probed = probed;
    f->inset = (vs_inset){.found = found, .x0 = 0.25f, .y0 = 0.125f, .x1 = 0.75f, .y1 = 0.5f, .side = 0.9f, .corr = 0.1f};
    f->inset_T = t2;
    f->inset_data = t2 ? g_idata : NULL;
    f->inset_times = t2 ? g_itimes : NULL;
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

static uint32_t u32_at(const unsigned char *b, size_t off) {
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

static uint32_t version_of(const char *path) {
    size_t n;
    unsigned char *b = vs_test_read_file(path, &n);
    uint32_t v = b && n >= 12 ? u32_at(b, 8) : 0;
    free(b);
    return v;
}

static char *tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", g_dir, name);
    return buf;
}

/* What a loaded file must hold for the struct make_struct(.., mirror, 1, found, t2) made. */
static void check_loaded(const vs_features *g, int mirror, int found, int t2, int header_only) {
    CHECK(g->T == 3 && g->R == 3 && g->D == 5 && g->inset_probed == 1 && g->inset_T == t2);
    CHECK(g->inset.found == found && g->inset.x0 == 0.25f && g->inset.y0 == 0.125f && g->inset.x1 == 0.75f &&
          g->inset.y1 == 0.5f && g->inset.side == 0.9f && g->inset.corr == 0.1f);
    CHECK(mirror ? g->mirror != NULL : g->mirror == NULL);
    CHECK(t2 ? g->inset_data && g->inset_times : !g->inset_data && !g->inset_times);
    if (header_only) return;
    CHECK(!strcmp(g->source, "some/dir/video name.mp4") && g->n_damaged == 2 && g->duration == 3.5);
    CHECK(memcmp(g->data, g_data, sizeof g_data) == 0 && memcmp(g->times, g_times, sizeof g_times) == 0);
    if (mirror && g->mirror) CHECK(memcmp(g->mirror, g_mirror, sizeof g_mirror) == 0);
    if (t2 && g->inset_data) {
        CHECK(memcmp(g->inset_data, g_idata, sizeof g_idata) == 0);
        CHECK(memcmp(g->inset_times, g_itimes, sizeof g_itimes) == 0);
        CHECK(((uintptr_t)g->inset_data & 63) == 0);
    }
}

/* len bytes written to path (whose file name is name) are refused by the loader, naming
 * the file and why; with header, by the header read too (a flipped data bit is found by
 * the checksum, which the header read does not check). */
static void expect_refused(const char *path, const char *name, const unsigned char *bytes, size_t len,
                           const char *what, const char *why, int header) {
    write_bytes(path, bytes, len);
    vs_features *g = NULL;
    vs_status st = vs_features_load(&g, path);
    CHECK_MSG(st == VS_ERR_FORMAT && g == NULL, "%s: status %d", what, (int)st);
    CHECK_MSG(strstr(vs_last_error(), name) && strstr(vs_last_error(), why), "%s: %s", what, vs_last_error());
    if (!header) return;
    g = NULL;
    CHECK_MSG(vs_features_load_header(&g, path) == VS_ERR_FORMAT && g == NULL, "%s: header read", what);
}

static void test_layout(void) {
    char p1[2048], p3[2048], pv[2048], pm[2048], ps[2048];
    tmp_path(p1, sizeof p1, "plain.vsf");
    tmp_path(p3, sizeof p3, "mirror.vsf");
    tmp_path(pv, sizeof pv, "inset.vsf");
    tmp_path(pm, sizeof pm, "both.vsf");
    tmp_path(ps, sizeof ps, "resaved.vsf");
    vs_features f;
    /* without a probe: versions 1 and 3, byte for byte the mirror writer's */
    make_struct(&f, 0, 0, 0, 0);
    CHECK_EQ(vs_features_save(&f, p1), VS_OK);
    CHECK_EQ(vs_features_save_views(&f, ps), VS_OK);
    CHECK(version_of(ps) == 1 && same_file(ps, p1));
    make_struct(&f, 1, 0, 0, 0);
    CHECK_EQ(vs_features_save_mirror(&f, p3), VS_OK);
    CHECK_EQ(vs_features_save_views(&f, ps), VS_OK);
    CHECK(version_of(ps) == 3 && same_file(ps, p3));
    make_struct(&f, 1, 1, 1, 2); /* the inset fields are ignored by the older writers */
    CHECK_EQ(vs_features_save_mirror(&f, ps), VS_OK);
    CHECK(same_file(ps, p3));
    CHECK_EQ(vs_features_save(&f, ps), VS_OK);
    CHECK(same_file(ps, p1));

    /* the inset block alone: table at 384, inset features at 448 (120 bytes), times, 576 */
    make_struct(&f, 0, 1, 1, 2);
    CHECK_EQ(vs_features_save_views(&f, pv), VS_OK);
    size_t n1 = 0, nv = 0, nm = 0;
    unsigned char *b1 = vs_test_read_file(p1, &n1), *bv = vs_test_read_file(pv, &nv);
    CHECK_EQ(nv, 576);
    if (b1 && bv && nv == 576 && n1 == 384) {
        CHECK(u32_at(bv, 8) == 4 && memcmp(bv, b1, 8) == 0 && memcmp(bv + 12, b1 + 12, 72 - 12) == 0);
        CHECK(memcmp(bv + 80, b1 + 80, 384 - 80) == 0); /* version 1 up to the end of the times */
        CHECK(memcmp(bv + 384, "VSVIEWS", 8) == 0 && u32_at(bv, 392) == 2 && u32_at(bv, 396) == 1 &&
              u32_at(bv, 400) == 2);
        float r[6];
        memcpy(r, bv + 404, sizeof r);
        CHECK(r[0] == 0.25f && r[1] == 0.125f && r[2] == 0.75f && r[3] == 0.5f && r[4] == 0.9f && r[5] == 0.1f);
        int zero = 1;
        for (int i = 428; i < 448; i++) zero &= bv[i] == 0;
        CHECK(zero);
        CHECK(memcmp(bv + 448, g_idata, sizeof g_idata) == 0 && memcmp(bv + 568, g_itimes, 8) == 0);
    } else
        CHECK(0);
    /* with the mirror block: table 384, mirror 448..628, padding, inset 640..760, times, 768 */
    make_struct(&f, 1, 1, 1, 2);
    CHECK_EQ(vs_features_save_views(&f, pm), VS_OK);
    unsigned char *bm = vs_test_read_file(pm, &nm);
    CHECK_EQ(nm, 768);
    if (bm && nm == 768) {
        CHECK(u32_at(bm, 8) == 4 && u32_at(bm, 392) == 3);
        CHECK(memcmp(bm + 448, g_mirror, sizeof g_mirror) == 0 && memcmp(bm + 640, g_idata, sizeof g_idata) == 0);
        int zero = 1;
        for (int i = 628; i < 640; i++) zero &= bm[i] == 0;
        CHECK(zero);
    }
    /* round trips, header reads, and saved again: each writer gives its own file back */
    for (int mirror = 0; mirror < 2; mirror++) {
        const char *path = mirror ? pm : pv;
        vs_features *g = NULL;
        CHECK_EQ(vs_features_load(&g, path), VS_OK);
        if (g) {
            check_loaded(g, mirror, 1, 2, 0);
            CHECK_EQ(vs_features_save(g, ps), VS_OK);
            CHECK(same_file(ps, p1)); /* what an index stores */
            CHECK_EQ(vs_features_save_mirror(g, ps), VS_OK);
            CHECK(same_file(ps, mirror ? p3 : p1));
            CHECK_EQ(vs_features_save_views(g, ps), VS_OK);
            CHECK(same_file(ps, path));
        }
        vs_features_free(g);
        g = NULL;
        CHECK_EQ(vs_features_load_header(&g, path), VS_OK);
        if (g) check_loaded(g, mirror, 1, 2, 1);
        vs_features_free(g);
    }
    /* an inset without usable frames, and none found: the table only (448 bytes) */
    for (int found = 0; found < 2; found++) {
        make_struct(&f, 0, 1, found, 0);
        CHECK_EQ(vs_features_save_views(&f, ps), VS_OK);
        size_t n = 0;
        unsigned char *b = vs_test_read_file(ps, &n);
        CHECK(n == 448 && version_of(ps) == 4);
        free(b);
        vs_features *g = NULL;
        CHECK_EQ(vs_features_load(&g, ps), VS_OK);
        if (g) check_loaded(g, 0, found, 0, 0);
        vs_features_free(g);
    }
    /* refused by the writer: inset frames without an inset */
    make_struct(&f, 0, 1, 0, 2);
    CHECK_EQ(vs_features_save_views(&f, ps), VS_ERR_INVALID_ARG);

    /* damage: each refused naming the file and the reason (the header read too, where the
     * size or the table is wrong) */
    char bad[2048];
    tmp_path(bad, sizeof bad, "bad_inset.vsf");
    struct { const char *what; int both; size_t len; long off; uint32_t set; int flip; const char *why; } cases[] = {
        {"inset times cut short", 0, 576 - 4, -1, 0, 0, "inset block"},
        {"no inset block", 0, 448, -1, 0, 0, "inset block"},
        {"table cut", 0, 384 + 32, -1, 0, 0, "view table"},
        {"no table", 0, 384, -1, 0, 0, "view table"},
        {"extra bytes", 0, 576 + 64, -1, 0, 0, "inset block"},
        {"mirror block cut", 1, 600, -1, 0, 0, "inset block"},
        {"a flipped bit in the inset features", 0, 576, 500, 0, 1, "checksum mismatch"},
        {"a flipped bit in the inset times", 1, 768, 765, 0, 1, "checksum mismatch"},
        {"a flipped bit in the mirror block", 1, 768, 460, 0, 1, "checksum mismatch"},
        {"a flipped bit in the padding", 1, 768, 630, 0, 1, "checksum mismatch"},
        {"a flipped bit in the inset rectangle", 0, 576, 405, 0, 1, "checksum mismatch"},
        {"bad table magic", 0, 576, 385, 0, 1, "view table magic"},
        {"unknown flags", 0, 576, 392, 6, 0, "unknown flags"},
        {"no inset flag", 0, 576, 392, 0, 0, "no inset block"},
        {"mirror flag without the block", 0, 576, 392, 3, 0, "inset block"},
        {"found neither 0 nor 1", 0, 576, 396, 2, 0, "neither 0 nor 1"},
        {"frames without an inset", 0, 576, 396, 0, 0, "without an inset"},
        {"more frames than stored", 0, 576, 400, 3, 0, "inset block"},
        {"frame count out of range", 0, 576, 400, 20000000, 0, "out of range"},
        {"rectangle outside the picture", 0, 576, 412, 0x40000000u /* x1 = 2 */, 0, "outside the picture"},
        {"reserved bytes", 0, 576, 440, 1, 0, "reserved"},
        {"a time span ending before it starts", 0, 576, 428, 0x40000000u /* t0 = 2, t1 = 0 */, 0, "time span"},
        {"a negative span start", 0, 576, 428, 0xbf800000u /* t0 = -1, t1 = 0 */, 0, "time span"},
    };
    unsigned char *big = calloc(1024, 1);
    for (size_t k = 0; big && bv && bm && k < sizeof cases / sizeof *cases; k++) {
        memset(big, 0, 1024);
        memcpy(big, cases[k].both ? bm : bv, cases[k].both ? nm : nv);
        if (cases[k].off >= 0 && cases[k].flip) big[cases[k].off] ^= 0x10;
        else if (cases[k].off >= 0) memcpy(big + cases[k].off, &cases[k].set, 4);
        expect_refused(bad, "bad_inset.vsf", big, cases[k].len, cases[k].what, cases[k].why,
                       !cases[k].flip || strcmp(cases[k].why, "checksum mismatch") != 0);
    }
    free(big);
    free(b1);
    free(bv);
    free(bm);

    /* an inset of part of the video: its time span at X+44, read back; none without one */
    make_struct(&f, 0, 1, 1, 2);
    f.inset.t0 = 1.5f, f.inset.t1 = 2.75f;
    CHECK_EQ(vs_features_save_views(&f, ps), VS_OK);
    size_t ns = 0;
    unsigned char *bs = vs_test_read_file(ps, &ns);
    if (bs && ns == 576) {
        float span[2];
        memcpy(span, bs + 428, sizeof span);
        CHECK(span[0] == 1.5f && span[1] == 2.75f);
        int zero = 1;
        for (int i = 436; i < 448; i++) zero &= bs[i] == 0;
        CHECK(zero);
    } else {
        CHECK_MSG(0, "span file: %zu bytes", ns);
    }
    free(bs);
    vs_features *g = NULL;
    CHECK_EQ(vs_features_load(&g, ps), VS_OK);
    CHECK(g && g->inset.found == 1 && g->inset.t0 == 1.5f && g->inset.t1 == 2.75f);
    vs_features_free(g);
    g = NULL;
    CHECK_EQ(vs_features_load(&g, pv), VS_OK); /* written without a span: the whole video */
    CHECK(g && g->inset.t0 == 0 && g->inset.t1 == 0);
    vs_features_free(g);
}

/* Version 5: version 4's bytes with the detector's version at X+52 (and the version and
 * checksum in the header); read back and saved again, each version gives its own file. */
static void test_detector_version(void) {
    char p4[2048], p5[2048], ps[2048], bad[2048];
    tmp_path(p4, sizeof p4, "both.vsf"); /* test_layout's version-4 file */
    tmp_path(p5, sizeof p5, "both5.vsf");
    tmp_path(ps, sizeof ps, "resaved5.vsf");
    tmp_path(bad, sizeof bad, "bad_inset5.vsf");
    vs_features f;
    make_struct(&f, 1, 1, 1, 2);
    f.inset_detector = VS_INSET_DETECTOR;
    CHECK_EQ(vs_features_save_views(&f, p5), VS_OK);
    size_t n4 = 0, n5 = 0;
    unsigned char *b4 = vs_test_read_file(p4, &n4), *b5 = vs_test_read_file(p5, &n5);
    CHECK(n4 == 768 && n5 == 768);
    if (b4 && b5 && n4 == 768 && n5 == 768) {
        CHECK(u32_at(b4, 8) == 4 && u32_at(b5, 8) == 5 && u32_at(b4, 436) == 0 &&
              u32_at(b5, 436) == (uint32_t)VS_INSET_DETECTOR);
        size_t differ = 0; /* the version, the checksum (72..80) and the detector's version */
        for (size_t i = 0; i < n5; i++)
            differ += b4[i] != b5[i] && !(i >= 8 && i < 12) && !(i >= 72 && i < 80) && !(i >= 436 && i < 440);
        CHECK_MSG(differ == 0, "%zu other bytes differ", differ);
    }
    for (int k = 0; k < 2; k++) {
        const char *path = k ? p5 : p4;
        vs_features *g = NULL;
        CHECK_EQ(vs_features_load(&g, path), VS_OK);
        if (g) {
            CHECK_EQ(g->inset_detector, k ? VS_INSET_DETECTOR : 0);
            check_loaded(g, 1, 1, 2, 0);
            CHECK_EQ(vs_features_save_views(g, ps), VS_OK);
            CHECK(same_file(ps, path));
        }
        vs_features_free(g);
        g = NULL;
        CHECK_EQ(vs_features_load_header(&g, path), VS_OK);
        if (g) CHECK_EQ(g->inset_detector, k ? VS_INSET_DETECTOR : 0);
        vs_features_free(g);
    }
    f.inset_detector = -1;
    CHECK_EQ(vs_features_save_views(&f, ps), VS_ERR_INVALID_ARG);
    /* damage of the new field: refused naming the file and the reason */
    struct { const char *what; const unsigned char *src; long off; uint32_t set; const char *why; } cases[] = {
        {"version 0 in a version-5 file", b5, 436, 0, "detector version"},
        {"a version above INT32_MAX", b5, 436, 0x80000000u, "detector version"},
        {"reserved bytes after it", b5, 440, 1, "reserved"},
        {"a version in a version-4 file", b4, 436, 6, "reserved"},
    };
    unsigned char big[768];
    for (size_t k = 0; b4 && b5 && n4 == 768 && n5 == 768 && k < sizeof cases / sizeof *cases; k++) {
        memcpy(big, cases[k].src, sizeof big);
        memcpy(big + cases[k].off, &cases[k].set, 4);
        expect_refused(bad, "bad_inset5.vsf", big, sizeof big, cases[k].what, cases[k].why, 1);
    }
    free(b4);
    free(b5);
}

/* An index stores the normal view only: the same feature file for a plain file and one
 * with both blocks. */
static void test_index_storage(void) {
    const char *names[2] = {"plain.vsf", "both.vsf"}, *dirs[2] = {"idx_plain", "idx_both"};
    unsigned char *bytes[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char p[2048], d[2048];
        tmp_path(p, sizeof p, names[k]);
        tmp_path(d, sizeof d, dirs[k]);
        vs_features *f = NULL;
        vs_index *idx = NULL;
        CHECK_EQ(vs_features_load(&f, p), VS_OK);
        CHECK_EQ(vs_index_open(&idx, d, VS_INDEX_CREATE), VS_OK);
        if (!f || !idx) {
            vs_features_free(f);
            vs_index_close(idx);
            return;
        }
        CHECK(k ? f->inset_T == 2 && f->mirror : !f->inset_probed && !f->mirror);
        vs_index_add_result r;
        CHECK_EQ(vs_index_add_features(idx, "/videos/q/a.mp4", f, 0, &r), VS_OK);
        vs_index_entries *es = NULL;
        CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
        if (es && es->n == 1) {
            char ff[4096];
            snprintf(ff, sizeof ff, "%s/%s", d, es->v[0].feature_file);
            bytes[k] = vs_test_read_file(ff, &lens[k]);
            CHECK_EQ(version_of(ff), 1);
            vs_features *s = NULL;
            CHECK_EQ(vs_index_load_features(idx, &es->v[0], &s), VS_OK);
            if (s) CHECK(s->mirror == NULL && !s->inset_probed && s->inset_T == 0 && s->T == 3);
            vs_features_free(s);
        } else
            CHECK(0);
        vs_index_entries_free(es);
        vs_index_close(idx);
        vs_features_free(f);
    }
    CHECK(bytes[0] && bytes[1] && lens[0] == lens[1] && memcmp(bytes[0], bytes[1], lens[0]) == 0);
    free(bytes[0]);
    free(bytes[1]);
}

static int ffmpeg(const char *args) {
    char cmd[8000];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -hide_banner -loglevel error -y %s", args);
    return system(cmd) == 0;
}

/* The search's notes about a .vsf query: how many name the detector, and the last one. */
static int g_det_notes;
static char g_det_note[1024];
static void on_note(void *user, const char *msg) {
    (void)user;
    if (strstr(msg, "inset probed by detector")) {
        g_det_notes++;
        snprintf(g_det_note, sizeof g_det_note, "%s", msg);
    }
}

/* Searches the feature file q against idx with the inset view on and returns how many
 * notes named the detector's version (the search itself must succeed either way). */
static int detector_notes(vs_index *idx, const char *q) {
    vs_search_params sp = vs_search_default_params();
    sp.top = 0;
    sp.note = on_note;
    vs_searcher *s = NULL;
    vs_search_result *r = NULL;
    g_det_notes = 0;
    g_det_note[0] = 0;
    CHECK_EQ(vs_searcher_create(&s, idx, &sp), VS_OK);
    if (s) CHECK_EQ(vs_searcher_query(s, q, &r), VS_OK);
    CHECK(r && r->n == 1);
    vs_search_result_free(r);
    vs_searcher_free(s);
    return g_det_notes;
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

/* One extraction with inset_view (and mirror_view) = a probed pass + a pass over the
 * rectangle found, bit for bit. */
static void test_extract(void) {
    const char *models = getenv("VS_MODELS");
    char bb[2048], host[2048], clip[2048], plainclip[2048], out[2048], args[7000];
    snprintf(bb, sizeof bb, "%s/mobilenet_v2.vstf", models && *models ? models : "models");
    if (access(bb, R_OK) != 0 || system("ffmpeg -version > /dev/null 2>&1") != 0) {
        fprintf(stderr, "note: extraction part skipped (no %s or no ffmpeg)\n", bb);
        return;
    }
    tmp_path(host, sizeof host, "b.mp4");
    tmp_path(clip, sizeof clip, "b_inset.mp4");
    tmp_path(plainclip, sizeof plainclip, "a.mp4");
    tmp_path(out, sizeof out, "b_inset.mp4.vsf");
    /* test_inset_view_cli.sh's picture-in-picture: b small inside a host */
    snprintf(args, sizeof args, "-f lavfi -i mandelbrot=size=320x240:rate=10 -t 6 -pix_fmt yuv420p '%s'", host);
    int made = ffmpeg(args);
    snprintf(args, sizeof args,
             "-f lavfi -i cellauto=size=640x360:rate=10:rule=110:seed=7 -i '%s' -filter_complex "
             "'[1]scale=186:140,pad=192:146:3:3:white[i];[0][i]overlay=x=380:y=150:shortest=1' -t 6 "
             "-pix_fmt yuv420p '%s'", host, clip);
    made = made && ffmpeg(args);
    snprintf(args, sizeof args, "-f lavfi -i testsrc2=size=320x240:rate=10 -t 6 -pix_fmt yuv420p '%s'", plainclip);
    made = made && ffmpeg(args);
    if (!made) {
        CHECK_MSG(0, "ffmpeg could not make the clips in %s", g_dir);
        return;
    }
    vs_extract_params p = vs_extract_default_params();
    p.batch = 4;
    vs_extractor *ex0 = NULL, *ex1 = NULL;
    vs_extract_state *s0 = NULL, *s1 = NULL;
    vs_features *probed = NULL, *cut = NULL, *both = NULL, *none = NULL;
    CHECK_EQ(vs_extractor_load(&ex0, bb, NULL, &p), VS_OK);
    p.inset_view = 1;
    p.mirror_view = 1;
    CHECK_EQ(vs_extractor_load(&ex1, bb, NULL, &p), VS_OK);
    if (!ex0 || !ex1) goto out;
    CHECK(!strcmp(vs_extractor_model_id(ex0), vs_extractor_model_id(ex1)));
    CHECK_EQ(vs_extract_state_create(&s0, ex0), VS_OK);
    CHECK_EQ(vs_extract_state_create(&s1, ex1), VS_OK);
    if (!s0 || !s1) goto out;
    /* the two passes search makes of a video query */
    vs_extract_state_set_probe(s0, 1);
    CHECK_EQ(vs_extract_video(s0, clip, &probed), VS_OK);
    const vs_inset in = *vs_extract_state_inset(s0);
    vs_extract_state_set_probe(s0, 0);
    CHECK_MSG(in.found, "no inset found in %s", clip);
    const float rect[4] = {in.x0, in.y0, in.x1, in.y1};
    vs_extract_state_set_view(s0, rect);
    CHECK_EQ(vs_extract_video(s0, clip, &cut), VS_OK);
    vs_extract_state_set_view(s0, NULL);
    long calls = vs_extract_state_videos(s1);
    CHECK_EQ(vs_extract_video(s1, clip, &both), VS_OK);
    CHECK_EQ(vs_extract_state_videos(s1), calls + 1); /* one call, two passes */
    if (probed && cut && both) {
        size_t n = (size_t)probed->T * probed->R * probed->D, n2 = (size_t)cut->T * cut->R * cut->D;
        CHECK(probed->inset_probed == 0 && probed->inset_T == 0); /* without inset_view: no block */
        CHECK(both->T == probed->T && memcmp(both->data, probed->data, n * sizeof(float)) == 0);
        CHECK(memcmp(both->times, probed->times, (size_t)probed->T * sizeof(float)) == 0);
        CHECK(both->mirror != NULL);
        CHECK(both->inset_probed == 1 && memcmp(&both->inset, &in, sizeof in) == 0);
        CHECK_MSG(both->inset_T == cut->T && cut->T > 0, "inset T %d, separate pass %d", both->inset_T, cut->T);
        if (both->inset_T == cut->T) {
            CHECK(memcmp(both->inset_data, cut->data, n2 * sizeof(float)) == 0);
            CHECK(memcmp(both->inset_times, cut->times, (size_t)cut->T * sizeof(float)) == 0);
        }
        CHECK(memcmp(cut->data, probed->data, (n < n2 ? n : n2) * sizeof(float)) != 0); /* the views differ */
        vs_extract_stats st;
        vs_extract_state_stats(s1, &st);
        CHECK(st.frames == both->T && st.wall_s > 0);
    }
    /* no inset: probed, nothing found, no frames */
    CHECK_EQ(vs_extract_video(s1, plainclip, &none), VS_OK);
    if (none) CHECK(none->inset_probed == 1 && !none->inset.found && none->inset_T == 0 && !none->inset_data);

    /* vs_extract_files: version 1 without inset_view; with it the file is out of date and
     * rewritten as version 5 (this detector's version); then up to date for both settings */
    const char *ins[1] = {clip}, *outs[1] = {out};
    vs_batch_params bp = vs_batch_default_params();
    bp.on_item = on_item;
    seen sn = {0, 0, 0};
    bp.user = &sn;
    CHECK_EQ(vs_extract_files(ex0, ins, outs, 1, 0, &bp), VS_OK);
    CHECK(sn.n == 1 && sn.skipped == 0 && sn.failed == 0 && version_of(out) == 1);
    sn = (seen){0, 0, 0};
    CHECK_EQ(vs_extract_files(ex1, ins, outs, 1, 0, &bp), VS_OK);
    CHECK_MSG(sn.n == 1 && sn.skipped == 0 && sn.failed == 0, "a file without the block was left alone (%d skipped)",
              sn.skipped);
    CHECK_EQ(version_of(out), 5);
    sn = (seen){0, 0, 0};
    CHECK_EQ(vs_extract_files(ex1, ins, outs, 1, 0, &bp), VS_OK);
    CHECK(sn.n == 1 && sn.skipped == 1);
    sn = (seen){0, 0, 0};
    CHECK_EQ(vs_extract_files(ex0, ins, outs, 1, 0, &bp), VS_OK);
    CHECK(sn.n == 1 && sn.skipped == 1 && version_of(out) == 5);
    /* searched as it is: silently when this detector probed it, with a note otherwise */
    vs_index *idx = NULL;
    char idir[2048];
    tmp_path(idir, sizeof idir, "idx_note");
    CHECK_EQ(vs_index_open(&idx, idir, VS_INDEX_CREATE), VS_OK);
    if (idx && none) {
        vs_index_add_result ar;
        CHECK_EQ(vs_index_add_features(idx, plainclip, none, 0, &ar), VS_OK);
        CHECK_MSG(detector_notes(idx, out) == 0, "a note for this detector's file: %s", g_det_note);
    }
    vs_features *g = NULL;
    /* probed by another detector version (an older build's), or by one that did not record
     * it (version 4): out of date with inset_view, kept without it */
    for (int det = VS_INSET_DETECTOR - 1; det >= 0; det -= VS_INSET_DETECTOR - 1) {
        CHECK_EQ(vs_features_load(&g, out), VS_OK);
        if (!g) break;
        g->inset_detector = det;
        char older[2048];
        tmp_path(older, sizeof older, "older.vsf");
        CHECK_EQ(vs_features_save_views(g, older), VS_OK);
        vs_features_free(g);
        g = NULL;
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "mv '%s' '%s'", older, out);
        CHECK(system(cmd) == 0);
        CHECK_EQ(version_of(out), det ? 5 : 4);
        if (idx && none) {
            char want[64];
            snprintf(want, sizeof want, det ? "detector version %d, " : "detector an unrecorded version, ", det);
            CHECK_MSG(detector_notes(idx, out) == 1 && strstr(g_det_note, want) && strstr(g_det_note, out),
                      "detector %d: note '%s'", det, g_det_note);
        }
        sn = (seen){0, 0, 0};
        CHECK_EQ(vs_extract_files(ex0, ins, outs, 1, 0, &bp), VS_OK);
        CHECK_MSG(sn.n == 1 && sn.skipped == 1, "detector %d: re-extracted without inset_view", det);
        sn = (seen){0, 0, 0};
        CHECK_EQ(vs_extract_files(ex1, ins, outs, 1, 0, &bp), VS_OK);
        CHECK_MSG(sn.n == 1 && sn.skipped == 0 && sn.failed == 0, "detector %d: left alone", det);
        CHECK_EQ(version_of(out), 5);
        CHECK_EQ(vs_features_load(&g, out), VS_OK);
        if (g) CHECK_EQ(g->inset_detector, VS_INSET_DETECTOR);
        vs_features_free(g);
        g = NULL;
    }
    CHECK_EQ(vs_features_load(&g, out), VS_OK);
    if (g && both) {
        CHECK(g->mirror != NULL && g->inset_T == both->inset_T && g->inset.found);
        if (g->inset_T == both->inset_T)
            CHECK(memcmp(g->inset_data, both->inset_data,
                         (size_t)g->inset_T * g->R * g->D * sizeof(float)) == 0);
    }
    vs_features_free(g);
    vs_index_close(idx);
out:
    vs_features_free(probed);
    vs_features_free(cut);
    vs_features_free(both);
    vs_features_free(none);
    vs_extract_state_free(s0);
    vs_extract_state_free(s1);
    vs_extractor_free(ex0);
    vs_extractor_free(ex1);
}

int main(void) {
    const char *tmp = getenv("VS_TMP");
    snprintf(g_dir, sizeof g_dir, "%s/featfile_inset", tmp && *tmp ? tmp : "/tmp");
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    if (system(cmd) != 0) SKIP("cannot make %s", g_dir);
    test_layout();
    test_detector_version();
    test_index_storage();
    test_extract();
    return vs_test_done();
}
