/*
 * test.c - the test harness's helpers: pass/fail counters, tensor comparison with
 * max-abs / max-rel / nmse reporting, environment lookup, fixture and .npy readers.
 */
#include "test.h"
#include "vidsim/features.h"

#include <sys/stat.h>

int vs_test_pass, vs_test_fail;

int vs_test_done(void) {
    printf("%d passed, %d failed\n", vs_test_pass, vs_test_fail);
    return vs_test_fail ? 1 : 0;
}

int vs_check_tensor(const char *name, const float *got, const float *want, long n, double atol,
                    double rtol) {
    double max_abs = 0, max_rel = 0, se = 0, sw = 0;
    long first_bad = -1;
    for (long i = 0; i < n; i++) {
        double g = got[i], w = want[i], d = fabs(g - w);
        if (!(d <= atol + rtol * fabs(w))) {
            if (first_bad < 0) first_bad = i;
        }
        if (d > max_abs || d != d) max_abs = d;
        if (fabs(w) > 1e-12 && d / fabs(w) > max_rel) max_rel = d / fabs(w);
        se += d * d;
        sw += w * w;
    }
    double nmse = sw > 0 ? se / sw : se;
    int ok = first_bad < 0;
    fprintf(stderr, "  %-4s %-48s n=%-8ld max_abs %.3g max_rel %.3g nmse %.3g", ok ? "ok" : "FAIL",
            name, n, max_abs, max_rel, nmse);
    if (!ok)
        fprintf(stderr, "  first bad [%ld] got %.9g want %.9g", first_bad, got[first_bad],
                want[first_bad]);
    fputc('\n', stderr);
    if (ok) vs_test_pass++;
    else vs_test_fail++;
    return ok;
}

static const char *env_or(const char *k, const char *dflt) {
    const char *v = getenv(k);
    return v && *v ? v : dflt;
}
const char *vs_test_shared(void) { return env_or("VS_SHARED", "../shared"); }
const char *vs_test_models(void) { return env_or("VS_MODELS", "models"); }
const char *vs_test_bin(void) { return env_or("VS_BIN", "build/vidsim"); }
const char *vs_test_tmpdir(void) {
    const char *d = env_or("VS_TMP", "build/tmp");
    mkdir(d, 0755);
    return d;
}

unsigned char *vs_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

struct vs_fixture {
    unsigned char *bin;
    size_t bin_len;
    int n;
    vs_fixture_tensor *t;
};

vs_fixture *vs_fixture_load(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *m = fopen(path, "r");
    if (!m) return NULL;
    vs_fixture *fx = calloc(1, sizeof *fx);
    snprintf(path, sizeof path, "%s/tensors.bin", dir);
    fx->bin = vs_test_read_file(path, &fx->bin_len);
    if (!fx->bin) {
        fclose(m);
        free(fx);
        return NULL;
    }
    char line[1024];
    int cap = 0;
    while (fgets(line, sizeof line, m)) {
        char name[512], dt[8];
        int nd, pos = 0;
        if (sscanf(line, "%511s %7s %d%n", name, dt, &nd, &pos) != 3) continue;
        if (fx->n == cap) {
            cap = cap ? 2 * cap : 64;
            fx->t = realloc(fx->t, cap * sizeof *fx->t);
        }
        vs_fixture_tensor *t = &fx->t[fx->n];
        memset(t, 0, sizeof *t);
        t->name = strdup(name);
        t->is_int = strcmp(dt, "i32") == 0;
        t->ndim = nd;
        t->numel = 1;
        char *p = line + pos;
        for (int d = 0; d < nd; d++) {
            t->dims[d] = strtol(p, &p, 10);
            t->numel *= t->dims[d];
        }
        long off = strtol(p, &p, 10);
        if (off < 0 || (size_t)(off + 4 * t->numel) > fx->bin_len) continue;
        t->data = fx->bin + off;
        fx->n++;
    }
    fclose(m);
    return fx;
}

const vs_fixture_tensor *vs_fixture_get(const vs_fixture *fx, const char *name) {
    for (int i = 0; i < fx->n; i++)
        if (strcmp(fx->t[i].name, name) == 0) return &fx->t[i];
    return NULL;
}

void vs_fixture_free(vs_fixture *fx) {
    if (!fx) return;
    for (int i = 0; i < fx->n; i++) free((void *)fx->t[i].name);
    free(fx->t);
    free(fx->bin);
    free(fx);
}

float *vs_test_read_npy(const char *path, int *ndim, long *shape) {
    size_t len;
    unsigned char *buf = vs_test_read_file(path, &len);
    if (!buf || len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        free(buf);
        return NULL;
    }
    int major = buf[6];
    size_t hl = major == 1 ? (size_t)(buf[8] | buf[9] << 8) : (size_t)(buf[8] | buf[9] << 8 | buf[10] << 16 | (size_t)buf[11] << 24);
    size_t hoff = major == 1 ? 10 : 12;
    char *hdr = (char *)buf + hoff;
    char save = hdr[hl];
    hdr[hl] = 0;
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True")) {
        free(buf);
        return NULL;
    }
    char *sp = strstr(hdr, "'shape': (");
    *ndim = 0;
    long numel = 1;
    if (sp) {
        char *p = sp + 10;
        while (*p && *p != ')') {
            long v = strtol(p, &p, 10);
            shape[(*ndim)++] = v;
            numel *= v;
            while (*p == ',' || *p == ' ') p++;
        }
    }
    hdr[hl] = save;
    size_t off = hoff + hl;
    if (off + 4 * (size_t)numel > len) {
        free(buf);
        return NULL;
    }
    float *out = malloc(4 * (size_t)numel + 4);
    memcpy(out, buf + off, 4 * (size_t)numel);
    free(buf);
    return out;
}

/* ---- gradient checks */

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

void vs_test_seed(uint64_t s) { g_rng = s ? s : 0x9e3779b97f4a7c15ULL; }

double vs_test_urand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

void vs_test_fill(float *x, long n, float lo, float hi) {
    for (long i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)vs_test_urand();
}

float *vs_test_alloc(long n) {
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

double vs_test_dot(const float *a, const float *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

double vs_test_check_grad(const char *name, vs_test_loss_fn loss, float *x, const float *ana, long n,
                          float h, int n_samples, double tol) {
    double max_ana = 0, max_err = 0;
    const long step = n_samples > 0 && n > n_samples ? n / n_samples : 1;
    for (long i = 0; i < n; i += step) {
        const float keep = x[i];
        x[i] = keep + h;
        const double lp = loss();
        x[i] = keep - h;
        const double lm = loss();
        x[i] = keep;
        const double num = (lp - lm) / (2.0 * (double)h);
        const double e = fabs(num - (double)ana[i]);
        if (e > max_err) max_err = e;
        if (fabs(ana[i]) > max_ana) max_ana = fabs(ana[i]);
    }
    const double rel = max_err / (max_ana > 1e-8 ? max_ana : 1e-8);
    fprintf(stderr, "  %-34s n=%-6ld max|ana| %.3g  rel err %.2e\n", name, n, max_ana, rel);
    CHECK_MSG(rel <= tol, "%s: relative error %.3g > %.3g", name, rel, tol);
    CHECK_MSG(max_ana > 0, "%s: gradient is all zero", name);
    return rel;
}

struct vs_features *vs_test_synth(int T, int D, int seed, uint64_t hash) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = D;
    f->data = malloc(sizeof(float) * T * f->R * D);
    f->times = malloc(sizeof(float) * T);
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
    for (int v = 0; v < T * f->R; v++) {
        float *p = f->data + v * D, n = 0;
        for (int d = 0; d < D; d++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            p[d] = (float)((x >> 40) & 0xffff) / 65536.f - 0.5f;
            n += p[d] * p[d];
        }
        for (int d = 0; d < D; d++) p[d] /= sqrtf(n);
    }
    for (int t = 0; t < T; t++) f->times[t] = (float)t;
    f->fps = 1.0;
    f->duration = T;
    snprintf(f->model_id, sizeof f->model_id, "synthetic/8");
    f->source_size = 1000 + hash;
    f->source_mtime = 1700000000000000000LL + (int64_t)hash;
    f->source_hash = hash;
    return f;
}

void vs_test_synth_free(struct vs_features *f) {
    if (!f) return;
    free(f->data);
    free(f->times);
    free(f);
}
