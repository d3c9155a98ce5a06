/*
 * cmd_train_hash.c - `vidsim train-hash`: self-supervised training of the ConMH hash
 * model (hashmodel.h) on the region features of a collection (feature files, or videos
 * whose features are extracted on the fly with the default InceptionV3 + whitening).
 * Writes an atomic checkpoint (MODEL.ckpt: weights, Adam moments, step, RNG) every few
 * steps and on SIGINT/SIGTERM, resumes from it with --resume, and writes the model to
 * MODEL at the end. A progress line (losses, it/s, ETA) on a terminal only.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "train_loop.h"
#include "vidsim/features.h"
#include "vidsim/hashmodel.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim train-hash (--features DIR | --videos DIR) -o MODEL [options]\n"
            "  --features DIR    feature files (.vsf, from `vidsim extract`), walked recursively\n"
            "  --videos DIR      or videos: features extracted first (InceptionV3 + bundled PCA)\n"
            "  -o MODEL          the trained model (VSTF); checkpoints go to MODEL.ckpt\n"
            "  --bits N          code length: 64 (default), 128 or 256\n"
            "  --iters N         optimisation steps (default 1000)\n"
            "  --batch B         videos per step (default 32)\n"
            "  --lr X            peak learning rate (default 3e-4; warm-up, then cosine)\n"
            "  --warmup N        warm-up steps (default 100)\n"
            "  --frames T        frames sampled per video (default 25)\n"
            "  --mask-ratio X    hidden fraction of each view (default 0.75)\n"
            "  --alpha X         weight of the contrastive loss (default 1)\n"
            "  --no-jitter       always the centre frame of each bin (default: random per step)\n"
            "  --enc-dim C --enc-depth L --enc-heads H   encoder (default 128, 2, 4;\n"
            "                    the reference: 256, 12, 6)\n"
            "  --dec-dim C --dec-depth L --dec-heads H   decoder (default 96, 1, 3;\n"
            "                    the reference: 192, 2, 3)\n"
            "  --seed S          (default 1)\n"
            "  --every N         checkpoint every N steps (default 100)\n"
            "  --resume          continue from MODEL.ckpt (same architecture and training set)\n"
            "  --log FILE        CSV step,loss,recon,contrastive,lr of every step\n");
}

static int fail(const char *what) {
    fprintf(stderr, "vidsim train-hash: %s%s%s\n", what ? what : "", what ? ": " : "",
            vs_last_error());
    return -1;
}

/* Feed one video's features to the trainer, creating it on the first video. */
static int feed(vs_hashtrain **t, vs_hashtrain_params *p, const char *ckpt, int resume,
                const vs_features *f) {
    if (!*t) {
        p->model.dim = f->D;
        if (resume) {
            /* the checkpoint's architecture wins (bits 0); it is checked against the
             * features as they are added */
            p->model.bits = 0;
            if (vs_hashtrain_resume(t, ckpt, p) != VS_OK) return fail(NULL);
        } else if (vs_hashtrain_create(t, p) != VS_OK) {
            return fail(NULL);
        }
    }
    if (vs_hashtrain_add(*t, f->data, f->T, f->R, f->D) != VS_OK)
        return fail(f->source ? f->source : "video");
    return 0;
}

static int load_all(vs_hashtrain **t, vs_hashtrain_params *p, const char *ckpt, int resume,
                    const char *feat_dir, const char *video_dir) {
    cli_list files = {0};
    vs_extractor *ex = NULL;
    vs_extract_state *est = NULL;
    int n = 0, rc = -1;
    char *in[1] = {(char *)(feat_dir ? feat_dir : video_dir)};
    if (feat_dir ? cli_collect_features(&files, in, 1) : cli_collect_inputs(&files, in, 1))
        return -1;
    if (video_dir) {
        char bb[PATH_MAX], pca[PATH_MAX];
        vs_extract_params ep = vs_extract_default_params();
        cli_backbone_files("inception", bb, sizeof bb, pca, sizeof pca);
        if (vs_extractor_load(&ex, bb, pca, &ep) != VS_OK ||
            vs_extract_state_create(&est, ex) != VS_OK) {
            fail(NULL);
            goto out;
        }
    }
    cli_progress prog;
    cli_progress_init(&prog, feat_dir ? "files" : "videos");
    for (int i = 0; i < files.n; i++) {
        vs_features *f = NULL;
        vs_status s = feat_dir ? vs_features_load(&f, files.v[i]) : vs_extract_video(est, files.v[i], &f);
        cli_progress_update(&prog, i + 1, files.n, cli_basename(files.v[i]));
        if (s != VS_OK) {
            cli_progress_end(&prog);
            fprintf(stderr, "vidsim train-hash: skipping %s\n", vs_last_error());
            continue;
        }
        int r = feed(t, p, ckpt, resume, f);
        vs_features_free(f);
        if (r) {
            cli_progress_end(&prog);
            goto out;
        }
        n++;
    }
    cli_progress_end(&prog);
    if (n < 2) {
        fprintf(stderr, "vidsim train-hash: %d usable videos in %s; need at least 2\n", n, in[0]);
        goto out;
    }
    rc = n;
out:
    vs_extract_state_free(est);
    vs_extractor_free(ex);
    cli_list_free(&files);
    return rc;
}

/* One step of the loop (train_loop.h): progress text from running means of the two
 * losses, and the CSV log line. */
typedef struct hash_loop {
    vs_hashtrain *t;
    FILE *logf;
    double e_rec, e_con; /* exponential means (-1 before the first step) */
} hash_loop;

static vs_status hash_step(void *user, long *done, char *what, size_t n) {
    hash_loop *c = user;
    vs_hashtrain_stats s;
    vs_status st = vs_hashtrain_step(c->t, &s);
    if (st != VS_OK) return st;
    *done = s.step;
    c->e_rec = c->e_rec < 0 ? s.recon : 0.95 * c->e_rec + 0.05 * s.recon;
    c->e_con = c->e_con < 0 ? s.contrastive : 0.95 * c->e_con + 0.05 * s.contrastive;
    if (c->logf)
        fprintf(c->logf, "%ld,%.6f,%.6f,%.6f,%.3g\n", s.step, s.loss, s.recon, s.contrastive, (double)s.lr);
    snprintf(what, n, "recon %.4f  dcl %.4f  lr %.2g", c->e_rec, c->e_con, (double)s.lr);
    return VS_OK;
}

static vs_status hash_save(void *user, const char *path) {
    return vs_hashtrain_save(((hash_loop *)user)->t, path);
}

int cmd_train_hash(int argc, char **argv) {
    const char *feat = NULL, *videos = NULL, *out = NULL, *logp = NULL;
    int resume = 0, every = 100, bits = 64;
    vs_hashtrain_params p = vs_hashtrain_default_params(64, 0);
    vs_hashmodel_config mc = p.model;
    static const char *const valopts[] = {"--features", "--videos", "-o", "--out", "--bits", "--iters", "--batch",
                                          "--lr", "--warmup", "--frames", "--mask-ratio", "--alpha", "--enc-dim",
                                          "--enc-depth", "--enc-heads", "--dec-dim", "--dec-depth", "--dec-heads",
                                          "--seed", "--every", "--log", NULL};
    static const char *const C = "train-hash";
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg(C, argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "--features")) feat = v;
        else if (!strcmp(a, "--videos")) videos = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--bits")) {
            static const char *const b[] = {"64", "128", "256"};
            int k = cli_parse_choice(C, a, v, b, 3);
            if (k < 0) bad = 2;
            else bits = 64 << k;
        } else if (!strcmp(a, "--iters")) bad = cli_parse_long(C, a, v, 1, LONG_MAX, &p.iters);
        else if (!strcmp(a, "--batch")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &p.batch);
        else if (!strcmp(a, "--lr")) {
            double x;
            if (!(bad = cli_parse_pos_double(C, a, v, &x))) p.lr = (float)x;
        } else if (!strcmp(a, "--warmup")) bad = cli_parse_long(C, a, v, 0, LONG_MAX, &p.warmup);
        else if (!strcmp(a, "--frames")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.frames);
        else if (!strcmp(a, "--mask-ratio")) bad = cli_parse_float(C, a, v, 0, 1, &p.mask_ratio);
        else if (!strcmp(a, "--alpha")) bad = cli_parse_float(C, a, v, 0, HUGE_VAL, &p.alpha);
        else if (!strcmp(a, "--no-jitter")) p.jitter = 0;
        else if (!strcmp(a, "--enc-dim")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.enc_dim);
        else if (!strcmp(a, "--enc-depth")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.enc_depth);
        else if (!strcmp(a, "--enc-heads")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.enc_heads);
        else if (!strcmp(a, "--dec-dim")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.dec_dim);
        else if (!strcmp(a, "--dec-depth")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.dec_depth);
        else if (!strcmp(a, "--dec-heads")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &mc.dec_heads);
        else if (!strcmp(a, "--seed")) {
            unsigned long long x;
            if (!(bad = cli_parse_u64(C, a, v, &x))) p.seed = x;
        } else if (!strcmp(a, "--every")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &every);
        else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "--log")) logp = v;
        else bad = cli_unknown_option(C, a);
        if (bad) return 2;
    }
    if (!out) return cli_usage_error(C, "-o MODEL is required");
    if ((!feat) == (!videos))
        return cli_usage_error(C, feat ? "give --features or --videos, not both"
                                    : "--features DIR or --videos DIR is required");
    mc.bits = bits;
    p.model = mc;
    char ckpt[PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    if (resume && access(ckpt, F_OK) != 0) {
        fprintf(stderr, "vidsim train-hash: --resume: no checkpoint %s\n", ckpt);
        return 1;
    }
    vs_hashtrain *t = NULL;
    vs_hashmodel *m = NULL;
    FILE *logf = NULL;
    int rc = 1;
    int nvid = load_all(&t, &p, ckpt, resume, feat, videos);
    if (nvid < 0) goto done;
    if (logp && !(logf = fopen(logp, resume ? "a" : "w"))) {
        fprintf(stderr, "vidsim train-hash: cannot write %s\n", logp);
        goto done;
    }
    if (logf && !resume) fprintf(logf, "step,loss,recon,contrastive,lr\n");
    hash_loop hl = {t, logf, -1, -1};
    cli_train_loop loop = {"train-hash", "it", CLI_TRAIN_STOP_BEFORE_STEP, vs_hashtrain_steps_done(t), p.iters,
                           every, 0, ckpt, logf, &hl, hash_step, hash_save};
    cli_train_result res = cli_train_run(&loop);
    if (res != CLI_TRAIN_DONE) {
        rc = cli_train_exit(res);
        goto done;
    }
    if (vs_hashtrain_model(t, &m) != VS_OK || vs_hashmodel_save(m, out) != VS_OK) {
        fail(NULL);
        goto done;
    }
    fprintf(stderr, "vidsim train-hash: %s: %d videos, %ld steps, id %s\n", out, nvid,
            vs_hashtrain_steps_done(t), vs_hashmodel_id(m));
    rc = 0;
done:
    if (logf && fclose(logf) != 0 && rc == 0) {
        fprintf(stderr, "vidsim train-hash: cannot write %s\n", logp);
        rc = 1;
    }
    vs_hashmodel_free(m);
    vs_hashtrain_free(t);
    return rc;
}
