/*
 * test_decode.c - the video decoder against the ffmpeg command line it replaces:
 * sample counts and pixels at 1 fps on synthetic clips (tests/data/make_synthetic.sh),
 * display-matrix rotation, VFR, a late-starting stream, a one-frame clip, files with
 * nothing decodable, the fps sampler on its own, every input of
 * ../shared/bench/make_bad_inputs.sh and damaged copies of a clip (frames or a clean
 * error naming the file, never a crash), and the allocation fault-injection loop.
 * The generated clips are cached in VS_TMP until their script changes. Skips (77)
 * without the ffmpeg CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "decode/decode_internal.h"
#include "vidsim/decode.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define FB (224 * 224 * 3)

static char g_syn[1024];

/* Pixel tolerance against the CLI: both run the same libswscale call, so the
 * output is expected to be identical; allow a little for SIMD/thread differences. */
#define TOL_MEAN 0.05
#define TOL_MAX 8

static const char *src_root(void) {
    const char *s = getenv("VS_SRC");
    return s && *s ? s : ".";
}

/* Frames of `ffmpeg -vf fps=1,scale=<even short side 256>,crop=224:224` (the
 * reference recipe); NULL if ffmpeg failed. */
static uint8_t *cli_frames(const char *path, int *n) {
    char out[4200], cmd[12000];
    snprintf(out, sizeof out, "%s/decode_cli.rgb", vs_test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -i '%s' -vf \"fps=1,"
             "scale=w='2*ceil(iw*256/min(iw,ih)/2)':h='2*ceil(ih*256/min(iw,ih)/2)',crop=224:224\" "
             "-pix_fmt rgb24 -f rawvideo '%s'",
             path, out);
    *n = 0;
    if (system(cmd) != 0) return NULL;
    size_t len;
    uint8_t *b = vs_test_read_file(out, &len);
    if (b) *n = (int)(len / FB);
    return b;
}

/* Mean and max absolute difference over n frames. */
static void diff(const uint8_t *a, const uint8_t *b, int n, double *mean, int *mx) {
    double s = 0;
    int m = 0;
    size_t tot = (size_t)n * FB;
    for (size_t i = 0; i < tot; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        s += d;
        if (d > m) m = d;
    }
    *mean = tot ? s / (double)tot : 0;
    *mx = m;
}

/* 1 if `stamp` exists and is newer than `script`: the corpus made by the script
 * in an earlier run is still current (generation takes tens of seconds on a busy
 * machine, so the tests reuse it). */
static int fresh(const char *stamp, const char *script) {
    struct stat a, b;
    return stat(stamp, &a) == 0 && stat(script, &b) == 0 && a.st_mtime >= b.st_mtime;
}

static void syn(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", g_syn, name); }

/* One clip: the sample count we expect, the CLI's count, and the pixels. */
static void check_clip(const char *name, int want) {
    char path[4200];
    syn(path, sizeof path, name);
    vs_decode_params p = vs_decode_default_params();
    uint8_t *ours = NULL;
    int n = 0;
    vs_decode_info info;
    vs_status st = vs_decode_all(path, &p, &ours, &n, &info);
    CHECK_MSG(st == VS_OK, "%s: %s", name, vs_last_error());
    int nc = 0;
    uint8_t *cli = cli_frames(path, &nc);
    CHECK_MSG(cli != NULL, "%s: ffmpeg failed", name);
    CHECK_MSG(n == want, "%s: %d samples, want %d", name, n, want);
    CHECK_MSG(n == nc, "%s: %d samples, ffmpeg -vf fps=1 gives %d", name, n, nc);
    if (cli && ours && n == nc) {
        double mean;
        int mx;
        diff(ours, cli, n, &mean, &mx);
        fprintf(stderr, "  %-18s %2d frames, parity vs CLI: mean abs %.4f, max %d\n", name, n, mean, mx);
        CHECK_MSG(mean <= TOL_MEAN && mx <= TOL_MAX, "%s: mean %.4f max %d", name, mean, mx);
    }
    /* The same frames with skipping off and with frame threads. */
    vs_decode_params q = p;
    q.skip_nonref = false;
    uint8_t *noskip = NULL;
    int n2 = 0;
    CHECK_EQ(vs_decode_all(path, &q, &noskip, &n2, NULL), VS_OK);
    CHECK_MSG(n2 == n && ours && noskip && memcmp(ours, noskip, (size_t)n * FB) == 0,
              "%s: skip_nonref changed the output", name);
    vs_free(noskip);
    q = p;
    q.n_threads = 3;
    uint8_t *thr = NULL;
    CHECK_EQ(vs_decode_all(path, &q, &thr, &n2, NULL), VS_OK);
    CHECK_MSG(n2 == n && ours && thr && memcmp(ours, thr, (size_t)n * FB) == 0,
              "%s: threads changed the output", name);
    vs_free(thr);
    free(cli);
    vs_free(ours);
}

/* The sampler alone: 25 fps for 5 s gives samples 0..4 taken from frames 12, 37,
 * ... (the last frame before k + 0.5 s, as vf_fps with rounding=near does). */
static void test_sampler(void) {
    vs__sampler s;
    vs__sampler_init(&s, 1000);
    int chosen[8], n_out = 0;
    for (int k = 0; k <= 125; k++) {
        int64_t first, cnt;
        if (k < 125) {
            int64_t p = (k * 4 + 50) / 100; /* round(k * 0.04), half up */
            cnt = vs__sampler_push(&s, p, &first);
        } else {
            cnt = vs__sampler_eof(&s, 5, &first);
        }
        for (int64_t i = 0; i < cnt && n_out < 8; i++) {
            CHECK_EQ(first + i, n_out);
            chosen[n_out++] = k - 1; /* the previously held frame */
        }
    }
    CHECK_EQ(n_out, 5);
    for (int i = 0; i < n_out && i < 5; i++) CHECK_EQ(chosen[i], 12 + 25 * i);
    /* A gap repeats the held frame; max_gap bounds the repeats. */
    vs__sampler_init(&s, 3);
    int64_t first;
    CHECK_EQ(vs__sampler_push(&s, 0, &first), 0);
    CHECK_EQ(vs__sampler_push(&s, 10, &first), 3);
    CHECK_EQ(first, 0);
    CHECK_EQ(vs__sampler_eof(&s, 12, &first), 2);
    CHECK_EQ(first, 10);
    /* A stream starting at index 2: the first output also fills 0 and 1. */
    vs__sampler_init(&s, 100);
    CHECK_EQ(vs__sampler_push(&s, 2, &first), 0);
    CHECK_EQ(vs__sampler_push(&s, 2, &first), 0);
    CHECK_EQ(vs__sampler_push(&s, 3, &first), 3);
    CHECK_EQ(first, 0);
    CHECK_EQ(vs__sampler_eof(&s, 4, &first), 1);
    CHECK_EQ(first, 3);
}

static void test_rotation(void) {
    char up[4200], path[4200];
    syn(up, sizeof up, "upright.mp4");
    vs_decode_params p = vs_decode_default_params();
    uint8_t *ref = NULL, *rot = NULL;
    int nr = 0, n = 0;
    CHECK_EQ(vs_decode_all(up, &p, &ref, &nr, NULL), VS_OK);
    const char *names[3] = {"rot90.mp4", "rot180.mp4", "rot270.mp4"};
    for (int i = 0; i < 3; i++) {
        syn(path, sizeof path, names[i]);
        vs_decode_info info;
        CHECK_MSG(vs_decode_all(path, &p, &rot, &n, &info) == VS_OK, "%s", vs_last_error());
        CHECK_MSG(info.rotation != 0, "%s: rotation not seen", names[i]);
        CHECK_MSG(n == nr && n > 0, "%s: %d frames, upright has %d", names[i], n, nr);
        if (n == nr && ref && rot) {
            double mean;
            int mx;
            diff(rot, ref, n, &mean, &mx);
            fprintf(stderr, "  %-18s rotation %3d: vs upright source mean abs %.4f, max %d\n",
                    names[i], info.rotation, mean, mx);
            CHECK_MSG(mean <= TOL_MEAN && mx <= TOL_MAX, "%s: not upright (mean %.3f, max %d)",
                      names[i], mean, mx);
        }
        vs_free(rot);
        rot = NULL;
    }
    vs_free(ref);
}

static void test_api(void) {
    char path[4200];
    syn(path, sizeof path, "cfr25_5s.mp4");
    vs_decode_params p = vs_decode_default_params();
    CHECK_NEAR(p.fps, 1, 0);
    CHECK_EQ(p.resize, 256);
    CHECK_EQ(p.crop, 224);
    CHECK(p.skip_nonref);
    vs_decoder *d = NULL;
    CHECK_EQ(vs_decode_open(&d, path, &p), VS_OK);
    const vs_decode_info *info = vs_decode_get_info(d);
    CHECK(info && info->width == 320 && info->height == 240);
    CHECK_NEAR(info->duration, 5.0, 0.01);
    CHECK_NEAR(info->stream_fps, 25, 1e-9);
    CHECK(strcmp(info->codec, "h264") == 0);
    const uint8_t *rgb;
    double t;
    int k = 0;
    while (vs_decode_next(d, &rgb, &t) == VS_OK && rgb) {
        CHECK_NEAR(t, k, 1e-9);
        k++;
    }
    CHECK_EQ(k, 5);
    CHECK_EQ(info->n_sampled, 5);
    CHECK(info->n_decoded > 0 && info->n_decoded <= 125);
    CHECK_EQ(vs_decode_next(d, &rgb, &t), VS_OK); /* stays at the end */
    CHECK(rgb == NULL);
    vs_decode_close(d);
    vs_decode_close(NULL);

    p.max_frames = 2;
    uint8_t *fr = NULL;
    int n = 0;
    CHECK_EQ(vs_decode_all(path, &p, &fr, &n, NULL), VS_OK);
    CHECK_EQ(n, 2);
    vs_free(fr);

    p = vs_decode_default_params();
    p.fps = 2; /* two samples a second: ffmpeg's fps=2 gives 10 for 5 s */
    CHECK_EQ(vs_decode_all(path, &p, &fr, &n, NULL), VS_OK);
    CHECK_EQ(n, 10);
    vs_free(fr);

    p = vs_decode_default_params();
    p.resize = 200; /* smaller than the crop: refused */
    CHECK_EQ(vs_decode_open(&d, path, &p), VS_ERR_INVALID_ARG);
    CHECK(d == NULL);
    CHECK(strstr(vs_last_error(), "resize") != NULL);
    CHECK_EQ(vs_decode_open(NULL, path, NULL), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_decode_all(path, NULL, NULL, &n, NULL), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_decode_open(&d, "/nonexistent/clip.mp4", NULL), VS_ERR_IO);
    CHECK(strstr(vs_last_error(), "/nonexistent/clip.mp4: not found") != NULL);

    /* A clip of one frame has no sample at 1 fps (like the CLI); decode_all falls
     * back to that frame. */
    syn(path, sizeof path, "one_frame.mp4");
    CHECK_EQ(vs_decode_open(&d, path, NULL), VS_OK);
    CHECK_EQ(vs_decode_next(d, &rgb, &t), VS_OK);
    CHECK(rgb == NULL);
    vs_decode_close(d);
    CHECK_EQ(vs_decode_all(path, NULL, &fr, &n, NULL), VS_OK);
    CHECK_EQ(n, 1);
    vs_free(fr);

    /* Files that open but hold nothing to decode. */
    static const struct { const char *name, *why; vs_status st; } empty[] = {
        {"no_media.mkv", "no media data", VS_ERR_FORMAT},
        {"no_video_packets.mkv", "zero-length video stream", VS_ERR_FORMAT},
        {"all_damaged.mkv", "no decodable frame", VS_ERR_DECODE},
    };
    for (int i = 0; i < 3; i++) {
        syn(path, sizeof path, empty[i].name);
        vs_status st = vs_decode_all(path, NULL, &fr, &n, NULL);
        CHECK_MSG(st == empty[i].st && strstr(vs_last_error(), empty[i].why) &&
                      strstr(vs_last_error(), empty[i].name),
                  "%s: %d %s", empty[i].name, (int)st, vs_last_error());
        CHECK(fr == NULL && n == 0);
    }
}

/* Every input of make_bad_inputs.sh: frames, or an error whose message names the
 * file; some with a specific reason. */
static void test_bad_inputs(void) {
    char dir[1024], cmd[8192], script[1024], stamp[1100];
    snprintf(dir, sizeof dir, "%s/decode_bad", vs_test_tmpdir());
    snprintf(script, sizeof script, "%s/bench/make_bad_inputs.sh", vs_test_shared());
    snprintf(stamp, sizeof stamp, "%s.stamp", dir);
    if (!fresh(stamp, script)) {
        snprintf(cmd, sizeof cmd,
                 "rm -f '%s'; chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s' && bash '%s' '%s' >/dev/null 2>&1 "
                 "&& touch '%s'",
                 stamp, dir, dir, script, dir, stamp);
        if (system(cmd) != 0) {
            fprintf(stderr, "  make_bad_inputs.sh failed or missing; bad-input checks not run\n");
            CHECK(access(script, R_OK) != 0); /* a failure of an existing script is a failure */
            return;
        }
    }
    static const struct { const char *name, *why; int ok; } want[] = {
        {"empty.mp4", "empty", 0},           {"text.mp4", "not a media file", 0},
        {"random.mkv", "", 0},               {"truncated_1pct.mp4", "", 0},
        {"moov_missing.mp4", "", 0},         {"audio_only.m4a", "audio only", 0},
        {"dir.mp4", "directory", 0},         {"symlink_loop.mp4", "loop", 0},
        {"one_frame.mp4", NULL, 1},          {"tiny_16x16.mp4", NULL, 1},
        {"huge_8192x8192.mp4", NULL, 1},     {"corrupt_middle.mp4", NULL, 1},
        {"odd_pixfmt_gray.mkv", NULL, 1},    {"odd_pixfmt_rgb24.mkv", NULL, 1},
        {"odd_pixfmt_yuv444p10le.mkv", NULL, 1}, {"odd_pixfmt_yuva420p.mkv", NULL, 1},
        {"rotated_90.mp4", NULL, 1},         {"vfr.mkv", NULL, 1},
        {"no_timestamps.h264", NULL, 1},     {"long_static.mp4", NULL, 1},
        {"name with spaces and ünïcödé.mp4", NULL, 1},
    };
    DIR *dh = opendir(dir);
    CHECK(dh != NULL);
    if (!dh) return;
    struct dirent *e;
    int n_files = 0;
    while ((e = readdir(dh))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[8400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *fr = NULL;
        int n = 0;
        vs_decode_info info;
        vs_status st = vs_decode_all(path, NULL, &fr, &n, &info);
        n_files++;
        if (st == VS_OK) {
            CHECK_MSG(n >= 1 && fr, "%s: ok but %d frames", e->d_name, n);
            fprintf(stderr, "  %-34s %4d frames (%ld decoded, %ld damaged)\n", e->d_name, n,
                    info.n_decoded, info.n_damaged);
        } else {
            CHECK_MSG(strstr(vs_last_error(), e->d_name) != NULL, "%s: message does not name it: %s",
                      e->d_name, vs_last_error());
            fprintf(stderr, "  %-34s error %d: %s\n", e->d_name, (int)st, vs_last_error());
        }
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            if (strcmp(want[i].name, e->d_name)) continue;
            if (want[i].ok) CHECK_MSG(st == VS_OK, "%s: %s", e->d_name, vs_last_error());
            else CHECK_MSG(st != VS_OK && strstr(vs_last_error(), want[i].why), "%s: %s", e->d_name,
                           st == VS_OK ? "accepted" : vs_last_error());
            if (!strcmp(e->d_name, "rotated_90.mp4")) CHECK(info.rotation != 0);
            if (!strcmp(e->d_name, "long_static.mp4")) CHECK_EQ(n, 600);
        }
        if (!strcmp(e->d_name, "unreadable.mp4") && geteuid() != 0)
            CHECK_MSG(st != VS_OK, "unreadable.mp4 was read");
        vs_free(fr);
    }
    closedir(dh);
    CHECK(n_files >= 24);

    /* max_pixels bounds memory: the 8192x8192 clip is refused below it. */
    char path[4400];
    snprintf(path, sizeof path, "%s/huge_8192x8192.mp4", dir);
    vs_decode_params p = vs_decode_default_params();
    p.max_pixels = 4096 * 4096;
    vs_decoder *d;
    CHECK_EQ(vs_decode_open(&d, path, &p), VS_ERR_UNSUPPORTED);
    CHECK(strstr(vs_last_error(), "huge_8192x8192.mp4: frame too large") != NULL);
}

/* Damaged copies of a good clip (bytes overwritten, a block of noise, cut short):
 * each gives frames or an error naming the file, never a crash. */
static void test_mutations(void) {
    char src[1200], dst[1200];
    syn(src, sizeof src, "cfr25_5s.mp4");
    snprintf(dst, sizeof dst, "%s/decode_mutant.mp4", vs_test_tmpdir());
    size_t len;
    unsigned char *good = vs_test_read_file(src, &len);
    CHECK(good && len > 4096);
    if (!good || len <= 4096) return;
    unsigned char *b = malloc(len);
    uint32_t seed = 12345;
#define RND() (seed = seed * 1664525u + 1013904223u, seed >> 8)
    int n_ok = 0, n_err = 0;
    for (int i = 0; i < 12 && b; i++) {
        memcpy(b, good, len);
        size_t n = len;
        if (i % 3 == 0) {
            for (int k = 0; k < 16; k++) {
                size_t at = RND() % len;
                b[at] = (unsigned char)RND();
            }
        } else if (i % 3 == 1) {
            size_t o = RND() % (len - 2048);
            for (size_t k = 0; k < 2048; k++) b[o + k] = (unsigned char)RND();
        } else {
            n = 1 + RND() % (len - 1);
        }
#undef RND
        FILE *f = fopen(dst, "wb");
        CHECK(f != NULL);
        if (!f) break;
        fwrite(b, 1, n, f);
        fclose(f);
        uint8_t *fr = NULL;
        int nf = 0;
        vs_status st = vs_decode_all(dst, NULL, &fr, &nf, NULL);
        if (st == VS_OK) {
            n_ok++;
            CHECK(nf >= 1 && fr);
        } else {
            n_err++;
            CHECK_MSG(strstr(vs_last_error(), "decode_mutant.mp4") != NULL, "%s", vs_last_error());
        }
        vs_free(fr);
    }
    fprintf(stderr, "  damaged copies: %d decoded, %d clean errors\n", n_ok, n_err);
    free(b);
    free(good);
}

/* Fail the n-th allocation for n = 1, 2, ... until the call succeeds: each failure
 * must return an error with a message and leak nothing (ASan build checks leaks). */
static void test_alloc_failures(void) {
    char path[4200];
    syn(path, sizeof path, "rot90.mp4"); /* exercises the rotation buffers too */
    int n_fail = 0;
    for (long n = 1; n < 1000; n++) {
        uint8_t *fr = NULL;
        int nf = 0;
        vs_alloc_fail_after(n);
        vs_status st = vs_decode_all(path, NULL, &fr, &nf, NULL);
        vs_alloc_fail_after(0);
        if (st == VS_OK) {
            CHECK(nf == 3 && fr);
            vs_free(fr);
            break;
        }
        n_fail++;
        CHECK_MSG(st == VS_ERR_NOMEM && vs_last_error()[0], "n=%ld: %d %s", n, (int)st, vs_last_error());
        CHECK(fr == NULL && nf == 0);
    }
    fprintf(stderr, "  fault injection: %d failing allocations handled\n", n_fail);
    CHECK(n_fail >= 3);
}

int main(void) {
    test_sampler();
    if (system("ffmpeg -hide_banner -version >/dev/null 2>&1") != 0)
        SKIP("the ffmpeg CLI is not installed: the decoder tests need it to make clips");
    snprintf(g_syn, sizeof g_syn, "%s/decode_synth", vs_test_tmpdir());
    char cmd[8192], script[1024], stamp[1100];
    snprintf(script, sizeof script, "%s/tests/data/make_synthetic.sh", src_root());
    snprintf(stamp, sizeof stamp, "%s/.done", g_syn);
    snprintf(cmd, sizeof cmd, "rm -f '%s'; bash '%s' '%s'", stamp, script, g_syn);
    if (!fresh(stamp, script) && system(cmd) != 0)
        SKIP("tests/data/make_synthetic.sh failed (ffmpeg without libx264?)");

    check_clip("cfr25_5s.mp4", 5);
    check_clip("ntsc_4_5s.mp4", 5);
    check_clip("portrait_7_3s.mp4", 7);
    check_clip("box_24.mkv", 4);
    check_clip("odd_444.mkv", 3);
    check_clip("offset.ts", 4);
    check_clip("vfr.mkv", 9);
    check_clip("late_video.mkv", 6);
    check_clip("rot90.mp4", 3);
    check_clip("rot270.mp4", 3);
    check_clip("rot90_422.mp4", 3);
    test_rotation();
    test_api();
    test_bad_inputs();
    test_mutations();
    test_alloc_failures();
    return vs_test_done();
}
