/*
 * kernels.c - popcount distance kernels: distances of a query to a block of codes
 * (out[i] = popcount(q XOR codes[i]) summed over the W words of a code), and the
 * run-time choice among them. Four kernels, each compiled for its instruction set
 * with a target attribute and picked by __builtin_cpu_supports (not ifunc clones,
 * so that tests can run every kernel that the CPU supports against the reference):
 *   ref     plain C, SWAR bit counting (no popcount instruction): the reference
 *   popcnt  the POPCNT instruction, one word at a time
 *   avx2    4 words per vector, byte counts by a nibble lookup (vpshufb) + vpsadbw
 *   avx512  8 words per vector, VPOPCNTDQ
 * The vectorised kernels specialise W = 1, 2 and 4 (64, 128, 256 bits) and use
 * POPCNT for other widths and for the tail. Not here: search logic (search.c, mih.c).
 */
#include "hamming/hamming_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define VS__HAM_X86 1
#include <immintrin.h>
#else
#define VS__HAM_X86 0
#endif

static inline int swar_popcount(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

static void dist_ref(uint16_t *out, const uint64_t *codes, long n, const uint64_t *q, int W) {
    for (long i = 0; i < n; i++) {
        const uint64_t *c = codes + (size_t)i * W;
        int d = 0;
        for (int w = 0; w < W; w++) d += swar_popcount(c[w] ^ q[w]);
        out[i] = (uint16_t)d;
    }
}

#if VS__HAM_X86

__attribute__((target("popcnt"))) static void dist_popcnt(uint16_t *out, const uint64_t *codes, long n,
                                                          const uint64_t *q, int W) {
    if (W == 1) {
        uint64_t q0 = q[0];
        for (long i = 0; i < n; i++) out[i] = (uint16_t)__builtin_popcountll(codes[i] ^ q0);
        return;
    }
    for (long i = 0; i < n; i++) {
        const uint64_t *c = codes + (size_t)i * W;
        int d = 0;
        for (int w = 0; w < W; w++) d += __builtin_popcountll(c[w] ^ q[w]);
        out[i] = (uint16_t)d;
    }
}

/* Per-64-bit-lane popcount of x: nibble lookup then sum of the 8 bytes. */
__attribute__((target("avx2"))) static inline __m256i pop256(__m256i x) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                         1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(x, low), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    __m256i cnt = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
    return _mm256_sad_epu8(cnt, _mm256_setzero_si256());
}

__attribute__((target("avx2,popcnt"))) static void dist_avx2(uint16_t *out, const uint64_t *codes, long n,
                                                             const uint64_t *q, int W) {
    long i = 0;
    if (W == 1) {
        __m256i qv = _mm256_set1_epi64x((long long)q[0]);
        for (; i + 4 <= n; i += 4) {
            __m256i s = pop256(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(codes + i)), qv));
            uint64_t t[4];
            _mm256_storeu_si256((__m256i *)t, s);
            for (int k = 0; k < 4; k++) out[i + k] = (uint16_t)t[k];
        }
    } else if (W == 2) {
        __m256i qv = _mm256_setr_epi64x((long long)q[0], (long long)q[1], (long long)q[0], (long long)q[1]);
        for (; i + 4 <= n; i += 4) {
            const __m256i *p = (const __m256i *)(codes + 2 * i);
            __m256i s0 = pop256(_mm256_xor_si256(_mm256_loadu_si256(p), qv));     /* codes i, i+1 */
            __m256i s1 = pop256(_mm256_xor_si256(_mm256_loadu_si256(p + 1), qv)); /* codes i+2, i+3 */
            /* [c0w0,c2w0,c1w0,c3w0] + [c0w1,c2w1,c1w1,c3w1] */
            __m256i s = _mm256_add_epi64(_mm256_unpacklo_epi64(s0, s1), _mm256_unpackhi_epi64(s0, s1));
            uint64_t t[4];
            _mm256_storeu_si256((__m256i *)t, s);
            out[i] = (uint16_t)t[0];
            out[i + 1] = (uint16_t)t[2];
            out[i + 2] = (uint16_t)t[1];
            out[i + 3] = (uint16_t)t[3];
        }
    } else if (W == 4) {
        __m256i qv = _mm256_loadu_si256((const __m256i *)q);
        for (; i + 4 <= n; i += 4) {
            const __m256i *p = (const __m256i *)(codes + 4 * i);
            __m256i s0 = pop256(_mm256_xor_si256(_mm256_loadu_si256(p), qv));
            __m256i s1 = pop256(_mm256_xor_si256(_mm256_loadu_si256(p + 1), qv));
            __m256i s2 = pop256(_mm256_xor_si256(_mm256_loadu_si256(p + 2), qv));
            __m256i s3 = pop256(_mm256_xor_si256(_mm256_loadu_si256(p + 3), qv));
            /* t0 = [c0(w0+w1), c1(w0+w1), c0(w2+w3), c1(w2+w3)], t1 the same for c2, c3 */
            __m256i t0 = _mm256_add_epi64(_mm256_unpacklo_epi64(s0, s1), _mm256_unpackhi_epi64(s0, s1));
            __m256i t1 = _mm256_add_epi64(_mm256_unpacklo_epi64(s2, s3), _mm256_unpackhi_epi64(s2, s3));
            __m256i s = _mm256_add_epi64(_mm256_permute2x128_si256(t0, t1, 0x20),
                                         _mm256_permute2x128_si256(t0, t1, 0x31));
            uint64_t t[4];
            _mm256_storeu_si256((__m256i *)t, s);
            for (int k = 0; k < 4; k++) out[i + k] = (uint16_t)t[k];
        }
    }
    if (i < n) dist_popcnt(out + i, codes + (size_t)i * W, n - i, q, W);
}

__attribute__((target("avx512f,avx512vpopcntdq,popcnt"))) static void dist_avx512(uint16_t *out,
                                                                                  const uint64_t *codes, long n,
                                                                                  const uint64_t *q, int W) {
    long i = 0;
    const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    if (W == 1) {
        __m512i qv = _mm512_set1_epi64((long long)q[0]);
        for (; i + 8 <= n; i += 8) {
            __m512i c = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(codes + i), qv));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(c));
        }
    } else if (W == 2) {
        __m512i qv = _mm512_setr_epi64((long long)q[0], (long long)q[1], (long long)q[0], (long long)q[1],
                                       (long long)q[0], (long long)q[1], (long long)q[0], (long long)q[1]);
        for (; i + 8 <= n; i += 8) {
            const uint64_t *p = codes + 2 * i;
            __m512i c0 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p), qv));
            __m512i c1 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p + 8), qv));
            __m512i s = _mm512_add_epi64(_mm512_permutex2var_epi64(c0, even, c1), _mm512_permutex2var_epi64(c0, odd, c1));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(s));
        }
    } else if (W == 4) {
        __m512i qv = _mm512_setr_epi64((long long)q[0], (long long)q[1], (long long)q[2], (long long)q[3],
                                       (long long)q[0], (long long)q[1], (long long)q[2], (long long)q[3]);
        for (; i + 8 <= n; i += 8) {
            const uint64_t *p = codes + 4 * i;
            __m512i c0 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p), qv));
            __m512i c1 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p + 8), qv));
            __m512i c2 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p + 16), qv));
            __m512i c3 = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(p + 24), qv));
            /* pairs of words: p0 = [k0:w01, k0:w23, k1:w01, ..., k3:w23] for codes 0..3 */
            __m512i p0 = _mm512_add_epi64(_mm512_permutex2var_epi64(c0, even, c1), _mm512_permutex2var_epi64(c0, odd, c1));
            __m512i p1 = _mm512_add_epi64(_mm512_permutex2var_epi64(c2, even, c3), _mm512_permutex2var_epi64(c2, odd, c3));
            __m512i s = _mm512_add_epi64(_mm512_permutex2var_epi64(p0, even, p1), _mm512_permutex2var_epi64(p0, odd, p1));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(s));
        }
    }
    if (i < n) dist_popcnt(out + i, codes + (size_t)i * W, n - i, q, W);
}

#endif /* VS__HAM_X86 */

static vs__hamming_kernel kernels[4];
static int n_kernels;
static const vs__hamming_kernel *chosen;   /* default: the fastest supported */
static const vs__hamming_kernel *forced;   /* vs__hamming_use_kernel */

static void fill_kernels(void) {
    vs__hamming_kernel k[4];
    int nk = 0;
    k[nk++] = (vs__hamming_kernel){"ref", dist_ref, 1};
#if VS__HAM_X86
    __builtin_cpu_init();
    k[nk++] = (vs__hamming_kernel){"popcnt", dist_popcnt, __builtin_cpu_supports("popcnt") != 0};
    k[nk++] = (vs__hamming_kernel){"avx2", dist_avx2,
                                   __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")};
    k[nk++] = (vs__hamming_kernel){"avx512", dist_avx512,
                                   __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")};
#endif
    memcpy(kernels, k, sizeof k);
    n_kernels = nk;
    const vs__hamming_kernel *best = &kernels[0];
    for (int i = 0; i < nk; i++)
        if (kernels[i].supported) best = &kernels[i];
    chosen = best;
}

static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

static void init_kernels(void) { pthread_once(&kernels_once, fill_kernels); }

const vs__hamming_kernel *vs__hamming_kernels(int *n) {
    init_kernels();
    *n = n_kernels;
    return kernels;
}

const vs__hamming_kernel *vs__hamming_current(void) {
    init_kernels();
    const vs__hamming_kernel *f = __atomic_load_n(&forced, __ATOMIC_ACQUIRE);
    return f ? f : chosen;
}

vs_status vs__hamming_use_kernel(const char *name) {
    init_kernels();
    if (!name) {
        __atomic_store_n(&forced, NULL, __ATOMIC_RELEASE);
        return VS_OK;
    }
    for (int i = 0; i < n_kernels; i++)
        if (!strcmp(kernels[i].name, name)) {
            if (!kernels[i].supported) return vs__err(VS_ERR_UNSUPPORTED, "hamming kernel %s: not supported by this CPU", name);
            __atomic_store_n(&forced, &kernels[i], __ATOMIC_RELEASE);
            return VS_OK;
        }
    return vs__err(VS_ERR_UNSUPPORTED, "hamming kernel %s: not compiled in", name);
}

const char *vs_hamming_kernel_name(void) { return vs__hamming_current()->name; }

int vs_hamming_distance(const uint64_t *a, const uint64_t *b, int n_words) {
    int d = 0;
    for (int w = 0; w < n_words; w++) d += swar_popcount(a[w] ^ b[w]);
    return d;
}

vs_status vs_hamming_distances(uint16_t *dist, const uint64_t *query, const uint64_t *codes, long n, int bits) {
    if (bits < 64 || bits % 64 || bits > VS_HAMMING_MAX_BITS)
        return vs__err(VS_ERR_INVALID_ARG, "hamming: %d bits (need a multiple of 64 up to %d)", bits,
                       VS_HAMMING_MAX_BITS);
    if (n < 0) return vs__err(VS_ERR_INVALID_ARG, "hamming: negative count");
    if (n) vs__hamming_current()->dist(dist, codes, n, query, bits / 64);
    return VS_OK;
}
