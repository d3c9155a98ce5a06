/*
 * test_hamming.c - the Hamming search module: every popcount kernel this CPU runs
 * against the plain C reference (64/128/192/256/1024 bits, lengths that exercise
 * the vector tails), known-answer distances, exhaustive top-K against a brute-force
 * sort by (distance, id) with heavy ties and unsorted ids, 1..4 threads, multi-index
 * hashing (forced and auto, several substring counts) equal to the scan hit for hit,
 * argument errors, and the LSH encoder (determinism, bit layout, known angles).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "hamming/hamming_internal.h"
#include "vidsim/hamming.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;
static uint64_t xr(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int naive_dist(const uint64_t *a, const uint64_t *b, int W) {
    int d = 0;
    for (int w = 0; w < W; w++)
        for (int k = 0; k < 64; k++) d += (int)(((a[w] ^ b[w]) >> k) & 1);
    return d;
}

static void test_kernels(void) {
    int nk;
    const vs__hamming_kernel *ks = vs__hamming_kernels(&nk);
    CHECK(nk >= 1 && !strcmp(ks[0].name, "ref"));
    int widths[] = {1, 2, 3, 4, 16};
    long lens[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 33, 1000};
    int tested = 0;
    for (int wi = 0; wi < 5; wi++) {
        int W = widths[wi];
        long n = 1000;
        uint64_t *codes = malloc(sizeof(uint64_t) * n * W), q[16];
        uint16_t *want = malloc(sizeof(uint16_t) * n), *got = malloc(sizeof(uint16_t) * n);
        for (long i = 0; i < n * W; i++) codes[i] = xr() & (i % 5 ? ~0ULL : xr()); /* varied densities */
        for (int w = 0; w < W; w++) q[w] = xr();
        codes[0] = q[0]; /* distance 0 in the first word */
        for (int w = 0; w < W; w++) codes[(n - 1) * W + w] = ~q[w]; /* the maximum distance */
        ks[0].dist(want, codes, n, q, W);
        for (long i = 0; i < n; i++) {
            if (want[i] != naive_dist(codes + i * W, q, W)) {
                CHECK_MSG(0, "ref kernel W=%d i=%ld", W, i);
                break;
            }
        }
        CHECK_EQ(want[n - 1], 64 * W);
        for (int k = 1; k < nk; k++) {
            if (!ks[k].supported) {
                fprintf(stderr, "kernel %s: not supported by this CPU, not tested\n", ks[k].name);
                continue;
            }
            for (int li = 0; li < 11; li++) {
                long len = lens[li];
                long off = len == 1000 ? 0 : 5; /* unaligned start */
                memset(got, 0xff, sizeof(uint16_t) * n);
                ks[k].dist(got + off, codes + off * W, len, q, W);
                int bad = 0;
                for (long i = 0; i < len; i++) bad += got[off + i] != want[off + i];
                bad += off + len < n && got[off + len] != 0xffff; /* wrote past the end */
                CHECK_MSG(!bad, "kernel %s W=%d n=%ld: %d mismatches", ks[k].name, W, len, bad);
                tested++;
            }
        }
        free(codes);
        free(want);
        free(got);
    }
    fprintf(stderr, "kernels: %d compiled, in use: %s, %d kernel/width/length cases checked\n", nk,
            vs_hamming_kernel_name(), tested);
    /* the public entry points */
    uint64_t a[4] = {0, ~0ULL, 0xf0f0ULL, 1}, b[4] = {0, 0, 0xffffULL, 3};
    CHECK_EQ(vs_hamming_distance(a, b, 4), 0 + 64 + 8 + 1);
    uint16_t d[1];
    CHECK_EQ(vs_hamming_distances(d, a, b, 1, 256), VS_OK);
    CHECK_EQ(d[0], 73);
    CHECK_EQ(vs_hamming_distances(d, a, b, 1, 100), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "100 bits") != NULL);
    CHECK_EQ(vs_hamming_distances(d, a, b, 1, 0), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs__hamming_use_kernel("nonesuch"), VS_ERR_UNSUPPORTED);
}

typedef struct { int64_t id; long pos; int d; } ref_hit;

static int cmp_ref(const void *x, const void *y) {
    const ref_hit *a = x, *b = y;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    if (a->id != b->id) return a->id < b->id ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Brute force: every code, sorted by (distance, id, position). */
static ref_hit *brute(const uint64_t *q, const uint64_t *codes, const int64_t *ids, long n, int W) {
    ref_hit *r = malloc(sizeof *r * (n + 1));
    for (long i = 0; i < n; i++) {
        int d = 0;
        for (int w = 0; w < W; w++) d += __builtin_popcountll(q[w] ^ codes[i * W + w]);
        r[i] = (ref_hit){ids ? ids[i] : i, i, d};
    }
    qsort(r, n, sizeof *r, cmp_ref);
    return r;
}

static int same_hits(const vs_hamming_hit *h, long nh, const ref_hit *r, long K, long n) {
    long want = K < n ? K : n;
    if (nh != want) return 0;
    for (long i = 0; i < nh; i++)
        if (h[i].id != r[i].id || h[i].dist != r[i].d) return 0;
    return 1;
}

/* Codes near a few centres (each bit flipped with probability 2^-k), so neighbours
 * are close and distances tie a lot. */
static void clustered(uint64_t *codes, long n, int W, int n_centres, int k) {
    uint64_t cent[8][16];
    for (int c = 0; c < n_centres; c++)
        for (int w = 0; w < W; w++) cent[c][w] = xr();
    for (long i = 0; i < n; i++) {
        int c = (int)(xr() % n_centres);
        for (int w = 0; w < W; w++) {
            uint64_t flip = ~0ULL;
            for (int j = 0; j < k; j++) flip &= xr();
            codes[i * W + w] = cent[c][w] ^ flip;
        }
    }
}

static void test_topk(void) {
    int bitss[] = {64, 128, 256};
    for (int bi = 0; bi < 3; bi++) {
        int bits = bitss[bi], W = bits / 64;
        long n = 3000;
        uint64_t *codes = malloc(sizeof(uint64_t) * n * W);
        int64_t *ids = malloc(sizeof(int64_t) * n);
        clustered(codes, n, W, 5, 5);
        for (long i = 0; i < n; i++) ids[i] = (int64_t)(xr() % 500); /* unsorted, duplicated */
        for (int trial = 0; trial < 6; trial++) {
            uint64_t q[4];
            if (trial < 3) memcpy(q, codes + (xr() % n) * W, sizeof(uint64_t) * W);
            else for (int w = 0; w < W; w++) q[w] = xr();
            long Ks[] = {1, 7, 100, n, n + 5};
            for (int ki = 0; ki < 5; ki++) {
                long K = Ks[ki];
                vs_hamming_hit *hits = malloc(sizeof *hits * (K + 1));
                for (int with_ids = 0; with_ids < 2; with_ids++) {
                    const int64_t *idp = with_ids ? ids : NULL;
                    ref_hit *r = brute(q, codes, idp, n, W);
                    for (int nt = 1; nt <= 4; nt += 3) {
                        long nh = -1;
                        CHECK_EQ(vs_hamming_topk(hits, &nh, q, codes, idp, n, bits, K, nt), VS_OK);
                        CHECK_MSG(same_hits(hits, nh, r, K, n), "scan bits=%d K=%ld ids=%d threads=%d", bits, K,
                                  with_ids, nt);
                    }
                    free(r);
                }
                free(hits);
            }
        }
        free(codes);
        free(ids);
    }
    /* many threads on a collection big enough to split (ranges of >= 32768 codes) */
    long n = 140000;
    uint64_t *codes = malloc(sizeof(uint64_t) * n);
    clustered(codes, n, 1, 3, 6);
    uint64_t q = codes[12345];
    ref_hit *r = brute(&q, codes, NULL, n, 1);
    vs_hamming_hit hits[300];
    for (int nt = 1; nt <= 4; nt++) {
        long nh;
        CHECK_EQ(vs_hamming_topk(hits, &nh, &q, codes, NULL, n, 64, 300, nt), VS_OK);
        CHECK_MSG(same_hits(hits, nh, r, 300, n), "big scan, %d threads", nt);
    }
    free(r);
    free(codes);
    /* nearly all ties: two distinct codes, unsorted ids, two ranges (the scan's
     * candidate buffer must grow past its cap instead of dropping tied codes) */
    n = 70000;
    codes = malloc(sizeof(uint64_t) * n);
    int64_t *ids = malloc(sizeof(int64_t) * n);
    for (long i = 0; i < n; i++) {
        codes[i] = i % 3 ? 0xffULL : 0x0fULL;
        ids[i] = (int64_t)(xr() % 100000);
    }
    q = 0;
    r = brute(&q, codes, ids, n, 1);
    for (int nt = 1; nt <= 2; nt++) {
        long nh;
        CHECK_EQ(vs_hamming_topk(hits, &nh, &q, codes, ids, n, 64, 300, nt), VS_OK);
        CHECK_MSG(same_hits(hits, nh, r, 300, n), "all-ties scan, %d threads", nt);
    }
    free(r);
    free(ids);
    free(codes);
}

static void test_mih(void) {
    /* flip: bits flipped with probability 2^-flip */
    struct { int bits; long n; int m; int method; int centres, flip; } cases[] = {
        {64, 5000, 0, VS_HAMMING_MIH, 4, 5},  {64, 5000, 4, VS_HAMMING_MIH, 4, 5},
        {64, 5000, 3, VS_HAMMING_MIH, 2, 2}, {128, 4000, 0, VS_HAMMING_MIH, 6, 6},
        {128, 4000, 7, VS_HAMMING_MIH, 6, 4}, {256, 3000, 0, VS_HAMMING_MIH, 3, 7},
        {256, 3000, 11, VS_HAMMING_MIH, 8, 3}, {64, 70000, 0, VS_HAMMING_AUTO, 5, 5},
        {64, 70000, 0, VS_HAMMING_AUTO, 5, 1}, {64, 3000, 1, VS_HAMMING_MIH, 3, 5},
    };
    int n_fell = 0, n_mih = 0;
    for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
        int bits = cases[c].bits, W = bits / 64;
        long n = cases[c].n;
        if (cases[c].m == 1) bits = 64; /* one 24-bit substring cannot cover 64 bits: an error case */
        uint64_t *codes = malloc(sizeof(uint64_t) * n * W);
        int64_t *ids = malloc(sizeof(int64_t) * n);
        clustered(codes, n, W, cases[c].centres, cases[c].flip);
        for (long i = 0; i < n; i++) ids[i] = c % 2 ? (int64_t)(xr() % 1000) : 10 * i;
        vs_hamming_params p = vs_hamming_default_params();
        p.method = cases[c].method;
        p.n_substrings = cases[c].m;
        vs_hamming_index *h = NULL;
        vs_status s = vs_hamming_index_create(&h, codes, ids, n, bits, &p);
        if (cases[c].m == 1) {
            CHECK_EQ(s, VS_ERR_INVALID_ARG);
            CHECK(h == NULL);
            free(codes);
            free(ids);
            continue;
        }
        CHECK_EQ(s, VS_OK);
        if (cases[c].m) CHECK_EQ(vs_hamming_index_substrings(h), cases[c].m);
        CHECK(vs_hamming_index_substrings(h) > 0);
        vs_hamming_state *st;
        CHECK_EQ(vs_hamming_state_create(&st, h), VS_OK);
        for (int trial = 0; trial < 12; trial++) {
            uint64_t q[4];
            if (trial % 3 != 2) {
                memcpy(q, codes + (xr() % n) * W, sizeof(uint64_t) * W);
                q[0] ^= 1ULL << (xr() % 64);
            } else for (int w = 0; w < W; w++) q[w] = xr(); /* far from everything */
            long K = trial % 4 == 0 ? 1 : trial % 4 == 1 ? 10 : trial % 4 == 2 ? 100 : 537;
            ref_hit *r = brute(q, codes, ids, n, W);
            vs_hamming_hit *hits = malloc(sizeof *hits * K);
            long nh = -1;
            CHECK_EQ(vs_hamming_search(st, hits, &nh, q, K), VS_OK);
            vs_hamming_stats stt;
            vs_hamming_last_stats(st, &stt);
            n_fell += stt.fell_back;
            n_mih += stt.method == VS_HAMMING_MIH;
            if (p.method == VS_HAMMING_MIH) CHECK_EQ(stt.method, VS_HAMMING_MIH);
            CHECK_MSG(same_hits(hits, nh, r, K, n), "case %d bits=%d m=%d K=%ld trial %d (method %d, radius %d)", c,
                      bits, vs_hamming_index_substrings(h), K, trial, stt.method, stt.radius);
            free(hits);
            free(r);
        }
        vs_hamming_state_free(st);
        vs_hamming_index_free(h);
        free(codes);
        free(ids);
    }
    fprintf(stderr, "mih: %d searches answered by MIH, %d auto fall-backs to the scan\n", n_mih, n_fell);
    CHECK(n_mih > 0);
    CHECK(n_fell > 0); /* random queries against the 70000-code auto cases are far */
    /* errors and edge cases */
    vs_hamming_index *h;
    uint64_t one = 5;
    vs_hamming_params p = vs_hamming_default_params();
    p.method = 7;
    CHECK_EQ(vs_hamming_index_create(&h, &one, NULL, 1, 64, &p), VS_ERR_INVALID_ARG);
    p = vs_hamming_default_params();
    CHECK_EQ(vs_hamming_index_create(&h, &one, NULL, 1, 65, &p), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_hamming_index_create(&h, NULL, NULL, 0, 64, &p), VS_OK);
    vs_hamming_state *st;
    CHECK_EQ(vs_hamming_state_create(&st, h), VS_OK);
    vs_hamming_hit hit;
    long nh = -1;
    CHECK_EQ(vs_hamming_search(st, &hit, &nh, &one, 5), VS_OK);
    CHECK_EQ(nh, 0);
    CHECK_EQ(vs_hamming_search(st, &hit, &nh, &one, 0), VS_ERR_INVALID_ARG);
    vs_hamming_state_free(st);
    vs_hamming_index_free(h);
    vs_hamming_index_free(NULL);
    vs_hamming_state_free(NULL);
}

static void test_lsh(void) {
    int T = 5, R = 3, D = 16;
    float *x = malloc(sizeof(float) * T * R * D);
    for (int i = 0; i < T * R * D; i++) x[i] = (float)((int)(xr() % 2001) - 1000) / 1000.f;
    vs_hamming_lsh *a, *b, *c;
    CHECK_EQ(vs_hamming_lsh_create(&a, 128, D, 7), VS_OK);
    CHECK_EQ(vs_hamming_lsh_create(&b, 128, D, 7), VS_OK);
    CHECK_EQ(vs_hamming_lsh_create(&c, 128, D, 8), VS_OK);
    CHECK(!strcmp(vs_hamming_lsh_id(a), "lsh-128-d16-s7"));
    CHECK_EQ(vs_hamming_lsh_bits(a), 128);
    uint64_t ca[2], cb[2], cc[2], cn[2];
    CHECK_EQ(vs_hamming_lsh_encode(a, ca, x, T, R, D), VS_OK);
    CHECK_EQ(vs_hamming_lsh_encode(b, cb, x, T, R, D), VS_OK);
    CHECK_EQ(vs_hamming_lsh_encode(c, cc, x, T, R, D), VS_OK);
    CHECK(ca[0] == cb[0] && ca[1] == cb[1]);          /* same seed, same code */
    CHECK(vs_hamming_distance(ca, cc, 2) > 20);        /* another seed: unrelated bits */
    /* negated features: every projection changes sign (none is exactly 0 here) */
    for (int i = 0; i < T * R * D; i++) x[i] = -x[i];
    CHECK_EQ(vs_hamming_lsh_encode(a, cn, x, T, R, D), VS_OK);
    CHECK_EQ(vs_hamming_distance(ca, cn, 2), 128);
    /* a scaled copy of a frame set keeps its code (per-frame normalisation) */
    for (int i = 0; i < T * R * D; i++) x[i] *= -3.0f;
    CHECK_EQ(vs_hamming_lsh_encode(a, cn, x, T, R, D), VS_OK);
    CHECK(cn[0] == ca[0] && cn[1] == ca[1]);
    CHECK_EQ(vs_hamming_lsh_encode(a, cn, x, T, R, D + 1), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "dimension 17") != NULL);
    vs_hamming_lsh_free(c);
    CHECK_EQ(vs_hamming_lsh_create(&c, 100, D, 1), VS_ERR_INVALID_ARG);
    CHECK(c == NULL);
    vs_hamming_lsh_free(a);
    vs_hamming_lsh_free(b);
    free(x);
}

int main(void) {
    test_kernels();
    test_topk();
    test_mih();
    test_lsh();
    return vs_test_done();
}
