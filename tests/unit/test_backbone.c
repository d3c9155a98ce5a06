/*
 * test_backbone.c - backbone unit tests that need no downloaded weights:
 *  1. a tiny synthetic MobileNet-style graph written with the VSTF writer (ZeroPadding2D
 *     + stride-2 conv, BN with and without gamma, ReLU6, depthwise, 1x1 and 3x1 convs,
 *     'same' avg pool dividing by in-image taps, 'same' max pool, Concatenate, Add)
 *     against a naive double-precision reference written here from the Keras
 *     definitions, for both conv engines, batch 1 and 2, 1 and 2 threads;
 *  2. clear errors for wrong or corrupt weights files (missing file, not VSTF, no
 *     graph, missing tensor, wrong shape, unsupported layer, flipped byte, bad args).
 */
#include "test.h"
#include "core/tensorfile.h"
#include "vidsim/backbone.h"

#define S 8

static const char *GRAPH =
    "input_1 InputLayer - shape=8,8,3\n"
    "Conv1_pad ZeroPadding2D input_1 pads=0,1,0,1\n"
    "Conv1 Conv2D Conv1_pad k=3,3 s=2,2 d=1,1 pad=valid act=linear w=Conv1/kernel\n"
    "bn_Conv1 BatchNormalization Conv1 eps=0.001 center=1 scale=1\n"
    "Conv1_relu ReLU bn_Conv1 max=6 slope=0 thr=0\n"
    "dw DepthwiseConv2D Conv1_relu k=3,3 s=1,1 d=1,1 pad=same act=linear w=dw/depthwise_kernel mult=1\n"
    "dw_BN BatchNormalization dw eps=0.001 center=1 scale=1\n"
    "dw_relu ReLU dw_BN max=6 slope=0 thr=0\n"
    "proj Conv2D dw_relu k=1,1 s=1,1 d=1,1 pad=same act=linear w=proj/kernel\n"
    "expanded_conv_project_BN BatchNormalization proj eps=0.001 center=1 scale=0\n"
    "avg AveragePooling2D expanded_conv_project_BN k=3,3 s=1,1 pad=same\n"
    "mx MaxPooling2D expanded_conv_project_BN k=3,3 s=1,1 pad=same\n"
    "cat Concatenate avg,mx\n"
    "c2 Conv2D cat k=3,1 s=1,1 d=1,1 pad=same act=relu w=c2/kernel b=c2/bias\n"
    "block_2_add Add c2,expanded_conv_project_BN";

/* deterministic pseudo-random values in [lo, hi) */
static float rnd(unsigned *s, float lo, float hi) {
    *s = *s * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)((*s >> 8) & 0xffff) / 65536.f;
}

typedef struct { const char *name; int nd; int64_t d[4]; float lo, hi; float *v; } wspec;

static wspec W[] = {
    {"Conv1/kernel", 4, {3, 3, 3, 4}, -0.5f, 0.5f, NULL},
    {"bn_Conv1/gamma", 1, {4}, 0.5f, 1.5f, NULL},
    {"bn_Conv1/beta", 1, {4}, -0.5f, 0.5f, NULL},
    {"bn_Conv1/moving_mean", 1, {4}, -0.2f, 0.2f, NULL},
    {"bn_Conv1/moving_variance", 1, {4}, 0.01f, 0.5f, NULL},
    {"dw/depthwise_kernel", 4, {3, 3, 4, 1}, -0.8f, 0.8f, NULL},
    {"dw_BN/gamma", 1, {4}, 0.5f, 1.5f, NULL},
    {"dw_BN/beta", 1, {4}, -0.5f, 0.5f, NULL},
    {"dw_BN/moving_mean", 1, {4}, -0.2f, 0.2f, NULL},
    {"dw_BN/moving_variance", 1, {4}, 0.01f, 0.5f, NULL},
    {"proj/kernel", 4, {1, 1, 4, 6}, -0.8f, 0.8f, NULL},
    {"expanded_conv_project_BN/beta", 1, {6}, -0.5f, 0.5f, NULL},
    {"expanded_conv_project_BN/moving_mean", 1, {6}, -0.2f, 0.2f, NULL},
    {"expanded_conv_project_BN/moving_variance", 1, {6}, 0.01f, 0.5f, NULL},
    {"c2/kernel", 4, {3, 1, 12, 6}, -0.5f, 0.5f, NULL},
    {"c2/bias", 1, {6}, -0.3f, 0.3f, NULL},
};
#define NW (int)(sizeof W / sizeof W[0])

static float *wget(const char *name) {
    for (int i = 0; i < NW; i++)
        if (strcmp(W[i].name, name) == 0) return W[i].v;
    return NULL;
}

/* Write the tiny model; skip_tensor >= 0 leaves one out, bad_shape changes one. */
static int write_model(const char *path, const char *graph, int skip_tensor, int bad_shape) {
    vs__tfw *w = NULL;
    if (vs__tfw_create(&w)) return 0;
    vs__tfw_meta(w, "model", "mobilenet_v2");
    if (graph) vs__tfw_meta(w, "graph", graph);
    for (int i = 0; i < NW; i++) {
        if (i == skip_tensor) continue;
        int64_t d[4];
        memcpy(d, W[i].d, sizeof d);
        if (i == bad_shape) d[W[i].nd - 1] += 1;
        long n = 1;
        for (int k = 0; k < W[i].nd; k++) n *= (long)d[k];
        float *tmp = calloc(n, sizeof(float));
        memcpy(tmp, W[i].v, sizeof(float) * (i == bad_shape ? n - n / d[W[i].nd - 1] : n));
        vs__tfw_add(w, W[i].name, VS_DT_F32, W[i].nd, d, tmp);
        free(tmp);
    }
    int ok = vs__tfw_save(w, path) == VS_OK;
    vs__tfw_free(w);
    return ok;
}

/* ---- naive double reference, NHWC, one frame ---- */
typedef struct { int h, w, c; double *v; } map;
static map mk(int h, int w, int c) { map m = {h, w, c, calloc((size_t)h * w * c, sizeof(double))}; return m; }
#define AT(m, y, x, ch) (m).v[((size_t)(y) * (m).w + (x)) * (m).c + (ch)]

/* conv with explicit pads; dw: depthwise kernel [kh,kw,C,1] */
static map conv(map in, const float *k, int kh, int kw, int co, int s, int pt, int pl, int oh,
                int ow, int dw) {
    map o = mk(oh, ow, co);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < co; c++) {
                double a = 0;
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        int iy = y * s - pt + ky, ix = x * s - pl + kx;
                        if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                        if (dw) a += AT(in, iy, ix, c) * k[(ky * kw + kx) * co + c];
                        else
                            for (int ci = 0; ci < in.c; ci++)
                                a += AT(in, iy, ix, ci) * k[((ky * kw + kx) * in.c + ci) * co + c];
                    }
                AT(o, y, x, c) = a;
            }
    return o;
}

static void bn(map m, const char *p, int has_gamma, double relu_max) {
    char b[128];
    for (int c = 0; c < m.c; c++) {
        snprintf(b, sizeof b, "%s/gamma", p);
        double g = has_gamma ? wget(b)[c] : 1.0;
        snprintf(b, sizeof b, "%s/beta", p);
        double be = wget(b)[c];
        snprintf(b, sizeof b, "%s/moving_mean", p);
        double mu = wget(b)[c];
        snprintf(b, sizeof b, "%s/moving_variance", p);
        double var = wget(b)[c];
        for (int i = 0; i < m.h * m.w; i++) {
            double v = (m.v[(size_t)i * m.c + c] - mu) / sqrt(var + 0.001) * g + be;
            if (relu_max > 0) v = v < 0 ? 0 : v > relu_max ? relu_max : v;
            m.v[(size_t)i * m.c + c] = v;
        }
    }
}

static void reference(double *add_out, double *proj_out, const uint8_t *rgb) {
    map x = mk(S, S, 3);
    for (int i = 0; i < S * S * 3; i++) x.v[i] = rgb[i] / 127.5 - 1.0;
    map a = conv(x, wget("Conv1/kernel"), 3, 3, 4, 2, 0, 0, 4, 4, 0); /* pads (0,1): bottom/right only */
    bn(a, "bn_Conv1", 1, 6);
    map d = conv(a, wget("dw/depthwise_kernel"), 3, 3, 4, 1, 1, 1, 4, 4, 1);
    bn(d, "dw_BN", 1, 6);
    map p = conv(d, wget("proj/kernel"), 1, 1, 6, 1, 0, 0, 4, 4, 0);
    bn(p, "expanded_conv_project_BN", 0, 0);
    map cat = mk(4, 4, 12);
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 4; xx++)
            for (int c = 0; c < 6; c++) {
                double s = 0, mx = -1e300;
                int n = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int iy = y + dy, ix = xx + dx;
                        if (iy < 0 || iy >= 4 || ix < 0 || ix >= 4) continue;
                        s += AT(p, iy, ix, c);
                        if (AT(p, iy, ix, c) > mx) mx = AT(p, iy, ix, c);
                        n++;
                    }
                AT(cat, y, xx, c) = s / n; /* in-image taps only */
                AT(cat, y, xx, 6 + c) = mx;
            }
    map c2 = conv(cat, wget("c2/kernel"), 3, 1, 6, 1, 1, 0, 4, 4, 0);
    for (int i = 0; i < 16 * 6; i++) {
        double v = c2.v[i] + wget("c2/bias")[i % 6];
        add_out[i] = (v > 0 ? v : 0) + p.v[i];
        proj_out[i] = p.v[i];
    }
    free(x.v), free(a.v), free(d.v), free(p.v), free(cat.v), free(c2.v);
}

static void test_forward(const char *path) {
    vs_backbone *bb = NULL;
    CHECK_MSG(vs_backbone_load(&bb, path) == VS_OK, "%s", vs_last_error());
    if (!bb) return;
    uint8_t rgb[2 * S * S * 3];
    unsigned s = 7;
    for (int i = 0; i < 2 * S * S * 3; i++) rgb[i] = (uint8_t)(rnd(&s, 0, 256));
    double want[2][96], wproj[2][96];
    for (int f = 0; f < 2; f++) reference(want[f], wproj[f], rgb + f * S * S * 3);
    for (int engine = VS_BACKBONE_ENGINE_BLAS; engine <= VS_BACKBONE_ENGINE_DNNL; engine++)
        for (int nt = 1; nt <= 2; nt++) {
            vs_backbone_params p = vs_backbone_default_params();
            p.input_size = S;
            p.max_batch = 2;
            p.n_threads = nt;
            p.engine = engine;
            vs_backbone_state *st = NULL;
            vs_status r = vs_backbone_state_create(&st, bb, &p);
            if (engine == VS_BACKBONE_ENGINE_DNNL && r == VS_ERR_UNSUPPORTED) continue;
            CHECK_MSG(r == VS_OK, "%s", vs_last_error());
            if (!st) continue;
            CHECK(vs_backbone_tap(st, "block_2_add", NULL, NULL, NULL) == NULL); /* no forward yet */
            for (int n = 1; n <= 2; n++) {
                CHECK(vs_backbone_forward(st, rgb, n) == VS_OK);
                int h, w, c;
                const float *got = vs_backbone_tap(st, "block_2_add", &h, &w, &c);
                const float *gp = vs_backbone_tap(st, "expanded_conv_project_BN", NULL, NULL, NULL);
                CHECK(got && gp && h == 4 && w == 4 && c == 6);
                if (!got || !gp) continue;
                for (int f = 0; f < n; f++) {
                    float wf[96], wpf[96];
                    for (int i = 0; i < 96; i++) wf[i] = (float)want[f][i], wpf[i] = (float)wproj[f][i];
                    char label[96];
                    snprintf(label, sizeof label, "tiny engine %d threads %d batch %d frame %d", engine, nt, n, f);
                    vs_check_tensor(label, got + f * 96, wf, 96, 1e-5, 1e-5);
                    vs_check_tensor("tiny expanded_conv_project_BN", gp + f * 96, wpf, 96, 1e-5, 1e-5);
                }
            }
            CHECK(vs_backbone_forward(st, rgb, 3) == VS_ERR_INVALID_ARG); /* > max_batch */
            CHECK(vs_backbone_forward(st, rgb, 0) == VS_ERR_INVALID_ARG);
            CHECK(vs_backbone_tap(st, "no_such_tap", NULL, NULL, NULL) == NULL);
            vs_backbone_state_free(st);
        }
    /* a bad input size is refused at state creation */
    vs_backbone_params p = vs_backbone_default_params();
    p.input_size = 0;
    vs_backbone_state *st = NULL;
    CHECK(vs_backbone_state_create(&st, bb, &p) == VS_ERR_INVALID_ARG && st == NULL);
    CHECK(strcmp(vs_backbone_name(bb), "mobilenet_v2") == 0);
    const char *const *tn = vs_backbone_tap_names(bb);
    CHECK(tn && tn[0] && strcmp(tn[0], "expanded_conv_project_BN") == 0);
    vs_backbone_free(bb);
}

static void expect_load_error(const char *path, vs_status code, const char *needle) {
    vs_backbone *bb = (vs_backbone *)1;
    vs_status r = vs_backbone_load(&bb, path);
    CHECK_MSG(r == code && bb == NULL, "%s: got %d (%s), want %d", path, r, vs_last_error(), code);
    CHECK_MSG(strstr(vs_last_error(), path) != NULL, "message does not name the file: %s",
              vs_last_error());
    if (needle) CHECK_MSG(strstr(vs_last_error(), needle) != NULL, "'%s' not in: %s", needle, vs_last_error());
}

int main(void) {
    unsigned s = 1;
    for (int i = 0; i < NW; i++) {
        long n = 1;
        for (int k = 0; k < W[i].nd; k++) n *= (long)W[i].d[k];
        W[i].v = malloc(sizeof(float) * n);
        for (long j = 0; j < n; j++) W[i].v[j] = rnd(&s, W[i].lo, W[i].hi);
    }
    char p[1024];
    const char *tmp = vs_test_tmpdir();
    snprintf(p, sizeof p, "%s/bb_tiny.vstf", tmp);
    CHECK(write_model(p, GRAPH, -1, -1));
    test_forward(p);

    /* errors */
    snprintf(p, sizeof p, "%s/bb_absent.vstf", tmp);
    remove(p);
    expect_load_error(p, VS_ERR_IO, NULL);
    snprintf(p, sizeof p, "%s/bb_garbage.vstf", tmp);
    FILE *f = fopen(p, "wb");
    for (int i = 0; i < 4096; i++) fputc(i * 7, f);
    fclose(f);
    expect_load_error(p, VS_ERR_FORMAT, NULL);
    snprintf(p, sizeof p, "%s/bb_nograph.vstf", tmp);
    CHECK(write_model(p, NULL, -1, -1));
    expect_load_error(p, VS_ERR_FORMAT, "fetch_weights");
    snprintf(p, sizeof p, "%s/bb_missing.vstf", tmp);
    CHECK(write_model(p, GRAPH, 5, -1));
    expect_load_error(p, VS_ERR_FORMAT, "dw/depthwise_kernel");
    snprintf(p, sizeof p, "%s/bb_shape.vstf", tmp);
    CHECK(write_model(p, GRAPH, -1, 14));
    expect_load_error(p, VS_ERR_FORMAT, "has shape");
    snprintf(p, sizeof p, "%s/bb_layer.vstf", tmp);
    CHECK(write_model(p, "input_1 InputLayer - shape=8,8,3\nflat Flatten input_1", -1, -1));
    expect_load_error(p, VS_ERR_UNSUPPORTED, "Flatten");
    snprintf(p, sizeof p, "%s/bb_badgraph.vstf", tmp);
    CHECK(write_model(p, "input_1 InputLayer - shape=8,8,3\nc Conv2D nowhere k=3,3", -1, -1));
    expect_load_error(p, VS_ERR_FORMAT, "nowhere");
    /* one flipped byte in the data section: checksum */
    snprintf(p, sizeof p, "%s/bb_tiny.vstf", tmp);
    size_t len = 0;
    unsigned char *buf = vs_test_read_file(p, &len);
    CHECK(buf && len > 200);
    if (buf) {
        buf[len - 100] ^= 0x10;
        snprintf(p, sizeof p, "%s/bb_flipped.vstf", tmp);
        f = fopen(p, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        expect_load_error(p, VS_ERR_FORMAT, "checksum");
        free(buf);
    }
    /* bad arguments */
    vs_backbone *bb = NULL;
    CHECK(vs_backbone_load(&bb, NULL) == VS_ERR_INVALID_ARG);
    vs_backbone_state *st = NULL;
    CHECK(vs_backbone_state_create(&st, NULL, NULL) == VS_ERR_INVALID_ARG);
    vs_backbone_free(NULL);
    vs_backbone_state_free(NULL);
    for (int i = 0; i < NW; i++) free(W[i].v);
    return vs_test_done();
}
