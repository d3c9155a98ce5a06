/*
 * search_print.h - printing shared by `vidsim search` (cmd_search.c, search_clip.c) and
 * `vidsim dedup` (cmd_dedup.c) around the library's search engine. Only tools/cli
 * includes this.
 */
#ifndef VS_CLI_SEARCH_PRINT_H
#define VS_CLI_SEARCH_PRINT_H

#include "cli.h"
#include "vidsim/search.h"

/* A refusal of vs_search_params_check (msg: vs_last_error()) as a usage error of cmd,
 * the field names put as the options that set them ("segments ... not mode hash_only"
 * -> "--segments ... not --hash-only"). Returns 2. */
int cli_search_params_error(const char *cmd, const char *msg);
/* vs_search_params.note: "vidsim CMD: MSG" on stderr; user is the command name. */
void cli_search_note(void *user, const char *msg);
/* Model files found as cli_model_path finds them. */
vs_model_locator cli_models(void);
/* query_id,ref_id,score (or its JSON object). */
void cli_print_row(int jsonl, const char *q, const char *r, float score);
/* One hit with its score's parts (--explain): CSV query_id,ref_id,score,raw,query_level,
 * ref_level, or the same fields in JSON. */
void cli_print_explained(int jsonl, const char *q, const vs_search_hit *h);
/* The rows of one query's result: one per hit, or with segments one per segment. */
void cli_print_result(int jsonl, int segments, const vs_search_result *r);
/* {"query_id": name, "error": msg} for a query that could not be searched. */
void cli_error_row(const char *name, const char *msg);
/* After all results: the skipped entries, one {"ref_id","skipped","error"} row each in
 * JSON Lines, and a list on stderr with the remedy. Returns 1 when that makes the exit
 * status 1 (some were skipped and not allow_partial), else 0. */
int cli_skip_report(const vs_search_skips *l, const char *cmd, vs_index *idx, int jsonl, int allow_partial);
/* The same, with the whitening and int8 calibration files the command was given (NULL:
 * none; `search --pca/--calib`) named in the remedy's `index add` when the index's model
 * uses them; for an int8 index without calib the remedy says the file is not known. */
int cli_skip_report_files(const vs_search_skips *l, const char *cmd, vs_index *idx, int jsonl, int allow_partial,
                          const char *pca, const char *calib);
/* The options search and dedup share (cmd_search.c); top, pca and pos may be NULL for
 * a command without them. Returns 0, or 2 after a usage error. */
/* The --threshold name last parsed by cli_search_parse ("p90", "p95", "p99"), or NULL
 * when it was a number or not given. Named points are measured for normalised ViSiL_f
 * (symmetric) only. */
const char *cli_threshold_name(void);
/* The --temporal last parsed by cli_search_parse (VS_TEMPORAL_DEFAULT when not given). */
float cli_search_temporal(void);
/* --explain's line on stderr: how the scores of sp are made. */
void cli_explain_note(const vs_search_params *sp);
int cli_search_parse(int argc, char **argv, const char *cmd, const char **dir, int *top, double *thr,
                     const char **format, const char **model, const char **pca, int *threads, char **pos, int *npos);
/* Remove every FLAG (no value) from argv; 1 if there was one. */
int cli_take_flag(int *argc, char **argv, const char *flag);

#endif
