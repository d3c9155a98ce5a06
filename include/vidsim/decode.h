/*
 * decode.h - read a video file with FFmpeg and sample frames at a fixed rate by
 * presentation time, rotated as the container says, resized so the short side is
 * `resize` (even-rounded, bicubic) and centre-cropped to `crop` x `crop` RGB24.
 * This is the S2VS loader's recipe (fps=1, 256, 224) done in-process.
 *
 * Thread safety: a vs_decoder is used by one thread at a time; independent
 * decoders may run concurrently.
 *
 * Example:
 *     vs_decode_params p = vs_decode_default_params();
 *     vs_decoder *d;
 *     if (vs_decode_open(&d, "clip.mp4", &p) != VS_OK) { puts(vs_last_error()); return; }
 *     const uint8_t *rgb; double t;
 *     while (vs_decode_next(d, &rgb, &t) == VS_OK && rgb) { ... crop*crop*3 bytes ... }
 *     vs_decode_close(d);
 */
#ifndef VIDSIM_DECODE_H
#define VIDSIM_DECODE_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_decoder vs_decoder;

typedef struct vs_decode_params {
    double fps;          /* frames sampled per second of presentation time (default 1) */
    int resize;          /* short side after scaling (default 256) */
    int crop;            /* centre crop side, the output size (default 224) */
    int n_threads;       /* codec threads (default 1; 0 = FFmpeg's choice) */
    int max_frames;      /* stop after this many sampled frames (0 = no limit) */
    int max_pixels;      /* refuse streams larger than this many pixels (default 8192*8192) */
    bool skip_nonref;    /* let the codec skip non-reference frames between samples (default true) */
    bool skip_closed_gop; /* drop, unsent, the packets that cannot be sampled just before a keyframe
                            that starts a closed GOP (H.264 IDR) in the same output interval: nothing
                            decoded later refers to them, so the samples are the same bytes (default
                            true; never while probe_width > 0; docs/decode.md) */
    float view[4];       /* x0, y0, x1, y1: the part of the upright picture to sample, as fractions
                            of its width and height (default 0, 0, 1, 1: all of it). A smaller
                            rectangle is cut from the full-resolution picture and scaled so that its
                            short side is `resize`, then centre-cropped: a picture-in-picture view
                            (docs/hard_copies.md). Each side at least 0.1 of the picture's. */
    int probe_width;     /* > 0: also keep small grey probe pictures of the decoded frames, this
                            many pixels wide (16..256; default 0, none), for vs_decode_probes */
    double probe_fps;    /* most probe pictures per second of video (default 5) */
    int probe_colour;    /* 1: also keep each probe picture in colour (RGB) for
                            vs_decode_probes_rgb (default 0: grey only) */
} vs_decode_params;

typedef struct vs_decode_info {
    double duration;     /* seconds, from the container (or last timestamp seen); 0 if unknown */
    int width, height;   /* coded size of the video stream */
    int rotation;        /* degrees turned clockwise to make it upright (0, 90, 180, 270) */
    double stream_fps;   /* average frame rate the container reports (0 if unknown) */
    long n_decoded;      /* frames decoded so far */
    long n_sampled;      /* frames returned so far */
    long n_damaged;      /* packets/frames that failed to decode (skipped) or came out flagged corrupt */
    char codec[32];      /* codec name */
} vs_decode_info;

VS_API vs_decode_params vs_decode_default_params(void);

/* Open path. On failure *out is NULL and vs_last_error() names the file and the
 * reason (not found, not a video, audio only, zero length, too large, ...). */
VS_API vs_status vs_decode_open(vs_decoder **out, const char *path, const vs_decode_params *p);

/* Next sampled frame: *rgb points to crop*crop*3 bytes (RGB, row-major) owned by the
 * decoder and valid until the next call; *t its time in seconds. At the end of the
 * stream returns VS_OK with *rgb = NULL. Damaged packets are skipped and counted. */
VS_API vs_status vs_decode_next(vs_decoder *d, const uint8_t **rgb, double *t);

VS_API const vs_decode_info *vs_decode_get_info(const vs_decoder *d);
/* The probe pictures kept so far (vs_decode_params.probe_width > 0): *n grey pictures of
 * *w x *h bytes, one after the other, upright, in presentation order, at most probe_fps a
 * second from the frames the decoder decodes anyway (no frame is decoded for them). At
 * most 1024 are kept: past that every other one is dropped and the rate halved. NULL with
 * *n = 0 when none. Owned by the decoder, valid until the next vs_decode_next or close. */
VS_API const uint8_t *vs_decode_probes(const vs_decoder *d, int *n, int *w, int *h);
/* The same probe pictures in colour (vs_decode_params.probe_colour): n pictures of w x h x 3
 * bytes (R, G, B, row-major), one after the other, as vs_decode_probes says; NULL when
 * none or probe_colour is 0. Valid as long as the grey pictures. */
VS_API const uint8_t *vs_decode_probes_rgb(const vs_decoder *d);
/* The probe pictures' times in seconds (the sampled frames' clock), n of them as
 * vs_decode_probes says; NULL when none. Valid as long as the pictures. */
VS_API const double *vs_decode_probe_times(const vs_decoder *d);

VS_API void vs_decode_close(vs_decoder *d);

/* Convenience: decode a whole file into a new buffer of n_frames*crop*crop*3 bytes
 * (caller frees with vs_free). A file that yields no sampled frame but has at least
 * one decodable frame returns its first frame. */
VS_API vs_status vs_decode_all(const char *path, const vs_decode_params *p, uint8_t **frames,
                               int *n_frames, vs_decode_info *info);

/* A thumbnail of path at t seconds: the first frame at or after t (seeking to the
 * keyframe before t), or the last one when t is past the end, rotated upright, scaled
 * to short side max_side and centre-cropped to max_side x max_side (16..1024), as a
 * PNG in a new buffer *out of *len bytes (caller frees with vs_free). When seeking
 * fails it decodes from the start (the sample nearest t on a 0.25 s grid). Errors as
 * vs_decode_open; VS_ERR_INVALID_ARG for t < 0 or a bad size. Blocks. */
VS_API vs_status vs_thumbnail_png(const char *path, double t, int max_side, uint8_t **out, size_t *len);
/* Encode w x h RGB24 (row-major) as a PNG into a new buffer (vs_free). */
VS_API vs_status vs_png_encode_rgb(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
