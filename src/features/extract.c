/*
 * extract.c - the extraction pipeline: decode sampled frames, run the backbone in
 * batches, pool each chosen tap into a 3x3 grid of regions, L2 per layer,
 * concatenate, L2, whiten with the learned PCA, L2. The extractor (weights,
 * whitening) is shared read-only; each thread owns a vs_extract_state, which also
 * keeps the stage timing of its last video (vs_extract_stats). With
 * vs_extract_params.mirror_view each batch also goes through mirrored (f->mirror): the
 * same batches as a separate mirrored pass, so the same numbers, for one decode. With
 * vs_extract_params.inset_view the first pass probes for a picture-in-picture inset and a
 * second pass extracts the rectangle found (f->inset_*), as search's inset view does.
 */
#include "backbone/bb_split.h"
#include "core/tensorfile.h"
#include "features/featfile.h"
#include "region.h"
#include "vidsim/features.h"

#include <cblas.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#define MAX_LAYERS 16

struct vs_extractor {
    vs_backbone *bb;
    vs_backbone_calib *calib; /* INT8 only */
    vs_extract_params p;
    int n_layers;
    char layer[MAX_LAYERS][32];
    int d_in;          /* concatenated channels (known after the first forward; set at load) */
    int d_out;         /* D */
    float *proj;       /* [d_in, d_out] or NULL (raw features) */
    float *bias;       /* [d_out] = -mean . proj */
    char model_id[64];
    char layers[MAX_LAYERS * 32];
};

struct vs_extract_state {
    const vs_extractor *ex;
    vs_backbone_state *bs;
    float *cat;        /* [batch*9, d_in] */
    float *white;      /* [batch*9, d_out] */
    vs_extract_stats stats; /* of the last vs_extract_video (extract_batch adds to it) */
    long n_videos;     /* vs_extract_video calls */
    int mirror;        /* vs_extract_state_set_mirror: frames mirrored left-right */
    int probe;         /* vs_extract_state_set_probe: look for an inset while decoding */
    int has_view;      /* vs_extract_state_set_view: sample view[] of each picture */
    float view[4];
    double span[2];    /* vs_extract_state_set_view_span: keep only frames in [span[0], span[1]) */
    vs_inset inset;    /* what the last vs_extract_video with probe on found */
};

void vs_extract_state_set_probe(vs_extract_state *st, int on) {
    if (st) st->probe = on != 0;
}

const vs_inset *vs_extract_state_inset(const vs_extract_state *st) { return st ? &st->inset : NULL; }

void vs_extract_state_set_view(vs_extract_state *st, const float *rect) {
    if (!st) return;
    st->has_view = rect != NULL;
    if (rect) memcpy(st->view, rect, sizeof st->view);
    else st->span[0] = st->span[1] = 0;
}

void vs_extract_state_set_view_span(vs_extract_state *st, double t0, double t1) {
    if (!st) return;
    st->span[0] = t1 > t0 ? t0 : 0;
    st->span[1] = t1 > t0 ? t1 : 0;
}

void vs_extract_state_set_mirror(vs_extract_state *st, int on) {
    if (st) st->mirror = on != 0;
}

vs_extract_params vs_extract_default_params(void) {
    vs_extract_params p;
    memset(&p, 0, sizeof p);
    p.decode = vs_decode_default_params();
    p.n_threads = 1;
    p.batch = 16;
    p.min_frame_std = 2.0f;
    return p;
}

void vs_extractor_free(vs_extractor *ex) {
    if (!ex) return;
    vs_backbone_calib_free(ex->calib);
    vs_backbone_free(ex->bb);
    vs__free(ex->proj);
    vs__free(ex->bias);
    vs__free(ex);
}

static vs_status parse_layers(vs_extractor *ex, const char *spec) {
    ex->n_layers = 0;
    const char *s = spec;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || n >= 32 || ex->n_layers == MAX_LAYERS)
            return vs__err(VS_ERR_INVALID_ARG, "bad layer list '%s'", spec);
        memcpy(ex->layer[ex->n_layers], s, n);
        ex->layer[ex->n_layers++][n] = 0;
        s = e ? e + 1 : s + n;
    }
    return ex->n_layers ? VS_OK : vs__err(VS_ERR_INVALID_ARG, "empty layer list");
}

/* Channels of each tap: run one tiny forward to learn them. */
static vs_status probe_dims(vs_extractor *ex, int *chans) {
    vs_backbone_params bp = vs_backbone_default_params();
    bp.input_size = ex->p.decode.crop;
    bp.max_batch = 1;
    vs_backbone_state *bs;
    vs_status st = vs_backbone_state_create(&bs, ex->bb, &bp);
    if (st) return st;
    size_t n = (size_t)bp.input_size * bp.input_size * 3;
    uint8_t *img = vs__calloc(n, 1);
    if (!img) {
        vs_backbone_state_free(bs);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    st = vs_backbone_forward(bs, img, 1);
    for (int l = 0; !st && l < ex->n_layers; l++) {
        int h, w, c;
        if (!vs_backbone_tap(bs, ex->layer[l], &h, &w, &c))
            st = vs__err(VS_ERR_INVALID_ARG, "backbone %s has no layer '%s'",
                         vs_backbone_name(ex->bb), ex->layer[l]);
        else chans[l] = c;
    }
    vs__free(img);
    vs_backbone_state_free(bs);
    return st;
}

vs_status vs_extractor_load(vs_extractor **out, const char *backbone_path, const char *pca_path,
                            const vs_extract_params *p) {
    *out = NULL;
    vs_status st;
    vs__tf *pca = NULL;
    vs_extractor *ex = vs__calloc(1, sizeof *ex);
    if (!ex) return vs__err(VS_ERR_NOMEM, "out of memory");
    ex->p = p ? *p : vs_extract_default_params();
    if (ex->p.batch <= 0) ex->p.batch = 16;
    if ((st = vs_backbone_load(&ex->bb, backbone_path))) goto fail;
    if (!vs_precision_name(ex->p.precision)) {
        st = vs__err(VS_ERR_INVALID_ARG, "unknown precision %d", ex->p.precision);
        goto fail;
    }
    if (ex->p.precision == VS_PRECISION_INT8) {
        char cdef[4096];
        const char *cp = ex->p.calib_path;
        if (!cp) { /* calib_NAME.vstf next to the weights */
            const char *sl = strrchr(backbone_path, '/');
            int dl = sl ? (int)(sl - backbone_path + 1) : 0;
            snprintf(cdef, sizeof cdef, "%.*scalib_%s.vstf", dl, backbone_path, vs_backbone_name(ex->bb));
            cp = cdef;
        }
        if ((st = vs_backbone_calib_load(&ex->calib, ex->bb, cp))) {
            vs__err_prefix(st, "int8 needs a calibration (vidsim calibrate; scripts/setup.sh makes the bundled one)");
            goto fail;
        }
    }
    ex->p.calib_path = NULL; /* borrowed: not kept */
    const char *layers = ex->p.layers;
    if (pca_path) {
        if ((st = vs__tf_open(&pca, pca_path))) goto fail;
        const char *kind = vs__tf_meta(pca, "kind");
        if (!kind || strcmp(kind, "pca_whitening") != 0) {
            st = vs__err(VS_ERR_FORMAT, "%s: not a PCA whitening file", pca_path);
            goto fail;
        }
        const char *bbn = vs__tf_meta(pca, "backbone");
        if (bbn && strcmp(bbn, vs_backbone_name(ex->bb)) != 0) {
            st = vs__err(VS_ERR_FORMAT, "%s: whitening was learned on backbone %s, not %s", pca_path,
                         bbn, vs_backbone_name(ex->bb));
            goto fail;
        }
        const char *isz = vs__tf_meta(pca, "input_size");
        if (isz && atoi(isz) != ex->p.decode.crop) {
            st = vs__err(VS_ERR_FORMAT, "%s: whitening was learned at input size %s, not %d",
                         pca_path, isz, ex->p.decode.crop);
            goto fail;
        }
        if (!layers) layers = vs__tf_meta(pca, "layers");
    }
    if (!layers) layers = strcmp(vs_backbone_name(ex->bb), "mobilenet_v2") == 0
                              ? "block_5_add,block_9_add,block_10_expand_relu,block_10_project_BN"
                              : "mixed0,mixed1,mixed2,mixed3,mixed4,mixed5";
    snprintf(ex->layers, sizeof ex->layers, "%s", layers);
    if ((st = parse_layers(ex, layers))) goto fail;
    int chans[MAX_LAYERS];
    if ((st = probe_dims(ex, chans))) goto fail;
    ex->d_in = 0;
    for (int l = 0; l < ex->n_layers; l++) ex->d_in += chans[l];
    ex->d_out = ex->d_in;
    uint64_t h = vs__fnv1a(VS__FNV_INIT, layers, strlen(layers));
    if (ex->calib) {
        uint32_t ch = vs_backbone_calib_hash(ex->calib);
        h = vs__fnv1a(h, &ch, sizeof ch);
    }
    if (pca) {
        const vs__tensor *tm, *tp;
        int64_t dm[1] = {ex->d_in}, dp[2] = {ex->d_in, -1};
        if ((st = vs__tf_get(pca, "pca.mean", VS_DT_F32, 1, dm, &tm))) goto fail;
        if ((st = vs__tf_get(pca, "pca.proj", VS_DT_F32, 2, dp, &tp))) goto fail;
        ex->d_out = (int)tp->dims[1];
        ex->proj = vs__malloc(tp->nbytes);
        ex->bias = vs__calloc(ex->d_out, sizeof(float));
        if (!ex->proj || !ex->bias) {
            st = vs__err(VS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(ex->proj, tp->data, tp->nbytes);
        const float *mean = tm->data;
        for (int i = 0; i < ex->d_in; i++)
            for (int k = 0; k < ex->d_out; k++) ex->bias[k] -= mean[i] * ex->proj[(size_t)i * ex->d_out + k];
        h = vs__fnv1a(h, tp->data, tp->nbytes);
    }
    vs_model_id mid;
    memset(&mid, 0, sizeof mid);
    snprintf(mid.backbone, sizeof mid.backbone, "%s", vs_backbone_name(ex->bb));
    mid.precision = ex->p.precision;
    mid.crop = ex->p.decode.crop;
    mid.pca = pca != NULL;
    mid.dim = ex->d_out;
    mid.hash = (uint32_t)(h ^ (h >> 32));
    vs_model_id_format(&mid, ex->model_id, sizeof ex->model_id);
    vs__tf_close(pca);
    *out = ex;
    return VS_OK;
fail:
    vs__tf_close(pca);
    vs_extractor_free(ex);
    return st;
}

int vs_extractor_dim(const vs_extractor *ex) { return ex->d_out; }
const char *vs_extractor_model_id(const vs_extractor *ex) { return ex->model_id; }
const char *vs_extractor_layers(const vs_extractor *ex) { return ex->layers; }
const char *vs_extractor_backbone(const vs_extractor *ex) { return vs_backbone_name(ex->bb); }
int vs__extractor_mirror_view(const vs_extractor *ex) { return ex && ex->p.mirror_view; }
int vs__extractor_inset_view(const vs_extractor *ex) { return ex && ex->p.inset_view; }

vs_status vs_extract_state_create(vs_extract_state **out, const vs_extractor *ex) {
    *out = NULL;
    vs_extract_state *st = vs__calloc(1, sizeof *st);
    if (!st) return vs__err(VS_ERR_NOMEM, "out of memory");
    st->ex = ex;
    vs_backbone_params bp = vs_backbone_default_params();
    bp.input_size = ex->p.decode.crop;
    bp.max_batch = ex->p.batch;
    bp.n_threads = ex->p.n_threads > 0 ? ex->p.n_threads : 1;
    bp.precision = ex->p.precision;
    bp.calib = ex->calib;
    vs_status s = vs_backbone_state_create(&st->bs, ex->bb, &bp);
    if (s) {
        vs__free(st);
        return s;
    }
    /* The whitening sgemm (at most batch x 9 rows) is this state's own BLAS call: threads
     * of OpenBLAS only spin on it (a -j 1 extraction of the 57 dev clips took 25.9 CPU-s
     * instead of 17.4 for the same wall time), so it runs on the calling thread, as every
     * library pool's BLAS does (docs/threading.md; an application's vs_blas_set_threads
     * choice stands). */
    if (ex->proj) vs__blas_pool_started();
    size_t rows = (size_t)ex->p.batch * VS_REGIONS;
    st->cat = vs__malloc(rows * ex->d_in * sizeof(float));
    st->white = vs__malloc(rows * ex->d_out * sizeof(float));
    if (!st->cat || !st->white) {
        vs_extract_state_free(st);
        return vs__err(VS_ERR_NOMEM, "out of memory for extraction buffers");
    }
    *out = st;
    return VS_OK;
}

void vs_extract_state_free(vs_extract_state *st) {
    if (!st) return;
    vs_backbone_state_free(st->bs);
    vs__free(st->cat);
    vs__free(st->white);
    vs__free(st);
}

/* Features of up to batch frames: out [n, 9, D]. */
static vs_status extract_batch(vs_extract_state *st, const uint8_t *rgb, int n, float *out) {
    const vs_extractor *ex = st->ex;
    vs_status s = vs__backbone_forward_split(st->bs, rgb, n, &st->stats.preprocess_s, &st->stats.backbone_s);
    if (s) return s;
    double t0 = vs__now();
    int off = 0;
    for (int l = 0; l < ex->n_layers; l++) {
        int h, w, c;
        const float *map = vs_backbone_tap(st->bs, ex->layer[l], &h, &w, &c);
        if (!map) return vs__err(VS_ERR_INTERNAL, "tap %s vanished", ex->layer[l]);
        vs__region_maxpool(st->cat + off, ex->d_in, map, n, h, w, c);
        vs__l2norm_rows(st->cat + off, (long)n * VS_REGIONS, c, ex->d_in);
        off += c;
    }
    long rows = (long)n * VS_REGIONS;
    vs__l2norm_rows(st->cat, rows, ex->d_in, ex->d_in);
    if (!ex->proj) {
        memcpy(out, st->cat, (size_t)rows * ex->d_in * sizeof(float));
    } else {
        for (long r = 0; r < rows; r++) memcpy(out + r * ex->d_out, ex->bias, ex->d_out * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, ex->d_out, ex->d_in, 1.0f,
                    st->cat, ex->d_in, ex->proj, ex->d_out, 1.0f, out, ex->d_out);
        vs__l2norm_rows(out, rows, ex->d_out, ex->d_out);
    }
    st->stats.pool_s += vs__now() - t0;
    return VS_OK;
}

void vs_extract_state_stats(const vs_extract_state *st, vs_extract_stats *out) {
    if (!out) return;
    if (st) *out = st->stats;
    else memset(out, 0, sizeof *out);
}

long vs_extract_state_videos(const vs_extract_state *st) { return st ? st->n_videos : 0; }

void vs_extract_stats_add(vs_extract_stats *acc, const vs_extract_stats *x) {
    if (!acc || !x) return;
    acc->frames += x->frames;
    acc->n_sampled += x->n_sampled;
    acc->n_decoded += x->n_decoded;
    acc->video_s += x->video_s;
    acc->decode_s += x->decode_s;
    acc->preprocess_s += x->preprocess_s;
    acc->backbone_s += x->backbone_s;
    acc->pool_s += x->pool_s;
    acc->write_s += x->write_s;
    acc->other_s += x->other_s;
    acc->wall_s += x->wall_s;
}

vs_status vs_extract_frames(vs_extract_state *st, const uint8_t *rgb, int n, float *out) {
    const vs_extractor *ex = st->ex;
    size_t fsz = (size_t)ex->p.decode.crop * ex->p.decode.crop * 3;
    for (int i = 0; i < n; i += ex->p.batch) {
        int m = n - i < ex->p.batch ? n - i : ex->p.batch;
        vs_status s = extract_batch(st, rgb + i * fsz, m, out + (size_t)i * VS_REGIONS * ex->d_out);
        if (s) return s;
    }
    return VS_OK;
}

/* Decoded frames of one video, a batch at a time (vs_extract_video). */
typedef struct fill_ctx {
    const vs_extractor *ex;
    vs_decoder *dec;
    const char *path;
    int mirror;        /* mirror each frame left-right */
    double span0, span1; /* span1 > span0: only frames with span0 <= t < span1, none after */
    int eof;
    long n_flat;       /* near-constant frames left out */
    double decode_s, pre_s;
} fill_ctx;

/* dst := the crop x crop RGB frame src mirrored left-right (pixel x from crop-1-x). */
static void mirror_frame(uint8_t *dst, const uint8_t *src, int crop) {
    for (int y = 0; y < crop; y++) {
        const uint8_t *sr = src + (size_t)y * crop * 3;
        uint8_t *dr = dst + (size_t)y * crop * 3;
        for (int x = 0; x < crop; x++) memcpy(dr + 3 * x, sr + 3 * (crop - 1 - x), 3);
    }
}

/* Up to batch sampled frames, near-constant ones left out, into buf / tb: *n of
 * them; c->eof set at the end of the video. Polls abort_fn per frame. */
static vs_status fill_batch(fill_ctx *c, uint8_t *buf, float *tb, int *n) {
    const vs_extractor *ex = c->ex;
    const int crop = ex->p.decode.crop;
    const size_t fsz = (size_t)crop * crop * 3;
    *n = 0;
    while (*n < ex->p.batch && !c->eof) {
        const uint8_t *rgb = NULL;
        double t = 0;
        if (ex->p.abort_fn && ex->p.abort_fn(ex->p.abort_user))
            return vs__err(VS_ERR_ABORTED, "%s: aborted", c->path);
        double t0 = vs__now();
        vs_status s = vs_decode_next(c->dec, &rgb, &t);
        double t1 = vs__now();
        c->decode_s += t1 - t0;
        if (s) return s;
        if (!rgb || (c->span1 > c->span0 && t >= c->span1)) { /* the end, or of the view's span */
            c->eof = 1;
            break;
        }
        if (c->span1 > c->span0 && t < c->span0) {
            /* before the view's span: not extracted */
        } else if (ex->p.min_frame_std > 0 && vs__frame_luma_std(rgb, crop, crop) < ex->p.min_frame_std) {
            c->n_flat++; /* near-constant: left out */
        } else {
            uint8_t *dst = buf + (size_t)*n * fsz;
            if (c->mirror) mirror_frame(dst, rgb, crop);
            else memcpy(dst, rgb, fsz);
            tb[(*n)++] = (float)t;
        }
        c->pre_s += vs__now() - t1;
    }
    return VS_OK;
}

/* One decode of path with st's settings: the features (with f->mirror when mv), the
 * probe's result in st->inset when st->probe, the stages in st->stats; progress calls
 * when progress. */
static vs_status extract_pass(vs_extract_state *st, const char *path, vs_features **out, int mv, int progress) {
    *out = NULL;
    const vs_extractor *ex = st->ex;
    vs_status s;
    vs_extract_stats *ts = &st->stats;
    memset(ts, 0, sizeof *ts);
    const double t_start = vs__now();
    double t0 = t_start;
    vs_features *f = vs__calloc(1, sizeof *f);
    if (!f) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    f->R = VS_REGIONS;
    f->D = ex->d_out;
    f->fps = ex->p.decode.fps;
    snprintf(f->model_id, sizeof f->model_id, "%s", ex->model_id);
    if ((s = vs_file_fingerprint(path, &f->source_hash, &f->source_size, &f->source_mtime))) goto fail;
    ts->decode_s += vs__now() - t0; /* the fingerprint reads the file: counted as input */
    t0 = vs__now();
    if (!(f->source = vs__strdup(path))) { s = vs__err(VS_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    vs_decoder *dec;
    vs_decode_params dp = ex->p.decode;
    if (st->probe) {
        dp.probe_width = VS_PROBE_WIDTH;
        dp.probe_colour = 1; /* the detector's colour edges (vs_inset_params.colour_edges) */
    }
    if (st->has_view) memcpy(dp.view, st->view, sizeof dp.view);
    memset(&st->inset, 0, sizeof st->inset);
    if ((s = vs_decode_open(&dec, path, &dp))) goto fail;
    ts->decode_s += vs__now() - t0;
    const vs_decode_info *info = vs_decode_get_info(dec);
    double expect = info->duration > 0 ? info->duration * f->fps + 1 : 0;
    int cap = 0;
    fill_ctx fc = {.ex = ex, .dec = dec, .path = path, .mirror = st->mirror};
    if (st->has_view && st->span[1] > st->span[0]) fc.span0 = st->span[0], fc.span1 = st->span[1];
    const int crop = ex->p.decode.crop;
    const size_t fsz = (size_t)crop * crop * 3;
    uint8_t *batch = vs__malloc(fsz * ex->p.batch);
    uint8_t *mbatch = mv ? vs__malloc(fsz * ex->p.batch) : NULL; /* the batch mirrored */
    float *tb = vs__malloc(sizeof(float) * ex->p.batch);
    if (!batch || !tb || (mv && !mbatch)) s = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    while (!s && !fc.eof) {
        int nb = 0;
        if ((s = fill_batch(&fc, batch, tb, &nb)) || !nb) break;
        if (f->T + nb > cap) {
            int ncap = cap ? cap * 2 : 64;
            while (ncap < f->T + nb) ncap *= 2;
            size_t nd = (size_t)ncap * VS_REGIONS * f->D * sizeof(float);
            float *d = vs__realloc(f->data, nd);
            if (d) f->data = d;
            float *tt = d ? vs__realloc(f->times, (size_t)ncap * sizeof(float)) : NULL;
            if (tt) f->times = tt;
            float *mm = tt && mv ? vs__realloc(f->mirror, nd) : NULL;
            if (mm) f->mirror = mm;
            if (!d || !tt || (mv && !mm)) { s = vs__err(VS_ERR_NOMEM, "%s: out of memory (%d frames)", path, ncap); break; }
            cap = ncap;
        }
        if ((s = extract_batch(st, batch, nb, f->data + (size_t)f->T * VS_REGIONS * f->D))) {
            vs__err_prefix(s, "%s", path);
            break;
        }
        if (mv) { /* the same batch mirrored: what a separate mirrored pass would run */
            double tm = vs__now();
            for (int i = 0; i < nb; i++) mirror_frame(mbatch + (size_t)i * fsz, batch + (size_t)i * fsz, crop);
            ts->preprocess_s += vs__now() - tm;
            if ((s = extract_batch(st, mbatch, nb, f->mirror + (size_t)f->T * VS_REGIONS * f->D))) {
                vs__err_prefix(s, "%s (mirror view)", path);
                break;
            }
        }
        memcpy(f->times + f->T, tb, nb * sizeof(float));
        f->T += nb;
        if (progress && ex->p.progress_fn) ex->p.progress_fn(f->T, expect > f->T ? expect : f->T, ex->p.progress_user);
    }
    vs__free(batch);
    vs__free(mbatch);
    vs__free(tb);
    ts->decode_s += fc.decode_s;
    ts->preprocess_s += fc.pre_s;
    const long n_flat = fc.n_flat;
    if (!s && f->T == 0 && n_flat > 0) {
        s = vs__err(VS_ERR_DECODE,
                    "%s: every sampled frame (%ld) is near-constant (black, white or one colour: luma standard "
                    "deviation below %g of 255): nothing to match",
                    path, n_flat, (double)ex->p.min_frame_std);
    } else if (!s && f->T == 0 && info->n_decoded > 0) {
        /* Frames were decoded, but sampling (ffmpeg's fps filter, rounding to the
         * nearest sample) kept none: a video shorter than about half a sampling
         * interval has no sample at all. Say so rather than blame the decoder. */
        char dur[64] = "";
        if (info->duration > 0) snprintf(dur, sizeof dur, " (%.3g s)", info->duration);
        s = vs__err(VS_ERR_DECODE,
                    "%s: the video%s is shorter than one sample at %g frames/s (one every %.3g s; a video needs "
                    "about %.3g s to get one): no frame to extract (a higher --fps would sample it)",
                    path, dur, f->fps, 1.0 / f->fps, 0.5 / f->fps);
    } else if (!s && f->T == 0) {
        s = vs__err(VS_ERR_DECODE, "%s: no frame could be decoded", path);
    }
    if (!s && st->probe) { /* the inset detector on the probe pictures (docs/hard_copies.md "The inset view") */
        int pn, pw, ph;
        const uint8_t *pics = vs_decode_probes(dec, &pn, &pw, &ph);
        if (pics && (s = vs_inset_detect_rgb(pics, vs_decode_probes_rgb(dec), vs_decode_probe_times(dec), pn, pw,
                                             ph, NULL, &st->inset)))
            vs__err_prefix(s, "%s", path);
    }
    f->duration = info->duration;
    f->n_damaged = info->n_damaged;
    ts->frames = f->T;
    ts->n_sampled = info->n_sampled;
    ts->n_decoded = info->n_decoded;
    ts->video_s = f->duration;
    t0 = vs__now();
    vs_decode_close(dec);
    ts->decode_s += vs__now() - t0;
    if (s) goto fail;
    ts->wall_s = vs__now() - t_start;
    ts->other_s = ts->wall_s - (ts->decode_s + ts->preprocess_s + ts->backbone_s + ts->pool_s);
    if (ts->other_s < 0) ts->other_s = 0;
    *out = f;
    return VS_OK;
fail:
    vs_features_free(f);
    ts->wall_s = vs__now() - t_start;
    return s;
}

vs_status vs_extract_video(vs_extract_state *st, const char *path, vs_features **out) {
    *out = NULL;
    const vs_extractor *ex = st->ex;
    st->n_videos++;
    /* vs_extract_params.inset_view: probe this pass, then the inset rectangle as search's
     * inset view extracts it (docs/hard_copies.md "The inset view") */
    const int iv = ex->p.inset_view && !st->has_view, probe = st->probe;
    if (iv) st->probe = 1;
    vs_status s = extract_pass(st, path, out, ex->p.mirror_view != 0, 1);
    st->probe = probe;
    if (s || !iv) return s;
    vs_features *f = *out;
    const vs_inset found = st->inset;
    f->inset_probed = 1;
    f->inset_detector = VS_INSET_DETECTOR;
    f->inset = found;
    if (!found.found) return VS_OK;
    const vs_extract_stats first = st->stats;
    const float rect[4] = {found.x0, found.y0, found.x1, found.y1};
    vs_extract_state_set_view(st, rect);
    vs_extract_state_set_view_span(st, found.t0, found.t1);
    st->probe = 0;
    vs_features *g = NULL;
    s = extract_pass(st, path, &g, 0, 0);
    vs_extract_state_set_view(st, NULL);
    st->probe = probe;
    st->inset = found;
    vs_extract_stats second = st->stats; /* the time of both passes; the counts of the first */
    second.frames = second.n_sampled = second.n_decoded = 0;
    second.video_s = 0;
    st->stats = first;
    vs_extract_stats_add(&st->stats, &second);
    if (s == VS_ERR_NOMEM || s == VS_ERR_ABORTED) {
        vs__err_prefix(s, "%s (inset view)", path);
        vs_features_free(f);
        *out = NULL;
        return s;
    }
    if (s) return VS_OK; /* an inset whose frames cannot be used (all flat): search drops that view too */
    f->inset_T = g->T;
    f->inset_data = g->data;
    f->inset_times = g->times;
    g->data = NULL;
    g->times = NULL;
    vs_features_free(g);
    return VS_OK;
}
