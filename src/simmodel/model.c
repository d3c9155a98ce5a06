/*
 * model.c - the similarity model object: its parameter table (state-dict names, shapes,
 * offsets into one contiguous float block), loading and saving as VSTF with shape
 * validation, the builtin "visil_f" baseline, and the reference initialisation
 * (xavier-uniform weights, zero biases) for random models.
 * Not here: the forward pass (forward.c), training.
 */
#include "simmodel/simmodel_internal.h"
#include "nn/nn.h"

#include "core/tensorfile.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const PNAMES[VS__SIM_NPARAM] = {
    "attention.transform.weight", "attention.transform.bias", "attention.context_vector.weight",
    "visil_head.conv1.weight",    "visil_head.conv1.bias",    "visil_head.conv2.weight",
    "visil_head.conv2.bias",      "visil_head.conv3.weight",  "visil_head.conv3.bias",
    "visil_head.fconv.weight",    "visil_head.fconv.bias",
};

int vs__simmodel_param_table(vs__simparam *tab, int D, int attention, long *total) {
    const int64_t dims[VS__SIM_NPARAM][4] = {
        {D, D},           {D},      {1, D},           {VS__C1, 1, 3, 3}, {VS__C1},
        {VS__C2, VS__C1, 3, 3}, {VS__C2}, {VS__C3, VS__C2, 3, 3}, {VS__C3},
        {1, VS__C3, 1, 1}, {1},
    };
    const int nd[VS__SIM_NPARAM] = {2, 1, 2, 4, 1, 4, 1, 4, 1, 4, 1};
    int n = 0;
    long off = 0;
    for (int i = attention ? 0 : 3; i < VS__SIM_NPARAM; i++) {
        vs__simparam *p = &tab[n++];
        p->name = PNAMES[i];
        p->ndim = nd[i];
        p->numel = 1;
        for (int d = 0; d < 4; d++) {
            p->dims[d] = d < nd[i] ? dims[i][d] : 0;
            if (d < nd[i]) p->numel *= (long)dims[i][d];
        }
        p->offset = off;
        off += p->numel;
    }
    if (total) *total = off;
    return n;
}

void vs__simw_bind(vs__simw *w, float *block, int D, int attention) {
    vs__simparam tab[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(tab, D, attention, NULL);
    float **slots[VS__SIM_NPARAM] = {&w->att_W, &w->att_b, &w->att_u, &w->c1_w,
                                     &w->c1_b,  &w->c2_w,  &w->c2_b,  &w->c3_w,
                                     &w->c3_b,  &w->fc_w,  &w->fc_b};
    memset(w, 0, sizeof *w);
    int first = attention ? 0 : 3;
    for (int i = 0; i < n; i++) *slots[first + i] = block + tab[i].offset;
}

static vs_status model_alloc(vs_simmodel **out, int D, int attention) {
    vs_simmodel *m = vs__calloc(1, sizeof *m);
    if (!m) return vs__err(VS_ERR_NOMEM, "simmodel: out of memory");
    m->kind = VS__SIM_VISIL;
    m->D = attention ? D : 0;
    m->attention = attention;
    vs__simparam tab[VS__SIM_NPARAM];
    vs__simmodel_param_table(tab, D, attention, &m->n_params);
    m->params = vs__malloc_aligned(sizeof(float) * (size_t)m->n_params);
    if (!m->params) {
        long n = m->n_params;
        vs__free(m);
        return vs__err(VS_ERR_NOMEM, "simmodel: out of memory for %ld parameters", n);
    }
    vs__simw_bind(&m->w, m->params, D, attention);
    *out = m;
    return VS_OK;
}

void vs_simmodel_free(vs_simmodel *m) {
    if (!m) return;
    vs__free_aligned(m->params);
    vs__free(m);
}

vs_status vs_simmodel_builtin(vs_simmodel **out, const char *name) {
    *out = NULL;
    if (!name || strcmp(name, "visil_f") != 0)
        return vs__err(VS_ERR_INVALID_ARG, "simmodel: unknown builtin model '%s' (known: visil_f)",
                       name ? name : "(null)");
    vs_simmodel *m = vs__calloc(1, sizeof *m);
    if (!m) return vs__err(VS_ERR_NOMEM, "simmodel: out of memory");
    m->kind = VS__SIM_VISIL_F;
    *out = m;
    return VS_OK;
}

/* splitmix64: a tiny seeded generator, enough for an initialisation. */
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

vs_status vs_simmodel_create_random(vs_simmodel **out, int D, uint64_t seed) {
    *out = NULL;
    if (D <= 0) return vs__err(VS_ERR_INVALID_ARG, "simmodel: D must be positive, got %d", D);
    vs_status st = model_alloc(out, D, 1);
    if (st != VS_OK) return st;
    vs__simparam tab[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(tab, D, 1, NULL);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        float *p = (*out)->params + tab[i].offset;
        if (tab[i].ndim == 1) { /* biases: zero */
            memset(p, 0, sizeof(float) * (size_t)tab[i].numel);
            continue;
        }
        /* xavier-uniform: fan_in = in * receptive, fan_out = out * receptive */
        long rf = tab[i].ndim == 4 ? (long)(tab[i].dims[2] * tab[i].dims[3]) : 1;
        double fan_in = (double)tab[i].dims[1] * rf, fan_out = (double)tab[i].dims[0] * rf;
        double bound = sqrt(6.0 / (fan_in + fan_out));
        for (long k = 0; k < tab[i].numel; k++) {
            double u = (double)(splitmix(&s) >> 11) * (1.0 / 9007199254740992.0);
            p[k] = (float)((2.0 * u - 1.0) * bound);
        }
    }
    return VS_OK;
}

vs_status vs_simmodel_create_chamfer_init(vs_simmodel **out, int D, uint64_t seed) {
    vs_status st = vs_simmodel_create_random(out, D, seed);
    if (st != VS_OK) return st;
    vs_simmodel *m = *out;
    vs__simw *w = &m->w;
    /* attention: u = 0 -> a = sigmoid(0) = 1/2 on every region. W keeps its random
     * (xavier) values and b is 0: with W = 0 as well, dL/du = tanh(Wx + b) = 0 and
     * dL/dW, dL/db are multiples of u = 0, a stationary point attention never leaves. */
    memset(w->att_b, 0, sizeof(float) * (size_t)D);
    memset(w->att_u, 0, sizeof(float) * (size_t)D);
    /* channel 0 of every layer is an identity path: conv centre tap 1 from channel 0
     * only; the other channels keep their random weights but the 1x1 output conv reads
     * only channel 0 (weight 4 = 1 / (1/2 * 1/2), undoing the attention's scaling) */
    for (int k = 0; k < 9; k++) w->c1_w[k] = k == 4 ? 1.0f : 0.0f;
    for (int c = 0; c < VS__C1; c++)
        for (int k = 0; k < 9; k++) w->c2_w[c * 9 + k] = (c == 0 && k == 4) ? 1.0f : 0.0f;
    for (int c = 0; c < VS__C2; c++)
        for (int k = 0; k < 9; k++) w->c3_w[c * 9 + k] = (c == 0 && k == 4) ? 1.0f : 0.0f;
    for (int c = 0; c < VS__C3; c++) w->fc_w[c] = c == 0 ? 4.0f : 0.0f;
    return VS_OK;
}

vs_status vs_simmodel_load(vs_simmodel **out, const char *path) {
    *out = NULL;
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st != VS_OK) return st;
    const char *kind = vs__tf_meta(tf, "simmodel.kind");
    if (kind && strcmp(kind, "visil_f") == 0) {
        vs__tf_close(tf);
        return vs_simmodel_builtin(out, "visil_f");
    }
    if (kind && strcmp(kind, "visil") != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: simmodel.kind is '%s', expected 'visil' or 'visil_f'",
                     path, kind);
        goto out_close;
    }
    /* D from attention.transform.weight; attention is all-or-nothing. */
    int n_att = 0;
    for (int i = 0; i < 3; i++) n_att += vs__tf_find(tf, PNAMES[i]) != NULL;
    if (n_att != 0 && n_att != 3) {
        st = vs__err(VS_ERR_FORMAT, "%s: tensor '%s' missing (attention needs all three tensors)",
                     path, !vs__tf_find(tf, PNAMES[0]) ? PNAMES[0]
                           : !vs__tf_find(tf, PNAMES[1]) ? PNAMES[1] : PNAMES[2]);
        goto out_close;
    }
    int attention = n_att == 3, D = 0;
    if (attention) {
        const vs__tensor *t;
        int64_t any2[2] = {-1, -1};
        st = vs__tf_get(tf, PNAMES[0], VS_DT_F32, 2, any2, &t);
        if (st != VS_OK) goto out_close;
        if (t->dims[0] != t->dims[1] || t->dims[0] <= 0 || t->dims[0] > 65536) {
            st = vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has shape [%lldx%lld], expected [DxD]",
                         path, PNAMES[0], (long long)t->dims[0], (long long)t->dims[1]);
            goto out_close;
        }
        D = (int)t->dims[0];
    }
    vs_simmodel *m = NULL;
    st = model_alloc(&m, D, attention);
    if (st != VS_OK) goto out_close;
    vs__simparam tab[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(tab, D, attention, NULL);
    for (int i = 0; i < n; i++) {
        const vs__tensor *t;
        st = vs__tf_get(tf, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims, &t);
        if (st != VS_OK) goto out_free;
        const float *src = t->data;
        for (long k = 0; k < tab[i].numel; k++)
            if (!isfinite(src[k])) {
                st = vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has a non-finite value at %ld", path,
                             tab[i].name, k);
                goto out_free;
            }
        memcpy(m->params + tab[i].offset, src, sizeof(float) * (size_t)tab[i].numel);
    }
    vs__tf_close(tf);
    *out = m;
    return VS_OK;
out_free:
    vs_simmodel_free(m);
out_close:
    vs__tf_close(tf);
    return st;
}

vs_status vs_simmodel_save(const vs_simmodel *m, const char *path) {
    vs__tfw *w;
    vs_status st = vs__tfw_create(&w);
    if (st != VS_OK) return st;
    char dbuf[32];
    snprintf(dbuf, sizeof dbuf, "%d", m->D);
    st = vs__tfw_meta(w, "simmodel.kind", m->kind == VS__SIM_VISIL_F ? "visil_f" : "visil");
    if (st == VS_OK) st = vs__tfw_meta(w, "simmodel.D", dbuf);
    if (st == VS_OK && m->kind == VS__SIM_VISIL) {
        vs__simparam tab[VS__SIM_NPARAM];
        int n = vs__simmodel_param_table(tab, m->D, m->attention, NULL);
        for (int i = 0; i < n && st == VS_OK; i++)
            st = vs__tfw_add(w, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims,
                             m->params + tab[i].offset);
    }
    if (st == VS_OK) st = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return st;
}

const char *vs_simmodel_kind(const vs_simmodel *m) {
    return m->kind == VS__SIM_VISIL_F ? "visil_f" : "visil";
}
int vs_simmodel_dim(const vs_simmodel *m) { return m->D; }
long vs_simmodel_n_params(const vs_simmodel *m) { return m->n_params; }

int vs_simmodel_default_precision(void) {
    return vs__gemm_bf16_available() ? VS_PRECISION_BF16 : VS_PRECISION_FP32;
}

vs_simmodel_params vs_simmodel_default_params(void) {
    vs_simmodel_params p;
    memset(&p, 0, sizeof p);
    p.n_threads = 1;
    p.target_chunk = 0;
    p.gemm_chunk = 2L << 20;
    p.band_floats = 16L << 20;
    return p;
}
