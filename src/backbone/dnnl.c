/*
 * dnnl.c - optional oneDNN (Debian libdnnl 2.6) path for the backbone's Conv2D and
 * DepthwiseConv2D nodes: one forward-inference convolution primitive per node with
 * NHWC source/destination, weights reordered once (at state creation) into the
 * layout oneDNN picks, bias and ReLU/ReLU6 (eltwise relu / clip 0..6) as post-ops,
 * TF 'same' pads passed as explicit asymmetric pads. Measured ~3x faster than
 * im2col + OpenBLAS on this machine, because oneDNN JITs AVX-512 kernels while
 * OpenBLAS 0.3.21 runs its AVX2 kernels here (docs/backbone.md).
 *
 * Each node gets a primitive for the state's max_batch and one for batch 1; a forward
 * with fewer frames runs the batch-1 primitive per frame (shapes are fixed at
 * creation; nothing is created or allocated in the forward pass, the scratchpad is
 * user-provided). Threads: oneDNN here uses OpenMP; the state's n_threads is applied
 * with omp_set_num_threads() on the calling thread (a per-thread setting).
 * Compiled only with VS_HAVE_DNNL (CMake finds oneDNN); otherwise backbone.c never
 * calls these. Not here: pools/concat/add (ops.c), int8/bf16.
 */
#ifdef VS_HAVE_DNNL
#include "bb_dnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <string.h>

typedef struct {
    dnnl_primitive_t p[2];     /* [0]: batch max_batch, [1]: batch 1 */
    dnnl_memory_t src[2], dst[2], sp[2], w[2], b;
    int w_shared;              /* w[1] is w[0] */
} dconv;

struct bb_dnnl {
    dnnl_engine_t eng;
    dnnl_stream_t str;
    int n_nodes, max_batch, n_threads;
    dconv *c;                  /* [n_nodes] */
    void *scratch;             /* shared user scratchpad */
    size_t scratch_bytes;
};

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
                      const bb_geom *gi, const bb_geom *go, int B, size_t *sp_need) {
    vs_status st = VS_OK;
    const int dw = nd->op == BB_DWCONV;
    dnnl_memory_desc_t sd, dd, wd, wu, bd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_primitive_t reo = NULL;
    dnnl_memory_t wuser = NULL;
    dnnl_dims_t sdims = {B, nd->cin, gi->h, gi->w}, ddims = {B, nd->cout, go->h, go->w};
    DCK(dnnl_memory_desc_init_by_tag(&sd, 4, sdims, dnnl_f32, dnnl_nhwc), "src md");
    DCK(dnnl_memory_desc_init_by_tag(&dd, 4, ddims, dnnl_f32, dnnl_nhwc), "dst md");
    if (dw) { /* ours: [kh, kw, C] -> dims (G=C, 1, 1, KH, KW) */
        dnnl_dims_t wdims = {nd->cout, 1, 1, nd->kh, nd->kw};
        dnnl_dims_t ws = {1, 1, 1, (dnnl_dim_t)nd->kw * nd->cout, nd->cout};
        DCK(dnnl_memory_desc_init_by_tag(&wd, 5, wdims, dnnl_f32, dnnl_format_tag_any), "w md");
        DCK(dnnl_memory_desc_init_by_strides(&wu, 5, wdims, dnnl_f32, ws), "w user md");
    } else { /* ours: [kh, kw, cin, cout] = hwio */
        dnnl_dims_t wdims = {nd->cout, nd->cin, nd->kh, nd->kw};
        DCK(dnnl_memory_desc_init_by_tag(&wd, 4, wdims, dnnl_f32, dnnl_format_tag_any), "w md");
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
    DCK(dnnl_post_ops_create(&po), "post-ops");
    if (nd->act == BB_ACT_RELU)
        DCK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f), "relu");
    else if (nd->act == BB_ACT_RELU6)
        DCK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_clip, 0.f, 6.f), "relu6");
    DCK(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
    DCK(dnnl_primitive_desc_create(&pd, &cd, attr, d->eng, NULL), "primitive desc");
    const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *spq = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sp = spq ? dnnl_memory_desc_get_size(spq) : 0;
    if (sp > *sp_need) *sp_need = sp;
    const dnnl_memory_desc_t *w0 = NULL;
    if (slot == 1 && c->w[0]) DCK(dnnl_memory_get_memory_desc(c->w[0], &w0), "w query");
    if (w0 && dnnl_memory_desc_equal(wq, w0)) {
        c->w[1] = c->w[0];
        c->w_shared = 1;
    } else { /* reorder our weights into oneDNN's layout, once */
        DCK(dnnl_memory_create(&c->w[slot], wq, d->eng, DNNL_MEMORY_ALLOCATE), "w memory");
        DCK(dnnl_memory_create(&wuser, &wu, d->eng, nd->w), "w user memory");
        DCK(dnnl_reorder_primitive_desc_create(&rpd, &wu, d->eng, wq, d->eng, NULL), "reorder");
        DCK(dnnl_primitive_create(&reo, rpd), "reorder");
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wuser}, {DNNL_ARG_TO, c->w[slot]}};
        DCK(dnnl_primitive_execute(reo, d->str, 2, ra), "reorder");
        DCK(dnnl_stream_wait(d->str), "reorder");
    }
    if (!c->b) DCK(dnnl_memory_create(&c->b, &bd, d->eng, nd->b), "bias memory");
    DCK(dnnl_memory_create(&c->src[slot], &sd, d->eng, DNNL_MEMORY_NONE), "src memory");
    DCK(dnnl_memory_create(&c->dst[slot], &dd, d->eng, DNNL_MEMORY_NONE), "dst memory");
    if (sp) DCK(dnnl_memory_create(&c->sp[slot], spq, d->eng, DNNL_MEMORY_NONE), "scratchpad");
    DCK(dnnl_primitive_create(&c->p[slot], pd), "primitive");
out:
    if (reo) dnnl_primitive_destroy(reo);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (wuser) dnnl_memory_destroy(wuser);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

void vs__bb_dnnl_free(bb_dnnl *d) {
    if (!d) return;
    for (int i = 0; d->c && i < d->n_nodes; i++) {
        dconv *c = &d->c[i];
        for (int s = 0; s < 2; s++) {
            if (c->p[s]) dnnl_primitive_destroy(c->p[s]);
            if (c->src[s]) dnnl_memory_destroy(c->src[s]);
            if (c->dst[s]) dnnl_memory_destroy(c->dst[s]);
            if (c->sp[s]) dnnl_memory_destroy(c->sp[s]);
            if (c->w[s] && !(s == 1 && c->w_shared)) dnnl_memory_destroy(c->w[s]);
        }
        if (c->b) dnnl_memory_destroy(c->b);
    }
    vs__free(d->c);
    vs__free_aligned(d->scratch);
    if (d->str) dnnl_stream_destroy(d->str);
    if (d->eng) dnnl_engine_destroy(d->eng);
    vs__free(d);
}

vs_status vs__bb_dnnl_create(bb_dnnl **out, const vs_backbone *bb, const bb_geom *g,
                             int max_batch, int n_threads) {
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
    omp_set_num_threads(n_threads);
    DCK(dnnl_engine_create(&d->eng, dnnl_cpu, 0), "engine");
    DCK(dnnl_stream_create(&d->str, d->eng, dnnl_stream_default_flags), "stream");
    size_t sp = 0;
    for (int i = 0; i < bb->n_nodes; i++) {
        nd = &bb->nodes[i];
        if (nd->op != BB_CONV && nd->op != BB_DWCONV) continue;
        if ((st = make(d, &d->c[i], 0, bb, nd, &g[nd->in[0]], &g[i], max_batch, &sp))) goto out;
        if (max_batch > 1 &&
            (st = make(d, &d->c[i], 1, bb, nd, &g[nd->in[0]], &g[i], 1, &sp)))
            goto out;
    }
    d->scratch_bytes = sp;
    if (sp) {
        if (!(d->scratch = vs__malloc_aligned(sp))) {
            st = vs__err(VS_ERR_NOMEM, "%s: out of memory (oneDNN scratchpad)", bb->path);
            goto out;
        }
        for (int i = 0; i < bb->n_nodes; i++)
            for (int s = 0; s < 2; s++)
                if (d->c[i].sp[s]) dnnl_memory_set_data_handle(d->c[i].sp[s], d->scratch);
    }
out:
    if (st) vs__bb_dnnl_free(d);
    else *out = d;
    return st;
}

int vs__bb_dnnl_has(const bb_dnnl *d, int i) { return d && i < d->n_nodes && d->c[i].p[0]; }

vs_status vs__bb_dnnl_run(bb_dnnl *d, const vs_backbone *bb, int i, float *out, const float *x,
                          int n, size_t in_frame, size_t out_frame) {
    vs_status st = VS_OK;
    const bb_node *nd = &bb->nodes[i];
    dconv *c = &d->c[i];
    int slot = n == d->max_batch ? 0 : 1, reps = slot ? n : 1;
    if (omp_get_max_threads() != d->n_threads) omp_set_num_threads(d->n_threads);
    for (int f = 0; f < reps; f++) {
        DCK(dnnl_memory_set_data_handle(c->src[slot], (void *)(x + f * in_frame)), "src handle");
        DCK(dnnl_memory_set_data_handle(c->dst[slot], out + f * out_frame), "dst handle");
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, c->src[slot]}, {DNNL_ARG_WEIGHTS, c->w[slot]},
                                {DNNL_ARG_BIAS, c->b}, {DNNL_ARG_DST, c->dst[slot]},
                                {DNNL_ARG_SCRATCHPAD, c->sp[slot]}};
        DCK(dnnl_primitive_execute(c->p[slot], d->str, c->sp[slot] ? 5 : 4, a), "execute");
    }
    DCK(dnnl_stream_wait(d->str), "wait");
out:
    return st;
}
#else
typedef int vs__bb_dnnl_unused; /* ISO C: no empty translation unit */
#endif
