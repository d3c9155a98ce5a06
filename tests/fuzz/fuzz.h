/*
 * fuzz.h - shared helpers of the libFuzzer targets in tests/fuzz: the entry point's
 * prototype, a per-process scratch file that the file-based loaders read the input
 * from, and the checksum fix-ups that let mutated inputs get past the FNV-1a checks
 * into the parsers behind them. Header-only (static functions), so each target is
 * one .c file plus either libFuzzer's main or replay_main.c.
 * Not here: any fuzzing logic of its own; the targets decide what to call.
 */
#ifndef VS_FUZZ_H
#define VS_FUZZ_H

#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h" /* vs__fnv1a */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path_buf[4096];

static inline void fuzz_unlink_scratch(void) {
    if (fuzz_path_buf[0]) unlink(fuzz_path_buf);
}

/* Path of this process's scratch file (created once, removed at exit). */
static inline const char *fuzz_scratch_path(void) {
    if (!fuzz_path_buf[0]) {
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir) dir = "/tmp";
        snprintf(fuzz_path_buf, sizeof fuzz_path_buf, "%s/vs_fuzz_XXXXXX", dir);
        int fd = mkstemp(fuzz_path_buf);
        if (fd < 0) {
            perror("fuzz: mkstemp");
            exit(2); /* harness failure, not a finding */
        }
        close(fd);
        atexit(fuzz_unlink_scratch);
    }
    return fuzz_path_buf;
}

/* Write data[size] to the scratch file (truncating it) and return its path. */
static inline const char *fuzz_write(const uint8_t *data, size_t size) {
    const char *p = fuzz_scratch_path();
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: write scratch file");
        exit(2);
    }
    return p;
}

/* With VS_FUZZ_VERBOSE set (replay only: it slows fuzzing), print what a loader
 * said, to check that the seeds load and that variants fail where meant. */
static inline vs_status fuzz_note(const char *what, vs_status st) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("VS_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "  %-24s %s%s%s\n", what, st == VS_OK ? "ok" : vs_strerror(st),
                         st == VS_OK ? "" : ": ", st == VS_OK ? "" : vs_last_error());
    return st;
}

/* A VSTF file (docs/formats.md) ends with the FNV-1a 64 of everything before the
 * last 16 bytes, then "VSTFEND1". If buf looks like one (magic and end marker),
 * rewrite that checksum so the tensor-table parser sees the mutation. Returns 1 if
 * the buffer was a candidate. */
static inline int fuzz_fix_vstf(uint8_t *buf, size_t size) {
    if (size < 56 || memcmp(buf, "VIDSIMTF", 8) != 0 || memcmp(buf + size - 8, "VSTFEND1", 8) != 0)
        return 0;
    uint64_t h = vs__fnv1a(VS__FNV_INIT, buf, size - 16);
    memcpy(buf + size - 16, &h, 8);
    return 1;
}

/* The scratch file holding data[size] with its VSTF checksum rewritten (fuzz_fix_vstf),
 * for the targets whose loaders take a file (models, checkpoints); NULL for inputs over
 * 1 MB or when out of memory (the input is then skipped). */
static inline const char *fuzz_write_vstf(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return NULL;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return NULL;
    memcpy(copy, data, size);
    (void)fuzz_fix_vstf(copy, size);
    const char *path = fuzz_write(copy, size);
    free(copy);
    return path;
}

#endif
