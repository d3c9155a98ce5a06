/*
 * add_video.c - vs_index_add_video: fingerprint a video, skip it if its ok row is
 * unchanged, else extract its features with the caller's state and add them (or
 * record a failed row when the file cannot be decoded). Kept apart from add.c so
 * that programs adding precomputed features do not link the decoder and backbone.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <stdio.h>
#include <string.h>

/* Errors that say something about the file (recorded as a failed row), as opposed
 * to the process (out of memory, aborted, a bug), which record nothing. */
static int is_file_error(vs_status s) {
    return s == VS_ERR_DECODE || s == VS_ERR_FORMAT || s == VS_ERR_IO || s == VS_ERR_UNSUPPORTED;
}

vs_status vs_index_add_video(vs_index *idx, const vs_extractor *ex, vs_extract_state *st, const char *path,
                             int flags, vs_index_add_result *res) {
    vs_index_add_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    if (!idx || !ex || !st || !path) return vs__err(VS_ERR_INVALID_ARG, "vs_index_add_video: NULL argument");
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    vs_status s0 = vs_index_check_writable(idx); /* a damaged catalogue: refuse before extracting */
    if (s0) return s0;
    const char *model = vs_extractor_model_id(ex);
    char *abs = NULL;
    vs_features *f = NULL;
    vs_status s = vs__index_abspath(path, &abs);
    if (s) return s;
    if ((s = vs__index_check_model(idx, model, 0))) goto out;
    uint64_t hash, size;
    int64_t mtime;
    if ((s = vs_file_fingerprint(abs, &hash, &size, &mtime))) goto out; /* unreadable: no row */
    char why[sizeof res->repair_reason] = "";
    if (!(flags & VS_INDEX_FORCE)) {
        /* an unchanged video whose feature file is damaged is re-extracted (healed) */
        int u = vs__index_unchanged_intact(idx, abs, size, mtime, hash, model, res);
        if (u != 0) {
            if (u < 0) s = (vs_status)u;
            goto out;
        }
        memcpy(why, res->repair_reason, sizeof why);
    }
    s = vs_extract_video(st, abs, &f);
    if (!s && f->T <= 0) s = vs__err(VS_ERR_DECODE, "%s: no frames could be decoded", abs);
    if (s) {
        if (!is_file_error(s)) goto out;
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", vs_last_error());
        vs_status s2 = vs_index_add_failed(idx, abs, model, msg, res);
        if (s2) {
            s = s2; /* the catalogue error matters more than the video's */
            goto out;
        }
        memcpy(res->repair_reason, why, sizeof why);
        vs__err(s, "%s", msg);
        goto out;
    }
    s = vs_index_add_features(idx, abs, f, flags | VS_INDEX_FORCE, res);
    if (!s) memcpy(res->repair_reason, why, sizeof why);
out:
    vs_features_free(f);
    vs__free(abs);
    return s;
}
