/*
 * cmd_serve.c - `vidsim serve --index DIR`: the options, start-up (the index opened
 * writable once, a pool of -j searchers, the job thread, libmicrohttpd with a thread
 * per connection) and the graceful stop on SIGTERM/SIGINT (no new connections, the
 * running job finishes, queued ones are cancelled, the index is closed). The HTTP
 * side is serve_http.c / serve_api.c; docs/server.md. Built without libmicrohttpd
 * the command only says so.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef VS_HAVE_MHD
int cmd_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "vidsim serve: this vidsim was built without libmicrohttpd (install libmicrohttpd-dev and "
                    "rebuild)\n");
    return 1;
}
#else

#include <arpa/inet.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

serve g_srv;

static void usage(FILE *f) {
    fputs("usage: vidsim serve --index DIR [--listen HOST:PORT] [--token-file F] [-j N]\n"
          "                    [--max-upload BYTES] [--allow-dir D]... [--upload-dir D]\n"
          "                    [--pca FILE] [--calib FILE]\n"
          "  an HTTP API (/v1, docs/server.md) and a review page (/) over the index DIR.\n"
          "  --listen HOST:PORT  default 127.0.0.1:8080 (port 0: any free port, printed on stdout);\n"
          "                      an address other than loopback needs --token-file\n"
          "  --token-file F      write endpoints need 'Authorization: Bearer TOKEN' (F's first line)\n"
          "  -j N                searches run at once, each with its own searcher (default 2)\n"
          "  --max-upload BYTES  largest upload (default 2000000000)\n"
          "  --allow-dir D       POST /v1/videos may add server-side paths under D (repeatable)\n"
          "  --upload-dir D      where uploaded videos are kept (default DIR/uploads)\n"
          "  --pca FILE          the whitening the index was added with, for video queries and added\n"
          "                      videos (default: the bundled one; as `search --pca`)\n"
          "  --calib FILE        int8 calibration of video queries and added videos, for an index added\n"
          "                      with `index add --calib FILE` (as `search --calib`)\n",
          f);
}


static void note_cb(void *user, const char *msg) {
    serve_slot *sl = user;
    snprintf(sl->note, sizeof sl->note, "%s", msg);
}

void serve_searcher_params(const serve *sv, vs_search_params *p) {
    p->n_threads = 1;
    p->models = sv->models;
    p->pca = sv->pca;
    p->calib = sv->calib;
    p->cmd = "serve";
}

serve_slot *serve_slot_get(serve *sv, char *errbuf, size_t n) {
    pthread_mutex_lock(&sv->mu);
    serve_slot *sl = NULL;
    for (;;) {
        for (int i = 0; i < sv->jobs_n && !sl; i++)
            if (!sv->slots[i].busy) sl = &sv->slots[i];
        if (sl) break;
        pthread_cond_wait(&sv->slot_cv, &sv->mu);
    }
    sl->busy = 1;
    long gen = sv->gen;
    pthread_mutex_unlock(&sv->mu);
    sl->note[0] = 0;
    if (sl->s && sl->gen != gen) {
        vs_searcher_free(sl->s);
        sl->s = NULL;
    }
    if (!sl->s) {
        vs_search_params p = vs_search_default_params();
        serve_searcher_params(sv, &p);
        p.top = 0; /* every hit: ep_search applies the request's top after its threshold and
                      the hidden not_duplicate pairs (the library's default of 10 cut
                      top=0, top > 10 and a top with a hidden pair short) */
        p.note = note_cb;
        p.note_user = sl;
        if (vs_searcher_create(&sl->s, sv->idx, &p) != VS_OK) {
            snprintf(errbuf, n, "%s", vs_last_error());
            serve_slot_put(sv, sl);
            return NULL;
        }
        sl->gen = gen;
    }
    return sl;
}

void serve_slot_put(serve *sv, serve_slot *sl) {
    pthread_mutex_lock(&sv->mu);
    sl->busy = 0;
    pthread_cond_signal(&sv->slot_cv);
    pthread_mutex_unlock(&sv->mu);
}

/* heavy work borrows a slot without using its searcher */
static __thread serve_slot *heavy_slot;
void serve_heavy_begin(serve *sv) {
    pthread_mutex_lock(&sv->mu);
    serve_slot *sl = NULL;
    for (;;) {
        for (int i = 0; i < sv->jobs_n && !sl; i++)
            if (!sv->slots[i].busy) sl = &sv->slots[i];
        if (sl) break;
        pthread_cond_wait(&sv->slot_cv, &sv->mu);
    }
    sl->busy = 1;
    pthread_mutex_unlock(&sv->mu);
    heavy_slot = sl;
}
void serve_heavy_end(serve *sv) {
    if (heavy_slot) serve_slot_put(sv, heavy_slot);
    heavy_slot = NULL;
}

static int parse_listen(const char *s, char *host, size_t n, int *port) {
    const char *c = strrchr(s, ':');
    if (!c || c == s || (size_t)(c - s) >= n) return -1;
    memcpy(host, s, (size_t)(c - s));
    host[c - s] = 0;
    char *end;
    errno = 0;
    long p = strtol(c + 1, &end, 10);
    if (errno || *end || end == c + 1 || p < 0 || p > 65535) return -1;
    *port = (int)p;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 ? 0 : -1;
}

static int read_token(const char *path, char **out) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vidsim serve: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024] = "";
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    line[strcspn(line, "\r\n")] = 0;
    if (strlen(line) < 16) {
        fprintf(stderr, "vidsim serve: %s: the token (first line) must have at least 16 characters\n", path);
        return -1;
    }
    *out = strdup(line);
    return *out ? 0 : -1;
}

int cmd_serve(int argc, char **argv) {
    static const char *const valopts[] = {"--index", "--listen", "--token-file", "-j", "--max-upload", "--allow-dir",
                                          "--upload-dir", "--pca", "--calib", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    serve *sv = &g_srv;
    memset(sv, 0, sizeof *sv);
    const char *listen = "127.0.0.1:8080", *token_file = NULL, *upload_dir = NULL;
    sv->jobs_n = 2;
    sv->max_upload = 2000000000ULL;
    char **allow = calloc((size_t)argc + 1, sizeof *allow);
    if (!allow) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_opt_arg("serve", argc, argv, &i, valopts, &v)) return 2;
        if (!strcmp(a, "--index")) sv->index_dir = v;
        else if (!strcmp(a, "--listen")) listen = v;
        else if (!strcmp(a, "--token-file")) token_file = v;
        else if (!strcmp(a, "-j")) {
            if (cli_parse_int("serve", a, v, 1, 64, &sv->jobs_n)) return 2;
        } else if (!strcmp(a, "--max-upload")) {
            long long m;
            if (cli_parse_ll("serve", a, v, 1, (long long)1 << 50, &m)) return 2;
            sv->max_upload = (unsigned long long)m;
        } else if (!strcmp(a, "--allow-dir")) {
            char rp[PATH_MAX];
            if (!realpath(v, rp)) return cli_usage_error("serve", "--allow-dir %s: %s", v, strerror(errno));
            if (!(allow[sv->n_allow++] = strdup(rp))) return 1;
        } else if (!strcmp(a, "--upload-dir")) upload_dir = v;
        else if (!strcmp(a, "--pca")) sv->pca = v;
        else if (!strcmp(a, "--calib")) sv->calib = v;
        else return cli_unknown_option("serve", a);
    }
    sv->allow_dirs = allow;
    sv->api = serve_api;
    if (!sv->index_dir) return cli_usage_error("serve", "needs --index DIR");
    if (parse_listen(listen, sv->host, sizeof sv->host, &sv->port))
        return cli_usage_error("serve", "--listen must be IPV4:PORT, got '%s'", listen);
    sv->loopback = !strncmp(sv->host, "127.", 4);
    if (token_file && read_token(token_file, &sv->token)) return 1;
    if (!sv->loopback && !sv->token)
        return cli_usage_error("serve", "listening on %s (not loopback) needs --token-file", sv->host);

    int rc = 1;
    if (vs_index_open(&sv->idx, sv->index_dir, VS_INDEX_CREATE) != VS_OK) {
        fprintf(stderr, "vidsim serve: %s\n", vs_last_error());
        return 1;
    }
    snprintf(sv->upload_dir, sizeof sv->upload_dir, "%s", upload_dir ? upload_dir : "");
    if (!upload_dir) snprintf(sv->upload_dir, sizeof sv->upload_dir, "%s/uploads", sv->index_dir);
    if (cli_mkdirs(sv->upload_dir)) {
        fprintf(stderr, "vidsim serve: cannot create %s: %s\n", sv->upload_dir, strerror(errno));
        goto out;
    }
    {
        char rp[PATH_MAX];
        if (realpath(sv->upload_dir, rp)) snprintf(sv->upload_dir, sizeof sv->upload_dir, "%s", rp);
        const char *t = getenv("TMPDIR");
        snprintf(sv->tmp_dir, sizeof sv->tmp_dir, "%s", t && *t ? t : "/tmp");
    }
    sv->models = cli_models();
    pthread_mutex_init(&sv->mu, NULL);
    pthread_cond_init(&sv->slot_cv, NULL);
    pthread_cond_init(&sv->job_cv, NULL);
    sv->slots = calloc((size_t)sv->jobs_n, sizeof *sv->slots);
    if (!sv->slots) goto out;

    /* signals are taken by sigwait below: block them before any thread starts */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (serve_jobs_start(sv)) {
        fprintf(stderr, "vidsim serve: cannot start the job thread\n");
        goto out;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)sv->port);
    inet_pton(AF_INET, sv->host, &sa.sin_addr);
    sv->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
                                  (uint16_t)sv->port, NULL, NULL, serve_handler, sv, MHD_OPTION_SOCK_ADDR, &sa,
                                  MHD_OPTION_NOTIFY_COMPLETED, serve_completed, sv, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned int)128, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
    if (!sv->daemon) {
        fprintf(stderr, "vidsim serve: cannot listen on %s:%d: %s\n", sv->host, sv->port, strerror(errno));
        serve_jobs_stop(sv);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(sv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int port = di ? (int)di->port : sv->port;
    printf("listening on http://%s:%d/\n", sv->host, port);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "vidsim serve: %s: stopping (the running job finishes)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_stop_daemon(sv->daemon); /* closes the socket, joins the connection threads */
    serve_jobs_stop(sv);
    serve_jobs_free(sv);
    rc = 0;
out:
    if (sv->slots)
        for (int i = 0; i < sv->jobs_n; i++) vs_searcher_free(sv->slots[i].s);
    free(sv->slots);
    vs_index_close(sv->idx);
    for (int i = 0; i < sv->n_allow; i++) free(allow[i]);
    free(allow);
    free(sv->token);
    return rc;
}
#endif
