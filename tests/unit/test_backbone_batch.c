/*
 * test_backbone_batch.c - the oneDNN engine's partial batches and fused conversions
 * (src/backbone/dnnl.c), InceptionV3 at 224 on the backbone reference frames:
 *  1. partial batches: a 2-thread state for max_batch 8 runs n = 1..8 frames as the
 *     binary digits of n (primitives for 8, 4, 2, 1): the conv primitive executions of a forward are
 *     popcount(n) x the conv count (n = 8: one per conv), never n per conv; every frame's
 *     taps mixed0..mixed5 equal those of a batch-1 state on the same frame, for fp32,
 *     int8 and bf16; with vs__bb_dnnl_set_partial(0) (int8), and in a 1-thread state,
 *     n batch-1 calls per conv, same taps;
 *  2. fused conversions: an int8 (bf16) state writes the u8 (bf16) input of the convs
 *     that read only convs straight from the producing conv; it fuses some convs (none
 *     in fp32), and its taps match the unfused path (vs__bb_dnnl_set_fusion(0)); also
 *     for MobileNetV2 (ReLU6 as clip(0, 6*s_y), s8 inputs; calibrated on these frames):
 *     measured int8 cosine min 0.99990, relative error 0.0116 (20 convs fused).
 * Tolerances, with the values measured 2026-12-05 (AMX) in the comments below:
 * batch n vs batch 1 max |diff| <= 1e-4 (fp32/bf16: different blocking can reorder the
 * f32 sums; int8 sums are exact; measured: bitwise equal for all three); fused vs
 * unfused int8: region cosine >= 0.9995 and relative L2 error of each tap per frame
 * <= 0.03 (measured: cosine min 0.99991 / mean 0.999999, relative error max 0.0128,
 * max |diff| 0.074; int8 against fp32 is cosine 0.9996 / relative error 0.030, checked by
 * test_backbone_int8). Not exact: the requantisation scale is folded into the conv's
 * output scale (one rounding of acc*(s_y/(s_x*s_w)) instead of two, f32 then u8), so a
 * value close to a rounding boundary can land one u8 step away, and later layers carry
 * that on. bf16 fused vs unfused: bitwise equal (the same round-to-nearest-even of the
 * same f32 value). Needs models/inception_v3.vstf and ../shared; skips (77) without them or
 * without oneDNN / AVX-512.
 */
#include "test.h"
#include "backbone/bb_internal.h"
#include "vidsim/backbone.h"

#include <unistd.h>

#define SZ 224
#define NF 8
static const char *TAGS[3] = {"vtest_f300", "Megamind_f90", "photo_fruits"};
static const char *TAPS[6] = {"mixed0", "mixed1", "mixed2", "mixed3", "mixed4", "mixed5"};

static vs_backbone_state *state(const vs_backbone *bb, int prec, const vs_backbone_calib *c, int batch) {
    vs_backbone_params p = vs_backbone_default_params();
    p.input_size = SZ;
    p.max_batch = batch;
    p.n_threads = 2;
    p.precision = prec;
    p.calib = c;
    p.engine = VS_BACKBONE_ENGINE_DNNL;
    vs_backbone_state *st = NULL;
    vs_status s = vs_backbone_state_create(&st, bb, &p);
    CHECK_MSG(s == VS_OK, "state %s batch %d: %s", vs_precision_name(prec), batch, vs_last_error());
    return st;
}

static size_t tap_frame(const vs_backbone_state *st, int t) {
    int h = 0, w = 0, c = 0;
    vs_backbone_tap(st, TAPS[t], &h, &w, &c);
    return (size_t)h * w * c;
}

/* Copy every tap of frame f of st into out (taps concatenated). */
static void grab(float *out, const vs_backbone_state *st, int f) {
    for (int t = 0; t < 6; t++) {
        size_t n = tap_frame(st, t);
        memcpy(out, vs_backbone_tap(st, TAPS[t], NULL, NULL, NULL) + (size_t)f * n, n * sizeof(float));
        out += n;
    }
}

static double cosine(const float *a, const float *b, long n) {
    double ab = 0, aa = 0, bb = 0;
    for (long i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

/* 3x3 region max-pools of one tap [h, w, c] (grid of features/region.c) into out [9, c]. */
static void regions(float *out, const float *m, int h, int w, int c) {
    for (int r = 0; r < 9; r++) {
        int ry = r / 3, rx = r % 3;
        float *o = out + r * c;
        for (int k = 0; k < c; k++) o[k] = -1e30f;
        for (int y = ry * h / 3; y < ((ry + 1) * h + 2) / 3; y++)
            for (int x = rx * w / 3; x < ((rx + 1) * w + 2) / 3; x++)
                for (int k = 0; k < c; k++) {
                    float v = m[((size_t)y * w + x) * c + k];
                    if (v > o[k]) o[k] = v;
                }
    }
}

int main(void) {
    char wpath[1024], cpath[1024];
    snprintf(wpath, sizeof wpath, "%s/inception_v3.vstf", vs_test_models());
    if (access(wpath, R_OK)) SKIP("%s absent: run scripts/fetch_weights.sh", wpath);
    if (!strcmp(vs_backbone_isa(), "none")) SKIP("built without oneDNN");
    if (strncmp(vs_backbone_isa(), "avx512_core", 11)) SKIP("int8/bf16 need AVX-512 (oneDNN ISA %s)", vs_backbone_isa());
    /* NF frames: the three reference frames, their mirror images, two inverted */
    const size_t fsz = (size_t)SZ * SZ * 3;
    uint8_t *rgb = malloc(NF * fsz);
    for (int t = 0; t < 3; t++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/data/backbone_ref/input_%s_%d.rgb", vs_test_shared(), TAGS[t], SZ);
        size_t len = 0;
        uint8_t *d = vs_test_read_file(p, &len);
        if (!d) SKIP("%s absent (../shared/data/backbone_ref)", p);
        CHECK(len == fsz);
        memcpy(rgb + t * fsz, d, fsz);
        free(d);
    }
    for (int f = 3; f < NF; f++) {
        const uint8_t *s = rgb + (f % 3) * fsz;
        uint8_t *o = rgb + f * fsz;
        for (int y = 0; y < SZ; y++)
            for (int x = 0; x < SZ; x++)
                for (int k = 0; k < 3; k++) {
                    uint8_t v = s[((size_t)y * SZ + (f < 6 ? SZ - 1 - x : x)) * 3 + k];
                    o[((size_t)y * SZ + x) * 3 + k] = f < 6 ? v : (uint8_t)(255 - v);
                }
    }
    vs_backbone *bb = NULL;
    CHECK_MSG(vs_backbone_load(&bb, wpath) == VS_OK, "%s", vs_last_error());
    if (!bb) return vs_test_done();
    vs_backbone_calib *cal = NULL;
    snprintf(cpath, sizeof cpath, "%s/calib_inception_v3.vstf", vs_test_models());
    if (vs_backbone_calib_load(&cal, bb, cpath) != VS_OK) { /* in-sample */
        vs_backbone_state *cs = state(bb, VS_PRECISION_FP32, NULL, NF);
        CHECK(cs && vs_backbone_calib_create(&cal, bb) == VS_OK);
        CHECK(cs && cal && vs_backbone_calib_forward(cal, cs, rgb, NF) == VS_OK);
        CHECK(cal && vs_backbone_calib_finish(cal, 100) == VS_OK);
        vs_backbone_state_free(cs);
    }
    size_t per = 0; /* floats of all taps of one frame */
    int n_conv = 0;
    for (int i = 0; i < bb->n_nodes; i++) n_conv += bb->nodes[i].op == BB_CONV || bb->nodes[i].op == BB_DWCONV;

    /* 1. partial batches against batch 1 */
    for (int prec = 0; prec < 3; prec++) {
        vs_backbone_state *one = state(bb, prec, cal, 1), *st = state(bb, prec, cal, NF);
        if (!one || !st) return vs_test_done();
        CHECK(vs_backbone_forward(one, rgb, 1) == VS_OK); /* taps exist after a forward */
        if (!per)
            for (int t = 0; t < 6; t++) per += tap_frame(one, t);
        CHECK(per > 0);
        if (!per) return vs_test_done();
        float *ref = malloc(sizeof(float) * NF * per), *got = malloc(sizeof(float) * per);
        long ex = 0;
        for (int f = 0; f < NF; f++) {
            CHECK(vs_backbone_forward(one, rgb + f * fsz, 1) == VS_OK);
            grab(ref + f * per, one, 0);
        }
        vs__backbone_dnnl_stats(one, NULL, &ex);
        CHECK_EQ(ex, n_conv);
        double worst = 0;
        for (int n = 1; n <= NF; n++) {
            int f0 = (n * 3) % (NF - n + 1); /* frames f0 .. f0+n-1 */
            CHECK(vs_backbone_forward(st, rgb + f0 * fsz, n) == VS_OK);
            vs__backbone_dnnl_stats(st, NULL, &ex);
            CHECK_MSG(ex == (long)(n == NF ? 1 : __builtin_popcount(n)) * n_conv,
                      "%s n=%d: %ld conv executions for %d convs", vs_precision_name(prec), n, ex, n_conv);
            for (int f = 0; f < n; f++) {
                grab(got, st, f);
                const float *r = ref + (f0 + f) * per;
                for (size_t k = 0; k < per; k++) {
                    double d = fabs((double)got[k] - r[k]);
                    if (d > worst) worst = d;
                }
            }
        }
        if (prec == VS_PRECISION_INT8) { /* partial-batch primitives off: n batch-1 calls */
            for (int v = 0; v < 2; v++) { /* v = 1: a 1-thread state (no partial slots) */
                vs__bb_dnnl_set_partial(v);
                vs_backbone_state *old = v ? NULL : state(bb, prec, cal, NF);
                vs__bb_dnnl_set_partial(1);
                if (v) {
                    vs_backbone_params p = vs_backbone_default_params();
                    p.input_size = SZ, p.max_batch = NF, p.n_threads = 1, p.precision = prec, p.calib = cal;
                    CHECK(vs_backbone_state_create(&old, bb, &p) == VS_OK);
                }
                CHECK(old && vs_backbone_forward(old, rgb + fsz, NF - 1) == VS_OK);
                vs__backbone_dnnl_stats(old, NULL, &ex);
                CHECK_EQ(ex, (long)(NF - 1) * n_conv);
                for (int f = 0; old && f < NF - 1; f++) {
                    grab(got, old, f);
                    const float *r = ref + (1 + f) * per;
                    for (size_t k = 0; k < per; k++) {
                        double d = fabs((double)got[k] - r[k]);
                        if (d > worst) worst = d;
                    }
                }
                vs_backbone_state_free(old);
            }
        }
        /* measured: 0 for fp32, int8 and bf16 (oneDNN's AMX/AVX-512 kernels give the same
         * sums per frame at any batch) */
        printf("%s: batch 1..%d vs batch 1, taps max |diff| %.3g\n", vs_precision_name(prec), NF, worst);
        CHECK_MSG(worst <= 1e-4, "%s: batch n vs batch 1 max |diff| %.3g", vs_precision_name(prec), worst);
        int nf = -1;
        vs__backbone_dnnl_stats(st, &nf, NULL);
        printf("%s: %d of %d convs write their readers' input directly\n", vs_precision_name(prec), nf, n_conv);
        if (prec == VS_PRECISION_FP32) CHECK_EQ(nf, 0);
        else CHECK_MSG(nf >= 20, "%s: only %d fused convs", vs_precision_name(prec), nf); /* IV3 to mixed5: 26 of 50 */
        free(ref);
        free(got);
        vs_backbone_state_free(one);
        vs_backbone_state_free(st);
    }

    /* 2. fused against unfused conversions, 7 frames in a state for 8 (partial batch);
     * InceptionV3, then MobileNetV2 (ReLU6 -> clip(0, 6*s_y), s8 bottlenecks) when present */
    char mpath[1024];
    snprintf(mpath, sizeof mpath, "%s/mobilenet_v2.vstf", vs_test_models());
    vs_backbone *mb = NULL;
    vs_backbone_calib *mcal = NULL;
    if (!access(mpath, R_OK)) { /* calibrated on these frames (the values do not matter here) */
        CHECK_MSG(vs_backbone_load(&mb, mpath) == VS_OK, "%s", vs_last_error());
        vs_backbone_state *cs = mb ? state(mb, VS_PRECISION_FP32, NULL, NF) : NULL;
        CHECK(!mb || (cs && vs_backbone_calib_create(&mcal, mb) == VS_OK &&
                      vs_backbone_calib_forward(mcal, cs, rgb, NF) == VS_OK && vs_backbone_calib_finish(mcal, 100) == VS_OK));
        vs_backbone_state_free(cs);
    }
    for (int m = 0; m < 2; m++) {
        const vs_backbone *bm = m ? mb : bb;
        const vs_backbone_calib *cm = m ? mcal : cal;
        if (!bm || !cm) continue;
        for (int prec = VS_PRECISION_INT8; prec <= VS_PRECISION_BF16; prec++) {
            vs__bb_dnnl_set_fusion(0);
            vs_backbone_state *un = state(bm, prec, cm, NF);
            vs__bb_dnnl_set_fusion(1);
            vs_backbone_state *fu = state(bm, prec, cm, NF);
            if (!un || !fu) return vs_test_done();
            int nf = -1;
            vs__backbone_dnnl_stats(un, &nf, NULL);
            CHECK_EQ(nf, 0);
            vs__backbone_dnnl_stats(fu, &nf, NULL);
            CHECK(nf > 0);
            CHECK(vs_backbone_forward(un, rgb, NF - 1) == VS_OK);
            CHECK(vs_backbone_forward(fu, rgb, NF - 1) == VS_OK);
            double worst_cos = 1, sum_cos = 0, worst_rel = 0, maxd = 0;
            long n_cos = 0;
            for (int t = 0; t < bm->n_taps; t++) {
                int h, w, c;
                const float *a = vs_backbone_tap(fu, bm->taps[t], &h, &w, &c), *b = vs_backbone_tap(un, bm->taps[t], NULL, NULL, NULL);
                size_t fr = (size_t)h * w * c;
                float *ra = malloc(sizeof(float) * 9 * c), *rb = malloc(sizeof(float) * 9 * c);
                for (int f = 0; f < NF - 1; f++) {
                    double dd = 0, rr = 0;
                    for (size_t k = 0; k < fr; k++) {
                        double d = (double)a[f * fr + k] - b[f * fr + k];
                        dd += d * d, rr += (double)b[f * fr + k] * b[f * fr + k];
                        if (fabs(d) > maxd) maxd = fabs(d);
                    }
                    double rel = rr > 0 ? sqrt(dd / rr) : sqrt(dd);
                    if (rel > worst_rel) worst_rel = rel;
                    regions(ra, a + f * fr, h, w, c);
                    regions(rb, b + f * fr, h, w, c);
                    for (int r = 0; r < 9; r++) {
                        double cs = cosine(ra + r * c, rb + r * c, c);
                        worst_cos = cs < worst_cos ? cs : worst_cos;
                        sum_cos += cs, n_cos++;
                    }
                }
                free(ra);
                free(rb);
            }
            /* measured: see the header */
            printf("%s %s fused vs unfused (%d convs fused): taps max |diff| %.3g, relative L2 max %.2e, region cosine min %.7f mean %.7f\n",
                   vs_backbone_name(bm), vs_precision_name(prec), nf, maxd, worst_rel, worst_cos, sum_cos / n_cos);
            if (prec == VS_PRECISION_INT8) {
                CHECK_MSG(worst_cos >= 0.9995, "int8 fused vs unfused: region cosine %.6f", worst_cos);
                CHECK_MSG(worst_rel <= 0.03, "int8 fused vs unfused: relative error %.4f", worst_rel);
            } else {
                CHECK_MSG(maxd == 0, "bf16 fused vs unfused: max |diff| %.3g", maxd);
            }
            vs_backbone_state_free(un);
            vs_backbone_state_free(fu);
        }
    }
    vs_backbone_calib_free(mcal);
    vs_backbone_free(mb);
    vs_backbone_calib_free(cal);
    vs_backbone_free(bb);
    free(rgb);
    return vs_test_done();
}
