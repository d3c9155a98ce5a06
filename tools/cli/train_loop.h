/*
 * train_loop.h - the CLI's one training loop, shared by `train`, `train-hash` and
 * `train-clip`: progress line, periodic checkpoints, SIGINT/SIGTERM (cli_stop_*),
 * --stop-after, the final checkpoint and the messages and exit statuses that go with
 * them. The command supplies one step (which also writes its log line) and the
 * checkpoint writer; it opens and closes its log file and writes the model after.
 */
#ifndef VS_CLI_TRAIN_LOOP_H
#define VS_CLI_TRAIN_LOOP_H

#include "vidsim/vidsim.h"

#include <stddef.h>
#include <stdio.h>

typedef enum {
    /* `train`: the stop flag is read after each step (a stop during the last step
     * lets the run finish); a failed step writes no checkpoint; the stop message is
     * "interrupted|stopped at step N of M (checkpoint F; continue with --resume)" */
    CLI_TRAIN_STOP_AFTER_STEP = 0,
    /* `train-hash`, `train-clip`: the stop flag is read before each step and again at
     * the end; the last checkpoint is written even after a failed step; the message is
     * "interrupted at step N of M; checkpoint F (continue with --resume)" */
    CLI_TRAIN_STOP_BEFORE_STEP = 1,
} cli_train_style;

typedef enum {
    CLI_TRAIN_DONE = 0,        /* every step taken, checkpoint written: write the model */
    CLI_TRAIN_FAILED = 1,      /* error already printed: exit 1 */
    CLI_TRAIN_STOPPED = 2,     /* --stop-after reached, checkpoint written: exit 0 */
    CLI_TRAIN_INTERRUPTED = 3, /* SIGINT/SIGTERM, checkpoint written: exit 130 */
} cli_train_result;

typedef struct cli_train_loop {
    const char *cmd;        /* "train": messages say "vidsim train: ..." */
    const char *unit;       /* progress unit ("steps", "it") */
    cli_train_style style;
    long start;             /* steps done when the loop starts (after --resume) */
    long total;             /* steps of the whole run */
    long every;             /* checkpoint every this many steps (counted from 0) */
    long stop_after;        /* `train --stop-after`: steps of this run, 0 = no limit */
    const char *ckpt;       /* checkpoint path */
    FILE *log;              /* flushed at every checkpoint (may be NULL) */
    void *user;
    /* One step: *done becomes the steps done after it; what (n bytes) gets the progress
     * text. Writes its own log line. A failure returns the vs_status (the loop prints
     * vs_last_error). */
    vs_status (*step)(void *user, long *done, char *what, size_t n);
    vs_status (*save)(void *user, const char *path);
} cli_train_loop;

/* Run the steps from L->start to L->total (see the styles above). */
cli_train_result cli_train_run(const cli_train_loop *L);
/* The exit status of a result that ends the command (FAILED 1, STOPPED 0,
 * INTERRUPTED 130; DONE 0). */
int cli_train_exit(cli_train_result r);

/* Add the videos paths [n] to training data (vs_s2vs_data_add_video), with a progress
 * line on a terminal ("building the augmentation bank: NAME", or "frames: NAME" when
 * bank is 0) and a summary on stderr ("vidsim CMD: bank of N videos (F skipped): ...
 * frames/s"); a video that fails is reported and skipped. Returns the number skipped. */
int cli_bank_fill(const char *cmd, vs_s2vs_data *data, char *const *paths, int n, int bank);

/* The S2VS training data of `train` and `train-gvec`: the extractor of the backbone
 * weights bb and whitening pca (n_threads), its state, the overlay fonts (none with
 * no_overlays), the augmentation state and the data object of *dp; dp->features is set
 * to the extractor's model id first (a bank records it). 0, or 1 after an error on
 * stderr ("vidsim CMD: ..."); close it either way. */
typedef struct cli_train_data {
    vs_extractor *ex;
    vs_extract_state *est;
    vs_aug_resources *res;
    vs_aug_state *ast;
    vs_s2vs_data *data;
} cli_train_data;
int cli_train_data_open(const char *cmd, cli_train_data *td, const char *bb, const char *pca, int n_threads,
                        int no_overlays, vs_s2vs_data_params *dp);
void cli_train_data_close(cli_train_data *td);

#endif
