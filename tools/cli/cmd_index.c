/*
 * cmd_index.c - `vidsim index add|rm|ls|verify|info --index DIR ...`: the video
 * index from the command line. `add` extracts in parallel (vs_index_add_files: -j
 * workers, each with its own extraction state over one shared model); every worker
 * hands its finished video to vs_index_add_video, which writes the feature file
 * durably and commits the row in its own transaction under the index's single
 * catalogue mutex. Unchanged files are skipped, failures are recorded and listed at
 * the end (exit 1). Ctrl-C stops cleanly: finished videos stay indexed. `hash` (and
 * `add --hash-model`) stores each video's binary code for two-stage search
 * (hasher.c). Writers (add, rm, hash, verify --repair) refuse a damaged catalogue
 * up front (quick_check); `rebuild` writes a new one from the feature files.
 * Formats: docs/index.md.
 */
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
static const struct { const char *name, *text; } subs[] = {
    {"add", "  add PATH...        add videos (files or folders, walked recursively); unchanged files are skipped\n"
            "                     (unless their feature file in the index is damaged: then re-extracted)\n"
            "      -j N           videos in parallel (default: number of cores)\n"
            "      --backbone B   inception (default) or mobilenet; must match the index\n"
            "      --pca FILE     whitening file (default: the bundled one for the backbone)\n"
            "      --raw          un-whitened region vectors (no whitening file needed)\n"
            "      --fps F        frames sampled per second (default: the index's, else 1)\n"
            "      --min-frame-std S  leave out frames whose luma std is below S (default 2; 0 keeps all)\n"
            "      --threads N    backbone threads per video (default 1)\n"
            "      --force        re-extract even if unchanged\n"
            "      -v             print \"added|replaced|unchanged|failed PATH\" on stdout as each video is committed\n"
            "      --hash-model M then store every video's hash code, as `index hash`\n"
            "      --no-background  do not store the added videos' background levels (as `index\n"
            "                     background` does by default after an add; search computes missing ones)\n"},
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
    {"hash", "  hash               compute and store the binary code of every video that lacks one, for\n"
             "                     `vidsim search --two-stage` (docs/search.md)\n"
             "      --hash-model M conmh_64.vstf in the models folder (default), a model file, or the\n"
             "                     training-free baseline lsh64|lsh128|lsh256\n"
             "      -j N           videos in parallel (default: number of cores)\n"
             "      --force        recompute codes already stored\n"},
};
#define N_SUBS ((int)(sizeof subs / sizeof subs[0]))

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
static int open_writer(vs_index **idx, const char *dir, int flags, const char *cmd) {
    if (vs_index_open(idx, dir, flags) == VS_OK && vs_index_check_writable(*idx) == VS_OK) return 0;
    fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
    vs_index_close(*idx);
    *idx = NULL;
    return 1;
}

static int index_hash(const char *dir, const char *hash_model, int jobs, int force) {
    vs_index *idx;
    if (open_writer(&idx, dir, 0, "index hash")) return 1;
    int rc = hash_pass(idx, "index hash", hash_model, jobs, force);
    vs_index_close(idx);
    return rc;
}

static int index_add(const char *dir, char **pos, int npos, int jobs, const char *backbone, const char *pca_arg,
                     int raw, double fps, double min_std, int threads, int force, int verbose, const char *hash_model,
                     int no_bg) {
    char bb[PATH_MAX], pca[PATH_MAX];
    if (cli_backbone_files(backbone, bb, sizeof bb, pca, sizeof pca)) {
        fprintf(stderr, "vidsim index add: unknown backbone '%s' (inception or mobilenet)\n", backbone);
        return 2;
    }
    if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
    vs_index *idx;
    if (open_writer(&idx, dir, VS_INDEX_CREATE, "index add")) return 1;
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
    if (min_std >= 0) p.min_frame_std = (float)min_std;
    p.abort_fn = abort_requested;
    if (vs_extractor_load(&ex, bb, raw ? NULL : pca, &p) != VS_OK) {
        fprintf(stderr, "vidsim index add: %s\n", vs_last_error());
        goto out;
    }
    if (info.model_id[0] && strcmp(info.model_id, vs_extractor_model_id(ex)) != 0) {
        fprintf(stderr, "vidsim index add: %s was built with model %s; --backbone %s gives %s (use the same backbone and whitening, or another index)\n",
                dir, info.model_id, backbone, vs_extractor_model_id(ex));
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
    vs_index_add_files(idx, ex, (const char *const *)js.files.v, n, force ? VS_INDEX_FORCE : 0, &bp);
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
    rc = cli_stop_requested() ? 130 : nfail || n == 0 ? 1 : 0;
    if (n == 0) fprintf(stderr, "vidsim index add: no video files in the given paths\n");
    if (hash_model && !cli_stop_requested() && n > 0 && hash_pass(idx, "index add", hash_model, jobs, 0) && !rc) rc = 1;
    /* the added videos' background levels (score normalisation), against the index's
     * stored member set, or a new one while the index has none */
    if (!no_bg && !cli_stop_requested() && n > 0) {
        int b = cli_background_pass(idx, "index add", "visil_f", 1, jobs, 0, 1);
        if (b && !rc) rc = b == 130 ? 130 : 1;
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

static int index_rm(const char *dir, char **pos, int npos) {
    vs_index *idx;
    if (open_writer(&idx, dir, 0, "index rm")) return 1;
    int bad = 0;
    for (int i = 0; i < npos; i++) {
        vs_index_entries *es;
        if (vs_index_list(idx, pos[i], &es) != VS_OK) {
            fprintf(stderr, "vidsim index rm: %s\n", vs_last_error());
            bad++;
            continue;
        }
        if (es->n == 0) {
            fprintf(stderr, "vidsim index rm: %s: not in the index\n", pos[i]);
            bad++;
        } else if (es->n > 1) {
            fprintf(stderr, "vidsim index rm: %s is ambiguous, give the path:\n", pos[i]);
            for (long k = 0; k < es->n; k++) fprintf(stderr, "  %s\n", es->v[k].path);
            bad++;
        } else if (vs_index_remove(idx, es->v[0].id) != VS_OK) {
            fprintf(stderr, "vidsim index rm: %s\n", vs_last_error());
            bad++;
        } else {
            fprintf(stderr, "removed %s\n", es->v[0].path);
        }
        vs_index_entries_free(es);
    }
    vs_index_close(idx);
    return bad ? 1 : 0;
}

static void iso_time(int64_t ns, char *out, size_t n) {
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int index_ls(const char *dir, const char *format) {
    int jsonl = !strcmp(format, "jsonl");
    if (!jsonl && strcmp(format, "csv") != 0) {
        fprintf(stderr, "vidsim index ls: --format must be csv or jsonl\n");
        return 2;
    }
    vs_index *idx;
    vs_index_entries *es;
    if (vs_index_open(&idx, dir, VS_INDEX_READONLY) != VS_OK || vs_index_list(idx, NULL, &es) != VS_OK) {
        fprintf(stderr, "vidsim index ls: %s\n", vs_last_error());
        return 1;
    }
    FILE *o = stdout;
    if (!jsonl)
        fputs("id,name,status,frames,duration,size,mtime_ns,hash,added,path,feature_file,model_id,error\n", o);
    for (long i = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        char added[32], hash[24];
        iso_time(e->added_ns, added, sizeof added);
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)e->hash);
        if (jsonl) {
            fprintf(o, "{\"id\":%lld,\"name\":", (long long)e->id);
            cli_json_str(o, e->name);
            fprintf(o, ",\"status\":\"%s\",\"frames\":%d,\"duration\":%.3f,\"size\":%llu,\"mtime_ns\":%lld,"
                       "\"hash\":\"%s\",\"added\":\"%s\",\"path\":",
                    e->ok ? "ok" : "failed", e->n_frames, e->duration, (unsigned long long)e->size,
                    (long long)e->mtime_ns, hash, added);
            cli_json_str(o, e->path);
            fputs(",\"feature_file\":", o);
            cli_json_str(o, e->feature_file);
            fputs(",\"model_id\":", o);
            cli_json_str(o, e->model_id);
            fputs(",\"error\":", o);
            cli_json_str(o, e->error);
            fputs("}\n", o);
        } else {
            fprintf(o, "%lld,", (long long)e->id);
            cli_csv_str(o, e->name);
            fprintf(o, ",%s,%d,%.3f,%llu,%lld,%s,%s,", e->ok ? "ok" : "failed", e->n_frames, e->duration,
                    (unsigned long long)e->size, (long long)e->mtime_ns, hash, added);
            cli_csv_str(o, e->path);
            fputc(',', o);
            cli_csv_str(o, e->feature_file);
            fputc(',', o);
            cli_csv_str(o, e->model_id);
            fputc(',', o);
            cli_csv_str(o, e->error);
            fputc('\n', o);
        }
    }
    vs_index_entries_free(es);
    vs_index_close(idx);
    return fflush(o) == 0 ? 0 : 1;
}

static int index_verify(const char *dir, int repair) {
    vs_index *idx;
    vs_index_report *rep;
    /* writable: takes the directory lock, so no add is writing files while we look;
     * --repair writes, so a damaged catalogue is refused (rebuild is the way out) */
    if (repair ? open_writer(&idx, dir, 0, "index verify --repair") : vs_index_open(&idx, dir, 0) != VS_OK) {
        if (!repair) fprintf(stderr, "vidsim index verify: %s\n", vs_last_error());
        return 1;
    }
    if (vs_index_verify(idx, repair, &rep) != VS_OK) {
        fprintf(stderr, "vidsim index verify: %s\n", vs_last_error());
        vs_index_close(idx);
        return 1;
    }
    static const char *kinds[] = {"", "bad row", "orphan", "temp file", "catalogue", "bad extra"};
    long left = 0, n_cat = 0;
    for (long i = 0; i < rep->n_problems; i++) {
        n_cat += rep->problems[i].kind == VS_INDEX_CATALOGUE;
        const vs_index_problem *p = &rep->problems[i];
        if (p->kind == VS_INDEX_BAD_ROW)
            printf("%s %lld %s: %s%s\n", kinds[p->kind], (long long)p->id, p->what, p->detail,
                   p->repaired ? " (row removed)" : "");
        else if (p->kind == VS_INDEX_BAD_EXTRA)
            printf("%s %lld %s: %s%s\n", kinds[p->kind], (long long)p->id, p->what, p->detail,
                   p->repaired ? " (deleted)" : "");
        else
            printf("%s %s: %s%s\n", p->kind <= 5 ? kinds[p->kind] : "problem", p->what, p->detail,
                   p->repaired ? " (deleted)" : "");
        left += !p->repaired;
    }
    fprintf(stderr, "%s: %ld rows (%ld ok, %ld failed), %ld problems, %ld left\n", dir, rep->n_rows, rep->n_ok,
            rep->n_failed, rep->n_problems, left);
    if (n_cat)
        fprintf(stderr, "the catalogue %s/catalogue.sqlite is damaged: --repair cannot fix it and add, rm and hash refuse "
                        "to write to it; rebuild it from the feature files with `vidsim index rebuild --index %s` "
                        "(the damaged file is kept)\n", dir, dir);
    vs_index_report_free(rep);
    vs_index_close(idx);
    return left ? 1 : 0;
}

static int index_rebuild(const char *dir) {
    vs_index_rebuild_report *r;
    if (vs_index_rebuild(dir, &r) != VS_OK) {
        fprintf(stderr, "vidsim index rebuild: %s\n", vs_last_error());
        return 1;
    }
    long n_bad = 0, n_dup = 0;
    for (long i = 0; i < r->n_skipped; i++) {
        const vs_index_rebuild_skip *k = &r->skipped[i];
        printf("%s %s: %s (file kept)\n", k->duplicate ? "duplicate" : "left out", k->file, k->reason);
        if (k->duplicate) n_dup++;
        else n_bad++;
    }
    for (long i = 0; i < r->n_lost; i++)
        printf("lost %s: no usable feature file (add it again)\n", r->lost[i]);
    fprintf(stderr, "%s: rebuilt the catalogue from %ld feature files: %ld videos (%ld matched the old catalogue), "
                    "%ld files left out; model %s, %g frames/s\n",
            dir, r->n_files, r->n_rows, r->n_rows_matched, r->n_skipped, r->model_id[0] ? r->model_id : "(none)", r->fps);
    if (r->kept_as[0]) fprintf(stderr, "the old catalogue (quick_check: %s) is kept as %s\n", r->old_check, r->kept_as);
    if (r->salvage_error[0])
        fprintf(stderr, "the old catalogue could not be read to its end (%s): rows and extras past that point came back "
                        "from the feature files only\n", r->salvage_error);
    if (r->n_extras_dropped || r->salvage_error[0])
        fprintf(stderr, "stored extras: %ld kept, %ld dropped%s; recompute hash codes with `vidsim index hash --index %s`\n",
                r->n_extras_kept, r->n_extras_dropped, r->salvage_error[0] ? " (and any the old catalogue could not give)" : "",
                dir);
    else if (r->n_extras_kept)
        fprintf(stderr, "stored extras: %ld kept\n", r->n_extras_kept);
    if (r->n_failed_dropped)
        fprintf(stderr, "%ld failed rows were not restored (no features): the next `index add` of those videos retries them\n",
                r->n_failed_dropped);
    if (r->n_lost)
        fprintf(stderr, "%ld videos of the old catalogue have no usable feature file (listed as lost): `vidsim index add` "
                        "them again\n", r->n_lost);
    if (n_dup)
        fprintf(stderr, "%ld duplicate feature files were left out: `vidsim index verify --index %s --repair` deletes them\n",
                n_dup, dir);
    int rc = n_bad || r->n_lost ? 1 : 0;
    vs_index_rebuild_report_free(r);
    return rc;
}

static int index_info(const char *dir) {
    vs_index *idx;
    vs_index_info info;
    if (vs_index_open(&idx, dir, VS_INDEX_READONLY) != VS_OK || vs_index_get_info(idx, &info) != VS_OK) {
        fprintf(stderr, "vidsim index info: %s\n", vs_last_error());
        return 1;
    }
    printf("index: %s\nformat_version: %d\nmodel_id: %s\nfps: %g\nvideos_ok: %ld\nvideos_failed: %ld\n", dir,
           info.format_version, info.model_id[0] ? info.model_id : "(none yet)", info.fps, info.n_ok, info.n_failed);
    vs_index_extra_kinds *k;
    if (vs_index_list_extra_kinds(idx, &k) != VS_OK) {
        fprintf(stderr, "vidsim index info: %s\n", vs_last_error());
        vs_index_close(idx);
        return 1;
    }
    for (long i = 0; i < k->n; i++) printf("extras: %s %s %ld\n", k->v[i].kind, k->v[i].model_id, k->v[i].n);
    vs_index_extra_kinds_free(k);
    vs_index_close(idx);
    return 0;
}

/* Which options each subcommand takes (besides --index and --help). */
static int sub_takes(const char *sub, const char *opt) {
    static const struct { const char *sub, *opts; } t[] = {
        {"add", " -j --backbone --pca --fps --threads --force --raw -v --verbose --hash-model --no-background --min-frame-std "},
        {"rm", " "},
        {"ls", " --format "},
        {"verify", " --repair "},
        {"rebuild", " "},
        {"info", " "},
        {"hash", " --hash-model -j --force "},
        {"background", " --model --direction -j --force "},
    };
    char key[64];
    if (strlen(opt) + 3 > sizeof key) return 0;
    snprintf(key, sizeof key, " %s ", opt);
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
        if (!strcmp(t[k].sub, sub)) return strstr(t[k].opts, key) != NULL;
    return 0;
}

int cmd_index(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("index", "no COMMAND given (add, rm, ls, verify, rebuild, info, hash or background)");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout, -1);
        return 0;
    }
    const char *sub = argv[1], *dir = NULL, *backbone = "inception", *pca = NULL, *format = "csv", *hash_model = NULL;
    const int si = sub_of(sub);
    if (si < 0) {
        if (sub[0] == '-') return cli_usage_error("index", "no COMMAND given before option '%s' (add, rm, ls, "
                                                           "verify, rebuild, info, hash or background)", sub);
        return cli_usage_error("index", "unknown command '%s' (add, rm, ls, verify, rebuild, info, hash or background)", sub);
    }
    char cmd[32];
    snprintf(cmd, sizeof cmd, "index %s", sub);
    static const char *const valopts[] = {"--index", "-j", "--backbone", "--pca", "--fps", "--threads", "--format",
                                          "--hash-model", "--model", "--direction", "--min-frame-std", NULL};
    if (cli_wants_help(argc - 1, argv + 1, valopts)) {
        usage(stdout, si);
        return 0;
    }
    double fps = 0, min_std = -1;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), threads = 1, force = 0, repair = 0, raw = 0, verbose = 0;
    int sym = 1, no_bg = 0;
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
                sub_takes("background", a))
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
        } else if (!strcmp(a, "--pca")) pca = v;
        else if (!strcmp(a, "--fps")) bad = cli_parse_pos_double(cmd, "--fps", v, &fps);
        else if (!strcmp(a, "--min-frame-std")) bad = cli_parse_double(cmd, "--min-frame-std", v, 0, 255, &min_std);
        else if (!strcmp(a, "--threads")) bad = cli_parse_int(cmd, "--threads", v, 1, INT_MAX, &threads);
        else if (!strcmp(a, "--format")) {
            static const char *const fmts[] = {"csv", "jsonl"};
            if (cli_parse_choice(cmd, "--format", v, fmts, 2) < 0) bad = 2;
            format = v;
        } else if (!strcmp(a, "--hash-model")) hash_model = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--direction")) {
            static const char *const dirs[] = {"sym", "q2r"};
            int d = cli_parse_choice(cmd, "--direction", v, dirs, 2);
            if (d < 0) bad = 2;
            sym = d == 0;
        } else if (!strcmp(a, "--no-background")) no_bg = 1;
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
        rc = index_add(dir, pos, npos, jobs, backbone, pca, raw, fps, min_std, threads, force, verbose, hash_model, no_bg);
    } else if (!strcmp(sub, "rm")) {
        if (!npos) {
            cli_usage_error(cmd, "no PATH or NAME given (videos to remove)");
            goto out;
        }
        rc = index_rm(dir, pos, npos);
    } else if (!strcmp(sub, "ls")) rc = index_ls(dir, format);
    else if (!strcmp(sub, "verify")) rc = index_verify(dir, repair);
    else if (!strcmp(sub, "info")) rc = index_info(dir);
    else if (!strcmp(sub, "rebuild")) rc = index_rebuild(dir);
    else if (!strcmp(sub, "background")) rc = cli_index_background(dir, model, sym, jobs, force);
    else rc = index_hash(dir, hash_model, jobs, force);
out:
    free(pos);
    return rc;
}
