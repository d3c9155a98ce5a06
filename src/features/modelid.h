/*
 * modelid.h - internal to the library: the extractor of a model id without the
 * final id check (src/search keeps an extractor whose files give another id, as the
 * CLI always has, and checks each query's features instead). Not installed.
 */
#ifndef VS_FEATURES_MODELID_H
#define VS_FEATURES_MODELID_H

#include "vidsim/features.h"

/* vs_extractor_load_for_model without the check that the files give model_id. */
vs_status vs__extractor_load_model(vs_extractor **out, const vs_model_locator *models, const char *model_id,
                                   const char *pca_override, const vs_extract_params *p);

#endif
