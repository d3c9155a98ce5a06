/*
 * cmd_train_gvec.c - `vidsim train-gvec`: learn the whitening of the global vectors of
 * the gvec first stage (ann.h vs_gvec_whiten_*, docs/scale.md "A learned whitening of
 * the first stage") from unlabeled videos: the S2VS augmentation bank of `vidsim train`
 * (built, or reused with --bank), pairs of views of the same frames
 * (vs_s2vs_data_view_pairs), then the closed form. No training loop: seconds after the
 * bank. With --fold-pca the same map is also folded into a region-vector whitening file
 * (vs_pca_fold_whiten: how the bundled pca_inception_v3.vstf is made, docs/features.md
 * "The learned whitening").
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "train_loop.h"
#include "vidsim/ann.h"
#include "vidsim/augment.h"
#include "vidsim/features.h"
#include "vidsim/train.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim train-gvec --videos DIR|FILE... -o FILE [options]\n"
            "  --videos P...     unlabeled videos or folders of videos to learn from\n"
            "  -o FILE           the whitening file (VSTF kind gvec_whitening)\n"
            "  --bank FILE       the augmentation bank: loaded when it exists (it must have been built\n"
            "                    with the same --seed and --max-frames), else built and saved there\n"
            "  --pairs N         pairs of views per video (default 60)\n"
            "  --shrink X        regulariser, in mean eigenvalues of the pairs' scatter (default 1)\n"
            "  --fold-pca FILE   also write the region-vector whitening (--pca, default the bundled\n"
            "                    one) with the map folded in: features extracted with it are the\n"
            "                    learned-whitened region vectors (docs/features.md)\n"
            "  --max-frames N    frames (1 fps) kept per video (default 300)\n"
            "  --seed S          seed of the augmentations and the pairs (default 1)\n"
            "  --backbone NAME   inception (default) or mobilenet; --pca FILE whitening\n"
            "  --no-overlays     no text/emoji overlays (when fonts are not installed)\n"
            "  --copy-edits P    also pad, hue, grayscale, noise and low-quality edits of the strong\n"
            "                    views, each with probability P (default 0; the bank records P)\n"
            "  -j N              threads (default: all cores)\n"
            "The bank is `vidsim train`'s (2 weak, 4 strong, 1 video-in-video view per video).\n"
            "Search uses the result with --gvec-whiten FILE (docs/scale.md).\n");
}

static int fail(const char *what) {
    if (what) fprintf(stderr, "vidsim train-gvec: %s: %s\n", what, vs_last_error());
    else fprintf(stderr, "vidsim train-gvec: %s\n", vs_last_error());
    return 1;
}

int cmd_train_gvec(int argc, char **argv) {
    static const char *const C = "train-gvec";
    static const char *const valopts[] = {"-o", "--bank", "--pairs", "--shrink", "--max-frames", "--seed",
                                          "--backbone", "--pca", "-j", "--fold-pca", "--copy-edits", NULL};
    const char *out = NULL, *bank_arg = NULL, *backbone = "inception", *pca_arg = NULL, *fold_out = NULL;
    int pairs = 60, max_frames = 300, no_overlays = 0, in_videos = 0, nv = 0;
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double shrink = 1.0, p_edit = 0.0;
    unsigned long long seed = 1;
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    char **vids = calloc((size_t)argc + 1, sizeof(char *));
    if (!vids) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg(C, argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "--videos")) in_videos = 1;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--bank")) bank_arg = v;
        else if (!strcmp(a, "--pairs")) bad = cli_parse_int(C, a, v, 1, 100000, &pairs);
        else if (!strcmp(a, "--shrink")) bad = cli_parse_pos_double(C, a, v, &shrink);
        else if (!strcmp(a, "--max-frames")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &max_frames);
        else if (!strcmp(a, "--seed")) bad = cli_parse_u64(C, a, v, &seed);
        else if (!strcmp(a, "--backbone")) backbone = v;
        else if (!strcmp(a, "--pca")) pca_arg = v;
        else if (!strcmp(a, "--fold-pca")) fold_out = v;
        else if (!strcmp(a, "-j")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &threads);
        else if (!strcmp(a, "--copy-edits")) bad = cli_parse_double(C, a, v, 0, 1, &p_edit);
        else if (!strcmp(a, "--no-overlays")) no_overlays = 1;
        else if ((a[0] == '-' && a[1]) || !in_videos) bad = cli_unknown_option(C, a);
        else vids[nv++] = argv[i];
        if (bad) {
            free(vids);
            return 2;
        }
    }
    char bb[PATH_MAX], pca[PATH_MAX];
    int bad = 0;
    if (!out) bad = cli_usage_error(C, "-o FILE is required");
    else if (!nv && !(bank_arg && access(bank_arg, R_OK) == 0))
        bad = cli_usage_error(C, "--videos DIR|FILE... is required (or an existing --bank FILE)");
    else if (cli_backbone_files(backbone, bb, sizeof bb, pca, sizeof pca))
        bad = cli_usage_error(C, "--backbone must be inception or mobilenet, got '%s'", backbone);
    if (bad) {
        free(vids);
        return 2;
    }
    if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);

    int rc = 1;
    cli_list inputs = {0};
    cli_train_data td = {0};
    vs_gvec_whiten *w = NULL;
    float *pa = NULL, *pb = NULL;
    vs_s2vs_data_params dp = vs_s2vs_data_default_params();
    dp.seed = seed;
    dp.max_frames = max_frames;
    dp.aug.p_edit = p_edit;
    if (no_overlays) dp.aug.p_text = dp.aug.p_emoji = 0.0;
    if (cli_train_data_open(C, &td, bb, pca, threads, no_overlays, &dp)) goto done;
    vs_s2vs_data *data = td.data;
    const int D = vs_extractor_dim(td.ex);
    if (bank_arg && access(bank_arg, R_OK) == 0) {
        if (vs_s2vs_data_load(data, bank_arg) != VS_OK) {
            rc = fail(NULL);
            goto done;
        }
        fprintf(stderr, "vidsim train-gvec: bank %s: %d videos\n", bank_arg, vs_s2vs_data_n_videos(data));
    } else {
        if (cli_collect_inputs(&inputs, vids, nv) != 0) goto done;
        cli_bank_fill(C, data, inputs.v, inputs.n, 1);
        if (vs_s2vs_data_n_videos(data) < 1) {
            fprintf(stderr, "vidsim train-gvec: no usable videos\n");
            goto done;
        }
        if (bank_arg && vs_s2vs_data_save(data, bank_arg) != VS_OK) {
            rc = fail(NULL);
            goto done;
        }
    }
    long n = 0;
    if (vs_s2vs_data_view_pairs(data, pairs, seed, &pa, &pb, &n) != VS_OK) {
        rc = fail(NULL);
        goto done;
    }
    char nvid[32], pe[32], id8[64] = "";
    snprintf(nvid, sizeof nvid, "%d", vs_s2vs_data_n_videos(data));
    snprintf(pe, sizeof pe, "%.17g", p_edit);
    /* the same features at int8 (the index's default for InceptionV3): their model id
     * hashes the bundled calibration too, so search can match an int8 index exactly */
    vs_extract_params ep8 = vs_extract_default_params();
    ep8.precision = VS_PRECISION_INT8;
    vs_extractor *ex8 = NULL;
    if (vs_extractor_load(&ex8, bb, pca, &ep8) == VS_OK) snprintf(id8, sizeof id8, "%s", vs_extractor_model_id(ex8));
    else fprintf(stderr, "vidsim train-gvec: no int8 model id (%s): the whitening names the fp32 features only\n",
                 vs_last_error());
    vs_extractor_free(ex8);
    const char *meta[9] = {"features", vs_extractor_model_id(td.ex), "n_videos", nvid};
    int nm = 4;
    if (*id8) meta[nm++] = "features_int8", meta[nm++] = id8;
    /* p_edit only when copy edits were on, so a default run writes the bytes it always has */
    if (p_edit > 0) meta[nm++] = "p_edit", meta[nm++] = pe;
    meta[nm] = NULL;
    if (vs_gvec_whiten_learn(&w, pa, pb, n, D, shrink, meta) != VS_OK) {
        rc = fail(NULL);
        goto done;
    }
    if (vs_gvec_whiten_save(w, out) != VS_OK) {
        rc = fail(out);
        goto done;
    }
    fprintf(stderr, "vidsim train-gvec: whitening %s of D=%d learned from %ld pairs of %d videos into %s\n",
            vs_gvec_whiten_id(w), D, n, vs_s2vs_data_n_videos(data), out);
    if (fold_out) {
        if (vs_pca_fold_whiten(pca, w, fold_out) != VS_OK) {
            rc = fail(NULL);
            goto done;
        }
        fprintf(stderr, "vidsim train-gvec: %s with the map folded in: %s\n", pca, fold_out);
    }
    rc = 0;
done:
    vs_free(pa);
    vs_free(pb);
    vs_gvec_whiten_free(w);
    cli_train_data_close(&td);
    cli_list_free(&inputs);
    free(vids);
    return rc;
}
