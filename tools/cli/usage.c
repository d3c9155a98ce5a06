/*
 * usage.c - usage errors shared by every command (docs/errors.md, "Usage errors"):
 * one line on stderr that says what is wrong, naming the option and the value,
 * then "Try 'vidsim CMD --help'.", and exit status 2. The usage text itself goes
 * to standard output, and only with --help. Numbers are parsed strictly: the
 * whole argument must be the number (no trailing characters, no empty string),
 * in range, and for real numbers finite (no nan, no inf).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "vidsim%s%s: ", cmd && *cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'vidsim%s%s --help'.\n", cmd && *cmd ? " " : "", cmd ? cmd : "");
    return 2;
}

const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_unknown_option(const char *cmd, const char *arg) {
    if (arg[0] == '-' && arg[1]) return cli_usage_error(cmd, "unknown option '%s'", arg);
    return cli_usage_error(cmd, "unexpected argument '%s'", arg);
}

/* What range [min, max] means, in words ("a positive whole number"). */
static void int_range_words(char *buf, size_t n, long long min, long long max) {
    if (min == 1 && max == LLONG_MAX) snprintf(buf, n, "a positive whole number");
    else if (min == 0 && max == LLONG_MAX) snprintf(buf, n, "a whole number >= 0");
    else if (max == LLONG_MAX) snprintf(buf, n, "a whole number >= %lld", min);
    else if (min == LLONG_MIN) snprintf(buf, n, "a whole number <= %lld", max);
    else snprintf(buf, n, "a whole number from %lld to %lld", min, max);
}

int cli_parse_ll(const char *cmd, const char *opt, const char *s, long long min, long long max, long long *out) {
    char *end = NULL;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    int bad = !s || !*s || *end || errno == ERANGE || v < min || v > max;
    if (s && *s == ' ') bad = 1; /* strtoll skips leading blanks: not a whole argument */
    if (bad) {
        char w[96];
        int_range_words(w, sizeof w, min, max);
        return cli_usage_error(cmd, "%s must be %s, got '%s'", opt, w, s ? s : "");
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, int min, int max, int *out) {
    long long v = 0;
    if (cli_parse_ll(cmd, opt, s, min, max == INT_MAX ? LLONG_MAX : max, &v)) return 2;
    if (v > INT_MAX) {
        char w[96];
        int_range_words(w, sizeof w, min, INT_MAX);
        return cli_usage_error(cmd, "%s must be %s, got '%s'", opt, w, s);
    }
    *out = (int)v;
    return 0;
}

int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max, long *out) {
    long long v = 0;
    if (cli_parse_ll(cmd, opt, s, min, max == LONG_MAX ? LLONG_MAX : max, &v)) return 2;
    *out = (long)v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
    if (!s || !(*s >= '0' && *s <= '9') || *end || errno == ERANGE)
        return cli_usage_error(cmd, "%s must be a whole number from 0 to %llu, got '%s'", opt, ULLONG_MAX,
                               s ? s : "");
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out) {
    char *end = NULL;
    errno = 0;
    double v = s && *s && *s != ' ' ? strtod(s, &end) : NAN;
    int bad = !s || !*s || *s == ' ' || *end || !isfinite(v) || (errno == ERANGE && fabs(v) > 1) || v < min ||
              v > max;
    if (bad) {
        char w[96];
        if (min == -HUGE_VAL && max == HUGE_VAL) snprintf(w, sizeof w, "a finite number");
        else if (max == HUGE_VAL) snprintf(w, sizeof w, "a number >= %g", min);
        else if (min == -HUGE_VAL) snprintf(w, sizeof w, "a number <= %g", max);
        else snprintf(w, sizeof w, "a number from %g to %g", min, max);
        return cli_usage_error(cmd, "%s must be %s, got '%s'", opt, w, s ? s : "");
    }
    *out = v;
    return 0;
}

int cli_parse_pos_double(const char *cmd, const char *opt, const char *s, double *out) {
    double v = 0;
    char *end = NULL;
    v = s && *s && *s != ' ' ? strtod(s, &end) : NAN;
    if (!s || !*s || *s == ' ' || *end || !isfinite(v) || !(v > 0))
        return cli_usage_error(cmd, "%s must be a positive number, got '%s'", opt, s ? s : "");
    *out = v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *opt, const char *s, double min, double max, float *out) {
    double v = 0;
    if (cli_parse_double(cmd, opt, s, min, max, &v)) return 2;
    *out = (float)v;
    return 0;
}

int cli_parse_choice(const char *cmd, const char *opt, const char *s, const char *const *choices, int n) {
    for (int k = 0; k < n; k++)
        if (!strcmp(s, choices[k])) return k;
    char w[256] = "";
    size_t len = 0;
    for (int k = 0; k < n && len < sizeof w; k++)
        len += (size_t)snprintf(w + len, sizeof w - len, "%s%s", k == 0 ? "" : k == n - 1 ? " or " : ", ",
                                choices[k]);
    cli_usage_error(cmd, "%s must be %s, got '%s'", opt, w, s);
    return -1;
}

int cli_parse_onoff(const char *cmd, const char *opt, const char *s) {
    static const char *const onoff[] = {"on", "off"};
    int k = cli_parse_choice(cmd, opt, s, onoff, 2);
    return k < 0 ? -1 : k == 0;
}

int cli_opt_arg(const char *cmd, int argc, char **argv, int *i, const char *const *opts, const char **v) {
    *v = NULL;
    for (int k = 0; opts[k]; k++)
        if (!strcmp(argv[*i], opts[k])) {
            if (!(*v = cli_opt_value(cmd, argc, argv, i))) return 2;
            return 0;
        }
    return 0;
}

int cli_wants_help(int argc, char **argv, const char *const *opts) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
        for (int k = 0; opts && opts[k]; k++)
            if (!strcmp(argv[i], opts[k])) {
                i++; /* its value, even when it reads "--help" */
                break;
            }
    }
    return 0;
}
