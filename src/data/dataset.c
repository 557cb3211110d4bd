/*
 * dataset.c — opening a data set by name ("fashion-mnist", "mnist:DIR", DIR),
 * and the helpers that work on one in memory: subset, per-channel statistics,
 * normalisation, free.
 *
 * Each kind of data set is one entry of `formats` below: its prefix, a usage
 * line, an optional default directory (with what to install when it is
 * missing) and the function that reads it. Adding a format (cifar10:,
 * fer2013:, folder:) is adding an entry; the spec parsing, the error listing
 * what is accepted and the help text come from the table.
 */
#define _DEFAULT_SOURCE /* POSIX and Linux calls (stat, pthread_sigmask, madvise) even under -std=c11 */
#include "util/error.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glob.h>
#include "actlab/data.h"
#include "image.h"

#define PATH_LEN 4096


typedef struct data_format data_format;
struct data_format {
    const char *prefix;      /* "mnist" in "mnist:DIR" */
    const char *usage;       /* one line of the help text */
    const char *default_dir; /* for the bare prefix; NULL: ":DIR" is required */
    const char *install;     /* what to do when default_dir is missing */
    int classes;             /* 0: the largest label + 1 */
    int (*open)(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test, char *err,
                size_t errlen);
};

static int open_idx_dir(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                        char *err, size_t errlen);

static int open_cifar_dir(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                          char *err, size_t errlen);

static int open_cifar10(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                        char *err, size_t errlen);

static int open_folder(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                       char *err, size_t errlen);

static int open_fer2013(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                        char *err, size_t errlen);

static const data_format formats[] = {
    {"fashion-mnist", "fashion-mnist[:DIR]  Fashion-MNIST IDX files (default: Debian's dataset-fashion-mnist)",
     "/usr/share/datasets/fashion-mnist", "install it with: apt-get install dataset-fashion-mnist (or give fashion-mnist:DIR)",
     10, open_idx_dir},
    {"mnist", "mnist:DIR            MNIST IDX files in DIR", NULL, NULL, 10, open_idx_dir},
    {"cifar10", "cifar10:DIR          CIFAR-10 binary files (data_batch_*.bin, test_batch*.bin) or JPEG folders "
     "({train,test}/<class>/) in DIR", NULL, NULL, 10, open_cifar10},
    {"cifar100", "cifar100:DIR         CIFAR-100 binary files (train.bin, test.bin) in DIR, fine labels", NULL, NULL,
     100, open_cifar_dir},
    {"cifar100-coarse", "cifar100-coarse:DIR  the same with the 20 coarse labels", NULL, NULL, 20, open_cifar_dir},
    {"folder", "folder:DIR[,OPT...]  JPEG/PNG class folders DIR/{train,test}/<class>/; OPT size=HxW, grey, colour, "
     "test=F, nocache", NULL, NULL, 0, open_folder},
    {"fer2013", "fer2013:DIR[,OPT...] FER2013 JPEG folders DIR/{train,test}/<emotion>/, labels as fer2013.csv",
     NULL, NULL, 7, open_fer2013},
};
#define NFORMATS ((int)(sizeof formats / sizeof formats[0]))

/* A directory given without a prefix: IDX files, classes from the labels. */
static const data_format bare_dir = {"idx", "DIR                  a directory of IDX files", NULL, NULL, 0, open_idx_dir};

size_t actlab_data_specs(char *buf, size_t len) {
    size_t n = 0;
    for (int i = 0; i <= NFORMATS; i++) {
        const data_format *f = i < NFORMATS ? &formats[i] : &bare_dir;
        for (const char *p = f->usage;; p++) {
            char c = *p ? *p : '\n';
            if (buf && n + 1 < len) buf[n] = c;
            n++;
            if (!*p) break;
        }
    }
    if (buf && len) buf[n < len ? n : len - 1] = 0;
    return n;
}

/* Case-insensitive, '-' equals '_' (as activation names), over the first n bytes of s. */
static int prefix_is(const char *s, size_t n, const char *name) {
    if (strlen(name) != n) return 0;
    for (size_t i = 0; i < n; i++) {
        int a = tolower((unsigned char)s[i]), b = (unsigned char)name[i];
        if (a == '_') a = '-';
        if (a != b) return 0;
    }
    return 1;
}

/* "fashion-mnist, fashion-mnist:DIR, mnist:DIR, or a directory of IDX files" for messages. */
static void accepted_list(char *out, size_t len) {
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < NFORMATS && n < len; i++) {
        const data_format *f = &formats[i];
        int w = f->default_dir ? snprintf(out + n, len - n, "%s, %s:DIR, ", f->prefix, f->prefix)
                               : snprintf(out + n, len - n, "%s:DIR, ", f->prefix);
        if (w > 0) n += (size_t)w;
    }
    if (n < len) snprintf(out + n, len - n, "or a directory of IDX files");
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void actlab_dataset_free(actlab_dataset *d) {
    if (!d) return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int actlab_data_open(const char *spec, actlab_dataset *train, actlab_dataset *test, char *err, size_t errlen) {
    if (train) memset(train, 0, sizeof *train);
    if (test) memset(test, 0, sizeof *test);
    if (!train && !test) return actlab_errorf(err, errlen, "actlab_data_open: nothing to load (train and test are both NULL)");
    if (!spec || !*spec) return actlab_errorf(err, errlen, "empty data set specification");
    const char *colon = strchr(spec, ':');
    size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
    const data_format *fmt = NULL;
    for (int i = 0; i < NFORMATS; i++)
        if (prefix_is(spec, plen, formats[i].prefix)) fmt = &formats[i];
    const char *dir;
    if (fmt) {
        if (colon) {
            dir = colon + 1;
            if (!*dir) return actlab_errorf(err, errlen, "'%s': expected a directory after '%s:'", spec, fmt->prefix);
        } else if (fmt->default_dir) {
            dir = fmt->default_dir;
        } else {
            return actlab_errorf(err, errlen, "'%s' needs the directory its files are in: %s:DIR", spec, fmt->prefix);
        }
    } else if (is_dir(spec)) {
        fmt = &bare_dir;
        dir = spec;
    } else {
        char list[512];
        accepted_list(list, sizeof list);
        if (colon) /* a directory whose name has a ':' is caught by is_dir above */
            return actlab_errorf(err, errlen, "unknown data set '%.*s' in '%s'; accepted: %s", (int)plen, spec, spec, list);
        return actlab_errorf(err, errlen, "'%s' is neither a known data set nor a directory; accepted: %s", spec, list);
    }
    char dpart[PATH_LEN]; /* options after the directory are the open function's */
    const char *dcheck =
        fmt->open == open_folder || fmt->open == open_fer2013 || fmt->open == open_cifar10
            ? folder_dir_part(dir, dpart, sizeof dpart) : dir;
    if (!is_dir(dcheck)) {
        int e = errno;
        if (fmt->install && dir == fmt->default_dir)
            return actlab_errorf(err, errlen, "%s: %s data set not found (%s); %s", dir, fmt->prefix, strerror(e), fmt->install);
        return actlab_errorf(err, errlen, "%s: not a directory (%s)", dcheck, access(dcheck, F_OK) ? strerror(e) : "a file");
    }
    if (fmt->open(fmt, dir, train, test, err, errlen)) {
        actlab_dataset_free(train);
        actlab_dataset_free(test);
        return -1;
    }
    actlab_dataset *both[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        if (!both[i]) continue;
        snprintf(both[i]->name, sizeof both[i]->name, "%s", fmt->prefix);
        snprintf(both[i]->source, sizeof both[i]->source, "%s", dir);
    }
    return 0;
}

/* ---- IDX files in a directory ---- */

/* Finds DIR/SPLIT-KIND-DIMS-ubyte[.gz] or the mirrors' DIR/SPLIT-KIND.DIMS-ubyte[.gz]. */
static int find_idx(char *out, const char *dir, const char *split, const char *kind, const char *dims, char *err,
                    size_t errlen) {
    static const char *const forms[] = {"%s/%s-%s-%s-ubyte.gz", "%s/%s-%s-%s-ubyte", "%s/%s-%s.%s-ubyte.gz",
                                        "%s/%s-%s.%s-ubyte"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        int w = snprintf(out, PATH_LEN, forms[i], dir, split, kind, dims);
        if (w < 0 || w >= PATH_LEN) return actlab_errorf(err, errlen, "%s: directory name too long", dir);
        if (access(out, F_OK) == 0) return 0;
    }
    return actlab_errorf(err, errlen, "%s: no %s %s file: expected %s-%s-%s-ubyte or %s-%s.%s-ubyte, with or without .gz", dir,
                split, kind, split, kind, dims, split, kind, dims);
}

static int max_label(const actlab_dataset *d) {
    int m = 0;
    for (int64_t i = 0; i < d->count; i++)
        if (d->labels[i] > m) m = d->labels[i];
    return m;
}

static int open_idx_dir(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                        char *err, size_t errlen) {
    static const char *const splits[2] = {"train", "t10k"};
    actlab_dataset *out[2] = {train, test};
    char images[PATH_LEN], labels[PATH_LEN];
    int classes = fmt->classes ? fmt->classes : 256;
    for (int i = 0; i < 2; i++) {
        if (!out[i]) continue;
        if (find_idx(images, dir, splits[i], "images", "idx3", err, errlen) ||
            find_idx(labels, dir, splits[i], "labels", "idx1", err, errlen)) {
            if (fmt->install && dir == fmt->default_dir) {
                size_t n = strlen(err);
                if (n + 2 < errlen) snprintf(err + n, errlen - n, "; %s", fmt->install);
            }
            return -1;
        }
        if (actlab_idx_load(out[i], images, labels, classes, err, errlen)) return -1;
    }
    if (!fmt->classes) {
        int m = 0;
        for (int i = 0; i < 2; i++)
            if (out[i] && max_label(out[i]) > m) m = max_label(out[i]);
        for (int i = 0; i < 2; i++)
            if (out[i]) out[i]->classes = m + 1;
    }
    return 0;
}

/* ---- helpers on a set in memory ---- */

int actlab_dataset_subset(actlab_dataset *d, int64_t n) {
    if (n < 1) return -1;
    if (n >= d->count) return 0;
    size_t per = (size_t)d->channels * d->height * d->width;
    /* shrink to give the memory back; a failed shrink leaves the larger block, still valid */
    float *x = realloc(d->images, (size_t)n * per * sizeof *x);
    if (x) d->images = x;
    int32_t *y = realloc(d->labels, (size_t)n * sizeof *y);
    if (y) d->labels = y;
    d->count = n;
    return 0;
}

/* Sum of p[0..n) with four accumulators: one long dependency chain would be four times slower. */
static double sum4(const float *p, int64_t n, double mean) {
    double a[4] = {0, 0, 0, 0};
    int64_t i = 0;
    if (isnan(mean)) {
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++) a[k] += p[i + k];
        for (; i < n; i++) a[0] += p[i];
    } else {
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++) {
                double t = p[i + k] - mean;
                a[k] += t * t;
            }
        for (; i < n; i++) {
            double t = p[i] - mean;
            a[0] += t * t;
        }
    }
    return (a[0] + a[1]) + (a[2] + a[3]);
}

void actlab_dataset_channel_stats(const actlab_dataset *d, double *mean, double *std) {
    int64_t hw = (int64_t)d->height * d->width;
    double n = (double)d->count * (double)hw;
    for (int c = 0; c < d->channels; c++) {
        /* two passes (mean, then squared deviations): no cancellation as in E[x^2] - E[x]^2 */
        double s = 0, q = 0;
        for (int64_t i = 0; i < d->count; i++) s += sum4(d->images + (i * d->channels + c) * hw, hw, NAN);
        double m = n > 0 ? s / n : 0;
        for (int64_t i = 0; i < d->count; i++) q += sum4(d->images + (i * d->channels + c) * hw, hw, m);
        mean[c] = m;
        std[c] = n > 0 ? sqrt(q / n) : 0;
    }
}

void actlab_dataset_normalise(actlab_dataset *d, const double *mean, const double *std) {
    int64_t hw = (int64_t)d->height * d->width;
    for (int c = 0; c < d->channels; c++) {
        float m = (float)mean[c];
        float inv = std[c] > 0 && isfinite(std[c]) ? (float)(1.0 / std[c]) : 1.0f;
        for (int64_t i = 0; i < d->count; i++) {
            float *p = d->images + (i * d->channels + c) * hw;
            for (int64_t j = 0; j < hw; j++) p[j] = (p[j] - m) * inv;
        }
    }
}

/* CIFAR: every file of a split matching its pattern, in name order (glob sorts). */
static int open_cifar_dir(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                          char *err, size_t errlen) {
    int cifar10 = fmt->classes == 10;
    const char *patterns[2] = {cifar10 ? "data_batch_*.bin" : "train.bin", cifar10 ? "test_batch*.bin" : "test.bin"};
    actlab_dataset *out[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        if (!out[i]) continue;
        char pattern[PATH_LEN];
        snprintf(pattern, sizeof pattern, "%s/%s", dir, patterns[i]);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
            globfree(&g);
            return actlab_errorf(err, errlen, "%s: no %s (the %s split of %s in the official binary format)", dir,
                                 patterns[i], i ? "test" : "training", fmt->prefix);
        }
        int rc = actlab_cifar_load(out[i], (const char *const *)g.gl_pathv, (int)g.gl_pathc, cifar10 ? 1 : 2,
                                   fmt->classes == 20 ? 0 : cifar10 ? 0 : 1, fmt->classes, err, errlen);
        globfree(&g);
        if (rc) return -1;
    }
    return 0;
}

/* cifar10:DIR is the binary batches when DIR has them; else the JPEG layout
 * DIR/{train,test}/<class>/ (../shared/data's cifar10-jpeg), with the labels of
 * batches.meta.txt and the image-folder options. The binary reader itself is
 * unchanged. */
static int open_cifar10(const data_format *fmt, const char *arg, actlab_dataset *train, actlab_dataset *test,
                        char *err, size_t errlen) {
    static const char *const classes[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                            "dog", "frog", "horse", "ship", "truck"};
    static const folder_kind cifar10_jpeg = {"cifar10", classes, 10, 3, 32, 32};
    char dir[PATH_LEN], pattern[PATH_LEN + 32], tr[PATH_LEN + 32], te[PATH_LEN + 32];
    folder_dir_part(arg, dir, sizeof dir);
    snprintf(pattern, sizeof pattern, "%s/data_batch_*.bin", dir);
    snprintf(tr, sizeof tr, "%s/train", dir);
    snprintf(te, sizeof te, "%s/test", dir);
    glob_t g;
    int binary = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;
    globfree(&g);
    if (!binary && is_dir(tr) && is_dir(te)) return folder_open(arg, &cifar10_jpeg, train, test, err, errlen);
    if (strcmp(arg, dir))
        return actlab_errorf(err, errlen, "'%s': options are for CIFAR-10 as JPEG folders (%s/train/<class>/, "
                             "%s/test/<class>/), not for the binary files", arg, dir, dir);
    return open_cifar_dir(fmt, dir, train, test, err, errlen);
}

/* ---- image folders ---- */

static int open_folder(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                       char *err, size_t errlen) {
    static const folder_kind any = {"folder", NULL, 0, 0, 0, 0};
    return folder_open(dir, &any, train, test, err, errlen);
}

/* FER2013's folders named by emotion, labelled as in the original fer2013.csv
 * (sorted names would give another order). */
static int open_fer2013(const data_format *fmt, const char *dir, actlab_dataset *train, actlab_dataset *test,
                        char *err, size_t errlen) {
    static const char *const emotions[7] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
    static const folder_kind fer2013 = {"fer2013", emotions, 7, 1, 48, 48};
    return folder_open(dir, &fer2013, train, test, err, errlen);
}
