/*
 * thumbnail.c - one frame of a video as a PNG in memory (the review page's
 * thumbnails): the first frame at or after a time (rotated, short side scaled,
 * centre-cropped square, as the features see it: convert.c), found by seeking to
 * the keyframe before the time and decoding from there, and encoded with libpng into
 * a growing buffer. When seeking or that decode fails, the module's sequential
 * decoder reads from the start instead (the sample nearest the time on a 0.25 s
 * grid).
 */
#define _POSIX_C_SOURCE 200809L
#include "core/internal.h"
#include "decode_internal.h"
#include "vidsim/decode.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t len) {
    membuf *b = png_get_io_ptr(png);
    if (b->oom) return;
    if (b->n + len > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->n + len) nc *= 2;
        uint8_t *np = vs__realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void mem_flush(png_structp png) { (void)png; }

vs_status vs_png_encode_rgb(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (!rgb || w < 1 || h < 1) return vs__err(VS_ERR_INVALID_ARG, "png: empty image");
    membuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return vs__err(VS_ERR_NOMEM, "png: libpng could not start");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        vs__free(b.p);
        return vs__err(VS_ERR_INTERNAL, "png: libpng failed while encoding");
    }
    png_set_write_fn(png, &b, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * w * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (b.oom) {
        vs__free(b.p);
        return vs__err(VS_ERR_NOMEM, "png: out of memory");
    }
    *out = b.p;
    *len = b.n;
    return VS_OK;
}

enum { MAX_AFTER_SEEK = 3000 }; /* frames decoded after the seek at most (a keyframe far back) */

/* The first frame at or after t (or the last one) into rgb [side*side*3]; -1 when
 * this path cannot do it (then the caller decodes sequentially). Errors are not set. */
static int seek_frame(const char *path, double t, int side, uint8_t *rgb) {
    AVFormatContext *fmt = NULL;
    AVCodecContext *cc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc(), *best = av_frame_alloc();
    vs__conv conv;
    memset(&conv, 0, sizeof conv);
    int rc = -1, have = 0, done = 0;
    if (!pkt || !f || !best || avformat_open_input(&fmt, path, NULL, NULL) < 0) goto out;
    if (avformat_find_stream_info(fmt, NULL) < 0) goto out;
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec) goto out;
    AVStream *st = fmt->streams[si];
    /* what the sequential decoder would refuse (too large) is left to it */
    if (st->codecpar->width < 1 || st->codecpar->height < 1 ||
        (int64_t)st->codecpar->width * st->codecpar->height > vs_decode_default_params().max_pixels)
        goto out;
    if (!(cc = avcodec_alloc_context3(codec)) || avcodec_parameters_to_context(cc, st->codecpar) < 0) goto out;
    cc->thread_count = 1;
    if (avcodec_open2(cc, codec, NULL) < 0) goto out;
    double tb = av_q2d(st->time_base);
    if (!(tb > 0)) goto out;
    int64_t start = fmt->start_time != AV_NOPTS_VALUE ? av_rescale_q(fmt->start_time, AV_TIME_BASE_Q, st->time_base) : 0;
    int64_t target = start + (int64_t)llround(t / tb);
    if (t > 0 && av_seek_frame(fmt, si, target, AVSEEK_FLAG_BACKWARD) < 0) goto out;
    long n_dec = 0;
    int eof = 0;
    while (!done && n_dec < MAX_AFTER_SEEK) {
        if (!eof) {
            int r = av_read_frame(fmt, pkt);
            if (r < 0) {
                eof = 1;
                avcodec_send_packet(cc, NULL);
            } else {
                if (pkt->stream_index == si) avcodec_send_packet(cc, pkt); /* a damaged packet: skipped */
                av_packet_unref(pkt);
            }
        }
        for (;;) {
            int r = avcodec_receive_frame(cc, f);
            if (r == AVERROR(EAGAIN)) break;
            if (r < 0) {
                done = 1; /* end of stream: the last frame kept */
                break;
            }
            n_dec++;
            av_frame_unref(best);
            av_frame_move_ref(best, f);
            have = 1;
            int64_t pts = best->best_effort_timestamp;
            if (pts != AV_NOPTS_VALUE && pts >= target) {
                done = 1;
                break;
            }
        }
    }
    if (have && vs__conv_frame(&conv, best, vs__stream_rotation(st), side + (side & 1), side, rgb, path) == VS_OK) rc = 0;
out:
    vs__conv_free(&conv);
    av_frame_free(&f);
    av_frame_free(&best);
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    avformat_close_input(&fmt);
    return rc;
}

vs_status vs_thumbnail_png(const char *path, double t, int max_side, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (!path) return vs__err(VS_ERR_INVALID_ARG, "thumbnail: NULL path");
    if (!(t >= 0) || !isfinite(t)) return vs__err(VS_ERR_INVALID_ARG, "thumbnail: time must be >= 0 seconds");
    if (max_side < 16 || max_side > 1024)
        return vs__err(VS_ERR_INVALID_ARG, "thumbnail: size must be 16 to 1024 pixels, got %d", max_side);
    vs_status ps = vs__decode_prepare(path);
    if (ps) return ps;
    uint8_t *seeked = vs__malloc((size_t)max_side * max_side * 3);
    if (!seeked) return vs__err(VS_ERR_NOMEM, "thumbnail: out of memory");
    if (seek_frame(path, t, max_side, seeked) == 0) {
        vs_status s = vs_png_encode_rgb(seeked, max_side, max_side, out, len);
        vs__free(seeked);
        return s;
    }
    vs__free(seeked);
    vs_decode_params p = vs_decode_default_params();
    p.fps = 4; /* a quarter-second grid */
    p.resize = max_side + (max_side & 1);
    p.crop = max_side;
    vs_decoder *d = NULL;
    vs_status s = vs_decode_open(&d, path, &p);
    if (s) return s;
    uint8_t *best = vs__malloc((size_t)max_side * max_side * 3);
    if (!best) {
        vs_decode_close(d);
        return vs__err(VS_ERR_NOMEM, "thumbnail: out of memory");
    }
    int have = 0;
    for (;;) {
        const uint8_t *rgb;
        double ft;
        if ((s = vs_decode_next(d, &rgb, &ft))) break;
        if (!rgb) break;
        memcpy(best, rgb, (size_t)max_side * max_side * 3);
        have = 1;
        if (ft + 0.125 >= t) break; /* the sample nearest t (or the last one) */
    }
    vs_decode_close(d);
    if (!s && !have) s = vs__err(VS_ERR_DECODE, "%s: no frame could be decoded", path);
    if (!s) s = vs_png_encode_rgb(best, max_side, max_side, out, len);
    vs__free(best);
    return s;
}
