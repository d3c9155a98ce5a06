/*
 * lsh.c - random-projection LSH of a video (Charikar 2002: the sign of random
 * hyperplanes preserves angles): a training-free baseline hash and a stand-in for
 * learned hash models in tests and benchmarks. The video's global descriptor is the
 * mean over frames of each frame's L2-normalised mean region vector; bit b is 1 when
 * its dot product with hyperplane w_b (i.i.d. N(0,1) entries from splitmix64 and
 * Box-Muller, seeded) is >= 0, so a code is fully determined by (bits, D, seed) and
 * the features. Not a learned model: it knows nothing about copies.
 */
#include "hamming/hamming_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct vs_hamming_lsh {
    int bits, D;
    uint64_t seed;
    float *w;      /* [bits, D] hyperplanes */
    char id[64];
};

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double unif(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0; }

vs_status vs_hamming_lsh_create(vs_hamming_lsh **out, int bits, int D, uint64_t seed) {
    *out = NULL;
    if (bits < 64 || bits % 64 || bits > VS_HAMMING_MAX_BITS || D < 1)
        return vs__err(VS_ERR_INVALID_ARG, "lsh: %d bits, D = %d (bits: a multiple of 64 up to %d)", bits, D,
                       VS_HAMMING_MAX_BITS);
    vs_hamming_lsh *l = vs__calloc(1, sizeof *l);
    if (!l) return vs__err(VS_ERR_NOMEM, "out of memory");
    l->w = vs__malloc((size_t)bits * D * sizeof(float));
    if (!l->w) {
        vs__free(l);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    l->bits = bits;
    l->D = D;
    l->seed = seed;
    uint64_t s = seed ^ 0x6c73682d76696473ULL; /* "lsh-vids" */
    for (size_t i = 0; i < (size_t)bits * D; i += 2) {
        double r = sqrt(-2.0 * log(unif(&s))), a = 6.283185307179586 * unif(&s);
        l->w[i] = (float)(r * cos(a));
        if (i + 1 < (size_t)bits * D) l->w[i + 1] = (float)(r * sin(a));
    }
    snprintf(l->id, sizeof l->id, "lsh-%d-d%d-s%llu", bits, D, (unsigned long long)seed);
    *out = l;
    return VS_OK;
}

void vs_hamming_lsh_free(vs_hamming_lsh *l) {
    if (!l) return;
    vs__free(l->w);
    vs__free(l);
}

int vs_hamming_lsh_bits(const vs_hamming_lsh *l) { return l->bits; }
const char *vs_hamming_lsh_id(const vs_hamming_lsh *l) { return l->id; }

vs_status vs_hamming_lsh_encode(const vs_hamming_lsh *l, uint64_t *code, const float *regions, int T, int R, int D) {
    if (D != l->D) return vs__err(VS_ERR_INVALID_ARG, "lsh %s: features of dimension %d, the hash expects %d", l->id, D, l->D);
    if (T < 1 || R < 1) return vs__err(VS_ERR_INVALID_ARG, "lsh %s: empty features (T=%d, R=%d)", l->id, T, R);
    double *g = vs__calloc((size_t)2 * D, sizeof *g);
    if (!g) return vs__err(VS_ERR_NOMEM, "out of memory");
    double *v = g + D;
    for (int t = 0; t < T; t++) {
        memset(v, 0, (size_t)D * sizeof *v);
        for (int r = 0; r < R; r++) {
            const float *x = regions + ((size_t)t * R + r) * D;
            for (int d = 0; d < D; d++) v[d] += x[d];
        }
        double nn = 0;
        for (int d = 0; d < D; d++) nn += v[d] * v[d];
        double inv = nn > 0 ? 1.0 / sqrt(nn) : 0.0;
        for (int d = 0; d < D; d++) g[d] += v[d] * inv;
    }
    memset(code, 0, (size_t)(l->bits / 64) * sizeof *code);
    for (int b = 0; b < l->bits; b++) {
        const float *w = l->w + (size_t)b * D;
        double dot = 0;
        for (int d = 0; d < D; d++) dot += w[d] * g[d];
        if (dot >= 0) code[b >> 6] |= 1ULL << (b & 63);
    }
    vs__free(g);
    return VS_OK;
}
