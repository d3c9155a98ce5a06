/*
 * cmd_index.c - `vidsim index add|rm|ls|verify|rebuild|info|hash|background|compress --index
 * DIR ...`: the subcommands' usage (each prints only its own with --help), option
 * parsing with one-line usage errors, and dispatch to their bodies (index_add.c:
 * add and hash; index_maint.c: rm, ls, verify, rebuild, info; background.c). Writers
 * refuse a damaged catalogue up front. Formats: docs/index.md. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "hasher.h"
#include "vidsim/batch.h"
#include "vidsim/features.h"
#include "vidsim/index.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "index_cli.h"

static const struct { const char *name, *text; } subs[] = {
    {"add", "  add PATH...        add videos (files or folders, walked recursively); unchanged files are skipped\n"
            "                     (unless their feature file in the index is damaged: then re-extracted)\n"
            "      -j N           videos in parallel (default: number of cores)\n"
            "      --backbone B   inception or mobilenet (default: the index's, else inception)\n"
            "      --precision P  fp32, int8 or bf16 backbone (default: the index's, from its model id; for a\n"
            "                     new index int8 for inception on a CPU with VNNI/AMX, else fp32); one that\n"
            "                     differs from the index's is refused\n"
            "      --pca FILE     whitening file (default: the bundled one for the backbone)\n"
            "      --calib FILE   int8 calibration (default: the bundled models/calib_BACKBONE.vstf;\n"
            "                     `vidsim calibrate` makes one); part of an int8 index's model id: name the\n"
            "                     same file on every later add to that index\n"
            "      --raw          un-whitened region vectors (no whitening file needed)\n"
            "      --fps F        frames sampled per second (default: the index's, else 1)\n"
            "      --min-frame-std S  leave out frames whose luma std is below S (default 2; 0 keeps all)\n"
            "      --threads N    backbone threads per video (default 1)\n"
            "      --force        re-extract even if unchanged\n"
            "      -v             print \"added|replaced|unchanged|failed PATH\" on stdout as each video is committed\n"
            "      --hash-model M then store every video's hash code, as `index hash`\n"
            "      --no-background  do not store the added videos' background levels (as `index\n"
            "                     background` does by default after an add; search computes missing ones)\n"
            "      --no-compress  do not compress the features once the index is big enough (docs/compression.md)\n"
            "      --timing       where the extraction time went on stderr: decode+convert, preprocess,\n"
            "                     backbone, pool+pca, write (check, save, commit); seconds of video per wall second\n"},
    {"rm", "  rm PATH|NAME...    remove videos by path or by name (file name without extension)\n"},
    {"ls", "  ls [--format csv|jsonl]   list the catalogue (csv with a header row by default)\n"},
    {"verify", "  verify [--repair]  check the catalogue (SQLite integrity check) and every row's feature file,\n"
               "                     report orphans and temp files; --repair removes bad rows and deletes orphans\n"},
    {"rebuild", "  rebuild            write a new catalogue from the feature files in DIR/features, for a damaged\n"
                "                     catalogue (which add, rm, hash and verify --repair refuse to write to); the\n"
                "                     old one is kept as DIR/catalogue.sqlite.damaged-<UTC time>, feature files that\n"
                "                     do not load are listed and left out (not deleted)\n"},
    {"background", "  background         compute and store the background level of every video that lacks one, for\n"
                   "                     score normalisation (`vidsim search --norm`, docs/search.md); `index add`\n"
                   "                     does it for the videos it adds\n"
                   "      --model M      visil_f (default) or a similarity model file, as given to search\n"
                   "      --direction D  sym (default) or q2r, as given to search\n"
                   "      -j N           threads (default: number of cores)\n"
                   "      --force        start a new member set and compute every level again\n"},
    {"info", "  info               model, fps and counts (also of stored extras such as hash codes)\n"},
    {"compress", "  compress           store every video's region features compressed (docs/compression.md): learn\n"
                 "                     the index's codebook from its own features (or reuse the stored one), then\n"
                 "                     re-encode each video atomically; resumable, later adds are compressed too;\n"
                 "                     upgrades the index to format 3 (older vidsim builds refuse it then)\n"
                 "      --codec C      pq64 (default: 64 B per region vector), int8 (D+4 B, near-lossless) or pqM\n"
                 "      --train-max N  at most N region vectors train the codebook (default 32768)\n"},
    {"hash", "  hash               compute and store the binary code of every video that lacks one, for\n"
             "                     `vidsim search --two-stage` (docs/search.md)\n"
             "      --hash-model M conmh_64.vstf in the models folder (default), a model file, or the\n"
             "                     training-free baseline lsh64|lsh128|lsh256\n"
             "      -j N           videos in parallel (default: number of cores)\n"
             "      --force        recompute codes already stored\n"},
};
#define N_SUBS ((int)(sizeof subs / sizeof subs[0]))

int cli_index_no_compress;
int cli_index_timing;

static int sub_of(const char *name) {
    for (int k = 0; k < N_SUBS; k++)
        if (!strcmp(subs[k].name, name)) return k;
    return -1;
}

/* All of index's usage (sub < 0), or that of subcommand sub only. */
static void usage(FILE *f, int sub) {
    if (sub >= 0) {
        fprintf(f, "usage: vidsim index %s --index DIR%s [options]\n%s", subs[sub].name,
                !strcmp(subs[sub].name, "add") ? " PATH..." : !strcmp(subs[sub].name, "rm") ? " PATH|NAME..." : "",
                subs[sub].text);
        return;
    }
    fprintf(f, "usage: vidsim index COMMAND --index DIR [options]\n");
    for (int k = 0; k < N_SUBS; k++) fputs(subs[k].text, f);
    fprintf(f, "The index is a directory (created by the first add): catalogue.sqlite + features/.\n"
               "'vidsim index COMMAND --help' describes one command.\n");
}

static int sub_takes(const char *sub, const char *opt) {
    static const struct { const char *sub, *opts; } t[] = {
        {"add", " -j --backbone --precision --pca --calib --fps --threads --force --raw -v --verbose --hash-model --no-background --min-frame-std --no-compress --timing "},
        {"rm", " "},
        {"ls", " --format "},
        {"verify", " --repair "},
        {"rebuild", " "},
        {"info", " "},
        {"hash", " --hash-model -j --force "},
        {"background", " --model --direction -j --force "},
        {"compress", " --codec --train-max "},
    };
    char key[64];
    if (strlen(opt) + 3 > sizeof key) return 0;
    snprintf(key, sizeof key, " %s ", opt);
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
        if (!strcmp(t[k].sub, sub)) return strstr(t[k].opts, key) != NULL;
    return 0;
}

int cmd_index(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("index", "no COMMAND given (add, rm, ls, verify, rebuild, info, hash, background or compress)");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout, -1);
        return 0;
    }
    const char *sub = argv[1], *dir = NULL, *backbone = NULL, *pca = NULL, *format = "csv", *hash_model = NULL;
    const int si = sub_of(sub);
    if (si < 0) {
        if (sub[0] == '-') return cli_usage_error("index", "no COMMAND given before option '%s' (add, rm, ls, "
                                                           "verify, rebuild, info, hash, background or compress)", sub);
        return cli_usage_error("index", "unknown command '%s' (add, rm, ls, verify, rebuild, info, hash, background or compress)", sub);
    }
    char cmd[32];
    snprintf(cmd, sizeof cmd, "index %s", sub);
    static const char *const valopts[] = {"--index", "-j", "--backbone", "--precision", "--pca", "--calib", "--fps",
                                          "--threads", "--format",
                                          "--hash-model", "--model", "--direction", "--min-frame-std", "--codec",
                                          "--train-max", NULL};
    if (cli_wants_help(argc - 1, argv + 1, valopts)) {
        usage(stdout, si);
        return 0;
    }
    double fps = 0, min_std = -1;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), threads = 1, force = 0, repair = 0, raw = 0, verbose = 0;
    int sym = 1, no_bg = 0, train_max = 0;
    const char *codec = NULL, *precision = NULL, *calib = NULL;
    const char *model = "visil_f";
    char **pos = calloc(argc, sizeof(char *));
    int npos = 0, rc = 2;
    if (!pos) return 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = 0;
        if (a[0] == '-' && a[1] && strcmp(a, "--index") && !sub_takes(sub, a)) {
            /* an option of another index command, or of none */
            if (sub_takes("add", a) || sub_takes("hash", a) || sub_takes("ls", a) || sub_takes("verify", a) ||
                sub_takes("background", a) || sub_takes("compress", a))
                bad = cli_usage_error(cmd, "'%s' is not an option of index %s", a, sub);
            else bad = cli_unknown_option(cmd, a);
        } else if ((bad = cli_opt_arg(cmd, argc, argv, &i, valopts, &v))) ;
        else if (!strcmp(a, "--index")) dir = v;
        else if (!strcmp(a, "-j")) bad = cli_parse_int(cmd, "-j", v, 1, INT_MAX, &jobs);
        else if (!strcmp(a, "--backbone")) {
            char bb[PATH_MAX], pc[PATH_MAX];
            if (cli_backbone_files(v, bb, sizeof bb, pc, sizeof pc))
                bad = cli_usage_error(cmd, "--backbone must be inception or mobilenet, got '%s'", v);
            backbone = v;
        } else if (!strcmp(a, "--precision")) {
            static const char *const precs[] = {"fp32", "int8", "bf16"};
            if (cli_parse_choice(cmd, "--precision", v, precs, 3) < 0) bad = 2;
            precision = v;
        } else if (!strcmp(a, "--pca")) pca = v;
        else if (!strcmp(a, "--calib")) calib = v;
        else if (!strcmp(a, "--fps")) bad = cli_parse_pos_double(cmd, "--fps", v, &fps);
        else if (!strcmp(a, "--min-frame-std")) bad = cli_parse_double(cmd, "--min-frame-std", v, 0, 255, &min_std);
        else if (!strcmp(a, "--threads")) bad = cli_parse_int(cmd, "--threads", v, 1, INT_MAX, &threads);
        else if (!strcmp(a, "--format")) {
            static const char *const fmts[] = {"csv", "jsonl"};
            if (cli_parse_choice(cmd, "--format", v, fmts, 2) < 0) bad = 2;
            format = v;
        } else if (!strcmp(a, "--hash-model")) hash_model = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--codec")) codec = v;
        else if (!strcmp(a, "--train-max")) bad = cli_parse_int(cmd, "--train-max", v, 256, INT_MAX, &train_max);
        else if (!strcmp(a, "--direction")) {
            static const char *const dirs[] = {"sym", "q2r"};
            int d = cli_parse_choice(cmd, "--direction", v, dirs, 2);
            if (d < 0) bad = 2;
            sym = d == 0;
        } else if (!strcmp(a, "--no-background")) no_bg = 1;
        else if (!strcmp(a, "--no-compress")) cli_index_no_compress = 1;
        else if (!strcmp(a, "--timing")) cli_index_timing = 1;
        else if (!strcmp(a, "--force")) force = 1;
        else if (!strcmp(a, "--repair")) repair = 1;
        else if (!strcmp(a, "--raw")) raw = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = 1;
        else if (a[0] == '-' && a[1]) bad = cli_unknown_option(cmd, a);
        else if (strcmp(sub, "add") && strcmp(sub, "rm")) bad = cli_unknown_option(cmd, a);
        else pos[npos++] = argv[i];
        if (bad) goto out;
    }
    if (!dir) {
        cli_usage_error(cmd, "--index DIR is required");
        goto out;
    }
    if (!strcmp(sub, "add")) {
        if (!npos) {
            cli_usage_error(cmd, "no PATH given (video files or folders to add)");
            goto out;
        }
        rc = cli_index_add(dir, pos, npos, jobs, backbone, precision, pca, calib, raw, fps, min_std, threads, force,
                           verbose, hash_model, no_bg);
    } else if (!strcmp(sub, "rm")) {
        if (!npos) {
            cli_usage_error(cmd, "no PATH or NAME given (videos to remove)");
            goto out;
        }
        rc = cli_index_rm(dir, pos, npos);
    } else if (!strcmp(sub, "ls")) rc = cli_index_ls(dir, format);
    else if (!strcmp(sub, "verify")) rc = cli_index_verify(dir, repair);
    else if (!strcmp(sub, "info")) rc = cli_index_info(dir);
    else if (!strcmp(sub, "rebuild")) rc = cli_index_rebuild(dir);
    else if (!strcmp(sub, "background")) rc = cli_index_background(dir, model, sym, jobs, force);
    else if (!strcmp(sub, "compress")) rc = cli_index_compress(dir, codec, train_max);
    else rc = cli_index_hash(dir, hash_model, jobs, force);
out:
    free(pos);
    return rc;
}
