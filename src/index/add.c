/*
 * add.c - adding precomputed features and failed rows to an index: pick a fresh
 * feature file name (content hash plus a random nonce, never the user's file
 * name), write it atomically and durably (vs_features_save, or compressed with the
 * index's codebook, vs__index_save_file: temp file, fsync,
 * rename, fsync of the folder), then commit the row (catalogue.c). An "unchanged"
 * video is only skipped when its row's feature file still loads and checks out
 * (vs__index_unchanged_intact); a damaged one is replaced. Extraction from
 * a video file is in add_video.c so that this file does not pull in the decoder.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t nonce64(void) {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) == (ssize_t)sizeof v) return v;
    /* fallback: time, pid and a counter mixed (collisions only matter within one index) */
    static _Atomic unsigned long ctr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x[4] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid(), ++ctr};
    return vs__fnv1a(VS__FNV_INIT, x, sizeof x);
}

int vs__index_unchanged_intact(vs_index *idx, const char *abspath, uint64_t size, int64_t mtime_ns,
                               uint64_t hash, const char *model_id, vs_index_add_result *res) {
    char *rel = NULL;
    int u = vs__index_unchanged(idx, abspath, size, mtime_ns, hash, model_id, res, &rel);
    if (u <= 0) return u;
    /* The catalogue says unchanged; the row is only worth keeping if its features
     * still load. A truncated or bit-flipped file would otherwise be skipped by every
     * add and silently dropped by every search. Reading it costs about what the
     * source fingerprint costs, far less than an extraction. */
    char *full = vs__index_join(idx->dir, rel);
    if (!full) {
        vs__free(rel);
        memset(res, 0, sizeof *res);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    char why[sizeof res->repair_reason] = "";
    vs_features *f = NULL;
    vs_status s = rel[0] ? vs__index_load_file(idx, full, &f) : vs__err(VS_ERR_FORMAT, "%s: the ok row names no feature file", abspath);
    if (s == VS_ERR_NOMEM) {
        u = s;
    } else if (s) {
        snprintf(why, sizeof why, "%s", vs_last_error());
    } else if (strcmp(f->model_id, model_id ? model_id : "") != 0) {
        snprintf(why, sizeof why, "%s: model %s, the catalogue says %s", full, f->model_id, model_id ? model_id : "");
    } else if (f->T != res->n_frames) {
        snprintf(why, sizeof why, "%s: %d frames, the catalogue says %d", full, f->T, res->n_frames);
    }
    vs_features_free(f);
    vs__free(full);
    vs__free(rel);
    if (u < 0) {
        memset(res, 0, sizeof *res);
        return u;
    }
    if (!why[0]) return 1;
    memset(res, 0, sizeof *res);
    snprintf(res->repair_reason, sizeof res->repair_reason, "%s", why);
    return 0;
}

char *vs__index_new_feature_name(uint64_t source_hash) {
    size_t n = strlen(VS__INDEX_FEATURES) + 48;
    char *rel = vs__malloc(n);
    if (rel)
        snprintf(rel, n, "%s/%016llx-%016llx.vsf", VS__INDEX_FEATURES, (unsigned long long)source_hash,
                 (unsigned long long)nonce64());
    return rel;
}

static void in_flight(vs_index *idx, int d) {
    pthread_mutex_lock(&idx->mu);
    idx->in_flight += d;
    pthread_mutex_unlock(&idx->mu);
}

vs_status vs_index_add_features(vs_index *idx, const char *path, const vs_features *f, int flags,
                                vs_index_add_result *res) {
    vs_index_add_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    if (!idx || !path || !f) return vs__err(VS_ERR_INVALID_ARG, "vs_index_add_features: NULL argument");
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    if (f->T <= 0 || f->R <= 0 || f->D <= 0 || !f->data || !f->times)
        return vs__err(VS_ERR_INVALID_ARG, "%s: empty features", path);
    char *abs = NULL, *rel = NULL, *full = NULL;
    vs_status s = vs_index_check_writable(idx); /* a damaged catalogue: refuse before writing a file */
    if (s) return s;
    s = vs__index_abspath(path, &abs);
    if (s) return s;
    if ((s = vs__index_check_model(idx, f->model_id, f->fps))) goto out;
    char why[sizeof res->repair_reason] = "";
    if (!(flags & VS_INDEX_FORCE)) {
        int u = vs__index_unchanged_intact(idx, abs, f->source_size, f->source_mtime, f->source_hash,
                                           f->model_id, res);
        if (u != 0) {
            if (u < 0) s = (vs_status)u;
            goto out;
        }
        memcpy(why, res->repair_reason, sizeof why);
    }
    size_t n = strlen(VS__INDEX_FEATURES) + 48;
    rel = vs__malloc(n);
    if (!rel) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(rel, n, "%s/%016llx-%016llx.vsf", VS__INDEX_FEATURES, (unsigned long long)f->source_hash,
             (unsigned long long)nonce64());
    if (!(full = vs__index_join(idx->dir, rel))) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    in_flight(idx, 1); /* sweep must not take this file for an orphan */
    /* the file names the row's path, so vs_index_rebuild can restore the row from it alone */
    vs_features named = *f;
    named.source = abs;
    s = vs__index_save_file(idx, &named, full); /* compressed when the index has a codebook */
    if (s) {
        vs__err_prefix(s, "%s: writing features into the index", abs);
        unlink(full); /* renamed into place but its folder not synced: no row will name it */
        in_flight(idx, -1);
        goto out;
    }
    vs__index_row r = {
        .path = abs, .size = f->source_size, .mtime_ns = f->source_mtime, .hash = f->source_hash,
        .duration = f->duration, .n_frames = f->T, .ok = 1, .error = NULL, .feature_file = rel,
        .model_id = f->model_id, .fps = f->fps,
    };
    s = vs__index_commit_row(idx, &r, res);
    if (s) unlink(full); /* never committed: nobody refers to it */
    else memcpy(res->repair_reason, why, sizeof why);
    in_flight(idx, -1);
out:
    vs__free(full);
    vs__free(rel);
    vs__free(abs);
    return s;
}

vs_status vs_index_add_failed(vs_index *idx, const char *path, const char *model_id, const char *error,
                              vs_index_add_result *res) {
    vs_index_add_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    if (!idx || !path) return vs__err(VS_ERR_INVALID_ARG, "vs_index_add_failed: NULL argument");
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    char *abs = NULL;
    vs_status s = vs__index_abspath(path, &abs);
    if (s) return s;
    uint64_t hash = 0, size = 0;
    int64_t mtime = 0;
    if (vs_file_fingerprint(abs, &hash, &size, &mtime) != VS_OK) hash = size = 0, mtime = 0;
    vs__index_row r = {
        .path = abs, .size = size, .mtime_ns = mtime, .hash = hash, .ok = 0,
        .error = error ? error : "failed", .model_id = model_id ? model_id : "",
    };
    s = vs__index_commit_row(idx, &r, res);
    vs__free(abs);
    return s;
}
