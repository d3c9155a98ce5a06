/*
 * eval_internal.h - private pieces shared by the files of src/eval: a CSV record
 * reader that splits text the way Python's csv module does, Python's float()
 * grammar, a string interner and a hash map from (query, ref) id pairs to slots,
 * and the layout of the opaque eval objects.
 */
#ifndef VS_EVAL_INTERNAL_H
#define VS_EVAL_INTERNAL_H

#include "core/internal.h"
#include "vidsim/eval.h"

/* ---- CSV (Python csv.reader, default dialect, file opened in text mode) ---- */
typedef struct vs__csv {
    const char *s, *end;
    int line;          /* physical line of the next character (1-based) */
    char *buf;         /* field bytes of the current record, NUL-separated */
    size_t buf_cap;
    size_t *offs;      /* start of each field in buf */
    size_t n_cap;
} vs__csv;

void vs__csv_init(vs__csv *c, const char *text, size_t len);
void vs__csv_free(vs__csv *c);
/* Next record: 1 and *n_fields / *fields (valid until the next call) and *line (where
 * the record starts); 0 at the end; a negative status on failure. A blank line gives
 * a record of 0 fields, as csv.reader gives []. */
int vs__csv_next(vs__csv *c, const char ***fields, size_t *n_fields, int *line,
                 vs_status *st);

/* Python float(s): surrounding whitespace, optional sign, digits with single '_'
 * between them, inf / infinity / nan in any case. 0 on success, -1 if invalid. */
int vs__parse_pyfloat(const char *s, double *out);

/* ---- string interner: distinct strings get ids 0, 1, 2, ... ---- */
typedef struct vs__strtab {
    char **strs;       /* [n] owned */
    size_t n, cap;
    int32_t *slots;    /* open addressing, -1 empty */
    size_t n_slots;
} vs__strtab;

void vs__strtab_free(vs__strtab *t);
/* Id of s, adding it if absent (*id >= 0). */
vs_status vs__strtab_intern(vs__strtab *t, const char *s, int32_t *id);
/* Id of s or -1. */
int32_t vs__strtab_find(const vs__strtab *t, const char *s);

/* ---- (a, b) id pair -> int32 value ---- */
typedef struct vs__pairmap {
    uint64_t *keys;
    int32_t *vals;     /* -1 empty */
    size_t n, n_slots;
} vs__pairmap;

void vs__pairmap_free(vs__pairmap *m);
/* Slot value of (a, b), or -1. */
int32_t vs__pairmap_get(const vs__pairmap *m, int32_t a, int32_t b);
/* Set (a, b) -> v when absent; *existing gets the old value or -1. */
vs_status vs__pairmap_put(vs__pairmap *m, int32_t a, int32_t b, int32_t v, int32_t *existing);

/* ---- the opaque objects ---- */
struct vs_eval_gt {
    vs__strtab ids;    /* query and ref ids share one table */
    vs__pairmap pos;   /* (query, ref) -> 1 for each positive pair */
    int32_t *pq, *pr;  /* [n_pos] the pairs */
    size_t n_pos, cap;
};

struct vs_eval_pred {
    vs__strtab ids;
    vs__pairmap idx;   /* (query, ref) -> index into the arrays */
    int32_t *q, *r;    /* [n] */
    double *score;     /* [n] best score of the pair */
    size_t n, cap;
};

typedef struct vs__eval_query {
    char *id;
    int positive;      /* ref_id is truthy */
    char **edits;      /* [n_edits] distinct, for positive queries ("none" if empty) */
    size_t n_edits;
} vs__eval_query;

struct vs_eval_queries {
    vs__eval_query *q; /* [n] in file order */
    size_t n;
};

/* ---- converted dataset annotations (datasets.c loads, protocols.c scores) ---- */
enum { VS__L_ND = 1, VS__L_DS = 2, VS__L_CS = 4, VS__L_IS = 8, VS__L_DA = 16 };

typedef struct vs__idlist {
    int32_t *v;
    size_t n;
} vs__idlist;

typedef struct vs__cc_label {
    long video;
    char *label;
} vs__cc_label;

struct vs_eval_dataset {
    vs_eval_dataset_kind kind;
    vs__strtab ids;          /* every video id of the file */
    /* FIVR */
    char *ver_name[2];
    vs__idlist ver_q[2], ver_db[2];
    size_t n_ver;
    int32_t *ann_q, *ann_v;  /* [n_ann] (query, video, label bit) triples */
    unsigned char *ann_l;
    size_t n_ann;
    vs__idlist easy;
    int has_easy;
    vs__idlist da_keys;      /* FIVR: queries whose annotation has a DA entry (audio variant) */
    /* VCDB (queries, positives as triples, distractors) / EVVE / CC_WEB */
    vs__idlist queries, database, distractors;
    int32_t *ev_of;          /* EVVE: [ids.n] event of a query, -1 */
    char **ev_name;          /* EVVE: [n_ev] */
    vs__idlist *ev_q, *ev_pos;   /* EVVE: [n_ev] */
    size_t n_ev;
    long *cc_index;          /* CC_WEB: [ids.n] index number, -1 if not in the index */
    vs__cc_label **cc_gt;        /* CC_WEB: [queries.n] sorted by video */
    size_t *cc_n_gt;
    vs__idlist *cc_excl;         /* CC_WEB: [queries.n] sorted index numbers (stored as int32) */
};

#endif
