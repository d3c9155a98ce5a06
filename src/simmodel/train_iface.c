/*
 * train_iface.c - the narrow training interface of the similarity model
 * (simmodel_train.h): a trainable copy, the parameter block and table for the
 * optimiser core, and the batch backward. Thin adapters over simmodel_internal.h, so
 * the trainer never reads the model's fields. No computation of its own.
 */
#include "simmodel/simmodel_train.h"

#include "simmodel/simmodel_internal.h"

#include <stdio.h>
#include <string.h>

vs_status vs__simmodel_train_copy(vs_simmodel **out, const vs_simmodel *init)
{
    *out = NULL;
    if (!init || init->kind != VS__SIM_VISIL || !init->attention)
        return vs__err(VS_ERR_INVALID_ARG, "train: the initial model must be a ViSiL model with attention");
    vs_simmodel *m;
    vs_status s = vs_simmodel_create_random(&m, init->D, 0);
    if (s != VS_OK) return s;
    memcpy(m->params, init->params, sizeof(float) * (size_t)init->n_params);
    *out = m;
    return VS_OK;
}

float *vs__simmodel_train_params(vs_simmodel *m) { return m ? m->params : NULL; }

int vs__simmodel_train_table(vs__param *tab, const vs_simmodel *m, long frozen)
{
    vs__simparam st[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(st, m->D, m->attention, NULL);
    for (int i = 0; i < n && i < VS__SIM_TRAIN_MAXPARAM; i++) {
        vs__param *e = &tab[i];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", st[i].name);
        e->ndim = st[i].ndim;
        for (int d = 0; d < st[i].ndim; d++) e->dims[d] = st[i].dims[d];
        e->offset = st[i].offset;
        e->numel = st[i].numel;
        /* the attention tensors come first (attention.*), the comparator after */
        int part = strncmp(st[i].name, "attention.", 10) == 0 ? VS__SIM_PART_ATTENTION
                                                              : VS__SIM_PART_COMPARATOR;
        e->frozen = (frozen & part) != 0;
    }
    return n;
}

vs_status vs__simmodel_train_backward(vs_simmodel_state *st, float *grad, const float *dsims,
                                      float dreg, const float *x)
{
    return vs__simmodel_backward_batch(st, grad, dsims, dreg, x);
}
