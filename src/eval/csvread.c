/*
 * csvread.c - split CSV text into records exactly as Python's csv.reader does with
 * the default dialect on a file opened in text mode (universal newlines: \r\n and
 * a lone \r read as \n), and parse numbers with Python float()'s grammar. This is
 * what lets `vidsim eval` read gt.csv and predictions the way score.py does:
 * quoted fields with doubled quotes and embedded newlines, text after a closing
 * quote kept (non-strict mode), blank lines as empty records.
 *
 * Not supported: other dialects, NUL bytes (refused), csv's field size limit, and
 * non-ASCII digits or Unicode spaces other than NBSP in numbers.
 */
#include "eval/eval_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void vs__csv_init(vs__csv *c, const char *text, size_t len) {
    memset(c, 0, sizeof *c);
    c->s = text;
    c->end = text + len;
    c->line = 1;
    /* Python opens the file with the locale's encoding, which keeps a UTF-8 BOM as
     * a character of the first header name; we do the same (no stripping). */
}

void vs__csv_free(vs__csv *c) {
    vs__free(c->buf);
    vs__free(c->offs);
    c->buf = NULL;
    c->offs = NULL;
}

static int put_byte(vs__csv *c, size_t *n, char b) {
    if (*n + 1 >= c->buf_cap) {
        size_t nc = c->buf_cap ? 2 * c->buf_cap : 256;
        char *nb = vs__realloc(c->buf, nc);
        if (!nb) return -1;
        c->buf = nb;
        c->buf_cap = nc;
    }
    c->buf[(*n)++] = b;
    return 0;
}

static int end_field(vs__csv *c, size_t *n, size_t *nf, size_t start) {
    if (put_byte(c, n, 0) != 0) return -1;
    if (*nf == c->n_cap) {
        size_t nc = c->n_cap ? 2 * c->n_cap : 16;
        size_t *no = vs__realloc(c->offs, nc * sizeof *no);
        if (!no) return -1;
        c->offs = no;
        c->n_cap = nc;
    }
    c->offs[(*nf)++] = start;
    return 0;
}

/* Read one character with universal-newline translation; -1 at the end. */
static int getch(vs__csv *c) {
    if (c->s >= c->end) return -1;
    unsigned char ch = (unsigned char)*c->s++;
    if (ch == '\r') {
        if (c->s < c->end && *c->s == '\n') c->s++;
        ch = '\n';
    }
    if (ch == '\n') c->line++;
    return ch;
}

enum { START_RECORD, START_FIELD, IN_FIELD, IN_QUOTED, QUOTE_IN_QUOTED };

int vs__csv_next(vs__csv *c, const char ***fields, size_t *n_fields, int *line,
                 vs_status *st) {
    size_t n = 0, nf = 0, start = 0;
    int state = START_RECORD;
    *st = VS_OK;
    if (c->s >= c->end) return 0;
    *line = c->line;
    for (;;) {
        int ch = getch(c);
        if (ch == 0) {
            *st = vs__err(VS_ERR_FORMAT, "NUL byte in CSV text");
            return *st;
        }
        if (ch < 0) { /* end of input ends the record like a newline */
            if (state == START_RECORD) break;
            if (end_field(c, &n, &nf, start) != 0) goto nomem;
            break;
        }
        switch (state) {
        case START_RECORD:
            if (ch == '\n') goto done; /* blank line: [] */
            state = START_FIELD;
            /* fall through */
        case START_FIELD:
            start = n;
            if (ch == '\n') {
                if (end_field(c, &n, &nf, start) != 0) goto nomem;
                goto done;
            } else if (ch == '"') {
                state = IN_QUOTED;
            } else if (ch == ',') {
                if (end_field(c, &n, &nf, start) != 0) goto nomem;
            } else {
                if (put_byte(c, &n, (char)ch) != 0) goto nomem;
                state = IN_FIELD;
            }
            break;
        case IN_FIELD:
            if (ch == '\n') {
                if (end_field(c, &n, &nf, start) != 0) goto nomem;
                goto done;
            } else if (ch == ',') {
                if (end_field(c, &n, &nf, start) != 0) goto nomem;
                state = START_FIELD;
            } else if (put_byte(c, &n, (char)ch) != 0) {
                goto nomem;
            }
            break;
        case IN_QUOTED:
            if (ch == '"') state = QUOTE_IN_QUOTED;
            else if (put_byte(c, &n, (char)ch) != 0) goto nomem;
            break;
        case QUOTE_IN_QUOTED:
            if (ch == '"') {
                if (put_byte(c, &n, '"') != 0) goto nomem;
                state = IN_QUOTED;
            } else if (ch == ',') {
                if (end_field(c, &n, &nf, start) != 0) goto nomem;
                state = START_FIELD;
            } else if (ch == '\n') {
                if (end_field(c, &n, &nf, start) != 0) goto nomem;
                goto done;
            } else { /* non-strict: keep the character */
                if (put_byte(c, &n, (char)ch) != 0) goto nomem;
                state = IN_FIELD;
            }
            break;
        }
    }
done:
    {
        /* Turn offsets into pointers; reuse the offs array (size_t >= pointer). */
        const char **ptrs = (const char **)(void *)c->offs;
        for (size_t i = 0; i < nf; i++) ptrs[i] = c->buf + c->offs[i];
        *fields = ptrs;
        *n_fields = nf;
    }
    return 1;
nomem:
    *st = vs__err(VS_ERR_NOMEM, "out of memory reading CSV");
    return *st;
}

static int is_pyspace(const unsigned char *s, size_t *adv) {
    if (*s == ' ' || (*s >= 9 && *s <= 13) || (*s >= 28 && *s <= 31)) {
        *adv = 1;
        return 1;
    }
    if (s[0] == 0xC2 && (s[1] == 0xA0 || s[1] == 0x85)) { /* NBSP, NEL */
        *adv = 2;
        return 1;
    }
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Copy a digit run with single underscores between digits; -1 if malformed or empty. */
static int digitpart(const char **s, char *o, size_t *n, size_t cap) {
    const char *p = *s;
    if (!is_digit(*p)) return -1;
    while (is_digit(*p) || (*p == '_' && is_digit(p[1]) && p > *s)) {
        if (*p != '_') {
            if (*n + 1 >= cap) return -1;
            o[(*n)++] = *p;
        }
        p++;
    }
    *s = p;
    return 0;
}

int vs__parse_pyfloat(const char *str, double *out) {
    const unsigned char *b = (const unsigned char *)str;
    size_t adv, len = strlen(str);
    while (*b && is_pyspace(b, &adv)) b += adv;
    const unsigned char *e = (const unsigned char *)str + len;
    while (e > b) { /* trailing spaces */
        if (e - b >= 1 && (e[-1] == ' ' || (e[-1] >= 9 && e[-1] <= 13) ||
                           (e[-1] >= 28 && e[-1] <= 31))) {
            e--;
        } else if (e - b >= 2 && e[-2] == 0xC2 && (e[-1] == 0xA0 || e[-1] == 0x85)) {
            e -= 2;
        } else {
            break;
        }
    }
    char tmp[512];
    size_t n = (size_t)(e - b);
    if (n == 0 || n >= sizeof tmp) return -1;
    char core[512];
    memcpy(core, b, n);
    core[n] = 0;
    const char *s = core;
    size_t o = 0;
    if (*s == '+' || *s == '-') tmp[o++] = *s++;
    const char *words[] = {"infinity", "inf", "nan"};
    for (int i = 0; i < 3; i++)
        if (strcasecmp(s, words[i]) == 0) {
            double v = i == 2 ? (double)NAN : (double)INFINITY;
            *out = tmp[0] == '-' ? -v : v;
            return 0;
        }
    int have_int = 0;
    if (is_digit(*s)) {
        if (digitpart(&s, tmp, &o, sizeof tmp) != 0) return -1;
        have_int = 1;
    }
    if (*s == '.') {
        tmp[o++] = *s++;
        if (is_digit(*s)) {
            if (digitpart(&s, tmp, &o, sizeof tmp) != 0) return -1;
        } else if (!have_int) {
            return -1;
        }
    } else if (!have_int) {
        return -1;
    }
    if (*s == 'e' || *s == 'E') {
        tmp[o++] = *s++;
        if (*s == '+' || *s == '-') tmp[o++] = *s++;
        if (digitpart(&s, tmp, &o, sizeof tmp) != 0) return -1;
    }
    if (*s) return -1;
    tmp[o] = 0;
    errno = 0;
    *out = strtod(tmp, NULL); /* correctly rounded, as Python; overflow gives +-inf */
    return 0;
}
