/*
 * serve_parse.h - the parts of `vidsim serve`'s request handling that read what a
 * client sent, with no socket and no libmicrohttpd: the path and its route, the checks
 * on the request head (token, loopback writes, Origin/Host, Content-Length,
 * Content-Type), the form/JSON fields and the flat JSON body, upload file names and
 * the endpoints' parameter syntax. serve_http.c and serve_api.c call these;
 * tests/fuzz/fuzz_http.c calls them directly as well as through the server
 * (docs/reliability.md). Every function is thread-safe (no static state).
 */
#ifndef VS_CLI_SERVE_PARSE_H
#define VS_CLI_SERVE_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum { SERVE_MAX_FIELD = 4096, SERVE_MAX_JSON = 65536, SERVE_MAX_PARTS = 8, SERVE_MAX_PATH = 2048 };

/* Route labels (metrics names: serve_http.c), from serve_route_of. */
enum {
    SERVE_R_OTHER = 0, SERVE_R_PAGE, SERVE_R_STATIC, SERVE_R_HEALTH, SERVE_R_METRICS, SERVE_R_SEARCH, SERVE_R_VIDEOS,
    SERVE_R_VIDEO, SERVE_R_THUMB, SERVE_R_JOB, SERVE_R_PAIR, SERVE_R_VERDICT, SERVE_R_DEDUP, SERVE_R_VERDICTS
};

/* Split url's path into at most SERVE_MAX_PARTS non-empty segments, copied into buf
 * [SERVE_MAX_PATH] (parts point into it). -1 when the url is too long or has more. */
int serve_split_path(const char *url, char *buf, char **parts);
/* The route label of a split path (SERVE_R_OTHER when no endpoint has that shape). */
int serve_route_of(char **parts, int n);
/* Whether method on route changes the index (needs the token or a loopback client). */
int serve_is_write(const char *method, int route);

/* The request head, as the server saw it (any header may be NULL). */
typedef struct serve_head {
    const char *method, *url;
    const char *authorization, *host, *origin, *content_length, *content_type;
    int peer_loopback; /* the client's address is 127.0.0.0/8 */
} serve_head;

enum { SERVE_BODY_NONE = 0, SERVE_BODY_JSON, SERVE_BODY_FORM };

/* What to do with a request before its body: route, and either status 0 (go on,
 * reading a body of kind body) or the refusal status with its message. token: the
 * server's (NULL: none); max_upload: --max-upload bytes. */
typedef struct serve_verdict {
    int route, status, body;
    char msg[160];
} serve_verdict;
void serve_check_head(const serve_head *h, const char *token, unsigned long long max_upload, serve_verdict *v);

/* Constant-time check that header is "Bearer TOKEN". */
int serve_bearer_ok(const char *header, const char *token);
/* Host is a loopback address or localhost, and Origin, when sent, is http://HOST. */
int serve_same_origin(const char *host, const char *origin);

/* The named fields a form or JSON body may set (name, path, verdict, top, threshold,
 * segments, norm, show_rejected, and search's direction, mirror_view, inset_view,
 * sim_precision, temporal, frame_levels, two_stage, first_stage, top_k, gvec_segments), each NULL or a
 * NUL-terminated heap string of at most SERVE_MAX_FIELD bytes. */
typedef struct serve_fields {
    char *name, *path, *verdict, *top, *threshold, *segments, *norm, *show_rejected;
    char *direction, *mirror_view, *inset_view, *sim_precision, *two_stage, *first_stage, *top_k, *gvec_segments;
    char *temporal, *frame_levels;
} serve_fields;
/* The slot of key, NULL for any other key (or a NULL key). */
char **serve_fields_slot(serve_fields *f, const char *key);
/* Append n bytes to field key (form values may come in pieces); other keys are
 * ignored. -1 (the field unchanged) when the value would pass SERVE_MAX_FIELD, holds a
 * NUL byte, or memory runs out. */
int serve_fields_append(serve_fields *f, const char *key, const char *data, size_t n);
void serve_fields_free(serve_fields *f);
/* A flat JSON object of string, number and boolean values s [n] into the fields (a
 * later key replaces an earlier one). -1 when it is not one, or a field is refused. */
int serve_parse_json_fields(serve_fields *f, const char *s, size_t n);

/* A safe file name from a client's: its last component, [A-Za-z0-9._-] kept and the
 * rest '_', no leading dot, at most 100 bytes; "upload.mp4" when nothing is left. */
void serve_safe_name(const char *in, char *out, size_t n);

/* Endpoint parameters. 0 on success, -1 on bad syntax. */
int serve_parse_id(const char *s, int64_t *out);                        /* 1-18 digits, > 0 */
int serve_parse_num(const char *s, double lo, double hi, double *out); /* finite, in [lo, hi] */
int serve_parse_bool(const char *s, int dflt);                          /* 1/0, dflt when NULL, -1 bad */
int serve_name_ok(const char *s);    /* an indexed name: no '/', not . or .., not *.vsf, <= 1024 */
int serve_has_dotdot(const char *p); /* a ".." path component */

#endif
