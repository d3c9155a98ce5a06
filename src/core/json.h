/*
 * json.h - a small JSON reader (RFC 8259 plus Python's NaN / Infinity / -Infinity
 * literals, which json.dump writes) that builds a tree of vs__json nodes. Used for
 * queries.json and converted dataset annotations. Private; not installed.
 *
 * It does not write JSON, keep comments, or preserve number text: numbers become
 * doubles. Objects keep member order; with duplicate keys vs__json_get returns the
 * last one (as Python's json.load does).
 */
#ifndef VS_CORE_JSON_H
#define VS_CORE_JSON_H

#include "core/internal.h"

typedef enum {
    VS__JSON_NULL,
    VS__JSON_BOOL,
    VS__JSON_NUM,
    VS__JSON_STR,
    VS__JSON_ARR,
    VS__JSON_OBJ
} vs__json_type;

typedef struct vs__json vs__json;
struct vs__json {
    vs__json_type type;
    int line;          /* 1-based line where the value starts */
    int boolean;       /* VS__JSON_BOOL */
    double num;        /* VS__JSON_NUM */
    char *str;         /* VS__JSON_STR: UTF-8, NUL-terminated */
    size_t len;        /* VS__JSON_STR: bytes, without the NUL */
    size_t n;          /* VS__JSON_ARR / OBJ: number of items */
    vs__json **items;  /* [n] values */
    char **keys;       /* [n] member names (OBJ only) */
};

/* Parse text[len] into *out (caller frees with vs__json_free). On error *out is
 * NULL and the message reads "NAME:LINE: what is wrong". Nesting deeper than 512
 * levels is refused. */
vs_status vs__json_parse(vs__json **out, const char *text, size_t len, const char *name);

/* Read and parse a whole file; the file name is used in messages. */
vs_status vs__json_load(vs__json **out, const char *path);

void vs__json_free(vs__json *v);

/* Member of an object (the last with that key), or NULL (also if v is no object). */
const vs__json *vs__json_get(const vs__json *v, const char *key);

/* Python truthiness: null, false, 0, "", [] and {} are false. */
int vs__json_truthy(const vs__json *v);

/* "null", "bool", "number", "string", "array", "object". */
const char *vs__json_type_name(const vs__json *v);

#endif
