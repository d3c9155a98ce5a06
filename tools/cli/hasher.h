/*
 * hasher.h - the CLI's hash "model" for two-stage search and `vidsim index hash`:
 * either a trained ConMH model file (hashmodel.h) or the training-free LSH baseline
 * (lsh64, lsh128, lsh256; hamming.h), behind one encode call, plus the pass that
 * computes and stores the codes of every indexed video that lacks them. Only
 * tools/cli includes this.
 */
#ifndef VS_CLI_HASHER_H
#define VS_CLI_HASHER_H

#include "vidsim/features.h"
#include "vidsim/hamming.h"
#include "vidsim/index.h"

#define CLI_HASH_KIND "hash" /* extras kind of stored codes */
#define CLI_HASH_DEFAULT "conmh_64.vstf" /* default model, looked up like other models */

typedef struct cli_hasher {
    vs_hamming_lsh *lsh;   /* LSH baseline, or NULL */
    void *model;           /* vs_hashmodel *, or NULL */
    int bits;
    char id[128];          /* model id stored with the codes */
    char spec[4096];       /* as given (or the default file found) */
} cli_hasher;

/* Open the hash model named by spec (NULL: the default file; "lsh64|lsh128|lsh256":
 * the LSH baseline over the index's feature dimension, read from its first ok row;
 * otherwise a model file, or a name looked up in the models folder). Prints the
 * error as "vidsim CMD: ..." and returns nonzero on failure. */
int cli_hasher_open(cli_hasher *h, const char *cmd, const char *spec, vs_index *idx);
void cli_hasher_close(cli_hasher *h);
/* code [bits/64] of features f. Thread-safe. Returns vs_status (message set). */
vs_status cli_hasher_encode(const cli_hasher *h, uint64_t *code, const vs_features *f);

/* Compute and store the codes of every ok row lacking them (all rows with force),
 * with jobs threads, committing every 256 videos. idx must be writable. Prints a
 * summary on stderr; returns 0 when every row got its code. */
int cli_hash_index(vs_index *idx, const char *cmd, const cli_hasher *h, int jobs, int force);

#endif
