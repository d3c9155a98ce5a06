/*
 * cmd_verdict.c - `vidsim verdict set|get|ls --index DIR`: a reviewer's verdict on a
 * pair of indexed videos (duplicate, not_duplicate, or none to clear it), stored in the
 * index's catalogue (index.h verdicts; the same table `vidsim serve` writes). Pairs
 * marked not_duplicate are left out by `vidsim dedup --hide-rejected` and by the
 * server unless asked for. Output for machines: CSV with a header (ls).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/index.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f) {
    fputs("usage: vidsim verdict set --index DIR A B duplicate|not_duplicate|none\n"
          "       vidsim verdict get --index DIR A B\n"
          "       vidsim verdict ls --index DIR\n"
          "  A and B are indexed names (as search prints them); the pair is unordered.\n"
          "  set stores the verdict (none clears it), each in its own transaction; get prints\n"
          "  it; ls prints every stored one as CSV a,b,verdict,set (UTC, ISO 8601).\n"
          "  not_duplicate pairs are hidden by `vidsim dedup --hide-rejected` and `vidsim serve`.\n",
          f);
}

int cmd_verdict(int argc, char **argv) {
    static const char *const opts[] = {"--index", NULL};
    if (cli_wants_help(argc, argv, opts)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2) return cli_usage_error("verdict", "no COMMAND given (set, get or ls)");
    const char *sub = argv[1], *dir = NULL, *pos[3];
    int npos = 0;
    if (strcmp(sub, "set") && strcmp(sub, "get") && strcmp(sub, "ls"))
        return cli_usage_error("verdict", "unknown command '%s' (set, get or ls)", sub);
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        if (cli_opt_arg("verdict", argc, argv, &i, opts, &v)) return 2;
        if (v) dir = v;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_unknown_option("verdict", argv[i]);
        else if (npos < 3) pos[npos++] = argv[i];
        else return cli_unknown_option("verdict", argv[i]);
    }
    if (!dir) return cli_usage_error("verdict", "--index DIR is required");
    const int want = !strcmp(sub, "set") ? 3 : !strcmp(sub, "get") ? 2 : 0;
    if (npos != want)
        return cli_usage_error("verdict", "%s takes %s", sub,
                               want == 3 ? "A B and a verdict (duplicate, not_duplicate or none)"
                               : want == 2 ? "A and B" : "no names");
    vs_verdict vd = VS_VERDICT_NONE;
    if (want == 3 && (int)(vd = vs_verdict_parse(pos[2])) < 0)
        return cli_usage_error("verdict", "the verdict must be duplicate, not_duplicate or none, got '%s'", pos[2]);
    vs_index *idx = NULL;
    int rc = 1;
    if (vs_index_open(&idx, dir, want == 3 ? 0 : VS_INDEX_READONLY) != VS_OK) goto fail;
    if (want == 3) {
        if (vs_index_check_writable(idx) != VS_OK || vs_index_set_verdict(idx, pos[0], pos[1], vd) != VS_OK) goto fail;
        rc = 0;
    } else if (want == 2) {
        vs_verdict got;
        if (vs_index_get_verdict(idx, pos[0], pos[1], &got) != VS_OK) goto fail;
        printf("%s\n", vs_verdict_name(got));
        rc = 0;
    } else {
        vs_index_verdicts *l = NULL;
        if (vs_index_list_verdicts(idx, &l) != VS_OK) goto fail;
        puts("a,b,verdict,set");
        for (long k = 0; k < l->n; k++) {
            char when[32] = "";
            time_t t = (time_t)(l->v[k].set_ns / 1000000000);
            struct tm tm;
            if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            cli_csv_str(stdout, l->v[k].a);
            fputc(',', stdout);
            cli_csv_str(stdout, l->v[k].b);
            printf(",%s,%s\n", vs_verdict_name(l->v[k].verdict), when);
        }
        vs_index_verdicts_free(l);
        rc = 0;
    }
    vs_index_close(idx);
    return fflush(stdout) ? 1 : rc;
fail:
    fprintf(stderr, "vidsim verdict %s: %s\n", sub, vs_last_error());
    vs_index_close(idx);
    return 1;
}
