/*
 * dist_cli.c - `mpirun -np N vidsim search` and `mpirun -np N vidsim index add`: the
 * options' work and the output around the MPI layer (dist.h, docs/mpi.md). Rank 0
 * prints what one process would; the other ranks print only their own errors.
 */
#define _POSIX_C_SOURCE 200809L
#include "dist_cli.h"
#include "index_cli.h"
#include "search_print.h"
#include "vidsim/dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_search_dist(const char *dir, char **pos, int npos, const vs_search_params *sp, int jsonl, int segments,
                    int explain, int allow_partial) {
    vs_index *idx = NULL;
    vs_dist_search *d = NULL;
    char why[2048] = "";
    if (vs_index_open(&idx, dir, VS_INDEX_READONLY) != VS_OK) {
        snprintf(why, sizeof why, "%s", vs_last_error());
        idx = NULL;
    }
    if (vs_dist_search_create(&d, idx, why, sp, allow_partial) != VS_OK) {
        if (vs_dist_rank() == 0) fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        vs_index_close(idx);
        return 1;
    }
    const int lead = vs_dist_rank() == 0;
    if (lead && !jsonl)
        puts(segments ? "query_id,ref_id,query_start,query_end,ref_start,ref_end,score"
                      : explain ? "query_id,ref_id,score,raw,query_level,ref_level" : "query_id,ref_id,score");
    if (lead && explain) cli_explain_note(sp);
    int bad = 0;
    for (int qi = 0; qi < npos; qi++) {
        vs_search_result *r = NULL;
        int failed = vs_dist_search_query(d, pos[qi], &r) != VS_OK;
        if (r && explain) {
            for (long k = 0; k < r->n; k++) cli_print_explained(jsonl, r->query_id, &r->hits[k]);
            failed = r->n_failed > 0;
        } else if (r) {
            cli_print_result(jsonl, segments, r);
            failed = r->n_failed > 0;
        }
        vs_search_result_free(r);
        if (failed) {
            bad++;
            char name[PATH_MAX];
            cli_stem(pos[qi], name, sizeof name);
            if (jsonl && lead) cli_error_row(name, vs_last_error());
        }
    }
    int rc = bad ? 1 : 0;
    int n_missing = 0;
    const char *const *missing = vs_dist_search_missing(d, &n_missing);
    if (lead && n_missing) {
        fflush(stdout);
        fprintf(stderr, "vidsim search: warning: results are partial (--allow-partial): %d of %d shards missing\n",
                n_missing, vs_dist_size());
        for (int i = 0; i < n_missing; i++) fprintf(stderr, "  missing %s\n", missing[i]);
    }
    const vs_search_skips *sk = vs_dist_search_skipped(d);
    if (lead && idx && cli_skip_report_files(sk, "search", idx, jsonl, allow_partial, sp->pca, sp->calib)) rc = 1;
    if (lead && !idx && sk->n > 0) { /* rank 0's own shard is the missing one: the others' list */
        for (long i = 0; i < sk->n; i++)
            fprintf(stderr, "  skipped %s: %s\n", sk->v[i].path ? sk->v[i].path : "?", sk->v[i].why ? sk->v[i].why : "?");
        if (!allow_partial) rc = 1;
    }
    vs_dist_search_free(d);
    vs_index_close(idx);
    return rc;
}

static int leading;

int cli_index_add_leading(void) { return leading; }

int cli_index_add_dist(const char *dir, char **pos, int npos, int jobs, const char *backbone, const char *precision,
                       const char *pca_arg, const char *calib, int raw, double fps, double min_std, int threads,
                       int force, int verbose, const char *hash_model, int no_bg) {
    if (vs_dist_rank() == 0) {
        /* rank 0 runs the command as one process would; its add is vs_dist_index_add */
        leading = 1;
        int rc = cli_index_add(dir, pos, npos, jobs, backbone, precision, pca_arg, calib, raw, fps, min_std, threads,
                               force, verbose, hash_model, no_bg);
        leading = 0;
        vs_dist_index_add_cancel(); /* rank 0 stopped before the add: release the others */
        return rc;
    }
    (void)jobs;
    (void)verbose;
    (void)hash_model;
    (void)no_bg;
    (void)pos;
    (void)npos;
    /* the other ranks: wait for rank 0's writer, then extract their share */
    if (!vs_dist_index_add_wait()) return 1;
    char bb[PATH_MAX], pca[PATH_MAX], bbname[64];
    vs_index *idx = NULL;
    vs_extractor *ex = NULL;
    vs_index_info info;
    if (vs_index_open(&idx, dir, VS_INDEX_READONLY) == VS_OK && vs_index_get_info(idx, &info) == VS_OK) {
        /* the same backbone and precision as rank 0 chose (index_add.c) */
        vs_extract_params p = vs_extract_default_params();
        if (cli_index_add_model(info.model_id, backbone, precision, bbname, sizeof bbname, &p.precision) ||
            cli_backbone_files(bbname, bb, sizeof bb, pca, sizeof pca)) {
            fprintf(stderr, "vidsim index add (rank %d): unknown backbone\n", vs_dist_rank());
        } else {
            if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
            p.decode.fps = fps > 0 ? fps : info.fps > 0 ? info.fps : 1.0;
            p.n_threads = threads;
            p.calib_path = calib; /* --calib: the same calibration as rank 0's (int8 only) */
            if (min_std >= 0) p.min_frame_std = (float)min_std;
            if (vs_extractor_load(&ex, bb, raw ? NULL : pca, &p) != VS_OK) {
                fprintf(stderr, "vidsim index add (rank %d): %s\n", vs_dist_rank(), vs_last_error());
                ex = NULL;
            } else
                cli_index_add_follow_model(&ex, info.model_id, backbone || precision || pca_arg || raw,
                                           &p); /* as rank 0 does */
        }
    } else {
        fprintf(stderr, "vidsim index add (rank %d): %s\n", vs_dist_rank(), vs_last_error());
    }
    vs_batch_params bp = vs_batch_default_params();
    vs_status st = vs_dist_index_add(idx, ex, NULL, 0, force ? VS_INDEX_FORCE : 0, &bp);
    if (st && idx && ex) fprintf(stderr, "vidsim index add (rank %d): %s\n", vs_dist_rank(), vs_last_error());
    vs_extractor_free(ex);
    vs_index_close(idx);
    return st ? 1 : 0;
}
