/*
 * cli.h - shared declarations of the CLI: every subcommand's entry point and small
 * helpers (progress line, error reporting). Only tools/ includes this.
 */
#ifndef VS_CLI_H
#define VS_CLI_H

#include "vidsim/vidsim.h"

#define VS_CMD(name, fn, help) int fn(int argc, char **argv);
#include "commands.def"
#undef VS_CMD

/* Progress line on a terminal (stderr is a tty), silent otherwise. */
typedef struct cli_progress {
    int enabled;
    double t0, last;
    const char *unit;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *unit);
void cli_progress_update(cli_progress *p, double done, double total, const char *what);
void cli_progress_end(cli_progress *p);

#endif
