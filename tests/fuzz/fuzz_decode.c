/*
 * fuzz_decode.c - libFuzzer target for the decode wrapper (src/decode: vs_decode_open,
 * vs_decode_next, vs_decode_all's rules, vs_thumbnail_png) on mutated real clips:
 * the input is written to a scratch file and decoded the way extraction does (sampled
 * frames, rotation, scaling, centre crop), single-threaded, with small output sizes,
 * at most 12 sampled frames and at most 1 Mpixel per stream, so that one input costs
 * milliseconds. Every frame handed out is read end to end; then a thumbnail is asked
 * for. Seeds: tiny clips in several containers and codecs (tests/fuzz/make_corpus.sh).
 * Not here: FFmpeg's own demuxers and decoders as such (they are fuzzed upstream by
 * OSS-Fuzz); what is ours is everything around them.
 */
#include "fuzz.h"

#include "vidsim/decode.h"

static void decode_once(const char *path, double fps, int rotate_crop) {
    vs_decode_params p = vs_decode_default_params();
    p.fps = fps;
    p.resize = rotate_crop ? 40 : 32;
    p.crop = 32;
    p.n_threads = 1;
    p.max_frames = 12;
    p.max_pixels = 1024 * 1024;
    p.skip_nonref = rotate_crop;
    vs_decoder *d = NULL;
    if (fuzz_note("vs_decode_open", vs_decode_open(&d, path, &p)) != VS_OK) return;
    volatile unsigned sink = 0;
    for (int k = 0; k < 64; k++) {
        const uint8_t *rgb = NULL;
        double t = 0;
        if (fuzz_note("vs_decode_next", vs_decode_next(d, &rgb, &t)) != VS_OK || !rgb) break;
        for (int i = 0; i < p.crop * p.crop * 3; i++) sink += rgb[i];
        sink += (unsigned)(t > 0);
    }
    const vs_decode_info *info = vs_decode_get_info(d);
    if (info) sink += (unsigned)info->n_decoded + (unsigned)strnlen(info->codec, sizeof info->codec);
    (void)sink;
    vs_decode_close(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 18)) return 0;
    const char *p = fuzz_write(data, size);
    decode_once(p, 4, 1);
    decode_once(p, 1, 0);
    uint8_t *png = NULL;
    size_t len = 0;
    if (fuzz_note("vs_thumbnail_png", vs_thumbnail_png(p, 0.5, 24, &png, &len)) == VS_OK) vs_free(png);
    return 0;
}
