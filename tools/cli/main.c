/*
 * main.c - the vidsim command-line tool: a table of subcommands, each in its own
 * cmd_<name>.c, all thin users of the public API in include/vidsim/.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; int (*fn)(int, char **); const char *help; } cmds[] = {
#define VS_CMD(name, fn, help) {name, fn, help},
#include "commands.def"
#undef VS_CMD
};

static void usage(FILE *f) {
    fprintf(f, "vidsim %s - find near-duplicate and copied videos\n\nusage: vidsim COMMAND [options]\n\ncommands:\n",
            vs_version());
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
    fprintf(f, "\n'vidsim COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vidsim %s\n", vs_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vidsim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
