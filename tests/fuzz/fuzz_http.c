/*
 * fuzz_http.c - libFuzzer target for `vidsim serve`'s request handling (issue 19,
 * docs/reliability.md). An input is one raw HTTP/1.x request (request line, headers,
 * body), optionally after one control byte < 0x20 that sets the server: bit 0 a
 * bearer token ("fuzz-token"), bit 1 a client that is not on loopback, bit 2 a
 * --max-upload of 1000 bytes (else 1 MB). Each input goes two ways:
 *   1. through the server itself: libmicrohttpd (request line, headers, query string,
 *      chunked bodies, the multipart and url-encoded post processor) on one end of a
 *      socketpair, in-process and single-threaded (MHD_USE_NO_LISTEN_SOCKET, external
 *      polling), into serve_handler / post_iter / serve_completed of
 *      tools/cli/serve_http.c, with uploads streamed to a temporary folder; the
 *      endpoints are replaced by a stub that reads every parameter through
 *      serve_param and the endpoints' validators and answers in JSON (cli_json_str
 *      on the client's bytes), or the real metrics page;
 *   2. straight into tools/cli/serve_parse.c: the head checks on what a lenient
 *      splitter finds in the request, the flat JSON parser on the body, safe upload
 *      names, path splitting and the parameter syntax, so inputs that libmicrohttpd
 *      refuses still reach them.
 * Not here: the real endpoints (search, index writes, pairs: they need an index and
 * models; test_serve_cli.sh sends them hostile requests) and TLS (not supported).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, strncasecmp */
#endif
#include "fuzz.h"

#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* What serve_http.c needs from the rest of the command (cmd_serve.c, serve_jobs.c). */
serve g_srv;
double serve_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
long serve_jobs_pending(serve *sv) {
    (void)sv;
    return 0;
}

static const char *const keys[] = {"name", "path", "verdict", "top", "threshold", "segments", "norm", "page",
                                   "per_page", "t", "size", "show_rejected", "q"};

/* The endpoints' stand-in: every parameter through the validators, then a JSON echo. */
static enum MHD_Result fuzz_api(serve_req *r, char **parts, int n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return serve_error(r, 500, "out of memory");
    fputs("{\"parts\": [", f);
    for (int i = 0; i < n; i++) {
        int64_t id;
        fputs(i ? ", " : "", f);
        cli_json_str(f, parts[i]);
        if (!serve_parse_id(parts[i], &id)) fprintf(f, ", %lld", (long long)id);
    }
    fputs("]", f);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = serve_param(r, keys[k]);
        if (!v) continue;
        double d;
        int64_t id;
        fprintf(f, ", \"%s\": ", keys[k]);
        cli_json_str(f, v);
        fprintf(f, ", \"%s_num\": %d, \"%s_bool\": %d, \"%s_id\": %d, \"%s_name\": %d, \"%s_dotdot\": %d", keys[k],
                serve_parse_num(v, -1e30, 1e30, &d), keys[k], serve_parse_bool(v, 0), keys[k], serve_parse_id(v, &id),
                keys[k], serve_name_ok(v), keys[k], serve_has_dotdot(v));
    }
    fprintf(f, ", \"upload\": %d, \"bytes\": %llu}\n", r->up_seen, r->up_bytes);
    fclose(f);
    if (n == 1 && !strcmp(parts[0], "error")) {
        free(buf);
        return serve_error(r, 400, "%s", serve_param(r, "name") ? serve_param(r, "name") : "no name");
    }
    return serve_send_json(r, 200, buf, len);
}

static struct MHD_Daemon *daemon_;
static char up_root[256];

static void remove_root(void) {
    if (daemon_) MHD_stop_daemon(daemon_);
    daemon_ = NULL;
    if (up_root[0]) rmdir(up_root); /* empty: every upload is removed with its request */
}

static void setup(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR");
    snprintf(up_root, sizeof up_root, "%s/vs_fuzz_http_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(up_root)) {
        perror("fuzz_http: mkdtemp");
        exit(2);
    }
    atexit(remove_root);
    snprintf(g_srv.upload_dir, sizeof g_srv.upload_dir, "%s", up_root);
    snprintf(g_srv.tmp_dir, sizeof g_srv.tmp_dir, "%s", up_root);
    g_srv.api = fuzz_api;
    daemon_ = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, serve_handler, &g_srv,
                               MHD_OPTION_NOTIFY_COMPLETED, serve_completed, &g_srv,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
    if (!daemon_) {
        fprintf(stderr, "fuzz_http: MHD_start_daemon failed\n");
        exit(2);
    }
}

/* Drain the client end; 1 once the server closed the connection. With
 * VS_FUZZ_VERBOSE set, print each response's status line and body's start. */
static int drain(int fd) {
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0 && getenv("VS_FUZZ_VERBOSE")) {
            const char *body = memmem(buf, (size_t)n, "\r\n\r\n", 4);
            int line = (int)(strcspn(buf, "\r") < (size_t)n ? strcspn(buf, "\r") : (size_t)n);
            fprintf(stderr, "  %.*s | %.*s\n", line, buf, body ? (int)(n - (body + 4 - buf) < 100 ? n - (body + 4 - buf) : 100) : 0,
                    body ? body + 4 : "");
        }
        if (n > 0) continue;
        if (n == 0) return 1;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
    }
}

/* 1. the request through libmicrohttpd and serve_handler */
static void through_server(const uint8_t *data, size_t size, int remote) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        perror("fuzz_http: socketpair");
        exit(2);
    }
    struct sockaddr_in peer;
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(remote ? 0xC0000201u /* 192.0.2.1 */ : 0x7F000001u);
    if (MHD_add_connection(daemon_, sv[1], (const struct sockaddr *)&peer, sizeof peer) != MHD_YES) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    int closed = 0, shut = 0;
    for (int it = 0; it < 20000 && !closed; it++) {
        while (off < size) {
            ssize_t w = write(sv[0], data + off, size - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == size && !shut) {
            shutdown(sv[0], SHUT_WR); /* the client is done: EOF after the request */
            shut = 1;
        }
        MHD_run(daemon_);
        closed = drain(sv[0]);
        if (!closed && it > 100) poll(&(struct pollfd){.fd = sv[0], .events = POLLIN}, 1, 1);
    }
    close(sv[0]);
    for (int it = 0; it < 100; it++) MHD_run(daemon_); /* let it see the close and free the request */
}

/* 2. the parsers directly, on what a lenient look at the request finds */
static const char *header(char *head, const char *name) {
    size_t n = strlen(name);
    for (char *p = head; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            char *v = p + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            return v;
        }
    return NULL;
}

static void direct(const uint8_t *data, size_t size, const char *token, int remote, unsigned long long max_up) {
    char *req = malloc(size + 1);
    if (!req) return;
    memcpy(req, data, size);
    req[size] = 0;
    const uint8_t *sep = memmem(data, size, "\r\n\r\n", 4);
    size_t head_n = sep ? (size_t)(sep - data) : size, body_off = sep ? head_n + 4 : size;
    char *head = malloc(head_n + 1);
    if (!head) {
        free(req);
        return;
    }
    memcpy(head, data, head_n);
    head[head_n] = 0;
    /* values end at CR/LF: a copy with them cut */
    char *hv = strdup(head);
    if (hv)
        for (char *p = hv; *p; p++)
            if (*p == '\r' || *p == '\n') *p = 0;
    char *sp1 = strchr(head, ' '), *url = sp1 ? sp1 + 1 : head;
    char *sp2 = strpbrk(url, " \r\n");
    char method[16];
    snprintf(method, sizeof method, "%.*s", sp1 ? (int)(sp1 - head) : 0, head);
    if (sp2) *sp2 = 0;
    char *q = strchr(url, '?');
    if (q) *q = 0;
#define HV(name) (header(head, name) && hv ? hv + (header(head, name) - head) : NULL)
    serve_head h = {.method = method,
                    .url = url,
                    .authorization = HV("Authorization"),
                    .host = HV("Host"),
                    .origin = HV("Origin"),
                    .content_length = HV("Content-Length"),
                    .content_type = HV("Content-Type"),
                    .peer_loopback = !remote};
#undef HV
    serve_verdict v;
    serve_check_head(&h, token, max_up, &v);
    char pbuf[SERVE_MAX_PATH], *parts[SERVE_MAX_PARTS];
    int n = serve_split_path(url, pbuf, parts);
    for (int i = 0; i < n; i++) {
        int64_t id;
        double d;
        (void)serve_parse_id(parts[i], &id);
        (void)serve_parse_num(parts[i], -1e9, 1e9, &d);
        (void)serve_parse_bool(parts[i], 0);
        (void)serve_name_ok(parts[i]);
    }
    (void)serve_has_dotdot(url);
    char nm[128];
    serve_safe_name(url, nm, sizeof nm);
    if (strlen(nm) > 100 || nm[0] == '.' || strchr(nm, '/')) abort(); /* its contract */
    serve_fields fl = {0};
    if (serve_parse_json_fields(&fl, (const char *)data + body_off, size - body_off) == 0) {
        char **slots[] = {&fl.name, &fl.path, &fl.verdict, &fl.top, &fl.threshold, &fl.segments, &fl.norm};
        for (size_t k = 0; k < sizeof slots / sizeof slots[0]; k++)
            if (*slots[k] && strlen(*slots[k]) > SERVE_MAX_FIELD) abort();
    }
    /* form pieces: the body in chunks of 7 into "name" */
    for (size_t o = body_off; o < size; o += 7)
        if (serve_fields_append(&fl, "name", (const char *)data + o, size - o < 7 ? size - o : 7)) break;
    serve_fields_free(&fl);
    free(hv);
    free(head);
    free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (64u << 10)) return 0;
    if (!daemon_) setup();
    int mode = size && data[0] < 0x20 ? data[0] : 0;
    if (size && data[0] < 0x20) {
        data++;
        size--;
    }
    static char token[] = "fuzz-token";
    g_srv.token = mode & 1 ? token : NULL;
    g_srv.max_upload = mode & 4 ? 1000 : 1u << 20;
    through_server(data, size, mode & 2);
    direct(data, size, g_srv.token, mode & 2, g_srv.max_upload);
    return 0;
}
