/*
 * dist.h - vidsim over several processes and machines with MPI (OpenMPI): `mpirun -np N
 * vidsim index add|search|dedup` (docs/mpi.md). The library is built with MPI when
 * CMake finds it (option VS_MPI); without it there is one rank (rank 0 of 1), dedup and
 * index add run in this process, the search functions return VS_ERR_UNSUPPORTED, and a
 * program started as several ranks is refused by vs_dist_init instead of running N
 * independent copies that write the same output.
 *
 * The split: index add hands video i (of the sorted list) to rank i % N, the ranks
 * extract and send their features to rank 0, the index's single writer, which commits
 * them in list order (the catalogue is the one a single process makes); search gives
 * each rank the ok references whose position is ≡ rank mod N, exchanges each query's
 * background candidates (the query level needs every score) and merges the ranks' top
 * hits on rank 0; dedup gives each rank the similarity rows i ≡ rank mod N and rank 0
 * makes and sorts the pairs. Results are those of one process, byte for byte.
 *
 * Collective: every rank calls the same functions in the same order (the CLI does);
 * results and callbacks come on rank 0. Not thread-safe: MPI is called from the thread
 * that called vs_dist_init.
 */
#ifndef VIDSIM_DIST_H
#define VIDSIM_DIST_H

#include "vidsim/base.h"
#include "vidsim/batch.h"
#include "vidsim/index.h"
#include "vidsim/search.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this library was built with MPI. */
VS_API int vs_dist_available(void);
/* The number of ranks the launcher (mpirun, srun) started, read from its environment
 * (OMPI_COMM_WORLD_SIZE, PMIX/PMI_SIZE); 1 when not started by one. Works without MPI. */
VS_API int vs_dist_launched_size(void);
/* Start MPI when started by a launcher (else nothing: one process). Without MPI and
 * vs_dist_launched_size() > 1: VS_ERR_UNSUPPORTED with a message saying so. */
VS_API vs_status vs_dist_init(int *argc, char ***argv);
/* This process's rank and the number of ranks (0 and 1 without MPI or a launcher). */
VS_API int vs_dist_rank(void);
VS_API int vs_dist_size(void);
/* End MPI (after vs_dist_init): returns the largest rc of all ranks, which each rank
 * should exit with. One process: rc. */
VS_API int vs_dist_finish(int rc);
/* 1 when ok is non-zero on every rank (collective). */
VS_API int vs_dist_agree(int ok);

/* ---- search over shards */
typedef struct vs_dist_search vs_dist_search;
/* Each rank opens its shard (vs_searcher_create with shard = rank, n_shards = size;
 * exhaustive mode only: VS_ERR_UNSUPPORTED otherwise; VS_ERR_INVALID_ARG when MPI was
 * not started: one process uses vs_searcher_create) over idx (NULL: this rank could
 * not open the index; *why, if given, says why). A rank that fails is a missing shard:
 * without allow_partial every rank returns an error naming the missing shards (rank
 * 0's message: "shard R of N (host H): reason"); with it the search goes on without
 * them and vs_dist_search_missing lists them. */
VS_API vs_status vs_dist_search_create(vs_dist_search **out, vs_index *idx, const char *why,
                                       const vs_search_params *p, int allow_partial);
VS_API void vs_dist_search_free(vs_dist_search *d); /* NULL ok */
/* One query, collective: on rank 0 *out gets the merged result (as vs_searcher_query's
 * over the whole index), elsewhere NULL. A query that fails on any rank fails on all. */
VS_API vs_status vs_dist_search_query(vs_dist_search *d, const char *query, vs_search_result **out);
/* Rank 0: the damaged entries every shard skipped, in catalogue order (owned by d). */
VS_API const vs_search_skips *vs_dist_search_skipped(const vs_dist_search *d);
/* Rank 0: the shards that are missing (allow_partial), as lines "shard R of N: reason";
 * n 0 when complete. Owned by d. */
VS_API const char *const *vs_dist_search_missing(const vs_dist_search *d, int *n);

/* ---- dedup: vs_dedup over the ranks (collective); rank 0 gets the result, the others
 * a result without pairs. */
VS_API vs_status vs_dist_dedup(vs_index *idx, const vs_search_params *p, vs_dedup_result **out);

/* ---- index add: rank 0's files [n] (the others pass NULL, 0 and get rank 0's list)
 * split by i % size; rank 0 passes its writable idx and commits in list order, the
 * others a read-only handle on the same directory (for the unchanged check) and their
 * extractor (NULL: this rank failed, and every rank returns an error). bp->on_item is
 * called on rank 0 for every file as vs_index_add_files does (bp->n_jobs is ignored:
 * one video at a time per rank, ex's threads inside); bp->abort_fn is polled on every
 * rank. Collective. One process: vs_index_add_files. */
VS_API vs_status vs_dist_index_add(vs_index *idx, const vs_extractor *ex, const char *const *files, int n, int flags,
                                   const vs_batch_params *bp);
/* The other ranks wait (vs_dist_index_add_wait: 1) until rank 0 has opened the index for
 * writing and reaches vs_dist_index_add, or returns 0 when rank 0 gave up before
 * (vs_dist_index_add_cancel: rank 0, after a failed check; nothing once the add began). */
VS_API int vs_dist_index_add_wait(void);
VS_API void vs_dist_index_add_cancel(void);

#ifdef __cplusplus
}
#endif

#endif
