/*
 * bench_inset.c - the picture-in-picture inset detector against the true insets of a
 * copy benchmark (bench/inset_truth.py), and the inset view a perfect detector would give.
 *
 *   bench_inset detect TRUTH.csv VIDEO...
 *       Runs the detector on every video exactly as `vidsim extract --inset-view on` does
 *       (probe pictures VS_PROBE_WIDTH wide, grey and colour, vs_inset_detect_rgb) and prints one CSV
 *       line per video: query_id,kind,found,iou,x0,y0,x1,y1,t0,t1,side,corr (kind from
 *       TRUTH, "-" for a video without an inset; iou of the found rectangle with the true
 *       one). Then one summary line per kind on stderr: right (found, IoU > 0.5), wrong
 *       (found elsewhere), none (nothing found); and how many videos without a true inset
 *       got one.
 *   bench_inset oracle TRUTH.csv KIND OUTDIR VIDEO...
 *       For every video with a true inset of KIND (video_in_video, donor_overlay): the
 *       features `vidsim extract --mirror-view on --inset-view on` would write had the
 *       detector found the true rectangle and span, as OUTDIR/NAME.vsf (the normal and
 *       mirror views as extract computes them). Searching a draw's queries with these
 *       files in place of its own measures what a perfect detector would give.
 *       VS_BENCH_MODELS (default models) holds the backbone; VS_BENCH_PCA overrides the
 *       whitening file. Other videos are skipped.
 *
 * docs/hard_copies.md "How far the inset detector is from the truth" has the figures and
 * bench/README.md the commands. Prints, never asserts.
 */
#include "bench.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct truth {
    char id[128], kind[32];
    float r[4], t0, t1;
} truth;

static int load_truth(const char *path, truth **out) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_inset: %s: cannot open\n", path);
        return -1;
    }
    char line[512];
    int n = 0, cap = 0;
    truth *t = NULL;
    if (!fgets(line, sizeof line, f) || strncmp(line, "query_id,kind,", 14)) {
        fprintf(stderr, "bench_inset: %s: not an inset_truth.py CSV (header query_id,kind,...)\n", path);
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            truth *nt = realloc(t, sizeof *t * (size_t)cap);
            if (!nt) {
                fprintf(stderr, "bench_inset: %s: out of memory at line %d\n", path, n + 2);
                free(t);
                fclose(f);
                return -1;
            }
            t = nt;
        }
        truth *x = &t[n];
        char *id = strtok(line, ","), *kind = strtok(NULL, ",");
        int ok = id && kind;
        float v[6];
        for (int k = 0; k < 6 && ok; k++) {
            char *s = strtok(NULL, ",\n");
            ok = s != NULL;
            if (ok) v[k] = strtof(s, NULL);
        }
        if (!ok) {
            fprintf(stderr, "bench_inset: %s: line %d: expected 8 fields\n", path, n + 2);
            free(t);
            fclose(f);
            return -1;
        }
        snprintf(x->id, sizeof x->id, "%s", id);
        snprintf(x->kind, sizeof x->kind, "%s", kind);
        memcpy(x->r, v, sizeof x->r);
        x->t0 = v[4], x->t1 = v[5];
        n++;
    }
    fclose(f);
    *out = t;
    return n;
}

/* The video's name without folder and extension. */
static void video_id(const char *path, char *id, size_t n) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    snprintf(id, n, "%s", basename(buf));
    char *dot = strrchr(id, '.');
    if (dot && dot != id) *dot = 0;
}

static const truth *find_truth(const truth *t, int n, const char *id) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].id, id)) return &t[i];
    return NULL;
}

static double iou(const float *a, const float *b) {
    const double ix = fmax(0, fmin(a[2], b[2]) - fmax(a[0], b[0])), iy = fmax(0, fmin(a[3], b[3]) - fmax(a[1], b[1]));
    const double in = ix * iy, un = (double)(a[2] - a[0]) * (a[3] - a[1]) + (double)(b[2] - b[0]) * (b[3] - b[1]) - in;
    return un > 0 ? in / un : 0;
}

static int cmd_detect(const truth *t, int nt, int nv, char **videos) {
    enum { MAXK = 8 };
    char kinds[MAXK][32];
    int nk = 0, cnt[MAXK][3] = {{0}}, other = 0, n_other = 0, failed = 0;
    printf("query_id,kind,found,iou,x0,y0,x1,y1,t0,t1,side,corr\n");
    for (int i = 0; i < nv; i++) {
        char id[128];
        video_id(videos[i], id, sizeof id);
        vs_decode_params p = vs_decode_default_params();
        p.probe_width = VS_PROBE_WIDTH;
        p.probe_colour = 1;
        vs_decoder *d;
        if (vs_decode_open(&d, videos[i], &p) != VS_OK) {
            fprintf(stderr, "bench_inset: %s\n", vs_last_error());
            failed++;
            continue;
        }
        const uint8_t *rgb;
        double ts;
        vs_status s;
        while ((s = vs_decode_next(d, &rgb, &ts)) == VS_OK && rgb) {
        }
        int n = 0, w = 0, h = 0;
        const uint8_t *pics = s == VS_OK ? vs_decode_probes(d, &n, &w, &h) : NULL;
        vs_inset r;
        memset(&r, 0, sizeof r);
        if (s != VS_OK || (pics && vs_inset_detect_rgb(pics, vs_decode_probes_rgb(d), vs_decode_probe_times(d), n, w,
                                                       h, NULL, &r) != VS_OK)) {
            fprintf(stderr, "bench_inset: %s: %s\n", videos[i], vs_last_error());
            vs_decode_close(d);
            failed++;
            continue;
        }
        vs_decode_close(d);
        const truth *x = find_truth(t, nt, id);
        const float got[4] = {r.x0, r.y0, r.x1, r.y1};
        const double ov = x && r.found ? iou(x->r, got) : 0;
        printf("%s,%s,%d,%.3f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f\n", id, x ? x->kind : "-", r.found, ov, r.x0,
               r.y0, r.x1, r.y1, r.t0, r.t1, r.side, r.corr);
        if (!x) {
            n_other++;
            other += r.found;
            continue;
        }
        int k = 0;
        while (k < nk && strcmp(kinds[k], x->kind)) k++;
        if (k == nk) {
            if (nk == MAXK) continue;
            snprintf(kinds[nk++], sizeof kinds[0], "%s", x->kind);
        }
        cnt[k][!r.found ? 2 : ov > 0.5 ? 0 : 1]++;
    }
    for (int k = 0; k < nk; k++)
        fprintf(stderr, "kind=%s right=%d wrong=%d none=%d\n", kinds[k], cnt[k][0], cnt[k][1], cnt[k][2]);
    fprintf(stderr, "kind=- found=%d of=%d failed=%d\n", other, n_other, failed);
    return failed ? 1 : 0;
}

static int cmd_oracle(const truth *t, int nt, const char *kind, const char *outdir, int nv, char **videos) {
    const char *models = getenv("VS_BENCH_MODELS") ? getenv("VS_BENCH_MODELS") : "models";
    char bb[PATH_MAX], pca[PATH_MAX], calib[PATH_MAX];
    snprintf(bb, sizeof bb, "%s/inception_v3.vstf", models);
    snprintf(pca, sizeof pca, "%s", getenv("VS_BENCH_PCA") ? getenv("VS_BENCH_PCA") : "");
    if (!pca[0]) snprintf(pca, sizeof pca, "%s/pca_inception_v3.vstf", models);
    snprintf(calib, sizeof calib, "%s/calib_inception_v3.vstf", models);
    vs_extract_params p = vs_extract_default_params(), pv;
    p.precision = vs_backbone_default_precision("inception");
    p.calib_path = calib;
    p.mirror_view = 1;
    pv = p;
    pv.mirror_view = 0;
    vs_extractor *ex = NULL, *exv = NULL;
    vs_extract_state *st = NULL, *sv = NULL;
    int rc = 1;
    if (vs_extractor_load(&ex, bb, pca, &p) != VS_OK || vs_extractor_load(&exv, bb, pca, &pv) != VS_OK ||
        vs_extract_state_create(&st, ex) != VS_OK || vs_extract_state_create(&sv, exv) != VS_OK) {
        fprintf(stderr, "bench_inset: %s\n", vs_last_error());
        goto done;
    }
    int written = 0;
    for (int i = 0; i < nv; i++) {
        char id[128], out[PATH_MAX], buf[PATH_MAX];
        video_id(videos[i], id, sizeof id);
        const truth *x = find_truth(t, nt, id);
        if (!x || strcmp(x->kind, kind)) continue;
        vs_features *f = NULL, *g = NULL;
        /* the normal and mirror views, as extract; then the true rectangle as the inset view */
        if (vs_extract_video(st, videos[i], &f) != VS_OK) {
            fprintf(stderr, "bench_inset: %s\n", vs_last_error());
            goto done;
        }
        vs_extract_state_set_view(sv, x->r);
        vs_extract_state_set_view_span(sv, x->t0, x->t1);
        const vs_status s = vs_extract_video(sv, videos[i], &g);
        vs_extract_state_set_view(sv, NULL);
        if (s == VS_ERR_NOMEM || s == VS_ERR_ABORTED) { /* as extract: these fail the video */
            fprintf(stderr, "bench_inset: %s (inset view)\n", vs_last_error());
            vs_features_free(f);
            goto done;
        }
        f->inset_probed = 1;
        memset(&f->inset, 0, sizeof f->inset);
        f->inset.found = 1;
        f->inset.x0 = x->r[0], f->inset.y0 = x->r[1], f->inset.x1 = x->r[2], f->inset.y1 = x->r[3];
        f->inset.side = 1;
        f->inset.t0 = x->t0, f->inset.t1 = x->t1;
        if (s == VS_OK) { /* any other failure (all frames near-constant): no inset view, as extract */
            f->inset_T = g->T;
            f->inset_data = g->data;
            f->inset_times = g->times;
            g->data = NULL;
            g->times = NULL;
        }
        vs_features_free(g);
        snprintf(buf, sizeof buf, "%s", videos[i]);
        snprintf(out, sizeof out, "%s/%s.vsf", outdir, basename(buf));
        const vs_status ws = vs_features_save_views(f, out);
        vs_features_free(f);
        if (ws != VS_OK) {
            fprintf(stderr, "bench_inset: %s\n", vs_last_error());
            goto done;
        }
        written++;
    }
    fprintf(stderr, "bench_inset oracle: %d files with the true %s inset in %s\n", written, kind, outdir);
    rc = 0;
done:
    vs_extract_state_free(st);
    vs_extract_state_free(sv);
    vs_extractor_free(ex);
    vs_extractor_free(exv);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "detect") && strcmp(argv[1], "oracle")) ||
        (!strcmp(argv[1], "oracle") && argc < 6)) {
        fprintf(stderr, "usage: bench_inset detect TRUTH.csv VIDEO...\n"
                        "       bench_inset oracle TRUTH.csv KIND OUTDIR VIDEO...\n");
        return 2;
    }
    truth *t = NULL;
    const int nt = load_truth(argv[2], &t);
    if (nt < 0) return 1;
    const int rc = !strcmp(argv[1], "detect") ? cmd_detect(t, nt, argc - 3, argv + 3)
                                              : cmd_oracle(t, nt, argv[3], argv[4], argc - 5, argv + 5);
    free(t);
    return rc;
}
