/*
 * index_maint.c - `vidsim index rm|ls|verify|rebuild|info|compress`: removing videos,
 * listing the catalogue (CSV or JSON Lines), checking and repairing it, writing a new
 * one from the feature files, the index-wide facts, and compressing the features
 * (docs/compression.md). Formats: docs/index.md. Dispatch:
 * cmd_index.c.
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
#include "index_cli.h"

int cli_index_rm(const char *dir, char **pos, int npos) {
    vs_index *idx;
    if (cli_index_open_writer(&idx, dir, 0, "index rm")) return 1;
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

int cli_index_ls(const char *dir, const char *format) {
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

int cli_index_verify(const char *dir, int repair) {
    vs_index *idx;
    vs_index_report *rep;
    /* writable: takes the directory lock, so no add is writing files while we look;
     * --repair writes, so a damaged catalogue is refused (rebuild is the way out) */
    if (repair ? cli_index_open_writer(&idx, dir, 0, "index verify --repair") : vs_index_open(&idx, dir, 0) != VS_OK) {
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

int cli_index_rebuild(const char *dir) {
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

int cli_index_info(const char *dir) {
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
    if (info.codec[0]) printf("codec: %s\ncodebook_id: %s\n", info.codec, info.codebook_id);
    for (long i = 0; i < k->n; i++) printf("extras: %s %s %ld\n", k->v[i].kind, k->v[i].model_id, k->v[i].n);
    vs_index_extra_kinds_free(k);
    vs_index_close(idx);
    return 0;
}

/* Which options each subcommand takes (besides --index and --help). */

static void compress_progress(double done, double total, void *user) {
    cli_progress_update(user, done, total, NULL);
}
static bool compress_stop(void *user) {
    (void)user;
    return cli_stop_requested() != 0;
}

int cli_index_compress(const char *dir, const char *codec, long max_train) {
    vs_index *idx;
    if (cli_index_open_writer(&idx, dir, 0, "index compress")) return 1;
    vs_index_compress_params p = vs_index_compress_default_params();
    p.codec = codec;
    if (max_train > 0) p.train.max_train = max_train;
    cli_progress prog;
    cli_progress_init(&prog, "videos");
    p.progress_fn = compress_progress;
    p.progress_user = &prog;
    p.abort_fn = compress_stop; /* Ctrl-C stops between videos; a rerun finishes */
    p.abort_user = NULL;
    cli_stop_guard g;
    cli_stop_begin(&g);
    vs_index_compress_report r;
    vs_status s = vs_index_compress(idx, &p, &r);
    cli_stop_end(&g);
    cli_progress_end(&prog);
    vs_index_close(idx);
    if (s) {
        fprintf(stderr, "vidsim index compress: %s\n", vs_last_error());
        return s == VS_ERR_ABORTED ? 130 : 1;
    }
    printf("index: %s\ncodec: %s\ncodebook_id: %s\ncodebook: %s\nvideos_encoded: %ld\nvideos_already: %ld\n"
           "videos_failed: %ld\nbytes_before: %llu\nbytes_after: %llu\nminutes: %.3f\nkb_per_minute: %.1f\n",
           dir, r.codec, r.codebook_id, r.trained ? "trained" : "stored", r.n_encoded, r.n_already, r.n_failed,
           (unsigned long long)r.bytes_before, (unsigned long long)r.bytes_after, r.minutes,
           r.minutes > 0 ? r.bytes_after / 1024.0 / r.minutes : 0.0);
    if (r.trained) printf("training_vectors: %ld\n", r.n_train);
    if (r.n_failed)
        fprintf(stderr, "vidsim index compress: %ld feature files did not load and were left as they are: "
                        "`vidsim index verify --index %s` says why\n", r.n_failed, dir);
    return r.n_failed ? 1 : 0;
}
