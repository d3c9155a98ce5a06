/*
 * vidsim.h - umbrella header of the vidsim library: includes vidsim/base.h (version,
 * status codes, the per-thread error message, log and allocator hooks, vs_free, the
 * BLAS thread count) and every module header, so an application can include just
 * this. Each module header also stands alone (it includes only base.h and the module
 * headers below it, docs/architecture.md); none includes this file.
 *
 * vidsim finds near-duplicate and copied videos. Every call returns a vs_status;
 * on failure vs_last_error() gives a message that names the input and the reason.
 *
 * Thread safety: every function may be called from any thread. vs_last_error() is
 * thread-local. vs_log_set(), vs_alloc_set() and vs_blas_set_threads() must be called
 * before any other call (docs/threading.md).
 *
 * Example:
 *     #include "vidsim/vidsim.h"
 *     vs_status st = vs_some_call(...);
 *     if (st != VS_OK) fprintf(stderr, "error: %s\n", vs_last_error());
 */
#ifndef VIDSIM_VIDSIM_H
#define VIDSIM_VIDSIM_H

#include "vidsim/base.h"

#include "vidsim/ann.h"
#include "vidsim/augment.h"
#include "vidsim/backbone.h"
#include "vidsim/batch.h"
#include "vidsim/bindings.h"
#include "vidsim/clipmodel.h"
#include "vidsim/decode.h"
#include "vidsim/dist.h"
#include "vidsim/eval.h"
#include "vidsim/features.h"
#include "vidsim/hamming.h"
#include "vidsim/hashmodel.h"
#include "vidsim/index.h"
#include "vidsim/inset.h"
#include "vidsim/localize.h"
#include "vidsim/norm.h"
#include "vidsim/quant.h"
#include "vidsim/search.h"
#include "vidsim/simmodel.h"
#include "vidsim/train.h"

#endif /* VIDSIM_VIDSIM_H */
