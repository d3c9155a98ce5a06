/*
 * load_model.c - the extractor that reproduces a model id (vs_extractor_load_for_model,
 * features.h; vs__extractor_load_model, modelid.h): the bundled weights of the id's
 * backbone and its whitening, found through a model locator. Above both the model id
 * value (modelid.c) and the extractor (extract.c), so neither needs the other's file.
 */
#include "features/modelid.h"
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

/* The calibration file p names when the id is int8 (then it is read instead of the
 * bundled one, whatever p->precision: the id's precision wins), else NULL. */
static const char *given_calib(const vs_extract_params *p, const vs_model_id *id) {
    return p && p->calib_path && id->precision == VS_PRECISION_INT8 ? p->calib_path : NULL;
}

static vs_status load_files(vs_extractor **out, const vs_model_locator *models, const char *model_id,
                            const char *pca_override, const vs_extract_params *p) {
    *out = NULL;
    vs_model_id id;
    char wn[64], pn[64], cn[64], wpath[4096], ppath[4096], cpath[4096];
    if (vs_model_id_parse(&id, model_id) != VS_OK ||
        vs_model_files_calib(id.backbone, wn, sizeof wn, pn, sizeof pn, cn, sizeof cn))
        return vs__err(VS_ERR_UNSUPPORTED, "index model %s: unknown backbone", model_id ? model_id : "");
    /* the files are looked up (a locator may report a missing one) before loading */
    vs_model_locate(models, wn, wpath, sizeof wpath);
    vs_model_locate(models, pn, ppath, sizeof ppath);
    if (pca_override) snprintf(ppath, sizeof ppath, "%s", pca_override);
    /* the id's precision wins over p's: queries are extracted as the index was */
    vs_extract_params ep = p ? *p : vs_extract_default_params();
    ep.precision = id.precision;
    if (id.precision == VS_PRECISION_INT8 && !given_calib(p, &id)) {
        vs_model_locate(models, cn, cpath, sizeof cpath);
        ep.calib_path = cpath;
    }
    return vs_extractor_load(out, wpath, id.pca ? ppath : NULL, &ep);
}

/* Earlier bundled whitenings of a backbone, for indexes made with them: the bundled
 * pca_<backbone>.vstf became the PCA with the learned whitening folded in (session 14,
 * docs/features.md "The learned whitening"); the plain PCA it replaced is kept as
 * pca_<backbone>.v1.vstf. An id that the current file does not give is tried against
 * these, in order. */
static const char *const LEGACY_PCA[][2] = {{"inception_v3", "pca_inception_v3.v1.vstf"}};

vs_status vs__extractor_load_model(vs_extractor **out, const vs_model_locator *models, const char *model_id,
                                   const char *pca_override, const vs_extract_params *p) {
    vs_status s = load_files(out, models, model_id, pca_override, p);
    vs_model_id lid;
    if (s || pca_override || !strcmp(vs_extractor_model_id(*out), model_id) ||
        vs_model_id_parse(&lid, model_id) != VS_OK || !lid.pca)
        return s;
    for (size_t k = 0; k < sizeof LEGACY_PCA / sizeof *LEGACY_PCA; k++) {
        char path[4096];
        vs_extractor *ex = NULL;
        if (strcmp(LEGACY_PCA[k][0], lid.backbone) || vs_model_locate(models, LEGACY_PCA[k][1], path, sizeof path))
            continue;
        if (load_files(&ex, models, model_id, path, p) == VS_OK && !strcmp(vs_extractor_model_id(ex), model_id)) {
            vs_extractor_free(*out);
            *out = ex;
            return VS_OK;
        }
        vs_extractor_free(ex);
    }
    return VS_OK; /* the current files' extractor: the caller checks the id */
}

vs_status vs_extractor_load_for_model(vs_extractor **out, const vs_model_locator *models, const char *model_id,
                                      const char *pca_override, const vs_extract_params *p) {
    vs_status s = vs__extractor_load_model(out, models, model_id, pca_override, p);
    if (s) return s;
    if (strcmp(vs_extractor_model_id(*out), model_id) != 0) {
        vs_model_id id; /* parsed by vs__extractor_load_model already */
        const char *calib = vs_model_id_parse(&id, model_id) == VS_OK ? given_calib(p, &id) : NULL;
        if (calib) /* the calibration given was read (vs__extractor_load_model) */
            s = vs__err(VS_ERR_INVALID_ARG, "the index was built with model %s, the int8 calibration %s gives %s "
                                            "(the calibration the index was added with is needed)",
                        model_id, calib, vs_extractor_model_id(*out));
        else
            s = vs__err(VS_ERR_INVALID_ARG, "the index was built with model %s, the bundled files give %s (pass --pca)",
                        model_id, vs_extractor_model_id(*out));
        vs_extractor_free(*out);
        *out = NULL;
    }
    return s;
}
