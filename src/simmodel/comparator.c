/*
 * comparator.c - the ViSiL video comparator CNN (S2VS VideoComparator, batch_norm=False,
 * pooling=True) on one frame-to-frame similarity map, with the reference's masks:
 *   mask -> zero pad 1 -> conv3x3 1->32 (+b) -> mask -> ReLU -> maxpool 2x2 (mask pooled)
 *        -> zero pad 1 -> conv3x3 32->64 -> mask -> ReLU -> maxpool
 *        -> zero pad 1 -> conv3x3 64->128 -> mask -> ReLU -> conv1x1 128->1 -> mask
 * Raw conv outputs are kept in the activation block (the backward pass and the parity
 * fixture need them); mask+ReLU+pool are fused so the activated maps are not stored.
 * Hardtanh and the final Chamfer are the caller's (forward.c).
 */
#include "simmodel/simmodel_internal.h"

#include "nn/nn.h"

#include <string.h>

/* Round up to 16 floats so every sub-buffer stays 64-byte aligned. */
static size_t al16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t vs__simacts_size(int T, int U) {
    size_t TU = (size_t)T * U, T2U2 = (size_t)(T / 2) * (U / 2),
           T4U4 = (size_t)(T / 2 / 2) * (size_t)(U / 2 / 2);
    return al16(TU) + al16(VS__C1 * TU) + al16(VS__C1 * T2U2) + al16(VS__C2 * T2U2) +
           al16(VS__C2 * T4U4) + 2 * al16(VS__C3 * T4U4) + al16(T4U4);
}

void vs__simacts_bind(vs__simacts *a, float *base, int T, int U) {
    memset(a, 0, sizeof *a);
    a->T = T;
    a->U = U;
    a->T2 = T / 2;
    a->U2 = U / 2;
    a->T4 = a->T2 / 2;
    a->U4 = a->U2 / 2;
    size_t TU = (size_t)T * U, T2U2 = (size_t)a->T2 * a->U2, T4U4 = (size_t)a->T4 * a->U4;
    float *p = base;
    a->f2f = p;   p += al16(TU);
    a->conv1 = p; p += al16(VS__C1 * TU);
    a->pool1 = p; p += al16(VS__C1 * T2U2);
    a->conv2 = p; p += al16(VS__C2 * T2U2);
    a->pool2 = p; p += al16(VS__C2 * T4U4);
    a->conv3 = p; p += al16(VS__C3 * T4U4);
    a->relu3 = p; p += al16(VS__C3 * T4U4);
    a->raw = p;
}

size_t vs__simcomp_col_size(int T, int U) {
    int T2 = T / 2, U2 = U / 2;
    size_t c2 = vs__conv2d_col_size(VS__C1, T2, U2, 3);
    size_t c3 = vs__conv2d_col_size(VS__C2, T2 / 2, U2 / 2, 3);
    return c2 > c3 ? c2 : c3;
}

void vs__comparator_forward(vs__simacts *a, float *col, const vs__simw *w) {
    const int T = a->T, U = a->U, T2 = a->T2, U2 = a->U2, T4 = a->T4, U4 = a->U4;
    /* conv1 [32,T,U] on the (masked) f2f map; padding = the conv's zero pad */
    vs__conv2d_forward(a->conv1, NULL, a->f2f, w->c1_w, w->c1_b, 1, T, U, VS__C1, 3);
    /* pool1 [32,T2,U2] = maxpool(relu(mask0(conv1))) */
    vs__mask_relu_maxpool2_forward(a->pool1, a->conv1, a->rm0, a->cm0, VS__C1, T, U);
    /* conv2 [64,T2,U2] */
    vs__conv2d_forward(a->conv2, col, a->pool1, w->c2_w, w->c2_b, VS__C1, T2, U2, VS__C2, 3);
    /* pool2 [64,T4,U4] = maxpool(relu(mask1(conv2))) */
    vs__mask_relu_maxpool2_forward(a->pool2, a->conv2, a->rm1, a->cm1, VS__C2, T2, U2);
    /* conv3 [128,T4,U4], relu3 = relu(mask2(conv3)) */
    vs__conv2d_forward(a->conv3, col, a->pool2, w->c3_w, w->c3_b, VS__C2, T4, U4, VS__C3, 3);
    vs__mask_relu_forward(a->relu3, a->conv3, a->rm2, a->cm2, VS__C3, T4, U4);
    /* raw [T4,U4] = fconv 1x1 128->1, then mask2 */
    vs__conv2d_forward(a->raw, NULL, a->relu3, w->fc_w, w->fc_b, VS__C3, T4, U4, 1, 1);
    if (a->rm2 || a->cm2) vs__mask_apply(a->raw, a->raw, a->rm2, a->cm2, T4, U4);
}
