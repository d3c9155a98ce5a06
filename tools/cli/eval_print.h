/*
 * eval_print.h - the output of `vidsim eval` (eval_print.c). Only tools/cli includes
 * this.
 */
#ifndef VS_CLI_EVAL_PRINT_H
#define VS_CLI_EVAL_PRINT_H

#include "cli.h"
#include "vidsim/eval.h"

/* Print r (or m) on stdout as format "text", "json" or "csv" (the caller checks the
 * flush). Return 0. */
int cli_eval_print_report(const vs_eval_report *r, const char *format);
int cli_eval_print_segment_report(const vs_eval_segment_report *r, const char *format);
int cli_eval_print_metrics(const vs_eval_metrics *m, const char *format);

#endif
