/*
 * cmd_train.c - `vidsim train`: self-supervised S2VS training of the similarity
 * network on a folder of unlabeled videos (or the videos of an index). Builds (or
 * reloads) the augmentation bank, then runs the trainer with a progress line (loss
 * terms, iterations/s, ETA), writes an atomic checkpoint every few iterations and the
 * final model at the end. --resume continues from the checkpoint after a kill.
 * Files: MODEL (the model), MODEL.ckpt (checkpoint), MODEL.bank (bank of views).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "train_loop.h"
#include "vidsim/features.h"
#include "vidsim/index.h"
#include "vidsim/simmodel.h"
#include "vidsim/train.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim train (--videos DIR|FILE... | --index DIR) -o MODEL [options]\n"
            "  --videos P...     videos or folders of videos (unlabeled) to learn from\n"
            "  --index DIR       learn from the source videos of an index\n"
            "  -o MODEL          output model file (also MODEL.ckpt and MODEL.bank)\n"
            "  --iters N         training steps (default 1000)\n"
            "  --batch B         videos per step, 2B clips (default 16)\n"
            "  --lr X            peak learning rate (default 5e-5, the reference's)\n"
            "  --warmup N        warm-up steps (default iters/30)\n"
            "  --lambda X        weight of the hard-negative + self terms (default 3)\n"
            "  --calib G         weight of a pairwise calibration term that S2VS lacks (default 0)\n"
            "  --freeze PART     none (default), attention or comparator: that part is not trained\n"
            "  --mode M          bank (default): views computed once; online: exact, slow\n"
            "  --views W,S,V     bank views per video: weak, strong, video-in-video (2,4,1)\n"
            "  --max-frames N    frames (1 fps) kept per video (default 300)\n"
            "  --clip N          frames per training clip T_B, 4..32 (default 32, the reference's;\n"
            "                    the window is 2 T_B)\n"
            "  --init MODEL      start from this model file, or 'random' (xavier, the reference's;\n"
            "                    default) or 'chamfer' (starts as the ViSiL_f Chamfer similarity)\n"
            "  --seed S          seed of everything random (default 1)\n"
            "  -j N              threads (default: all cores)\n"
            "  --checkpoint-every N  steps between checkpoints (default 50)\n"
            "  --resume          continue from MODEL.ckpt (and reuse MODEL.bank)\n"
            "  --bank FILE       the bank file instead of MODEL.bank: loaded when it exists\n"
            "                    (its views must match --views/--max-frames/--seed), else built\n"
            "  --log FILE        append one JSON line of losses per step\n"
            "  --stop-after N    checkpoint and stop after N steps of this run (resume later)\n"
            "  --no-overlays     no text/emoji overlays (when fonts are not installed)\n"
            "  --copy-edits P    also pad, hue, grayscale, noise and low-quality edits of the strong\n"
            "                    view, each with probability P (default 0, the reference's set)\n"
            "  --backbone NAME   inception (default) or mobilenet; --pca FILE whitening\n"
            "  --holdout N       videos kept out of training for the check after it (default: a\n"
            "                    tenth, 4 to 50, when there are 20 videos or more; 0: no check): each\n"
            "                    becomes a reference with 3 edited copies as queries, and ViSiL_f and\n"
            "                    the new model are scored on them (μAP, mAP); the verdict says which\n"
            "                    to use\n");
}

/* One step of the loop (train_loop.h): the batch of iteration *done, a trainer step,
 * the progress text and the JSON log line. */
typedef struct s2vs_loop {
    vs_s2vs_data *data;
    vs_s2vs_trainer *tr;
    float *x;
    int32_t *labels;
    int batch, n, T, R, D;
    FILE *logf;
    double ts; /* start of the steps, for the log's "t" */
} s2vs_loop;

static vs_status s2vs_step(void *user, long *done, char *what, size_t nwhat) {
    s2vs_loop *c = user;
    long it = *done;
    vs_s2vs_losses L;
    vs_status s = vs_s2vs_data_batch(c->data, c->x, c->labels, c->batch, it);
    if (s == VS_OK) s = vs_s2vs_trainer_step(c->tr, c->x, c->labels, c->n, c->T, c->R, c->D, &L);
    if (s != VS_OK) return s;
    *done = it + 1;
    /* only the active terms: the calibration term is left out when its weight is 0 (also
     * after --resume, where the weight comes from the checkpoint) */
    char cal[32] = "";
    if (L.gamma > 0) snprintf(cal, sizeof cal, " cal %.3f", L.calib);
    snprintf(what, nwhat, "loss %.3f (nce %.3f hn %.3f self %.3f reg %.3f%s) lr %.2g", L.total, L.infonce,
             L.hardneg, L.self, L.reg, cal, L.lr);
    if (c->logf) {
        fprintf(c->logf, "{\"step\": %ld, \"loss\": %.6f, \"infonce\": %.6f, \"hardneg\": %.6f, \"self\": %.6f, "
                         "\"reg\": %.6f, ",
                it + 1, L.total, L.infonce, L.hardneg, L.self, L.reg);
        if (L.gamma > 0) fprintf(c->logf, "\"calib\": %.6f, ", L.calib);
        fprintf(c->logf, "\"lr\": %.6g, \"t\": %.3f}\n", L.lr, cli_now() - c->ts);
    }
    return VS_OK;
}

static vs_status s2vs_save(void *user, const char *path) {
    return vs_s2vs_trainer_save(((s2vs_loop *)user)->tr, path);
}

static int fail(const char *what) {
    fprintf(stderr, "vidsim train: %s%s%s\n", what ? what : "", what ? ": " : "", vs_last_error());
    return 1;
}

/* Move nh videos, chosen by a hash of their names and the seed (so the same inputs
 * and seed hold out the same videos on --resume), to the end of l, in name order. */
static void hold_out(cli_list *l, int nh, unsigned long long seed) {
    for (int k = 0; k < nh; k++) {
        int best = -1;
        unsigned long long hb = 0;
        for (int i = 0; i < l->n - k; i++) {
            unsigned long long h = 1469598103934665603ull ^ seed;
            for (const char *c = cli_basename(l->v[i]); *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (best < 0 || h < hb) best = i, hb = h;
        }
        char *t = l->v[best];
        memmove(l->v + best, l->v + best + 1, sizeof(char *) * (size_t)(l->n - 1 - best));
        l->v[l->n - 1] = t;
    }
}

static void holdout_progress(double done, double total, void *user) {
    cli_progress_update(user, done, total, "held-out check: decoding, editing, extracting");
}

/* The check after training: ViSiL_f against the new model on the held-out videos.
 * Returns 0 (also when the check itself could not run: it is said, the model stands). */
static int holdout_check(vs_extract_state *est, int R, int D, const char *const *videos, int nh, const vs_simmodel *m,
                         unsigned long long seed, int threads, const char *out) {
    vs_holdout_params hp = vs_holdout_default_params();
    hp.seed = seed;
    hp.n_threads = threads;
    cli_progress pr;
    cli_progress_init(&pr, "videos");
    hp.progress_fn = holdout_progress;
    hp.progress_user = &pr;
    vs_holdout_report r;
    vs_status s = vs_holdout_compare(est, R, D, videos, nh, m, &hp, &r);
    cli_progress_end(&pr);
    if (s != VS_OK) {
        fprintf(stderr, "vidsim train: the held-out check could not run: %s\n", vs_last_error());
        return 0;
    }
    double d = 100 * (r.uap_model - r.uap_baseline);
    fprintf(stderr,
            "vidsim train: held-out check on %d videos not used in training (%d edited copies as queries%s):\n"
            "  ViSiL_f (default)  uAP %.1f  mAP %.1f\n"
            "  %-18s uAP %.1f  mAP %.1f\n",
            r.n_videos, r.n_queries, r.n_failed ? ", some videos unreadable" : "", 100 * r.uap_baseline,
            100 * r.map_baseline, cli_basename(out), 100 * r.uap_model, 100 * r.map_model);
    if (fabs(d) < 0.5)
        fprintf(stderr, "  no clear difference (%+.1f uAP points): keep the default, or try more videos or steps\n", d);
    else if (d > 0)
        fprintf(stderr, "  the new model is better by %.1f uAP points: use it with --model %s\n", d, out);
    else
        fprintf(stderr, "  ViSiL_f is better by %.1f uAP points: keep the default (search without --model)\n", -d);
    return 0;
}

int cmd_train(int argc, char **argv) {
    const char *out = NULL, *index_dir = NULL, *mode = "bank", *init = NULL, *log_path = NULL;
    const char *backbone = "inception", *pca_arg = NULL, *views = "2,4,1", *bank_arg = NULL;
    long iters = 1000, warmup = -1, ckpt_every = 50, stop_after = 0;
    int batch = 16, resume = 0, no_overlays = 0, max_frames = 300, clip = VS_AUG_CLIP;
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double lr = 5e-5, lambda = 3.0, p_edit = 0.0, gamma = 0.0;
    const char *freeze = "none";
    unsigned long long seed = 1;
    int holdout = -1; /* -1: a tenth when there are 20 videos or more */
    char **vids = calloc((size_t)argc + 1, sizeof(char *));
    int nv = 0, in_videos = 0;
    if (!vids) return 1;
    static const char *const valopts[] = {"--index", "-o", "--iters", "--batch", "--lr", "--lambda", "--clip",
                                          "--freeze", "--warmup", "--mode", "--views", "--max-frames", "--init",
                                          "--seed", "-j", "--checkpoint-every", "--bank", "--stop-after", "--log",
                                          "--copy-edits", "--calib", "--backbone", "--pca", "--holdout", NULL};
    static const char *const C = "train";
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        free(vids);
        return 0;
    }
    vs_s2vs_data_params dp = vs_s2vs_data_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg(C, argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "--videos")) in_videos = 1;
        else if (!strcmp(a, "--index")) { index_dir = v; in_videos = 0; }
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--iters")) bad = cli_parse_long(C, a, v, 1, LONG_MAX, &iters);
        else if (!strcmp(a, "--batch")) bad = cli_parse_int(C, a, v, 2, INT_MAX, &batch);
        else if (!strcmp(a, "--lr")) bad = cli_parse_pos_double(C, a, v, &lr);
        else if (!strcmp(a, "--lambda")) bad = cli_parse_double(C, a, v, 0, HUGE_VAL, &lambda);
        else if (!strcmp(a, "--clip")) bad = cli_parse_int(C, a, v, 4, VS_AUG_CLIP, &clip);
        else if (!strcmp(a, "--freeze")) {
            static const char *const fr[] = {"none", "attention", "comparator"};
            if (cli_parse_choice(C, a, v, fr, 3) < 0) bad = 2;
            freeze = v;
        } else if (!strcmp(a, "--warmup")) bad = cli_parse_long(C, a, v, 0, LONG_MAX, &warmup);
        else if (!strcmp(a, "--mode")) {
            static const char *const md[] = {"bank", "online"};
            if (cli_parse_choice(C, a, v, md, 2) < 0) bad = 2;
            mode = v;
        } else if (!strcmp(a, "--views")) {
            int n = -1;
            views = v;
            if (sscanf(v, "%d,%d,%d%n", &dp.n_weak, &dp.n_strong, &dp.n_viv, &n) != 3 || n < 0 || v[n] ||
                dp.n_weak < 0 || dp.n_strong < 0 || dp.n_viv < 0 || v[0] == ' ' || v[0] == '+' || v[0] == '-')
                bad = cli_usage_error(C, "--views must be three whole numbers >= 0 as W,S,V, got '%s'", v);
        } else if (!strcmp(a, "--max-frames")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &max_frames);
        else if (!strcmp(a, "--init")) init = v;
        else if (!strcmp(a, "--seed")) bad = cli_parse_u64(C, a, v, &seed);
        else if (!strcmp(a, "-j")) bad = cli_parse_int(C, a, v, 1, INT_MAX, &threads);
        else if (!strcmp(a, "--checkpoint-every")) bad = cli_parse_long(C, a, v, 1, LONG_MAX, &ckpt_every);
        else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "--bank")) bank_arg = v;
        else if (!strcmp(a, "--stop-after")) bad = cli_parse_long(C, a, v, 0, LONG_MAX, &stop_after);
        else if (!strcmp(a, "--log")) log_path = v;
        else if (!strcmp(a, "--no-overlays")) no_overlays = 1;
        else if (!strcmp(a, "--copy-edits")) bad = cli_parse_double(C, a, v, 0, 1, &p_edit);
        else if (!strcmp(a, "--calib")) bad = cli_parse_double(C, a, v, 0, HUGE_VAL, &gamma);
        else if (!strcmp(a, "--backbone")) backbone = v;
        else if (!strcmp(a, "--pca")) pca_arg = v;
        else if (!strcmp(a, "--holdout")) bad = cli_parse_int(C, a, v, 0, INT_MAX, &holdout);
        else if ((a[0] == '-' && a[1]) || !in_videos) bad = cli_unknown_option(C, a);
        else vids[nv++] = argv[i];
        if (bad) {
            free(vids);
            return 2;
        }
    }
    if (sscanf(views, "%d,%d,%d", &dp.n_weak, &dp.n_strong, &dp.n_viv) != 3) { /* the default */
        free(vids);
        return 1;
    }
    int bad = 0;
    if (!out) bad = cli_usage_error(C, "-o MODEL is required");
    else if (!nv && !index_dir) bad = cli_usage_error(C, "--videos DIR|FILE... or --index DIR is required");
    else if (nv && index_dir) bad = cli_usage_error(C, "give --videos or --index, not both");
    if (bad) {
        free(vids);
        return 2;
    }
    dp.mode = !strcmp(mode, "online") ? VS_S2VS_ONLINE : VS_S2VS_BANK;
    dp.seed = seed;
    dp.max_frames = max_frames;
    dp.aug.clip = clip;
    dp.aug.p_edit = p_edit;
    if (no_overlays) dp.aug.p_text = dp.aug.p_emoji = 0.0;

    int rc = 1;
    cli_list inputs = {0};
    cli_train_data td = {0};
    vs_s2vs_trainer *tr = NULL;
    vs_simmodel *m0 = NULL;
    float *x = NULL;
    int32_t *labels = NULL;
    FILE *logf = NULL;
    char ckpt[PATH_MAX], bankp[PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    if (bank_arg) snprintf(bankp, sizeof bankp, "%s", bank_arg);
    else snprintf(bankp, sizeof bankp, "%s.bank", out);

    /* the videos */
    if (index_dir) {
        vs_index *idx;
        vs_index_entries *es;
        if (vs_index_open(&idx, index_dir, VS_INDEX_READONLY) != VS_OK) { rc = fail(NULL); goto done; }
        if (vs_index_list(idx, NULL, &es) != VS_OK) { vs_index_close(idx); rc = fail(NULL); goto done; }
        char **paths = calloc((size_t)es->n + 1, sizeof(char *));
        int np = 0;
        for (long i = 0; paths && i < es->n; i++)
            if (es->v[i].ok && access(es->v[i].path, R_OK) == 0) paths[np++] = (char *)es->v[i].path;
            else if (es->v[i].ok) fprintf(stderr, "vidsim train: %s: source video not readable, skipped\n", es->v[i].path);
        if (paths) cli_collect_inputs(&inputs, paths, np);
        free(paths);
        vs_index_entries_free(es);
        vs_index_close(idx);
    } else if (cli_collect_inputs(&inputs, vids, nv) != 0) {
        goto done;
    }
    /* the held-out videos (the check after training) go to the end of the list */
    int nh = holdout >= 0 ? holdout : inputs.n >= 20 ? (inputs.n / 10 < 4 ? 4 : inputs.n / 10 > 50 ? 50 : inputs.n / 10) : 0;
    if (nh == 1 || nh > inputs.n - batch) {
        fprintf(stderr, "vidsim train: --holdout %d of %d videos leaves %s (a batch needs %d videos; the check needs 2)\n",
                nh, inputs.n, nh == 1 ? "one video to check on" : "too few to train on", batch);
        goto done;
    }
    hold_out(&inputs, nh, seed);
    const int n_train = inputs.n - nh;
    if (n_train < batch) {
        fprintf(stderr, "vidsim train: %d videos found, a batch needs %d (use --batch)\n", n_train, batch);
        goto done;
    }
    if (nh) fprintf(stderr, "vidsim train: %d of %d videos held out of training for the check after it (--holdout)\n",
                    nh, inputs.n);

    /* extractor, augmentations, data */
    char bb[PATH_MAX], pca[PATH_MAX];
    if (cli_backbone_files(backbone, bb, sizeof bb, pca, sizeof pca)) {
        fprintf(stderr, "vidsim train: unknown backbone '%s'\n", backbone);
        goto done;
    }
    if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
    if (cli_train_data_open(C, &td, bb, pca, threads, no_overlays, &dp)) goto done;
    vs_s2vs_data *data = td.data;
    const int R = VS_REGIONS, D = vs_extractor_dim(td.ex);

    /* trainer: from the checkpoint, or new */
    vs_s2vs_train_params tp = vs_s2vs_train_default_params();
    tp.lr = (float)lr;
    tp.lambda = (float)lambda;
    tp.gamma = (float)gamma;
    tp.frozen = !strcmp(freeze, "attention") ? VS_S2VS_FREEZE_ATTENTION
                : !strcmp(freeze, "comparator") ? VS_S2VS_FREEZE_COMPARATOR : 0;
    tp.lr_min = (float)(0.1 * lr);
    tp.warmup_lr_init = (float)(0.01 * lr);
    tp.t_initial = iters;
    tp.warmup = warmup >= 0 ? warmup : iters / 30;
    tp.n_threads = threads;
    if (resume && access(ckpt, R_OK) == 0) {
        /* the trainer checks that this run builds its clips as the checkpoint's did */
        if (vs_s2vs_trainer_resume(&tr, ckpt, threads, &dp) != VS_OK) { rc = fail(NULL); goto done; }
        fprintf(stderr, "vidsim train: resuming %s at step %ld\n", ckpt, vs_s2vs_trainer_steps(tr));
    } else {
        vs_status s = !init || !strcmp(init, "random") ? vs_simmodel_create_random(&m0, D, seed)
                      : !strcmp(init, "chamfer")        ? vs_simmodel_create_chamfer_init(&m0, D, seed)
                                                        : vs_simmodel_load(&m0, init);
        if (s == VS_OK && (vs_simmodel_dim(m0) != D || strcmp(vs_simmodel_kind(m0), "visil"))) {
            fprintf(stderr, "vidsim train: %s has D=%d, the features have D=%d\n", init, vs_simmodel_dim(m0), D);
            goto done;
        }
        if (s != VS_OK || vs_s2vs_trainer_create(&tr, m0, &tp) != VS_OK) { rc = fail(init); goto done; }
        if (vs_s2vs_trainer_set_data(tr, &dp) != VS_OK) { rc = fail(NULL); goto done; }
    }

    /* the bank: reuse MODEL.bank on --resume (or the --bank file when it exists), else build it */
    if (dp.mode == VS_S2VS_BANK && (resume || bank_arg) && access(bankp, R_OK) == 0) {
        if (vs_s2vs_data_load(data, bankp) != VS_OK) { rc = fail(NULL); goto done; }
        fprintf(stderr, "vidsim train: bank %s: %d videos\n", bankp, vs_s2vs_data_n_videos(data));
    } else {
        cli_bank_fill(C, data, inputs.v, n_train, dp.mode == VS_S2VS_BANK);
        if (vs_s2vs_data_n_videos(data) < batch) {
            fprintf(stderr, "vidsim train: only %d usable videos for a batch of %d\n", vs_s2vs_data_n_videos(data), batch);
            goto done;
        }
        if (dp.mode == VS_S2VS_BANK && vs_s2vs_data_save(data, bankp) != VS_OK) { rc = fail(NULL); goto done; }
    }

    const int n = 2 * batch, T = dp.aug.clip;
    x = malloc(sizeof(float) * (size_t)n * T * R * D);
    labels = malloc(sizeof(int32_t) * (size_t)n * n);
    if (!x || !labels) { fprintf(stderr, "vidsim train: out of memory\n"); goto done; }
    if (log_path && !(logf = fopen(log_path, "a"))) {
        fprintf(stderr, "vidsim train: cannot open %s\n", log_path);
        goto done;
    }
    long start = vs_s2vs_trainer_steps(tr);
    double ts = cli_now();
    s2vs_loop sl = {data, tr, x, labels, batch, n, T, R, D, logf, ts};
    cli_train_loop loop = {"train", "steps", CLI_TRAIN_STOP_AFTER_STEP, start, iters, ckpt_every, stop_after,
                           ckpt, logf, &sl, s2vs_step, s2vs_save};
    cli_train_result lr_res = cli_train_run(&loop);
    if (lr_res != CLI_TRAIN_DONE) {
        rc = cli_train_exit(lr_res);
        goto done;
    }
    if (vs_simmodel_save(vs_s2vs_trainer_model(tr), out) != VS_OK) { rc = fail(NULL); goto done; }
    double dt = cli_now() - ts;
    fprintf(stderr, "vidsim train: %ld steps in %.1f s (%.2f steps/s), model written to %s\n", iters - start, dt,
            (iters - start) / (dt + 1e-9), out);
    rc = 0;
    if (nh >= 2 && holdout_check(td.est, R, D, (const char *const *)inputs.v + n_train, nh, vs_s2vs_trainer_model(tr),
                                 seed, threads, out))
        rc = 1;
done:
    if (logf) fclose(logf);
    free(x);
    free(labels);
    vs_s2vs_trainer_free(tr);
    vs_simmodel_free(m0);
    cli_train_data_close(&td);
    cli_list_free(&inputs);
    free(vids);
    return rc;
}
