/*
 * test_backbone_int8.c - the low-precision backbone (INT8 and BF16 on oneDNN) against
 * the FP32 path, and the INT8 calibration file:
 *  1. calibration on the three backbone reference frames (shared/data/backbone_ref,
 *     224 px) with InceptionV3; save, load, round trip of every clipping value; a
 *     corrupt file, a file of another backbone and a file made for other weights are
 *     refused with messages naming the file; every bundled models/calib_X.vstf loads
 *     against the bundled models/X.vstf;
 *  2. taps mixed0..mixed5 of INT8 and BF16 against FP32 on the same frames (batch 3
 *     and batch 1): cosine per 3x3 region (the regional max-pools the features use)
 *     and relative error of the whole tap;
 *  3. the features (PCA-whitened region vectors, vs_extract_frames) of INT8/BF16 against
 *     FP32: cosine per region, INT8 with the bundled calibration models/calib_inception_v3.vstf
 *     (made from the dev videos; the in-sample one when absent); model ids carry the precision;
 *  4. the same checks in a child process with DNNL_MAX_CPU_ISA=AVX512_CORE (no VNNI:
 *     int8 emulated in f32 on the same 8-bit grid) - same tolerances;
 *  5. vs_backbone_default_precision: int8 for InceptionV3 with VNNI/AMX (main), fp32
 *     in the capped child and for MobileNetV2.
 * Tolerances (measured 2026-12-05 in the comments below): region cosine >= 0.99 (the
 * issue's bar) for INT8 and >= 0.999 for BF16; whole-tap relative L2 error <= 0.15 INT8,
 * <= 0.02 BF16. Needs models/inception_v3.vstf (+ pca) and ../shared; skips (77) without.
 */
#include "test.h"
#include "backbone/bb_internal.h" /* the calibration's arrays */
#include "core/tensorfile.h"
#include "vidsim/backbone.h"
#include "vidsim/features.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define SZ 224
static const char *TAGS[3] = {"vtest_f300", "Megamind_f90", "photo_fruits"};
static const char *TAPS[6] = {"mixed0", "mixed1", "mixed2", "mixed3", "mixed4", "mixed5"};
static int child;
static float *native_int8; /* parent: its int8 features, to compare with the child's */
static int native_dim;

/* Region max-pool of a tap [h, w, c] into 3x3 regions (same grid as features/region.c:
 * row/col bounds floor(k*h/3)..ceil((k+1)*h/3)). out [9, c]. */
static void regions(float *out, const float *m, int h, int w, int c) {
    for (int ry = 0; ry < 3; ry++)
        for (int rx = 0; rx < 3; rx++) {
            float *o = out + (ry * 3 + rx) * c;
            for (int k = 0; k < c; k++) o[k] = -1e30f;
            for (int y = ry * h / 3; y < ((ry + 1) * h + 2) / 3; y++)
                for (int x = rx * w / 3; x < ((rx + 1) * w + 2) / 3; x++)
                    for (int k = 0; k < c; k++) {
                        float v = m[((size_t)y * w + x) * c + k];
                        if (v > o[k]) o[k] = v;
                    }
        }
}

static double cosine(const float *a, const float *b, long n) {
    double ab = 0, aa = 0, bb = 0;
    for (long i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

static double rel_err(const float *a, const float *ref, long n) {
    double d = 0, r = 0;
    for (long i = 0; i < n; i++) d += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]), r += (double)ref[i] * ref[i];
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

static vs_backbone_state *state(const vs_backbone *bb, int prec, const vs_backbone_calib *c, int batch) {
    vs_backbone_params p = vs_backbone_default_params();
    p.input_size = SZ;
    p.max_batch = batch;
    p.n_threads = 2;
    p.precision = prec;
    p.calib = c;
    vs_backbone_state *st = NULL;
    vs_status s = vs_backbone_state_create(&st, bb, &p);
    CHECK_MSG(s == VS_OK, "state %s: %s", vs_precision_name(prec), vs_last_error());
    return st;
}

/* Compare the taps of st (n frames) with ref (FP32 state, same frames). */
static void compare_taps(const vs_backbone_state *st, const vs_backbone_state *ref, int n, int f0,
                         const float *ref_tap_frame[6], double min_cos, double max_rel, const char *what) {
    double worst_cos = 1, worst_rel = 0, sum_cos = 0;
    long n_cos = 0;
    for (int t = 0; t < 6; t++) {
        int h, w, c, h2, w2, c2;
        const float *a = vs_backbone_tap(st, TAPS[t], &h, &w, &c);
        const float *b = ref ? vs_backbone_tap(ref, TAPS[t], &h2, &w2, &c2) : NULL;
        CHECK(a != NULL);
        if (!a) return;
        for (int f = 0; f < n; f++) {
            const float *bf = b ? b + (size_t)(f0 + f) * h * w * c : ref_tap_frame[t];
            const float *af = a + (size_t)f * h * w * c;
            double re = rel_err(af, bf, (long)h * w * c);
            if (re > worst_rel) worst_rel = re;
            float *ra = malloc(sizeof(float) * 9 * c), *rb = malloc(sizeof(float) * 9 * c);
            regions(ra, af, h, w, c);
            regions(rb, bf, h, w, c);
            for (int r = 0; r < 9; r++) {
                double cs = cosine(ra + r * c, rb + r * c, c);
                if (cs < worst_cos) worst_cos = cs;
                sum_cos += cs;
                n_cos++;
            }
            free(ra);
            free(rb);
        }
    }
    printf("%s: region cosine min %.5f mean %.5f; tap rel. error max %.4f\n", what, worst_cos,
           sum_cos / n_cos, worst_rel);
    CHECK_MSG(worst_cos >= min_cos, "%s: region cosine %.5f < %.3f", what, worst_cos, min_cos);
    CHECK_MSG(worst_rel <= max_rel, "%s: tap relative error %.4f > %.3f", what, worst_rel, max_rel);
}

static void expect_calib_error(const vs_backbone *bb, const char *path, const char *needle) {
    vs_backbone_calib *c = (vs_backbone_calib *)1;
    vs_status s = vs_backbone_calib_load(&c, bb, path);
    CHECK_MSG(s != VS_OK && c == NULL, "%s: loaded", path);
    CHECK_MSG(strstr(vs_last_error(), path) != NULL, "message does not name %s: %s", path, vs_last_error());
    if (needle) CHECK_MSG(strstr(vs_last_error(), needle) != NULL, "'%s' not in: %s", needle, vs_last_error());
}

/* Copy src to dst, flipping byte at offset off (off < 0: none). */
static void copy_file(const char *src, const char *dst, long off) {
    size_t len = 0;
    unsigned char *d = vs_test_read_file(src, &len);
    CHECK(d != NULL);
    if (!d) return;
    if (off >= 0 && (size_t)off < len) d[off] ^= 0x5a;
    FILE *f = fopen(dst, "wb");
    fwrite(d, 1, len, f);
    fclose(f);
    free(d);
}

/* Everything main holds once its checks are done. */
static void release(vs_backbone_state *ref, vs_backbone_calib *cal, vs_backbone_calib *back, vs_backbone *bb,
                    vs_backbone *mb, uint8_t *rgb) {
    vs_backbone_state_free(ref);
    vs_backbone_calib_free(cal);
    vs_backbone_calib_free(back);
    vs_backbone_free(bb);
    vs_backbone_free(mb);
    free(rgb);
}

int main(int argc, char **argv) {
    child = argc > 1 && strcmp(argv[1], "--child") == 0;
    char wpath[1024], ppath[1024], mpath[1024], cpath[1024], tmp[1024];
    snprintf(wpath, sizeof wpath, "%s/inception_v3.vstf", vs_test_models());
    snprintf(ppath, sizeof ppath, "%s/pca_inception_v3.vstf", vs_test_models());
    snprintf(mpath, sizeof mpath, "%s/mobilenet_v2.vstf", vs_test_models());
    if (access(wpath, R_OK) || access(ppath, R_OK) || access(mpath, R_OK))
        SKIP("%s, %s or %s absent: run scripts/fetch_weights.sh", wpath, ppath, mpath);
    uint8_t *rgb = malloc((size_t)3 * SZ * SZ * 3);
    for (int t = 0; t < 3; t++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/data/backbone_ref/input_%s_%d.rgb", vs_test_shared(), TAGS[t], SZ);
        size_t len = 0;
        uint8_t *d = vs_test_read_file(p, &len);
        if (!d) SKIP("%s absent (../shared/data/backbone_ref)", p);
        CHECK(len == (size_t)SZ * SZ * 3);
        memcpy(rgb + (size_t)t * SZ * SZ * 3, d, (size_t)SZ * SZ * 3);
        free(d);
    }
    printf("%s oneDNN ISA: %s (VNNI %s)\n", child ? "child" : "main", vs_backbone_isa(),
           vs_backbone_isa_has_vnni() ? "yes" : "no");
    if (child) CHECK_MSG(!vs_backbone_isa_has_vnni(), "DNNL_MAX_CPU_ISA not applied: %s", vs_backbone_isa());
    /* the tools' default precision: int8 for InceptionV3 exactly when int8 runs natively
     * (AVX-512 with VNNI/AMX), fp32 for MobileNetV2 and unknown names */
    {
        const int native = vs_backbone_isa_has_vnni() && !strncmp(vs_backbone_isa(), "avx512_core", 11);
        CHECK_EQ(vs_backbone_default_precision("inception"), native ? VS_PRECISION_INT8 : VS_PRECISION_FP32);
        CHECK_EQ(vs_backbone_default_precision("inception_v3"), native ? VS_PRECISION_INT8 : VS_PRECISION_FP32);
        CHECK_EQ(vs_backbone_default_precision("mobilenet"), VS_PRECISION_FP32);
        CHECK_EQ(vs_backbone_default_precision("mobilenet_v2"), VS_PRECISION_FP32);
        CHECK_EQ(vs_backbone_default_precision("resnet"), VS_PRECISION_FP32);
        CHECK_EQ(vs_backbone_default_precision(NULL), VS_PRECISION_FP32);
        if (child) CHECK_EQ(vs_backbone_default_precision("inception"), VS_PRECISION_FP32); /* capped: no VNNI */
        else if (!strcmp(vs_backbone_isa(), "avx512_core_amx") || !strcmp(vs_backbone_isa(), "avx512_core_vnni"))
            CHECK_EQ(vs_backbone_default_precision("inception"), VS_PRECISION_INT8);
    }
    vs_backbone *bb = NULL, *mb = NULL;
    CHECK_MSG(vs_backbone_load(&bb, wpath) == VS_OK, "%s", vs_last_error());
    CHECK_MSG(vs_backbone_load(&mb, mpath) == VS_OK, "%s", vs_last_error());
    if (!bb || !mb) return vs_test_done();

    /* 1. calibration: record, finish, save, load, round trip, refusals */
    vs_backbone_state *ref = state(bb, VS_PRECISION_FP32, NULL, 3);
    vs_backbone_calib *cal = NULL, *back = NULL;
    CHECK(vs_backbone_calib_create(&cal, bb) == VS_OK);
    if (!ref || !cal) return vs_test_done();
    CHECK(vs_backbone_calib_finish(cal, 100) == VS_ERR_INVALID_ARG); /* nothing recorded */
    CHECK(vs_backbone_calib_forward(cal, ref, rgb, 3) == VS_OK);
    CHECK_EQ(vs_backbone_calib_frames(cal), 3);
    CHECK(vs_backbone_calib_finish(cal, 0) == VS_ERR_INVALID_ARG);
    CHECK(vs_backbone_calib_finish(cal, 100) == VS_OK);
    snprintf(cpath, sizeof cpath, "%s/int8_calib_%d.vstf", vs_test_tmpdir(), child);
    CHECK_MSG(vs_backbone_calib_save(cal, cpath) == VS_OK, "%s", vs_last_error());
    CHECK_MSG(vs_backbone_calib_load(&back, bb, cpath) == VS_OK, "%s", vs_last_error());
    if (back) {
        CHECK(memcmp(back->clip, cal->clip, sizeof(float) * cal->n_nodes) == 0);
        CHECK(memcmp(back->vmin, cal->vmin, sizeof(float) * cal->n_nodes) == 0);
        CHECK(vs_backbone_calib_hash(back) == vs_backbone_calib_hash(cal));
        CHECK(vs_backbone_calib_percentile(back) == 100);
        CHECK_EQ(vs_backbone_calib_frames(back), 3);
    }
    CHECK(vs_backbone_forward(ref, rgb, 3) == VS_OK); /* the fp32 reference taps */
    /* input activations: signed image in [-1, 1] */
    CHECK_NEAR(cal->vmin[0], -1, 0.01);
    CHECK_NEAR(cal->clip[0], 1, 0.01);
    snprintf(tmp, sizeof tmp, "%s/int8_calib_bad_%d.vstf", vs_test_tmpdir(), child);
    copy_file(cpath, tmp, 200);
    expect_calib_error(bb, tmp, NULL);
    expect_calib_error(mb, cpath, "calibration of backbone inception_v3, not mobilenet_v2");
    expect_calib_error(bb, wpath, "not a backbone calibration file");
    { /* same layout, other weights hash */
        vs__tfw *w;
        CHECK(vs__tfw_create(&w) == VS_OK);
        int64_t d[1] = {cal->n_nodes};
        vs__tfw_meta(w, "kind", "backbone_calibration");
        vs__tfw_meta(w, "backbone", "inception_v3");
        vs__tfw_meta(w, "weights_hash", "0123456789abcdef");
        vs__tfw_meta(w, "percentile", "100");
        vs__tfw_add(w, "calib.clip", VS_DT_F32, 1, d, cal->clip);
        vs__tfw_add(w, "calib.max", VS_DT_F32, 1, d, cal->vmax);
        vs__tfw_add(w, "calib.min", VS_DT_F32, 1, d, cal->vmin);
        CHECK(vs__tfw_save(w, tmp) == VS_OK);
        vs__tfw_free(w);
        expect_calib_error(bb, tmp, "calibration made for other inception_v3 weights");
    }
    if (!child) { /* every bundled calib_X.vstf loads against the bundled X.vstf (its weights hash matches) */
        DIR *dir = opendir(vs_test_models());
        int n_bundled = 0;
        for (struct dirent *e; dir && (e = readdir(dir));) {
            size_t len = strlen(e->d_name);
            if (strncmp(e->d_name, "calib_", 6) != 0 || len < 12 || strcmp(e->d_name + len - 5, ".vstf") != 0) continue;
            char cp[1024], mp[1024];
            snprintf(cp, sizeof cp, "%s/%s", vs_test_models(), e->d_name);
            snprintf(mp, sizeof mp, "%s/%s", vs_test_models(), e->d_name + 6);
            vs_backbone *m = NULL;
            vs_backbone_calib *c = NULL;
            CHECK_MSG(vs_backbone_load(&m, mp) == VS_OK, "%s: no model for it: %s", cp, vs_last_error());
            if (m) CHECK_MSG(vs_backbone_calib_load(&c, m, cp) == VS_OK, "bundled %s: %s", cp, vs_last_error());
            printf("bundled %s loads against %s: %s\n", e->d_name, e->d_name + 6, c ? "yes" : "NO");
            n_bundled++;
            vs_backbone_calib_free(c);
            vs_backbone_free(m);
        }
        if (dir) closedir(dir);
        CHECK_MSG(n_bundled >= 2, "%d bundled calib_*.vstf in %s, want inception_v3 and mobilenet_v2", n_bundled,
                  vs_test_models());
    }
    if (strncmp(vs_backbone_isa(), "avx512", 6) != 0) {
        /* below AVX-512 there is no int8 or bf16 backbone: both are refused, naming the
         * reason and the instruction set; the rest needs them and is skipped */
        for (int prec = VS_PRECISION_INT8; prec <= VS_PRECISION_BF16; prec++) {
            vs_backbone_params p = vs_backbone_default_params();
            p.precision = prec;
            p.calib = back;
            vs_backbone_state *st = NULL;
            CHECK(vs_backbone_state_create(&st, bb, &p) == VS_ERR_UNSUPPORTED && !st);
            CHECK_MSG(strstr(vs_last_error(), "needs a CPU with AVX-512") && strstr(vs_last_error(), vs_backbone_isa()),
                      "%s", vs_last_error());
        }
        release(ref, cal, back, bb, mb, rgb);
        if (vs_test_fail) return vs_test_done();
        SKIP("int8 and bf16 need oneDNN on an AVX-512 CPU (here: %s); calibration and refusals checked",
             vs_backbone_isa());
    }
    { /* int8 without a calibration, or on the OpenBLAS engine: refused */
        vs_backbone_params p = vs_backbone_default_params();
        p.precision = VS_PRECISION_INT8;
        vs_backbone_state *st = NULL;
        CHECK(vs_backbone_state_create(&st, bb, &p) == VS_ERR_INVALID_ARG && !st);
        p.calib = cal;
        p.engine = VS_BACKBONE_ENGINE_BLAS;
        CHECK(vs_backbone_state_create(&st, bb, &p) == VS_ERR_UNSUPPORTED && !st);
        CHECK(strstr(vs_last_error(), "oneDNN") != NULL);
    }
    CHECK(vs_precision_parse("int8") == VS_PRECISION_INT8 && vs_precision_parse("bf16") == VS_PRECISION_BF16 &&
          vs_precision_parse("fp32") == VS_PRECISION_FP32 && vs_precision_parse("fp16") == -1);

    /* 2. taps, INT8 and BF16 against FP32: batch 3, then frame by frame (batch-1 path) */
    for (int prec = VS_PRECISION_INT8; prec <= VS_PRECISION_BF16; prec++) {
        vs_backbone_state *st = state(bb, prec, back, 3);
        if (!st) continue;
        char what[96];
        double mc = prec == VS_PRECISION_INT8 ? 0.998 : 0.9995, mr = prec == VS_PRECISION_INT8 ? 0.06 : 0.02;
        CHECK(vs_backbone_forward(st, rgb, 3) == VS_OK);
        snprintf(what, sizeof what, "%s taps batch 3%s", vs_precision_name(prec), child ? " (no VNNI)" : "");
        compare_taps(st, ref, 3, 0, NULL, mc, mr, what);
        CHECK(vs_backbone_forward(st, rgb + (size_t)SZ * SZ * 3, 1) == VS_OK);
        snprintf(what, sizeof what, "%s taps batch 1%s", vs_precision_name(prec), child ? " (no VNNI)" : "");
        compare_taps(st, ref, 1, 1, NULL, mc, mr, what);
        vs_backbone_state_free(st);
    }

    /* 3. features: per region cosine of the whitened vectors; model ids */
    /* with the bundled calibration (dev videos, not these frames) when present */
    char bpath[1024];
    snprintf(bpath, sizeof bpath, "%s/calib_inception_v3.vstf", vs_test_models());
    int bundled = access(bpath, R_OK) == 0;
    printf("features: %s calibration\n", bundled ? "bundled" : "in-sample (no models/calib_inception_v3.vstf)");
    vs_extract_params ep = vs_extract_default_params();
    ep.batch = 3;
    ep.n_threads = 2;
    vs_extractor *ex[3] = {NULL, NULL, NULL};
    float *feat[3] = {NULL, NULL, NULL};
    for (int prec = 0; prec < 3; prec++) {
        ep.precision = prec;
        ep.calib_path = prec == VS_PRECISION_INT8 ? (bundled ? bpath : cpath) : NULL;
        vs_status s = vs_extractor_load(&ex[prec], wpath, ppath, &ep);
        CHECK_MSG(s == VS_OK, "extractor %s: %s", vs_precision_name(prec), vs_last_error());
        if (s) continue;
        vs_extract_state *es = NULL;
        CHECK(vs_extract_state_create(&es, ex[prec]) == VS_OK);
        int D = vs_extractor_dim(ex[prec]);
        feat[prec] = malloc(sizeof(float) * 3 * VS_REGIONS * D);
        CHECK(es && vs_extract_frames(es, rgb, 3, feat[prec]) == VS_OK);
        vs_extract_state_free(es);
        vs_model_id id;
        CHECK(vs_model_id_parse(&id, vs_extractor_model_id(ex[prec])) == VS_OK && id.precision == prec);
        printf("model id %s\n", vs_extractor_model_id(ex[prec]));
    }
    if (ex[0] && ex[1] && ex[2]) {
        CHECK(strncmp(vs_extractor_model_id(ex[0]), "inception_v3/224/pca", 20) == 0);
        CHECK(strncmp(vs_extractor_model_id(ex[1]), "inception_v3-int8/224/pca", 25) == 0);
        CHECK(strncmp(vs_extractor_model_id(ex[2]), "inception_v3-bf16/224/pca", 25) == 0);
        int D = vs_extractor_dim(ex[0]);
        for (int prec = 1; prec < 3; prec++) {
            double mn = 1, sum = 0;
            for (int r = 0; r < 3 * VS_REGIONS; r++) {
                double c = cosine(feat[prec] + (size_t)r * D, feat[0] + (size_t)r * D, D);
                mn = c < mn ? c : mn;
                sum += c;
            }
            printf("%s features%s: region cosine min %.5f mean %.5f\n", vs_precision_name(prec),
                   child ? " (no VNNI)" : "", mn, sum / (3 * VS_REGIONS));
            CHECK_MSG(mn >= (prec == VS_PRECISION_INT8 ? 0.99 : 0.999), "%s features: region cosine %.5f",
                      vs_precision_name(prec), mn);
        }
        /* the emulated no-VNNI int8 (child) against native int8 (parent): same grid */
        char fpath[1024];
        snprintf(fpath, sizeof fpath, "%s/int8_features_child.f32", vs_test_tmpdir());
        size_t fb = sizeof(float) * 3 * VS_REGIONS * D;
        if (child) {
            FILE *f = fopen(fpath, "wb");
            CHECK(f && fwrite(feat[1], 1, fb, f) == fb);
            if (f) fclose(f);
        } else {
            memcpy(native_int8 = malloc(fb), feat[1], fb);
            native_dim = D;
        }
    }
    /* a missing calibration file is refused by name */
    ep.precision = VS_PRECISION_INT8;
    snprintf(tmp, sizeof tmp, "%s/no_such_calib.vstf", vs_test_tmpdir());
    ep.calib_path = tmp;
    vs_extractor *bad = (vs_extractor *)1;
    CHECK(vs_extractor_load(&bad, wpath, ppath, &ep) != VS_OK && bad == NULL);
    CHECK_MSG(strstr(vs_last_error(), tmp) != NULL, "%s", vs_last_error());
    for (int prec = 0; prec < 3; prec++) {
        vs_extractor_free(ex[prec]);
        free(feat[prec]);
    }
    /* model id strings */
    vs_model_id id;
    char buf[64];
    CHECK(vs_model_id_parse(&id, "inception_v3-int8/224/pca256/0badf00d") == VS_OK);
    CHECK(id.precision == VS_PRECISION_INT8 && strcmp(id.backbone, "inception_v3") == 0 && id.dim == 256);
    vs_model_id_format(&id, buf, sizeof buf);
    CHECK(strcmp(buf, "inception_v3-int8/224/pca256/0badf00d") == 0);
    CHECK(vs_model_id_parse(&id, "inception_v3/224/pca256/0badf00d") == VS_OK && id.precision == 0);
    vs_model_id_format(&id, buf, sizeof buf);
    CHECK(strcmp(buf, "inception_v3/224/pca256/0badf00d") == 0);
    CHECK(vs_model_id_parse(&id, "inception_v3-fp32/224/pca256/0badf00d") == VS_ERR_FORMAT);
    CHECK(vs_model_id_parse(&id, "inception_v3-int4/224/pca256/0badf00d") == VS_ERR_FORMAT);
    CHECK(vs_model_id_parse(&id, "-int8/224/pca256/0badf00d") == VS_ERR_FORMAT);

    release(ref, cal, back, bb, mb, rgb);

    /* 4. the same in a process whose oneDNN may not use VNNI/AMX */
    if (!child) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "DNNL_MAX_CPU_ISA=AVX512_CORE '%s' --child", argv[0]);
        int rc = system(cmd);
        CHECK_MSG(rc == 0, "no-VNNI child failed (%d): %s", rc, cmd);
        char fpath[1024];
        snprintf(fpath, sizeof fpath, "%s/int8_features_child.f32", vs_test_tmpdir());
        size_t len = 0;
        float *cf = (float *)vs_test_read_file(fpath, &len);
        CHECK(cf && native_int8 && len == sizeof(float) * 3 * VS_REGIONS * native_dim);
        if (cf && native_int8 && len == sizeof(float) * 3 * VS_REGIONS * native_dim) {
            double mn = 1;
            for (int r = 0; r < 3 * VS_REGIONS; r++) {
                double c = cosine(cf + (size_t)r * native_dim, native_int8 + (size_t)r * native_dim, native_dim);
                mn = c < mn ? c : mn;
            }
            printf("int8 features, emulated (no VNNI) vs native: region cosine min %.6f\n", mn);
            CHECK_MSG(mn >= 0.999, "emulated int8 differs from native int8: region cosine %.6f", mn);
        }
        free(cf);
        remove(fpath);
    }
    free(native_int8);
    return vs_test_done();
}
