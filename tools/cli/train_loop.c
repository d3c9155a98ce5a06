/*
 * train_loop.c - the training loop of `vidsim train`, `train-hash` and `train-clip`
 * (train_loop.h): steps, progress line, periodic and final checkpoints, SIGINT /
 * SIGTERM through cli_stop_*, --stop-after, and the stop messages. Nothing about any
 * model or data: that is the command's step and save callbacks. Also the loop that
 * fills an augmentation bank, shared by `train` and `train-gvec`.
 */
#include "train_loop.h"

#include "cli.h"

static void say_error(const cli_train_loop *L) {
    fprintf(stderr, "vidsim %s: %s\n", L->cmd, vs_last_error());
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
