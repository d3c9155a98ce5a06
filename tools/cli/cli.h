/*
 * cli.h - shared declarations of the CLI: every subcommand's entry point and small
 * helpers (progress line, error reporting). Only tools/ includes this.
 */
#ifndef VS_CLI_H
#define VS_CLI_H

#include "vidsim/vidsim.h"

#include <signal.h>
#include <stdio.h>

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

#include <stddef.h>

/* A growable list of strings. */
typedef struct cli_list { char **v; int n, cap; } cli_list;
void cli_list_free(cli_list *l);
/* Expand inputs: files as given, folders walked recursively (sorted, hidden
 * entries skipped, only names with a video extension). Inside a folder, entries
 * that are not regular files or folders (FIFO, socket, device, dangling symbolic
 * link) are skipped with a note on stderr and never opened. A FIFO, socket or
 * device named directly is refused: an error on stderr naming it, left out of the
 * list, and counted by cli_inputs_refused() so the command exits 1. A folder that
 * yields no file prints why ("DIR: no video files (N files, none with a video
 * extension)"). Returns 0, or -1 when out of memory (then refused too). */
int cli_collect_inputs(cli_list *out, char **inputs, int n);
int cli_is_video_name(const char *name);
/* Same for feature files (*.vsf). */
int cli_collect_features(cli_list *out, char **inputs, int n);
int cli_mkdirs(const char *path);
const char *cli_basename(const char *path);
/* File name without directory and last extension. */
void cli_stem(const char *path, char *out, size_t n);
/* Locate a model file: $VIDSIM_MODELS, ./models, <exe>/../share/vidsim/models,
 * <exe>/../models, <exe>/models, then the install prefix's share/vidsim/models
 * (README "Install"). Writes the best guess to out; returns 0 if it exists. */
int cli_model_path(const char *name, char *out, size_t n);

/* Interruption of long work: between cli_stop_begin and cli_stop_end, SIGINT and
 * SIGTERM only set a flag that cli_stop_requested reports, so the loop can finish
 * its step, save what it has and exit 130. */
typedef struct cli_stop_guard {
    struct sigaction old_int, old_term;
} cli_stop_guard;
void cli_stop_begin(cli_stop_guard *g);
void cli_stop_end(const cli_stop_guard *g);
int cli_stop_requested(void);

/* Monotonic seconds. */
double cli_now(void);
/* Backbone weights and default whitening file for "inception" / "mobilenet". */
int cli_backbone_files(const char *name, char *bb, size_t nbb, char *pca, size_t npca);

/* A JSON string literal (quoted, escaped, ill-formed UTF-8 replaced by U+FFFD: valid
 * JSON for any bytes) and a CSV field (quoted only when it holds , " CR or LF). Every
 * string that goes into JSON output goes through cli_json_str. */
void cli_json_str(FILE *f, const char *s);
void cli_csv_str(FILE *f, const char *s);
/* A number for JSON: printf with fmt ("%.6f" and the like), or null when it is NaN or
 * infinite (JSON has no such numbers). */
void cli_json_num(FILE *f, const char *fmt, double v);

/* cmd_thumbs.c: the frame of video at t seconds as a square PNG of side size, written
 * atomically to png_path; 0, or 1 after a message naming the file and the reason. */
int cli_write_thumb(const char *cmd, const char *video, double t, int size, const char *png_path);

/* The running command as messages name it: "vidsim extract", "vidsim index add".
 * Set once by main before the command runs. */
void cli_set_command(const char *cmd, const char *sub);
const char *cli_command(void);
/* An input the user named was refused (cli_collect_inputs): main turns a 0 exit
 * status into 1 when any was. */
void cli_input_refused(void);
int cli_inputs_refused(void);

/* Background levels for score normalisation (background.c): store the missing ones of
 * an open writable index (force: a new member set, all again); prints a summary on
 * stderr unless quiet (then only when some were skipped or it was interrupted).
 * Returns the exit status (0, 1, 130). */
int cli_background_pass(vs_index *idx, const char *cmd, const char *model, int sym, int jobs, int force, int quiet);
/* `vidsim index background` */
int cli_index_background(const char *dir, const char *model, int sym, int jobs, int force);

/* `vidsim search --model clip[:MODEL]` (search_clip.c): argv as given to cmd_search. */
int cli_search_clip(int argc, char **argv);

/* Usage errors (usage.c, docs/errors.md "Usage errors"). cmd is the command as the
 * user typed it after "vidsim" ("search", "index add"). Each prints ONE line
 * "vidsim CMD: MESSAGE" and "Try 'vidsim CMD --help'." on stderr and returns 2
 * (the exit status), or 0 when the value is good (then *out is set). Numbers are
 * parsed strictly: the whole argument, in [min, max], finite. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value of option argv[*i] (advancing *i), or NULL after "OPT needs a value". */
const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i);
/* "unknown option '-x'" or "unexpected argument 'x'"; returns 2. */
int cli_unknown_option(const char *cmd, const char *arg);
int cli_parse_int(const char *cmd, const char *opt, const char *s, int min, int max, int *out);
int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max, long *out);
int cli_parse_ll(const char *cmd, const char *opt, const char *s, long long min, long long max, long long *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out);
/* min/max may be -HUGE_VAL/HUGE_VAL (no bound); nan and inf are always refused. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, double min, double max, float *out);
/* A finite number > 0. */
int cli_parse_pos_double(const char *cmd, const char *opt, const char *s, double *out);
/* Index of s in choices[n], or -1 after "OPT must be A, B or C, got 'S'". */
int cli_parse_choice(const char *cmd, const char *opt, const char *s, const char *const *choices, int n);
/* An on|off option's value: 1 for "on", 0 for "off", else -1 after the usage error
 * (cli_parse_choice's). */
int cli_parse_onoff(const char *cmd, const char *opt, const char *s);

/* When argv[*i] is one of opts (NULL-terminated: the options that take a value), *v
 * gets its value and *i advances; returns 2 after "OPT needs a value", else 0 (*v NULL
 * when argv[*i] is not in opts). */
int cli_opt_arg(const char *cmd, int argc, char **argv, int *i, const char *const *opts, const char **v);
/* 1 when -h or --help is among argv[1..] (not as the value of one of opts). */
int cli_wants_help(int argc, char **argv, const char *const *opts);
/* `--timing` of extract and index add (util.c): the stage breakdown summed over the
 * extracted videos (vs_extract_stats, seconds of the workers' threads and their share),
 * and the real-time factor = seconds of video / wall seconds of the whole run, on f. */
struct vs_extract_stats;
void cli_print_extract_timing(FILE *f, const char *cmd, const struct vs_extract_stats *sum, long n_videos,
                              double wall_s, int jobs);

#endif
