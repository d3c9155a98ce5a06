/*
 * json.c - recursive-descent JSON reader building a vs__json tree (see json.h).
 * Accepts what Python's json.load accepts by default, including NaN, Infinity and
 * -Infinity, and rejects control characters inside strings (strict mode). Every
 * error names the input and the line. Does not stream: the whole text is in memory.
 */
#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

typedef struct parser {
    const char *s, *end;
    int line;
    const char *name;
} parser;

static vs_status perr(parser *p, const char *what) {
    return vs__err(VS_ERR_FORMAT, "%s:%d: invalid JSON: %s", p->name, p->line, what);
}

static void skip_ws(parser *p) {
    while (p->s < p->end) {
        char c = *p->s;
        if (c == '\n') p->line++;
        else if (c != ' ' && c != '\t' && c != '\r') return;
        p->s++;
    }
}

static vs__json *new_node(parser *p, vs__json_type t) {
    vs__json *v = vs__calloc(1, sizeof *v);
    if (v) {
        v->type = t;
        v->line = p->line;
    }
    return v;
}

void vs__json_free(vs__json *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        vs__json_free(v->items[i]);
        if (v->keys) vs__free(v->keys[i]);
    }
    vs__free(v->items);
    vs__free(v->keys);
    vs__free(v->str);
    vs__free(v);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, unsigned *out) {
    if (p->end - p->s < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[i]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    p->s += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* p->s is just past the opening quote. The decoded string is never longer than
 * the raw text, so one buffer of the raw length suffices. */
static vs_status parse_string(parser *p, char **out, size_t *out_len) {
    const char *q = p->s;
    while (q < p->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
    }
    if (q >= p->end) return perr(p, "unterminated string");
    char *buf = vs__malloc((size_t)(q - p->s) + 1);
    if (!buf) return vs__err(VS_ERR_NOMEM, "%s: out of memory", p->name);
    size_t n = 0;
    while (*p->s != '"') {
        unsigned char c = (unsigned char)*p->s++;
        if (c < 0x20) {
            vs__free(buf);
            return perr(p, "control character in string");
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        char e = *p->s++;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (read_hex4(p, &cp) != 0) {
                vs__free(buf);
                return perr(p, "bad \\u escape");
            }
            /* A surrogate pair becomes one code point; a lone surrogate is kept
             * as its 3-byte form (Python keeps it too). */
            if (cp >= 0xD800 && cp < 0xDC00 && p->end - p->s >= 6 && p->s[0] == '\\' &&
                p->s[1] == 'u') {
                const char *save = p->s;
                p->s += 2;
                if (read_hex4(p, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    p->s = save;
            }
            if (cp == 0) {
                vs__free(buf);
                return perr(p, "\\u0000 in string is not supported");
            }
            n += put_utf8(buf + n, cp);
            break;
        }
        default:
            vs__free(buf);
            return perr(p, "bad escape in string");
        }
    }
    p->s++;
    buf[n] = 0;
    *out = buf;
    *out_len = n;
    return VS_OK;
}

static int match_word(parser *p, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(p->end - p->s) >= n && memcmp(p->s, w, n) == 0) {
        p->s += n;
        return 1;
    }
    return 0;
}

static vs_status parse_number(parser *p, double *out) {
    const char *s = p->s;
    if (s < p->end && *s == '-') s++;
    if (s < p->end && *s == 'I') { /* -Infinity */
        p->s = s;
        if (!match_word(p, "Infinity")) return perr(p, "bad literal");
        *out = -INFINITY;
        return VS_OK;
    }
    if (s >= p->end || !(*s >= '0' && *s <= '9')) return perr(p, "bad number");
    if (*s == '0') s++;
    else
        while (s < p->end && *s >= '0' && *s <= '9') s++;
    if (s < p->end && *s == '.') {
        s++;
        if (s >= p->end || !(*s >= '0' && *s <= '9')) return perr(p, "bad number");
        while (s < p->end && *s >= '0' && *s <= '9') s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < p->end && (*s == '+' || *s == '-')) s++;
        if (s >= p->end || !(*s >= '0' && *s <= '9')) return perr(p, "bad number");
        while (s < p->end && *s >= '0' && *s <= '9') s++;
    }
    char tmp[64];
    size_t n = (size_t)(s - p->s);
    if (n < sizeof tmp) {
        memcpy(tmp, p->s, n);
        tmp[n] = 0;
        *out = strtod(tmp, NULL);
    } else {
        char *big = vs__malloc(n + 1);
        if (!big) return vs__err(VS_ERR_NOMEM, "%s: out of memory", p->name);
        memcpy(big, p->s, n);
        big[n] = 0;
        *out = strtod(big, NULL);
        vs__free(big);
    }
    p->s = s;
    return VS_OK;
}

static vs_status push_item(parser *p, vs__json *v, size_t *cap, vs__json *item, char *key) {
    if (v->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        vs__json **ni = vs__realloc(v->items, nc * sizeof *ni);
        if (!ni) goto nomem;
        v->items = ni;
        if (v->type == VS__JSON_OBJ) {
            char **nk = vs__realloc(v->keys, nc * sizeof *nk);
            if (!nk) goto nomem;
            v->keys = nk;
        }
        *cap = nc;
    }
    v->items[v->n] = item;
    if (v->type == VS__JSON_OBJ) v->keys[v->n] = key;
    v->n++;
    return VS_OK;
nomem:
    vs__json_free(item);
    vs__free(key);
    return vs__err(VS_ERR_NOMEM, "%s: out of memory", p->name);
}

static vs_status parse_value(parser *p, vs__json **out, int depth);

static vs_status parse_container(parser *p, vs__json *v, int depth) {
    int is_obj = v->type == VS__JSON_OBJ;
    char close = is_obj ? '}' : ']';
    size_t cap = 0;
    vs_status st;
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        return VS_OK;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        skip_ws(p);
        if (is_obj) {
            if (p->s >= p->end || *p->s != '"') return perr(p, "expected a member name");
            p->s++;
            if ((st = parse_string(p, &key, &klen)) != VS_OK) return st;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') {
                vs__free(key);
                return perr(p, "expected ':'");
            }
            p->s++;
        }
        vs__json *item;
        if ((st = parse_value(p, &item, depth + 1)) != VS_OK) {
            vs__free(key);
            return st;
        }
        if ((st = push_item(p, v, &cap, item, key)) != VS_OK) return st;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            return VS_OK;
        }
        return perr(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static vs_status parse_value(parser *p, vs__json **out, int depth) {
    vs_status st = VS_OK;
    *out = NULL;
    if (depth > MAX_DEPTH) return perr(p, "nested too deeply");
    skip_ws(p);
    if (p->s >= p->end) return perr(p, "unexpected end of input");
    char c = *p->s;
    vs__json_type t = c == '{'   ? VS__JSON_OBJ
                      : c == '[' ? VS__JSON_ARR
                      : c == '"' ? VS__JSON_STR
                      : (c == 't' || c == 'f') ? VS__JSON_BOOL
                      : c == 'n' ? VS__JSON_NULL
                                 : VS__JSON_NUM;
    vs__json *v = new_node(p, t);
    if (!v) return vs__err(VS_ERR_NOMEM, "%s: out of memory", p->name);
    switch (t) {
    case VS__JSON_OBJ:
    case VS__JSON_ARR: st = parse_container(p, v, depth); break;
    case VS__JSON_STR:
        p->s++;
        st = parse_string(p, &v->str, &v->len);
        break;
    case VS__JSON_BOOL:
        if (match_word(p, "true")) v->boolean = 1;
        else if (!match_word(p, "false")) st = perr(p, "bad literal");
        break;
    case VS__JSON_NULL:
        if (!match_word(p, "null")) st = perr(p, "bad literal");
        break;
    case VS__JSON_NUM:
        if (match_word(p, "NaN")) v->num = NAN;
        else if (match_word(p, "Infinity")) v->num = INFINITY;
        else st = parse_number(p, &v->num);
        break;
    }
    if (st != VS_OK) {
        vs__json_free(v);
        return st;
    }
    *out = v;
    return VS_OK;
}

vs_status vs__json_parse(vs__json **out, const char *text, size_t len, const char *name) {
    parser p = {text, text + len, 1, name ? name : "<json>"};
    *out = NULL;
    /* Python's json.load on a file opened as UTF-8 refuses a BOM; accept it quietly. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.s += 3;
    vs__json *v;
    vs_status st = parse_value(&p, &v, 0);
    if (st != VS_OK) return st;
    skip_ws(&p);
    if (p.s != p.end) {
        vs__json_free(v);
        return perr(&p, "extra data after the value");
    }
    *out = v;
    return VS_OK;
}

vs_status vs__json_load(vs__json **out, const char *path) {
    unsigned char *buf;
    size_t len;
    *out = NULL;
    vs_status st = vs__read_file(path, &buf, &len);
    if (st != VS_OK) return st;
    st = vs__json_parse(out, (const char *)buf, len, path);
    vs__free(buf);
    return st;
}

const vs__json *vs__json_get(const vs__json *v, const char *key) {
    if (!v || v->type != VS__JSON_OBJ) return NULL;
    for (size_t i = v->n; i-- > 0;)
        if (strcmp(v->keys[i], key) == 0) return v->items[i];
    return NULL;
}

int vs__json_truthy(const vs__json *v) {
    if (!v) return 0;
    switch (v->type) {
    case VS__JSON_NULL: return 0;
    case VS__JSON_BOOL: return v->boolean;
    case VS__JSON_NUM: return v->num != 0; /* NaN is truthy in Python too */
    case VS__JSON_STR: return v->len > 0;
    case VS__JSON_ARR:
    case VS__JSON_OBJ: return v->n > 0;
    }
    return 0;
}

const char *vs__json_type_name(const vs__json *v) {
    static const char *names[] = {"null", "bool", "number", "string", "array", "object"};
    return v ? names[v->type] : "missing";
}
