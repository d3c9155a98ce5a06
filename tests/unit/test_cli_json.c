/*
 * test_cli_json.c - the CLI's JSON string and CSV field writers (tools/cli/util.c,
 * compiled into this test): fixed cases (escapes, U+FFFD for each kind of ill-formed
 * UTF-8, valid UTF-8 unchanged), then every string of up to 4 bytes over an alphabet
 * of boundary bytes, whose output must be one well-formed JSON string (checked by an
 * independent decoder that works on code point values, not byte ranges) that decodes
 * back to the input whenever the input is well-formed UTF-8.
 */
#include "../../tools/cli/util.c"

#include "test.h"

#include <stdint.h>

/* The writer's output for the bytes s (NUL-terminated), in a malloc'd string. */
static char *run(void (*w)(FILE *, const char *), const char *s) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    w(f, s);
    fclose(f);
    return buf;
}

/* Decodes one UTF-8 sequence at p by value: returns its length and sets *cp, or 0 if
 * ill-formed (bad lead, bad continuation, overlong, surrogate, above U+10FFFF). */
static int decode_cp(const unsigned char *p, uint32_t *cp) {
    int n = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
    if (!n) return 0;
    uint32_t v = n == 1 ? p[0] : p[0] & (0x7F >> n);
    for (int k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[k] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

static int valid_utf8(const unsigned char *s) {
    uint32_t cp;
    for (int n; *s; s += n)
        if (!(n = decode_cp(s, &cp))) return 0;
    return 1;
}

/* Parses j as exactly one JSON string literal (RFC 8259), writing the decoded bytes to
 * out (UTF-8, \u escapes below 0x80 only, which is all the writer emits). 0 if invalid. */
static int parse_json_str(const char *j, char *out, size_t cap) {
    const unsigned char *p = (const unsigned char *)j;
    size_t o = 0;
    if (*p++ != '"') return 0;
    while (*p != '"') {
        if (!*p || *p < 0x20 || o + 5 > cap) return 0;
        if (*p == '\\') {
            p++;
            const char *esc = "\"\\/bfnrt", *val = "\"\\/\b\f\n\r\t", *e = *p ? strchr(esc, *p) : NULL;
            if (e) {
                out[o++] = val[e - esc];
                p++;
            } else if (*p == 'u') {
                unsigned v;
                if (sscanf((const char *)p + 1, "%4x", &v) != 1 || v >= 0x80) return 0;
                out[o++] = (char)v;
                p += 5;
            } else {
                return 0;
            }
            continue;
        }
        uint32_t cp;
        int n = decode_cp(p, &cp);
        if (!n) return 0;
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = 0;
    return p[1] == 0;
}

static void check_json(const char *in, const char *want) {
    char *got = run(cli_json_str, in);
    CHECK_MSG(got && !strcmp(got, want), "json of '%s': got '%s', want '%s'", in, got ? got : "(null)", want);
    free(got);
}

static void check_csv(const char *in, const char *want) {
    char *got = run(cli_csv_str, in);
    CHECK_MSG(got && !strcmp(got, want), "csv of '%s': got '%s', want '%s'", in, got ? got : "(null)", want);
    free(got);
}

/* cli_json_num: the number as printf gives it, null for NaN and infinities */
static void check_num(double v, const char *want) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cli_json_num(f, "%.6f", v);
    fclose(f);
    CHECK_MSG(buf && !strcmp(buf, want), "json num %g: got %s, want %s", v, buf ? buf : "(null)", want);
    free(buf);
}

int main(void) {
    check_num(0.25, "0.250000");
    check_num(-1.0, "-1.000000");
    check_num(NAN, "null");
    check_num(INFINITY, "null");
    check_num(-INFINITY, "null");
    /* escapes */
    check_json("plain", "\"plain\"");
    check_json("", "\"\"");
    check_json(NULL, "\"\"");
    check_json("q\"uote", "\"q\\\"uote\"");
    check_json("back\\slash", "\"back\\\\slash\"");
    check_json("new\nline\ttab\rcr\bbs\fff", "\"new\\nline\\ttab\\rcr\\bbs\\fff\"");
    check_json("ctl\x01\x1f" "x", "\"ctl\\u0001\\u001fx\"");
    check_json("del\x7f", "\"del\x7f\""); /* DEL needs no escape in JSON */
    check_json("/slash", "\"/slash\"");
    /* valid UTF-8 unchanged: 2, 3 and 4 bytes, the largest code point, U+FFFD itself */
    check_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    check_json("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
    check_json("\xf0\x9f\x8e\xac", "\"\xf0\x9f\x8e\xac\"");
    check_json("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
    check_json("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");
    check_json("\xed\x9f\xbf", "\"\xed\x9f\xbf\""); /* U+D7FF, just below the surrogates */
    /* ill-formed: one U+FFFD per maximal ill-formed subpart (what Python's
     * bytes.decode("utf-8", "replace") gives) */
#define R "\xef\xbf\xbd"
    check_json("ff\xff" "x", "\"ff" R "x\"");
    check_json("\xf5\xf8\xfe", "\"" R R R "\"");
    check_json("lone\xc3", "\"lone" R "\"");                     /* truncated at the end */
    check_json("\xc3(", "\"" R "(\"");                           /* truncated mid-string */
    check_json("\xe6\x97" "x", "\"" R "x\"");                    /* 2 of 3 bytes: one U+FFFD */
    check_json("\xf0\x9f\x8e" "x", "\"" R "x\"");                /* 3 of 4 bytes */
    check_json("over\xc0\xaf" "x", "\"over" R R "x\"");          /* overlong '/' */
    check_json("\xe0\x80\xaf", "\"" R R R "\"");                 /* overlong, 3 bytes */
    check_json("\xf0\x80\x80\xaf", "\"" R R R R "\"");           /* overlong, 4 bytes */
    check_json("sur\xed\xa0\x80" "x", "\"sur" R R R "x\"");      /* U+D800 */
    check_json("\xed\xbf\xbf", "\"" R R R "\"");                 /* U+DFFF */
    check_json("\xf4\x90\x80\x80", "\"" R R R R "\"");           /* U+110000 */
    check_json("\x80\xbf", "\"" R R "\"");                       /* stray continuations */
    check_json("\xc3\xa9\xa9", "\"\xc3\xa9" R "\"");             /* one too many */
    check_json("\xc3\"", "\"" R "\\\"\"");                       /* a quote ends the sequence */
#undef R

    /* every string of 1-4 bytes over boundary bytes: one valid JSON string, which
     * decodes back to the input when the input is well-formed */
    static const unsigned char alpha[] = {0x01, 0x0a, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                          0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
    const int na = (int)sizeof alpha;
    long n_strings = 0, n_bad = 0, n_roundtrip = 0;
    for (int len = 1; len <= 4; len++) {
        long total = 1;
        for (int k = 0; k < len; k++) total *= na;
        for (long idx = 0; idx < total; idx++) {
            unsigned char in[8] = {0};
            long r = idx;
            for (int k = 0; k < len; k++, r /= na) in[k] = alpha[r % na];
            char *got = run(cli_json_str, (const char *)in);
            char back[64];
            int ok = got && valid_utf8((const unsigned char *)got) && parse_json_str(got, back, sizeof back);
            if (ok && valid_utf8(in)) {
                ok = !strcmp(back, (const char *)in);
                n_roundtrip++;
            }
            if (!ok && n_bad++ < 5) {
                fprintf(stderr, "bad json for bytes");
                for (int k = 0; k < len; k++) fprintf(stderr, " %02x", in[k]);
                fprintf(stderr, ": %s\n", got ? got : "(null)");
            }
            free(got);
            n_strings++;
        }
    }
    CHECK_MSG(n_bad == 0, "%ld of %ld strings gave invalid JSON", n_bad, n_strings);
    CHECK(n_roundtrip > 1000);

    /* CSV: quoted only when needed, quotes doubled, bytes unchanged */
    check_csv("plain", "plain");
    check_csv("", "");
    check_csv(NULL, "");
    check_csv("com,ma", "\"com,ma\"");
    check_csv("q\"uote", "\"q\"\"uote\"");
    check_csv("new\nline", "\"new\nline\"");
    check_csv("cr\rx", "\"cr\rx\"");
    check_csv("tab\there", "tab\there");
    check_csv("ff\xff" "x", "ff\xff" "x");
    check_csv("caf\xc3\xa9,\xff", "\"caf\xc3\xa9,\xff\"");

    /* the command name shared helpers put in messages */
    CHECK(!strcmp(cli_command(), "vidsim"));
    cli_set_command("index", "add");
    CHECK(!strcmp(cli_command(), "vidsim index add"));
    cli_set_command("extract", NULL);
    CHECK(!strcmp(cli_command(), "vidsim extract"));
    return vs_test_done();
}
