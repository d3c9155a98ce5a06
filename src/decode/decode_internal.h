/*
 * decode_internal.h - private pieces of the decode module shared between its files:
 * the fps sampler (sample.c, a re-statement of FFmpeg's fps filter) and the frame
 * converter (convert.c: rotation, swscale to RGB24 at the even-rounded short side,
 * centre crop). Nothing here is seen outside src/decode/.
 */
#ifndef VS_DECODE_INTERNAL_H
#define VS_DECODE_INTERNAL_H

#include "core/internal.h"
#include "vidsim/decode.h"

#include <libavutil/frame.h>

/* ---- sample.c ---------------------------------------------------------------
 * Frames enter in output (presentation) order with their timestamp already
 * rounded to the output grid (index p = round(t * fps), half away from zero).
 * Like vf_fps with rounding=near: output n is the last frame whose p <= n; the
 * first output is the first frame's p (and, like the CLI's cfr output, that first
 * output also fills indices 0 .. p-1 when p > 0); at EOF the held frame is
 * repeated up to (but not including) the rounded end time. */
typedef struct vs__sampler {
    int64_t next_n;   /* next output index (valid once started) */
    int started;      /* a first frame has fixed next_n */
    int has_held;     /* a frame is held as the candidate for next_n */
    int emitted;      /* an output has been produced */
    int64_t max_gap;  /* most outputs one frame may be repeated for (bounds a timestamp jump) */
} vs__sampler;

void vs__sampler_init(vs__sampler *s, int64_t max_gap);
/* A new frame with index p arrives. Returns how many outputs the previously held
 * frame gets (indices *first_n, *first_n + 1, ...); afterwards the new frame is
 * the held one. */
int64_t vs__sampler_push(vs__sampler *s, int64_t p, int64_t *first_n);
/* End of stream at rounded end index eof_p: outputs for the held frame. */
int64_t vs__sampler_eof(vs__sampler *s, int64_t eof_p, int64_t *first_n);

/* ---- convert.c ---------------------------------------------------------------
 * Converts one decoded frame to crop x crop RGB24: rotate (90/180/270, clockwise,
 * as FFmpeg's autorotate does), cut the view rectangle when has_view (full resolution,
 * chroma-aligned), swscale SWS_BICUBIC to w' x h' (short side `resize`, both
 * even-rounded up), centre crop. Buffers are reused between calls. */
typedef struct vs__conv {
    struct SwsContext *sws;     /* source (possibly rotated) -> RGB24 w' x h' */
    struct SwsContext *sws_pre; /* fallback rotation path: source -> RGB24 native size */
    uint8_t *rot;               /* rotated planes */
    size_t rot_cap;
    uint8_t *pre;               /* native-size RGB24 before rotation (fallback path) */
    size_t pre_cap;
    uint8_t *scaled;            /* w' x h' x 3 */
    size_t scaled_cap;
    int has_view;               /* cut view[] (fractions x0, y0, x1, y1 of the upright picture) */
    float view[4];              /* before scaling: vs_decode_params.view */
} vs__conv;

/* Output size of the resize step for a (rotated) w x h frame. */
void vs__conv_scaled_size(int w, int h, int resize, int *ow, int *oh);
vs_status vs__conv_frame(vs__conv *c, const AVFrame *f, int rotation, int resize, int crop,
                         uint8_t *out, const char *path);
void vs__conv_free(vs__conv *c);
/* Rotate one plane of w x h elements of `step` bytes clockwise by rot (90, 180, 270)
 * degrees into dst (h x w, or w x h for 180), as FFmpeg's transpose filters do. */
void vs__rotate_plane(uint8_t *dst, int dls, const uint8_t *src, int sls, int w, int h, int step, int rot);

/* ---- decode.c, also for thumbnail.c ------------------------------------------
 * Degrees clockwise (0, 90, 180, 270) to turn a stream's pictures upright. */
struct AVStream;
int vs__stream_rotation(const struct AVStream *st);
/* FFmpeg's log routed to the library's (once) and path checked as vs_decode_open does
 * (not found, a directory, empty, unreadable: the error set). */
vs_status vs__decode_prepare(const char *path);

/* ---- gop.c ------------------------------------------------------------------
 * Which packets start a closed GOP, and which may be dropped unseen (decode.c's
 * skip_closed_gop). H.264 only (IDR slices); every other codec gives 0 for all. */
enum { VS__GOP_NONE, VS__GOP_H264_AVCC, VS__GOP_H264_ANNEXB };
enum { VS__GOP_KEY = 1,        /* holds an IDR slice: nothing after it predicts from before it */
       VS__GOP_DROPPABLE = 2 }; /* only non-IDR slices (+ delimiters, filler): no decoder state */
typedef struct vs__gop {
    int mode;     /* VS__GOP_* framing */
    int nal_len;  /* AVCC: bytes of each NAL unit's length prefix (1, 2 or 4) */
} vs__gop;

void vs__gop_init(vs__gop *g, int codec_id, const uint8_t *extradata, int extradata_size);
/* VS__GOP_KEY, VS__GOP_DROPPABLE or 0 (unsure, or another codec) for one packet's data. */
int vs__gop_packet(const vs__gop *g, const uint8_t *data, int size);

/* ---- decode.c, for bench/bench_decode.c only -------------------------------
 * Convert every decoded frame (into a scratch buffer), as a decoder without the
 * "convert only the sampled frame" rule would: measures what that rule buys. */
void vs__decode_set_convert_all(vs_decoder *d, int on);

#endif
