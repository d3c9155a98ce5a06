/*
 * cmd_compare.c - `vidsim compare A B`: the similarity of two videos (or feature
 * files), in both directions and symmetric, and with --png the frame-to-frame and
 * comparator matrices as heatmaps: the picture in which a person sees where two
 * videos match (a bright diagonal band = a copied segment). It also prints the
 * copied segments (localize.h), outlined in red on the f2f heatmap, and with --thumbs
 * the matched frames of each segment as PNG keyframes (A and B side by side in a
 * folder, listed in DIR/thumbs.csv). A video input is extracted with the model of
 * the other input when that is a .vsf (its model id: backbone, precision, whitening),
 * else with --backbone/--precision (default: inception at vs_backbone_default_precision,
 * as `vidsim extract`).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "search_print.h"
#include "vidsim/features.h"
#include "vidsim/localize.h"
#include "vidsim/simmodel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: vidsim compare A B [options]\n"
               "  A, B             videos, or feature files (.vsf) made by extract/index\n"
               "  --model M        visil_f (default, builtin) or a similarity model file\n"
               "  --temporal W     0..1: weight of temporal consistency in the ViSiL_f score (default 0.5;\n"
               "                   0: the published ViSiL_f; as search's)\n"
               "  --backbone NAME  inception (default) or mobilenet, for video inputs\n"
               "  --precision P    fp32, int8 or bf16 backbone for video inputs (default as `vidsim extract`:\n"
               "                   int8 for inception on a CPU with VNNI/AMX, else fp32); when the other\n"
               "                   input is a .vsf, a video is extracted with its model unless these are given\n"
               "  --pca FILE       whitening file for video inputs (default: the bundled one)\n"
               "  --png PREFIX     write PREFIX_f2f.png (frame-to-frame similarity, A rows, B columns,\n"
               "                   copied segments outlined in red) and PREFIX_map.png (the\n"
               "                   comparator's output map)\n"
               "  --thumbs DIR     write the matched frames of each copied segment (its start,\n"
               "                   middle and end, in A and in B) as PNG keyframes into DIR, listed\n"
               "                   in DIR/thumbs.csv (segment,position,a_t,a_png,b_t,b_png); a .vsf\n"
               "                   input uses the video it was extracted from, if still there\n"
               "  --format F       text (default) or json\n"
               "prints sim(A->B), sim(B->A) and their mean (the symmetric score), in [-1, 1], then\n"
               "the copied segments, best first: A start-end (s), B start-end (s), score\n"
               "(docs/localize.md); json has them as \"segments\": [{a_start, a_end, b_start,\n"
               "b_end, score}]\n");
}

static int is_vsf(const char *p) {
    size_t n = strlen(p);
    return n > 4 && !strcmp(p + n - 4, ".vsf");
}

/* Features of path: a .vsf loaded, or a video extracted with the extractor made on
 * first use: that of model id `follow` (the other input's, NULL: none), else of
 * backbone (NULL: inception) at precision (< 0: the backbone's default). */
static vs_features *load_any(const char *path, const char *follow, const char *backbone, int precision,
                             const char *pca_arg, vs_extractor **ex, vs_extract_state **st) {
    vs_features *f = NULL;
    if (is_vsf(path)) {
        if (vs_features_load(&f, path) != VS_OK) {
            fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
            return NULL;
        }
        return f;
    }
    if (!*ex) {
        vs_extract_params p = vs_extract_default_params();
        vs_status s;
        if (follow) {
            vs_model_locator loc = cli_models();
            s = vs_extractor_load_for_model(ex, &loc, follow, pca_arg, &p);
        } else {
            char bb[PATH_MAX], pca[PATH_MAX];
            const char *name = backbone ? backbone : "inception";
            if (cli_backbone_files(name, bb, sizeof bb, pca, sizeof pca)) {
                fprintf(stderr, "vidsim compare: unknown backbone '%s'\n", name);
                return NULL;
            }
            if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
            p.precision = precision >= 0 ? precision : vs_backbone_default_precision(name);
            s = vs_extractor_load(ex, bb, pca, &p);
        }
        if (s != VS_OK || vs_extract_state_create(st, *ex) != VS_OK) {
            fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
            return NULL;
        }
    }
    if (vs_extract_video(*st, path, &f) != VS_OK) {
        fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
        return NULL;
    }
    return f;
}

static float *indexed(vs_simmodel_state *st, const vs_features *f) {
    float *x = malloc(sizeof(float) * (size_t)f->T * f->R * f->D);
    if (x && vs_simmodel_index(st, x, NULL, f->data, f->T, f->R, f->D) != VS_OK) {
        fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
        free(x);
        return NULL;
    }
    return x;
}

/* The video a feature input came from: the input itself, or the source a .vsf names. */
static const char *video_of(const char *input, const vs_features *f) {
    if (!is_vsf(input)) return input;
    FILE *t = f->source ? fopen(f->source, "rb") : NULL;
    if (!t) return NULL;
    fclose(t);
    return f->source;
}

/* --thumbs DIR: for each segment (at most 8), its first, middle and last matched frame
 * pair as A and B keyframes, and DIR/thumbs.csv listing them. 0, or 1 after a message. */
static int write_thumbs(const char *dir, const char *in_a, const char *in_b, const vs_features *fa,
                        const vs_features *fb, const vs_segment *segs, int nseg) {
    const char *va = video_of(in_a, fa), *vb = video_of(in_b, fb);
    if (!va || !vb) {
        fprintf(stderr, "vidsim compare: --thumbs: %s was extracted from %s, which cannot be read now\n",
                va ? in_b : in_a, (va ? fb : fa)->source ? (va ? fb : fa)->source : "(no source recorded)");
        return 1;
    }
    if (cli_mkdirs(dir)) {
        fprintf(stderr, "vidsim compare: --thumbs: %s: cannot create the folder\n", dir);
        return 1;
    }
    char csv[PATH_MAX];
    snprintf(csv, sizeof csv, "%s/thumbs.csv", dir);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return 1;
    len += (size_t)snprintf(buf, cap, "segment,position,a_t,a_png,b_t,b_png\n");
    static const char *const where[3] = {"start", "middle", "end"};
    int n = 0, rc = 0;
    for (int k = 0; k < nseg && k < 8 && !rc; k++) {
        for (int w = 0; w < 3 && !rc; w++) {
            double f = w * 0.5;
            double ta = segs[k].query_start + f * (segs[k].query_end - segs[k].query_start);
            double tb = segs[k].ref_start + f * (segs[k].ref_end - segs[k].ref_start);
            char pa[PATH_MAX], pb[PATH_MAX];
            snprintf(pa, sizeof pa, "%s/seg%d_%s_a.png", dir, k + 1, where[w]);
            snprintf(pb, sizeof pb, "%s/seg%d_%s_b.png", dir, k + 1, where[w]);
            if (cli_write_thumb("compare", va, ta, 256, pa) || cli_write_thumb("compare", vb, tb, 256, pb)) {
                rc = 1;
                break;
            }
            size_t need = len + strlen(pa) + strlen(pb) + 128;
            if (need > cap) {
                char *g = realloc(buf, cap = 2 * need);
                if (!g) {
                    rc = 1;
                    break;
                }
                buf = g;
            }
            len += (size_t)snprintf(buf + len, cap - len, "%d,%s,%.3f,%s,%.3f,%s\n", k + 1, where[w], ta,
                                    cli_basename(pa), tb, cli_basename(pb));
            n += 2;
        }
    }
    if (!rc && vs_write_file_atomic(csv, buf, len) != VS_OK) {
        fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
        rc = 1;
    }
    free(buf);
    if (!rc) fprintf(stderr, "wrote %d keyframes of %d segment%s into %s (listed in %s)\n", n, nseg < 8 ? nseg : 8,
                     nseg == 1 ? "" : "s", dir, csv);
    return rc;
}

int cmd_compare(int argc, char **argv) {
    const char *model = "visil_f", *backbone = NULL, *pca = NULL, *png = NULL, *format = "text";
    const char *thumbs = NULL;
    const char *pos[2];
    int npos = 0, precision = -1;
    float temporal = VS_TEMPORAL_DEFAULT;
    static const char *const valopts[] = {"--model", "--backbone", "--precision", "--pca", "--png", "--thumbs",
                                          "--format", "--temporal", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_opt_arg("compare", argc, argv, &i, valopts, &v)) return 2;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--backbone")) {
            static const char *const bbs[] = {"inception", "mobilenet"};
            char bb[PATH_MAX], pc[PATH_MAX];
            if (cli_backbone_files(v, bb, sizeof bb, pc, sizeof pc) && cli_parse_choice("compare", a, v, bbs, 2) < 0)
                return 2;
            backbone = v;
        } else if (!strcmp(a, "--precision")) {
            static const char *const precs[] = {"fp32", "int8", "bf16"};
            if ((precision = cli_parse_choice("compare", "--precision", v, precs, 3)) < 0) return 2;
        } else if (!strcmp(a, "--temporal")) {
            if (cli_parse_float("compare", "--temporal", v, 0.0, 1.0, &temporal)) return 2;
        } else if (!strcmp(a, "--pca")) pca = v;
        else if (!strcmp(a, "--png")) png = v;
        else if (!strcmp(a, "--thumbs")) thumbs = v;
        else if (!strcmp(a, "--format")) {
            static const char *const fmts[] = {"text", "json"};
            if (cli_parse_choice("compare", "--format", v, fmts, 2) < 0) return 2;
            format = v;
        } else if ((a[0] == '-' && a[1]) || npos == 2) return cli_unknown_option("compare", a);
        else pos[npos++] = a;
    }
    if (npos != 2) return cli_usage_error("compare", "needs two inputs A and B (videos or .vsf files), got %d", npos);
    int rc = 1;
    vs_extractor *ex = NULL;
    vs_extract_state *est = NULL;
    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    vs_features *fa = NULL, *fb = NULL;
    float *xa = NULL, *xb = NULL, *f2f = NULL, *map = NULL;
    vs_segment *segs = NULL;
    int nseg = 0;
    /* a .vsf first: a video input then follows its model (unless one is named) */
    const int b_first = is_vsf(pos[1]) && !is_vsf(pos[0]);
    vs_features **f1 = b_first ? &fb : &fa, **f2 = b_first ? &fa : &fb;
    if (!(*f1 = load_any(pos[b_first], NULL, backbone, precision, pca, &ex, &est))) goto out;
    const char *follow = is_vsf(pos[b_first]) && !backbone && precision < 0 ? (*f1)->model_id : NULL;
    if (!(*f2 = load_any(pos[!b_first], follow, backbone, precision, pca, &ex, &est))) goto out;
    if (strcmp(fa->model_id, fb->model_id) || fa->D != fb->D || fa->R != fb->R) {
        fprintf(stderr, "vidsim compare: %s and %s have features of different models (%s, %s)\n",
                pos[0], pos[1], fa->model_id, fb->model_id);
        goto out;
    }
    vs_status s = !strcmp(model, "visil_f") ? vs_simmodel_builtin(&m, model) : vs_simmodel_load(&m, model);
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.precision = vs_simmodel_default_precision(); /* as search: the same scores */
    sp.temporal = temporal;
    if (!s) s = vs_simmodel_state_create(&st, m, &sp);
    if (s) {
        fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
        goto out;
    }
    if (!(xa = indexed(st, fa)) || !(xb = indexed(st, fb))) goto out;
    int fr, fc, mr, mc;
    vs_simmodel_pair_dims(m, fa->T, fb->T, &fr, &fc, &mr, &mc);
    f2f = malloc(sizeof(float) * (size_t)fr * fc);
    map = malloc(sizeof(float) * (size_t)mr * mc);
    vs_simmodel_pair_out ab = {0}, ba = {0};
    ab.f2f = f2f;
    ab.map = map;
    if (!f2f || !map || vs_simmodel_pair(st, &ab, xa, fa->T, xb, fb->T, fa->R, fa->D) != VS_OK ||
        vs_simmodel_pair(st, &ba, xb, fb->T, xa, fa->T, fa->R, fa->D) != VS_OK) {
        fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
        goto out;
    }
    double sym = 0.5 * (ab.sim + ba.sim);
    vs_loc_video la = {xa, fa->T, fa->times, fa->fps, fa->duration, NULL};
    vs_loc_video lb = {xb, fb->T, fb->times, fb->fps, fb->duration, NULL};
    if (vs_localize_videos(&segs, &nseg, st, &la, &lb, fa->R, fa->D, 1, (float)sym, NULL) != VS_OK) {
        fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
        goto out;
    }
    if (!strcmp(format, "json")) {
        fputs("{\"a\": ", stdout);
        cli_json_str(stdout, pos[0]);
        fputs(", \"b\": ", stdout);
        cli_json_str(stdout, pos[1]);
        fputs(", \"model\": ", stdout);
        cli_json_str(stdout, model);
        fputs(", \"a_to_b\": ", stdout);
        cli_json_num(stdout, "%.6f", ab.sim);
        fputs(", \"b_to_a\": ", stdout);
        cli_json_num(stdout, "%.6f", ba.sim);
        fputs(", \"symmetric\": ", stdout);
        cli_json_num(stdout, "%.6f", sym);
        printf(", \"frames_a\": %d, \"frames_b\": %d, \"segments\": [", fa->T, fb->T);
        for (int k = 0; k < nseg; k++) {
            printf("%s{\"a_start\": %.3f, \"a_end\": %.3f, \"b_start\": %.3f, \"b_end\": %.3f, \"score\": ",
                   k ? ", " : "", segs[k].query_start, segs[k].query_end, segs[k].ref_start, segs[k].ref_end);
            cli_json_num(stdout, "%.6f", segs[k].score);
            fputc('}', stdout);
        }
        puts("]}");
    } else {
        printf("%.6f\t(A->B %.6f, B->A %.6f; %d and %d frames; model %s)\n", sym, ab.sim, ba.sim,
               fa->T, fb->T, model);
        for (int k = 0; k < nseg; k++)
            printf("segment %d\tA %.3f-%.3f s\tB %.3f-%.3f s\tscore %.6f\n", k + 1, segs[k].query_start,
                   segs[k].query_end, segs[k].ref_start, segs[k].ref_end, segs[k].score);
    }
    if (png) {
        char p1[PATH_MAX], p2[PATH_MAX];
        snprintf(p1, sizeof p1, "%s_f2f.png", png);
        snprintf(p2, sizeof p2, "%s_map.png", png);
        /* colour scale 0 .. the matrix's maximum (at least 0.2): similarities of
         * whitened regions are small for unrelated frames, so contrast matters */
        float v1 = 0.2f, v2 = 0.2f;
        for (long i = 0; i < (long)fr * fc; i++) v1 = f2f[i] > v1 ? f2f[i] : v1;
        for (long i = 0; i < (long)mr * mc; i++) v2 = map[i] > v2 ? map[i] : v2;
        int boxes[4 * 16], nb = 0;
        for (int k = 0; k < nseg && nb < 16; k++, nb++) {
            boxes[4 * nb] = segs[k].q0;
            boxes[4 * nb + 1] = segs[k].r0;
            boxes[4 * nb + 2] = segs[k].q1;
            boxes[4 * nb + 3] = segs[k].r1;
        }
        if (vs_heatmap_write_png_boxes(p1, f2f, fr, fc, 0.f, v1, boxes, nb) != VS_OK ||
            vs_heatmap_write_png(p2, map, mr, mc, 0.f, v2) != VS_OK) {
            fprintf(stderr, "vidsim compare: %s\n", vs_last_error());
            goto out;
        }
        fprintf(stderr, "wrote %s (scale 0..%.3f) and %s (scale 0..%.3f)\n", p1, v1, p2, v2);
    }
    if (thumbs && write_thumbs(thumbs, pos[0], pos[1], fa, fb, segs, nseg)) goto out;
    rc = 0;
out:
    free(segs);
    free(xa);
    free(xb);
    free(f2f);
    free(map);
    vs_features_free(fa);
    vs_features_free(fb);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    vs_extract_state_free(est);
    vs_extractor_free(ex);
    return rc;
}
