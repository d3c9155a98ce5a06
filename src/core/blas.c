/*
 * blas.c - the one place where the library sets the BLAS (OpenBLAS) thread count
 * (docs/threading.md). An application may choose it once at startup with
 * vs_blas_set_threads(); otherwise the first library pool whose workers call BLAS
 * themselves (a backbone state on the im2col + OpenBLAS engine, a similarity-model
 * state or trainer step over several workers) puts OpenBLAS at one thread, once, and
 * nothing in the library
 * ever sets it back: a call that switched it around itself and restored it could
 * undo the setting of a call running on another thread. oneDNN's OpenMP count is
 * per state and per calling thread (backbone/dnnl.c), not here.
 */
#include "core/internal.h"

#include <cblas.h>
#include <stdatomic.h>

static atomic_int g_blas_chosen; /* 1: the application or a library pool has set it */

void vs_blas_set_threads(int n) {
    if (n < 1) n = 1;
    atomic_store(&g_blas_chosen, 1);
    openblas_set_num_threads(n);
}

void vs__blas_pool_started(void) {
    int expected = 0;
    if (atomic_compare_exchange_strong(&g_blas_chosen, &expected, 1) && openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}
