/*
 * index_cli.h - the `vidsim index` subcommands' bodies (index_add.c, index_maint.c),
 * called by the dispatch in cmd_index.c after its option parsing. Each returns the
 * exit status and prints its own messages. Only tools/cli includes this.
 */
#ifndef VS_INDEX_CLI_H
#define VS_INDEX_CLI_H

#include "vidsim/index.h"

#include <stddef.h>

/* Open dir for writing and refuse a damaged catalogue before any work (the library
 * checks again before its first write): 0, or 1 with the message printed. */
int cli_index_open_writer(vs_index **idx, const char *dir, int flags, const char *cmd);
/* backbone, precision: as named on the command line, NULL when not named (then the
 * index's model id decides, or for a new index inception at its default precision).
 * calib: --calib, the int8 calibration file (vs_extract_params.calib_path; NULL: the
 * bundled calib_BACKBONE.vstf next to the weights; not read for another precision). */
int cli_index_add(const char *dir, char **pos, int npos, int jobs, const char *backbone, const char *precision,
                  const char *pca_arg, const char *calib, int raw, double fps, double min_std, int threads, int force,
                  int verbose, const char *hash_model, int no_bg);
/* The backbone (its bundled base name, "inception_v3", into name [n]) and precision
 * (*prec, VS_PRECISION_*) that `index add` extracts with: backbone / precision as named
 * (NULL: not named), else those of index_model (the index's model id; "" for a new
 * index), else inception at vs_backbone_default_precision. A precision not named with
 * a backbone other than the index's is that backbone's default. -1 for an unknown
 * backbone or precision name. */
int cli_index_add_model(const char *index_model, const char *backbone, const char *precision, char *name, size_t n,
                        int *prec);
/* An index made with an earlier bundled whitening (docs/features.md "The learned
 * whitening"): when no option names the model (named 0: no --backbone, --precision,
 * --pca or --raw) and *ex (the bundled files) does not give model_id, *ex becomes the
 * extractor that does (vs_extractor_load_for_model), if there is one; otherwise it is
 * left as it is (the caller reports the mismatch). */
struct vs_extractor;
struct vs_extract_params;
void cli_index_add_follow_model(struct vs_extractor **ex, const char *model_id, int named,
                                const struct vs_extract_params *p);
int cli_index_hash(const char *dir, const char *hash_model, int jobs, int force);
int cli_index_rm(const char *dir, char **pos, int npos);
int cli_index_ls(const char *dir, const char *format);
int cli_index_verify(const char *dir, int repair);
int cli_index_rebuild(const char *dir);
int cli_index_info(const char *dir);
int cli_index_compress(const char *dir, const char *codec, long max_train);
/* `index add --no-compress`: skip vs_index_compress_auto after the adds (set by cmd_index.c). */
extern int cli_index_no_compress;
/* `index add --timing`: print the per-stage breakdown of the extraction (index_add.c). */
extern int cli_index_timing;

#endif
