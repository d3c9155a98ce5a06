/*
 * fuzz_index.c - libFuzzer target for the catalogue open path (src/index: vs_index_open
 * on a damaged catalogue.sqlite, then every read a search or `index ls/verify` makes of
 * it: info, rows, extras kinds and arrays, verdicts, a read-only verify). The input is
 * the catalogue file's bytes, written into a scratch index folder (with an empty
 * features/ and no WAL or shared-memory file left from the input before). Seeds: small
 * catalogues written by vidsim itself (tests/fuzz/make_corpus.sh), vacuumed to 512-byte
 * pages so that mutations land in the b-tree pages and the schema.
 * Not here: the feature files a row names (fuzz_featfile), SQLite's own parser as such
 * (OSS-Fuzz fuzzes it); what is ours is the schema, meta and blob checks around it.
 */
#include "fuzz.h"

#include "vidsim/index.h"

#include <sys/stat.h>

static char dir_buf[4096], cat_buf[4200];

static const char *scratch_index(void) {
    if (!dir_buf[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir_buf, sizeof dir_buf, "%s/vs_fuzz_index_XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir_buf)) {
            perror("fuzz: mkdtemp");
            exit(2);
        }
        char f[4300];
        snprintf(f, sizeof f, "%s/features", dir_buf);
        mkdir(f, 0700);
        snprintf(cat_buf, sizeof cat_buf, "%s/catalogue.sqlite", dir_buf);
    }
    return dir_buf;
}

static void cleanup(void) {
    char p[4400];
    const char *tails[] = {"-wal", "-shm", "-journal", ""};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", cat_buf, tails[i]);
        unlink(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 18)) return 0;
    const char *dir = scratch_index();
    cleanup();
    FILE *f = fopen(cat_buf, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: write catalogue");
        exit(2);
    }
    vs_index *idx = NULL;
    if (fuzz_note("vs_index_open", vs_index_open(&idx, dir, VS_INDEX_READONLY)) != VS_OK) {
        cleanup();
        return 0;
    }
    volatile long sink = 0;
    vs_index_info info;
    if (fuzz_note("vs_index_get_info", vs_index_get_info(idx, &info)) == VS_OK) sink += (long)sizeof info;
    vs_index_entries *es = NULL;
    if (fuzz_note("vs_index_list", vs_index_list(idx, NULL, &es)) == VS_OK) {
        sink += es->n;
        vs_index_entries_free(es);
    }
    vs_index_extra_kinds *k = NULL;
    if (fuzz_note("vs_index_list_extra_kinds", vs_index_list_extra_kinds(idx, &k)) == VS_OK) {
        for (long i = 0; i < k->n && i < 8; i++) {
            vs_index_extras *x = NULL;
            if (fuzz_note("vs_index_load_extras", vs_index_load_extras(idx, k->v[i].kind, k->v[i].model_id, &x)) ==
                VS_OK) {
                for (long j = 0; j < x->n; j++) {
                    const vs_index_extra *e = &x->v[j];
                    size_t w = e->dtype == VS_INDEX_U8 ? 1 : e->dtype == VS_INDEX_U64 ? 8 : 4;
                    const unsigned char *b = e->data;
                    size_t nb = (size_t)e->n_rows * (size_t)e->n_cols * w;
                    for (size_t q = 0; q < nb; q++) sink += b[q];
                }
                vs_index_extras_free(x);
            }
        }
        vs_index_extra_kinds_free(k);
    }
    vs_index_verdicts *v = NULL;
    if (fuzz_note("vs_index_list_verdicts", vs_index_list_verdicts(idx, &v)) == VS_OK) {
        sink += v->n;
        vs_index_verdicts_free(v);
    }
    vs_index_report *r = NULL;
    if (fuzz_note("vs_index_verify", vs_index_verify(idx, 0, &r)) == VS_OK) sink += r->n_problems;
    vs_index_report_free(r);
    (void)sink;
    vs_index_close(idx);
    cleanup();
    return 0;
}
