/*
 * norm.h - one score scale for all queries: score normalisation against a background
 * (docs/search.md "Score normalisation").
 *
 * A raw similarity score means different things for different videos: a static
 * slate, a talking head or a dark clip scores high against everything, a busy clip
 * low. Detection at one threshold over all queries (what μAP measures and what
 * users run) needs scores on one scale. As in the ISC21/VSC22 descriptor-track
 * practice, each side of a pair is measured against a background of unrelated
 * videos and that level is subtracted:
 *
 *     s'(q, r) = s(q, r) - bg(q) - bg(r)
 *
 * bg(v) is the mean of v's scores against the background ranked skip+1 .. skip+n
 * (defaults: best 1 dropped, mean of the next 10), after scores at or above
 * copy_above (0.8: near-identical videos) are left out: how well the video matches the
 * nearest things that are not its copy. Dropping the best keeps one true copy inside
 * the background from cancelling itself; the cut keeps several.
 *
 * The index is its own background:
 *   - query side: the query's own scored list (every indexed video in an exhaustive
 *     search, the re-ranked candidates in a two-stage one); free.
 *   - reference side: each indexed video's scores against the index's *members* (itself
 *     left out). The member set is fixed when it is first built: the first max_members
 *     ok videos by catalogue id, i.e. every ok video with an id up to a cutoff. Videos
 *     added later are not members, so adding one costs its own value only (vs_norm_build,
 *     run by `vidsim index add` and `vidsim index background`). Values are stored as
 *     index extras of kind "bg" whose model id names the similarity model, direction,
 *     params, cutoff and a signature of the member ids (vs_norm_extra_model): another
 *     model, or a member removed since, never reads stale values.
 *
 *     vs_norm_params p = vs_norm_default_params();
 *     float qbg = vs_norm_stat(scores, n, &p);            // the query's level
 *     for (k...) scores[k] -= qbg + ref_bg[k];
 */
#ifndef VIDSIM_NORM_H
#define VIDSIM_NORM_H

#include "vidsim/index.h"
#include "vidsim/simmodel.h"
#include "vidsim/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_norm_params {
    int skip;          /* best scores left out of the background level (1) */
    int n;             /* scores averaged after those (10); 1 <= skip + n <= 256 */
    float copy_above;  /* scores >= this are copies, not background: left out first (0.8;
                          no effect on the dev benchmark, where unrelated pairs stay below
                          0.25, but a collection holding one video several times, e.g. in
                          several containers, would otherwise measure it against itself) */
    long max_members;  /* reference side: background members, the first ok videos by id (512) */
    float temporal;    /* the ViSiL_f temporal weight the levels are measured with
                          (vs_simmodel_params.temporal; VS_TEMPORAL_DEFAULT): part of the
                          stored values' model id, so levels of one scorer never serve
                          another. Ignored for ViSiL model files. The searcher sets it from
                          vs_search_params.temporal */
    int frames;        /* vs_norm_build: also the frame levels (1; ViSiL_f models only; see
                          "Frame levels" below) */
} vs_norm_params;

VS_API vs_norm_params vs_norm_default_params(void);
/* VS_ERR_INVALID_ARG naming the bad field. */
VS_API vs_status vs_norm_check_params(const vs_norm_params *p);

/* Named operating points of the normalised ViSiL_f score (symmetric, default params),
 * with the default temporal weight and frame levels, measured on the dev benchmark's five
 * draws (docs/search.md "Operating points"): "p90" -0.040, "p95" -0.015, "p99" 0.030
 * (pair precision 0.91 / 0.95 / 0.99). Returns 1 and
 * sets *threshold when name is one of them, else 0 (threshold untouched). The one table
 * that search, dedup, the server and the bindings read. */
VS_API int vs_norm_operating_point(const char *name, double *threshold);
/* The default threshold of dedup on normalised scores: the "p90" point. */
#define VS_NORM_DEDUP_POINT "p90"

/* Background level of a score list [n]: the mean of its scores below p->copy_above
 * ranked skip+1 .. skip+p->n (descending; ties in any order), over fewer when the list
 * is shorter; 0 when no more than skip are left (nothing to measure against). NaN
 * scores are ignored. */
VS_API float vs_norm_stat(const float *scores, long n, const vs_norm_params *p);

/* The extras model id for values of similarity model model_tag ("visil_f", or what
 * vs_norm_model_tag gives for a model file) in direction sym (1: symmetric), params p,
 * and the member set of ok videos with ids <= upto whose ids hash to member_sig. */
VS_API void vs_norm_extra_model(char *out, size_t n, const char *model_tag, int sym,
                                const vs_norm_params *p, int64_t upto, uint64_t member_sig);
/* Tag of a similarity model: "visil_f" for the builtin, else "file:" + base name + ":"
 * + content fingerprint. VS_ERR_IO when the file cannot be read. */
VS_API vs_status vs_norm_model_tag(char *out, size_t n, const char *model);

/* Signature of member ids [n] (FNV-1a over the ids). */
VS_API uint64_t vs_norm_members_sig(const int64_t *ids, long n);

/* Background level of one indexed video v against members [n_members] (indexed
 * videos; self: v's position among them, or -1), symmetric or query->member direction,
 * as vs_simmodel_similarity scores them. scratch: [n_members] floats. */
VS_API vs_status vs_norm_value(vs_simmodel_state *st, float *out, const vs_simvideo *v, long self,
                               const vs_simvideo *members, long n_members, int R, int D, int sym,
                               const vs_norm_params *p, float *scratch);

/* ------------------------------------------------------------------ stored values */

/* Reference-side values of an index for one model and direction, for the ok videos
 * ids [n] (ascending) that the caller scores. */
typedef struct vs_norm_table {
    long n;
    int64_t *ids;        /* [n] ascending video ids */
    float *values;       /* [n] */
    unsigned char *have; /* [n] 1 when a stored value was found */
    long n_missing;      /* videos without a stored value */
    int stored;          /* 1: a stored member set is valid (all its members still ok) */
    int64_t upto;        /* member cutoff: members are the ok ids <= upto */
    long n_members;      /* members among ids */
    long *members;       /* [n_members] positions in ids of the members */
    char model_id[192];  /* the extras model id of the values */
} vs_norm_table;
VS_API void vs_norm_table_free(vs_norm_table *t);

/* Progress of vs_norm_build: called after each video with done/total; return nonzero
 * to stop (what was computed so far is stored). May be NULL. */
typedef int (*vs_norm_progress_fn)(void *user, long done, long total);

typedef struct vs_norm_build_report {
    long n_videos;     /* ok videos with features */
    long n_members;
    long n_computed;   /* values computed and stored this time */
    long n_frames;     /* videos whose frame levels were computed and stored this time */
    long n_kept;       /* values already stored for this member set (frame levels aside) */
    long n_skipped;    /* ok rows whose features could not be loaded (listed in the error of the next failure) */
    long n_deleted;    /* stale values (older member sets of this model) removed */
    int stopped;       /* progress asked to stop */
} vs_norm_build_report;

/* Compute and store the reference-side values of every ok video of a writable index
 * that has none for the current member set (all when force; force also starts a new
 * member set), for similarity model model ("visil_f" or a model file), direction sym,
 * over threads threads. The member set is kept while all its members are ok; otherwise
 * (none yet, or a member removed) a new one is made from the first p->max_members ok
 * videos and values of other member sets of the same model, direction and params are
 * deleted. Stored in batches, each its own transaction: a killed build keeps what it
 * stored. */
VS_API vs_status vs_norm_build(vs_index *idx, const char *model, int sym, const vs_norm_params *p,
                               int threads, int force, vs_norm_progress_fn progress, void *user,
                               vs_norm_build_report *rep);

/* Find the stored member set for (model_tag, sym, p) and read the stored values for the
 * ok videos ids [n] (ascending; the index's ok videos that the caller scores). When no
 * valid set is stored, out->stored is 0, every value is missing and the members are the
 * first p->max_members of ids. VS_ERR_FORMAT naming the index and video when a stored
 * value is damaged (`vidsim index verify --repair` removes it). */
VS_API vs_status vs_norm_load(vs_index *idx, const char *model_tag, int sym, const vs_norm_params *p,
                              const int64_t *ids, long n, vs_norm_table *out);

/* ------------------------------------------------------------------ frame levels */

/* Frame levels: the reference-side level per frame (docs/search.md "Frame levels").
 *
 * A video level bg(r) says how well a reference matches unrelated videos as a whole; a
 * frame level says it for one frame j of an indexed video v:
 *
 *     L_v[j] = mean of the p->n largest  max_u f2f(v, m)[j, u]  over the members m != v
 *              that are not copies of v, none skipped
 *
 * (f2f: vs_simmodel_f2f, v's frames as rows, no temporal weight; computed over the state's
 * threads by vs_simmodel_f2f_rowmax; a copy: a member whose
 * Chamfer score from v, the mean over j of those maxima, is at or above p->copy_above,
 * as for the video level). With fewer than p->n such members (a small index, or features
 * on which most videos pass the copy cut, e.g. --raw) every L_v[j] is 0. Search subtracts
 * beta * L_r[j] from every cell of the reference's frame j (vs_simvideo.lev, beta =
 * vs_search_params.frame_levels) before the temporal mix and the Chamfer: a reference
 * frame that looks like everything (a dark shot, a title card, a talking head) counts for
 * less in every pair, a distinctive one keeps its value. The video levels are measured
 * without frame levels (the stored "bg" values do not depend on them).
 *
 * Stored as index extras of kind "fbg", F32 [T, 1] per video, beside the video levels they
 * go with (vs_norm_frames_model: the same model, direction, params and member set), by
 * vs_norm_build. */

/* The weight of the frame levels that search uses by default (vs_search_params.frame_levels). */
#define VS_FRAME_LEVELS_DEFAULT 0.5f

/* L_v [v->T] of indexed video v against members [n_members] (self: v's position among
 * them, or -1). 0 for every frame when fewer than p->n members are left. */
VS_API vs_status vs_norm_frame_levels(vs_simmodel_state *st, float *out, const vs_simvideo *v, long self,
                                      const vs_simvideo *members, long n_members, int R, int D,
                                      const vs_norm_params *p);

/* The extras model id of the frame levels that go with video-level table t: its model
 * id (model, direction, params, member set) + "|frames". They live and go with that set. */
VS_API void vs_norm_frames_model(char *out, size_t n, const vs_norm_table *t);

/* Stored frame levels for the videos of t (same order as t->ids). */
typedef struct vs_norm_frames {
    long n;
    float **lev;         /* [n] each [T[k]] or NULL (not stored) */
    int *T;              /* [n] */
    long n_missing;
    char model_id[224];
} vs_norm_frames;
VS_API void vs_norm_frames_free(vs_norm_frames *f);

/* Read the stored frame levels for t's videos and member set. VS_ERR_FORMAT naming the
 * index and video when one is damaged or malformed. */
VS_API vs_status vs_norm_load_frames(vs_index *idx, const vs_norm_table *t, vs_norm_frames *out);

#ifdef __cplusplus
}
#endif

#endif
