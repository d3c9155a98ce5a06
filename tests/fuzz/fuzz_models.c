/*
 * fuzz_models.c - libFuzzer target for the model loaders: vs_simmodel_load
 * (ViSiL / ViSiL_f), vs_hashmodel_load (ConMH), vs_clipmodel_load (3D-CSL-F) and
 * vs_backbone_load (the Keras graph text in the "graph" metadata, layer fusion,
 * BN folding and shape inference). All four run on every input, so the corpus holds
 * plain model files and every loader sees every other loader's files too. When the
 * input looks like a VSTF file its checksum is rewritten first: the container
 * itself is fuzzed by fuzz_tensorfile.c, here mutations must reach the metadata,
 * names and shapes the loaders check. A loaded model's accessors are called.
 * Not here: running the models (forward passes) on the loaded weights.
 */
#include "fuzz.h"

#include "vidsim/backbone.h"
#include "vidsim/clipmodel.h"
#include "vidsim/hashmodel.h"
#include "vidsim/simmodel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_vstf(data, size);
    if (!path) return 0;
    volatile long sink = 0;

    vs_simmodel *sm = NULL;
    if (fuzz_note("vs_simmodel_load", vs_simmodel_load(&sm, path)) == VS_OK) {
        sink += (long)strlen(vs_simmodel_kind(sm)) + vs_simmodel_dim(sm) + vs_simmodel_n_params(sm);
        vs_simmodel_free(sm);
    }
    vs_hashmodel *hm = NULL;
    if (fuzz_note("vs_hashmodel_load", vs_hashmodel_load(&hm, path)) == VS_OK) {
        sink += vs_hashmodel_bits(hm) + vs_hashmodel_dim(hm) + vs_hashmodel_frames(hm) +
                vs_hashmodel_n_params(hm) + (long)strlen(vs_hashmodel_id(hm));
        vs_hashmodel_free(hm);
    }
    vs_clipmodel *cm = NULL;
    if (fuzz_note("vs_clipmodel_load", vs_clipmodel_load(&cm, path)) == VS_OK) {
        sink += vs_clipmodel_dim(cm) + vs_clipmodel_n_params(cm) + (long)strlen(vs_clipmodel_id(cm)) +
                vs_clipmodel_n_clips(cm, 40);
        vs_clipmodel_free(cm);
    }
    vs_backbone *bb = NULL;
    if (fuzz_note("vs_backbone_load", vs_backbone_load(&bb, path)) == VS_OK) {
        sink += (long)strlen(vs_backbone_name(bb));
        for (const char *const *t = vs_backbone_tap_names(bb); t && *t; t++) sink += (long)strlen(*t);
        vs_backbone_free(bb);
    }
    (void)sink;
    return 0;
}
