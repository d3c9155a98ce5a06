/*
 * hasher.c - see hasher.h: the printing around vs_hasher_open and
 * vs_hasher_store_codes (search.h) for `index hash` and `index add --hash-model`.
 */
#define _POSIX_C_SOURCE 200809L
#include "hasher.h"
#include "search_print.h"

#include <stdio.h>
#include <string.h>

int cli_hasher_open(cli_hasher *h, const char *cmd, const char *spec, vs_index *idx) {
    memset(h, 0, sizeof *h);
    vs_model_locator models = cli_models();
    if (vs_hasher_open(&h->h, spec, idx, &models) != VS_OK) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        return 1;
    }
    return 0;
}

void cli_hasher_close(cli_hasher *h) {
    vs_hasher_free(h->h);
    memset(h, 0, sizeof *h);
}

typedef struct pass_ui {
    const char *cmd;
    cli_progress prog;
} pass_ui;

static void on_progress(void *user, long done, long total) {
    pass_ui *u = user;
    cli_progress_update(&u->prog, (double)done, (double)total, "");
}

static void on_failed(void *user, const char *path, const char *why) {
    pass_ui *u = user;
    cli_progress_end(&u->prog);
    fprintf(stderr, "vidsim %s: %s: %s\n", u->cmd, path, why);
}

int cli_hash_index(vs_index *idx, const char *cmd, const cli_hasher *h, int jobs, int force) {
    pass_ui u;
    u.cmd = cmd;
    cli_progress_init(&u.prog, "videos");
    vs_hash_store_params p = {jobs, force, on_progress, on_failed, &u};
    vs_hash_store_stats st;
    double t0 = cli_now();
    vs_status s = vs_hasher_store_codes(idx, h->h, &p, &st);
    cli_progress_end(&u.prog);
    if (s != VS_OK) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        return 1;
    }
    fprintf(stderr, "%s: %s codes (%d bits): %ld computed, %ld already stored, %ld failed of %ld videos in %.1f s\n",
            vs_index_dir(idx), vs_hasher_id(h->h), vs_hasher_bits(h->h), st.computed, st.kept, st.failed, st.n_ok,
            cli_now() - t0);
    return st.failed ? 1 : 0;
}
