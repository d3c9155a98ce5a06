/*
 * util.c - CLI helpers: the progress line (rate and ETA, only on a terminal) and
 * the trivial `version` command.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <signal.h>
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

void cli_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void cli_csv_str(FILE *f, const char *s) {
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
