/*
 * sample.c - which decoded frame becomes which 1-fps sample. A re-statement of
 * FFmpeg's fps filter (libavfilter/vf_fps.c, rounding=near, eof_action=round) over
 * already-rounded timestamps, so that our sample count and choice of frames match
 * `ffmpeg -vf fps=N ... -f rawvideo` frame for frame, including repeats over VFR
 * gaps. That output is constant-frame-rate from index 0 (the CLI's -vsync cfr for
 * rawvideo), so when the first output index is p0 > 0 (a video stream that starts
 * after the file's start time) the first output is repeated for 0 .. p0-1 too.
 */
#include "decode_internal.h"

void vs__sampler_init(vs__sampler *s, int64_t max_gap) {
    s->next_n = 0;
    s->started = 0;
    s->has_held = 0;
    s->emitted = 0;
    s->max_gap = max_gap > 0 ? max_gap : 1;
}

/* The CLI's cfr vsync: the first output also fills the indices before it. */
static int64_t pad_start(vs__sampler *s, int64_t count, int64_t *first_n) {
    if (count > 0 && !s->emitted) {
        s->emitted = 1;
        if (*first_n > 0) {
            count += *first_n;
            *first_n = 0;
        }
    }
    return count;
}

/* vf_fps keeps two frames f0, f1. While f1.p > next_n it outputs f0 as next_n and
 * advances; once f1.p <= next_n it drops f0 and f1 becomes f0. So f0 is output for
 * indices [next_n, p) and then replaced by the new frame. */
int64_t vs__sampler_push(vs__sampler *s, int64_t p, int64_t *first_n) {
    *first_n = 0;
    if (!s->started) {
        s->started = 1;
        s->next_n = p;
    }
    int64_t count = 0;
    if (s->has_held && p > s->next_n) {
        count = p - s->next_n;
        *first_n = s->next_n;
        s->next_n = p;
        count = pad_start(s, count, first_n);
        if (count > s->max_gap) count = s->max_gap;
    }
    s->has_held = 1;
    return count;
}

/* At EOF vf_fps repeats f0 while next_n < the rounded end time. */
int64_t vs__sampler_eof(vs__sampler *s, int64_t eof_p, int64_t *first_n) {
    *first_n = 0;
    if (!s->has_held) return 0;
    s->has_held = 0;
    if (eof_p <= s->next_n) return 0;
    int64_t count = eof_p - s->next_n;
    *first_n = s->next_n;
    s->next_n = eof_p;
    count = pad_start(s, count, first_n);
    return count > s->max_gap ? s->max_gap : count;
}
