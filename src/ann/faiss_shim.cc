// faiss_shim.cc - the thin C++ translation unit between vidsim's C code (ann.c) and
// FAISS's C++ API: index_factory with the inner-product metric, train / add / search,
// search-time parameters through ParameterSpace, (de)serialisation, and read-only views
// of an IVF-SQ8 index's centroids, trained ranges and lists for vidsim's own scan (ann.c).
// Every FAISS exception is caught here and comes back as -1 (or NULL) with its message.
#include "ann/ann_internal.h"

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/invlists/InvertedLists.h>
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

int vs__faiss_ivfsq8(const void *ix, vs__ivfsq8 *out) {
    const auto *iv = dynamic_cast<const faiss::IndexIVFScalarQuantizer *>(static_cast<const faiss::Index *>(ix));
    if (!iv || !iv->is_trained || iv->metric_type != faiss::METRIC_INNER_PRODUCT ||
        iv->sq.qtype != faiss::ScalarQuantizer::QT_8bit || iv->code_size != static_cast<size_t>(iv->d) ||
        iv->sq.trained.size() != 2 * static_cast<size_t>(iv->d))
        return 0;
    const auto *fq = dynamic_cast<const faiss::IndexFlat *>(iv->quantizer);
    if (!fq || fq->metric_type != faiss::METRIC_INNER_PRODUCT ||
        fq->ntotal != static_cast<faiss::Index::idx_t>(iv->nlist) ||
        !dynamic_cast<const faiss::ArrayInvertedLists *>(iv->invlists))
        return 0;
    out->ix = ix;
    out->d = iv->d;
    out->nlist = static_cast<long>(iv->nlist);
    out->nprobe = static_cast<long>(iv->nprobe);
    out->by_residual = iv->by_residual ? 1 : 0;
    out->centroids = fq->get_xb();
    out->vmin = iv->sq.trained.data();
    out->vdiff = iv->sq.trained.data() + iv->d;
    return 1;
}

long vs__faiss_list(const void *ix, long l, const uint8_t **codes, const int64_t **ids) {
    const auto *iv = dynamic_cast<const faiss::IndexIVF *>(static_cast<const faiss::Index *>(ix));
    if (!iv) return 0;
    *codes = iv->invlists->get_codes(static_cast<size_t>(l));
    *ids = reinterpret_cast<const int64_t *>(iv->invlists->get_ids(static_cast<size_t>(l)));
    return static_cast<long>(iv->invlists->list_size(static_cast<size_t>(l)));
}

} // extern "C"
