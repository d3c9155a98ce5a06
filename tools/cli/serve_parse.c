/*
 * serve_parse.c - what `vidsim serve` reads from a client, without sockets
 * (serve_parse.h): path splitting and routing, the checks on a request's head before
 * any body is read, the form/JSON fields and the flat JSON body parser, safe upload
 * names and the endpoints' parameter syntax. Moved out of serve_http.c and
 * serve_api.c unchanged in behaviour, so that tests/fuzz/fuzz_http.c can call them
 * (docs/reliability.md); split_path now uses strtok_r (strtok's hidden state was shared
 * by the server's connection threads).
 */
#define _POSIX_C_SOURCE 200809L
#include "serve_parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- path and route */

int serve_split_path(const char *url, char *buf, char **parts) {
    if (!url || strlen(url) >= SERVE_MAX_PATH) return -1;
    memcpy(buf, url, strlen(url) + 1);
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (n == SERVE_MAX_PARTS) return -1;
        parts[n++] = p;
    }
    return n;
}

int serve_route_of(char **parts, int n) {
    if (n == 0) return SERVE_R_PAGE;
    if (n == 1 && (!strcmp(parts[0], "app.js") || !strcmp(parts[0], "app.css"))) return SERVE_R_STATIC;
    if (n == 1 && !strcmp(parts[0], "healthz")) return SERVE_R_HEALTH;
    if (n == 1 && !strcmp(parts[0], "metrics")) return SERVE_R_METRICS;
    if (strcmp(parts[0], "v1") != 0) return SERVE_R_OTHER;
    if (n == 2 && !strcmp(parts[1], "search")) return SERVE_R_SEARCH;
    if (n == 2 && !strcmp(parts[1], "videos")) return SERVE_R_VIDEOS;
    if (n == 3 && !strcmp(parts[1], "videos")) return SERVE_R_VIDEO;
    if (n == 4 && !strcmp(parts[1], "videos") && !strcmp(parts[3], "thumbnail")) return SERVE_R_THUMB;
    if (n == 3 && !strcmp(parts[1], "jobs")) return SERVE_R_JOB;
    if (n == 4 && !strcmp(parts[1], "pairs")) return SERVE_R_PAIR;
    if (n == 5 && !strcmp(parts[1], "pairs") && !strcmp(parts[4], "verdict")) return SERVE_R_VERDICT;
    if (n == 2 && !strcmp(parts[1], "dedup")) return SERVE_R_DEDUP;
    if (n == 2 && !strcmp(parts[1], "verdicts")) return SERVE_R_VERDICTS;
    return SERVE_R_OTHER;
}

int serve_is_write(const char *method, int route) {
    if (!strcmp(method, "PUT") || !strcmp(method, "DELETE")) return 1;
    return !strcmp(method, "POST") && route == SERVE_R_VIDEOS;
}

/* ---- the request head */

int serve_bearer_ok(const char *h, const char *t) {
    if (!h || !t || strncmp(h, "Bearer ", 7) != 0) return 0;
    h += 7;
    size_t hn = strlen(h), tn = strlen(t);
    unsigned char d = hn != tn;
    for (size_t i = 0; i < tn; i++) d |= (unsigned char)(t[i] ^ (i < hn ? h[i] : 0));
    return d == 0;
}

/* Without a token a loopback write is refused unless it comes from this server's own
 * page or a non-browser client: a browser visiting another site could otherwise POST
 * a form to 127.0.0.1 (CSRF), or reach it through a rebound DNS name. */
int serve_same_origin(const char *host, const char *origin) {
    if (!host) return 0;
    if (strncmp(host, "127.", 4) && strncmp(host, "localhost", 9) && strncmp(host, "[::1]", 5)) return 0;
    if (!origin) return 1;
    return !strncmp(origin, "http://", 7) && !strcmp(origin + 7, host);
}

static void refuse(serve_verdict *v, int status, const char *msg) {
    v->status = status;
    snprintf(v->msg, sizeof v->msg, "%s", msg);
}

void serve_check_head(const serve_head *h, const char *token, unsigned long long max_upload, serve_verdict *v) {
    memset(v, 0, sizeof *v);
    char buf[SERVE_MAX_PATH], *parts[SERVE_MAX_PARTS];
    int n = serve_split_path(h->url, buf, parts);
    v->route = n < 0 ? SERVE_R_OTHER : serve_route_of(parts, n);
    /* refusals before any body is read */
    if (serve_is_write(h->method, v->route)) {
        if (token ? !serve_bearer_ok(h->authorization, token) : !h->peer_loopback) {
            if (token) refuse(v, 401, "this endpoint needs 'Authorization: Bearer TOKEN'");
            else refuse(v, 403, "write endpoints are open to loopback clients only");
            return;
        }
        if (!token && !serve_same_origin(h->host, h->origin)) {
            refuse(v, 403, "cross-site write refused (Origin or Host is not this server)");
            return;
        }
    }
    if (h->content_length) {
        const char *cl = h->content_length;
        char *end;
        errno = 0;
        unsigned long long len = strtoull(cl, &end, 10);
        if (errno || *end || end == cl) {
            refuse(v, 400, "bad Content-Length");
            return;
        }
        if (len > max_upload + 65536) {
            v->status = 413;
            snprintf(v->msg, sizeof v->msg, "the body is larger than --max-upload (%llu bytes)", max_upload);
            return;
        }
    }
    const char *ct = h->content_type;
    if (ct && !strncasecmp(ct, "application/json", 16))
        v->body = SERVE_BODY_JSON;
    else if (ct && (!strncasecmp(ct, "multipart/form-data", 19) || !strncasecmp(ct, "application/x-www-form-urlencoded", 33)))
        v->body = SERVE_BODY_FORM;
}

/* ---- fields */

char **serve_fields_slot(serve_fields *f, const char *key) {
    if (!key) return NULL;
    if (!strcmp(key, "name")) return &f->name;
    if (!strcmp(key, "path")) return &f->path;
    if (!strcmp(key, "verdict")) return &f->verdict;
    if (!strcmp(key, "top")) return &f->top;
    if (!strcmp(key, "threshold")) return &f->threshold;
    if (!strcmp(key, "segments")) return &f->segments;
    if (!strcmp(key, "norm")) return &f->norm;
    if (!strcmp(key, "show_rejected")) return &f->show_rejected;
    if (!strcmp(key, "direction")) return &f->direction;
    if (!strcmp(key, "mirror_view")) return &f->mirror_view;
    if (!strcmp(key, "inset_view")) return &f->inset_view;
    if (!strcmp(key, "sim_precision")) return &f->sim_precision;
    if (!strcmp(key, "two_stage")) return &f->two_stage;
    if (!strcmp(key, "first_stage")) return &f->first_stage;
    if (!strcmp(key, "top_k")) return &f->top_k;
    if (!strcmp(key, "gvec_segments")) return &f->gvec_segments;
    if (!strcmp(key, "temporal")) return &f->temporal;
    if (!strcmp(key, "frame_levels")) return &f->frame_levels;
    return NULL;
}

int serve_fields_append(serve_fields *f, const char *key, const char *data, size_t n) {
    char **slot = serve_fields_slot(f, key);
    if (!slot) return 0;
    size_t have = *slot ? strlen(*slot) : 0;
    if (have + n > SERVE_MAX_FIELD || (n && memchr(data, 0, n))) return -1;
    char *p = realloc(*slot, have + n + 1);
    if (!p) return -1;
    if (n) memcpy(p + have, data, n);
    p[have + n] = 0;
    *slot = p;
    return 0;
}

void serve_fields_free(serve_fields *f) {
    free(f->name);
    free(f->path);
    free(f->verdict);
    free(f->top);
    free(f->threshold);
    free(f->segments);
    free(f->norm);
    free(f->show_rejected);
    free(f->direction);
    free(f->mirror_view);
    free(f->inset_view);
    free(f->sim_precision);
    free(f->two_stage);
    free(f->first_stage);
    free(f->top_k);
    free(f->gvec_segments);
    free(f->temporal);
    free(f->frame_levels);
    memset(f, 0, sizeof *f);
}

int serve_parse_json_fields(serve_fields *f, const char *s, size_t n) {
    size_t i = 0;
#define WS() while (i < n && isspace((unsigned char)s[i])) i++
    WS();
    if (i >= n || s[i++] != '{') return -1;
    WS();
    if (i < n && s[i] == '}') return 0;
    for (;;) {
        char key[64], val[SERVE_MAX_FIELD + 1];
        size_t kn = 0, vn = 0;
        WS();
        if (i >= n || s[i++] != '"') return -1;
        while (i < n && s[i] != '"') {
            if (s[i] == '\\' || kn + 1 >= sizeof key) return -1;
            key[kn++] = s[i++];
        }
        if (i++ >= n) return -1;
        key[kn] = 0;
        WS();
        if (i >= n || s[i++] != ':') return -1;
        WS();
        if (i < n && s[i] == '"') {
            i++;
            while (i < n && s[i] != '"') {
                char c = s[i++];
                if (c == '\\') {
                    if (i >= n) return -1;
                    char e = s[i++];
                    c = e == 'n' ? '\n' : e == 't' ? '\t' : e == '"' ? '"' : e == '\\' ? '\\' : e == '/' ? '/' : 0;
                    if (!c) return -1; /* \u and the rest: not needed for names and numbers */
                } else if ((unsigned char)c < 0x20)
                    return -1;
                if (vn >= SERVE_MAX_FIELD) return -1;
                val[vn++] = c;
            }
            if (i++ >= n) return -1;
        } else {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '+')) {
                if (vn >= SERVE_MAX_FIELD) return -1;
                val[vn++] = s[i++];
            }
            if (!vn) return -1;
        }
        val[vn] = 0;
        char **slot = serve_fields_slot(f, key);
        if (slot) {
            free(*slot);
            *slot = NULL;
            if (serve_fields_append(f, key, val, vn)) return -1;
        }
        WS();
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}') {
            i++;
            WS();
            return i == n ? 0 : -1;
        }
        return -1;
    }
#undef WS
}

/* ---- uploads */

void serve_safe_name(const char *in, char *out, size_t n) {
    const char *b = in ? strrchr(in, '/') : NULL;
    b = b ? b + 1 : in ? in : "";
    const char *bs = strrchr(b, '\\');
    if (bs) b = bs + 1;
    size_t k = 0;
    for (; *b && k + 1 < n && k < 100; b++) {
        unsigned char c = (unsigned char)*b;
        out[k++] = (isalnum(c) || c == '.' || c == '-' || c == '_') ? (char)c : '_';
    }
    out[k] = 0;
    while (out[0] == '.') out[0] = '_';
    if (!out[0] || !strcmp(out, "_")) snprintf(out, n, "upload.mp4");
}

/* ---- endpoint parameters */

int serve_parse_id(const char *s, int64_t *out) {
    size_t n = strlen(s);
    if (n < 1 || n > 18) return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return -1;
    *out = strtoll(s, NULL, 10);
    return *out > 0 ? 0 : -1;
}

int serve_parse_num(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int serve_parse_bool(const char *s, int dflt) {
    if (!s) return dflt;
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "yes")) return 1;
    if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "no")) return 0;
    return -1;
}

int serve_name_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 1024 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
           !(n > 4 && !strcmp(s + n - 4, ".vsf")); /* the library would read NAME.vsf as a feature file */
}

int serve_has_dotdot(const char *p) {
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/')) return 1;
    return 0;
}
