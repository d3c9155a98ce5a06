/*
 * serve_http.c - the HTTP side of `vidsim serve` on libmicrohttpd: one request's
 * life (headers, the token check before any body is read, the body: a multipart or
 * url-encoded form through MHD's post processor, with an uploaded file streamed to
 * a temporary file and capped by --max-upload, or a small JSON object), routing
 * to the endpoints (serve_api.c), responses with the security headers, JSON errors,
 * and the Prometheus metrics (request counts by endpoint and status, latency
 * histograms). docs/server.md. What is read from the client (path, route, the checks
 * on the head, fields, the JSON body, upload names) is parsed in serve_parse.c, which
 * tests/fuzz/fuzz_http.c also drives.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"

#ifdef VS_HAVE_MHD
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MAX_JSON = SERVE_MAX_JSON };

/* ---- metrics */

static const char *const route_names[] = {"other", "/", "/static", "/healthz", "/metrics", "/v1/search",
                                          "/v1/videos", "/v1/videos/{id}", "/v1/videos/{id}/thumbnail",
                                          "/v1/jobs/{id}", "/v1/pairs/{q}/{r}", "/v1/pairs/{q}/{r}/verdict",
                                          "/v1/dedup", "/v1/verdicts"};
enum { N_ROUTES = sizeof route_names / sizeof route_names[0] };
static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
enum { N_BUCKETS = sizeof buckets / sizeof buckets[0] };

static pthread_mutex_t m_mu = PTHREAD_MUTEX_INITIALIZER;
typedef struct m_count {
    int route, status;
    unsigned long n;
} m_count;
static m_count m_counts[512];
static int m_n;
static unsigned long m_hist[N_ROUTES][N_BUCKETS + 1];
static double m_sum[N_ROUTES];

static void metrics_record(int route, int status, double secs) {
    pthread_mutex_lock(&m_mu);
    int k = 0;
    while (k < m_n && (m_counts[k].route != route || m_counts[k].status != status)) k++;
    if (k == m_n && m_n < (int)(sizeof m_counts / sizeof m_counts[0])) m_counts[m_n++] = (m_count){route, status, 0};
    if (k < m_n) m_counts[k].n++;
    int b = 0;
    while (b < N_BUCKETS && secs > buckets[b]) b++;
    m_hist[route][b]++;
    m_sum[route] += secs;
    pthread_mutex_unlock(&m_mu);
}

enum MHD_Result serve_metrics(serve_req *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return serve_error(r, 500, "out of memory");
    fputs("# HELP vidsim_http_requests_total HTTP requests answered, by endpoint and status.\n"
          "# TYPE vidsim_http_requests_total counter\n",
          f);
    pthread_mutex_lock(&m_mu);
    for (int k = 0; k < m_n; k++)
        fprintf(f, "vidsim_http_requests_total{endpoint=\"%s\",status=\"%d\"} %lu\n", route_names[m_counts[k].route],
                m_counts[k].status, m_counts[k].n);
    fputs("# HELP vidsim_http_request_duration_seconds Time from the request's headers to its completion.\n"
          "# TYPE vidsim_http_request_duration_seconds histogram\n",
          f);
    for (int rt = 0; rt < N_ROUTES; rt++) {
        unsigned long cum = 0;
        for (int b = 0; b <= N_BUCKETS; b++) cum += m_hist[rt][b];
        if (!cum) continue;
        unsigned long c = 0;
        for (int b = 0; b < N_BUCKETS; b++) {
            c += m_hist[rt][b];
            fprintf(f, "vidsim_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %lu\n", route_names[rt],
                    buckets[b], c);
        }
        fprintf(f, "vidsim_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %lu\n", route_names[rt], cum);
        fprintf(f, "vidsim_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", route_names[rt], m_sum[rt]);
        fprintf(f, "vidsim_http_request_duration_seconds_count{endpoint=\"%s\"} %lu\n", route_names[rt], cum);
    }
    pthread_mutex_unlock(&m_mu);
    fprintf(f, "# HELP vidsim_jobs_pending Add/delete jobs queued or running.\n# TYPE vidsim_jobs_pending gauge\n"
               "vidsim_jobs_pending %ld\n",
            serve_jobs_pending(&g_srv));
    fclose(f);
    return serve_send(r, 200, "text/plain; version=0.0.4", buf, len, 1);
}

/* ---- responses */

enum MHD_Result serve_send(serve_req *r, int status, const char *type, void *data, size_t len, int must_free) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (must_free) free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
                            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

enum MHD_Result serve_send_json(serve_req *r, int status, char *buf, size_t len) {
    return serve_send(r, status, "application/json", buf, len, 1);
}

enum MHD_Result serve_error(serve_req *r, int status, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return MHD_NO;
    fputs("{\"error\": ", f);
    cli_json_str(f, msg);
    fputs("}\n", f);
    fclose(f);
    return serve_send_json(r, status, buf, len);
}

/* ---- parameters */

/* Append to a field (form values may come in pieces); a refused piece marks the body bad. */
static void field_append(serve_req *r, const char *key, const char *data, size_t n) {
    if (serve_fields_append(&r->fields, key, data, n)) r->bad_body = 1;
}

const char *serve_param(serve_req *r, const char *key) {
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    if (v) return v;
    char **slot = serve_fields_slot(&r->fields, key);
    return slot ? *slot : NULL;
}

/* ---- uploads */

void serve_req_drop_upload(serve_req *r) {
    if (r->up_fd >= 0) close(r->up_fd);
    r->up_fd = -1;
    if (r->up_path[0]) unlink(r->up_path);
    if (r->up_dir[0]) rmdir(r->up_dir);
    r->up_path[0] = r->up_dir[0] = 0;
}

static int upload_open(serve_req *r, const char *filename) {
    serve *sv = &g_srv;
    const char *base = r->route == SERVE_R_VIDEOS ? sv->upload_dir : sv->tmp_dir; /* /v1/videos keeps the file */
    if (snprintf(r->up_dir, sizeof r->up_dir, "%s/vidsim-up-XXXXXX", base) >= (int)sizeof r->up_dir ||
        !mkdtemp(r->up_dir)) {
        r->up_dir[0] = 0;
        return -1;
    }
    char nm[128];
    serve_safe_name(filename, nm, sizeof nm);
    snprintf(r->up_path, sizeof r->up_path, "%s/%s", r->up_dir, nm);
    r->up_fd = open(r->up_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return r->up_fd < 0 ? -1 : 0;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size) {
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    (void)off;
    serve_req *r = cls;
    if (r->too_large || r->bad_body) return MHD_YES; /* keep reading, answer at the end */
    if (!key) { /* a multipart part whose Content-Disposition has no name= (fuzz_http found it) */
        r->bad_body = 1;
        return MHD_YES;
    }
    if (!strcmp(key, "file") && filename) {
        if (!r->up_seen) {
            r->up_seen = 1;
            if (upload_open(r, filename)) {
                r->bad_body = 2;
                return MHD_YES;
            }
        }
        if (r->up_fd < 0) return MHD_YES; /* a second file part: ignored */
        r->up_bytes += size;
        if (r->up_bytes > g_srv.max_upload) {
            r->too_large = 1;
            serve_req_drop_upload(r);
            return MHD_YES;
        }
        const char *p = data;
        size_t left = size;
        while (left) {
            ssize_t w = write(r->up_fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                r->bad_body = 2;
                serve_req_drop_upload(r);
                return MHD_YES;
            }
            p += w;
            left -= (size_t)w;
        }
        return MHD_YES;
    }
    if (size) field_append(r, key, data, size);
    return MHD_YES;
}

/* ---- the request head */

static int peer_is_loopback(serve_req *r) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return 0;
    if (ci->client_addr->sa_family != AF_INET) return 0;
    const struct sockaddr_in *in = (const struct sockaddr_in *)ci->client_addr;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
}

static void req_free(serve_req *r) {
    if (!r) return;
    if (r->pp) MHD_destroy_post_processor(r->pp);
    serve_req_drop_upload(r);
    free(r->body);
    serve_fields_free(&r->fields);
    free(r);
}

void serve_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    serve_req *r = *con_cls;
    if (!r) return;
    /* a request cut short (truncated upload, client gone) counts with status 499 */
    int status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? r->status : (r->status ? r->status : 499);
    metrics_record(r->route, status, serve_now() - r->t0);
    req_free(r);
    *con_cls = NULL;
}

enum MHD_Result serve_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
    (void)cls;
    (void)version;
    serve_req *r = *con_cls;
    char pbuf[SERVE_MAX_PATH], *parts[SERVE_MAX_PARTS];
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->up_fd = -1;
        r->conn = conn;
        r->t0 = serve_now();
        r->method = method;
        r->url = url;
        *con_cls = r;
        /* refusals before any body is read (serve_check_head) */
        serve_head h = {
            .method = method,
            .url = url,
            .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            .host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
            .origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
            .content_length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
            .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
            .peer_loopback = g_srv.token ? 0 : peer_is_loopback(r),
        };
        serve_verdict v;
        serve_check_head(&h, g_srv.token, g_srv.max_upload, &v);
        r->route = v.route;
        if (v.status) return serve_error(r, v.status, "%s", v.msg);
        if (v.body == SERVE_BODY_JSON) r->is_json = 1;
        else if (v.body == SERVE_BODY_FORM) {
            r->pp = MHD_create_post_processor(conn, 64 * 1024, post_iter, r);
            if (!r->pp) return serve_error(r, 400, "bad form body (multipart without a boundary?)");
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        r->total += n;
        if (r->total > g_srv.max_upload + 65536) r->too_large = 1;
        if (r->status) {
            /* already answered: discard */
        } else if (r->pp && !r->too_large) {
            if (MHD_post_process(r->pp, upload_data, n) != MHD_YES) r->bad_body = 1;
        } else if (r->is_json && !r->too_large) {
            if (r->body_n + n > MAX_JSON) r->bad_body = 3;
            else {
                if (r->body_n + n + 1 > r->body_cap) {
                    size_t nc = r->body_n + n + 1;
                    char *p = realloc(r->body, nc);
                    if (!p) r->bad_body = 1;
                    else {
                        r->body = p;
                        r->body_cap = nc;
                    }
                }
                if (!r->bad_body) {
                    memcpy(r->body + r->body_n, upload_data, n);
                    r->body_n += n;
                }
            }
        } else if (!r->pp && !r->is_json)
            r->bad_body = 4;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->status) return MHD_YES; /* answered on the first call */
    if (r->too_large) {
        serve_req_drop_upload(r);
        return serve_error(r, 413, "the upload is larger than --max-upload (%llu bytes)", g_srv.max_upload);
    }
    if (r->bad_body == 3) return serve_error(r, 413, "JSON bodies are limited to %d bytes", MAX_JSON);
    if (r->bad_body == 4) return serve_error(r, 415, "send multipart/form-data, x-www-form-urlencoded or application/json");
    if (r->bad_body == 2) return serve_error(r, 500, "cannot store the upload");
    if (r->bad_body) return serve_error(r, 400, "malformed request body");
    if (r->up_fd >= 0) {
        if (close(r->up_fd)) {
            r->up_fd = -1;
            return serve_error(r, 500, "cannot store the upload");
        }
        r->up_fd = -1;
    }
    if (r->is_json && r->body_n && serve_parse_json_fields(&r->fields, r->body, r->body_n))
        return serve_error(r, 400, "the body must be a flat JSON object of strings, numbers and booleans");
    int n = serve_split_path(url, pbuf, parts);
    if (n < 0) return serve_error(r, 404, "no such endpoint");
    if (r->route == SERVE_R_METRICS) {
        if (strcmp(method, "GET")) return serve_error(r, 405, "use GET");
        return serve_metrics(r);
    }
    return g_srv.api(r, parts, n);
}
#endif
