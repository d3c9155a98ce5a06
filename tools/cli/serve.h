/*
 * serve.h - the pieces of `vidsim serve` (docs/server.md) shared between its files:
 * the server state, the searcher pool (cmd_serve.c), the job queue (serve_jobs.c),
 * the HTTP routing and request bodies (serve_http.c), the endpoints (serve_api.c),
 * the metrics (serve_http.c) and the embedded page (serve_page.c). Only tools/cli
 * includes this; everything about search and the index goes through the library.
 */
#ifndef VS_CLI_SERVE_H
#define VS_CLI_SERVE_H

#include "search_print.h"
#include "serve_parse.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#ifdef VS_HAVE_MHD
#include <microhttpd.h>

/* One searcher slot: used by one request at a time; rebuilt when the index changed
 * since it was made (gen older than the server's). */
typedef struct serve_slot {
    vs_searcher *s;
    long gen;
    int busy;
    char note[1024];          /* the last note of the query in progress */
} serve_slot;

typedef enum { JOB_QUEUED = 0, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED } serve_job_state;
typedef enum { JOB_ADD = 1, JOB_DELETE } serve_job_kind;

typedef struct serve_job {
    long id;
    serve_job_kind kind;
    serve_job_state state;
    char *path;               /* JOB_ADD: the video (absolute) */
    int64_t video_id;         /* JOB_DELETE: the row; JOB_ADD: the row added (when done) */
    char *name;               /* the video's name (when known) */
    char *error;              /* JOB_FAILED: why */
    char outcome[16];         /* JOB_ADD: added / replaced / unchanged / failed */
    double created, started, finished; /* unix seconds */
    struct serve_job *next;   /* queue order */
} serve_job;

struct serve_req;

typedef struct serve {
    /* options */
    const char *index_dir;
    char host[64];
    int port;
    int loopback;             /* bound to a loopback address */
    char *token;              /* NULL: no token file */
    int jobs_n;               /* searchers (-j) */
    unsigned long long max_upload;
    char **allow_dirs;        /* realpath()s */
    int n_allow;
    char upload_dir[4096];    /* where uploaded videos are kept (INDEX/uploads) */
    char tmp_dir[4096];       /* where search uploads are streamed */
    /* state */
    vs_index *idx;            /* writable, shared by every thread (index.h) */
    vs_model_locator models;
    const char *pca, *calib;  /* --pca / --calib: the extraction files of video queries and
                                 of added videos (NULL: the bundled ones) */
    pthread_mutex_t mu;       /* slots, gen, jobs */
    pthread_cond_t slot_cv, job_cv;
    serve_slot *slots;        /* [jobs_n] */
    long gen;                 /* bumped after each job that changed the index */
    serve_job *queue_head, *queue_tail;
    long next_job_id;
    int stopping;
    pthread_t job_thread;
    struct MHD_Daemon *daemon;
    /* the endpoints (serve_api), set by cmd_serve.c: serve_http.c routes to them
     * through this pointer, so that the HTTP layer does not include the API's file */
    enum MHD_Result (*api)(struct serve_req *r, char **parts, int n_parts);
} serve;

/* The global server (one per process). */
extern serve g_srv;

/* Searcher pool (cmd_serve.c): a slot whose searcher sees the current index, waiting
 * for a free one; NULL with *err set (static or into errbuf) when the searcher could
 * not be made. */
serve_slot *serve_slot_get(serve *sv, char *errbuf, size_t n);
void serve_slot_put(serve *sv, serve_slot *sl);
/* The server's part of a searcher's params p, pooled or per request: one thread, its
 * model locator, --pca and --calib (the files of video queries), cmd "serve". */
void serve_searcher_params(const serve *sv, vs_search_params *p);
/* Bound concurrency of heavy work that needs no searcher (dedup, pairs). */
void serve_heavy_begin(serve *sv);
void serve_heavy_end(serve *sv);

/* Jobs (serve_jobs.c). */
int serve_jobs_start(serve *sv);
/* Stop after the running job; queued ones are cancelled. */
void serve_jobs_stop(serve *sv);
/* Free the job history (after serve_jobs_stop). */
void serve_jobs_free(serve *sv);
/* Queue a job (path or video_id); returns its id, or -1 out of memory. path is copied. */
long serve_job_submit(serve *sv, serve_job_kind kind, const char *path, int64_t video_id);
/* Write {"id":..., "state":...} of job id into f; 0, or -1 when there is no such job. */
int serve_job_json(serve *sv, long id, FILE *f);
long serve_jobs_pending(serve *sv);

/* A request (serve_http.c). */
typedef struct serve_req {
    struct MHD_Connection *conn;
    const char *method, *url;
    int route;                /* endpoint label index (metrics) */
    double t0;
    int status;               /* sent status */
    /* body */
    struct MHD_PostProcessor *pp;
    int is_json;              /* application/json body collected in body */
    char *body;
    size_t body_n, body_cap;
    unsigned long long total; /* body bytes seen */
    int too_large, bad_body;
    /* upload (multipart "file" part) */
    int up_fd;
    char up_dir[8448];        /* the mkdtemp folder of the upload */
    char up_path[8704];       /* up_dir/NAME */
    unsigned long long up_bytes;
    int up_seen;
    serve_fields fields;      /* form or JSON fields (serve_parse.h) */
} serve_req;

/* Responses (serve_http.c): every one gets the security headers. */
enum MHD_Result serve_send(serve_req *r, int status, const char *type, void *data, size_t len, int must_free);
enum MHD_Result serve_send_json(serve_req *r, int status, char *buf, size_t len); /* buf from open_memstream */
enum MHD_Result serve_error(serve_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A query or form/JSON parameter (query string first). NULL if absent. */
const char *serve_param(serve_req *r, const char *key);
/* Remove an upload's temporary file and folder (nothing to do when none). */
void serve_req_drop_upload(serve_req *r);

/* Endpoints (serve_api.c), after routing and auth; parts are the path segments. */
enum MHD_Result serve_api(serve_req *r, char **parts, int n_parts);
/* Metrics (serve_http.c). */
enum MHD_Result serve_metrics(serve_req *r);
/* The handler MHD calls, and the completion hook (serve_http.c). */
enum MHD_Result serve_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls);
void serve_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);

/* The page (serve_page.c). */
extern const char serve_page_html[], serve_page_js[], serve_page_css[];

double serve_now(void);
#endif

#endif
