/*
 * test.h - the tiny test harness: CHECK macros that count failures, a SKIP that
 * exits 77 (CTest's skip code), and helpers to find fixtures. Every test program
 * ends with `return vs_test_done();`, which prints "N passed, N failed" and exits
 * non-zero on any failure.
 */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <stdint.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int vs_test_pass, vs_test_fail;

#define CHECK(cond) \
    do { if (cond) vs_test_pass++; else { vs_test_fail++; \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) \
    do { if (cond) vs_test_pass++; else { vs_test_fail++; \
        fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ(a, b) \
    do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) vs_test_pass++; \
        else { vs_test_fail++; fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", \
            __FILE__, __LINE__, #a, _a, #b, _b); } } while (0)
#define CHECK_NEAR(a, b, tol) \
    do { double _a = (double)(a), _b = (double)(b); if (fabs(_a - _b) <= (tol)) vs_test_pass++; \
        else { vs_test_fail++; fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n", \
            __FILE__, __LINE__, #a, _a, #b, _b, (double)(tol)); } } while (0)
#define SKIP(...) \
    do { fprintf(stderr, "SKIP: "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(77); } while (0)

int vs_test_done(void);

/* Compare tensors: pass if |got-want| <= atol + rtol*|want| everywhere. Prints
 * max-abs, max-rel, nmse and the first bad index. Counts one check. Returns 1 if ok. */
int vs_check_tensor(const char *name, const float *got, const float *want, long n, double atol,
                    double rtol);

/* Environment helpers: VS_SHARED (../shared), VS_MODELS (models/), VS_BIN, VS_TMP. */
const char *vs_test_shared(void);
const char *vs_test_models(void);
const char *vs_test_bin(void);
const char *vs_test_tmpdir(void); /* created if needed */

/* Fixtures of ../shared/data/parity (manifest.txt + tensors.bin). */
typedef struct vs_fixture vs_fixture;
typedef struct vs_fixture_tensor {
    const char *name;
    int is_int;        /* 1 for i32 */
    int ndim;
    long dims[8];
    long numel;
    const void *data;
} vs_fixture_tensor;
vs_fixture *vs_fixture_load(const char *dir); /* NULL if absent */
const vs_fixture_tensor *vs_fixture_get(const vs_fixture *fx, const char *name); /* NULL if absent */
void vs_fixture_free(vs_fixture *fx);

/* ---- gradient checks against central differences (tests/gradcheck) */
/* Deterministic uniform doubles in [0, 1) (xorshift64, one stream per process). */
void vs_test_seed(uint64_t s);
double vs_test_urand(void);
void vs_test_fill(float *x, long n, float lo, float hi); /* U(lo, hi) */
float *vs_test_alloc(long n);                            /* zeroed; exits when out of memory */
double vs_test_dot(const float *a, const float *b, long n); /* in double */
typedef double (*vs_test_loss_fn)(void);
/* Central differences (loss(x + h) - loss(x - h)) / 2h at about n_samples evenly spaced
 * coordinates of x[n] against the analytic gradient ana[n]: rel = max |fd - ana| /
 * max |ana|. Prints one line, counts a check that rel <= tol and one that ana is not all
 * zero, and returns rel. loss() must recompute the forward from x. */
double vs_test_check_grad(const char *name, vs_test_loss_fn loss, float *x, const float *ana, long n,
                          float h, int n_samples, double tol);

/* Read a whole file (NUL-terminated). NULL if unreadable. */
unsigned char *vs_test_read_file(const char *path, size_t *len);
/* Read a .npy float32 array (C order). Returns data, sets shape. NULL if unreadable. */
float *vs_test_read_npy(const char *path, int *ndim, long *shape);

/* Synthetic features for index and search tests: T frames of VS_REGIONS random unit
 * region vectors of D dims from seed (videos with the same seed are copies), times
 * 0..T-1 at 1 fps, model id "synthetic/8", source size 1000 + hash, mtime and hash from
 * hash. Free with vs_test_synth_free. */
struct vs_features;
struct vs_features *vs_test_synth(int T, int D, int seed, uint64_t hash);
void vs_test_synth_free(struct vs_features *f);

#endif
