/*
 * bench_hamming.c - latency of the hash stage: top-K Hamming search over a large
 * collection (default 1M codes), per query, for every popcount kernel of the
 * exhaustive scan (the plain C reference kernel single-threaded is the baseline,
 * measured in the same run), the scan on 2 threads, multi-index hashing, and the
 * automatic choice. Every method's hits are checked against the baseline's (the
 * search is exact, so they must be identical).
 *
 * The collection replicates real codes with bit noise: codes of real videos (the
 * ok rows of --index and the .vsf files of --features, encoded with --hash: a trained
 * hash model file, or lsh, the random-projection LSH baseline), each database code
 * one of them with every bit flipped with probability 2^-noise. Queries are real
 * codes with fresh noise ("near": they have close neighbours, as a copy has) and, to
 * show the worst case of MIH, uniformly random codes ("far"). Without real features
 * the real codes are random (said in the output).
 *
 *   bench_hamming [--index DIR] [--features DIR] [--hash lsh|MODEL] [--n 1000000]
 *                 [--bits 64,128,256] [--queries 200] [--k 100] [--noise 4] [--threads 2]
 *                 [--reps 3]
 *
 * Prints a table and one machine-readable line per method (bench_hamming ...). Never
 * asserts; a mismatch against the baseline is printed as MISMATCH and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "vidsim/features.h"
#include "vidsim/hamming.h"
#include "vidsim/hashmodel.h"
#include "vidsim/index.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t xr(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Each bit set with probability 2^-k. */
static uint64_t noise_word(int k) {
    if (k <= 0) return 0;
    uint64_t m = ~0ULL;
    for (int i = 0; i < k; i++) m &= xr();
    return m;
}

typedef struct { vs_features **v; long n, cap; } feat_list;

static void push(feat_list *l, vs_features *f) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, sizeof *l->v * l->cap);
    }
    l->v[l->n++] = f;
}

static void load_features(feat_list *l, const char *index, const char *dir) {
    if (index) {
        vs_index *idx;
        vs_index_entries *es;
        if (vs_index_open(&idx, index, VS_INDEX_READONLY) != VS_OK || vs_index_list(idx, NULL, &es) != VS_OK) {
            fprintf(stderr, "bench_hamming: %s\n", vs_last_error());
            exit(2);
        }
        for (long i = 0; i < es->n; i++) {
            vs_features *f;
            if (es->v[i].ok && vs_index_load_features(idx, &es->v[i], &f) == VS_OK) push(l, f);
        }
        vs_index_entries_free(es);
        vs_index_close(idx);
    }
    if (dir) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t k = strlen(e->d_name);
            if (k < 5 || strcmp(e->d_name + k - 4, ".vsf")) continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            vs_features *f;
            if (vs_features_load(&f, p) == VS_OK) push(l, f);
        }
        if (d) closedir(d);
    }
}

typedef struct {
    const char *name;
    const char *kernel; /* NULL: the default */
    int method, threads, m;
} method;

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *index = NULL, *fdir = NULL, *hash = "lsh", *bits_arg = "64,128,256";
    long n = 1000000, nq = 200, K = 100;
    int noise = 4, threads = 2, reps = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--index") && more) index = argv[++i];
        else if (!strcmp(a, "--features") && more) fdir = argv[++i];
        else if (!strcmp(a, "--hash") && more) hash = argv[++i];
        else if (!strcmp(a, "--n") && more) n = atol(argv[++i]);
        else if (!strcmp(a, "--bits") && more) bits_arg = argv[++i];
        else if (!strcmp(a, "--queries") && more) nq = atol(argv[++i]);
        else if (!strcmp(a, "--k") && more) K = atol(argv[++i]);
        else if (!strcmp(a, "--noise") && more) noise = atoi(argv[++i]);
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--reps") && more) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_hamming [--index DIR] [--features DIR] [--hash lsh|MODEL] [--n N] "
                            "[--bits 64,128,256] [--queries Q] [--k K] [--noise k (p = 2^-k)] [--threads T] [--reps R]\n");
            return 2;
        }
    }
    feat_list fl = {0};
    load_features(&fl, index, fdir);
    vs_hashmodel *hm = NULL;
    int bits_list[8], nb = 0;
    if (strcmp(hash, "lsh") != 0) {
        if (vs_hashmodel_load(&hm, hash) != VS_OK) {
            fprintf(stderr, "bench_hamming: %s\n", vs_last_error());
            return 2;
        }
        bits_list[nb++] = vs_hashmodel_bits(hm);
    } else {
        for (char *s = (char *)bits_arg; *s && nb < 8;) {
            bits_list[nb++] = (int)strtol(s, &s, 10);
            if (*s == ',') s++;
        }
    }
    printf("# bench_hamming: n=%ld codes, %ld queries, K=%ld, bit noise p=2^-%d=%.4f, %d threads for the threaded scan\n",
           n, nq, K, noise, noise > 0 ? 1.0 / (1 << noise) : 0.0, threads);
    printf("# real codes: %ld videos (%s), hash %s\n", fl.n, fl.n ? "from the given features" : "NONE: random codes",
           hm ? vs_hashmodel_id(hm) : "lsh (random-projection LSH of the features, seed 1)");
    int rc = 0;
    for (int bi = 0; bi < nb; bi++) {
        int bits = bits_list[bi], W = bits / 64;
        long n_real = fl.n ? fl.n : 1000;
        uint64_t *real = calloc((size_t)n_real * W, sizeof *real);
        if (fl.n) {
            vs_hamming_lsh *l = NULL;
            if (!hm && vs_hamming_lsh_create(&l, bits, fl.v[0]->D, 1) != VS_OK) {
                fprintf(stderr, "bench_hamming: %s\n", vs_last_error());
                return 2;
            }
            for (long i = 0; i < fl.n; i++) {
                const vs_features *f = fl.v[i];
                vs_status s = hm ? vs_hashmodel_encode(hm, real + i * W, f->data, f->T, f->R, f->D)
                                 : vs_hamming_lsh_encode(l, real + i * W, f->data, f->T, f->R, f->D);
                if (s) {
                    fprintf(stderr, "bench_hamming: %s\n", vs_last_error());
                    return 2;
                }
            }
            vs_hamming_lsh_free(l);
        } else {
            for (long i = 0; i < n_real * W; i++) real[i] = xr();
        }
        /* distinct real codes and their typical spread */
        long distinct = 0;
        double mean_d = 0;
        long pairs = 0;
        for (long i = 0; i < n_real; i++) {
            int dup = 0;
            for (long j = 0; j < i && !dup; j++) dup = !memcmp(real + i * W, real + j * W, 8 * W);
            distinct += !dup;
            for (long j = 0; j < i; j++, pairs++) mean_d += vs_hamming_distance(real + i * W, real + j * W, W);
        }
        printf("# %d bits: %ld real codes, %ld distinct, mean pairwise distance %.1f\n", bits, n_real, distinct,
               pairs ? mean_d / pairs : 0.0);
        uint64_t *codes = malloc(sizeof *codes * (size_t)n * W);
        for (long i = 0; i < n; i++)
            for (int w = 0; w < W; w++) codes[i * W + w] = real[(i % n_real) * W + w] ^ noise_word(noise);
        uint64_t *qs = malloc(sizeof *qs * (size_t)2 * nq * W);
        for (long q = 0; q < nq; q++) {
            long r = (long)(xr() % n_real);
            for (int w = 0; w < W; w++) {
                qs[q * W + w] = real[r * W + w] ^ noise_word(noise); /* near */
                qs[(nq + q) * W + w] = xr();                          /* far */
            }
        }
        method ms[] = {
            {"scan ref (baseline)", "ref", VS_HAMMING_EXHAUSTIVE, 1, 0},
            {"scan popcnt", "popcnt", VS_HAMMING_EXHAUSTIVE, 1, 0},
            {"scan avx2", "avx2", VS_HAMMING_EXHAUSTIVE, 1, 0},
            {"scan avx512", "avx512", VS_HAMMING_EXHAUSTIVE, 1, 0},
            {"scan best x threads", NULL, VS_HAMMING_EXHAUSTIVE, threads, 0},
            {"mih (m auto)", NULL, VS_HAMMING_MIH, 1, 0},
            {"mih (m auto + 1)", NULL, VS_HAMMING_MIH, 1, -1},
            {"auto", NULL, VS_HAMMING_AUTO, 1, 0},
            {"auto x threads", NULL, VS_HAMMING_AUTO, threads, 0},
        };
        int n_m = (int)(sizeof ms / sizeof ms[0]);
        vs_hamming_hit *base = malloc(sizeof *base * 2 * nq * K), *hits = malloc(sizeof *hits * K);
        long *base_n = calloc(2 * nq, sizeof *base_n);
        int auto_m = 0;
        double base_ms[2] = {0, 0};
        printf("%-22s %6s | %10s %10s %10s | %10s %10s | %8s %8s\n", "method", "bits", "near mean", "near p50",
               "near p99", "far mean", "far p99", "x base", "build s");
        for (int mi = 0; mi < n_m; mi++) {
            method *m = &ms[mi];
            if (m->kernel && vs__hamming_use_kernel(m->kernel) != VS_OK) {
                printf("%-22s %6d | not supported by this CPU\n", m->name, bits);
                continue;
            }
            vs_hamming_params p = vs_hamming_default_params();
            p.method = m->method;
            p.n_threads = m->threads;
            p.n_substrings = m->m < 0 ? auto_m + 1 : 0;
            vs_hamming_index *h;
            vs_hamming_state *st;
            double tb = now_s();
            if (vs_hamming_index_create(&h, codes, NULL, n, bits, &p) != VS_OK || vs_hamming_state_create(&st, h) != VS_OK) {
                fprintf(stderr, "bench_hamming: %s\n", vs_last_error());
                return 2;
            }
            tb = now_s() - tb;
            if (m->method == VS_HAMMING_MIH && m->m == 0) auto_m = vs_hamming_index_substrings(h);
            double *lat = malloc(sizeof *lat * 2 * nq), mean[2] = {0, 0}, p50 = 0, p99[2] = {0, 0};
            long fell = 0, cands = 0;
            for (int set = 0; set < 2; set++) {
                for (long q = 0; q < nq; q++) {
                    const uint64_t *qq = qs + (set * nq + q) * W;
                    double best = 1e30;
                    long nh = 0;
                    for (int r = 0; r < reps; r++) {
                        double t0 = now_s();
                        vs_hamming_search(st, hits, &nh, qq, K);
                        double dt = now_s() - t0;
                        if (dt < best) best = dt;
                    }
                    vs_hamming_stats stt;
                    vs_hamming_last_stats(st, &stt);
                    fell += stt.fell_back;
                    cands += stt.n_candidates;
                    lat[set * nq + q] = best * 1e3;
                    mean[set] += best * 1e3 / nq;
                    long qi = set * nq + q;
                    if (mi == 0) {
                        memcpy(base + qi * K, hits, sizeof *hits * nh);
                        base_n[qi] = nh;
                    } else if (nh != base_n[qi] || memcmp(base + qi * K, hits, sizeof *hits * nh)) {
                        printf("MISMATCH: %s, %d bits, query %ld (%s)\n", m->name, bits, q, set ? "far" : "near");
                        rc = 1;
                    }
                }
                qsort(lat + set * nq, nq, sizeof *lat, cmp_d);
                if (!set) p50 = lat[nq / 2];
                p99[set] = lat[set * nq + (nq * 99) / 100 < (set + 1) * nq ? set * nq + (nq * 99) / 100 : (set + 1) * nq - 1];
            }
            if (mi == 0) {
                base_ms[0] = mean[0];
                base_ms[1] = mean[1];
            }
            printf("%-22s %6d | %8.3fms %8.3fms %8.3fms | %8.3fms %8.3fms | %7.1fx %8.2f\n", m->name, bits, mean[0], p50,
                   p99[0], mean[1], p99[1], base_ms[0] / mean[0], tb);
            printf("bench_hamming method=\"%s\" bits=%d n=%ld K=%ld noise=%d near_mean_ms=%.4f near_p50_ms=%.4f "
                   "near_p99_ms=%.4f far_mean_ms=%.4f far_p99_ms=%.4f speedup_near=%.2f speedup_far=%.2f "
                   "substrings=%d fallbacks=%ld mean_candidates=%.0f build_s=%.3f\n",
                   m->name, bits, n, K, noise, mean[0], p50, p99[0], mean[1], p99[1], base_ms[0] / mean[0],
                   base_ms[1] / mean[1], vs_hamming_index_substrings(h), fell, (double)cands / (2 * nq), tb);
            fflush(stdout);
            free(lat);
            vs_hamming_state_free(st);
            vs_hamming_index_free(h);
            vs__hamming_use_kernel(NULL);
        }
        free(base);
        free(base_n);
        free(hits);
        free(codes);
        free(qs);
        free(real);
    }
    for (long i = 0; i < fl.n; i++) vs_features_free(fl.v[i]);
    free(fl.v);
    vs_hashmodel_free(hm);
    return rc;
}
