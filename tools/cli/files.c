/*
 * files.c - CLI helpers for inputs and models: expand files and folders into a
 * sorted list of video paths (skipping, with a note, anything in a folder that is
 * not a regular file, so a FIFO is never opened), build output paths, and locate
 * model files.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *video_exts[] = {"mp4", "m4v", "mov", "mkv", "webm", "avi", "flv", "wmv", "mpg",
                                   "mpeg", "ts", "mts", "m2ts", "3gp", "3g2", "ogv", "ogg", "asf",
                                   "vob", "mxf", "y4m", "gif", "divx", "f4v", "rm", "rmvb", NULL};

int cli_is_video_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (int i = 0; video_exts[i]; i++)
        if (!strcasecmp(dot + 1, video_exts[i])) return 1;
    return 0;
}

static int push(cli_list *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof(char *));
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    return l->v[l->n++] ? 0 : -1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_feature_name(const char *n) {
    size_t k = strlen(n);
    return k > 4 && !strcmp(n + k - 4, ".vsf");
}

/* What a non-regular, non-folder file is, for messages. */
static const char *kind_name(mode_t m) {
    return S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : S_ISCHR(m) ? "character device"
         : S_ISBLK(m) ? "block device" : "special file";
}

/* What a folder walk saw: regular files, and those kept; and the folders walked, by
 * device and inode, so that a symbolic link back up the tree (a loop) or a second link
 * to a folder already walked is entered once, not 2^32 times. */
typedef struct walk_dir { dev_t dev; ino_t ino; } walk_dir;
typedef struct walk_count {
    long files, kept;
    int nomem;
    walk_dir *seen;
    long n_seen, cap_seen;
} walk_count;

/* 1 when (dev, ino) was walked already; else records it and returns 0. */
static int walked_before(walk_count *wc, const struct stat *sb) {
    for (long k = 0; k < wc->n_seen; k++)
        if (wc->seen[k].dev == sb->st_dev && wc->seen[k].ino == sb->st_ino) return 1;
    if (wc->n_seen == wc->cap_seen) {
        long cap = wc->cap_seen ? 2 * wc->cap_seen : 64;
        walk_dir *g = realloc(wc->seen, sizeof *g * (size_t)cap);
        if (!g) {
            wc->nomem = 1;
            return 1;
        }
        wc->seen = g;
        wc->cap_seen = cap;
    }
    wc->seen[wc->n_seen++] = (walk_dir){sb->st_dev, sb->st_ino};
    return 0;
}

/* Appends the wanted files under dir, sorted, to l. Entries are stat()ed, never
 * opened: a FIFO (whose open blocks until a writer comes), socket or device is
 * skipped with a note, as are dangling symbolic links and unreadable subfolders. */
static void walk_ext(cli_list *l, const char *dir, int depth, int feats, walk_count *wc) {
    if (depth > 32) {
        fprintf(stderr, "skipping %s: more than 32 folders deep\n", dir);
        return;
    }
    struct stat self;
    if (stat(dir, &self) == 0 && walked_before(wc, &self)) {
        if (!wc->nomem)
            fprintf(stderr, "skipping %s: a link to a folder already walked (a loop or a second path to it)\n", dir);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        if (depth > 0) fprintf(stderr, "skipping %s: cannot read the folder: %s\n", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    cli_list here = {0};
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) {
            fprintf(stderr, "skipping %s/%s: path too long\n", dir, e->d_name);
            continue;
        }
        if (push(&here, p)) wc->nomem = 1;
    }
    closedir(d);
    if (here.n) qsort(here.v, here.n, sizeof(char *), cmp_str); /* v is NULL when empty */
    for (int i = 0; i < here.n; i++) {
        struct stat sb, lsb;
        if (stat(here.v[i], &sb) != 0) {
            int err = errno;
            if (lstat(here.v[i], &lsb) == 0 && S_ISLNK(lsb.st_mode) && err == ENOENT)
                fprintf(stderr, "skipping %s: dangling symbolic link\n", here.v[i]);
            else fprintf(stderr, "skipping %s: %s\n", here.v[i], strerror(err));
        } else if (S_ISDIR(sb.st_mode)) {
            walk_ext(l, here.v[i], depth + 1, feats, wc);
        } else if (!S_ISREG(sb.st_mode)) {
            fprintf(stderr, "skipping %s: not a regular file (%s)\n", here.v[i], kind_name(sb.st_mode));
        } else {
            wc->files++;
            if (feats ? is_feature_name(here.v[i]) : cli_is_video_name(here.v[i])) {
                if (push(l, here.v[i])) wc->nomem = 1;
                else wc->kept++;
            }
        }
    }
    cli_list_free(&here);
}

static int collect(cli_list *out, char **inputs, int n, int feats) {
    int rc = 0;
    for (int i = 0; i < n; i++) {
        struct stat sb;
        int st = stat(inputs[i], &sb);
        if (st == 0 && S_ISDIR(sb.st_mode)) {
            size_t len = strlen(inputs[i]);
            char *d = strdup(inputs[i]);
            if (!d) {
                rc = -1;
                continue;
            }
            while (len > 1 && d[len - 1] == '/') d[--len] = 0;
            DIR *probe = opendir(d);
            if (!probe) {
                fprintf(stderr, "%s: %s: cannot read the folder: %s\n", cli_command(), d, strerror(errno));
                cli_input_refused();
                free(d);
                continue;
            }
            closedir(probe);
            walk_count wc = {0};
            walk_ext(out, d, 0, feats, &wc);
            free(wc.seen);
            if (wc.nomem) rc = -1;
            else if (!wc.kept && !wc.files)
                fprintf(stderr, "%s: %s: no %s files (no regular files in it)\n", cli_command(), d,
                        feats ? "feature" : "video");
            else if (!wc.kept)
                fprintf(stderr, "%s: %s: no %s files (%ld file%s, none %s)\n", cli_command(), d,
                        feats ? "feature" : "video", wc.files, wc.files == 1 ? "" : "s",
                        feats ? "ending in .vsf" : "with a video extension");
            free(d);
        } else if (st == 0 && !S_ISREG(sb.st_mode)) {
            /* named on purpose, yet reading it could block (FIFO) or never end (device) */
            fprintf(stderr, "%s: %s: not a regular file (%s), not read\n", cli_command(), inputs[i],
                    kind_name(sb.st_mode));
            cli_input_refused();
        } else if (push(out, inputs[i])) { /* files (and missing paths) are tried as given */
            rc = -1;
        }
    }
    if (rc) {
        fprintf(stderr, "%s: out of memory listing the inputs\n", cli_command());
        cli_input_refused();
    }
    return rc;
}

int cli_collect_inputs(cli_list *out, char **inputs, int n) { return collect(out, inputs, n, 0); }
int cli_collect_features(cli_list *out, char **inputs, int n) { return collect(out, inputs, n, 1); }

void cli_list_free(cli_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int cli_mkdirs(const char *path) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

const char *cli_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void cli_stem(const char *path, char *out, size_t n) {
    snprintf(out, n, "%s", cli_basename(path));
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

static char exe_dir[PATH_MAX];

static void find_exe_dir(void) {
    if (exe_dir[0]) return;
    ssize_t r = readlink("/proc/self/exe", exe_dir, sizeof exe_dir - 1);
    if (r <= 0) {
        strcpy(exe_dir, ".");
        return;
    }
    exe_dir[r] = 0;
    char *s = strrchr(exe_dir, '/');
    if (s) *s = 0;
}

/* The models folder of an installed vidsim: the install prefix's share/vidsim/models,
 * fixed when the build is configured (CMakeLists.txt defines VIDSIM_INSTALL_MODELS_DIR). */
#ifndef VIDSIM_INSTALL_MODELS_DIR
#define VIDSIM_INSTALL_MODELS_DIR "/usr/local/share/vidsim/models"
#endif

/* Models shipped with vidsim, whose absence is worth explaining; other names are
 * probed by callers that fall back on a file of that name (hasher.c). */
static int bundled_model_name(const char *name) {
    return !strcmp(name, "inception_v3.vstf") || !strcmp(name, "mobilenet_v2.vstf") ||
           !strncmp(name, "pca_", 4) || !strncmp(name, "clip_", 5);
}

/* Locate a model file, first found wins: $VIDSIM_MODELS; ./models (the working
 * directory); <exe>/../share/vidsim/models (an installed or relocated tree);
 * <exe>/../models and <exe>/models (the build tree: build/vidsim finds the source
 * tree's models from any directory); the configured prefix's share/vidsim/models.
 * When none has it, out gets "models/NAME" and, for a bundled model, stderr lists
 * the places tried and names VIDSIM_MODELS. */
int cli_model_path(const char *name, char *out, size_t n) {
    const char *env = getenv("VIDSIM_MODELS");
    if (env && !*env) env = NULL;
    find_exe_dir();
    enum { NDIRS = 6 };
    char share[PATH_MAX + 32], up[PATH_MAX + 16], here[PATH_MAX + 16];
    snprintf(share, sizeof share, "%.*s/../share/vidsim/models", (int)(PATH_MAX - 1), exe_dir);
    snprintf(up, sizeof up, "%.*s/../models", (int)(PATH_MAX - 1), exe_dir);
    snprintf(here, sizeof here, "%.*s/models", (int)(PATH_MAX - 1), exe_dir);
    const char *dirs[NDIRS] = {env, "models", share, up, here, VIDSIM_INSTALL_MODELS_DIR};
    for (int i = 0; i < NDIRS; i++) {
        if (!dirs[i]) continue;
        int w = snprintf(out, n, "%s/%s", dirs[i], name);
        if (w > 0 && (size_t)w < n && access(out, R_OK) == 0) return 0;
    }
    if (bundled_model_name(name)) {
        fprintf(stderr, "vidsim: model %s not found; looked in:", name);
        if (env) fprintf(stderr, " %s (VIDSIM_MODELS),", env);
        else fprintf(stderr, " $VIDSIM_MODELS (unset),");
        for (int i = 1; i < NDIRS; i++)
            fprintf(stderr, " %s%s", i == 1 ? "./models" : dirs[i], i + 1 < NDIRS ? "," : "");
        fprintf(stderr, ". Set VIDSIM_MODELS to the folder holding the converted models "
                        "(scripts/fetch_weights.sh makes them; `make install` copies them to "
                        "PREFIX/share/vidsim/models)\n");
    }
    snprintf(out, n, "models/%s", name);
    return -1;
}
