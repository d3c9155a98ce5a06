// faiss_shim.cc - the thin C++ translation unit between vidsim's C code (ann.c) and
// FAISS's C++ API: index_factory with the inner-product metric, train / add / search,
// search-time parameters through ParameterSpace, (de)serialisation. Every FAISS
// exception is caught here and comes back as -1 (or NULL) with its message.
#include "ann/ann_internal.h"

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

namespace {
void put_err(char *err, size_t n, const char *what) {
    if (err && n) std::snprintf(err, n, "%s", what);
}
} // namespace

#define VS__TRY(...)                                                                                               \
    try {                                                                                                          \
        __VA_ARGS__;                                                                                               \
    } catch (const std::exception &e) {                                                                            \
        put_err(err, n_err, e.what());                                                                             \
        return -1;                                                                                                 \
    } catch (...) {                                                                                                \
        put_err(err, n_err, "unknown FAISS error");                                                                \
        return -1;                                                                                                 \
    }

extern "C" {

void *vs__faiss_create(int d, const char *factory, char *err, size_t n_err) {
    try {
        return faiss::index_factory(d, factory, faiss::METRIC_INNER_PRODUCT);
    } catch (const std::exception &e) {
        put_err(err, n_err, e.what());
    } catch (...) {
        put_err(err, n_err, "unknown FAISS error");
    }
    return nullptr;
}

void vs__faiss_free(void *ix) { delete static_cast<faiss::Index *>(ix); }

int vs__faiss_is_trained(const void *ix) { return static_cast<const faiss::Index *>(ix)->is_trained ? 1 : 0; }

int vs__faiss_dim(const void *ix) { return static_cast<const faiss::Index *>(ix)->d; }

long vs__faiss_ntotal(const void *ix) { return static_cast<long>(static_cast<const faiss::Index *>(ix)->ntotal); }

int vs__faiss_train(void *ix, long n, const float *x, char *err, size_t n_err) {
    VS__TRY(static_cast<faiss::Index *>(ix)->train(n, x));
    return 0;
}

int vs__faiss_add(void *ix, long n, const float *x, char *err, size_t n_err) {
    VS__TRY(static_cast<faiss::Index *>(ix)->add(n, x));
    return 0;
}

int vs__faiss_set(void *ix, const char *params, char *err, size_t n_err) {
    VS__TRY(faiss::ParameterSpace().set_index_parameters(static_cast<faiss::Index *>(ix), params));
    return 0;
}

int vs__faiss_search(const void *ix, long nq, const float *q, long k, float *scores, int64_t *ids, char *err,
                     size_t n_err) {
    static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "faiss::Index::idx_t is 64-bit");
    VS__TRY(static_cast<const faiss::Index *>(ix)->search(nq, q, k, scores, reinterpret_cast<faiss::Index::idx_t *>(ids)));
    return 0;
}

int vs__faiss_serialize(const void *ix, unsigned char **buf, size_t *len, char *err, size_t n_err) {
    *buf = nullptr;
    *len = 0;
    VS__TRY({
        faiss::VectorIOWriter w;
        faiss::write_index(static_cast<const faiss::Index *>(ix), &w);
        unsigned char *b = static_cast<unsigned char *>(std::malloc(w.data.size() ? w.data.size() : 1));
        if (!b) throw std::bad_alloc();
        if (!w.data.empty()) std::memcpy(b, w.data.data(), w.data.size());
        *buf = b;
        *len = w.data.size();
    });
    return 0;
}

void *vs__faiss_read(const char *path, char *err, size_t n_err) {
    try {
        return faiss::read_index(path);
    } catch (const std::exception &e) {
        put_err(err, n_err, e.what());
    } catch (...) {
        put_err(err, n_err, "unknown FAISS error");
    }
    return nullptr;
}

} // extern "C"
