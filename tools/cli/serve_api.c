/*
 * serve_api.c - the endpoints of `vidsim serve` (docs/server.md): each parses and
 * validates its parameters, calls the library (search.h, index.h, decode.h,
 * simmodel.h) and writes JSON (every string through cli_json_str) or a PNG.
 * Adding and deleting videos only queue jobs (serve_jobs.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"

#ifdef VS_HAVE_MHD
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_BEGIN()                                                                                                   \
    char *buf = NULL;                                                                                                  \
    size_t len = 0;                                                                                                    \
    FILE *f = open_memstream(&buf, &len);                                                                              \
    if (!f) return serve_error(r, 500, "out of memory")
#define JSON_END(status) (fclose(f), serve_send_json(r, status, buf, len))

/* The row with catalogue id id (new list in *es). NULL when there is none. */
static const vs_index_entry *find_id(int64_t id, vs_index_entries **es) {
    *es = NULL;
    if (vs_index_list(g_srv.idx, NULL, es) != VS_OK) return NULL;
    for (long i = 0; i < (*es)->n; i++)
        if ((*es)->v[i].id == id) return &(*es)->v[i];
    return NULL;
}

static void video_json(FILE *f, const vs_index_entry *e) {
    fprintf(f, "{\"id\": %lld, \"name\": ", (long long)e->id);
    cli_json_str(f, e->name);
    fputs(", \"file\": ", f);
    cli_json_str(f, cli_basename(e->path));
    fprintf(f, ", \"ok\": %s, \"duration\": ", e->ok ? "true" : "false");
    cli_json_num(f, "%.3f", e->duration);
    fprintf(f, ", \"frames\": %d, \"size\": %llu, \"added\": %.3f", e->n_frames, (unsigned long long)e->size,
            e->added_ns / 1e9);
    if (!e->ok) {
        fputs(", \"error\": ", f);
        cli_json_str(f, e->error);
    }
    fputc('}', f);
}

static void segment_json(FILE *f, const vs_segment *s) {
    fprintf(f, "{\"query_start\": %.3f, \"query_end\": %.3f, \"ref_start\": %.3f, \"ref_end\": %.3f, \"score\": ",
            s->query_start, s->query_end, s->ref_start, s->ref_end);
    cli_json_num(f, "%.6f", s->score);
    fputc('}', f);
}

/* ---- GET /healthz */
static enum MHD_Result ep_health(serve_req *r) {
    vs_index_info info;
    if (vs_index_get_info(g_srv.idx, &info) != VS_OK) return serve_error(r, 503, "%s", vs_last_error());
    JSON_BEGIN();
    fprintf(f, "{\"status\": \"ok\", \"videos\": %ld, \"failed\": %ld, \"jobs_pending\": %ld, \"model\": ", info.n_ok,
            info.n_failed, serve_jobs_pending(&g_srv));
    cli_json_str(f, info.model_id);
    fprintf(f, ", \"version\": ");
    cli_json_str(f, vs_version());
    fputs("}\n", f);
    return JSON_END(200);
}

/* ---- GET /v1/videos, GET /v1/videos/{id} */
static enum MHD_Result ep_videos(serve_req *r) {
    double page = 1, per = 0; /* per_page 0: all */
    const char *ps = serve_param(r, "page"), *pp = serve_param(r, "per_page");
    if (ps && (serve_parse_num(ps, 1, 1e9, &page) || page != floor(page))) return serve_error(r, 400, "page must be an integer >= 1");
    if (pp && (serve_parse_num(pp, 1, 10000, &per) || per != floor(per)))
        return serve_error(r, 400, "per_page must be an integer from 1 to 10000");
    vs_index_entries *es = NULL;
    if (vs_index_list(g_srv.idx, NULL, &es) != VS_OK) return serve_error(r, 500, "%s", vs_last_error());
    long first = per > 0 ? ((long)page - 1) * (long)per : 0, last = per > 0 ? first + (long)per : es->n;
    JSON_BEGIN();
    fputs("{\"videos\": [", f);
    for (long i = first; i < es->n && i < last; i++) {
        if (i > first) fputs(", ", f);
        video_json(f, &es->v[i]);
    }
    fprintf(f, "], \"n\": %ld, \"page\": %ld, \"per_page\": %ld}\n", es->n, (long)page, (long)per);
    vs_index_entries_free(es);
    return JSON_END(200);
}

static enum MHD_Result ep_video(serve_req *r, int64_t id) {
    vs_index_entries *es;
    const vs_index_entry *e = find_id(id, &es);
    if (!e) {
        vs_index_entries_free(es);
        return serve_error(r, 404, "no video with id %lld", (long long)id);
    }
    JSON_BEGIN();
    video_json(f, e);
    fputc('\n', f);
    vs_index_entries_free(es);
    return JSON_END(200);
}

/* ---- GET /v1/videos/{id}/thumbnail?t=&size= */
static enum MHD_Result ep_thumb(serve_req *r, int64_t id) {
    double t = 0, size = 160;
    const char *ts = serve_param(r, "t"), *ss = serve_param(r, "size");
    if (ts && serve_parse_num(ts, 0, 1e7, &t)) return serve_error(r, 400, "t must be seconds >= 0");
    if (ss && (serve_parse_num(ss, 16, 1024, &size) || size != floor(size)))
        return serve_error(r, 400, "size must be an integer from 16 to 1024");
    vs_index_entries *es;
    const vs_index_entry *e = find_id(id, &es);
    if (!e) {
        vs_index_entries_free(es);
        return serve_error(r, 404, "no video with id %lld", (long long)id);
    }
    uint8_t *png = NULL;
    size_t n = 0;
    vs_status s = vs_thumbnail_png(e->path, t, (int)size, &png, &n);
    vs_index_entries_free(es);
    if (s) return serve_error(r, s == VS_ERR_INVALID_ARG ? 400 : 422, "%s", vs_last_error());
    void *copy = malloc(n); /* MHD frees with free() */
    if (!copy) {
        vs_free(png);
        return serve_error(r, 500, "out of memory");
    }
    memcpy(copy, png, n);
    vs_free(png);
    return serve_send(r, 200, "image/png", copy, n, 1);
}

/* ---- POST /v1/search */

/* Search's options beyond the pool's defaults (the `vidsim search` options a client may
 * set; none names a file of the server's): parsed into p, 0, or 400 with the message
 * naming the field in msg [n]. Which of them go together, and their ranges, are the
 * library's rules (vs_search_params_check, called by ep_search); here only what is the
 * server's own: the spellings, its limits (top_k at most 100000, no gvec:SPEC) and
 * top_k without two_stage (the field's default cannot tell it was not given). */
static int search_options(serve_req *r, vs_search_params *p, int *custom, char *msg, size_t n) {
    const vs_search_params d = vs_search_default_params();
    const char *dirs = serve_param(r, "direction"), *sps = serve_param(r, "sim_precision");
    const char *fss = serve_param(r, "first_stage"), *tks = serve_param(r, "top_k");
    const char *gss = serve_param(r, "gvec_segments"), *tps = serve_param(r, "temporal");
    const char *fls = serve_param(r, "frame_levels"), *gws = serve_param(r, "gvec_whiten");
    static const char *const flags[] = {"mirror_view", "inset_view", "two_stage"};
    int fv[3];
    for (int k = 0; k < 3; k++)
        if ((fv[k] = serve_parse_bool(serve_param(r, flags[k]), -2)) == -1) {
            snprintf(msg, n, "%s takes 1/0, true/false or on/off", flags[k]);
            return 400;
        }
    if (fv[0] >= 0) p->mirror_view = fv[0];
    if (fv[1] >= 0) p->inset_view = fv[1];
    if (dirs) {
        if (strcmp(dirs, "sym") && strcmp(dirs, "q2r")) {
            snprintf(msg, n, "direction must be sym or q2r");
            return 400;
        }
        p->symmetric = !strcmp(dirs, "sym");
    }
    if (sps) {
        if (strcmp(sps, "bf16") && strcmp(sps, "fp32")) {
            snprintf(msg, n, "sim_precision must be bf16 or fp32");
            return 400;
        }
        p->sim_precision = !strcmp(sps, "bf16") ? VS_PRECISION_BF16 : VS_PRECISION_FP32;
    }
    /* gvec:SPEC (an ANN index of the client's choosing) is left to the CLI */
    if (fss && strcmp(fss, "hash") && strcmp(fss, "gvec")) {
        snprintf(msg, n, "first_stage must be hash or gvec");
        return 400;
    }
    double k = 0, g = 0, t = 0;
    if (tps) {
        if (serve_parse_num(tps, 0, 1, &t)) {
            snprintf(msg, n, "temporal must be a number from 0 to 1");
            return 400;
        }
        p->temporal = (float)t;
    }
    if (fls) {
        if (serve_parse_num(fls, 0, 1, &t)) {
            snprintf(msg, n, "frame_levels must be a number from 0 to 1");
            return 400;
        }
        p->frame_levels = (float)t;
    }
    if (tks && (serve_parse_num(tks, 1, 100000, &k) || k != floor(k))) {
        snprintf(msg, n, "top_k must be an integer from 1 to 100000");
        return 400;
    }
    /* a whitening file of the client's choosing is left to the CLI: on (the default) or off */
    if (gws && strcmp(gws, "on") && strcmp(gws, "off")) {
        snprintf(msg, n, "gvec_whiten must be on or off");
        return 400;
    }
    if (gss && (serve_parse_num(gss, 1, 1e9, &g) || g != floor(g))) { /* the maximum: the library's */
        snprintf(msg, n, "gvec_segments must be an integer from 1 to %d", VS_GVEC_MAX_SEGMENTS);
        return 400;
    }
    /* as the CLI: first_stage implies two_stage */
    const int two = fv[2] == 1 || (fv[2] < 0 && fss);
    if (tks && !two) {
        snprintf(msg, n, fv[2] == 0 ? "top_k needs two_stage (leave two_stage out or set it to 1)"
                                    : "top_k sets the candidates of two_stage (or first_stage)");
        return 400;
    }
    if (two) p->mode = VS_SEARCH_TWO_STAGE;
    p->first_stage = fss;
    if (tks) p->two_stage_k = (long)k;
    if (gss) p->gvec_segments = (int)g;
    if (gws && !strcmp(gws, "off")) p->gvec_whiten = "off";
    *custom = p->mirror_view != d.mirror_view || p->inset_view != d.inset_view || p->symmetric != d.symmetric ||
              p->sim_precision != d.sim_precision || p->temporal != d.temporal || p->mode != d.mode ||
              p->frame_levels != d.frame_levels;
    return 0;
}

/* How many not_duplicate verdicts name the query (its query id, vs_search_query_id):
 * the most hits vs_search_hide_rejected can take from its result. */
static int rejected_of(const char *query) {
    char q[PATH_MAX];
    vs_search_query_id(query, q, sizeof q);
    vs_index_verdicts *v = NULL;
    int n = 0;
    if (vs_index_list_verdicts(g_srv.idx, &v) != VS_OK) return 0;
    for (long i = 0; i < v->n && n < 100000; i++)
        n += v->v[i].verdict == VS_VERDICT_NOT_DUPLICATE && (!strcmp(v->v[i].a, q) || !strcmp(v->v[i].b, q));
    vs_index_verdicts_free(v);
    return n;
}

static enum MHD_Result ep_search(serve_req *r) {
    const char *name = serve_param(r, "name");
    const char *tops = serve_param(r, "top"), *thrs = serve_param(r, "threshold");
    double top = 10, thr = -1e30;
    if (tops && (serve_parse_num(tops, 0, 100000, &top) || top != floor(top)))
        return serve_error(r, 400, "top must be an integer from 0 (all) to 100000");
    /* a number, or an operating point of the normalised ViSiL_f score (as dedup, search.md) */
    const int named_thr = thrs && vs_norm_operating_point(thrs, &thr);
    if (thrs && !named_thr && serve_parse_num(thrs, -1e30, 1e30, &thr))
        return serve_error(r, 400, "threshold must be a number or p90, p95, p99");
    int segments = serve_parse_bool(serve_param(r, "segments"), 0);
    int norm = serve_parse_bool(serve_param(r, "norm"), 1);
    int show_rejected = serve_parse_bool(serve_param(r, "show_rejected"), 0);
    if (segments < 0 || norm < 0 || show_rejected < 0)
        return serve_error(r, 400, "segments, norm and show_rejected take 1/0, true/false or on/off");
    vs_search_params sp = vs_search_default_params();
    int custom = 0;
    char msg[256];
    if (search_options(r, &sp, &custom, msg, sizeof msg)) return serve_error(r, 400, "%s", msg);
    sp.segments = segments;
    sp.normalize = norm;
    sp.threshold = thr;
    /* which options go together: the library's rules, its message in the request's
     * field names (two_stage_k is top_k here) */
    if (vs_search_params_check(&sp) != VS_OK) {
        const char *e = vs_last_error();
        return !strncmp(e, "two_stage_k", 11) ? serve_error(r, 400, "top_k%s", e + 11) : serve_error(r, 400, "%s", e);
    }
    if (named_thr && !vs_search_params_operating_points_hold(&sp))
        return serve_error(r, 400, "threshold %s is measured for the normalised score in both directions: not with "
                                   "norm off, direction q2r, another temporal or another frame_levels (give a number)",
                           thrs);
    const char *query;
    if (r->up_seen) {
        if (!r->up_path[0]) return serve_error(r, 500, "the upload was not stored");
        if (r->up_bytes == 0) return serve_error(r, 400, "the uploaded file is empty");
        query = r->up_path;
    } else if (name) {
        if (!serve_name_ok(name)) return serve_error(r, 400, "name must be the name of an indexed video");
        /* exactly one ok row, else the library would try NAME as a file of the server's */
        vs_index_entries *es = NULL;
        long n_rows = -1;
        int found = 0;
        if (vs_index_list(g_srv.idx, name, &es) == VS_OK) {
            n_rows = es->n;
            found = es->n == 1 && es->v[0].ok && !strcmp(es->v[0].name, name);
        }
        vs_index_entries_free(es);
        if (n_rows > 1) return serve_error(r, 409, "%ld indexed videos are named '%s': search by upload", n_rows, name);
        if (!found) return serve_error(r, 404, "no successfully indexed video named '%s'", name);
        query = name;
    } else
        return serve_error(r, 400, "send a video as multipart field 'file', or the field 'name' of an indexed video");

    char err[1024];
    serve_slot *sl = serve_slot_get(&g_srv, err, sizeof err);
    if (!sl) return serve_error(r, 409, "%s", err);
    /* the pool's searchers score with the defaults (normalisation, no segments, the
     * default views and mode) and keep every hit (top 0, cmd_serve.c): the request's top
     * is applied below, after its threshold and the hidden pairs; another combination
     * gets a searcher of its own for this request */
    vs_searcher *s = sl->s, *own = NULL;
    if (segments || !norm || custom) {
        vs_search_params p = sp;
        serve_searcher_params(&g_srv, &p);
        /* segments are found for the listed pairs only: top of them, plus the query's
         * not_duplicate pairs, which are hidden below without taking a place */
        p.top = segments && top ? (int)top + (show_rejected ? 0 : rejected_of(query)) : 0;
        p.threshold = thr;
        p.segments = segments;
        p.normalize = norm;
        if (vs_searcher_create(&own, g_srv.idx, &p) != VS_OK) {
            snprintf(err, sizeof err, "%s", vs_last_error());
            serve_slot_put(&g_srv, sl);
            return serve_error(r, 409, "%s", err);
        }
        s = own;
    }
    vs_search_result *res = NULL;
    vs_status st = vs_searcher_query(s, query, &res);
    if (st) snprintf(err, sizeof err, "%s", sl->note[0] ? sl->note : vs_last_error());
    vs_searcher_free(own);
    serve_slot_put(&g_srv, sl);
    serve_req_drop_upload(r);
    if (st) return serve_error(r, 422, "%s", err[0] ? err : "the query could not be searched");
    long hidden = 0;
    if (!show_rejected && vs_search_hide_rejected(g_srv.idx, res, &hidden) != VS_OK) {
        vs_search_result_free(res);
        return serve_error(r, 500, "%s", vs_last_error());
    }
    JSON_BEGIN();
    fputs("{\"query_id\": ", f);
    cli_json_str(f, res->query_id);
    fprintf(f, ", \"normalized\": %s, \"hidden_rejected\": %ld, \"skipped\": %ld, \"matches\": [", norm ? "true" : "false",
            hidden, res->n_skipped);
    long shown = 0;
    for (long k = 0; k < res->n && (top == 0 || shown < (long)top); k++) {
        const vs_search_hit *h = &res->hits[k];
        if (h->score < thr) continue;
        fprintf(f, "%s{\"video_id\": %lld, \"name\": ", shown ? ", " : "", (long long)h->video_id);
        cli_json_str(f, h->name);
        fputs(", \"score\": ", f);
        cli_json_num(f, "%.6f", h->score);
        if (segments) {
            fputs(", \"segments\": [", f);
            for (int g = 0; g < h->n_segments; g++) {
                if (g) fputs(", ", f);
                segment_json(f, &h->segments[g]);
            }
            fputc(']', f);
        }
        fputc('}', f);
        shown++;
    }
    fputs("]}\n", f);
    vs_search_result_free(res);
    return JSON_END(200);
}

/* ---- POST /v1/videos, DELETE /v1/videos/{id}, GET /v1/jobs/{id} */

static enum MHD_Result job_accepted(serve_req *r, long id) {
    if (id < 0) return serve_error(r, 503, "cannot queue the job (out of memory or too many pending)");
    JSON_BEGIN();
    fprintf(f, "{\"job\": %ld, \"status_url\": \"/v1/jobs/%ld\"}\n", id, id);
    return JSON_END(202);
}

static enum MHD_Result ep_add(serve_req *r) {
    const char *path = serve_param(r, "path");
    if (r->up_seen) {
        if (!r->up_path[0]) return serve_error(r, 500, "the upload was not stored");
        if (r->up_bytes == 0) return serve_error(r, 400, "the uploaded file is empty");
        long id = serve_job_submit(&g_srv, JOB_ADD, r->up_path, 0);
        if (id >= 0) r->up_path[0] = r->up_dir[0] = 0; /* the file is the job's now (kept: the index refers to it) */
        return job_accepted(r, id);
    }
    if (!path) return serve_error(r, 400, "send a video as multipart field 'file', or the field 'path'");
    if (!g_srv.n_allow) return serve_error(r, 403, "server-side paths are disabled (start the server with --allow-dir)");
    if (!*path || path[0] != '/' || serve_has_dotdot(path) || strlen(path) >= PATH_MAX)
        return serve_error(r, 403, "path must be absolute, without '..' components");
    char rp[PATH_MAX];
    if (!realpath(path, rp)) return serve_error(r, 404, "%s: %s", path, strerror(errno));
    int inside = 0;
    for (int i = 0; i < g_srv.n_allow && !inside; i++) {
        size_t n = strlen(g_srv.allow_dirs[i]);
        inside = !strncmp(rp, g_srv.allow_dirs[i], n) && (rp[n] == '/' || (n == 1 && rp[0] == '/'));
    }
    if (!inside) return serve_error(r, 403, "%s is outside the --allow-dir folders (symbolic links are resolved)", path);
    struct stat st;
    if (stat(rp, &st) || !S_ISREG(st.st_mode)) return serve_error(r, 400, "%s is not a regular file", path);
    return job_accepted(r, serve_job_submit(&g_srv, JOB_ADD, rp, 0));
}

static enum MHD_Result ep_delete(serve_req *r, int64_t id) {
    vs_index_entries *es;
    int found = find_id(id, &es) != NULL;
    vs_index_entries_free(es);
    if (!found) return serve_error(r, 404, "no video with id %lld", (long long)id);
    return job_accepted(r, serve_job_submit(&g_srv, JOB_DELETE, NULL, id));
}

static enum MHD_Result ep_job(serve_req *r, const char *ids) {
    int64_t id;
    if (serve_parse_id(ids, &id)) return serve_error(r, 400, "a job id is a positive integer");
    JSON_BEGIN();
    if (serve_job_json(&g_srv, (long)id, f)) {
        fclose(f);
        free(buf);
        return serve_error(r, 404, "no job %lld", (long long)id);
    }
    fputc('\n', f);
    return JSON_END(200);
}

/* ---- pairs */

static enum MHD_Result pair_names(serve_req *r, const char *qs, const char *rs, char **a, char **b) {
    int64_t qa, qb;
    *a = *b = NULL;
    if (serve_parse_id(qs, &qa) || serve_parse_id(rs, &qb)) return serve_error(r, 400, "video ids are positive integers");
    if (qa == qb) return serve_error(r, 400, "a pair needs two different videos");
    vs_index_entries *es;
    const vs_index_entry *ea = find_id(qa, &es), *eb = NULL;
    if (es)
        for (long i = 0; i < es->n; i++)
            if (es->v[i].id == qb) eb = &es->v[i];
    if (!ea || !eb || !ea->ok || !eb->ok) {
        int64_t missing = !ea || !ea->ok ? qa : qb;
        vs_index_entries_free(es);
        return serve_error(r, 404, "no successfully indexed video with id %lld", (long long)missing);
    }
    *a = strdup(ea->name);
    *b = strdup(eb->name);
    vs_index_entries_free(es);
    if (!*a || !*b) {
        free(*a);
        free(*b);
        *a = *b = NULL;
        return serve_error(r, 500, "out of memory");
    }
    return MHD_YES;
}

static enum MHD_Result heatmap_png(serve_req *r, const vs_pair_result *pr) {
    char path[4200];
    snprintf(path, sizeof path, "%s/vidsim-heat-XXXXXX", g_srv.tmp_dir);
    int fd = mkstemp(path);
    if (fd < 0) return serve_error(r, 500, "cannot create a temporary file");
    close(fd);
    float vmax = 0.2f;
    for (long i = 0; i < (long)pr->T * pr->U; i++) vmax = pr->matrix[i] > vmax ? pr->matrix[i] : vmax;
    int boxes[4 * 16], nb = 0;
    for (int k = 0; k < pr->n_segments && nb < 16; k++, nb++) {
        boxes[4 * nb] = pr->segments[k].q0;
        boxes[4 * nb + 1] = pr->segments[k].r0;
        boxes[4 * nb + 2] = pr->segments[k].q1;
        boxes[4 * nb + 3] = pr->segments[k].r1;
    }
    if (vs_heatmap_write_png_boxes(path, pr->matrix, pr->T, pr->U, 0.f, vmax, boxes, nb) != VS_OK) {
        unlink(path);
        return serve_error(r, 500, "%s", vs_last_error());
    }
    FILE *in = fopen(path, "rb");
    unlink(path);
    if (!in) return serve_error(r, 500, "cannot read the heatmap");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, in)) > 0) fwrite(chunk, 1, n, f);
    fclose(in);
    if (!f) return serve_error(r, 500, "out of memory");
    fclose(f);
    return serve_send(r, 200, "image/png", buf, len, 1);
}

static enum MHD_Result ep_pair(serve_req *r, const char *qs, const char *rs) {
    const char *fmt = serve_param(r, "format");
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "png")) return serve_error(r, 400, "format must be json or png");
    char *a, *b;
    enum MHD_Result ret = pair_names(r, qs, rs, &a, &b);
    if (!a) return ret;
    vs_search_params p = vs_search_default_params();
    p.n_threads = 1;
    p.models = g_srv.models;
    vs_pair_result *pr = NULL;
    serve_heavy_begin(&g_srv);
    vs_status s = vs_pair_compare(g_srv.idx, a, b, &p, &pr);
    serve_heavy_end(&g_srv);
    vs_verdict v = VS_VERDICT_NONE;
    if (!s) s = vs_index_get_verdict(g_srv.idx, a, b, &v);
    free(a);
    free(b);
    if (s) {
        vs_pair_result_free(pr);
        return serve_error(r, 500, "%s", vs_last_error());
    }
    if (fmt && !strcmp(fmt, "png")) {
        ret = heatmap_png(r, pr);
        vs_pair_result_free(pr);
        return ret;
    }
    JSON_BEGIN();
    fprintf(f, "{\"a\": {\"id\": %lld, \"name\": ", (long long)pr->a_id);
    cli_json_str(f, pr->a);
    fprintf(f, ", \"duration\": %.3f, \"frames\": %d}, \"b\": {\"id\": %lld, \"name\": ", pr->a_duration, pr->T,
            (long long)pr->b_id);
    cli_json_str(f, pr->b);
    fprintf(f, ", \"duration\": %.3f, \"frames\": %d}, \"score\": ", pr->b_duration, pr->U);
    cli_json_num(f, "%.6f", pr->score);
    fputs(", \"a_to_b\": ", f);
    cli_json_num(f, "%.6f", pr->a_to_b);
    fputs(", \"b_to_a\": ", f);
    cli_json_num(f, "%.6f", pr->b_to_a);
    fprintf(f, ", \"verdict\": \"%s\", \"heatmap_url\": \"/v1/pairs/%lld/%lld?format=png\", \"segments\": [",
            vs_verdict_name(v), (long long)pr->a_id, (long long)pr->b_id);
    for (int k = 0; k < pr->n_segments; k++) {
        if (k) fputs(", ", f);
        segment_json(f, &pr->segments[k]);
    }
    fputs("]}\n", f);
    vs_pair_result_free(pr);
    return JSON_END(200);
}

static enum MHD_Result ep_verdict(serve_req *r, const char *qs, const char *rs) {
    const char *vs = serve_param(r, "verdict");
    vs_verdict v = vs_verdict_parse(vs);
    if (!vs || (int)v < 0) return serve_error(r, 400, "verdict must be duplicate, not_duplicate or none");
    char *a, *b;
    enum MHD_Result ret = pair_names(r, qs, rs, &a, &b);
    if (!a) return ret;
    vs_status s = vs_index_set_verdict(g_srv.idx, a, b, v);
    if (s) {
        free(a);
        free(b);
        return serve_error(r, 500, "%s", vs_last_error());
    }
    JSON_BEGIN();
    fputs("{\"a\": ", f);
    cli_json_str(f, a);
    fputs(", \"b\": ", f);
    cli_json_str(f, b);
    fprintf(f, ", \"verdict\": \"%s\"}\n", vs_verdict_name(v));
    free(a);
    free(b);
    return JSON_END(200);
}

static enum MHD_Result ep_verdicts(serve_req *r) {
    vs_index_verdicts *vl = NULL;
    if (vs_index_list_verdicts(g_srv.idx, &vl) != VS_OK) return serve_error(r, 500, "%s", vs_last_error());
    JSON_BEGIN();
    fputs("{\"verdicts\": [", f);
    for (long i = 0; i < vl->n; i++) {
        fputs(i ? ", {\"a\": " : "{\"a\": ", f);
        cli_json_str(f, vl->v[i].a);
        fputs(", \"b\": ", f);
        cli_json_str(f, vl->v[i].b);
        fprintf(f, ", \"verdict\": \"%s\", \"set\": %.3f}", vs_verdict_name(vl->v[i].verdict), vl->v[i].set_ns / 1e9);
    }
    fputs("]}\n", f);
    vs_index_verdicts_free(vl);
    return JSON_END(200);
}

/* ---- GET /v1/dedup */

static long id_of(const vs_index_entries *es, const char *name) {
    for (long i = 0; i < es->n; i++)
        if (es->v[i].ok && !strcmp(es->v[i].name, name)) return (long)es->v[i].id;
    return 0;
}

static enum MHD_Result ep_dedup(serve_req *r) {
    double thr, page = 1, per = 20;
    const char *ts = serve_param(r, "threshold"), *ps = serve_param(r, "page"), *pp = serve_param(r, "per_page");
    int norm = serve_parse_bool(serve_param(r, "norm"), 1);
    if (norm < 0) return serve_error(r, 400, "norm takes on/off, 1/0 or true/false");
    /* named operating points of the normalised ViSiL_f score (docs/search.md "Operating
     * points", as `vidsim dedup --threshold p95`); default p90 as `vidsim dedup`, or 0.5 raw */
    thr = 0.5;
    if (norm) vs_norm_operating_point(VS_NORM_DEDUP_POINT, &thr);
    const int named = vs_norm_operating_point(ts, &thr);
    if (named && !norm) return serve_error(r, 400, "threshold %s is a point of the normalised score: not with norm=off", ts);
    if (ts && !named && serve_parse_num(ts, -1e9, 1e9, &thr)) return serve_error(r, 400, "threshold must be a number or p90, p95, p99");
    if (ps && (serve_parse_num(ps, 1, 1e9, &page) || page != floor(page))) return serve_error(r, 400, "page must be an integer >= 1");
    if (pp && (serve_parse_num(pp, 1, 500, &per) || per != floor(per)))
        return serve_error(r, 400, "per_page must be an integer from 1 to 500");
    int show_rejected = serve_parse_bool(serve_param(r, "show_rejected"), 0);
    if (show_rejected < 0) return serve_error(r, 400, "show_rejected takes 1/0 or true/false");
    vs_search_params p = vs_search_default_params();
    p.threshold = thr;
    p.normalize = norm;
    p.n_threads = 1;
    p.models = g_srv.models;
    p.cmd = "dedup";
    vs_dedup_result *d = NULL;
    vs_dedup_groups *g = NULL;
    vs_index_entries *es = NULL;
    long hidden = 0;
    serve_heavy_begin(&g_srv);
    vs_status s = vs_dedup(g_srv.idx, &p, &d);
    serve_heavy_end(&g_srv);
    if (!s && !show_rejected) s = vs_dedup_hide_rejected(g_srv.idx, d, &hidden);
    if (!s) s = vs_dedup_groups_make(d, &g);
    if (!s) s = vs_index_list(g_srv.idx, NULL, &es);
    if (s) {
        vs_dedup_result_free(d);
        vs_dedup_groups_free(g);
        return serve_error(r, s == VS_ERR_INVALID_ARG ? 409 : 500, "%s", vs_last_error());
    }
    JSON_BEGIN();
    fprintf(f, "{\"threshold\": %g, \"normalized\": %s, \"n_groups\": %ld, \"n_pairs\": %ld, \"hidden_rejected\": %ld, \"page\": %ld, "
               "\"per_page\": %ld, \"groups\": [",
            thr, norm ? "true" : "false", g->n, d->n, hidden, (long)page, (long)per);
    long first = ((long)page - 1) * (long)per;
    for (long i = first; i < g->n && i < first + (long)per; i++) {
        const vs_dedup_group *gr = &g->v[i];
        fprintf(f, "%s{\"best_score\": ", i > first ? ", " : "");
        cli_json_num(f, "%.6f", gr->best_score);
        fprintf(f, ", \"n_pairs\": %ld, \"members\": [", gr->n_pairs);
        for (long m = 0; m < gr->n_members; m++) {
            fprintf(f, "%s{\"id\": %ld, \"name\": ", m ? ", " : "", id_of(es, gr->members[m]));
            cli_json_str(f, gr->members[m]);
            fputc('}', f);
        }
        fputs("], \"pairs\": [", f);
        /* the group's pairs (at most 100), best first */
        long shown = 0;
        for (long k = 0; k < d->n && shown < 100; k++) {
            const char *a = d->pairs[k].a;
            int in = 0;
            for (long m = 0; m < gr->n_members && !in; m++) in = !strcmp(gr->members[m], a);
            if (!in) continue;
            fprintf(f, "%s{\"a\": %ld, \"b\": %ld, \"score\": ", shown ? ", " : "", id_of(es, a), id_of(es, d->pairs[k].b));
            cli_json_num(f, "%.6f", d->pairs[k].score);
            fputc('}', f);
            shown++;
        }
        fputs("]}", f);
    }
    fputs("]}\n", f);
    vs_index_entries_free(es);
    vs_dedup_groups_free(g);
    vs_dedup_result_free(d);
    return JSON_END(200);
}

/* ---- routing by method */

static enum MHD_Result need(serve_req *r, const char *method) {
    (void)method;
    return serve_error(r, 405, "method %s not allowed here", r->method);
}

enum MHD_Result serve_api(serve_req *r, char **parts, int n) {
    const char *m = r->method;
    int get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
    int64_t id;
    switch (r->route) {
    case 1:
        if (!get) return need(r, "GET");
        return serve_send(r, 200, "text/html; charset=utf-8", (void *)serve_page_html, strlen(serve_page_html), 0);
    case 2:
        if (!get) return need(r, "GET");
        if (!strcmp(parts[0], "app.js"))
            return serve_send(r, 200, "text/javascript; charset=utf-8", (void *)serve_page_js, strlen(serve_page_js), 0);
        return serve_send(r, 200, "text/css; charset=utf-8", (void *)serve_page_css, strlen(serve_page_css), 0);
    case 3: return get ? ep_health(r) : need(r, "GET");
    case 5: return !strcmp(m, "POST") ? ep_search(r) : need(r, "POST");
    case 6:
        if (get) return ep_videos(r);
        return !strcmp(m, "POST") ? ep_add(r) : need(r, "GET, POST");
    case 7:
        if (serve_parse_id(parts[2], &id)) return serve_error(r, 400, "a video id is a positive integer");
        if (get) return ep_video(r, id);
        return !strcmp(m, "DELETE") ? ep_delete(r, id) : need(r, "GET, DELETE");
    case 8:
        if (serve_parse_id(parts[2], &id)) return serve_error(r, 400, "a video id is a positive integer");
        return get ? ep_thumb(r, id) : need(r, "GET");
    case 9: return get ? ep_job(r, parts[2]) : need(r, "GET");
    case 10: return get ? ep_pair(r, parts[2], parts[3]) : need(r, "GET");
    case 11: return !strcmp(m, "PUT") ? ep_verdict(r, parts[2], parts[3]) : need(r, "PUT");
    case 12: return get ? ep_dedup(r) : need(r, "GET");
    case 13: return get ? ep_verdicts(r) : need(r, "GET");
    default: (void)n; return serve_error(r, 404, "no such endpoint");
    }
}
#endif
