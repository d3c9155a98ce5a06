/*
 * fuzz_featfile.c - libFuzzer target for the .vsf feature file reader
 * (src/features/featfile.c: vs_features_load, vs_features_load_header). Each input
 * is loaded as given (header only, then in full) and, when it starts with the
 * magic, again with its FNV-1a checksum rewritten, so mutated headers reach the
 * size checks and the mapping of the [T,R,D] data and [T] times. Everything a
 * successful load hands out is read end to end.
 * Not here: the index's use of feature files (the catalogue open path).
 */
#include "fuzz.h"

#include "vidsim/features.h"

#define FF_HASH_OFF 72 /* where the checksum sits in the header (docs/formats.md) */

static void exercise(const char *path, int header_only) {
    vs_features *f = NULL;
    vs_status st = fuzz_note(header_only ? "vs_features_load_header" : "vs_features_load",
                             header_only ? vs_features_load_header(&f, path) : vs_features_load(&f, path));
    if (st != VS_OK) return;
    volatile float sink = 0;
    sink += (float)strlen(f->source) + (float)strnlen(f->model_id, sizeof f->model_id);
    if (!header_only) {
        size_t n = (size_t)f->T * (size_t)f->R * (size_t)f->D;
        for (size_t i = 0; i < n; i++) sink += f->data[i];
        for (int t = 0; t < f->T; t++) sink += f->times[t];
    }
    (void)sink;
    vs_features_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    const char *p = fuzz_write(data, size);
    exercise(p, 1);
    exercise(p, 0);
    /* the checksum covers header bytes [0, 72) and [80, end): the rest of the
     * header, then the data and the times, which must follow it exactly */
    if (size >= 220 && memcmp(data, "VSFEAT01", 8) == 0) {
        uint8_t *copy = malloc(size);
        if (!copy) return 0;
        memcpy(copy, data, size);
        uint64_t h = vs__fnv1a(VS__FNV_INIT, copy, FF_HASH_OFF);
        h = vs__fnv1a(h, copy + FF_HASH_OFF + 8, size - FF_HASH_OFF - 8);
        memcpy(copy + FF_HASH_OFF, &h, 8);
        exercise(fuzz_write(copy, size), 0);
        free(copy);
    }
    return 0;
}
