/*
 * modelid.c - the model id as a value: parse and format "BACKBONE/CROP/pcaD/HASH",
 * the bundled file names of a backbone and finding model files (features.h). The id
 * string itself is built by the extractor (extract.c) through vs_model_id_format; the
 * extractor that reproduces an id is loaded in load_model.c.
 */
#include "features/modelid.h"
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A decimal int >= 0 at *s, advancing it; -1 if none. */
static long parse_uint(const char **s) {
    const char *p = *s;
    long v = 0;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9' && v < 100000000) v = v * 10 + (*p++ - '0');
    *s = p;
    return v;
}

vs_status vs_model_id_parse(vs_model_id *out, const char *s) {
    memset(out, 0, sizeof *out);
    if (!s) return vs__err(VS_ERR_INVALID_ARG, "model id: NULL");
    const char *slash = strchr(s, '/');
    size_t nb = slash ? (size_t)(slash - s) : 0;
    if (!slash || nb == 0 || nb >= sizeof out->backbone) goto bad;
    vs_model_id id;
    memset(&id, 0, sizeof id);
    memcpy(id.backbone, s, nb);
    char *dash = strrchr(id.backbone, '-');
    if (dash) { /* precision suffix: -int8 / -bf16 (fp32 has none) */
        int pr = vs_precision_parse(dash + 1);
        if (pr <= VS_PRECISION_FP32 || dash == id.backbone) goto bad;
        id.precision = pr;
        *dash = 0;
    }
    const char *p = slash + 1;
    long crop = parse_uint(&p);
    if (crop <= 0 || *p++ != '/') goto bad;
    if (!strncmp(p, "pca", 3)) id.pca = 1;
    else if (strncmp(p, "raw", 3)) goto bad;
    p += 3;
    long dim = parse_uint(&p);
    if (dim <= 0 || *p++ != '/') goto bad;
    char *end = NULL;
    if (strlen(p) != 8 || strspn(p, "0123456789abcdef") != 8) goto bad;
    unsigned long h = strtoul(p, &end, 16);
    id.crop = (int)crop;
    id.dim = (int)dim;
    id.hash = (uint32_t)h;
    *out = id;
    return VS_OK;
bad:
    return vs__err(VS_ERR_FORMAT, "model id '%s' is not BACKBONE[-int8|-bf16]/CROP/pcaD/HASH", s);
}

int vs_model_id_format(const vs_model_id *id, char *buf, size_t n) {
    const char *pr = id->precision != VS_PRECISION_FP32 ? vs_precision_name(id->precision) : NULL;
    return snprintf(buf, n, "%s%s%s/%d/%s%d/%08x", id->backbone, pr ? "-" : "", pr ? pr : "", id->crop,
                    id->pca ? "pca" : "raw", id->dim, (unsigned)id->hash);
}

vs_status vs_model_files(const char *backbone, char *weights, size_t nw, char *pca, size_t np) {
    return vs_model_files_calib(backbone, weights, nw, pca, np, NULL, 0);
}

vs_status vs_model_files_calib(const char *backbone, char *weights, size_t nw, char *pca, size_t np,
                               char *calib, size_t nc) {
    const char *base = !backbone ? NULL
                       : !strcmp(backbone, "mobilenet") || !strcmp(backbone, "mobilenet_v2") ? "mobilenet_v2"
                       : !strcmp(backbone, "inception") || !strcmp(backbone, "inception_v3") ? "inception_v3"
                                                                                              : NULL;
    if (!base) return vs__err(VS_ERR_UNSUPPORTED, "unknown backbone '%s'", backbone ? backbone : "");
    if (weights) snprintf(weights, nw, "%s.vstf", base);
    if (pca) snprintf(pca, np, "pca_%s.vstf", base);
    if (calib) snprintf(calib, nc, "calib_%s.vstf", base);
    return VS_OK;
}

int vs_model_locate(const vs_model_locator *loc, const char *name, char *path, size_t n) {
    if (loc && loc->find) return loc->find(loc->user, name, path, n);
    snprintf(path, n, "%s/%s", loc && loc->dir ? loc->dir : "models", name);
    return access(path, R_OK) == 0 ? 0 : -1;
}
