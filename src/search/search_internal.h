/*
 * search_internal.h - the searcher's state shared by the files of src/search (one per
 * backend: exhaustive.c, two_stage.c, clip.c, background.c; common.c holds what they share:
 * params, notes, the skip list, query resolution). Not installed.
 */
#ifndef VS_SEARCH_INTERNAL_H
#define VS_SEARCH_INTERNAL_H

#include "vidsim/ann.h"
#include "vidsim/clipmodel.h"
#include "vidsim/hamming.h"
#include "vidsim/search.h"
#include "vidsim/simmodel.h"

#include <limits.h>
#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Growable skip list (vs_search_skips plus capacity). */
typedef struct vs__skips {
    vs_search_skips l;
    long cap;
} vs__skips;

/* Every ok video's features through the network's indexing step (exhaustive search,
 * dedup). */
typedef struct vs__corpus {
    vs_index *idx;         /* borrowed */
    vs_index_entries *es;
    vs_features **feats;   /* [es->n] loaded features of ok rows, NULL for failed rows */
    float **xs;            /* [es->n] indexed features (attention applied), NULL for failed rows */
    vs_simvideo *targets;  /* [n_ok] */
    long *target_row;      /* [n_ok] row of each target */
    long n_ok;
    int R, D;
    vs_simmodel *m;
    vs_simmodel_state *st;
} vs__corpus;

typedef struct vs__hit { long row; float score; long k; } vs__hit; /* k: index among the scored */

/* Reference-side background levels (normalize on): per row of the searcher's rows. */
typedef struct vs__bg {
    int on;
    vs_norm_table t;       /* stored values and the member set, over the ok rows */
    long *row_of;          /* [t.n] row (in es) of each table position */
    long *pos_of;          /* [es->n] table position of each row, or -1 */
    float *val;            /* [es->n] */
    unsigned char *have;   /* [es->n] 1: val known (stored or computed) */
    float *scratch;        /* [t.n_members] */
    vs_simvideo *mv;       /* [n_mv] the readable members' indexed features, back to back */
    long *mv_row;          /* [n_mv] their rows */
    long n_mv;             /* members usable (unreadable ones are left out of the set) */
    int members_loaded;
    float *raw, *rlev;     /* [es->n] the last query's raw scores and reference levels, by
                              position in its scored list */
    float qlev;            /* the last query's level */
    long n_computed;       /* values computed in memory by this searcher */
    const vs_index_entries *es; /* borrowed */
    /* frame levels (norm.h; vs_search_params.frame_levels > 0, a ViSiL_f model) */
    int frames_on;
    vs_norm_frames fr;     /* the stored ones, by table position (moved into flev when used) */
    float **flev;          /* [es->n] frame_levels * L of each row met so far, or NULL */
    long n_frames_computed; /* frame levels computed in memory by this searcher */
} vs__bg;

/* An exhaustive query between its raw scores and its ranking (vs__exhaustive_raw,
 * vs__exhaustive_finish: the MPI layer exchanges the query level in between). */
typedef struct vs__xquery {
    vs_features *qf;
    float *qx;
    int64_t self;
    int n_failed;
    int fail;              /* vs__exhaustive_finish gives VS_ERR_INTERNAL (noted already) */
} vs__xquery;

struct vs_searcher {
    vs_search_params p;    /* strings below are copies owned here */
    char *model, *hash_model, *gvec_whiten, *pca, *calib, *cmd, *models_dir;
    vs_index *idx;         /* borrowed */
    vs_index_info info;
    vs__skips skipped;
    vs_extractor *ex;      /* video queries: loaded on first use */
    vs_extract_state *est;
    char qname[PATH_MAX];  /* id of the last query */
    vs_inset inset;        /* what the last query's first view found (vs_searcher_inset): a video's
                              probe, or a .vsf's stored one (its inset block) */
    int view;              /* 2 while the query's inset view is searched (s->inset): vs__load_query
                              extracts a video's rectangle, or takes a .vsf's inset block;
                              1 while the query's mirror view is searched (vs_searcher_query):
                              vs__load_query extracts a video mirrored, or takes a .vsf's
                              mirror block */
    /* exhaustive */
    vs__corpus c;
    int fused;             /* segments with visil_f, symmetric: one pass (vs_localize_search) */
    /* two-stage */
    vs_index_entries *es;  /* two-stage and clip: the rows */
    vs_hasher *h;
    int W;
    long n;                /* codes (rows with a code) */
    uint64_t *codes;       /* [n, W] */
    int64_t *row;          /* [n] row of es of each code */
    vs_hamming_index *hidx;
    vs_hamming_state *hst;
    vs_ann *ann;           /* gvec first stage (first_stage "gvec..."): the index over gv */
    float *gv;             /* [n_gv, D] segment vectors of the rows with them (freed once the ANN
                              index holds its copy) */
    long n_gv;             /* vectors in the ANN index (S per video, fewer for short videos) */
    long *gv_vid;          /* [n_gv] the video of each vector: its position in row[] (0..n-1) */
    float *gv_best;        /* [n] per-query scratch: a video's best part-pair score (-inf) */
    long *gv_touch;        /* [n] per-query scratch: the videos whose gv_best is set */
    int gv_S;              /* segments per video (params.gvec_segments, resolved) */
    vs_gvec_whiten *whiten; /* the learned whitening of gv and the query's vectors, or NULL */
    int gvec;              /* 1: first stage by global vectors, not codes */
    char ann_spec[600];    /* the vs_ann spec in use */
    vs_simmodel *m;
    vs_simmodel_state *st, *st1; /* threads as asked; one thread */
    float **xs;            /* [es->n] stage-2 cache of indexed features, or NULL */
    int *T;                /* [es->n] their frame counts; -1: failed to load */
    float **times;         /* [es->n] */
    double *fps, *dur;     /* [es->n] */
    int R, D;              /* of the first loaded features (0 until then) */
    long K;
    vs_hamming_hit *hh;
    vs_simvideo *targets;
    long *cand;
    vs_search_timing timing;
    /* clip */
    vs_clipmodel *cm;
    float **cv;            /* [es->n] clip vectors [cn[r], d] or NULL */
    int *cn;
    vs__bg bg;
    /* per-query scratch */
    vs__hit *hits;
    float *sims;
    float *rsims; /* the reverse direction of symmetric scores, as many as sims */
    vs_loc_video *lv;
    vs_segment **segs;
    int *nsegs;
    vs__xquery xq;         /* exhaustive: the query between raw scores and ranking */
};

/* searcher.c */
void vs__search_note(const vs_searcher *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void vs__skips_add(vs__skips *l, const vs_index_entry *e, const char *why, const vs_searcher *note_to);
void vs__skips_free(vs__skips *l);
int vs__entry_vanished(const vs_searcher *s, vs_index *idx, const vs_index_entry *e);
/* The query's mirror view (vs_search_params.mirror_view): whether q has one (a video
 * file, extracted mirrored; a .vsf with a mirror block, vs_extract_params.mirror_view;
 * another .vsf or an indexed name has none), and the merge of the
 * two views' results: a := per reference the better hit of a and b (b's hits moved or
 * freed), best first, the top `top` kept (0: all). The top K of the maximum is in the
 * union of each view's top K, so merging two top-K lists is exact. */
int vs__mirror_source(const char *q);
/* A result's hit: free its segments and name (and zero it); the order of a result's
 * hits, best score first, ties by catalogue id ascending (a merge of views or shards). */
void vs__search_hit_free(vs_search_hit *h);
int vs__cmp_search_hit(const void *a, const void *b);
vs_status vs__merge_views(vs_search_result *a, vs_search_result *b, long top);
/* The end of extra view v's search (1 mirror, 2 inset; vs_searcher_query and
 * vs_dist_search_query): a failed inset view is dropped (best effort: an inset whose
 * frames cannot be used adds nothing) and VS_OK returned, another failure's status is
 * returned; a result b is merged into a when both are there (MPI ranks other than 0 hold
 * none), except that a view whose best score does not beat a's best is dropped (it adds
 * nothing but chances of false matches). b is freed. */
vs_status vs__view_done(vs_search_result *a, vs_search_result *b, vs_status st, int v, long top);

vs_status vs__open_simmodel(vs_simmodel **m, vs_simmodel_state **st, const char *model, int threads,
                            int precision, float temporal);
float *vs__index_features(vs_simmodel_state *st, const vs_features *f);
/* Features of query q (see vs_searcher_query); s->qname gets its id, *self its row id
 * when indexed (else -1). Failures are noted. */
vs_status vs__load_query(vs_searcher *s, const char *q, vs_features **qf, int64_t *self);
/* Rows hits [nh] of es (sorted already, cut to top) into a new result; segs for hits
 * come later. */
vs_status vs__result_new(vs_searcher *s, const vs_index_entries *es, const vs__hit *hits, long nh,
                         vs_search_result **out);
int vs__cmp_hit(const void *a, const void *b);
/* hits [nh] from sims [n] (rows row[k] or cand), threshold, sort, top: returns nh */
long vs__rank(const vs_searcher *s, vs__hit *hits, const float *sims, const long *rows, long n,
              const vs_index_entries *es, int64_t self);
double vs__whole_duration(const vs_loc_video *v);

/* background.c: the reference-side levels of rows es (borrowed), stored ones read; the
 * frame levels too when m (the similarity model in use; NULL: none) is a ViSiL_f one and
 * s->p.frame_levels > 0 */
vs_status vs__bg_open(vs_searcher *s, const vs_index_entries *es, const vs_simmodel *m);
void vs__bg_free(vs__bg *b);
/* Indexed features of row for computing a missing level (the corpus or the stage-2
 * cache); NULL when the row cannot be read. */
typedef const float *(*vs__bg_features_fn)(vs_searcher *s, long row, int *T);
/* Normalise sims [n] of rows [n] in place: s - bg(query) - bg(row); the query's level
 * from sims itself, leaving out the row with id self; missing row levels computed
 * against the members (features through fn). Segment scores segs[k] [nsegs[k]] move
 * with their pair (segs may be NULL). */
vs_status vs__bg_apply(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn, float *sims,
                       const long *rows, long n, int64_t self, vs_segment **segs, const int *nsegs);

/* vs__bg_apply with the query's level given (qlev: from every shard's candidates). */
vs_status vs__bg_apply_level(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn,
                             float *sims, const long *rows, long n, float qlev, vs_segment **segs, const int *nsegs);
/* The scores of sims [n] (rows [n]) that can enter a query's level (vs_norm_stat: not the
 * row with id self, not NaN, < copy_above), the best skip + n of them, into out
 * [skip + n]; returns how many. vs_norm_stat over every shard's candidates equals the
 * level over all the scores. */
long vs__bg_candidates(const vs_searcher *s, const float *sims, const long *rows, long n, int64_t self, float *out);

/* Fill raw, query_level and ref_level of r's hits (hits [r->n]: the ranked scored list
 * positions) from the last vs__bg_apply; raw = score when normalisation is off. */
void vs__bg_explain(const vs_searcher *s, vs_search_result *r, const vs__hit *hits);
/* The frame levels of rows [n] (stored, or computed against the members) into the lev of
 * targets [n] and of lv [n] (either may be NULL): the levels the pairs are scored with.
 * Sets NULL levels when frame levels are off. VS_ERR_FORMAT naming the index and the
 * video when a stored one does not fit its features. */
vs_status vs__bg_frames(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn,
                        const long *rows, long n, vs_simvideo *targets, vs_loc_video *lv);
/* The reference-side level of one row (computed if missing); 0 when normalisation is off. */
vs_status vs__bg_level(vs_searcher *s, vs_simmodel_state *st, int R, int D, vs__bg_features_fn fn, long row,
                       float *out);

/* exhaustive.c */
vs_status vs__corpus_open(vs__corpus *c, const vs_searcher *s, vs_index *idx, const char *model, int threads,
                          vs__skips *skipped);
void vs__corpus_free(vs__corpus *c);
vs_status vs__exhaustive_create(vs_searcher *s);
vs_status vs__exhaustive_query(vs_searcher *s, const char *q, vs_search_result **out);
/* The query in two halves (shards, dist.h): the raw scores of this searcher's shard
 * (status as vs_searcher_query's; *nc gets the level candidates, vs__bg_candidates, into
 * cand [skip + n]), then, given the level of the query over all shards, the ranked
 * result of this shard (top hits, normalised, localised). finish frees the query's state;
 * vs__exhaustive_drop frees it without a result. */
vs_status vs__exhaustive_raw(vs_searcher *s, const char *q, float *cand, long *nc);
vs_status vs__exhaustive_finish(vs_searcher *s, float qlev, vs_search_result **out);
void vs__exhaustive_drop(vs_searcher *s);
/* dedup over the ranks (dist.h): this rank computes the similarity rows i and the levels
 * of the videos i with i % size == rank; exchange (called on every rank, ok 0 when this
 * rank failed) fills rank 0's sim [n*n] and lev [n] with the others' rows and returns
 * VS_OK when every rank succeeded. On rank 0 the result is vs_dedup's; elsewhere it has
 * no pairs. */
typedef struct vs__dedup_split {
    int rank, size;
    vs_status (*exchange)(void *user, int ok, float *sim, float *lev, long n);
    void *user;
} vs__dedup_split;
vs_status vs__dedup_run(vs_index *idx, const vs_search_params *p, const vs__dedup_split *sp, vs_dedup_result **out);
/* two_stage.c */
vs_status vs__two_stage_create(vs_searcher *s);
vs_status vs__two_stage_query(vs_searcher *s, const char *q, vs_search_result **out);
void vs__two_stage_free(vs_searcher *s);
/* clip.c */
vs_status vs__clip_create(vs_searcher *s);
vs_status vs__clip_query(vs_searcher *s, const char *q, vs_search_result **out);
void vs__clip_free(vs_searcher *s);

#endif
