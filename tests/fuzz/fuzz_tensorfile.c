/*
 * fuzz_tensorfile.c - libFuzzer target for the VSTF named-tensor reader
 * (src/core/tensorfile.c: vs__tf_open and its accessors), the container of every
 * model, backbone, PCA and checkpoint file. Each input is opened twice: as given
 * (magic, size, end marker and checksum checks) and, when it looks like a VSTF
 * file, with its checksum rewritten, so mutations reach the header and tensor-table
 * parser. Every tensor handed out is read end to end (a bad offset or size shows as
 * a crash), and the metadata and lookups are exercised.
 * Not here: what the model loaders do with the tensors (fuzz_models.c).
 */
#include "fuzz.h"

#include "core/tensorfile.h"

static void exercise(const char *path) {
    vs__tf *tf = NULL;
    if (fuzz_note("vs__tf_open", vs__tf_open(&tf, path)) != VS_OK) return;
    volatile uint8_t sink = 0;
    int n = vs__tf_count(tf);
    for (int i = 0; i < n; i++) {
        const vs__tensor *t = vs__tf_at(tf, i);
        const uint8_t *p = t->data;
        for (uint64_t k = 0; k < t->nbytes; k++) sink ^= p[k];
        sink ^= (uint8_t)strlen(t->name);
        if (vs__tf_find(tf, t->name) == NULL) abort(); /* a listed tensor must be found */
        const vs__tensor *got = NULL;
        int64_t dims[VS_TF_MAX_DIMS];
        for (int d = 0; d < VS_TF_MAX_DIMS; d++) dims[d] = d < t->ndim ? t->dims[d] : -1;
        (void)vs__tf_get(tf, t->name, t->dtype, t->ndim, dims, &got);
        (void)vs__tf_get(tf, t->name, VS_DT_F32, 2, NULL, &got); /* shape mismatch message */
    }
    (void)vs__tf_meta(tf, "model");
    (void)vs__tf_meta(tf, "graph");
    for (int i = 0; i < vs__tf_meta_count(tf); i++) { /* the iterator over every pair */
        const char *k, *v;
        if (vs__tf_meta_at(tf, i, &k, &v) == 0) sink ^= (uint8_t)(k[0] ^ v[0]);
    }
    (void)vs__tf_find(tf, "no such tensor");
    (void)sink;
    vs__tf_close(tf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    exercise(fuzz_write(data, size));
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (fuzz_fix_vstf(copy, size)) exercise(fuzz_write(copy, size));
    free(copy);
    return 0;
}
