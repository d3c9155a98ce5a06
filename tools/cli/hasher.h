/*
 * hasher.h - `vidsim index hash` and `index add --hash-model` around the library's
 * vs_hasher (search.h): open the hash model with the CLI's model folders, run the pass
 * that stores every indexed video's code, and print its progress, failures and
 * summary. Only tools/cli includes this.
 */
#ifndef VS_CLI_HASHER_H
#define VS_CLI_HASHER_H

#include "vidsim/search.h"

typedef struct cli_hasher {
    vs_hasher *h;
} cli_hasher;

/* Open the hash model named by spec (vs_hasher_open: NULL = the default file,
 * lsh64|lsh128|lsh256, a file or a name in the models folder). Prints the error as
 * "vidsim CMD: ..." and returns nonzero on failure. */
int cli_hasher_open(cli_hasher *h, const char *cmd, const char *spec, vs_index *idx);
void cli_hasher_close(cli_hasher *h);

/* Compute and store the codes of every ok row lacking them (all rows with force),
 * with jobs threads (vs_hasher_store_codes). idx must be writable. Prints failures
 * and a summary on stderr; returns 0 when every row got its code. */
int cli_hash_index(vs_index *idx, const char *cmd, const cli_hasher *h, int jobs, int force);

#endif
