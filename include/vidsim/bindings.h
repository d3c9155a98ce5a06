/*
 * bindings.h - entry points for language bindings (bindings/python/vidsim.py, ctypes):
 * opaque handles, plain C strings in, JSON text out, so that a binding needs no struct
 * layouts. Everything here is built on the other public headers and adds no engine of
 * its own: search params set by name, a search result, the catalogue, a pair's
 * comparison and the add-many call as JSON (docs/bindings.md).
 * JSON strings returned through char **out are the caller's: free them with vs_free.
 * Example (C):
 *     vs_search_params *p = vs_search_params_new();
 *     vs_search_params_set(p, "top", "5");
 *     vs_search_params_set(p, "segments", "1");
 *     vs_searcher *s; vs_search_result *r; char *js;
 *     vs_searcher_create(&s, idx, p);
 *     if (vs_searcher_query(s, "copy.mp4", &r) == VS_OK && vs_search_result_json(r, &js) == VS_OK) {
 *         puts(js); vs_free(js);
 *     }
 */
#ifndef VIDSIM_BINDINGS_H
#define VIDSIM_BINDINGS_H

#include "vidsim/base.h"
#include "vidsim/index.h"
#include "vidsim/search.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Search params with vs_search_default_params()'s values; strings set through
 * vs_search_params_set are copied and owned by the object. Free with
 * vs_search_params_free (NULL ok). NULL when out of memory. */
VS_API vs_search_params *vs_search_params_new(void);
VS_API void vs_search_params_free(vs_search_params *p);
/* Set one field by name (the options of `vidsim search`): mode (exhaustive, two_stage,
 * hash_only, clip), top, threshold (a number, or p90 / p95 / p99: docs/search.md
 * "Operating points"), symmetric, normalize, segments, mirror_view, inset_view (each 0/1
 * or off/on), model, two_stage_k, hash_model, first_stage (hash, gvec or gvec:SPEC; used
 * in the two_stage and hash_only modes: set mode too), gvec_segments (1 to
 * VS_GVEC_MAX_SEGMENTS, 0: VS_GVEC_SEGMENTS), gvec_whiten (a file or off:
 * vs_search_params.gvec_whiten), sim_precision (fp32 or bf16), temporal (0 to
 * 1: vs_search_params.temporal), frame_levels (0 to 1: vs_search_params.frame_levels), store_gvec
 * and store_clip (0/1 or off/on; both set store_clip: computed gvec or clip vectors are
 * stored, the index must be writable), threads, pca, calib, models_dir. VS_ERR_INVALID_ARG
 * naming the key and value when either is bad. */
VS_API vs_status vs_search_params_set(vs_search_params *p, const char *key, const char *value);

/* {"query_id": ..., "n_skipped": N, "hits": [{"ref_id", "video_id", "score", "raw",
 * "query_level", "ref_level", "segments":
 * [{"query_start", "query_end", "ref_start", "ref_end", "score"}]}]} (segments only when
 * the search made them; NaN and infinities as null). */
VS_API vs_status vs_search_result_json(const vs_search_result *r, char **out);

/* The catalogue: {"model_id", "fps", "n_ok", "n_failed", "videos": [{"id", "name",
 * "path", "ok", "frames", "duration", "error"}]}. */
VS_API vs_status vs_index_json(vs_index *idx, char **out);

/* Add the videos paths [n] to a writable index with n_jobs workers (vs_index_add_files)
 * and store their background levels (norm.h) unless no_background: the extractor is the
 * one of the index's model, or for an empty index the bundled one of backbone
 * ("inception" or "mobilenet", optionally with a precision as in model ids:
 * "inception-fp32"; NULL: "inception"), found in models_dir (NULL: ./models), at that
 * precision or else vs_backbone_default_precision's (int8 for inception on a CPU with
 * VNNI/AMX), as `vidsim index add`. A backbone or precision named for an index whose
 * model differs is refused (VS_ERR_INVALID_ARG, naming the index, its model id and the
 * backbone asked for). *out: {"added":
 * N, "replaced": N, "unchanged": N, "failed": N, "videos": [{"path", "outcome", "error"}]}
 * in input order. A video that fails is reported there, not as the call's status. */
VS_API vs_status vs_index_add_json(vs_index *idx, const char *const *paths, int n, int n_jobs,
                                   const char *backbone, const char *models_dir, int no_background,
                                   char **out);
/* The same with calib, the int8 calibration file of the extractor (`vidsim index add
 * --calib FILE`, vs_extract_params.calib_path; NULL: the bundled calib_BACKBONE.vstf);
 * read for an int8 model only. Part of an int8 model id: for an index that has one, a
 * calibration that gives another id is refused (VS_ERR_INVALID_ARG naming both ids), a
 * missing or damaged file is an error naming it. */
VS_API vs_status vs_index_add_json_calib(vs_index *idx, const char *const *paths, int n, int n_jobs,
                                         const char *backbone, const char *models_dir, const char *calib,
                                         int no_background, char **out);

/* Compare two videos or feature files (.vsf) with p's model and direction (p may be
 * NULL: ViSiL_f, symmetric): {"a", "b", "score", "a_to_b", "b_to_a", "segments": [...]}
 * (segments with p->segments or p NULL). A video is extracted with the model of the
 * other input when that is a .vsf, else with the bundled inception extractor from
 * models_dir (NULL: ./models) at vs_backbone_default_precision (as `vidsim compare`). The raw similarity: normalisation needs an
 * index. */
VS_API vs_status vs_compare_json(const char *a, const char *b, const vs_search_params *p, const char *models_dir,
                                 char **out);

#ifdef __cplusplus
}
#endif

#endif
