/*
 * main.c - the vidsim command-line tool: a table of subcommands, each in its own
 * cmd_<name>.c, all thin users of the public API in include/vidsim/. After the
 * command returns, main checks that its standard output really reached the file:
 * any write error (a full disk, a closed pipe with SIGPIPE ignored, an I/O error on
 * close) is reported once as "vidsim CMD: cannot write output: REASON" and the exit
 * status becomes 1 (docs/errors.md), whichever command wrote the output. Under mpirun
 * (dist.h, docs/mpi.md) MPI starts and ends here, and only rank 0's output is kept.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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
    if (vs_dist_available())
        fprintf(f, "MPI: yes (mpirun -np N vidsim index add|search|dedup; docs/mpi.md)\n");
    else
        fprintf(f, "MPI: no (this vidsim was built without MPI support: it runs in one process; docs/mpi.md)\n");
    const char *isa = vs_backbone_isa();
    fprintf(f, "Backbone: %s%s; default precision %s for inception, %s for mobilenet\n"
               "  (new indexes and extract; an index keeps the precision of its model id; docs/backbone.md)\n",
            strcmp(isa, "none") ? "oneDNN " : "built without oneDNN", strcmp(isa, "none") ? isa : "", vs_precision_name(vs_backbone_default_precision("inception")),
            vs_precision_name(vs_backbone_default_precision("mobilenet")));
    fprintf(f, "Similarity: frame-to-frame products in %s (search, dedup, compare; search --sim-precision;\n"
               "  docs/simmodel.md)\n", vs_precision_name(vs_simmodel_default_precision()));
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) return cli_usage_error(NULL, "no COMMAND given");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || (!strcmp(argv[1], "help") && argc == 2)) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vidsim %s\n", vs_version());
        return 0;
    }
    /* `vidsim help CMD [SUB]` is `vidsim CMD [SUB] --help` */
    char *hargv[4];
    if (!strcmp(argv[1], "help")) {
        if (argc > 4 || (argc == 4 && strcmp(argv[2], "index")))
            return cli_usage_error("help", "unexpected argument '%s'", argv[argc - 1]);
        hargv[0] = argv[0];
        hargv[1] = argv[2];
        hargv[2] = argc == 4 ? argv[3] : "--help";
        hargv[3] = argc == 4 ? "--help" : NULL;
        argv = hargv;
        argc = argc == 4 ? 4 : 3;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name)) continue;
        /* "index" has subcommands: name them in messages ("vidsim index ls: ...") */
        int sub = !strcmp(argv[1], "index") && argc > 2 && argv[2][0] != '-';
        cli_set_command(argv[1], sub ? argv[2] : NULL);
        /* over several MPI ranks (docs/mpi.md): only the commands that split their work */
        if (vs_dist_size() > 1 && strcmp(argv[1], "search") && strcmp(argv[1], "dedup") &&
            !(sub && !strcmp(argv[2], "add"))) {
            if (vs_dist_rank() == 0)
                fprintf(stderr, "%s: does not run over several MPI ranks (only index add, search and dedup do; "
                                "docs/mpi.md): run it without mpirun\n", cli_command());
            return 2;
        }
        return cmds[i].fn(argc - 1, argv + 1);
    }
    return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
}

/* Standard output goes through a cookie stream whose write function records the
 * first write error's errno: stdio drops the buffer and keeps only the error flag
 * when a flush fails (a command's own fflush, or a worker thread's), so by the time
 * main checks ferror() the reason would otherwise be lost. */
static int out_errno;  /* first failed write(2) on fd 1, 0 if none */
static int out_closed; /* fd 1 was closed when vidsim started */

static ssize_t out_write(void *cookie, const char *buf, size_t n) {
    (void)cookie;
    size_t done = 0;
    if (out_closed) {
        out_errno = EBADF;
        return 0;
    }
    while (done < n) {
        ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
        /* a signal whose handler returns (cli_stop_begin's): write the rest, unless it
         * asked to stop, where a reader that stopped reading must not hold us */
        if (w < 0 && errno == EINTR && !cli_stop_requested()) continue;
        if (w <= 0) {
            if (!out_errno) out_errno = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    return (ssize_t)done; /* short: stdio sets the stream's error flag */
}

/* Flushes and closes standard output; returns 0, or the errno of the first failure. */
static int close_stdout(FILE *real) {
    int err = 0;
    if (fflush(stdout) != 0) err = errno;
    if (ferror(stdout) && !err) err = EIO;
    if (stdout != real) {
        if (fclose(stdout) != 0 && !err) err = errno;
        stdout = real; /* untouched since main began: nothing buffered in it */
    }
    if (out_errno) err = out_errno; /* the real reason, when the cookie saw it */
    /* closing fd 1 reports delayed write errors (NFS, quota) */
    if (fclose(real) != 0 && !err) err = errno;
    return err;
}

/* A standard descriptor closed by the caller (`vidsim ... >&-`) would be handed to
 * the next file opened (the index catalogue, a feature file) and output or messages
 * would be written into it: hold each on /dev/null instead. Writes to a closed
 * stdout still fail (EBADF, out_closed), so the loss is reported. */
static void hold_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int nfd = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
        if (nfd >= 0 && nfd != fd) close(nfd); /* lower ones are open, so nfd == fd */
        if (nfd == fd && fd == 1) out_closed = 1;
    }
}

int main(int argc, char **argv) {
    hold_std_fds();
    /* MPI when started by mpirun (docs/mpi.md); a vidsim without it refuses N ranks */
    if (vs_dist_init(&argc, &argv) != VS_OK) {
        fprintf(stderr, "vidsim: %s\n", vs_last_error());
        return 2;
    }
    if (vs_dist_rank() > 0) { /* results are rank 0's to print */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0 && nul != STDOUT_FILENO) {
            dup2(nul, STDOUT_FILENO);
            close(nul);
        }
    }
    FILE *real = stdout;
    cookie_io_functions_t io = {.write = out_write};
    FILE *out = fopencookie(NULL, "w", io);
    if (out) {
        /* the buffering stdio would give fd 1: by line on a terminal, else by block */
        setvbuf(out, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
        stdout = out;
    }
    int rc = dispatch(argc, argv);
    int err = close_stdout(real);
    if (err) {
        fprintf(stderr, "%s: cannot write output: %s\n", cli_command(), strerror(err));
        if (!rc) rc = 1;
    }
    if (!rc && cli_inputs_refused()) rc = 1;
    return vs_dist_finish(rc); /* every rank exits with the worst rank's status */
}
