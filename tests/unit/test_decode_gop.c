/*
 * test_decode_gop.c - the dropping of whole packets before a closed-GOP keyframe
 * (vs_decode_params.skip_closed_gop): on H.264 clips made here with the ffmpeg CLI
 * (closed GOPs of 15 frames with B-frames in MP4 and in MPEG-TS, open GOPs, VP8), the
 * sampled frames are bit-identical with and without it (and with frame threads), fewer
 * frames are decoded on the closed-GOP clips, and exactly as many on the open-GOP and
 * VP8 clips and while probe pictures are kept. Also gop.c's packet reading on
 * hand-made AVCC and Annex B packets. Skips (77) without ffmpeg/libx264.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "decode/decode_internal.h"
#include "vidsim/decode.h"

#include <libavcodec/codec_id.h>

#include <stdlib.h>
#include <unistd.h>

#define FB (224 * 224 * 3)

static char g_dir[4096];

/* Runs one ffmpeg command writing g_dir/name; 0 when it failed. */
static int make(const char *name, const char *args) {
    char cmd[10000];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -hide_banner -loglevel error -y %s '%s/%s'", args, g_dir, name);
    return system(cmd) == 0;
}

/* Decodes name with p; returns the frames (vs_free) and fills *n, *info. */
static uint8_t *decode(const char *name, const vs_decode_params *p, int *n, vs_decode_info *info) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    uint8_t *f = NULL;
    vs_status st = vs_decode_all(path, p, &f, n, info);
    CHECK_MSG(st == VS_OK, "%s: %s", name, vs_last_error());
    return f;
}

/* The clip decoded with and without skip_closed_gop (and with 3 frame threads): the
 * same samples, byte for byte, and want_fewer = whether fewer frames are decoded. */
static void check(const char *name, int want_samples, int want_fewer) {
    vs_decode_params on = vs_decode_default_params(), off = on;
    off.skip_closed_gop = false;
    vs_decode_info ion, ioff, ithr;
    int n_on = 0, n_off = 0, n_thr = 0;
    uint8_t *a = decode(name, &on, &n_on, &ion);
    uint8_t *b = decode(name, &off, &n_off, &ioff);
    vs_decode_params thr = on;
    thr.n_threads = 3;
    uint8_t *c = decode(name, &thr, &n_thr, &ithr);
    fprintf(stderr, "  %-12s %2d samples; decoded %ld frames with skip_closed_gop, %ld without, %ld with 3 threads\n",
            name, n_on, ion.n_decoded, ioff.n_decoded, ithr.n_decoded);
    CHECK_MSG(n_on == want_samples && n_off == want_samples && n_thr == want_samples,
              "%s: %d / %d / %d samples, want %d", name, n_on, n_off, n_thr, want_samples);
    CHECK_MSG(a && b && n_on == n_off && memcmp(a, b, (size_t)n_on * FB) == 0,
              "%s: skip_closed_gop changed the sampled frames", name);
    CHECK_MSG(a && c && n_on == n_thr && memcmp(a, c, (size_t)n_on * FB) == 0,
              "%s: frame threads with skip_closed_gop changed the sampled frames", name);
    if (want_fewer)
        CHECK_MSG(ion.n_decoded < ioff.n_decoded, "%s: %ld frames decoded with skip_closed_gop, %ld without",
                  name, ion.n_decoded, ioff.n_decoded);
    else
        CHECK_MSG(ion.n_decoded == ioff.n_decoded, "%s: %ld frames decoded with skip_closed_gop, %ld without",
                  name, ion.n_decoded, ioff.n_decoded);
    /* Probe pictures come from the frames decoded: no dropping while they are kept. */
    vs_decode_params pr = on, prof = off;
    pr.probe_width = prof.probe_width = 64;
    vs_decode_info ipr, iprof;
    int n_pr = 0, n_prof = 0;
    uint8_t *d = decode(name, &pr, &n_pr, &ipr);
    uint8_t *e = decode(name, &prof, &n_prof, &iprof);
    CHECK_MSG(ipr.n_decoded == iprof.n_decoded, "%s: probe pictures kept, %ld decoded with skip_closed_gop, %ld without",
              name, ipr.n_decoded, iprof.n_decoded);
    CHECK(d && a && n_pr == n_on && memcmp(d, a, (size_t)n_on * FB) == 0);
    vs_free(a);
    vs_free(b);
    vs_free(c);
    vs_free(d);
    vs_free(e);
}

/* gop.c alone: AVCC with 4-byte lengths, then Annex B. */
static void test_packets(void) {
    static const uint8_t avcc[] = {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0}; /* lengthSizeMinusOne = 3 */
    vs__gop g;
    vs__gop_init(&g, AV_CODEC_ID_H264, avcc, sizeof avcc);
    CHECK_EQ(g.mode, VS__GOP_H264_AVCC);
    CHECK_EQ(g.nal_len, 4);
    const uint8_t idr[] = {0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x65, 0x88}; /* SEI + IDR slice */
    const uint8_t p[] = {0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 3, 0x41, 0x9a, 0x01}; /* AUD + non-IDR slice */
    const uint8_t sei_p[] = {0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x41, 0x9a};    /* SEI + non-IDR */
    const uint8_t pps_p[] = {0, 0, 0, 2, 0x68, 0xee, 0, 0, 0, 2, 0x41, 0x9a};    /* PPS + non-IDR */
    const uint8_t bad[] = {0, 0, 0, 9, 0x41, 0x9a};                               /* length past the end */
    const uint8_t forbidden[] = {0, 0, 0, 2, 0xc1, 0x9a};                         /* forbidden bit set */
    CHECK_EQ(vs__gop_packet(&g, idr, sizeof idr), VS__GOP_KEY);
    CHECK_EQ(vs__gop_packet(&g, p, sizeof p), VS__GOP_DROPPABLE);
    CHECK_EQ(vs__gop_packet(&g, sei_p, sizeof sei_p), 0);
    CHECK_EQ(vs__gop_packet(&g, pps_p, sizeof pps_p), 0);
    CHECK_EQ(vs__gop_packet(&g, bad, sizeof bad), 0);
    CHECK_EQ(vs__gop_packet(&g, forbidden, sizeof forbidden), 0);
    CHECK_EQ(vs__gop_packet(&g, p, 0), 0);
    vs__gop_init(&g, AV_CODEC_ID_H264, NULL, 0);
    CHECK_EQ(g.mode, VS__GOP_H264_ANNEXB);
    const uint8_t b_idr[] = {0, 0, 0, 1, 0x67, 0x64, 0, 0, 1, 0x68, 0xee, 0, 0, 1, 0x65, 0x88};
    const uint8_t b_p[] = {0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a, 0x00, 0x00, 0x03, 0x01};
    const uint8_t b_none[] = {0x41, 0x9a, 0x01, 0x02};
    CHECK_EQ(vs__gop_packet(&g, b_idr, sizeof b_idr), VS__GOP_KEY);
    CHECK_EQ(vs__gop_packet(&g, b_p, sizeof b_p), VS__GOP_DROPPABLE);
    CHECK_EQ(vs__gop_packet(&g, b_none, sizeof b_none), 0);
    vs__gop_init(&g, AV_CODEC_ID_VP8, NULL, 0);
    CHECK_EQ(vs__gop_packet(&g, p, sizeof p), 0);
}

int main(void) {
    test_packets();
    if (system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264") != 0)
        SKIP("the ffmpeg CLI with libx264 is not installed: the clip tests need it");
    snprintf(g_dir, sizeof g_dir, "%s/decode_gop_XXXXXX", vs_test_tmpdir());
    if (!mkdtemp(g_dir)) SKIP("cannot make a temporary folder under %s", vs_test_tmpdir());
    const char *src = "-f lavfi -i testsrc2=size=320x240:rate=30 -t 6.4 -pix_fmt yuv420p -c:v libx264 -preset veryfast";
    char args[2000];
    /* Closed GOPs: an IDR every 15 frames (0.5 s), 3 B-frames with pyramid: 14 packets
     * before each IDR in the same output second. */
    snprintf(args, sizeof args, "%s -x264-params keyint=15:min-keyint=15:scenecut=0:bframes=3:open-gop=0", src);
    int ok = make("closed.mp4", args);
    CHECK_MSG(ok, "ffmpeg could not make closed.mp4");
    /* The same stream in MPEG-TS: Annex B start codes, parameter sets repeated in-band. */
    char ts[5000];
    snprintf(ts, sizeof ts, "-i '%s/closed.mp4' -c copy -bsf:v h264_mp4toannexb", g_dir);
    ok = ok && make("closed.ts", ts);
    /* 25 fps, IDR every 12 frames: the keyframes fall elsewhere in the output second. */
    ok = ok && make("closed25.mkv", "-f lavfi -i testsrc2=size=320x180:rate=25 -t 7 -pix_fmt yuv420p -c:v libx264 "
                                    "-preset veryfast -x264-params keyint=12:min-keyint=12:scenecut=0:bframes=2");
    /* Open GOPs: keyframes are non-IDR I frames whose leading B-frames refer to the GOP
     * before; nothing may be dropped. */
    snprintf(args, sizeof args, "%s -x264-params keyint=15:min-keyint=15:scenecut=0:bframes=3:open-gop=1", src);
    ok = ok && make("open.mp4", args);
    CHECK_MSG(ok, "ffmpeg could not make the clips");
    if (ok) {
        check("closed.mp4", 6, 1);
        check("closed.ts", 6, 1);
        check("closed25.mkv", 7, 1);
        check("open.mp4", 6, 0);
        if (make("vp8.webm", "-f lavfi -i testsrc2=size=320x240:rate=30 -t 4 -c:v libvpx -g 15 -b:v 300k"))
            check("vp8.webm", 4, 0);
    }
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return vs_test_done();
}
