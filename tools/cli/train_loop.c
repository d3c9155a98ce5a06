/*
 * train_loop.c - the training loop of `vidsim train`, `train-hash` and `train-clip`
 * (train_loop.h): steps, progress line, periodic and final checkpoints, SIGINT /
 * SIGTERM through cli_stop_*, --stop-after, and the stop messages. Nothing about any
 * model or data: that is the command's step and save callbacks. Also the loop that
 * fills an augmentation bank and the opening of the training data, shared by `train`
 * and `train-gvec`.
 */
#include "train_loop.h"

#include "cli.h"

#include <string.h>

static void say_error_of(const char *cmd) {
    fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
}

static void say_error(const cli_train_loop *L) {
    say_error_of(L->cmd);
}

cli_train_result cli_train_run(const cli_train_loop *L) {
    const int before = L->style == CLI_TRAIN_STOP_BEFORE_STEP;
    cli_progress pr;
    cli_stop_guard guard;
    cli_progress_init(&pr, L->unit);
    /* SIGINT/SIGTERM: finish the step under way, write the checkpoint, exit 130 */
    cli_stop_begin(&guard);
    long done = L->start;
    int failed = 0, interrupted = 0, stopped = 0;
    while (done < L->total) {
        if (before && cli_stop_requested()) break;
        char what[200] = "";
        if (L->step(L->user, &done, what, sizeof what) != VS_OK) {
            cli_progress_end(&pr);
            say_error(L);
            failed = 1;
            break;
        }
        /* rate and ETA over this run's steps (a resumed run restarts the clock) */
        cli_progress_update(&pr, (double)(done - L->start), (double)(L->total - L->start), what);
        if (done % L->every == 0) {
            if (L->log) fflush(L->log);
            if (done < L->total && L->save(L->user, L->ckpt) != VS_OK) {
                cli_progress_end(&pr);
                say_error(L);
                failed = 1;
                break;
            }
        }
        if (!before && done < L->total) {
            interrupted = cli_stop_requested();
            stopped = L->stop_after > 0 && done - L->start >= L->stop_after;
            if (interrupted || stopped) break;
        }
    }
    cli_progress_end(&pr);
    cli_stop_end(&guard);
    if (failed && !before) return CLI_TRAIN_FAILED;
    /* the last checkpoint: at the end, at a stop, and (train-hash, train-clip) after a
     * failed step too, so the steps before it are kept */
    if (L->log) fflush(L->log);
    if (L->save(L->user, L->ckpt) != VS_OK) {
        say_error(L);
        return CLI_TRAIN_FAILED;
    }
    if (failed) return CLI_TRAIN_FAILED;
    if (before && cli_stop_requested()) {
        fprintf(stderr, "vidsim %s: interrupted at step %ld of %ld; checkpoint %s (continue with --resume)\n",
                L->cmd, done, L->total, L->ckpt);
        return CLI_TRAIN_INTERRUPTED;
    }
    if (interrupted || stopped) {
        fprintf(stderr, "vidsim %s: %s at step %ld of %ld (checkpoint %s; continue with --resume)\n", L->cmd,
                interrupted ? "interrupted" : "stopped", done, L->total, L->ckpt);
        return interrupted ? CLI_TRAIN_INTERRUPTED : CLI_TRAIN_STOPPED;
    }
    return CLI_TRAIN_DONE;
}

int cli_train_exit(cli_train_result r) {
    switch (r) {
    case CLI_TRAIN_FAILED: return 1;
    case CLI_TRAIN_INTERRUPTED: return 130;
    case CLI_TRAIN_DONE:
    case CLI_TRAIN_STOPPED: return 0;
    }
    return 1;
}

int cli_bank_fill(const char *cmd, vs_s2vs_data *data, char *const *paths, int n, int bank) {
    double t0 = cli_now();
    cli_progress pr;
    cli_progress_init(&pr, "videos");
    int nfail = 0;
    for (int i = 0; i < n; i++) {
        char what[300];
        snprintf(what, sizeof what, "%s: %s", bank ? "building the augmentation bank" : "frames",
                 cli_basename(paths[i]));
        cli_progress_update(&pr, i, n, what);
        if (vs_s2vs_data_add_video(data, paths[i]) != VS_OK) {
            cli_progress_end(&pr);
            fprintf(stderr, "vidsim %s: skipped: %s\n", cmd, vs_last_error());
            nfail++;
        }
    }
    cli_progress_end(&pr);
    double dt = cli_now() - t0;
    fprintf(stderr, "vidsim %s: %s of %d videos (%d skipped): %ld backbone frames in %.1f s (%.1f frames/s)\n", cmd,
            bank ? "bank" : "frames", vs_s2vs_data_n_videos(data), nfail, vs_s2vs_data_frames_done(data), dt,
            vs_s2vs_data_frames_done(data) / (dt + 1e-9));
    return nfail;
}

int cli_train_data_open(const char *cmd, cli_train_data *td, const char *bb, const char *pca, int n_threads,
                        int no_overlays, vs_s2vs_data_params *dp) {
    memset(td, 0, sizeof *td);
    vs_extract_params ep = vs_extract_default_params();
    ep.n_threads = n_threads;
    if (vs_extractor_load(&td->ex, bb, pca, &ep) != VS_OK || vs_extract_state_create(&td->est, td->ex) != VS_OK) {
        say_error_of(cmd);
        return 1;
    }
    dp->features = vs_extractor_model_id(td->ex); /* recorded in the bank, checked when one is loaded */
    if (!no_overlays && vs_aug_resources_load(&td->res, NULL, 0, vs_aug_default_emoji_font()) != VS_OK) {
        fprintf(stderr, "vidsim %s: %s (install the fonts with scripts/install_deps.sh, or use --no-overlays)\n", cmd,
                vs_last_error());
        return 1;
    }
    if (vs_aug_state_create(&td->ast, td->res, &dp->aug) != VS_OK ||
        vs_s2vs_data_create(&td->data, dp, td->est, td->ast, VS_REGIONS, vs_extractor_dim(td->ex)) != VS_OK) {
        say_error_of(cmd);
        return 1;
    }
    return 0;
}

void cli_train_data_close(cli_train_data *td) {
    vs_s2vs_data_free(td->data);
    vs_aug_state_free(td->ast);
    vs_aug_resources_free(td->res);
    vs_extract_state_free(td->est);
    vs_extractor_free(td->ex);
    memset(td, 0, sizeof *td);
}
