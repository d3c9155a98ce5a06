/*
 * params.c - vs_search_params_check (search.h): the one place that says which values
 * and combinations of vs_search_params the engine takes (ranges, and the fields a mode
 * reads: first_stage needs two_stage or hash_only, gvec_segments and store_clip their
 * vectors, segments the similarity model's scores). vs_searcher_create, vs_dedup and
 * vs_pair_compare call it; the front ends (`vidsim search`, `vidsim serve`, the Python
 * binding) call it too and only parse their strings into the fields. Messages start
 * with the field's name, so that a front end may put its own option name in its place.
 */
#include "core/internal.h"
#include "vidsim/search.h"

#include <math.h>
#include <string.h>

static const char *mode_name(vs_search_mode m) {
    switch (m) {
    case VS_SEARCH_EXHAUSTIVE: return "exhaustive";
    case VS_SEARCH_TWO_STAGE: return "two_stage";
    case VS_SEARCH_HASH_ONLY: return "hash_only";
    case VS_SEARCH_CLIP: return "clip";
    }
    return "?";
}

/* "gvec" or "gvec:SPEC" (a non-empty vs_ann spec) */
static int is_gvec(const char *fs) { return fs && (!strcmp(fs, "gvec") || (!strncmp(fs, "gvec:", 5) && fs[5])); }

vs_status vs_search_params_check(const vs_search_params *p) {
    if (!p) return vs__err(VS_ERR_INVALID_ARG, "vs_search_params_check: NULL params");
    const vs_search_mode m = p->mode;
    if (m != VS_SEARCH_EXHAUSTIVE && m != VS_SEARCH_TWO_STAGE && m != VS_SEARCH_HASH_ONLY && m != VS_SEARCH_CLIP)
        return vs__err(VS_ERR_INVALID_ARG, "mode must be exhaustive, two_stage, hash_only or clip (vs_search_mode 0 "
                                           "to 3), got %d", (int)m);
    if (p->top < 0) return vs__err(VS_ERR_INVALID_ARG, "top must be >= 0 (0: all), got %d", p->top);
    if (isnan(p->threshold)) return vs__err(VS_ERR_INVALID_ARG, "threshold must be a number, got NaN");
    if (p->sim_precision != VS_PRECISION_FP32 && p->sim_precision != VS_PRECISION_BF16)
        return vs__err(VS_ERR_INVALID_ARG, "sim_precision must be VS_PRECISION_FP32 or VS_PRECISION_BF16 (fp32 or "
                                           "bf16), got %d", p->sim_precision);
    if (!(p->temporal >= 0.0f && p->temporal <= 1.0f)) /* NaN fails too */
        return vs__err(VS_ERR_INVALID_ARG, "temporal must be in [0, 1] (0: the published ViSiL_f), got %g",
                       (double)p->temporal);
    if (!(p->frame_levels >= 0.0f && p->frame_levels <= 1.0f))
        return vs__err(VS_ERR_INVALID_ARG, "frame_levels must be in [0, 1] (0: none), got %g", (double)p->frame_levels);
    if (m == VS_SEARCH_TWO_STAGE && p->two_stage_k < 1)
        return vs__err(VS_ERR_INVALID_ARG, "two_stage_k must be >= 1 (the candidates re-scored per query), got %ld",
                       p->two_stage_k);
    if (p->gvec_segments < 0 || p->gvec_segments > VS_GVEC_MAX_SEGMENTS)
        return vs__err(VS_ERR_INVALID_ARG, "gvec_segments must be 1 to %d, got %d (0: the default, %d)",
                       VS_GVEC_MAX_SEGMENTS, p->gvec_segments, VS_GVEC_SEGMENTS);
    const char *fs = p->first_stage;
    if (fs && strcmp(fs, "hash") && !is_gvec(fs))
        return vs__err(VS_ERR_INVALID_ARG, "first_stage must be hash, gvec or gvec:SPEC, got '%s'", fs);
    if (fs && m != VS_SEARCH_TWO_STAGE && m != VS_SEARCH_HASH_ONLY)
        return vs__err(VS_ERR_INVALID_ARG, "first_stage %s is a stage of mode two_stage or hash_only, not of mode %s",
                       fs, mode_name(m));
    if (p->gvec_segments && !is_gvec(fs))
        return vs__err(VS_ERR_INVALID_ARG, "gvec_segments sets the vectors of first_stage gvec (gvec_segments %d, "
                                           "first_stage %s)", p->gvec_segments, fs ? fs : "not set");
    if (p->gvec_whiten && (!*p->gvec_whiten || !is_gvec(fs)))
        return vs__err(VS_ERR_INVALID_ARG, "gvec_whiten sets the whitening of first_stage gvec (gvec_whiten '%s', "
                                           "first_stage %s)", p->gvec_whiten, fs ? fs : "not set");
    if (p->store_clip && m != VS_SEARCH_CLIP && !is_gvec(fs))
        return vs__err(VS_ERR_INVALID_ARG, "store_clip stores the vectors of mode clip or of first_stage gvec (mode "
                                           "%s, first_stage %s)", mode_name(m), fs ? fs : "not set");
    if (p->segments && (m == VS_SEARCH_HASH_ONLY || m == VS_SEARCH_CLIP))
        return vs__err(VS_ERR_INVALID_ARG, "segments needs the similarity model's re-ranking, not mode %s",
                       mode_name(m));
    if (m == VS_SEARCH_CLIP) {
        const char *model = p->model ? p->model : "visil_f";
        if (strncmp(model, "clip", 4) || (model[4] && model[4] != ':') || !strcmp(model, "clip:"))
            return vs__err(VS_ERR_INVALID_ARG, "model must be clip, clip:mean, clip:bundled or clip:FILE in mode "
                                               "clip, got '%s'", model);
    }
    if (p->n_shards < 0)
        return vs__err(VS_ERR_INVALID_ARG, "n_shards must be >= 0 (0 or 1: no split), got %d", p->n_shards);
    if (p->n_shards > 1 && (p->shard < 0 || p->shard >= p->n_shards))
        return vs__err(VS_ERR_INVALID_ARG, "shard must be 0 to %d (n_shards - 1), got %d", p->n_shards - 1, p->shard);
    return VS_OK;
}

int vs_search_params_operating_points_hold(const vs_search_params *p) {
    return p && p->normalize && p->symmetric && (!p->model || !strcmp(p->model, "visil_f")) &&
           (p->mode == VS_SEARCH_EXHAUSTIVE || p->mode == VS_SEARCH_TWO_STAGE) && p->temporal == VS_TEMPORAL_DEFAULT &&
           p->frame_levels == VS_FRAME_LEVELS_DEFAULT;
}
