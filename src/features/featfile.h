/*
 * featfile.h - private: the fields that every version of the per-video feature file
 * shares (docs/formats.md "VSF"): the header's common part and the checksum, written and
 * read in one place for the float files (featfile.c) and the compressed ones
 * (src/index/cfeat.c).
 */
#ifndef VS_FEATURES_FEATFILE_H
#define VS_FEATURES_FEATFILE_H

#include "core/internal.h"
#include "vidsim/features.h"
#include "vidsim/inset.h"

#define VS__FF_MAGIC "VSFEAT01"
#define VS__FF_HASH_OFF 72 /* the checksum's place in the header */

/* FNV-1a 64 of header bytes [0, 72) and [80, hsize), then the data [n1] and the times [n2]. */
uint64_t vs__ff_checksum(const unsigned char *hdr, size_t hsize, const void *data, size_t n1, const void *times,
                         size_t n2);
/* Write the common fields of f into hdr (zeroed, hsize bytes): magic, version, header
 * size, T, R, D, dtype, fps, duration, source size / mtime / hash, damaged count, model id
 * and the source path's length plen (offsets 0..155); not the checksum. */
void vs__ff_put_common(unsigned char *hdr, uint32_t version, size_t hsize, uint32_t dtype, const vs_features *f,
                       size_t plen);
/* Read the fields after T, R, D (fps .. model id) from header m into f. */
void vs__ff_get_common(vs_features *f, const unsigned char *m);
/* vs_extract_params.mirror_view of ex (extract.c): whether its features carry the mirror
 * view, so that a feature file without the block is out of date (extract_many.c). */
int vs__extractor_mirror_view(const vs_extractor *ex);
/* vs_extract_params.inset_view of ex: whether its features carry the probe's result and
 * the inset view, so that a feature file without the inset block is out of date. */
int vs__extractor_inset_view(const vs_extractor *ex);
/* Whether f's inset block is this build's: probed, by this detector version
 * (VS_INSET_DETECTOR). A file without it is out of date for `extract --inset-view on`
 * (extract_many.c); a probed one that is not is searched as stored, with a note
 * (search/common.c). */
static inline int vs__inset_current(const vs_features *f) {
    return f->inset_probed && f->inset_detector == VS_INSET_DETECTOR;
}

#endif
