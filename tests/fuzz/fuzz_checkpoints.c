/*
 * fuzz_checkpoints.c - libFuzzer target for the trainers' checkpoint loaders (the one
 * layout of docs/training.md "Checkpoints": parameters, adam.m.* / adam.v.*, train.*
 * metadata, and the layouts written before it): vs_s2vs_trainer_resume,
 * vs_hashtrain_resume (architecture from the checkpoint) and vs_cliptrain_resume. All
 * three run on every input, so each loader also sees the other trainers' files. As in
 * fuzz_models.c, a VSTF input's checksum is rewritten first so that mutations reach
 * the metadata, names and shapes the loaders check. A resumed trainer is queried and
 * freed; it is not stepped (that needs training videos).
 */
#include "fuzz.h"

#include "vidsim/clipmodel.h"
#include "vidsim/hashmodel.h"
#include "vidsim/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_vstf(data, size);
    if (!path) return 0;
    volatile long sink = 0;

    vs_s2vs_trainer *st = NULL;
    if (fuzz_note("vs_s2vs_trainer_resume", vs_s2vs_trainer_resume(&st, path, 1, NULL)) == VS_OK) {
        const char *v = vs_s2vs_trainer_get_meta(st, "seed");
        sink += v ? (long)strlen(v) : 0;
        vs_s2vs_trainer_free(st);
    }
    vs_hashtrain_params hp = vs_hashtrain_default_params(0, 0);
    hp.model.bits = 0; /* the checkpoint's architecture */
    vs_hashtrain *ht = NULL;
    if (fuzz_note("vs_hashtrain_resume", vs_hashtrain_resume(&ht, path, &hp)) == VS_OK) {
        sink += vs_hashtrain_steps_done(ht) + vs_hashtrain_n_videos(ht);
        vs_hashmodel *m = NULL;
        if (vs_hashtrain_model(ht, &m) == VS_OK) sink += vs_hashmodel_bits(m);
        vs_hashmodel_free(m);
        vs_hashtrain_free(ht);
    }
    vs_cliptrain *ct = NULL;
    if (fuzz_note("vs_cliptrain_resume", vs_cliptrain_resume(&ct, path, NULL)) == VS_OK) vs_cliptrain_free(ct);
    (void)sink;
    return 0;
}
