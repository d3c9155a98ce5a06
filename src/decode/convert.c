/*
 * convert.c - one decoded frame to crop x crop RGB24 the way the S2VS reference's
 * ffmpeg command line does it: autorotate (transpose the planes before scaling, as
 * the CLI's inserted transpose/hflip/vflip filters do), then one swscale call
 * (SWS_BICUBIC, colour matrix and range from the frame, like vf_scale's "auto")
 * to w' x h' with the short side `resize` and both sides rounded up to even, then
 * a centre crop at x = (w' - crop) / 2, y = (h' - crop) / 2.
 */
#include "decode_internal.h"

#include <libavutil/common.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <stddef.h>
#include <string.h>

void vs__conv_scaled_size(int w, int h, int resize, int *ow, int *oh) {
    /* The CLI expression 2*ceil(iw*256/min(iw,ih)/2), evaluated in double like av_expr. */
    double m = w < h ? w : h;
    *ow = 2 * (int)ceil((double)w * resize / m / 2);
    *oh = 2 * (int)ceil((double)h * resize / m / 2);
}

static vs_status grow(uint8_t **buf, size_t *cap, size_t n) {
    if (*cap >= n) return VS_OK;
    vs__free(*buf);
    *cap = 0;
    *buf = vs__malloc(n);
    if (!*buf) return VS_ERR_NOMEM;
    *cap = n;
    return VS_OK;
}

/* Bytes per element of each plane, or 0 if the format cannot be transposed plane by
 * plane (bitstream, palette, hardware, or unequal chroma subsampling, where a
 * transpose would change the pixel format). */
static int plane_steps(const AVPixFmtDescriptor *desc, int steps[4]) {
    if (desc->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL))
        return 0;
    if (desc->log2_chroma_w != desc->log2_chroma_h) return 0;
    memset(steps, 0, 4 * sizeof *steps);
    for (int i = 0; i < desc->nb_components; i++) {
        const AVComponentDescriptor *c = &desc->comp[i];
        if (c->plane > 3 || c->step <= 0) return 0;
        if (steps[c->plane] && steps[c->plane] != c->step) return 0;
        steps[c->plane] = c->step;
    }
    return 1;
}

/* Rotate one plane of w x h elements of `step` bytes clockwise by `rot` degrees.
 * 90 is FFmpeg's transpose=clock: dst(r,c) = src(h-1-c, r); 270 is transpose=cclock:
 * dst(r,c) = src(c, w-1-r); 180 is hflip+vflip. */
void vs__rotate_plane(uint8_t *dst, int dls, const uint8_t *src, int sls, int w, int h, int step, int rot) {
    int ow = rot == 180 ? w : h, oh = rot == 180 ? h : w;
    for (int r = 0; r < oh; r++) {
        uint8_t *d = dst + (size_t)r * dls;
        for (int c = 0; c < ow; c++) {
            int sr, sc;
            if (rot == 90) { sr = h - 1 - c; sc = r; }
            else if (rot == 270) { sr = c; sc = w - 1 - r; }
            else { sr = h - 1 - r; sc = w - 1 - c; }
            const uint8_t *s = src + (size_t)sr * sls + (size_t)sc * step;
            if (step == 1) d[c] = *s;
            else memcpy(d + (size_t)c * step, s, (size_t)step);
        }
    }
}

/* Rotate all planes of a frame in format `fmt` into c->rot; fills data/linesize
 * of the rotated picture. Returns VS_ERR_UNSUPPORTED if the format needs the
 * RGB fallback. */
static vs_status rotate_planes(vs__conv *c, const uint8_t *const sdata[4], const int sls[4],
                               int w, int h, enum AVPixelFormat fmt, int rot, uint8_t *data[4],
                               int ls[4]) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
    int steps[4];
    if (!desc || !plane_steps(desc, steps)) return VS_ERR_UNSUPPORTED;
    int np = av_pix_fmt_count_planes(fmt);
    if (np <= 0 || np > 4) return VS_ERR_UNSUPPORTED;
    int pw[4], ph[4];
    size_t off[4], total = 0;
    for (int i = 0; i < np; i++) {
        int sw = (i == 1 || i == 2) ? desc->log2_chroma_w : 0;
        pw[i] = AV_CEIL_RSHIFT(w, sw);
        ph[i] = AV_CEIL_RSHIFT(h, sw);
        int ow = rot == 180 ? pw[i] : ph[i], oh = rot == 180 ? ph[i] : pw[i];
        ls[i] = (ow * steps[i] + 63) & ~63;
        off[i] = total;
        total += (size_t)ls[i] * oh;
    }
    if (grow(&c->rot, &c->rot_cap, total + 64) != VS_OK) return VS_ERR_NOMEM;
    for (int i = 0; i < 4; i++) data[i] = NULL;
    for (int i = 0; i < np; i++) {
        data[i] = c->rot + off[i];
        vs__rotate_plane(data[i], ls[i], sdata[i], sls[i], pw[i], ph[i], steps[i], rot);
    }
    for (int i = np; i < 4; i++) ls[i] = 0;
    return VS_OK;
}

/* Colour matrix and range like vf_scale with in_color_matrix=auto: matrix from the
 * frame's colorspace, input range from its color_range (YUV and gray sources only).
 * Returns the output range the context will produce (1 = full). */
static int set_colorspace(struct SwsContext *s, enum AVPixelFormat fmt, enum AVColorSpace cs_id,
                          enum AVColorRange range) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
    int *inv, *tab, in_full, out_full, bri, con, sat;
    if (sws_getColorspaceDetails(s, &inv, &in_full, &tab, &out_full, &bri, &con, &sat) < 0) return 0;
    if (!desc || (desc->flags & AV_PIX_FMT_FLAG_RGB)) return out_full; /* no matrix to choose */
    const int *cs = sws_getCoefficients(cs_id);
    if (range != AVCOL_RANGE_UNSPECIFIED) in_full = range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(s, cs, in_full, cs, out_full, bri, con, sat);
    return out_full;
}

/* The format FFmpeg's graph negotiation would convert `src` to for the transpose
 * filter (which takes formats with equal chroma subsampling): the least lossy of
 * those, chosen with av_find_best_pix_fmt_of_2 in descriptor order as pick_format
 * does. AV_PIX_FMT_NONE if there is none. */
static enum AVPixelFormat transposable_format(enum AVPixelFormat src) {
    const AVPixFmtDescriptor *sd = av_pix_fmt_desc_get(src), *d = NULL;
    int has_alpha = sd && (sd->flags & AV_PIX_FMT_FLAG_ALPHA);
    enum AVPixelFormat best = AV_PIX_FMT_NONE;
    int steps[4];
    while ((d = av_pix_fmt_desc_next(d))) {
        enum AVPixelFormat f = av_pix_fmt_desc_get_id(d);
        if (!plane_steps(d, steps) || !sws_isSupportedOutput(f) || !sws_isSupportedInput(f)) continue;
        best = best == AV_PIX_FMT_NONE ? f : av_find_best_pix_fmt_of_2(best, f, src, has_alpha, NULL);
    }
    return best;
}

vs_status vs__conv_frame(vs__conv *c, const AVFrame *f, int rotation, int resize, int crop,
                         uint8_t *out, const char *path) {
    const uint8_t *src[4] = {f->data[0], f->data[1], f->data[2], f->data[3]};
    int sls[4] = {f->linesize[0], f->linesize[1], f->linesize[2], f->linesize[3]};
    enum AVPixelFormat fmt = (enum AVPixelFormat)f->format;
    int w = f->width, h = f->height;
    uint8_t *rdata[4];
    int rls[4];
    enum AVColorRange range = f->color_range; /* of the picture handed to the last swscale */

    if (w <= 0 || h <= 0 || !av_pix_fmt_desc_get(fmt))
        return vs__err(VS_ERR_DECODE, "%s: decoder returned a frame without size or pixel format",
                       path);
    if (rotation) {
        vs_status st = rotate_planes(c, src, sls, w, h, fmt, rotation, rdata, rls);
        if (st == VS_ERR_NOMEM) return vs__err(st, "%s: out of memory rotating a frame", path);
        if (st != VS_OK) {
            /* Formats that do not transpose plane-wise (4:2:2, packed YUV,
             * palettes): as the CLI's graph does, convert first (bicubic, native
             * size) to the closest format that does, then rotate that. */
            enum AVPixelFormat mid = transposable_format(fmt);
            if (mid == AV_PIX_FMT_NONE) mid = AV_PIX_FMT_RGB24;
            c->sws_pre = sws_getCachedContext(c->sws_pre, w, h, fmt, w, h, mid, SWS_BICUBIC, NULL,
                                              NULL, NULL);
            if (!c->sws_pre)
                return vs__err(VS_ERR_UNSUPPORTED, "%s: cannot convert pixel format %s", path,
                               av_get_pix_fmt_name(fmt));
            int mid_full = set_colorspace(c->sws_pre, fmt, f->colorspace, f->color_range);
            int size = av_image_get_buffer_size(mid, w, h, 64);
            if (size <= 0)
                return vs__err(VS_ERR_UNSUPPORTED, "%s: cannot convert pixel format %s", path,
                               av_get_pix_fmt_name(fmt));
            if (grow(&c->pre, &c->pre_cap, (size_t)size + 64) != VS_OK)
                return vs__err(VS_ERR_NOMEM, "%s: out of memory converting a frame", path);
            uint8_t *pd[4];
            int pl[4];
            if (av_image_fill_arrays(pd, pl, c->pre, mid, w, h, 64) < 0 ||
                sws_scale(c->sws_pre, src, sls, 0, h, pd, pl) <= 0)
                return vs__err(VS_ERR_DECODE, "%s: pixel conversion failed", path);
            const uint8_t *pc[4] = {pd[0], pd[1], pd[2], pd[3]};
            st = rotate_planes(c, pc, pl, w, h, mid, rotation, rdata, rls);
            if (st != VS_OK) return vs__err(VS_ERR_NOMEM, "%s: out of memory rotating a frame", path);
            fmt = mid;
            range = mid_full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
        }
        for (int i = 0; i < 4; i++) {
            src[i] = rdata[i];
            sls[i] = rls[i];
        }
        if (rotation != 180) {
            int t = w;
            w = h;
            h = t;
        }
    }

    if (c->has_view) {
        /* Cut the view from the full-resolution picture by moving the plane pointers
         * (chroma planes by the subsampled offset, the corner rounded down to the
         * chroma grid); formats whose planes cannot be addressed that way go through
         * native-size RGB24 first. The cut then scales like a whole picture. */
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
        int steps[4];
        if (!plane_steps(desc, steps)) {
            c->sws_pre = sws_getCachedContext(c->sws_pre, w, h, fmt, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL,
                                              NULL, NULL);
            if (!c->sws_pre)
                return vs__err(VS_ERR_UNSUPPORTED, "%s: cannot convert pixel format %s", path,
                               av_get_pix_fmt_name(fmt));
            set_colorspace(c->sws_pre, fmt, f->colorspace, range);
            int pstride = (w * 3 + 63) & ~63;
            if (grow(&c->pre, &c->pre_cap, (size_t)pstride * h + 64) != VS_OK)
                return vs__err(VS_ERR_NOMEM, "%s: out of memory converting a frame", path);
            uint8_t *pd[4] = {c->pre, NULL, NULL, NULL};
            int pl[4] = {pstride, 0, 0, 0};
            if (sws_scale(c->sws_pre, src, sls, 0, h, pd, pl) <= 0)
                return vs__err(VS_ERR_DECODE, "%s: pixel conversion failed", path);
            fmt = AV_PIX_FMT_RGB24;
            range = AVCOL_RANGE_JPEG;
            src[0] = c->pre;
            sls[0] = pstride;
            src[1] = src[2] = src[3] = NULL;
            sls[1] = sls[2] = sls[3] = 0;
            desc = av_pix_fmt_desc_get(fmt);
            plane_steps(desc, steps);
        }
        int ax = 1 << desc->log2_chroma_w, ay = 1 << desc->log2_chroma_h;
        /* (the fractions are floats: 0.6f * 360 is 216.00001, which must give 216) */
        int vx0 = (int)floor(c->view[0] * (double)w + 1e-3) / ax * ax;
        int vy0 = (int)floor(c->view[1] * (double)h + 1e-3) / ay * ay;
        int vx1 = (int)ceil(c->view[2] * (double)w - 1e-3), vy1 = (int)ceil(c->view[3] * (double)h - 1e-3);
        if (vx1 > w) vx1 = w;
        if (vy1 > h) vy1 = h;
        if (vx1 - vx0 < 2 || vy1 - vy0 < 2)
            return vs__err(VS_ERR_INVALID_ARG, "%s: view %g,%g,%g,%g is under 2 pixels of a %dx%d picture", path,
                           c->view[0], c->view[1], c->view[2], c->view[3], w, h);
        for (int i = 0; i < 4; i++) {
            if (!src[i]) continue;
            int chroma = i == 1 || i == 2;
            int dx = chroma ? vx0 >> desc->log2_chroma_w : vx0, dy = chroma ? vy0 >> desc->log2_chroma_h : vy0;
            src[i] += (ptrdiff_t)dy * sls[i] + (ptrdiff_t)dx * steps[i];
        }
        w = vx1 - vx0;
        h = vy1 - vy0;
    }

    int ow, oh;
    vs__conv_scaled_size(w, h, resize, &ow, &oh);
    if (ow < crop || oh < crop)
        return vs__err(VS_ERR_INTERNAL, "%s: scaled size %dx%d smaller than crop %d", path, ow, oh,
                       crop);
    c->sws = sws_getCachedContext(c->sws, w, h, fmt, ow, oh, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL,
                                  NULL, NULL);
    if (!c->sws)
        return vs__err(VS_ERR_UNSUPPORTED, "%s: cannot scale pixel format %s (%dx%d)", path,
                       av_get_pix_fmt_name(fmt), w, h);
    set_colorspace(c->sws, fmt, f->colorspace, range);
    int sstride = (ow * 3 + 63) & ~63;
    if (grow(&c->scaled, &c->scaled_cap, (size_t)sstride * oh + 64) != VS_OK)
        return vs__err(VS_ERR_NOMEM, "%s: out of memory scaling a frame", path);
    uint8_t *dd[4] = {c->scaled, NULL, NULL, NULL};
    int dl[4] = {sstride, 0, 0, 0};
    if (sws_scale(c->sws, src, sls, 0, h, dd, dl) <= 0)
        return vs__err(VS_ERR_DECODE, "%s: scaling failed", path);

    int x0 = (ow - crop) / 2, y0 = (oh - crop) / 2;
    for (int r = 0; r < crop; r++)
        memcpy(out + (size_t)r * crop * 3, c->scaled + (size_t)(y0 + r) * sstride + (size_t)x0 * 3,
               (size_t)crop * 3);
    return VS_OK;
}

void vs__conv_free(vs__conv *c) {
    if (!c) return;
    sws_freeContext(c->sws);
    sws_freeContext(c->sws_pre);
    vs__free(c->rot);
    vs__free(c->pre);
    vs__free(c->scaled);
    memset(c, 0, sizeof *c);
}
