/*
 * dnnl.c - optional oneDNN (Debian libdnnl 2.6) path for the backbone's Conv2D and
 * DepthwiseConv2D nodes: one forward-inference convolution primitive per node with
 * NHWC source/destination, weights reordered once (at state creation) into the
 * layout oneDNN picks, bias and ReLU/ReLU6 (eltwise relu / clip 0..6) as post-ops,
 * TF 'same' pads passed as explicit asymmetric pads. Measured ~3x faster than
 * im2col + OpenBLAS on this machine, because oneDNN JITs AVX-512 kernels while
 * OpenBLAS 0.3.21 runs its AVX2 kernels here (docs/backbone.md).
 *
 * Each node gets a primitive for the state's max_batch and, in a state with more than
 * one thread, one for every power of two below it ("slots": 16, 8, 4, 2, 1 for max_batch
 * 16); a forward with n < max_batch frames runs the binary digits of n (13 = 8 + 4 + 1:
 * three calls, not 13 batch-1 calls, so 3 OpenMP parallel regions instead of 13). With
 * one thread the slots are max_batch and 1 (n batch-1 calls: measured the same per-frame
 * cost, and creating the other slots doubles the state's creation time). Shapes are
 * fixed at creation; nothing is created or allocated in the forward
 * pass, the scratchpad is user-provided and shared. Threads: oneDNN here uses OpenMP; the state's n_threads is applied
 * with omp_set_num_threads() on the calling thread (a per-thread setting).
 * Compiled only with VS_HAVE_DNNL (CMake finds oneDNN); otherwise backbone.c never
 * calls these. Not here: pools/concat/add (ops.c).
 *
 * Low precision (INT8, BF16): each activation a convolution reads is converted once per
 * forward (a oneDNN reorder into a per-activation buffer: f32 -> u8/s8 with the
 * calibrated per-tensor scale, or f32 -> bf16), shared by every convolution reading it
 * (InceptionV3's branches read the same concat 3-4 times). INT8 convolutions take
 * s8 weights with per-output-channel scales (127/max|w| over the channel),
 * accumulate in s32 and write float: output scale 1/(s_x*s_w[oc]), bias pre-scaled to
 * the accumulator's units (oneDNN 2.x adds it before the output scale), ReLU/ReLU6
 * after. So pools, concats, adds and taps stay float, as in FP32. u8 for activations
 * that are never negative in calibration (post-ReLU), s8 otherwise (input image,
 * MobileNetV2's linear bottlenecks). In an INT8 state the convs before the first
 * concat/add run in BF16 (vs__bb_int8_in_bf16, calib.c): each conv node has its own
 * precision (np[]), and an activation gets one converted copy per format its readers use.
 * Fused conversion: a conv whose every reader is a conv of its own precision (and that
 * is no tap) writes the converted copy itself - u8/s8 destination with output scale
 * s_y/(s_x*s_w[oc]) (ReLU commutes with the positive scale; ReLU6 becomes clip(0, 6*s_y)),
 * or a bf16 destination - so no f32 output and no reorder pass (InceptionV3: the 1x1
 * reductions and the first 3x3/7x1 of each chain, and the stem convs feeding a conv). The
 * f32 output of such a node is never written. Not in the emulated path below.
 *
 * Without VNNI/AMX (effective ISA below avx512_core_vnni / avx2_vnni, e.g. capped by
 * DNNL_MAX_CPU_ISA) oneDNN's int8 kernels multiply with vpmaddubsw, whose 16-bit pair
 * sums saturate for 8-bit activations times 8-bit weights (oneDNN's documented
 * caveat); 7-bit weights or activations avoid that but cost accuracy (measured with an
 * all-int8 network: region cosine 0.983 / 0.990 against fp32, 0.996 with 8 bits). So INT8 there is emulated: the activation is
 * quantised exactly as with VNNI (f32 -> u8/s8 reorder) and dequantised back to f32
 * (u8/s8 -> f32 reorder, 1/scale), the weights are the dequantised s8 weights, and the
 * convolution runs in f32. Same quantisation grid, so the same features as the VNNI
 * path up to float rounding; fp32 speed (slower, never wrong).
 */
#ifdef VS_HAVE_DNNL
#include "bb_dnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <math.h>
#include <string.h>

#define NSLOT 14 /* max_batch (<= 4096) and the powers of two below it */

/* Low precision: the converted copy of one activation (a node some conv reads). */
typedef struct {
    dnnl_primitive_t r[NSLOT]; /* reorder f32 -> u8/s8/bf16, per slot */
    dnnl_memory_t from[NSLOT], to[NSLOT];
    void *buf;                 /* [max_batch * frame] elements */
    dnnl_primitive_t e[NSLOT]; /* emulated INT8: reorder u8/s8 -> f32 (1/scale) */
    dnnl_memory_t efrom[NSLOT], eto[NSLOT];
    float *ebuf;               /* emulated INT8: dequantised activations */
    size_t frame_bytes;
    unsigned gen;              /* forward it was converted for */
    float scale;               /* INT8: q = x * scale */
    int sgn;                   /* INT8: s8 (1) or u8 (0) */
    int kind;                  /* VS_PRECISION_INT8 or _BF16 */
    int fused;                 /* written by its producing conv (no reorder) */
} dquant;

typedef struct {
    dnnl_primitive_t p[NSLOT]; /* per slot (batch d->bs[slot]) */
    dnnl_memory_t src[NSLOT], dst[NSLOT], sp[NSLOT], w[NSLOT], b;
    int w_own[NSLOT];          /* w[slot] is not an earlier slot's */
    float *bq;                 /* INT8: bias in accumulator units [cout] */
    float *wfq;                /* emulated INT8: dequantised s8 weights, our layout */
    dquant *oq;                /* fused: the converted copy this conv writes, else NULL */
} dconv;
#define QI(i, prec) (2 * (i) + ((prec) == VS_PRECISION_BF16))

struct bb_dnnl {
    dnnl_engine_t eng;
    dnnl_stream_t str;
    int n_nodes, max_batch, n_threads, prec;
    int n_slots, bs[NSLOT];    /* batch of each slot: max_batch, then powers of two below */
    int emul;                  /* INT8 without VNNI: emulated in f32 (see top) */
    dconv *c;                  /* [n_nodes] */
    dquant *q;                 /* [2 * n_nodes]: QI(node, precision); low precision only */
    int *np;                   /* [n_nodes] precision of each conv node */
    unsigned gen;
    long n_exec;               /* conv primitive executions since vs__bb_dnnl_begin */
    void *scratch;             /* shared user scratchpad */
    size_t scratch_bytes;
};

static _Atomic int g_fuse = 1, g_pow2 = 1;
void vs__bb_dnnl_set_fusion(int on) { g_fuse = on != 0; }
void vs__bb_dnnl_set_partial(int mode) { g_pow2 = mode < 0 ? 0 : mode > 2 ? 2 : mode; }

static int isa_vnni(dnnl_cpu_isa_t isa) {
    return isa == dnnl_cpu_isa_avx512_core_vnni || isa == dnnl_cpu_isa_avx512_core_bf16 ||
           isa == dnnl_cpu_isa_avx512_core_amx || isa == dnnl_cpu_isa_avx2_vnni;
}

const char *vs__bb_dnnl_isa(int *vnni) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (vnni) *vnni = isa_vnni(isa);
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

static dnnl_data_type_t lowp_type(const dquant *q) {
    return q->kind == VS_PRECISION_BF16 ? dnnl_bf16 : q->sgn ? dnnl_s8 : dnnl_u8;
}

#define DCK(call, what)                                                                     \
    do {                                                                                    \
        dnnl_status_t s_ = (call);                                                          \
        if (s_ != dnnl_success) {                                                           \
            st = vs__err(VS_ERR_INTERNAL, "%s: oneDNN: %s for '%s' failed (status %d)", \
                         bb->path, what, nd->name, (int)s_);                                \
            goto out;                                                                       \
        }                                                                                   \
    } while (0)

/* Create the primitive for batch B in slot `slot`. */
static vs_status make(bb_dnnl *d, dconv *c, int slot, const vs_backbone *bb, const bb_node *nd,
                      int np, const bb_geom *gi, const bb_geom *go, int B, size_t *sp_need) {
    vs_status st = VS_OK;
    const int dw = nd->op == BB_DWCONV;
    const int lowp = np != VS_PRECISION_FP32, i8 = np == VS_PRECISION_INT8, emul = i8 && d->emul;
    dquant *q = lowp ? &d->q[QI(nd->in[0], np)] : NULL;
    dnnl_data_type_t st_t = lowp && !emul ? lowp_type(q) : dnnl_f32;
    dnnl_data_type_t wt_t = emul ? dnnl_f32 : i8 ? dnnl_s8 : lowp ? dnnl_bf16 : dnnl_f32;
    const dquant *oq = c->oq; /* fused: write the readers' converted copy */
    dnnl_data_type_t dt_t = oq ? lowp_type(oq) : dnnl_f32;
    const float oscale = oq && i8 ? oq->scale : 1.f;
    float *wsc = NULL, *osc = NULL;
    dnnl_primitive_attr_t rattr = NULL;
    dnnl_memory_desc_t sd, dd, wd, wu, bd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_primitive_t reo = NULL;
    dnnl_memory_t wuser = NULL;
    dnnl_dims_t sdims = {B, nd->cin, gi->h, gi->w}, ddims = {B, nd->cout, go->h, go->w};
    DCK(dnnl_memory_desc_init_by_tag(&sd, 4, sdims, st_t, dnnl_nhwc), "src md");
    DCK(dnnl_memory_desc_init_by_tag(&dd, 4, ddims, dt_t, dnnl_nhwc), "dst md");
    if (dw) { /* ours: [kh, kw, C] -> dims (G=C, 1, 1, KH, KW) */
        dnnl_dims_t wdims = {nd->cout, 1, 1, nd->kh, nd->kw};
        dnnl_dims_t ws = {1, 1, 1, (dnnl_dim_t)nd->kw * nd->cout, nd->cout};
        DCK(dnnl_memory_desc_init_by_tag(&wd, 5, wdims, wt_t, dnnl_format_tag_any), "w md");
        DCK(dnnl_memory_desc_init_by_strides(&wu, 5, wdims, dnnl_f32, ws), "w user md");
    } else { /* ours: [kh, kw, cin, cout] = hwio */
        dnnl_dims_t wdims = {nd->cout, nd->cin, nd->kh, nd->kw};
        DCK(dnnl_memory_desc_init_by_tag(&wd, 4, wdims, wt_t, dnnl_format_tag_any), "w md");
        DCK(dnnl_memory_desc_init_by_tag(&wu, 4, wdims, dnnl_f32, dnnl_hwio), "w user md");
    }
    dnnl_dims_t bdims = {nd->cout};
    DCK(dnnl_memory_desc_init_by_tag(&bd, 1, bdims, dnnl_f32, dnnl_x), "bias md");
    dnnl_dims_t strides = {nd->sh, nd->sw}, pl = {go->pt, go->pl}, pr = {go->pb, go->pr};
    dnnl_convolution_desc_t cd;
    DCK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                           &sd, &wd, &bd, &dd, strides, pl, pr),
        "conv desc");
    DCK(dnnl_primitive_attr_create(&attr), "attr");
    DCK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad");
    if (i8) { /* per-output-channel weight scales; dequantising output scales */
        const float wmax = 127.f;
        const long K = (long)nd->kh * nd->kw * (dw ? 1 : nd->cin);
        wsc = vs__malloc(sizeof(float) * nd->cout);
        osc = vs__malloc(sizeof(float) * nd->cout);
        if (!c->bq) c->bq = vs__malloc(sizeof(float) * nd->cout);
        if (emul && !c->wfq) c->wfq = vs__malloc(sizeof(float) * K * nd->cout);
        if (!wsc || !osc || !c->bq || (emul && !c->wfq)) {
            st = vs__err(VS_ERR_NOMEM, "%s: out of memory (int8 scales)", bb->path);
            goto out;
        }
        for (int o = 0; o < nd->cout; o++) {
            float m = 0;
            for (long k = 0; k < K; k++) {
                float a = fabsf(nd->w[k * nd->cout + o]);
                m = a > m ? a : m;
            }
            wsc[o] = m > 0 ? wmax / m : 1.f;
            osc[o] = oscale / (q->scale * wsc[o]);
            c->bq[o] = nd->b[o] * q->scale * wsc[o];
            if (emul) /* the s8 weight, dequantised (round half to even, as reorders) */
                for (long k = 0; k < K; k++)
                    c->wfq[k * nd->cout + o] = nearbyintf(nd->w[k * nd->cout + o] * wsc[o]) / wsc[o];
        }
        if (!emul) {
            DCK(dnnl_primitive_attr_set_output_scales(attr, nd->cout, 1 << 1, osc), "output scales");
            DCK(dnnl_primitive_attr_create(&rattr), "reorder attr");
            DCK(dnnl_primitive_attr_set_output_scales(rattr, nd->cout, 1 << 0, wsc), "weight scales");
        }
    }
    DCK(dnnl_post_ops_create(&po), "post-ops");
    if (nd->act == BB_ACT_RELU)
        DCK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f), "relu");
    else if (nd->act == BB_ACT_RELU6)
        DCK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_clip, 0.f, 6.f * oscale), "relu6");
    DCK(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
    DCK(dnnl_primitive_desc_create(&pd, &cd, attr, d->eng, NULL), "primitive desc");
    const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *spq = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sp = spq ? dnnl_memory_desc_get_size(spq) : 0;
    if (sp > *sp_need) *sp_need = sp;
    for (int t = 0; t < slot && !c->w[slot]; t++) { /* same layout as an earlier slot: share */
        const dnnl_memory_desc_t *wt = NULL;
        DCK(dnnl_memory_get_memory_desc(c->w[t], &wt), "w query");
        if (dnnl_memory_desc_equal(wq, wt)) c->w[slot] = c->w[t];
    }
    if (!c->w[slot]) { /* reorder our weights into oneDNN's layout, once */
        c->w_own[slot] = 1;
        DCK(dnnl_memory_create(&c->w[slot], wq, d->eng, DNNL_MEMORY_ALLOCATE), "w memory");
        DCK(dnnl_memory_create(&wuser, &wu, d->eng, c->wfq ? c->wfq : nd->w), "w user memory");
        DCK(dnnl_reorder_primitive_desc_create(&rpd, &wu, d->eng, wq, d->eng, rattr), "reorder");
        DCK(dnnl_primitive_create(&reo, rpd), "reorder");
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wuser}, {DNNL_ARG_TO, c->w[slot]}};
        DCK(dnnl_primitive_execute(reo, d->str, 2, ra), "reorder");
        DCK(dnnl_stream_wait(d->str), "reorder");
    }
    if (!c->b) DCK(dnnl_memory_create(&c->b, &bd, d->eng, i8 && !emul ? c->bq : nd->b), "bias memory");
    DCK(dnnl_memory_create(&c->src[slot], &sd, d->eng, DNNL_MEMORY_NONE), "src memory");
    DCK(dnnl_memory_create(&c->dst[slot], &dd, d->eng, DNNL_MEMORY_NONE), "dst memory");
    if (sp) DCK(dnnl_memory_create(&c->sp[slot], spq, d->eng, DNNL_MEMORY_NONE), "scratchpad");
    DCK(dnnl_primitive_create(&c->p[slot], pd), "primitive");
out:
    vs__free(wsc);
    vs__free(osc);
    if (rattr) dnnl_primitive_attr_destroy(rattr);
    if (reo) dnnl_primitive_destroy(reo);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (wuser) dnnl_memory_destroy(wuser);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* The converted copy of activation i (node i's dense NHWC output at geometry g). */
static vs_status make_quant(bb_dnnl *d, const vs_backbone *bb, int i, dquant *q, const bb_geom *g) {
    vs_status st = VS_OK;
    const bb_node *nd = &bb->nodes[i]; /* named in DCK's messages */
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_data_type_t t = lowp_type(q);
    const int emul = d->emul && q->kind == VS_PRECISION_INT8;
    q->frame_bytes = (size_t)g->h * g->w * g->c * (t == dnnl_bf16 ? 2 : 1);
    if (!(q->buf = vs__malloc_aligned(q->frame_bytes * d->max_batch)) ||
        (emul && !(q->ebuf = vs__malloc_aligned(q->frame_bytes * 4 * d->max_batch))))
        return vs__err(VS_ERR_NOMEM, "%s: out of memory (converted activations)", bb->path);
    float inv = 1.f / q->scale;
    if (q->fused) return VS_OK; /* its producer writes buf: no reorder */
    DCK(dnnl_primitive_attr_create(&attr), "attr");
    if (t != dnnl_bf16) DCK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &q->scale), "scale");
    for (int s = 0; s < d->n_slots; s++) {
        dnnl_memory_desc_t fd, td;
        dnnl_dims_t dims = {d->bs[s], g->c, g->h, g->w};
        DCK(dnnl_memory_desc_init_by_tag(&fd, 4, dims, dnnl_f32, dnnl_nhwc), "f32 md");
        DCK(dnnl_memory_desc_init_by_tag(&td, 4, dims, t, dnnl_nhwc), "low-precision md");
        DCK(dnnl_reorder_primitive_desc_create(&pd, &fd, d->eng, &td, d->eng, attr), "reorder");
        DCK(dnnl_primitive_create(&q->r[s], pd), "reorder");
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
        DCK(dnnl_memory_create(&q->from[s], &fd, d->eng, DNNL_MEMORY_NONE), "f32 memory");
        DCK(dnnl_memory_create(&q->to[s], &td, d->eng, DNNL_MEMORY_NONE), "low-precision memory");
        if (!emul) continue;
        DCK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &inv), "scale");
        DCK(dnnl_reorder_primitive_desc_create(&pd, &td, d->eng, &fd, d->eng, attr), "reorder");
        DCK(dnnl_primitive_create(&q->e[s], pd), "reorder");
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
        DCK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &q->scale), "scale");
        DCK(dnnl_memory_create(&q->efrom[s], &td, d->eng, DNNL_MEMORY_NONE), "low-precision memory");
        DCK(dnnl_memory_create(&q->eto[s], &fd, d->eng, DNNL_MEMORY_NONE), "f32 memory");
    }
out:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

void vs__bb_dnnl_free(bb_dnnl *d) {
    if (!d) return;
    for (int i = 0; d->c && i < d->n_nodes; i++) {
        dconv *c = &d->c[i];
        for (int s = 0; s < NSLOT; s++) {
            if (c->p[s]) dnnl_primitive_destroy(c->p[s]);
            if (c->src[s]) dnnl_memory_destroy(c->src[s]);
            if (c->dst[s]) dnnl_memory_destroy(c->dst[s]);
            if (c->sp[s]) dnnl_memory_destroy(c->sp[s]);
            if (c->w[s] && c->w_own[s]) dnnl_memory_destroy(c->w[s]);
        }
        if (c->b) dnnl_memory_destroy(c->b);
        vs__free(c->bq);
        vs__free(c->wfq);
    }
    for (int i = 0; d->q && i < 2 * d->n_nodes; i++) {
        dquant *q = &d->q[i];
        for (int s = 0; s < NSLOT; s++) {
            if (q->r[s]) dnnl_primitive_destroy(q->r[s]);
            if (q->from[s]) dnnl_memory_destroy(q->from[s]);
            if (q->to[s]) dnnl_memory_destroy(q->to[s]);
            if (q->e[s]) dnnl_primitive_destroy(q->e[s]);
            if (q->efrom[s]) dnnl_memory_destroy(q->efrom[s]);
            if (q->eto[s]) dnnl_memory_destroy(q->eto[s]);
        }
        vs__free_aligned(q->buf);
        vs__free_aligned(q->ebuf);
    }
    vs__free(d->q);
    vs__free(d->np);
    vs__free(d->c);
    vs__free_aligned(d->scratch);
    if (d->str) dnnl_stream_destroy(d->str);
    if (d->eng) dnnl_engine_destroy(d->eng);
    vs__free(d);
}

vs_status vs__bb_dnnl_create(bb_dnnl **out, const vs_backbone *bb, const bb_geom *g,
                             int max_batch, int n_threads, int prec, const vs_backbone_calib *cal) {
    *out = NULL;
    vs_status st = VS_OK;
    const bb_node *nd = &bb->nodes[0];
    bb_dnnl *d = vs__calloc(1, sizeof *d);
    if (!d || !(d->c = vs__calloc(bb->n_nodes, sizeof(dconv)))) {
        vs__free(d);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory (oneDNN state)", bb->path);
    }
    d->n_nodes = bb->n_nodes;
    d->max_batch = max_batch;
    d->n_threads = n_threads;
    d->prec = prec;
    omp_set_num_threads(n_threads);
    int vnni;
    vs__bb_dnnl_isa(&vnni);
    d->emul = prec == VS_PRECISION_INT8 && !vnni;
    DCK(dnnl_engine_create(&d->eng, dnnl_cpu, 0), "engine");
    DCK(dnnl_stream_create(&d->str, d->eng, dnnl_stream_default_flags), "stream");
    if (!(d->np = vs__calloc(bb->n_nodes, sizeof(int))) ||
        (prec != VS_PRECISION_FP32 && !(d->q = vs__calloc(2 * (size_t)bb->n_nodes, sizeof(dquant))))) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory (oneDNN state)", bb->path);
        goto out;
    }
    /* partial-batch slots: with one thread a batch-1 call per frame costs the same per
     * frame as a batched call (measured: docs/backbone.md, "Fused conversions and
     * partial batches") and the extra primitives only cost creation time; with more,
     * every call is an OpenMP parallel region with its barriers, and fewer calls pay */
    const int pow2 = g_pow2 == 2 || (g_pow2 == 1 && n_threads > 1);
    d->bs[d->n_slots++] = max_batch;
    for (int b = 1 << 12; b >= 1; b >>= 1)
        if (b < max_batch && d->n_slots < NSLOT && (pow2 || b == 1)) d->bs[d->n_slots++] = b;
    for (int i = 0; i < bb->n_nodes; i++) {
        nd = &bb->nodes[i];
        if (nd->op != BB_CONV && nd->op != BB_DWCONV) continue;
        d->np[i] = prec;
        if (prec == VS_PRECISION_INT8 && vs__bb_int8_in_bf16(bb, i)) d->np[i] = VS_PRECISION_BF16;
    }
    for (int i = 0; i < bb->n_nodes && prec != VS_PRECISION_FP32; i++) {
        nd = &bb->nodes[i];
        if (nd->op != BB_CONV && nd->op != BB_DWCONV) continue;
        int p = nd->in[0];
        dquant *q = &d->q[QI(p, d->np[i])];
        if (q->kind) continue; /* another conv reads the same activation */
        q->kind = d->np[i];
        if (q->kind == VS_PRECISION_INT8) {
            q->sgn = cal->vmin[p] < 0;
            q->scale = (q->sgn ? 127.f : 255.f) / cal->clip[p];
        }
        /* fuse: p is a conv of this precision, every reader a conv of it, not a tap */
        int fuse = g_fuse && !d->emul && (bb->nodes[p].op == BB_CONV || bb->nodes[p].op == BB_DWCONV) &&
                   d->np[p] == q->kind;
        for (int t = 0; fuse && t < bb->n_taps; t++) fuse = bb->tap_node[t] != p;
        for (int j = p + 1; fuse && j < bb->n_nodes; j++) {
            const bb_node *r = &bb->nodes[j];
            for (int k = 0; k < r->n_in; k++)
                if (r->in[k] == p && !((r->op == BB_CONV || r->op == BB_DWCONV) && d->np[j] == q->kind)) fuse = 0;
        }
        if (fuse) {
            q->fused = 1;
            d->c[p].oq = q;
        }
    }
    for (int i = 0; i < 2 * bb->n_nodes && d->q; i++)
        if (d->q[i].kind && (st = make_quant(d, bb, i / 2, &d->q[i], &g[i / 2]))) goto out;
    size_t sp = 0;
    for (int i = 0; i < bb->n_nodes; i++) {
        nd = &bb->nodes[i];
        if (nd->op != BB_CONV && nd->op != BB_DWCONV) continue;
        for (int s = 0; s < d->n_slots; s++)
            if ((st = make(d, &d->c[i], s, bb, nd, d->np[i], &g[nd->in[0]], &g[i], d->bs[s], &sp))) goto out;
    }
    d->scratch_bytes = sp;
    if (sp) {
        if (!(d->scratch = vs__malloc_aligned(sp))) {
            st = vs__err(VS_ERR_NOMEM, "%s: out of memory (oneDNN scratchpad)", bb->path);
            goto out;
        }
        for (int i = 0; i < bb->n_nodes; i++)
            for (int s = 0; s < d->n_slots; s++)
                if (d->c[i].sp[s]) dnnl_memory_set_data_handle(d->c[i].sp[s], d->scratch);
    }
out:
    if (st) vs__bb_dnnl_free(d);
    else *out = d;
    return st;
}

int vs__bb_dnnl_has(const bb_dnnl *d, int i) { return d && i < d->n_nodes && d->c[i].p[0]; }

void vs__bb_dnnl_begin(bb_dnnl *d) {
    d->gen++;
    d->n_exec = 0;
}

void vs__bb_dnnl_stats(const bb_dnnl *d, int *n_fused, long *n_exec) {
    int nf = 0;
    for (int i = 0; i < d->n_nodes; i++) nf += d->c[i].oq != NULL;
    if (n_fused) *n_fused = nf;
    if (n_exec) *n_exec = d->n_exec;
}

/* The slot that runs frames f.. of an n-frame forward: the max_batch slot, or the
 * binary digits of n (the powers of two, largest first; with vs__bb_dnnl_set_partial(0)
 * n batch-1 calls). The chunk is d->bs[slot] frames. */
static int chunk_slot(const bb_dnnl *d, int n, int f) {
    if (n == d->max_batch) return 0;
    int s = 1;
    while (s < d->n_slots - 1 && n - f < d->bs[s]) s++;
    return s; /* the last slot is batch 1 */
}

/* Convert activation p (n frames at x) unless this forward already did. */
static vs_status convert(bb_dnnl *d, const vs_backbone *bb, int p, dquant *q, const float *x, int n,
                         size_t in_frame) {
    vs_status st = VS_OK;
    const bb_node *nd = &bb->nodes[p];
    const int emul = d->emul && q->kind == VS_PRECISION_INT8;
    if (q->gen == d->gen) return VS_OK;
    for (int f = 0, s = 0; f < n; f += d->bs[s]) {
        s = chunk_slot(d, n, f);
        DCK(dnnl_memory_set_data_handle(q->from[s], (void *)(x + f * in_frame)), "src handle");
        DCK(dnnl_memory_set_data_handle(q->to[s], (char *)q->buf + f * q->frame_bytes), "dst handle");
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, q->from[s]}, {DNNL_ARG_TO, q->to[s]}};
        DCK(dnnl_primitive_execute(q->r[s], d->str, 2, a), "convert");
        if (!emul) continue;
        DCK(dnnl_memory_set_data_handle(q->efrom[s], (char *)q->buf + f * q->frame_bytes), "src handle");
        DCK(dnnl_memory_set_data_handle(q->eto[s], (char *)q->ebuf + f * q->frame_bytes * 4), "dst handle");
        dnnl_exec_arg_t e[2] = {{DNNL_ARG_FROM, q->efrom[s]}, {DNNL_ARG_TO, q->eto[s]}};
        DCK(dnnl_primitive_execute(q->e[s], d->str, 2, e), "dequantise");
    }
    q->gen = d->gen;
out:
    return st;
}

vs_status vs__bb_dnnl_run(bb_dnnl *d, const vs_backbone *bb, int i, float *out, const float *x,
                          int n, size_t in_frame, size_t out_frame) {
    vs_status st = VS_OK;
    const bb_node *nd = &bb->nodes[i];
    dconv *c = &d->c[i];
    if (omp_get_max_threads() != d->n_threads) omp_set_num_threads(d->n_threads);
    dquant *q = d->np[i] != VS_PRECISION_FP32 ? &d->q[QI(nd->in[0], d->np[i])] : NULL;
    if (q && !q->fused && (st = convert(d, bb, nd->in[0], q, x, n, in_frame))) goto out;
    for (int f = 0, s = 0; f < n; f += d->bs[s]) {
        s = chunk_slot(d, n, f);
        const void *src = !q      ? (const void *)(x + f * in_frame)
                          : q->ebuf ? (const void *)((const char *)q->ebuf + f * q->frame_bytes * 4)
                                    : (const void *)((const char *)q->buf + f * q->frame_bytes);
        void *dst = c->oq ? (void *)((char *)c->oq->buf + f * c->oq->frame_bytes) : (void *)(out + f * out_frame);
        DCK(dnnl_memory_set_data_handle(c->src[s], (void *)src), "src handle");
        DCK(dnnl_memory_set_data_handle(c->dst[s], dst), "dst handle");
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, c->src[s]}, {DNNL_ARG_WEIGHTS, c->w[s]},
                                {DNNL_ARG_BIAS, c->b}, {DNNL_ARG_DST, c->dst[s]},
                                {DNNL_ARG_SCRATCHPAD, c->sp[s]}};
        DCK(dnnl_primitive_execute(c->p[s], d->str, c->sp[s] ? 5 : 4, a), "execute");
        d->n_exec++;
    }
    if (c->oq) c->oq->gen = d->gen;
    DCK(dnnl_stream_wait(d->str), "wait");
out:
    return st;
}
#else
#include "bb_dnnl.h"
void vs__bb_dnnl_set_fusion(int on) { (void)on; }
void vs__bb_dnnl_set_partial(int mode) { (void)mode; }
#endif
