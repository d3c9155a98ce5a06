/*
 * calibrate.c - INT8 calibration of the backbone from videos (vs_calibrate_videos,
 * features.h): frames decoded and filtered as extraction does them, recorded through
 * the backbone's fp32 forward (vs_backbone_calib_*), clipping values fixed at a
 * percentile and saved. The CLI front end is `vidsim calibrate` (tools/cli/cmd_calibrate.c).
 */
#include "core/internal.h"
#include "features/region.h"
#include "vidsim/features.h"

#include <math.h>
#include <string.h>

vs_calibrate_params vs_calibrate_default_params(void) {
    vs_calibrate_params p;
    memset(&p, 0, sizeof p);
    vs_extract_params e = vs_extract_default_params();
    p.decode = e.decode;
    p.max_frames = 600;
    p.percentile = 100;
    p.n_threads = 1;
    p.batch = 16;
    p.min_frame_std = e.min_frame_std;
    return p;
}

vs_status vs_calibrate_videos(const char *backbone_path, const char *const *videos, int n,
                              const vs_calibrate_params *pp, const char *out_path, long *n_frames,
                              int *n_failed) {
    if (n_frames) *n_frames = 0;
    if (n_failed) *n_failed = 0;
    if (!backbone_path || !out_path || (n > 0 && !videos))
        return vs__err(VS_ERR_INVALID_ARG, "vs_calibrate_videos: NULL argument");
    if (n < 1) return vs__err(VS_ERR_INVALID_ARG, "calibrate: no video given");
    vs_calibrate_params p = pp ? *pp : vs_calibrate_default_params();
    if (p.max_frames < 1 || p.batch < 1 || p.n_threads < 1 || !(p.percentile > 0 && p.percentile <= 100))
        return vs__err(VS_ERR_INVALID_ARG, "calibrate: bad parameters (max_frames %d, batch %d, percentile %g)",
                       p.max_frames, p.batch, p.percentile);
    vs_backbone *bb = NULL;
    vs_backbone_state *st = NULL;
    vs_backbone_calib *cal = NULL;
    uint8_t *batch = NULL;
    vs_status s = vs_backbone_load(&bb, backbone_path);
    if (s) return s;
    vs_backbone_params bp = vs_backbone_default_params();
    bp.input_size = p.decode.crop;
    bp.max_batch = p.batch;
    bp.n_threads = p.n_threads;
    if ((s = vs_backbone_state_create(&st, bb, &bp)) || (s = vs_backbone_calib_create(&cal, bb))) goto out;
    size_t fsz = (size_t)p.decode.crop * p.decode.crop * 3;
    if (!(batch = vs__malloc(fsz * p.batch))) {
        s = vs__err(VS_ERR_NOMEM, "calibrate: out of memory");
        goto out;
    }
    int per_video = (p.max_frames + n - 1) / n, nb = 0;
    long total = 0;
    for (int v = 0; v < n && total + nb < p.max_frames; v++) {
        vs_decoder *dec = NULL;
        if (vs_decode_open(&dec, videos[v], &p.decode) != VS_OK) {
            if (n_failed) ++*n_failed;
            continue;
        }
        int got = 0;
        for (;;) {
            const uint8_t *rgb = NULL;
            double t;
            if (vs_decode_next(dec, &rgb, &t) != VS_OK) {
                if (n_failed) ++*n_failed;
                break;
            }
            if (!rgb || got >= per_video || total + nb >= p.max_frames) break;
            if (p.min_frame_std > 0 && vs__frame_luma_std(rgb, p.decode.crop, p.decode.crop) < p.min_frame_std) continue;
            memcpy(batch + (size_t)nb++ * fsz, rgb, fsz);
            got++;
            if (nb == p.batch) {
                if ((s = vs_backbone_calib_forward(cal, st, batch, nb))) {
                    vs_decode_close(dec);
                    goto out;
                }
                total += nb;
                nb = 0;
            }
        }
        vs_decode_close(dec);
        if (p.progress_fn) p.progress_fn(v + 1, n, p.progress_user);
    }
    if (nb > 0) {
        if ((s = vs_backbone_calib_forward(cal, st, batch, nb))) goto out;
        total += nb;
    }
    if (total == 0) {
        s = vs__err(VS_ERR_DECODE, "calibrate: no usable frame in %d video(s)", n);
        goto out;
    }
    if ((s = vs_backbone_calib_finish(cal, p.percentile)) || (s = vs_backbone_calib_save(cal, out_path))) goto out;
    if (n_frames) *n_frames = total;
out:
    vs__free(batch);
    vs_backbone_calib_free(cal);
    vs_backbone_state_free(st);
    vs_backbone_free(bb);
    return s;
}
