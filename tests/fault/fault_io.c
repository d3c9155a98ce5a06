/*
 * fault_io.c - an LD_PRELOAD layer for the failure-injection tests
 * (tests/golden/test_fault_io_cli.sh): makes the N-th fsync/fdatasync of the process
 * fail, as a disk that cannot make data durable does, so that every durable write of
 * the index (feature files, their folder, SQLite's journal and database) is seen to
 * fail once. Not part of the library; built only for tests, never with sanitizers.
 *
 *   VS_FAULT_FSYNC=N      the N-th call (from 1) of fsync or fdatasync fails
 *   VS_FAULT_ERRNO=E      with errno E (default EIO)
 *   VS_FAULT_LOG=FILE     append "fsync N fd PATH" for every call (to count them)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long n_calls;

static int fault_here(int fd) {
    long n = atomic_fetch_add(&n_calls, 1) + 1;
    const char *log = getenv("VS_FAULT_LOG");
    if (log && *log) {
        char link[64], target[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(link, target, sizeof target - 1);
        target[k > 0 ? k : 0] = 0;
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "fsync %ld %d %s\n", n, fd, target);
            fclose(f);
        }
    }
    const char *at = getenv("VS_FAULT_FSYNC");
    if (!at || atol(at) != n) return 0;
    const char *e = getenv("VS_FAULT_ERRNO");
    errno = e && *e ? atoi(e) : EIO;
    return 1;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (fault_here(fd)) return -1;
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (fault_here(fd)) return -1;
    return real(fd);
}
