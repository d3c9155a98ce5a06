/*
 * gemm_bf16.c - C = A . B^T with A and B rounded to bfloat16 and the products summed
 * in float32, through oneDNN's matmul (AMX or AVX-512 BF16 where the CPU has them):
 * the frame-to-frame region dot products of the similarity model when it is asked to
 * run them in bf16 (vs_simmodel_params.precision). Row-major A [M, K] (pitch lda),
 * B [N, K] (pitch ldb), C [M, N] (pitch ldc).
 *
 * Per thread (a pthread key, freed when the thread ends): a oneDNN stream and the
 * bf16 copies of A and B. The engine is shared. The matmul primitive is created per
 * call: oneDNN's primitive cache makes a repeated shape cost a few microseconds.
 * oneDNN runs its OpenMP threads on the caller's setting; the call runs single-threaded
 * (callers parallelise over pairs) and restores the caller's setting.
 *
 * Without oneDNN in the build, or on a CPU whose oneDNN ISA has no bf16 dot products
 * (below avx512_core_bf16), vs__gemm_bf16_available() is 0 and vs__gemm_nt_bf16
 * returns nonzero without writing C.
 */
#include "nn/nn.h"

#include <stdint.h>
#include <string.h>

#if defined(VS_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

static dnnl_engine_t g_eng;
static int g_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;

typedef struct tls {
    dnnl_stream_t str;
    uint16_t *a, *b;
    size_t a_cap, b_cap; /* elements */
} tls;

static void tls_free(void *p) {
    tls *t = p;
    if (!t) return;
    if (t->str) dnnl_stream_destroy(t->str);
    free(t->a);
    free(t->b);
    free(t);
}

static void init_once(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    int bf16 = isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
    if (!bf16) return;
    if (pthread_key_create(&g_key, tls_free)) return;
    if (dnnl_engine_create(&g_eng, dnnl_cpu, 0) != dnnl_success) return;
    g_ok = 1;
}

int vs__gemm_bf16_available(void) {
    pthread_once(&g_once, init_once);
    return g_ok;
}

/* Round to nearest even, as oneDNN and PyTorch do (NaN stays NaN). */
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static int grow(uint16_t **p, size_t *cap, size_t n) {
    if (*cap >= n) return 0;
    uint16_t *q = realloc(*p, n * sizeof *q);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void convert(uint16_t *dst, const float *src, int rows, int cols, int ld) {
    for (int r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * ld;
        uint16_t *d = dst + (size_t)r * cols;
        for (int c = 0; c < cols; c++) d[c] = to_bf16(s[c]);
    }
}

int vs__gemm_nt_bf16(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                     int ldc) {
    if (!vs__gemm_bf16_available() || M <= 0 || N <= 0 || K <= 0) return -1;
    tls *t = pthread_getspecific(g_key);
    if (!t) {
        if (!(t = calloc(1, sizeof *t))) return -1;
        if (dnnl_stream_create(&t->str, g_eng, dnnl_stream_default_flags) != dnnl_success ||
            pthread_setspecific(g_key, t)) {
            tls_free(t);
            return -1;
        }
    }
    if (grow(&t->a, &t->a_cap, (size_t)M * K) || grow(&t->b, &t->b_cap, (size_t)N * K)) return -1;
    convert(t->a, A, M, K, lda);
    convert(t->b, B, N, K, ldb);

    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N}, cs = {ldc, 1};
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL;
    int rc = -1;
    dnnl_matmul_desc_t md;
    if (dnnl_memory_desc_init_by_tag(&a_md, 2, ad, dnnl_bf16, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&b_md, 2, bd, dnnl_bf16, dnnl_ba) || /* B^T: B is [N, K] row-major */
        dnnl_memory_desc_init_by_strides(&c_md, 2, cd, dnnl_f32, cs) ||
        dnnl_matmul_desc_init(&md, &a_md, &b_md, NULL, &c_md) ||
        dnnl_primitive_desc_create(&pd, &md, NULL, g_eng, NULL) || dnnl_primitive_create(&prim, pd) ||
        dnnl_memory_create(&am, &a_md, g_eng, t->a) || dnnl_memory_create(&bm, &b_md, g_eng, t->b) ||
        dnnl_memory_create(&cm, &c_md, g_eng, C))
        goto out;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
    int nt = omp_get_max_threads();
    if (nt != 1) omp_set_num_threads(1);
    if (dnnl_primitive_execute(prim, t->str, 3, args) == dnnl_success && dnnl_stream_wait(t->str) == dnnl_success)
        rc = 0;
    if (nt != 1) omp_set_num_threads(nt);
out:
    if (am) dnnl_memory_destroy(am);
    if (bm) dnnl_memory_destroy(bm);
    if (cm) dnnl_memory_destroy(cm);
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
}

#else /* no oneDNN */

int vs__gemm_bf16_available(void) { return 0; }

int vs__gemm_nt_bf16(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                     int ldc) {
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc;
    return -1;
}

#endif
