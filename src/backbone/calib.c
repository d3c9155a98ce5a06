/*
 * calib.c - INT8 calibration of the backbone (backbone.h): record, on float forward
 * passes over real frames, the range of every activation a convolution reads (a
 * histogram of |x| per activation, 1/64-octave bins taken straight from the float's
 * bits, plus the signed min/max), fix a clipping value per activation at a percentile
 * of |x| (100 = max), and save/load it as a small VSTF file that names the backbone
 * and the hash of its folded weights (docs/formats.md). The int8 path (dnnl.c) turns
 * the clipping values into per-tensor scales.
 */
#include "bb_internal.h"
#include "core/tensorfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND "backbone_calibration"

uint64_t vs__bb_weights_hash(const vs_backbone *bb) {
    uint64_t h = vs__fnv1a(VS__FNV_INIT, bb->name, strlen(bb->name));
    return vs__fnv1a(h, bb->params, bb->n_params * sizeof(float));
}

int vs__bb_int8_in_bf16(const vs_backbone *bb, int i) {
    /* every conv before the first Concatenate/Add: IV3's stem (5 convs) and the mixed0
     * block's 7 (47 % of the conv FLOPs at 224); MNv2 up to block_2. Measured on 20 dev
     * queries (2,250 regions), whitened features against fp32 (docs/backbone.md): all
     * int8 region cosine min 0.84-0.93 / mean 0.980-0.990; stem only in bf16 min 0.994 /
     * mean 0.9985; this set in bf16: min 0.996 / mean 0.9990 (none below 0.99). */
    for (int j = 1; j < i; j++)
        if (bb->nodes[j].op == BB_CONCAT || bb->nodes[j].op == BB_ADD) return 0;
    return bb->nodes[i].op == BB_CONV || bb->nodes[i].op == BB_DWCONV;
}

int vs__bb_feeds_conv(const vs_backbone *bb, int i) {
    for (int j = i + 1; j < bb->n_nodes; j++) {
        const bb_node *nd = &bb->nodes[j];
        if ((nd->op == BB_CONV || nd->op == BB_DWCONV) && nd->in[0] == i) return 1;
    }
    return 0;
}

void vs_backbone_calib_free(vs_backbone_calib *c) {
    if (!c) return;
    vs__free(c->slot);
    vs__free(c->hist);
    vs__free(c->vmax);
    vs__free(c->vmin);
    vs__free(c->clip);
    vs__free(c);
}

static vs_status alloc(vs_backbone_calib **out, const vs_backbone *bb, int with_hist) {
    *out = NULL;
    vs_backbone_calib *c = vs__calloc(1, sizeof *c);
    if (!c) return vs__err(VS_ERR_NOMEM, "calibration: out of memory");
    c->bb = bb;
    c->n_nodes = bb->n_nodes;
    c->weights_hash = vs__bb_weights_hash(bb);
    c->slot = vs__calloc(bb->n_nodes, sizeof(int));
    c->vmax = vs__calloc(bb->n_nodes, sizeof(float));
    c->vmin = vs__calloc(bb->n_nodes, sizeof(float));
    c->clip = vs__calloc(bb->n_nodes, sizeof(float));
    if (!c->slot || !c->vmax || !c->vmin || !c->clip) goto nomem;
    for (int i = 0; i < bb->n_nodes; i++) c->slot[i] = vs__bb_feeds_conv(bb, i) ? c->n_slots++ : -1;
    if (with_hist && !(c->hist = vs__calloc((size_t)c->n_slots * BB_CAL_BINS, sizeof(uint64_t))))
        goto nomem;
    *out = c;
    return VS_OK;
nomem:
    vs_backbone_calib_free(c);
    return vs__err(VS_ERR_NOMEM, "calibration: out of memory");
}

vs_status vs_backbone_calib_create(vs_backbone_calib **out, const vs_backbone *bb) {
    if (!out || !bb) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_calib_create: NULL argument");
    return alloc(out, bb, 1);
}

void vs__bb_calib_observe(vs_backbone_calib *c, int i, const float *x, long rows, int ch, int ld) {
    if (c->slot[i] < 0) return;
    uint64_t *h = c->hist + (size_t)c->slot[i] * BB_CAL_BINS;
    float mx = c->vmax[i], mn = c->vmin[i];
    for (long r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * ld;
        for (int k = 0; k < ch; k++) {
            float v = p[k];
            uint32_t b;
            mx = v > mx ? v : mx;
            mn = v < mn ? v : mn;
            memcpy(&b, &v, 4);
            b = (b & 0x7fffffffu) >> 17; /* |v|: exponent and 6 mantissa bits */
            h[b < BB_CAL_BINS ? b : BB_CAL_BINS - 1]++;
        }
    }
    c->vmax[i] = mx;
    c->vmin[i] = mn;
}

long vs_backbone_calib_frames(const vs_backbone_calib *c) { return c ? c->frames : 0; }
double vs_backbone_calib_percentile(const vs_backbone_calib *c) { return c ? c->percentile : 0; }

vs_status vs_backbone_calib_finish(vs_backbone_calib *c, double pct) {
    if (!c || !c->hist) return vs__err(VS_ERR_INVALID_ARG, "calibration: nothing recorded");
    if (!(pct > 0 && pct <= 100))
        return vs__err(VS_ERR_INVALID_ARG, "calibration: percentile %g is not in (0, 100]", pct);
    if (c->frames < 1) return vs__err(VS_ERR_INVALID_ARG, "calibration: no frame recorded");
    for (int i = 0; i < c->n_nodes; i++) {
        if (c->slot[i] < 0) continue;
        float amax = fmaxf(c->vmax[i], -c->vmin[i]);
        if (pct >= 100) {
            c->clip[i] = amax;
            continue;
        }
        const uint64_t *h = c->hist + (size_t)c->slot[i] * BB_CAL_BINS;
        uint64_t total = 0, acc = 0;
        for (int b = 0; b < BB_CAL_BINS; b++) total += h[b];
        double want = total * (pct / 100.0);
        int b = 0;
        for (; b < BB_CAL_BINS - 1; b++) {
            acc += h[b];
            if ((double)acc >= want) break;
        }
        uint32_t bits = (uint32_t)(b + 1) << 17; /* upper edge of the bin */
        float v;
        memcpy(&v, &bits, 4);
        c->clip[i] = v < amax ? v : amax;
    }
    for (int i = 0; i < c->n_nodes; i++)
        if (c->slot[i] >= 0 && !(c->clip[i] > 0)) c->clip[i] = 1; /* all zero: any scale */
    c->percentile = pct;
    return VS_OK;
}

uint32_t vs_backbone_calib_hash(const vs_backbone_calib *c) {
    if (!c) return 0;
    uint64_t h = vs__fnv1a(VS__FNV_INIT, c->clip, c->n_nodes * sizeof(float));
    for (int i = 0; i < c->n_nodes; i++) {
        unsigned char sgn = c->vmin[i] < 0;
        h = vs__fnv1a(h, &sgn, 1);
    }
    return (uint32_t)(h ^ (h >> 32));
}

vs_status vs_backbone_calib_save(const vs_backbone_calib *c, const char *path) {
    if (!c || !path) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_calib_save: NULL argument");
    if (c->percentile <= 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s: calibration not finished", path);
    vs__tfw *w;
    vs_status st = vs__tfw_create(&w);
    if (st) return st;
    char hash[32], pct[32], frames[32], nn[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)c->weights_hash);
    snprintf(pct, sizeof pct, "%g", c->percentile);
    snprintf(frames, sizeof frames, "%ld", c->frames);
    snprintf(nn, sizeof nn, "%d", c->n_nodes);
    int64_t d[1] = {c->n_nodes};
    if (!(st = vs__tfw_meta(w, "kind", KIND)) && !(st = vs__tfw_meta(w, "backbone", c->bb->name)) &&
        !(st = vs__tfw_meta(w, "weights_hash", hash)) && !(st = vs__tfw_meta(w, "percentile", pct)) &&
        !(st = vs__tfw_meta(w, "frames", frames)) && !(st = vs__tfw_meta(w, "n_nodes", nn)) &&
        !(st = vs__tfw_add(w, "calib.clip", VS_DT_F32, 1, d, c->clip)) &&
        !(st = vs__tfw_add(w, "calib.max", VS_DT_F32, 1, d, c->vmax)) &&
        !(st = vs__tfw_add(w, "calib.min", VS_DT_F32, 1, d, c->vmin)))
        st = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return st;
}

vs_status vs_backbone_calib_load(vs_backbone_calib **out, const vs_backbone *bb, const char *path) {
    if (!out || !bb || !path) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_calib_load: NULL argument");
    *out = NULL;
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st) return st;
    vs_backbone_calib *c = NULL;
    const char *kind = vs__tf_meta(tf, "kind"), *bbn = vs__tf_meta(tf, "backbone");
    const char *wh = vs__tf_meta(tf, "weights_hash"), *pct = vs__tf_meta(tf, "percentile");
    const char *fr = vs__tf_meta(tf, "frames");
    if (!kind || strcmp(kind, KIND) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a backbone calibration file (kind %s)", path,
                     kind ? kind : "missing");
        goto out;
    }
    if (!bbn || strcmp(bbn, bb->name) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: calibration of backbone %s, not %s", path, bbn ? bbn : "?",
                     bb->name);
        goto out;
    }
    if ((st = alloc(&c, bb, 0))) goto out;
    char mine[32];
    snprintf(mine, sizeof mine, "%016llx", (unsigned long long)c->weights_hash);
    if (!wh || strcmp(wh, mine) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: calibration made for other %s weights (hash %s, these are %s)",
                     path, bb->name, wh ? wh : "missing", mine);
        goto out;
    }
    int64_t d[1] = {bb->n_nodes};
    const vs__tensor *tc, *tx, *tn;
    if ((st = vs__tf_get(tf, "calib.clip", VS_DT_F32, 1, d, &tc)) ||
        (st = vs__tf_get(tf, "calib.max", VS_DT_F32, 1, d, &tx)) ||
        (st = vs__tf_get(tf, "calib.min", VS_DT_F32, 1, d, &tn)))
        goto out;
    memcpy(c->clip, tc->data, d[0] * sizeof(float));
    memcpy(c->vmax, tx->data, d[0] * sizeof(float));
    memcpy(c->vmin, tn->data, d[0] * sizeof(float));
    for (int i = 0; i < bb->n_nodes; i++) {
        if (!isfinite(c->clip[i]) || c->clip[i] < 0 || !isfinite(c->vmin[i]) || !isfinite(c->vmax[i]) ||
            (c->slot[i] >= 0 && !(c->clip[i] > 0))) {
            st = vs__err(VS_ERR_FORMAT, "%s: bad clipping value %g for layer %s", path, c->clip[i],
                         bb->nodes[i].name);
            goto out;
        }
    }
    c->percentile = pct ? atof(pct) : 0;
    c->frames = fr ? atol(fr) : 0;
    if (!(c->percentile > 0 && c->percentile <= 100)) {
        st = vs__err(VS_ERR_FORMAT, "%s: bad percentile '%s'", path, pct ? pct : "missing");
        goto out;
    }
out:
    vs__tf_close(tf);
    if (st) vs_backbone_calib_free(c);
    else *out = c;
    return st;
}
