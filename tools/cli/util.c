/*
 * util.c - CLI helpers: the progress line (rate and ETA, only on a terminal), the
 * trivial `version` command, JSON string and CSV field writers (valid output for
 * any file name), the name of the running command for shared messages, and the
 * SIGINT/SIGTERM stop flag, and the per-stage `--timing` report of extract and index add.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/features.h"

#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double cli_now(void) { return now_s(); }

void cli_progress_init(cli_progress *p, const char *unit) {
    p->enabled = isatty(2);
    p->t0 = p->last = now_s();
    p->unit = unit;
}

void cli_progress_update(cli_progress *p, double done, double total, const char *what) {
    if (!p->enabled) return;
    double t = now_s();
    if (t - p->last < 0.2 && done < total) return;
    p->last = t;
    double rate = done / (t - p->t0 + 1e-9);
    double eta = rate > 0 && total > done ? (total - done) / rate : 0;
    fprintf(stderr, "\r\033[K%.0f/%.0f %s  %.1f %s/s  ETA %02d:%02d  %s", done, total, p->unit, rate,
            p->unit, (int)(eta / 60), (int)eta % 60, what ? what : "");
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (p->enabled) fprintf(stderr, "\r\033[K");
}

int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("vidsim %s\n", vs_version());
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 when the bytes there are
 * ill-formed; then *skip is the length of the maximal ill-formed prefix (at least 1),
 * which is replaced by one U+FFFD (Unicode 15, section 3.9, "U+FFFD Substitution of
 * Maximal Subparts", as browsers and Python's errors="replace" do). Overlong forms
 * (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF), code points past U+10FFFF
 * (F4 90.., F5..FF) and truncated sequences are all ill-formed. */
static int utf8_seq(const unsigned char *p, int *skip) {
    unsigned c = p[0];
    int n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return *skip = 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
    } else {
        *skip = 1; /* 80..BF continuation without a lead, C0, C1, F5..FF */
        return 0;
    }
    int k = 1;
    for (; k < n; k++) {
        unsigned b = p[k]; /* a NUL stops here: it is outside every range */
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) break;
    }
    *skip = k;
    return k == n ? n : 0;
}

/* Writes s as a JSON string literal (RFC 8259): quotes and backslashes escaped,
 * control characters as \n \r \t \b \f or \u00XX, well-formed UTF-8 copied as is,
 * every ill-formed byte sequence replaced by U+FFFD, so any file name gives valid
 * JSON. NULL is written as "". Example: the bytes 61 FF 22 62 (a, an invalid byte,
 * a quote, b) are written as "a<U+FFFD>\"b", U+FFFD as its UTF-8 bytes EF BF BD. */
void cli_json_str(FILE *f, const char *s) {
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        int skip, n = utf8_seq(p, &skip);
        if (!n) fputs("\xef\xbf\xbd", f); /* U+FFFD */
        else if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p == '\b') fputs("\\b", f);
        else if (*p == '\f') fputs("\\f", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fwrite(p, 1, (size_t)n, f);
        p += skip;
    }
    fputc('"', f);
}

/* Writes s as one CSV field (RFC 4180): as is, or in double quotes with inner quotes
 * doubled when it holds a comma, a quote, CR or LF. Bytes are copied unchanged,
 * invalid UTF-8 included, so the field reads back as the same name. NULL is written
 * as an empty field. */
void cli_csv_str(FILE *f, const char *s) {
    if (!s) s = "";
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The command being run, for messages from shared helpers ("vidsim index add"). */
static char g_command[64] = "vidsim";
static int g_refused;

void cli_set_command(const char *cmd, const char *sub) {
    if (sub) snprintf(g_command, sizeof g_command, "vidsim %s %s", cmd, sub);
    else if (cmd) snprintf(g_command, sizeof g_command, "vidsim %s", cmd);
    else snprintf(g_command, sizeof g_command, "vidsim");
}

const char *cli_command(void) { return g_command; }

void cli_input_refused(void) { g_refused++; }

int cli_inputs_refused(void) { return g_refused; }

static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

void cli_stop_begin(cli_stop_guard *g) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, &g->old_int);
    sigaction(SIGTERM, &sa, &g->old_term);
}

void cli_stop_end(const cli_stop_guard *g) {
    sigaction(SIGINT, &g->old_int, NULL);
    sigaction(SIGTERM, &g->old_term, NULL);
}

int cli_stop_requested(void) { return g_stop != 0; }

void cli_json_num(FILE *f, const char *fmt, double v) {
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("null", f);
}

void cli_print_extract_timing(FILE *f, const char *cmd, const vs_extract_stats *t, long n_videos, double wall_s,
                              int jobs) {
    fprintf(f, "timing (%s, -j %d): %ld videos extracted, %.1f s of video, %ld frames (%ld decoded), %.2f s wall: "
               "%.1fx real time\n",
            cmd, jobs, n_videos, t->video_s, t->frames, t->n_decoded, wall_s,
            wall_s > 0 ? t->video_s / wall_s : 0.0);
    const struct { const char *name; double s; } st[] = {
        {"decode+convert", t->decode_s}, {"preprocess", t->preprocess_s}, {"backbone", t->backbone_s},
        {"pool+pca", t->pool_s},          {"write", t->write_s},           {"other", t->other_s},
    };
    double tot = t->wall_s > 0 ? t->wall_s : 1;
    fprintf(f, "  %-15s %9s %7s %9s\n", "stage", "seconds", "share", "frames/s");
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        fprintf(f, "  %-15s %9.2f %6.1f%%", st[i].name, st[i].s, 100.0 * st[i].s / tot);
        if (i < 4) fprintf(f, " %9.1f", st[i].s > 0 ? t->frames / st[i].s : 0.0); /* the per-frame stages */
        fputc('\n', f);
    }
    fprintf(f, "  %-15s %9.2f %6.1f%%   (seconds of the %d workers' threads; wall x workers = %.2f)\n", "total",
            t->wall_s, 100.0, jobs, wall_s * jobs);
}
