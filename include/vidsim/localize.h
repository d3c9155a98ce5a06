/*
 * localize.h - where is the copy? Copied segments of a (query, reference) pair from
 * their frame-to-frame similarity matrix: every segment is a box
 * (query_start, query_end) x (ref_start, ref_end) in seconds with a score, the
 * VSC22 matching-track output.
 *
 * Method (docs/localize.md has the measurements that chose it): a local alignment
 * in the manner of Smith-Waterman / the temporal network of VCSL. Each cell gets
 * the reward S[i,j] - theta, where theta sits between the matrix's background
 * (its median) and its peak (the mean of the upper half of its row maxima, which
 * holds for any slope and is not set by one bright cell):
 * theta = median + alpha * (peak - median), never below min_sim.
 * A path moves from cell (i,j) to (i+di, j+dj) with 1 <= di,dj <= max_step (speed
 * changes up to max_step x either way, skipped frames, short gaps; a jump costs
 * gap_penalty per skipped frame), or along one axis only ((1,0) or (0,1): pauses,
 * repeated or frozen frames) at pause_penalty. The best-scoring path, reset where
 * its running score falls to zero, is one segment: the box spanned by its cells,
 * after a run of >= trim_pauses pause moves is cut off either end and the box is
 * grown along the path's slope over weak frames that are their row's best match
 * (grow_alpha, grow_tol). Its box is then masked and the search repeated, up to
 * max_segments, keeping paths whose score is at least min_ratio of the first. A
 * matrix with no finite value, or no spread (constant), gives no segment.
 *
 * Thread safety of vs_localize_pair_matrix / _videos / _search: they use the
 * simmodel state's scratch, so one state per thread, as for every simmodel call.
 *
 * Times: cell (i,j) stands for query frame i, sampled at q_times[i], and ref frame
 * j at r_times[j]; a frame lasts q_step (r_step) seconds, so a box ends at the last
 * frame's time + step (clamped to the video's duration when one is given).
 *
 * vs_localize, vs_segments_clamp and vs_segments_rescore are pure functions of
 * their inputs: any number of threads.
 *
 * Example (tests/unit/test_localize.c calls it this way):
 *     vs_localize_params p = vs_localize_default_params();
 *     vs_segment *seg = NULL; int n = 0;
 *     if (vs_localize(&seg, &n, S, T, U, qt, 1.0, rt, 1.0, &p) == VS_OK)
 *         for (int k = 0; k < n; k++)
 *             printf("%.1f-%.1f in the query is %.1f-%.1f in the ref (%.3f)\n",
 *                    seg[k].query_start, seg[k].query_end, seg[k].ref_start,
 *                    seg[k].ref_end, seg[k].score);
 *     free(seg);
 */
#ifndef VIDSIM_LOCALIZE_H
#define VIDSIM_LOCALIZE_H

#include "vidsim/base.h"
#include "vidsim/simmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_segment {
    double query_start, query_end; /* seconds */
    double ref_start, ref_end;     /* seconds */
    float score;    /* the path's score relative to the pair's first segment, times the
                       mean similarity of its cells (see docs/localize.md); callers that
                       rank pairs replace it with a pair-level score (vidsim search) */
    float strength; /* the alignment score of the path (sum of rewards minus gaps) */
    float mean_sim; /* mean S over the path's cells */
    int q0, q1;     /* first and last query frame (row) of the path */
    int r0, r1;     /* first and last ref frame (column) */
    int n_cells;    /* cells on the path */
} vs_segment;

typedef struct vs_localize_params {
    float alpha;         /* theta between background (0) and peak (1); default 0.2 */
    float min_sim;       /* theta never below this (default -1: off) */
    int max_step;        /* largest jump along either axis, frames (default 3) */
    float gap_penalty;   /* cost per skipped frame of a jump, in similarity units
                            relative to (peak - median) (default 0.1) */
    float pause_penalty; /* cost of a one-axis move, same units (default 0.3) */
    int max_segments;    /* per pair (default 4; 0 = 1) */
    float min_ratio;     /* keep later paths scoring >= min_ratio * first (default 0.3) */
    int min_cells;       /* shortest path kept, cells (default 2; the first segment is
                            always kept when the matrix has any signal) */
    float grow_alpha;    /* after alignment, grow each box along its slope while cells stay
                            above median + grow_alpha * (peak - median); < 0 = off
                            (default 0.05) */
    float grow_tol;      /* ... and while each grown cell is within grow_tol * (peak - median)
                            of its row's maximum (default 0.1) */
    int trim_pauses;     /* a run of at least this many one-axis moves at either end of
                            a path is cut off (a static scene stretching the box along
                            one video); 0 = never (default 3) */
} vs_localize_params;

VS_API vs_localize_params vs_localize_default_params(void);

/* Segments of the T x U similarity matrix S (row-major; rows = query frames).
 * q_times [T] / r_times [U]: sample times in seconds (NULL = i * step); q_step,
 * r_step: seconds one sample stands for (> 0). *segs (caller frees with free()) gets
 * *n segments, best first; *segs is NULL when *n is 0. Bad sizes or steps give
 * VS_ERR_INVALID_ARG; NaN cells count as no match. */
VS_API vs_status vs_localize(vs_segment **segs, int *n, const float *S, int T, int U,
                             const float *q_times, double q_step, const float *r_times,
                             double r_step, const vs_localize_params *p);

/* Clamp segment ends to the videos' durations (seconds; <= 0 = leave). */
VS_API void vs_segments_clamp(vs_segment *segs, int n, double q_duration, double r_duration);

/* The similarity matrix of a pair of indexed videos (vs_simmodel_index output) as
 * the localisation uses it: the frame-to-frame map of the model (T x U), and with
 * sym the mean of the query->ref map and the transposed ref->query map (the
 * direction `vidsim search` scores by default). out [T*U] is caller-owned. */
VS_API vs_status vs_localize_pair_matrix(vs_simmodel_state *st, float *out, const float *q, int T,
                                         const float *r, int U, int R, int D, int sym);

/* Scores for ranking segments across pairs: the first (strongest) segment gets
 * pair_score, later ones pair_score * strength / first strength. */
VS_API void vs_segments_rescore(vs_segment *segs, int n, float pair_score);

/* An indexed video with its sample times, borrowed. */
typedef struct vs_loc_video {
    const float *x;      /* [T,R,D] indexed features (vs_simmodel_index) */
    int T;
    const float *times;  /* [T] seconds, or NULL (i / fps) */
    double fps;          /* sampling rate (a frame lasts 1/fps s); <= 0: 1 */
    double duration;     /* seconds, for clamping ends; <= 0: none */
    const float *lev;    /* [T] frame levels for the score (vs_simvideo.lev), or NULL */
} vs_loc_video;

/* Segments of a pair of indexed videos: vs_localize_pair_matrix, vs_localize, ends
 * clamped to the durations, and (unless pair_score is NaN) vs_segments_rescore.
 * Videos without frames give no segment. *segs is freed by the caller (free()). */
VS_API vs_status vs_localize_videos(vs_segment **segs, int *n, vs_simmodel_state *st,
                                    const vs_loc_video *q, const vs_loc_video *r, int R, int D,
                                    int sym, float pair_score, const vs_localize_params *p);

/* Score and localise one query against n targets in one pass, for the builtin
 * visil_f model and the symmetric score: per pair one set of region dot products
 * gives both directions' maps (vs_simmodel_f2f_both), hence sims[k] (the mean of the
 * two video Chamfer scores, what `vidsim search` ranks by) and the segments of the
 * mean map, rescored by sims[k]. Half the work of scoring both directions alone, so
 * localisation costs no extra pass. segs[k] / nsegs[k]: per target, caller frees
 * each segs[k] (free()); all are NULL / 0 on failure. Other models:
 * VS_ERR_UNSUPPORTED (score with vs_simmodel_similarity, then vs_localize_videos). */
VS_API vs_status vs_localize_search(vs_simmodel_state *st, const vs_simmodel *m, const vs_loc_video *q,
                                    const vs_loc_video *targets, int n, int R, int D,
                                    const vs_localize_params *p, float *sims, vs_segment **segs,
                                    int *nsegs);

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_LOCALIZE_H */
