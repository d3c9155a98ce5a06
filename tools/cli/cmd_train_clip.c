/*
 * cmd_train_clip.c - `vidsim train-clip`: self-supervised training of the 3D-CSL-F clip
 * model (clipmodel.h) on the region features of a collection (feature files or an
 * index): PredMAE, then ShotMix + FCS. Writes atomic checkpoints (MODEL.ckpt) every few
 * steps and on SIGINT/SIGTERM, resumes from one with --resume, and exports the encoder
 * to MODEL at the end. A progress line (stage, loss, it/s, ETA) on a terminal only.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "train_loop.h"
#include "vidsim/augment.h"
#include "vidsim/clipmodel.h"
#include "vidsim/decode.h"
#include "vidsim/features.h"
#include "vidsim/index.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim train-clip (--features DIR | --index DIR) -o MODEL [options]\n"
            "  --features DIR   feature files (.vsf, from `vidsim extract`), walked recursively\n"
            "  --index DIR      or the features of an index's videos\n"
            "  -o MODEL         the trained encoder (VSTF); checkpoints go to MODEL.ckpt\n"
            "  --stage S        predmae, fcs or both (default both: PredMAE, then ShotMix + FCS)\n"
            "  --iters N        iterations per stage (default 300)\n"
            "  --batch B        PredMAE: clips per step; FCS: videos per step (default 16)\n"
            "  --lr X           peak learning rate (default 5e-4)\n"
            "  --seg-clips M    FCS: clips per segment (default 4)\n"
            "  --margin X       FCS: triplet margin (default 0.3)\n"
            "  --clip-weight X  FCS: weight of the single-clip term (default 1)\n"
            "  --shotmix P      ShotMix probability per positive clip (default 0.5; 0 = off)\n"
            "  --pip P          spatial ShotMix probability (default 0.25; 0 = off)\n"
            "  --mask-ratio X   PredMAE masked fraction (default 0.75)\n"
            "  --mse            PredMAE loss MSE (default 1 - cos)\n"
            "  --width C --depth L --heads H   architecture (default 128, 4, 4)\n"
            "  --pool P         clip vector: cls (3D-CSL's) or mean of the tokens\n"
            "  --seed S         (default 1)\n"
            "  --every N        checkpoint every N steps (default 25)\n"
            "  --views N        N pixel-level augmented copies of every training video (crop, flip,\n"
            "                   RandAugment, text, blur) through the backbone: realistic FCS positives\n"
            "                   (needs the source videos and the backbone; default 0)\n"
            "  -j N             backbone threads for --views (default 2)\n"
            "  --resume         continue from MODEL.ckpt (same training set, same --views)\n"
            "  --log FILE       CSV step,stage,loss of every step\n");
}

/* Sources of the added videos (for --views), in add order. */
typedef struct {
    cli_list src;
    int *T;
    char model_id[64];
    double fps;
} added;

/* Load every video's features into the trainer; returns the count, -1 on error. */
static int add_videos(vs_cliptrain **t, added *ad, const vs_clipmodel_config *cfg0, const vs_cliptrain_params *p,
                      const char *ckpt, int resume, const char *feat_dir, const char *index_dir) {
    int n = 0, rc = -1;
    cli_list files = {0};
    vs_index *idx = NULL;
    vs_index_entries *es = NULL;
    long count;
    if (feat_dir) {
        char *in[1] = {(char *)feat_dir};
        if (cli_collect_features(&files, in, 1)) return -1;
        count = files.n;
    } else {
        if (vs_index_open(&idx, index_dir, VS_INDEX_READONLY) != VS_OK ||
            vs_index_list(idx, NULL, &es) != VS_OK) {
            fprintf(stderr, "vidsim train-clip: %s\n", vs_last_error());
            goto out;
        }
        count = es->n;
    }
    for (long i = 0; i < count; i++) {
        vs_features *f = NULL;
        vs_status s;
        if (feat_dir) s = vs_features_load(&f, files.v[i]);
        else if (!es->v[i].ok) continue;
        else s = vs_index_load_features(idx, &es->v[i], &f);
        if (s != VS_OK) {
            fprintf(stderr, "vidsim train-clip: skipping %s\n", vs_last_error());
            continue;
        }
        if (!*t) {
            vs_clipmodel_config cfg = *cfg0;
            cfg.D = f->D;
            cfg.R = f->R;
            s = resume ? vs_cliptrain_resume(t, ckpt, p) : vs_cliptrain_create(t, &cfg, p);
            if (s != VS_OK) {
                fprintf(stderr, "vidsim train-clip: %s\n", vs_last_error());
                vs_features_free(f);
                goto out;
            }
        }
        s = vs_cliptrain_add_video(*t, f->data, f->T, f->R, f->D);
        if (s != VS_OK) fprintf(stderr, "vidsim train-clip: %s: %s\n", f->source ? f->source : "video", vs_last_error());
        else {
            int *nt = realloc(ad->T, sizeof(int) * (size_t)(n + 1));
            if (nt) ad->T = nt;
            char **nv = realloc(ad->src.v, sizeof(char *) * (size_t)(n + 1));
            if (nv) ad->src.v = nv;
            char *sp = strdup(f->source ? f->source : "");
            if (!nt || !nv || !sp) {
                fprintf(stderr, "vidsim train-clip: out of memory\n");
                free(sp);
                vs_features_free(f);
                goto out;
            }
            ad->src.v[n] = sp;
            ad->src.n = ad->src.cap = n + 1;
            ad->T[n] = f->T;
            snprintf(ad->model_id, sizeof ad->model_id, "%s", f->model_id);
            ad->fps = f->fps;
            n++;
        }
        vs_features_free(f);
    }
    if (n == 0) {
        fprintf(stderr, "vidsim train-clip: no usable features in %s\n", feat_dir ? feat_dir : index_dir);
        goto out;
    }
    rc = n;
out:
    cli_list_free(&files);
    vs_index_entries_free(es);
    vs_index_close(idx);
    return rc;
}

/* Pixel-level views (spec 2.8): for each training video, n_views copies with one
 * crop (RandomResizedCrop 0.5-1 of the 224 frame), a flip (p 0.5), RandAugment(2, 9),
 * a text overlay (p 0.5, the same on every frame) and a blur (p 0.3), each drawn per view
 * and kept for the whole video as an edited copy would be, run through the frozen
 * backbone. Videos whose source cannot be decoded to the same frame count are left
 * without views. Returns 0, or -1 on a setup error. */
static int build_views(vs_cliptrain *t, const added *ad, int n_views, uint64_t seed, int threads) {
    char bbname[64], bb[PATH_MAX], pca[PATH_MAX];
    snprintf(bbname, sizeof bbname, "%s", ad->model_id);
    char *slash = strchr(bbname, '/');
    if (slash) *slash = 0;
    if (cli_backbone_files(bbname, bb, sizeof bb, pca, sizeof pca)) {
        fprintf(stderr, "vidsim train-clip: --views: features of model %s: unknown backbone\n", ad->model_id);
        return -1;
    }
    vs_extract_params ep = vs_extract_default_params();
    ep.decode.fps = ad->fps > 0 ? ad->fps : 1.0;
    ep.n_threads = threads;
    vs_extractor *ex = NULL;
    vs_extract_state *st = NULL;
    vs_aug_resources *res = NULL;
    vs_aug_state *ast = NULL;
    uint8_t *buf = NULL;
    float *feat = NULL;
    int rc = -1;
    if (vs_extractor_load(&ex, bb, strstr(ad->model_id, "/raw") ? NULL : pca, &ep) != VS_OK ||
        vs_extract_state_create(&st, ex) != VS_OK) {
        fprintf(stderr, "vidsim train-clip: --views: %s\n", vs_last_error());
        goto out;
    }
    if (strcmp(vs_extractor_model_id(ex), ad->model_id) != 0) {
        fprintf(stderr, "vidsim train-clip: --views: features of model %s, the bundled files give %s\n",
                ad->model_id, vs_extractor_model_id(ex));
        goto out;
    }
    vs_aug_params ap = vs_aug_default_params();
    ap.p_emoji = 0;
    int have_text = vs_aug_resources_load(&res, NULL, 0, NULL) == VS_OK;
    if (!have_text) ap.p_text = 0;
    if (vs_aug_state_create(&ast, have_text ? res : NULL, &ap) != VS_OK) {
        fprintf(stderr, "vidsim train-clip: --views: %s\n", vs_last_error());
        goto out;
    }
    const int S = ep.decode.crop, R = VS_REGIONS;
    int D = vs_extractor_dim(ex);
    cli_progress prog;
    cli_progress_init(&prog, "videos");
    for (int i = 0; i < ad->src.n; i++) {
        uint8_t *frames = NULL;
        int n = 0;
        cli_progress_update(&prog, i, ad->src.n, "augmented views");
        if (vs_decode_all(ad->src.v[i], &ep.decode, &frames, &n, NULL) != VS_OK || n != ad->T[i]) {
            fprintf(stderr, "vidsim train-clip: --views: no views for %s (%s)\n", ad->src.v[i],
                    n != ad->T[i] ? "frame count differs from its features" : vs_last_error());
            vs_free(frames);
            continue;
        }
        uint8_t *nb = realloc(buf, (size_t)n * S * S * 3);
        float *nf = realloc(feat, sizeof(float) * (size_t)n * R * D);
        if (nb) buf = nb;
        if (nf) feat = nf;
        if (!nb || !nf) {
            vs_free(frames);
            fprintf(stderr, "vidsim train-clip: out of memory\n");
            goto out;
        }
        for (int v = 0; v < n_views; v++) {
            vs_aug_rng r;
            vs_aug_rng_init(&r, seed, (uint64_t)i * 64 + (uint64_t)v);
            vs_aug_box box = vs_aug_rrc_box(S, S, 0.5, 1.0, 3.0 / 4.0, 4.0 / 3.0, &r);
            int flip = vs_aug_rng_below(&r, 2);
            vs_aug_ra ra;
            vs_aug_ra_draw(&ra, 2, 9, S, S, &r);
            int text = have_text && vs_aug_rng_uniform(&r) < 0.5;
            double blur = vs_aug_rng_uniform(&r) < 0.3 ? 0.5 + 1.5 * vs_aug_rng_uniform(&r) : 0;
            vs_aug_rng text_rng = r; /* the same overlay on every frame */
            int ok = 1;
            for (int f = 0; f < n && ok; f++) {
                uint8_t *img = buf + (size_t)f * S * S * 3;
                ok = vs_aug_resized_crop(img, S, S, frames + (size_t)f * S * S * 3, S, S, box, false) == VS_OK;
                if (flip) vs_aug_hflip(img, S, S);
            }
            for (int k = 0; k < ra.n_ops && ok; k++)
                ok = vs_aug_ra_apply(buf, n, S, S, ra.op[k], ra.magnitude[k]) == VS_OK;
            for (int f = 0; f < n && ok; f++) {
                uint8_t *img = buf + (size_t)f * S * S * 3;
                if (text) {
                    vs_aug_rng tr = text_rng;
                    ok = vs_aug_text_overlay(ast, img, S, S, &tr) == VS_OK;
                }
                if (ok && blur > 0) ok = vs_aug_gaussian_blur(img, S, S, blur) == VS_OK;
            }
            if (!ok || vs_extract_frames(st, buf, n, feat) != VS_OK ||
                vs_cliptrain_add_view(t, i, feat, n, R, D) != VS_OK) {
                fprintf(stderr, "vidsim train-clip: --views: %s: %s\n", ad->src.v[i], vs_last_error());
                break;
            }
        }
        vs_free(frames);
    }
    cli_progress_end(&prog);
    rc = 0;
out:
    free(buf);
    free(feat);
    vs_aug_state_free(ast);
    vs_aug_resources_free(res);
    vs_extract_state_free(st);
    vs_extractor_free(ex);
    return rc;
}

/* One step of the loop (train_loop.h): progress text from the running mean of the
 * stage's loss (restarted when the stage changes), and the CSV log line. */
typedef struct clip_loop {
    vs_cliptrain *t;
    FILE *logf;
    double ema;          /* -1 before the stage's first step */
    vs_clip_stage last;
} clip_loop;

static vs_status clip_step(void *user, long *done, char *what, size_t n) {
    clip_loop *c = user;
    float loss;
    vs_clip_stage st;
    vs_status s = vs_cliptrain_step(c->t, &loss, &st);
    if (s != VS_OK) return s;
    if (st != c->last) c->ema = -1, c->last = st;
    c->ema = c->ema < 0 ? loss : 0.95 * c->ema + 0.05 * loss;
    *done = vs_cliptrain_done(c->t);
    const char *name = st == VS_CLIP_STAGE_PREDMAE ? "predmae" : "fcs";
    if (c->logf) fprintf(c->logf, "%ld,%s,%.6f\n", *done, name, loss);
    snprintf(what, n, "%s loss %.4f", name, c->ema);
    return VS_OK;
}

static vs_status clip_save(void *user, const char *path) {
    return vs_cliptrain_save(((clip_loop *)user)->t, path);
}

int cmd_train_clip(int argc, char **argv) {
    const char *feat = NULL, *index = NULL, *out = NULL, *stage = "both", *logp = NULL;
    int resume = 0, every = 25, n_views = 0, threads = 2;
    vs_cliptrain_params p = vs_cliptrain_default_params();
    vs_clipmodel_config cfg = vs_clipmodel_default_config();
    long iters = -1;
    static const char *const valopts[] = {"--features", "--index", "-o", "--out", "--stage", "--iters", "--batch",
                                          "--lr", "--seg-clips", "--margin", "--clip-weight", "--shotmix", "--pip",
                                          "--mask-ratio", "--width", "--depth", "--heads", "--pool", "--seed",
                                          "--every", "--views", "-j", "--log", NULL};
    static const char *const C = "train-clip";
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg(C, argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "--features")) feat = v;
        else if (!strcmp(a, "--index")) index = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--stage")) {
            static const char *const st[] = {"predmae", "fcs", "both"};
            if (cli_parse_choice(C, a, v, st, 3) < 0) bad = 2;
            stage = v;
        } else if (!strcmp(a, "--iters")) bad = cli_parse_long(C, a, v, 0, LONG_MAX, &iters);
        else if (!strcmp(a, "--batch")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &p.batch);
        else if (!strcmp(a, "--lr")) {
            double x;
            if (!(bad = cli_parse_pos_double(C, a, v, &x))) p.lr = (float)x;
        } else if (!strcmp(a, "--seg-clips")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &p.seg_clips);
        else if (!strcmp(a, "--margin")) bad = cli_parse_float(C, a, v, -HUGE_VAL, HUGE_VAL, &p.margin);
        else if (!strcmp(a, "--clip-weight")) bad = cli_parse_float(C, a, v, 0, HUGE_VAL, &p.clip_weight);
        else if (!strcmp(a, "--shotmix")) bad = cli_parse_float(C, a, v, 0, 1, &p.shotmix_p);
        else if (!strcmp(a, "--pip")) bad = cli_parse_float(C, a, v, 0, 1, &p.pip_p);
        else if (!strcmp(a, "--mask-ratio")) bad = cli_parse_float(C, a, v, 0, 1, &p.mask_ratio);
        else if (!strcmp(a, "--mse")) p.predmae_mse = 1;
        else if (!strcmp(a, "--width")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &cfg.width);
        else if (!strcmp(a, "--depth")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &cfg.depth);
        else if (!strcmp(a, "--heads")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &cfg.heads);
        else if (!strcmp(a, "--pool")) {
            static const char *const pl[] = {"cls", "mean"};
            int k = cli_parse_choice(C, a, v, pl, 2);
            if (k < 0) bad = 2;
            else cfg.pool = k == 1 ? VS_CLIP_POOL_MEAN : VS_CLIP_POOL_CLS;
        } else if (!strcmp(a, "--seed")) {
            unsigned long long x;
            if (!(bad = cli_parse_u64(C, a, v, &x))) p.seed = x;
        } else if (!strcmp(a, "--every")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &every);
        else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "--views")) bad = cli_parse_int(C, a, v, 0, INT_MAX, &n_views);
        else if (!strcmp(a, "-j")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &threads);
        else if (!strcmp(a, "--log")) logp = v;
        else bad = cli_unknown_option(C, a);
        if (bad) return 2;
    }
    if (!out) return cli_usage_error(C, "-o MODEL is required");
    if ((!feat) == (!index))
        return cli_usage_error(C, feat ? "give --features or --index, not both"
                                    : "--features DIR or --index DIR is required");
    if (!strcmp(stage, "predmae")) p.stages = VS_CLIP_STAGE_PREDMAE;
    else if (!strcmp(stage, "fcs")) p.stages = VS_CLIP_STAGE_FCS;
    else p.stages = VS_CLIP_STAGE_PREDMAE | VS_CLIP_STAGE_FCS;
    if (iters >= 0) p.iters_predmae = p.iters_fcs = iters;
    cfg.mlp = 4 * cfg.width;
    char ckpt[PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    if (resume && access(ckpt, F_OK) != 0) {
        fprintf(stderr, "vidsim train-clip: --resume: no checkpoint %s\n", ckpt);
        return 1;
    }
    vs_cliptrain *t = NULL;
    vs_clipmodel *m = NULL;
    FILE *logf = NULL;
    int rc = 1;
    /* on resume only the iteration counts may change (when given) */
    vs_cliptrain_params *pres = NULL;
    vs_cliptrain_params rp;
    if (resume && iters >= 0) {
        rp = p;
        pres = &rp;
    }
    added ad;
    memset(&ad, 0, sizeof ad);
    if (add_videos(&t, &ad, &cfg, resume ? pres : &p, ckpt, resume, feat, index) < 0) goto done;
    if (n_views > 0 && build_views(t, &ad, n_views, p.seed, threads) < 0) goto done;
    if (logp && !(logf = fopen(logp, resume ? "a" : "w"))) {
        fprintf(stderr, "vidsim train-clip: cannot write %s\n", logp);
        goto done;
    }
    if (logf && !resume) fprintf(logf, "step,stage,loss\n");
    clip_loop cl = {t, logf, -1, 0};
    cli_train_loop loop = {"train-clip", "it", CLI_TRAIN_STOP_BEFORE_STEP, vs_cliptrain_done(t),
                           vs_cliptrain_total(t), every, 0, ckpt, logf, &cl, clip_step, clip_save};
    cli_train_result res = cli_train_run(&loop);
    if (res != CLI_TRAIN_DONE) {
        rc = cli_train_exit(res);
        goto done;
    }
    if (vs_cliptrain_model(t, &m) != VS_OK || vs_clipmodel_save(m, out) != VS_OK) {
        fprintf(stderr, "vidsim train-clip: %s\n", vs_last_error());
        goto done;
    }
    rc = 0;
done:
    if (logf && fclose(logf) != 0 && rc == 0) {
        fprintf(stderr, "vidsim train-clip: cannot write %s\n", logp);
        rc = 1;
    }
    vs_clipmodel_free(m);
    vs_cliptrain_free(t);
    cli_list_free(&ad.src);
    free(ad.T);
    return rc;
}
