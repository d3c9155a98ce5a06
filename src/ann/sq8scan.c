/*
 * sq8scan.c - the scan kernels of an IVF-SQ8 search (ann.c): sum_j w[j] * code[j] over
 * the d 8-bit components of a code, the only part of an SQ8 inner-product score that
 * depends on the code (ann_internal.h says how the score is made). Debian's FAISS is
 * built with its portable kernels only, which decode and multiply one component at a
 * time; these do 8 (AVX2) or 16 (AVX-512) per instruction. Each is compiled for its
 * instruction set with a target attribute and picked by __builtin_cpu_supports, so that
 * the tests run every kernel the CPU supports against the plain C reference and against
 * FAISS's own scanner ("faiss", which ann.c runs through the shim).
 */
#include "ann/ann_internal.h"
#include "core/internal.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define VS__SQ8_X86 1
#include <immintrin.h>
#else
#define VS__SQ8_X86 0
#endif

static float dot_ref(const uint8_t *code, const float *w, int d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += w[j] * (float)code[j];
        s1 += w[j + 1] * (float)code[j + 1];
        s2 += w[j + 2] * (float)code[j + 2];
        s3 += w[j + 3] * (float)code[j + 3];
    }
    for (; j < d; j++) s0 += w[j] * (float)code[j];
    return (s0 + s1) + (s2 + s3);
}

#if VS__SQ8_X86
__attribute__((target("avx2,fma"))) static float dot_avx2(const uint8_t *code, const float *w, int d) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 16 <= d; j += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(code + j));
        __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)));
        a0 = _mm256_fmadd_ps(f0, _mm256_loadu_ps(w + j), a0);
        a1 = _mm256_fmadd_ps(f1, _mm256_loadu_ps(w + j + 8), a1);
    }
    __m256 a = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float s = _mm_cvtss_f32(h);
    for (; j < d; j++) s += w[j] * (float)code[j];
    return s;
}

/* 16 codes as 16 floats */
__attribute__((target("avx512f"))) static inline __m512 u8x16(const uint8_t *c) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)c)));
}

__attribute__((target("avx512f"))) static float dot_avx512(const uint8_t *code, const float *w, int d) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int j = 0;
    for (; j + 32 <= d; j += 32) {
        a0 = _mm512_fmadd_ps(u8x16(code + j), _mm512_loadu_ps(w + j), a0);
        a1 = _mm512_fmadd_ps(u8x16(code + j + 16), _mm512_loadu_ps(w + j + 16), a1);
    }
    for (; j + 16 <= d; j += 16) a0 = _mm512_fmadd_ps(u8x16(code + j), _mm512_loadu_ps(w + j), a0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; j < d; j++) s += w[j] * (float)code[j];
    return s;
}
#endif

static vs__sq8_kernel kernels[4];
static int n_kernels;
static const vs__sq8_kernel *chosen; /* default: the fastest supported */
static const vs__sq8_kernel *forced; /* vs__sq8_use */

static void fill_kernels(void) {
    int nk = 0;
#ifdef VS_HAVE_FAISS
    kernels[nk++] = (vs__sq8_kernel){"faiss", NULL, 1};
#else
    kernels[nk++] = (vs__sq8_kernel){"faiss", NULL, 0};
#endif
    kernels[nk++] = (vs__sq8_kernel){"ref", dot_ref, 1};
#if VS__SQ8_X86
    __builtin_cpu_init();
    kernels[nk++] =
        (vs__sq8_kernel){"avx2", dot_avx2, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")};
    kernels[nk++] = (vs__sq8_kernel){"avx512", dot_avx512, __builtin_cpu_supports("avx512f") != 0};
#endif
    n_kernels = nk;
    chosen = &kernels[1];
    for (int i = 1; i < nk; i++)
        if (kernels[i].supported) chosen = &kernels[i];
}

static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

const vs__sq8_kernel *vs__sq8_kernels(int *n) {
    pthread_once(&kernels_once, fill_kernels);
    *n = n_kernels;
    return kernels;
}

const vs__sq8_kernel *vs__sq8_current(void) {
    pthread_once(&kernels_once, fill_kernels);
    const vs__sq8_kernel *f = __atomic_load_n(&forced, __ATOMIC_ACQUIRE);
    return f ? f : chosen;
}

int vs__sq8_use(const char *name) {
    pthread_once(&kernels_once, fill_kernels);
    if (!name) {
        __atomic_store_n(&forced, NULL, __ATOMIC_RELEASE);
        return VS_OK;
    }
    for (int i = 0; i < n_kernels; i++)
        if (!strcmp(kernels[i].name, name)) {
            if (!kernels[i].supported)
                return vs__err(VS_ERR_UNSUPPORTED, "ann: the %s scan does not run here", name);
            __atomic_store_n(&forced, &kernels[i], __ATOMIC_RELEASE);
            return VS_OK;
        }
    return vs__err(VS_ERR_INVALID_ARG, "ann: no scan named '%s'", name);
}
