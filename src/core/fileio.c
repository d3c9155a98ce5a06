/*
 * fileio.c - checked whole-file reads and atomic writes (temporary file, fsync,
 * rename, fsync of the directory), so that a killed process never leaves a
 * half-written index, model or feature file behind.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

vs_status vs__read_file(const char *path, unsigned char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return vs__err(VS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return vs__err(VS_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = vs__malloc(n + 1);
    if (!buf) {
        fclose(f);
        return vs__err(VS_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    if (n && fread(buf, 1, n, f) != n) {
        vs__free(buf);
        fclose(f);
        return vs__err(VS_ERR_IO, "%s: short read", path);
    }
    fclose(f);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return VS_OK;
}

vs_status vs__open_regular(const char *path, int *fd, uint64_t *size, int64_t *mtime_ns) {
    *fd = open(path, O_RDONLY);
    if (*fd < 0) return vs__err(VS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(*fd);
        *fd = -1;
        return vs__err(VS_ERR_IO, "%s: not a regular file", path);
    }
    if (size) *size = (uint64_t)sb.st_size;
    if (mtime_ns) *mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    return VS_OK;
}

/* fsync the folder holding path, so that a rename into it is durable. A failure is
 * an error (the new name may not survive a crash), except where the file system does
 * not sync folders at all (EINVAL, as some network and FUSE file systems answer). */
static vs_status fsync_dir_of(const char *path) {
    char *d = vs__strdup(path);
    if (!d) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash) {
        if (slash == d) slash[1] = 0;
        else *slash = 0;
        dir = d;
    }
    vs_status st = VS_OK;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL)
            st = vs__err(VS_ERR_IO, "%s: written, but its folder %s could not be synced: %s", path, dir,
                         strerror(errno));
        close(fd);
    }
    vs__free(d);
    return st;
}

vs_status vs__afile_open(vs__afile *a, const char *path) {
    memset(a, 0, sizeof *a);
    size_t n = strlen(path) + 32;
    a->tmp_path = vs__malloc(n);
    a->final_path = vs__strdup(path);
    if (!a->tmp_path || !a->final_path) {
        vs__free(a->tmp_path);
        vs__free(a->final_path);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(a->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp_path, "wb");
    if (!a->f) {
        vs_status st = vs__err(VS_ERR_IO, "%s: cannot create: %s", a->tmp_path, strerror(errno));
        vs__free(a->tmp_path);
        vs__free(a->final_path);
        memset(a, 0, sizeof *a);
        return st;
    }
    return VS_OK;
}

vs_status vs__afile_write(vs__afile *a, const void *data, size_t len) {
    if (a->failed) return VS_ERR_IO;
    if (len && fwrite(data, 1, len, a->f) != len) {
        a->failed = 1;
        return vs__err(VS_ERR_IO, "%s: write failed: %s", a->final_path, strerror(errno));
    }
    return VS_OK;
}

static void afile_release(vs__afile *a) {
    vs__free(a->tmp_path);
    vs__free(a->final_path);
    memset(a, 0, sizeof *a);
}

void vs__afile_abort(vs__afile *a) {
    if (a->f) fclose(a->f);
    if (a->tmp_path) unlink(a->tmp_path);
    afile_release(a);
}

vs_status vs__afile_commit(vs__afile *a) {
    if (a->failed) {
        vs__afile_abort(a);
        return VS_ERR_IO;
    }
    int bad = fflush(a->f) != 0 || fsync(fileno(a->f)) != 0;
    bad |= fclose(a->f) != 0;
    a->f = NULL;
    if (bad) {
        vs_status st = vs__err(VS_ERR_IO, "%s: cannot flush: %s", a->final_path, strerror(errno));
        vs__afile_abort(a);
        return st;
    }
    if (rename(a->tmp_path, a->final_path) != 0) {
        vs_status st = vs__err(VS_ERR_IO, "%s: cannot rename into place: %s", a->final_path,
                               strerror(errno));
        vs__afile_abort(a);
        return st;
    }
    vs_status st = fsync_dir_of(a->final_path);
    afile_release(a);
    return st;
}

vs_status vs__write_file_atomic(const char *path, const void *data, size_t len) {
    vs__afile a;
    vs_status st = vs__afile_open(&a, path);
    if (st) return st;
    st = vs__afile_write(&a, data, len);
    if (st) {
        vs__afile_abort(&a);
        return st;
    }
    return vs__afile_commit(&a);
}

vs_status vs_write_file_atomic(const char *path, const void *data, size_t len) {
    if (!path || !path[0] || (len && !data)) return vs__err(VS_ERR_INVALID_ARG, "vs_write_file_atomic: no path or no data");
    return vs__write_file_atomic(path, data, len);
}
