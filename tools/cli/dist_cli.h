/*
 * dist_cli.h - the commands' runs over several MPI ranks (dist_cli.c, docs/mpi.md):
 * `mpirun -np N vidsim search|index add`; cmd_search.c and index_add.c hand over to
 * these when vs_dist_size() > 1. Only tools/cli includes this.
 */
#ifndef VS_DIST_CLI_H
#define VS_DIST_CLI_H

#include "vidsim/search.h"

/* run_search's work over the ranks' shards: prints on rank 0; returns the exit status. */
int cli_search_dist(const char *dir, char **pos, int npos, const vs_search_params *sp, int jsonl, int segments,
                    int explain, int allow_partial);
/* cli_index_add over the ranks: 1 when the caller (cli_index_add) should run its own body
 * (rank 0 inside cli_index_add_dist), else 0. */
int cli_index_add_leading(void);
int cli_index_add_dist(const char *dir, char **pos, int npos, int jobs, const char *backbone, const char *precision,
                       const char *pca_arg, const char *calib, int raw, double fps, double min_std, int threads,
                       int force, int verbose, const char *hash_model, int no_bg);

#endif
