/*
 * backward.c - the backward pass of the training forward (vs_simmodel_forward_batch):
 * from dL/d(similarity matrix) and dL/d(L_reg) back through the masked video Chamfer
 * (training scale Hardtanh/2+0.5), L_reg, the comparator CNN (1x1 conv, ReLU, conv3x3,
 * mask+ReLU+max-pool twice), the region-level Chamfer f2f (through the argmax regions
 * the forward recorded) and the attention, accumulating into a gradient block laid
 * out like the model's parameters. Pairs run in parallel; each worker accumulates its
 * own parameter and feature gradients, which are then summed in worker order.
 * Gradient conventions follow PyTorch: max/max-pool pass the gradient to the first
 * maximum, Hardtanh passes it strictly inside (-1, 1), ReLU strictly above 0.
 */
#include "simmodel/simmodel_internal.h"

#include "nn/nn.h"

#include <math.h>
#include <string.h>

typedef struct bwd_job {
    vs_simmodel_state *st;
    const float *dsims;
    float dreg;
    int n_workers;
} bwd_job;

/* dL/draw of one pair: the masked training-scale Chamfer s = mean_i max_j
 * (hardtanh(raw)/2 + 0.5) times ds, plus dreg * d L_reg / draw. */
static void chamfer_reg_backward(float *draw, const float *raw, int T, int U,
                                 const unsigned char *rm, const unsigned char *cm, float ds,
                                 float dreg) {
    int nrows = 0;
    for (int i = 0; i < T; i++) {
        if (rm && !rm[i]) continue;
        int any = 0;
        for (int j = 0; j < U; j++)
            if (!cm || cm[j]) any = 1;
        nrows += any;
    }
    for (long c = 0; c < (long)T * U; c++) {
        float v = raw[c];
        draw[c] = v < -1.0f ? -dreg : (v > 1.0f ? dreg : 0.0f);
    }
    if (nrows == 0) return;
    const float g = ds * 0.5f / (float)nrows;
    for (int i = 0; i < T; i++) {
        if (rm && !rm[i]) continue;
        const float *v = raw + (long)i * U;
        int at = -1;
        float best = 0.0f;
        for (int j = 0; j < U; j++) {
            if (cm && !cm[j]) continue;
            float x = v[j] < -1.0f ? -1.0f : (v[j] > 1.0f ? 1.0f : v[j]);
            if (at < 0 || x > best) { best = x; at = j; }
        }
        if (at >= 0 && v[at] > -1.0f && v[at] < 1.0f) draw[(long)i * U + at] += g;
    }
}

static void bwd_worker(void *ctx, int wi) {
    bwd_job *j = ctx;
    vs_simmodel_state *st = j->st;
    const vs__simbatch *bt = &st->batch;
    vs__simwork *w = &st->work[wi];
    const vs__simw *P = &st->m->w;
    const int B = bt->B, T = bt->T, R = bt->R, D = bt->D;
    const int T2 = T / 2, T4 = T2 / 2;
    vs__simw G; /* this worker's gradient block, bound like the parameters */
    vs__simw_bind(&G, w->dgrad, D, st->m->attention);
    /* a fixed contiguous share of the pairs per worker (not claimed dynamically), so that
     * each accumulator sums the same pairs in the same order on every run: the result is
     * deterministic for a given thread count (docs/training.md) */
    const int k0 = (int)((long)B * B * wi / j->n_workers), k1 = (int)((long)B * B * (wi + 1) / j->n_workers);
    for (int k = k0; k < k1; k++) {
        float ds = j->dsims ? j->dsims[k] : 0.0f;
        int a = k / B, b = k % B;
        vs__simacts tmp, d;
        const vs__simacts *ac = vs__simmodel_batch_acts(st, a, b, &tmp);
        vs__simacts_bind(&d, w->dbuf, T, T);
        memset(w->dbuf, 0, sizeof(float) * vs__simacts_size(T, T));
        chamfer_reg_backward(d.raw, ac->raw, T4, T4, ac->rm2, ac->cm2, ds, j->dreg);
        /* raw = mask2(fconv(relu3)): masked cells carry no gradient */
        if (ac->rm2 || ac->cm2) vs__mask_apply(d.raw, d.raw, ac->rm2, ac->cm2, T4, T4);
        vs__conv2d_backward(d.relu3, G.fc_w, G.fc_b, NULL, d.raw, ac->relu3, P->fc_w, VS__C3,
                            T4, T4, 1, 1);
        /* relu3 = relu(mask2(conv3)) */
        const long n3 = (long)VS__C3 * T4 * T4;
        for (long c = 0; c < n3; c++) {
            long y = (c / T4) % T4, x = c % T4;
            int ok = ac->conv3[c] > 0.0f && (!ac->rm2 || ac->rm2[y]) && (!ac->cm2 || ac->cm2[x]);
            d.conv3[c] = ok ? d.relu3[c] : 0.0f;
        }
        vs__conv2d_backward(d.pool2, G.c3_w, G.c3_b, w->col, d.conv3, ac->pool2, P->c3_w, VS__C2,
                            T4, T4, VS__C3, 3);
        vs__mask_relu_maxpool2_backward(d.conv2, d.pool2, ac->conv2, ac->rm1, ac->cm1, VS__C2, T2,
                                        T2);
        vs__conv2d_backward(d.pool1, G.c2_w, G.c2_b, w->col, d.conv2, ac->pool1, P->c2_w, VS__C1,
                            T2, T2, VS__C2, 3);
        vs__mask_relu_maxpool2_backward(d.conv1, d.pool1, ac->conv1, ac->rm0, ac->cm0, VS__C1, T,
                                        T);
        vs__conv2d_backward(d.f2f, G.c1_w, G.c1_b, NULL, d.conv1, ac->f2f, P->c1_w, 1, T, T,
                            VS__C1, 3);
        if (ac->rm0 || ac->cm0) vs__mask_apply(d.f2f, d.f2f, ac->rm0, ac->cm0, T, T);
        if (st->m->attention) {
            const size_t vid = (size_t)T * R * D;
            vs__f2f_backward(w->dxi + a * vid, w->dxi + b * vid, d.f2f, T,
                             bt->amax + (size_t)k * T * R * T, bt->xi + a * vid, T,
                             bt->xi + b * vid, T, R, D);
        }
    }
}

vs_status vs__simmodel_backward_batch(vs_simmodel_state *st, float *grad, const float *dsims,
                                      float dreg, const float *x) {
    const vs_simmodel *m = st->m;
    vs__simbatch *bt = &st->batch;
    if (m->kind != VS__SIM_VISIL || !bt->acts || bt->B < 1)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: backward needs a ViSiL forward_batch first");
    const int B = bt->B, T = bt->T, R = bt->R, D = bt->D;
    const size_t N = (size_t)B * T * R;
    const int nw = st->n_work < B * B ? st->n_work : B * B;
    for (int i = 0; i < nw; i++) {
        vs__simwork *w = &st->work[i];
        vs_status s = vs__simgrow(&w->dbuf, &w->dbuf_cap, vs__simacts_size(T, T));
        if (s == VS_OK) {
            size_t c2 = vs__conv2d_backward_col_size(VS__C1, T / 2, T / 2, 3);
            size_t c3 = vs__conv2d_backward_col_size(VS__C2, T / 4, T / 4, 3);
            s = vs__simgrow(&w->col, &w->col_cap, c2 > c3 ? c2 : c3);
        }
        if (s == VS_OK) s = vs__simgrow(&w->dgrad, &w->dgrad_cap, (size_t)m->n_params);
        if (s == VS_OK && m->attention) s = vs__simgrow(&w->dxi, &w->dxi_cap, N * D);
        if (s != VS_OK) return s;
        memset(w->dgrad, 0, sizeof(float) * (size_t)m->n_params);
        if (m->attention) memset(w->dxi, 0, sizeof(float) * N * D);
    }
    bwd_job job = {.st = st, .dsims = dsims, .dreg = dreg, .n_workers = nw};
    vs__simpar_run(nw, bwd_worker, &job);

    /* sum the workers' accumulators into worker 0's, in worker order */
    vs__simwork *w0 = &st->work[0];
    for (int i = 1; i < nw; i++) {
        const vs__simwork *wi = &st->work[i];
        for (long p = 0; p < m->n_params; p++) w0->dgrad[p] += wi->dgrad[p];
        if (m->attention)
            for (size_t p = 0; p < N * D; p++) w0->dxi[p] += wi->dxi[p];
    }
    if (m->attention) {
        /* padded frames were zeroed after the attention: no gradient flows there */
        const unsigned char *m0 = bt->masks;
        for (size_t f = 0; f < (size_t)B * T; f++)
            if (!m0[f]) memset(w0->dxi + f * R * D, 0, sizeof(float) * (size_t)R * D);
        vs__simw G;
        vs__simw_bind(&G, w0->dgrad, D, 1);
        /* scratch for dpre: reuse the pair-gradient buffer if large enough */
        vs_status s = vs__simgrow(&w0->dbuf, &w0->dbuf_cap, N * D);
        if (s != VS_OK) return s;
        vs__visil_attention_backward(NULL, G.att_W, G.att_b, G.att_u, w0->dbuf, w0->dxi, x,
                                     bt->att_a, bt->att_h, m->w.att_W, m->w.att_u, (int)N, D);
    }
    for (long p = 0; p < m->n_params; p++) grad[p] += w0->dgrad[p];
    return VS_OK;
}
