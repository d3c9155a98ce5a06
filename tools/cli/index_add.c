/*
 * index_add.c - `vidsim index add` and `vidsim index hash`: the options' work and the
 * report around vs_index_add_files (batch.h: -j workers, each video committed in its
 * own transaction; unchanged files skipped, failures listed at the end, exit 1;
 * Ctrl-C stops cleanly and finished videos stay indexed), then the hash codes
 * (--hash-model) and the background levels of score normalisation. Also the writer
 * open that refuses a damaged catalogue up front. The backbone and precision follow
 * the index's model id unless named (a named one that differs is refused, naming
 * the index and both ids); a new index gets inception at vs_backbone_default_precision.
 * --calib FILE is the int8 calibration, as extract's (vs_extract_params.calib_path; part
 * of an int8 model id, so a later add to that index names it again).
 * Dispatch: cmd_index.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "hasher.h"
#include "search_print.h"
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
#include "dist_cli.h"
#include "vidsim/dist.h"

static bool abort_requested(void *user) {
    (void)user;
    return cli_stop_requested();
}

typedef struct {
    cli_list files;
    int verbose;           /* print one line per finished video on stdout */
    char **errors;         /* [n] failure text or NULL */
    char **repairs;        /* [n] why an unchanged video's damaged feature file was replaced, or NULL */
    vs_index_outcome *outcome; /* [n] 0 if not done */
    long *frames;          /* [n] */
    vs_extract_stats timing; /* summed over the extracted videos (--timing) */
    long n_timed;
    cli_progress prog;
} add_jobs;

/* One finished video, after its commit (vs_index_add_files calls this one at a time). */
static void add_item(const vs_batch_item *it, void *user) {
    add_jobs *js = user;
    int i = it->i;
    const char *in = js->files.v[i];
    if (it->error[0]) js->errors[i] = strdup(it->error);
    if (it->add->repair_reason[0]) js->repairs[i] = strdup(it->add->repair_reason);
    js->outcome[i] = it->status == VS_ERR_ABORTED ? 0 : it->add->outcome ? it->add->outcome : VS_INDEX_FAILED;
    js->frames[i] = it->add->n_frames;
    if (it->stats) {
        vs_extract_stats_add(&js->timing, it->stats);
        js->n_timed++;
    }
    if (js->verbose && js->outcome[i]) {
        /* printed after the commit: a line here means the row is durable */
        static const char *names[] = {"", "added", "replaced", "unchanged", "failed"};
        cli_progress_end(&js->prog);
        printf("%s %s\n", names[js->outcome[i]], in);
        fflush(stdout);
    }
    cli_progress_update(&js->prog, it->done, it->total, cli_basename(in));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Drop inputs that name the same file twice (a file and its folder, "./a" and "a"). */
static void dedupe(cli_list *l) {
    for (int i = 0; i < l->n; i++) {
        char *r = realpath(l->v[i], NULL);
        if (r) {
            free(l->v[i]);
            l->v[i] = r;
        }
    }
    qsort(l->v, l->n, sizeof(char *), cmp_str);
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        if (k > 0 && !strcmp(l->v[k - 1], l->v[i])) {
            free(l->v[i]);
            continue;
        }
        l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* The subcommands' usage, one entry each: `vidsim index SUB --help` prints only its
 * own, `vidsim index --help` all of them. */
/* `index hash` on an open writable index (also the tail of `index add --hash-model`). */
static int hash_pass(vs_index *idx, const char *cmd, const char *hash_model, int jobs, int force) {
    cli_hasher h;
    if (cli_hasher_open(&h, cmd, hash_model, idx)) return 1;
    int rc = cli_hash_index(idx, cmd, &h, jobs, force);
    cli_hasher_close(&h);
    return rc;
}

/* Open dir for writing and refuse a damaged catalogue before any work (the library
 * checks again before its first write): 0, or 1 with the message printed. */
int cli_index_open_writer(vs_index **idx, const char *dir, int flags, const char *cmd) {
    if (vs_index_open(idx, dir, flags) == VS_OK && vs_index_check_writable(*idx) == VS_OK) return 0;
    fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
    vs_index_close(*idx);
    *idx = NULL;
    return 1;
}

int cli_index_hash(const char *dir, const char *hash_model, int jobs, int force) {
    vs_index *idx;
    if (cli_index_open_writer(&idx, dir, 0, "index hash")) return 1;
    int rc = hash_pass(idx, "index hash", hash_model, jobs, force);
    vs_index_close(idx);
    return rc;
}


/* The bundled weights' base name of backbone name b ("inception" -> "inception_v3"),
 * or NULL for an unknown name. */
static const char *backbone_base(const char *b, char *buf, size_t n) {
    char w[64];
    if (!b || vs_model_files(b, w, sizeof w, NULL, 0) != VS_OK) return NULL;
    snprintf(buf, n, "%.*s", (int)(strlen(w) - 5), w); /* minus ".vstf" */
    return buf;
}

int cli_index_add_model(const char *index_model, const char *backbone, const char *precision, char *name, size_t n,
                        int *prec) {
    vs_model_id id;
    const int have = index_model && index_model[0] && vs_model_id_parse(&id, index_model) == VS_OK;
    char base[64], ibase[64], b[64];
    snprintf(b, sizeof b, "%s", backbone ? backbone : have ? id.backbone : "inception");
    char *dash = strrchr(b, '-'); /* "inception-int8", as in model ids */
    if (dash && vs_precision_parse(dash + 1) >= 0) {
        if (!precision && backbone) precision = dash + 1;
        *dash = 0;
    }
    if (!backbone_base(b, base, sizeof base)) return -1;
    snprintf(name, n, "%s", base);
    if (precision) *prec = vs_precision_parse(precision);
    else if (have && backbone_base(id.backbone, ibase, sizeof ibase) && !strcmp(base, ibase)) *prec = id.precision;
    else *prec = vs_backbone_default_precision(base);
    return *prec < 0 ? -1 : 0;
}

void cli_index_add_follow_model(vs_extractor **ex, const char *model_id, int named, const vs_extract_params *p) {
    if (!model_id[0] || named || !strcmp(model_id, vs_extractor_model_id(*ex))) return;
    vs_model_locator loc = cli_models();
    vs_extractor *lx = NULL;
    if (vs_extractor_load_for_model(&lx, &loc, model_id, NULL, p) == VS_OK) {
        vs_extractor_free(*ex);
        *ex = lx;
    }
}

int cli_index_add(const char *dir, char **pos, int npos, int jobs, const char *backbone, const char *precision,
                  const char *pca_arg, const char *calib, int raw, double fps, double min_std, int threads, int force,
                  int verbose, const char *hash_model, int no_bg) {
    if (vs_dist_size() > 1 && !cli_index_add_leading()) /* mpirun -np N (docs/mpi.md) */
        return cli_index_add_dist(dir, pos, npos, jobs, backbone, precision, pca_arg, calib, raw, fps, min_std,
                                  threads, force, verbose, hash_model, no_bg);
    char bb[PATH_MAX], pca[PATH_MAX];
    if (backbone && cli_backbone_files(backbone, bb, sizeof bb, pca, sizeof pca)) {
        fprintf(stderr, "vidsim index add: unknown backbone '%s' (inception or mobilenet)\n", backbone);
        return 2;
    }
    vs_index *idx;
    if (cli_index_open_writer(&idx, dir, VS_INDEX_CREATE, "index add")) return 1;
    int rc = 1;
    vs_extractor *ex = NULL;
    add_jobs js;
    memset(&js, 0, sizeof js);
    vs_index_info info;
    if (vs_index_get_info(idx, &info) != VS_OK) {
        fprintf(stderr, "vidsim index add: %s\n", vs_last_error());
        goto out;
    }
    if (fps <= 0) fps = info.fps > 0 ? info.fps : 1.0;
    if (info.fps > 0 && fps != info.fps) {
        fprintf(stderr, "vidsim index add: %s was built at %g frames/s, not %g (drop --fps or use another index)\n",
                dir, info.fps, fps);
        goto out;
    }
    vs_extract_params p = vs_extract_default_params();
    p.decode.fps = fps;
    p.n_threads = threads;
    p.calib_path = calib; /* --calib (int8 only): else the bundled one next to the weights */
    /* backbone and precision: as named, else the index's (its model id), else inception
     * at its default precision (int8 where the CPU runs it natively) */
    char bbname[64];
    if (cli_index_add_model(info.model_id, backbone, precision, bbname, sizeof bbname, &p.precision) ||
        cli_backbone_files(bbname, bb, sizeof bb, pca, sizeof pca)) {
        fprintf(stderr, "vidsim index add: %s: model %s names an unknown backbone\n", dir, info.model_id);
        goto out;
    }
    if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
    if (min_std >= 0) p.min_frame_std = (float)min_std;
    p.abort_fn = abort_requested;
    if (vs_extractor_load(&ex, bb, raw ? NULL : pca, &p) != VS_OK) {
        fprintf(stderr, "vidsim index add: %s%s\n", vs_last_error(),
                !precision && !info.model_id[0] && p.precision == VS_PRECISION_INT8 && strstr(vs_last_error(), "calibration")
                    ? " (int8 is the default for inception on this CPU; --precision fp32 needs no calibration)"
                    : "");
        goto out;
    }
    cli_index_add_follow_model(&ex, info.model_id, backbone || precision || pca_arg || raw, &p);
    if (info.model_id[0] && strcmp(info.model_id, vs_extractor_model_id(ex)) != 0) {
        /* an explicit backbone, precision or whitening other than the index's */
        char named[2 * PATH_MAX + 96] = "";
        size_t k = 0;
        if (backbone) k += (size_t)snprintf(named + k, sizeof named - k, " --backbone %s", backbone);
        if (precision && k < sizeof named) k += (size_t)snprintf(named + k, sizeof named - k, " --precision %s", precision);
        if (pca_arg && !raw && k < sizeof named) k += (size_t)snprintf(named + k, sizeof named - k, " --pca %s", pca_arg);
        if (calib && p.precision == VS_PRECISION_INT8 && k < sizeof named)
            k += (size_t)snprintf(named + k, sizeof named - k, " --calib %s", calib);
        if (raw && k < sizeof named) snprintf(named + k, sizeof named - k, " --raw");
        char named_gives[2 * PATH_MAX + 128];
        snprintf(named_gives, sizeof named_gives, "%s gives", named + 1);
        fprintf(stderr, "vidsim index add: %s was built with model %s; %s %s (%s, or use another index)\n", dir,
                info.model_id, named[0] ? named_gives : "the bundled model files give", vs_extractor_model_id(ex),
                named[0] ? "drop the option to follow the index's model"
                         : "it was made with another whitening or int8 calibration, given with --pca or --calib");
        goto out;
    }
    long swept = 0;
    if (vs_index_sweep(idx, &swept) != VS_OK) {
        fprintf(stderr, "vidsim index add: %s\n", vs_last_error());
        goto out;
    }
    if (swept) fprintf(stderr, "removed %ld leftover file(s) of an interrupted run\n", swept);
    cli_collect_inputs(&js.files, pos, npos);
    dedupe(&js.files);
    int n = js.files.n;
    js.verbose = verbose;
    js.errors = calloc(n + 1, sizeof(char *));
    js.repairs = calloc(n + 1, sizeof(char *));
    js.outcome = calloc(n + 1, sizeof(vs_index_outcome));
    js.frames = calloc(n + 1, sizeof(long));
    if (jobs > n) jobs = n > 0 ? n : 1;
    if (!js.errors || !js.repairs || !js.outcome || !js.frames) {
        fprintf(stderr, "vidsim index add: out of memory\n");
        goto out;
    }
    cli_stop_guard stop_guard;
    cli_stop_begin(&stop_guard);
    cli_progress_init(&js.prog, "videos");
    double t0 = cli_now();
    vs_batch_params bp = vs_batch_default_params();
    bp.n_jobs = jobs;
    bp.on_item = add_item;
    bp.user = &js;
    bp.abort_fn = abort_requested;
    /* vs_index_add_files, or over the MPI ranks with rank 0 committing (dist.h) */
    vs_status ast = vs_dist_index_add(idx, ex, (const char *const *)js.files.v, n, force ? VS_INDEX_FORCE : 0, &bp);
    if (ast && ast != VS_ERR_ABORTED) fprintf(stderr, "vidsim index add: %s\n", vs_last_error());
    double dt = cli_now() - t0;
    cli_progress_end(&js.prog);
    cli_stop_end(&stop_guard);
    int cnt[5] = {0}, nfail = 0, nleft = 0, nrep = 0;
    long frames = 0;
    for (int i = 0; i < n; i++) {
        if (js.repairs[i]) nrep++;
        if (js.errors[i]) nfail++;
        else if (!js.outcome[i]) nleft++;
        else cnt[js.outcome[i]]++;
        if (js.outcome[i] == VS_INDEX_ADDED || js.outcome[i] == VS_INDEX_REPLACED) frames += js.frames[i];
    }
    char healed[64] = "";
    if (nrep) snprintf(healed, sizeof healed, " (%d repaired)", nrep);
    fprintf(stderr, "%s: %d added, %d replaced%s, %d unchanged, %d failed of %d videos; %ld frames in %.1f s\n", dir,
            cnt[VS_INDEX_ADDED], cnt[VS_INDEX_REPLACED], healed, cnt[VS_INDEX_UNCHANGED], nfail, n, frames, dt);
    if (cli_index_timing) cli_print_extract_timing(stderr, "index add", &js.timing, js.n_timed, dt, jobs);
    if (nrep) {
        /* unchanged videos whose feature file was missing or damaged: re-extracted */
        fprintf(stderr, "repaired (unchanged, but the feature file in the index was missing or damaged, so the video "
                        "was extracted again):\n");
        for (int i = 0; i < n; i++)
            if (js.repairs[i])
                fprintf(stderr, "  %s: %s%s\n", js.files.v[i], js.repairs[i],
                        js.errors[i] ? " (extracting it again failed: see below)" : "");
    }
    if (nfail) {
        fprintf(stderr, "failed:\n");
        for (int i = 0; i < n; i++)
            if (js.errors[i]) fprintf(stderr, "  %s\n", js.errors[i]);
    }
    if (cli_stop_requested()) fprintf(stderr, "interrupted: %d videos not processed (run the same command again to finish)\n", nleft);
    rc = cli_stop_requested() ? 130 : nfail || n == 0 || (ast && ast != VS_ERR_ABORTED) ? 1 : 0;
    if (n == 0) fprintf(stderr, "vidsim index add: no video files in the given paths\n");
    if (hash_model && !cli_stop_requested() && n > 0 && hash_pass(idx, "index add", hash_model, jobs, 0) && !rc) rc = 1;
    /* the added videos' background levels (score normalisation), against the index's
     * stored member set, or a new one while the index has none */
    if (!no_bg && !cli_stop_requested() && n > 0) {
        int b = cli_background_pass(idx, "index add", "visil_f", 1, jobs, 0, 1);
        if (b && !rc) rc = b == 130 ? 130 : 1;
    }
    /* compressed fine features by default, once the index is big enough to learn its
     * codebook from (vs_index_compress_auto, docs/compression.md) */
    if (!cli_index_no_compress && !cli_stop_requested() && n > 0) {
        vs_index_compress_report cr;
        int done = 0;
        if (vs_index_compress_auto(idx, &cr, &done) != VS_OK) {
            fprintf(stderr, "vidsim index add: compressing the features: %s\n", vs_last_error());
            if (!rc) rc = 1;
        } else if (done) {
            fprintf(stderr, "compressed the index's features (%s, codebook %s): %.1f KB per video-minute\n", cr.codec,
                    cr.codebook_id, cr.minutes > 0 ? cr.bytes_after / 1024.0 / cr.minutes : 0.0);
        }
    }
out:
    if (js.errors)
        for (int i = 0; i < js.files.n; i++) free(js.errors[i]);
    if (js.repairs)
        for (int i = 0; i < js.files.n; i++) free(js.repairs[i]);
    free(js.errors);
    free(js.repairs);
    free(js.outcome);
    free(js.frames);
    cli_list_free(&js.files);
    vs_extractor_free(ex);
    vs_index_close(idx);
    return rc;
}

