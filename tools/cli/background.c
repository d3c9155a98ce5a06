/*
 * background.c - the printing around vs_norm_build (norm.h) for `vidsim index
 * background` and the tail of `vidsim index add`: the reference-side background levels
 * that score normalisation (search --norm, docs/search.md) subtracts, stored in the
 * index. Progress on a terminal; Ctrl-C stops after the current video, keeping what
 * was stored.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/norm.h"

#include <stdio.h>
#include <string.h>

static int on_progress(void *user, long done, long total) {
    cli_progress_update(user, (double)done, (double)total, "background");
    return cli_stop_requested();
}

int cli_background_pass(vs_index *idx, const char *cmd, const char *model, int sym, int jobs, int force, int quiet) {
    cli_progress prog;
    cli_progress_init(&prog, "videos");
    vs_norm_params p = vs_norm_default_params();
    vs_norm_build_report r;
    double t0 = cli_now();
    vs_status s = vs_norm_build(idx, model, sym, &p, jobs, force, on_progress, &prog, &r);
    cli_progress_end(&prog);
    if (s != VS_OK) {
        fprintf(stderr, "vidsim %s: background levels: %s\n", cmd, vs_last_error());
        return 1;
    }
    char tw[32] = ""; /* ViSiL_f's temporal weight, which the levels are for */
    if (!strcmp(model, "visil_f")) snprintf(tw, sizeof tw, ", temporal %g", (double)p.temporal);
    if (!quiet || r.n_skipped || r.stopped)
        fprintf(stderr, "%s: background levels (%s%s, %s, %ld members): %ld computed, %ld already stored, %ld skipped "
                        "of %ld videos; frame levels of %ld computed; in %.1f s%s\n",
                vs_index_dir(idx), model, tw, sym ? "sym" : "q2r",
                r.n_members, r.n_computed, r.n_kept, r.n_skipped, r.n_videos, r.n_frames, cli_now() - t0,
                r.stopped ? " (interrupted: run it again to finish)" : "");
    if (r.stopped) return 130;
    return r.n_skipped ? 1 : 0;
}

int cli_index_background(const char *dir, const char *model, int sym, int jobs, int force) {
    vs_index *idx;
    if (vs_index_open(&idx, dir, 0) != VS_OK || vs_index_check_writable(idx) != VS_OK) {
        fprintf(stderr, "vidsim index background: %s\n", vs_last_error());
        vs_index_close(idx);
        return 1;
    }
    cli_stop_guard g;
    cli_stop_begin(&g);
    int rc = cli_background_pass(idx, "index background", model, sym, jobs, force, 0);
    cli_stop_end(&g);
    vs_index_close(idx);
    return rc;
}
