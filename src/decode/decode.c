/*
 * decode.c - the video decoder: open a file with libavformat, run the libavcodec
 * send/receive loop, sample frames by presentation time like `ffmpeg -vf fps=N`
 * (sample.c), and hand out crop x crop RGB24 frames (convert.c). Also the
 * skipping of frames that cannot be sampled (AVDISCARD_NONREF, decided per packet
 * from a small look-ahead queue), the dropping of whole packets that cannot be sampled
 * before a closed-GOP keyframe (gop.c says which), and the translation of FFmpeg errors into
 * vs_status with a message that names the file.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_internal.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QN 32                 /* demux look-ahead, in packets of the video stream */
#define MAX_RECV_ERRORS 1000  /* decode errors in a row without progress before giving up */
#define MAX_GAP_SECONDS 3600  /* most seconds one frame is repeated over a timestamp gap */

#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
#define FRAME_DURATION(f) ((f)->duration)
#else
#define FRAME_DURATION(f) ((f)->pkt_duration)
#endif

struct vs_decoder {
    char *path;
    vs_decode_params p;
    vs_decode_info info;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int si;               /* index of the video stream */
    AVRational tb;        /* stream time base */
    AVRational out_tb;    /* 1/fps */
    int64_t ts_off;       /* added to stream timestamps: minus the file's start time (tb) */
    int64_t def_dur;      /* frame duration when a frame has none (tb) */
    AVPacket *q[QN];      /* ring of demuxed, not yet sent packets */
    uint8_t qgop[QN];     /* vs__gop_packet() of each ring slot (0 when not dropping) */
    vs__gop gop;          /* how to read this stream's packets for closed GOPs */
    long n_dropped;       /* packets dropped unsent before a closed-GOP keyframe */
    int q_head, q_len;
    int demux_eof, flushed, finished;
    long n_packets;       /* video packets demuxed */
    int64_t max_sent;     /* largest shifted pts sent to the decoder (AV_NOPTS_VALUE if none) */
    int64_t skip_end;     /* largest end time of a packet sent with skipping on */
    AVFrame *frame;       /* receive buffer */
    AVFrame *held;        /* the sampler's candidate for the next output */
    AVFrame *out;         /* the frame being emitted (out_left more times) */
    AVFrame *first;       /* first decoded frame, kept until the first sample */
    int64_t out_n, out_left;
    int out_ready;        /* rgb holds `out` converted */
    int64_t last_ts, last_dur;
    int have_last;
    int recv_errors;
    int convert_all;      /* bench only: convert every decoded frame (into scratch) */
    uint8_t *scratch;
    vs__sampler smp;
    vs__conv conv;
    uint8_t *rgb;         /* crop * crop * 3 */
    struct SwsContext *probe_sws; /* decoded frame -> grey probe picture */
    uint8_t *probes;      /* n_probes pictures of probe_w x probe_h */
    double *probe_times;  /* their times, seconds */
    uint8_t *probe_tmp;   /* one probe picture before rotation (colour: 3 bytes a pixel) */
    struct SwsContext *probe_sws_rgb; /* decoded frame -> colour probe picture (probe_colour) */
    uint8_t *probes_rgb;  /* n_probes pictures of probe_w x probe_h x 3 (probe_colour) */
    int n_probes, probe_w, probe_h;
    int64_t probe_next;   /* earliest shifted timestamp (tb) of the next probe picture */
    int64_t probe_step;   /* 1 / probe_fps in tb, doubled at each decimation */
};

#define MAX_PROBES 1024

vs_decode_params vs_decode_default_params(void) {
    vs_decode_params p;
    memset(&p, 0, sizeof p);
    p.fps = 1;
    p.resize = 256;
    p.crop = 224;
    p.n_threads = 1;
    p.max_frames = 0;
    p.max_pixels = 8192 * 8192;
    p.skip_nonref = true;
    p.skip_closed_gop = true;
    p.view[2] = p.view[3] = 1;
    p.probe_fps = 5;
    return p;
}

/* FFmpeg prints to stderr by default; the library must not. Route its warnings and
 * errors to our log hook at debug level (this replaces the process-wide av_log
 * callback once; see docs/decode.md). */
static void av_log_cb(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > AV_LOG_WARNING) return;
    char line[1024];
    int prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    vs__log(VS_LOG_DEBUG, "ffmpeg: %s", line);
}
static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;
static void install_av_log(void) { av_log_set_callback(av_log_cb); }

static const char *averr(int ret, char *buf, size_t n) {
    if (av_strerror(ret, buf, n) < 0) snprintf(buf, n, "error %d", ret);
    return buf;
}

/* Stream timestamp shifted like the CLI does (minus the file's start time). */
static int64_t shifted(const vs_decoder *d, int64_t ts) {
    if (ts == AV_NOPTS_VALUE) return AV_NOPTS_VALUE;
    if ((d->ts_off > 0 && ts > INT64_MAX / 2) || (d->ts_off < 0 && ts < INT64_MIN / 2))
        return AV_NOPTS_VALUE;
    return ts + d->ts_off;
}

/* Index on the output grid, rounded half away from zero as vf_fps does. */
static int64_t to_index(const vs_decoder *d, int64_t ts) {
    return av_rescale_q_rnd(ts, d->tb, d->out_tb, AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
}

/* Degrees clockwise to turn the picture upright (0, 90, 180, 270), as the CLI's
 * autorotate reads the display matrix. Flips and other angles are ignored. Also used
 * by thumbnail.c. */
int vs__stream_rotation(const AVStream *st) {
    const int32_t *m = NULL;
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
    const AVPacketSideData *sd = av_packet_side_data_get(
        st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    if (sd && sd->size >= 9 * sizeof(int32_t)) m = (const int32_t *)sd->data;
#else
    size_t size = 0;
    m = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (size < 9 * sizeof(int32_t)) m = NULL;
#endif
    if (!m) return 0;
    double theta = -round(av_display_rotation_get(m));
    if (isnan(theta)) return 0;
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    if (fabs(theta - 90) < 1.0) return 90;
    if (fabs(theta - 180) < 1.0) return 180;
    if (fabs(theta - 270) < 1.0) return 270;
    return 0;
}

void vs_decode_close(vs_decoder *d) {
    if (!d) return;
    sws_freeContext(d->probe_sws);
    sws_freeContext(d->probe_sws_rgb);
    vs__free(d->probes_rgb);
    vs__free(d->probes);
    vs__free(d->probe_times);
    vs__free(d->probe_tmp);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    av_frame_free(&d->frame);
    av_frame_free(&d->held);
    av_frame_free(&d->out);
    av_frame_free(&d->first);
    for (int i = 0; i < QN; i++) av_packet_free(&d->q[i]);
    vs__conv_free(&d->conv);
    vs__free(d->rgb);
    vs__free(d->scratch);
    vs__free(d->path);
    vs__free(d);
}

static vs_status check_params(const vs_decode_params *p, const char *path) {
    if (!(p->fps > 0 && p->fps <= 1000))
        return vs__err(VS_ERR_INVALID_ARG, "%s: fps must be in (0, 1000], got %g", path, p->fps);
    if (p->crop < 1 || p->crop > 8192)
        return vs__err(VS_ERR_INVALID_ARG, "%s: crop must be in [1, 8192], got %d", path, p->crop);
    if (p->resize < p->crop || p->resize > 16384)
        return vs__err(VS_ERR_INVALID_ARG, "%s: resize (%d) must be >= crop (%d) and <= 16384",
                       path, p->resize, p->crop);
    if (p->n_threads < 0 || p->n_threads > 256)
        return vs__err(VS_ERR_INVALID_ARG, "%s: n_threads must be in [0, 256], got %d", path,
                       p->n_threads);
    if (p->max_frames < 0 || p->max_pixels <= 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s: max_frames must be >= 0 and max_pixels > 0", path);
    const float *v = p->view;
    if (!(v[0] >= 0 && v[1] >= 0 && v[2] <= 1 && v[3] <= 1 && v[2] - v[0] >= 0.1f && v[3] - v[1] >= 0.1f))
        return vs__err(VS_ERR_INVALID_ARG,
                       "%s: view must be a rectangle inside [0, 1] x [0, 1] with sides >= 0.1, got %g,%g,%g,%g",
                       path, v[0], v[1], v[2], v[3]);
    if (p->probe_width && (p->probe_width < 16 || p->probe_width > 256 || !(p->probe_fps > 0 && p->probe_fps <= 1000)))
        return vs__err(VS_ERR_INVALID_ARG, "%s: probe_width must be 0 or in [16, 256] and probe_fps in (0, 1000]",
                       path);
    return VS_OK;
}

/* Checks the file system before FFmpeg does, for clearer messages. */
static vs_status check_path(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int e = errno;
        if (e == ENOENT) return vs__err(VS_ERR_IO, "%s: not found", path);
        if (e == ELOOP) return vs__err(VS_ERR_IO, "%s: symbolic link loop", path);
        if (e == EACCES) return vs__err(VS_ERR_IO, "%s: permission denied", path);
        return vs__err(VS_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) return vs__err(VS_ERR_IO, "%s: is a directory, not a video file", path);
    if (S_ISREG(sb.st_mode) && sb.st_size == 0)
        return vs__err(VS_ERR_FORMAT, "%s: empty file (0 bytes), not a video", path);
    if (access(path, R_OK) != 0)
        return vs__err(VS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    return VS_OK;
}

/* Before another file of this module opens a file with FFmpeg itself: FFmpeg's log
 * routed to ours (the library prints nothing), and the file-system checks. */
vs_status vs__decode_prepare(const char *path) {
    pthread_once(&g_log_once, install_av_log);
    return check_path(path);
}

/* Finds, checks and opens the video stream's decoder. */
static vs_status open_stream(vs_decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    const char *path = d->path;
    const AVCodec *codec = NULL;
    int ret = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret == AVERROR_STREAM_NOT_FOUND) {
        if (av_find_best_stream(d->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0)
            return vs__err(VS_ERR_FORMAT, "%s: no video stream (audio only)", path);
        return vs__err(VS_ERR_FORMAT, "%s: no video stream", path);
    }
    if (ret == AVERROR_DECODER_NOT_FOUND) {
        int si = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        const char *name =
            si >= 0 ? avcodec_get_name(d->fmt->streams[si]->codecpar->codec_id) : "unknown";
        return vs__err(VS_ERR_UNSUPPORTED, "%s: unsupported codec '%s' (no decoder in this FFmpeg)",
                       path, name);
    }
    if (ret < 0)
        return vs__err(VS_ERR_FORMAT, "%s: no usable video stream: %s", path, averr(ret, eb, sizeof eb));
    d->si = ret;
    AVStream *st = d->fmt->streams[d->si];
    for (unsigned i = 0; i < d->fmt->nb_streams; i++)
        if ((int)i != d->si) d->fmt->streams[i]->discard = AVDISCARD_ALL;
    const AVCodecParameters *par = st->codecpar;
    if ((int64_t)par->width * par->height > d->p.max_pixels)
        return vs__err(VS_ERR_UNSUPPORTED, "%s: frame too large: %dx%d is more than max_pixels %d",
                       path, par->width, par->height, d->p.max_pixels);
    d->dec = avcodec_alloc_context3(codec);
    if (!d->dec) return vs__err(VS_ERR_NOMEM, "%s: cannot allocate a decoder", path);
    ret = avcodec_parameters_to_context(d->dec, par);
    if (ret < 0) return vs__err(VS_ERR_DECODE, "%s: %s", path, averr(ret, eb, sizeof eb));
    d->dec->pkt_timebase = st->time_base;
    d->dec->thread_count = d->p.n_threads;
    d->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    d->dec->max_pixels = d->p.max_pixels;
    ret = avcodec_open2(d->dec, codec, NULL);
    if (ret < 0)
        return vs__err(ret == AVERROR(ENOMEM) ? VS_ERR_NOMEM : VS_ERR_UNSUPPORTED,
                       "%s: cannot open the %s decoder: %s", path, codec->name,
                       averr(ret, eb, sizeof eb));

    d->tb = st->time_base;
    if (d->tb.num <= 0 || d->tb.den <= 0) d->tb = (AVRational){1, 90000};
    AVRational fq = av_d2q(d->p.fps, 1000000);
    d->out_tb = (AVRational){fq.den, fq.num};
    d->ts_off = d->fmt->start_time != AV_NOPTS_VALUE
                    ? -av_rescale_q(d->fmt->start_time, AV_TIME_BASE_Q, d->tb) : 0;
    AVRational fr = st->avg_frame_rate;
    if (fr.num <= 0 || fr.den <= 0) fr = st->r_frame_rate;
    if (fr.num <= 0 || fr.den <= 0) fr = (AVRational){25, 1};
    d->def_dur = av_rescale_q(1, av_inv_q(fr), d->tb);
    if (d->def_dur <= 0) d->def_dur = 1;

    vs__gop_init(&d->gop, par->codec_id, par->extradata, par->extradata_size);
    d->info.width = par->width;
    d->info.height = par->height;
    d->info.rotation = vs__stream_rotation(st);
    if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
        d->info.stream_fps = av_q2d(st->avg_frame_rate);
    if (d->fmt->duration > 0) d->info.duration = d->fmt->duration / (double)AV_TIME_BASE;
    else if (st->duration > 0) d->info.duration = st->duration * av_q2d(d->tb);
    snprintf(d->info.codec, sizeof d->info.codec, "%s", avcodec_get_name(par->codec_id));
    return VS_OK;
}

vs_status vs_decode_open(vs_decoder **out, const char *path, const vs_decode_params *pp) {
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_decode_open: out is NULL");
    *out = NULL;
    if (!path) return vs__err(VS_ERR_INVALID_ARG, "vs_decode_open: path is NULL");
    vs_decode_params p = pp ? *pp : vs_decode_default_params();
    vs_status st = check_params(&p, path);
    if (st != VS_OK) return st;
    pthread_once(&g_log_once, install_av_log);
    st = check_path(path);
    if (st != VS_OK) return st;

    char eb[AV_ERROR_MAX_STRING_SIZE];
    vs_decoder *d = vs__calloc(1, sizeof *d);
    if (!d) return vs__err(VS_ERR_NOMEM, "%s: cannot allocate a decoder", path);
    d->p = p;
    d->path = vs__strdup(path);
    d->rgb = vs__malloc((size_t)p.crop * p.crop * 3);
    if (!d->path || !d->rgb) {
        st = vs__err(VS_ERR_NOMEM, "%s: cannot allocate a decoder", path);
        goto fail;
    }
    d->frame = av_frame_alloc();
    d->held = av_frame_alloc();
    d->out = av_frame_alloc();
    d->first = av_frame_alloc();
    int ok = d->frame && d->held && d->out && d->first;
    for (int i = 0; i < QN; i++) ok = (d->q[i] = av_packet_alloc()) != NULL && ok;
    if (!ok) {
        st = vs__err(VS_ERR_NOMEM, "%s: cannot allocate decoder buffers", path);
        goto fail;
    }
    int ret = avformat_open_input(&d->fmt, path, NULL, NULL);
    if (ret < 0) {
        if (ret == AVERROR(ENOMEM)) st = vs__err(VS_ERR_NOMEM, "%s: out of memory opening", path);
        else if (ret == AVERROR_EOF)
            st = vs__err(VS_ERR_FORMAT, "%s: no media data (empty or truncated file)", path);
        else if (ret == AVERROR_INVALIDDATA)
            st = vs__err(VS_ERR_FORMAT, "%s: not a media file, or truncated or damaged beyond reading (%s)", path,
                         averr(ret, eb, sizeof eb));
        else
            st = vs__err(VS_ERR_IO, "%s: cannot open: %s", path, averr(ret, eb, sizeof eb));
        goto fail;
    }
    ret = avformat_find_stream_info(d->fmt, NULL);
    if (ret < 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: cannot read stream information: %s", path,
                     averr(ret, eb, sizeof eb));
        goto fail;
    }
    st = open_stream(d);
    if (st != VS_OK) goto fail;
    if (p.view[0] != 0 || p.view[1] != 0 || p.view[2] != 1 || p.view[3] != 1) {
        d->conv.has_view = 1;
        memcpy(d->conv.view, p.view, sizeof d->conv.view);
    }
    if (p.probe_width) {
        int uw = d->info.width, uh = d->info.height;
        if (d->info.rotation == 90 || d->info.rotation == 270) {
            uw = d->info.height;
            uh = d->info.width;
        }
        d->probe_w = p.probe_width;
        d->probe_h = uw > 0 ? (int)lround((double)p.probe_width * uh / uw) : p.probe_width;
        if (d->probe_h < 8) d->probe_h = 8;
        if (d->probe_h > 4 * p.probe_width) d->probe_h = 4 * p.probe_width;
        double step = 1.0 / (p.probe_fps * av_q2d(d->tb));
        d->probe_step = step >= 1 ? (int64_t)llround(step) : 1;
        d->probe_next = INT64_MIN;
    }
    int64_t gap = (int64_t)ceil(MAX_GAP_SECONDS * p.fps);
    vs__sampler_init(&d->smp, gap);
    d->max_sent = AV_NOPTS_VALUE;
    d->skip_end = AV_NOPTS_VALUE;
    vs__err_clear();
    *out = d;
    return VS_OK;
fail:
    vs_decode_close(d);
    return st;
}

void vs__decode_set_convert_all(vs_decoder *d, int on) {
    if (d) d->convert_all = on;
}

const vs_decode_info *vs_decode_get_info(const vs_decoder *d) { return d ? &d->info : NULL; }

/* Reads video packets into the look-ahead ring until it is full or the file ends. */
static vs_status fill_queue(vs_decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    while (d->q_len < QN && !d->demux_eof) {
        AVPacket *pkt = d->q[(d->q_head + d->q_len) % QN];
        int ret = av_read_frame(d->fmt, pkt);
        if (ret == AVERROR(ENOMEM)) return vs__err(VS_ERR_NOMEM, "%s: out of memory reading", d->path);
        if (ret < 0) {
            if (ret != AVERROR_EOF) {
                /* A read error mid-file (truncation, I/O): keep what we have. */
                d->info.n_damaged++;
                vs__log(VS_LOG_WARN, "%s: read stopped early: %s", d->path, averr(ret, eb, sizeof eb));
            }
            d->demux_eof = 1;
            break;
        }
        if (pkt->stream_index != d->si) {
            av_packet_unref(pkt);
            continue;
        }
        d->qgop[(d->q_head + d->q_len) % QN] =
            d->p.skip_closed_gop && !d->p.probe_width ? (uint8_t)vs__gop_packet(&d->gop, pkt->data, pkt->size) : 0;
        d->q_len++;
        d->n_packets++;
    }
    return VS_OK;
}

/* A packet's frame can never be sampled if a later frame rounds to the same output
 * index: vf_fps outputs a frame only when its successor rounds past it. We know a
 * later frame exists if a packet already sent or waiting in the ring has a larger
 * pts in the same bin. Frames that would be sampled are thus never skipped. */
static int can_skip(const vs_decoder *d, const AVPacket *pkt) {
    if (!d->p.skip_nonref || d->info.n_decoded == 0) return 0;
    int64_t t = shifted(d, pkt->pts);
    if (t == AV_NOPTS_VALUE) return 0;
    int64_t bin = to_index(d, t);
    if (d->max_sent != AV_NOPTS_VALUE && d->max_sent > t && to_index(d, d->max_sent) == bin) return 1;
    for (int i = 1; i < d->q_len; i++) {
        int64_t u = shifted(d, d->q[(d->q_head + i) % QN]->pts);
        if (u != AV_NOPTS_VALUE && u > t && to_index(d, u) == bin) return 1;
    }
    return 0;
}

/* 1 if the packet carries no side data that the decoder reads for later packets (new
 * extradata, parameter changes, ...): only the MPEG-TS stream id, which every packet of
 * that demuxer has, is known to be harmless. */
static int harmless_side_data(const AVPacket *p) {
    for (int i = 0; i < p->side_data_elems; i++)
        if (p->side_data[i].type != AV_PKT_DATA_MPEGTS_STREAM_ID) return 0;
    return 1;
}

/* The packet at the head of the ring can be dropped unsent when it and every packet
 * after it up to the first keyframe in the ring are droppable (non-IDR slices only, no
 * side data such as new extradata), all with a pts earlier than the keyframe's in the
 * keyframe's output bin, and the keyframe starts a closed GOP (an IDR). Then:
 *  - none of them is sampled: the keyframe is decoded, later in presentation time and
 *    in the same bin, so the sampler (last frame with p <= n) never picks them, and
 *    without them it sees the same frames with p <= n for every n;
 *  - nothing decoded refers to them: the packets before them in decoding order cannot
 *    (references point back in decoding order), they are a run ending right before the
 *    keyframe, and nothing from the IDR on refers to anything before it.
 * On damaged input a keyframe may still fail to decode, and then a dropped frame would
 * have been sampled in its place: there, as with frame threads, the output is not
 * guaranteed to be the same (docs/decode.md).
 * Not before a first frame came out (vs_decode_all's fallback returns the first
 * decoded frame), nor while probe pictures are kept (they would come from fewer frames),
 * nor when the keyframe is not in the ring yet (then nothing is known). */
static int can_drop(const vs_decoder *d) {
    if (!d->p.skip_closed_gop || d->p.probe_width || d->info.n_decoded == 0 || d->q_len < 2) return 0;
    if (d->qgop[d->q_head] != VS__GOP_DROPPABLE) return 0;
    int k = 1;
    while (k < d->q_len && !(d->q[(d->q_head + k) % QN]->flags & AV_PKT_FLAG_KEY)) k++;
    if (k == d->q_len) return 0;
    const int ks = (d->q_head + k) % QN;
    const int64_t tk = shifted(d, d->q[ks]->pts);
    if (d->qgop[ks] != VS__GOP_KEY || tk == AV_NOPTS_VALUE || (d->q[ks]->flags & (AV_PKT_FLAG_CORRUPT | AV_PKT_FLAG_DISCARD)))
        return 0; /* the keyframe must come out: a damaged or edit-list-discarded one might not */
    const int64_t bin = to_index(d, tk);
    for (int i = 0; i < k; i++) {
        const int s = (d->q_head + i) % QN;
        const AVPacket *p = d->q[s];
        int64_t t = shifted(d, p->pts);
        if (d->qgop[s] != VS__GOP_DROPPABLE || !harmless_side_data(p) || t == AV_NOPTS_VALUE || t >= tk ||
            to_index(d, t) != bin)
            return 0;
    }
    return 1;
}

/* Takes the packet at the head of the ring off it once it was sent (or dropped): its
 * time raises the latest sent, and for a skipped (or dropped) one its end the end of
 * the skipped frames. */
static void pop_sent(vs_decoder *d, int skipped) {
    AVPacket *pkt = d->q[d->q_head];
    int64_t t = shifted(d, pkt->pts);
    if (t != AV_NOPTS_VALUE) {
        if (d->max_sent == AV_NOPTS_VALUE || t > d->max_sent) d->max_sent = t;
        int64_t end = t + (pkt->duration > 0 ? pkt->duration : d->def_dur);
        if (skipped && (d->skip_end == AV_NOPTS_VALUE || end > d->skip_end)) d->skip_end = end;
    }
    av_packet_unref(pkt);
    d->q_head = (d->q_head + 1) % QN;
    d->q_len--;
}

/* Sends one packet (or the flush) after the decoder asked for input. */
static vs_status feed(vs_decoder *d) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    vs_status st = fill_queue(d);
    if (st != VS_OK) return st;
    if (d->q_len == 0) {
        if (d->flushed)
            return vs__err(VS_ERR_INTERNAL, "%s: decoder wants input after the flush", d->path);
        d->flushed = 1;
        int ret = avcodec_send_packet(d->dec, NULL);
        if (ret < 0 && ret != AVERROR_EOF)
            return vs__err(VS_ERR_DECODE, "%s: flushing the decoder: %s", d->path,
                           averr(ret, eb, sizeof eb));
        return VS_OK;
    }
    AVPacket *pkt = d->q[d->q_head];
    if (can_drop(d)) {
        /* Counted like a skipped packet: a later frame of its bin exists (the keyframe),
         * and its end time bounds the stream's end. */
        pop_sent(d, 1);
        d->n_dropped++;
        return VS_OK;
    }
    int skip = can_skip(d, pkt);
    d->dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
    int ret = avcodec_send_packet(d->dec, pkt);
    if (ret == AVERROR(EAGAIN))
        return vs__err(VS_ERR_INTERNAL, "%s: decoder refused input and output at once", d->path);
    pop_sent(d, skip);
    d->recv_errors = 0;
    if (ret == AVERROR(ENOMEM)) return vs__err(VS_ERR_NOMEM, "%s: out of memory decoding", d->path);
    if (ret < 0) {
        d->info.n_damaged++;
        vs__log(VS_LOG_WARN, "%s: damaged packet skipped: %s", d->path, averr(ret, eb, sizeof eb));
    }
    return VS_OK;
}

/* Scale decoded frame f into one probe picture of `step` bytes a pixel (1: grey, 3: RGB)
 * at dst, upright. 0 when it cannot be converted. */
static int probe_scale(vs_decoder *d, struct SwsContext **ctx, const AVFrame *f, int step, uint8_t *dst) {
    int rot = d->info.rotation, sw = d->probe_w, sh = d->probe_h; /* size before rotation */
    if (rot == 90 || rot == 270) {
        sw = d->probe_h;
        sh = d->probe_w;
    }
    *ctx = sws_getCachedContext(*ctx, f->width, f->height, (enum AVPixelFormat)f->format, sw, sh,
                                step == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
    if (!*ctx) return 0;
    uint8_t *dd[4] = {rot ? d->probe_tmp : dst, NULL, NULL, NULL};
    int dl[4] = {sw * step, 0, 0, 0};
    if (sws_scale(*ctx, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dd, dl) <= 0) return 0;
    if (rot) /* clockwise, as the frames */
        vs__rotate_plane(dst, d->probe_w * step, d->probe_tmp, sw * step, sw, sh, step, rot);
    return 1;
}

/* Keep a grey probe picture of decoded frame f (upright, probe_w x probe_h), and a colour
 * one with probe_colour. At MAX_PROBES the even-numbered pictures are kept and the
 * interval doubled. A picture that cannot be converted is not kept (the probes are
 * advisory); only memory fails. */
static vs_status probe_push(vs_decoder *d, const AVFrame *f, int64_t ts) {
    const size_t sz = (size_t)d->probe_w * d->probe_h;
    const int colour = d->p.probe_colour != 0;
    if (d->n_probes == MAX_PROBES) {
        for (int i = 1; i < MAX_PROBES / 2; i++) {
            memcpy(d->probes + i * sz, d->probes + 2 * i * sz, sz);
            if (colour) memcpy(d->probes_rgb + i * 3 * sz, d->probes_rgb + 2 * i * 3 * sz, 3 * sz);
            d->probe_times[i] = d->probe_times[2 * i];
        }
        d->n_probes = MAX_PROBES / 2;
        d->probe_step *= 2;
    }
    if (!d->probes) {
        d->probes = vs__malloc(sz * MAX_PROBES);
        d->probe_times = vs__malloc(sizeof *d->probe_times * MAX_PROBES);
        d->probe_tmp = vs__malloc(sz * (colour ? 3 : 1));
        if (colour) d->probes_rgb = vs__malloc(3 * sz * MAX_PROBES);
        if (!d->probes || !d->probe_times || !d->probe_tmp || (colour && !d->probes_rgb))
            return vs__err(VS_ERR_NOMEM, "%s: out of memory for probe pictures", d->path);
    }
    d->probe_times[d->n_probes] = ts * av_q2d(d->tb);
    if (!probe_scale(d, &d->probe_sws, f, 1, d->probes + d->n_probes * sz)) return VS_OK;
    if (colour && !probe_scale(d, &d->probe_sws_rgb, f, 3, d->probes_rgb + d->n_probes * 3 * sz)) return VS_OK;
    d->n_probes++;
    return VS_OK;
}

const uint8_t *vs_decode_probes_rgb(const vs_decoder *d) {
    return d && d->n_probes && d->probes_rgb ? d->probes_rgb : NULL;
}

const double *vs_decode_probe_times(const vs_decoder *d) { return d && d->n_probes ? d->probe_times : NULL; }

const uint8_t *vs_decode_probes(const vs_decoder *d, int *n, int *w, int *h) {
    if (n) *n = d ? d->n_probes : 0;
    if (w) *w = d ? d->probe_w : 0;
    if (h) *h = d ? d->probe_h : 0;
    return d && d->n_probes ? d->probes : NULL;
}

/* A decoded frame: timestamp it and let the sampler decide. */
static vs_status on_frame(vs_decoder *d) {
    AVFrame *f = d->frame;
    d->info.n_decoded++;
    if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)) d->info.n_damaged++;
    if ((int64_t)f->width * f->height > d->p.max_pixels) {
        int w = f->width, h = f->height;
        av_frame_unref(f);
        return vs__err(VS_ERR_UNSUPPORTED, "%s: frame too large: %dx%d is more than max_pixels %d",
                       d->path, w, h, d->p.max_pixels);
    }
    /* The CLI uses best_effort_timestamp; fall back to pts, then to the previous
     * frame's end (frame count / frame rate). */
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) ts = f->pts;
    ts = shifted(d, ts);
    if (ts == AV_NOPTS_VALUE) ts = d->have_last ? d->last_ts + d->last_dur : 0;
    int64_t dur = FRAME_DURATION(f);
    d->last_ts = ts;
    d->last_dur = dur > 0 ? dur : d->def_dur;
    d->have_last = 1;
    if (d->info.n_decoded == 1 && av_frame_ref(d->first, f) < 0) av_frame_unref(d->first);
    if (d->probe_w && ts >= d->probe_next) {
        vs_status st = probe_push(d, f, ts);
        if (st != VS_OK) return st;
        d->probe_next = ts + d->probe_step;
    }
    if (d->convert_all) {
        if (!d->scratch) d->scratch = vs__malloc((size_t)d->p.crop * d->p.crop * 3);
        if (!d->scratch) return vs__err(VS_ERR_NOMEM, "%s: out of memory", d->path);
        vs_status st = vs__conv_frame(&d->conv, f, d->info.rotation, d->p.resize, d->p.crop,
                                      d->scratch, d->path);
        if (st != VS_OK) return st;
    }

    int64_t first_n, cnt = vs__sampler_push(&d->smp, to_index(d, ts), &first_n);
    if (cnt > 0) {
        av_frame_unref(d->out);
        av_frame_move_ref(d->out, d->held);
        d->out_n = first_n;
        d->out_left = cnt;
        d->out_ready = 0;
    }
    av_frame_unref(d->held);
    av_frame_move_ref(d->held, f);
    return VS_OK;
}

/* End of stream: the held frame is repeated up to the rounded end time, which the
 * CLI takes as the last frame's timestamp plus its duration. */
static void on_eof(vs_decoder *d) {
    d->finished = 1;
    if (!d->have_last) return;
    int64_t end = d->last_ts + d->last_dur;
    if (d->skip_end != AV_NOPTS_VALUE && d->skip_end > end) end = d->skip_end;
    int64_t first_n, cnt = vs__sampler_eof(&d->smp, to_index(d, end), &first_n);
    if (cnt > 0) {
        av_frame_unref(d->out);
        av_frame_move_ref(d->out, d->held);
        d->out_n = first_n;
        d->out_left = cnt;
        d->out_ready = 0;
    }
    av_frame_unref(d->held);
    if (d->info.duration <= 0 && end > 0) d->info.duration = end * av_q2d(d->tb);
    vs__log(VS_LOG_DEBUG, "%s: %ld video packets, %ld dropped before closed-GOP keyframes, %ld frames decoded",
            d->path, d->n_packets, d->n_dropped, d->info.n_decoded);
}

vs_status vs_decode_next(vs_decoder *d, const uint8_t **rgb, double *t) {
    if (rgb) *rgb = NULL;
    if (t) *t = 0;
    if (!d || !rgb) return vs__err(VS_ERR_INVALID_ARG, "vs_decode_next: NULL argument");
    char eb[AV_ERROR_MAX_STRING_SIZE];
    for (;;) {
        if (d->p.max_frames > 0 && d->info.n_sampled >= d->p.max_frames) return VS_OK;
        if (d->out_left > 0) {
            if (!d->out_ready) {
                vs_status st = vs__conv_frame(&d->conv, d->out, d->info.rotation, d->p.resize,
                                              d->p.crop, d->rgb, d->path);
                if (st != VS_OK) return st;
                d->out_ready = 1;
            }
            *rgb = d->rgb;
            if (t) *t = d->out_n * av_q2d(d->out_tb);
            d->out_n++;
            d->out_left--;
            d->info.n_sampled++;
            av_frame_unref(d->first);
            return VS_OK;
        }
        if (d->finished) {
            if (d->info.n_decoded > 0) return VS_OK;
            if (d->n_packets == 0)
                return vs__err(VS_ERR_FORMAT, "%s: zero-length video stream (no video packets)",
                               d->path);
            return vs__err(VS_ERR_DECODE, "%s: no decodable frame (%ld packets, %ld damaged)",
                           d->path, d->n_packets, d->info.n_damaged);
        }
        int ret = avcodec_receive_frame(d->dec, d->frame);
        vs_status st = VS_OK;
        if (ret == 0) st = on_frame(d);
        else if (ret == AVERROR(EAGAIN)) st = feed(d);
        else if (ret == AVERROR_EOF) on_eof(d);
        else if (ret == AVERROR(ENOMEM))
            st = vs__err(VS_ERR_NOMEM, "%s: out of memory decoding", d->path);
        else {
            d->info.n_damaged++;
            if (++d->recv_errors > MAX_RECV_ERRORS)
                st = vs__err(VS_ERR_DECODE, "%s: decoding keeps failing: %s", d->path,
                             averr(ret, eb, sizeof eb));
        }
        if (st != VS_OK) return st;
    }
}

vs_status vs_decode_all(const char *path, const vs_decode_params *p, uint8_t **frames,
                        int *n_frames, vs_decode_info *info) {
    if (frames) *frames = NULL;
    if (n_frames) *n_frames = 0;
    if (info) memset(info, 0, sizeof *info);
    if (!frames || !n_frames) return vs__err(VS_ERR_INVALID_ARG, "vs_decode_all: NULL argument");
    vs_decoder *d;
    vs_status st = vs_decode_open(&d, path, p);
    if (st != VS_OK) return st;
    size_t fb = (size_t)d->p.crop * d->p.crop * 3;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        const uint8_t *rgb;
        st = vs_decode_next(d, &rgb, NULL);
        if (st != VS_OK) goto fail;
        if (!rgb) break;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            if (nc > (size_t)INT32_MAX || nc > SIZE_MAX / fb) {
                st = vs__err(VS_ERR_NOMEM, "%s: too many frames", path);
                goto fail;
            }
            uint8_t *nb = vs__realloc(buf, nc * fb);
            if (!nb) {
                st = vs__err(VS_ERR_NOMEM, "%s: cannot allocate %zu frames", path, nc);
                goto fail;
            }
            buf = nb;
            cap = nc;
        }
        memcpy(buf + n * fb, rgb, fb);
        n++;
    }
    if (n == 0 && d->first->buf[0]) {
        /* Shorter than one sample period: return the first frame instead. */
        buf = vs__malloc(fb);
        if (!buf) {
            st = vs__err(VS_ERR_NOMEM, "%s: cannot allocate a frame", path);
            goto fail;
        }
        st = vs__conv_frame(&d->conv, d->first, d->info.rotation, d->p.resize, d->p.crop, buf, path);
        if (st != VS_OK) goto fail;
        n = 1;
    }
    if (info) *info = d->info;
    vs_decode_close(d);
    *frames = buf;
    *n_frames = (int)n;
    return VS_OK;
fail:
    if (info) *info = d->info;
    vs__free(buf);
    vs_decode_close(d);
    return st;
}
