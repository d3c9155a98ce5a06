/*
 * simmodel_train.h - the narrow training interface of the similarity model: what a
 * trainer needs (a private trainable copy, its parameter block and table in the
 * optimiser core's type, and the batch backward after vs_simmodel_forward_batch)
 * without the model's structures. src/train includes this instead of
 * simmodel_internal.h; tools/ must not include either.
 */
#ifndef VS_SIMMODEL_TRAIN_H
#define VS_SIMMODEL_TRAIN_H

#include "optim/optim.h"
#include "vidsim/simmodel.h"

/* Parts of the network, for frozen training (the same bits as VS_S2VS_FREEZE_*). */
enum { VS__SIM_PART_ATTENTION = 1, VS__SIM_PART_COMPARATOR = 2 };
/* Entries of a parameter table, at most. */
#define VS__SIM_TRAIN_MAXPARAM 16

/* A private copy of init for training: init must be a ViSiL model with attention
 * (VS_ERR_INVALID_ARG otherwise). Free with vs_simmodel_free. */
vs_status vs__simmodel_train_copy(vs_simmodel **out, const vs_simmodel *init);
/* The writable parameter block of m (vs_simmodel_n_params(m) floats, in the table's
 * order); NULL for a model without parameters. */
float *vs__simmodel_train_params(vs_simmodel *m);
/* m's parameter table (state-dict names, shapes, offsets into the block) into tab
 * [VS__SIM_TRAIN_MAXPARAM]; entries of the parts in `frozen` (VS__SIM_PART_* bits)
 * are marked frozen; every entry takes weight decay. Returns the entry count. */
int vs__simmodel_train_table(vs__param *tab, const vs_simmodel *m, long frozen);
/* Backward of the last vs_simmodel_forward_batch on st: given dL/dsims [B,B] (row =
 * query, training scale) and dL/d(reg_loss), ACCUMULATE dL/dparams into grad (the
 * block's layout). x is the raw input [B,T,R,D] given to the forward. Deterministic
 * for a given thread count of st. */
vs_status vs__simmodel_train_backward(vs_simmodel_state *st, float *grad, const float *dsims,
                                      float dreg, const float *x);

#endif
