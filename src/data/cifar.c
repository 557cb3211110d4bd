/*
 * cifar.c — CIFAR-10 and CIFAR-100 in their official binary format.
 *
 * A file is a run of records: the label byte(s), then 3072 pixel bytes, the
 * 1024 red, 1024 green and 1024 blue values of a 32x32 image in row-major
 * order, which is already NCHW. CIFAR-10 records have one label byte;
 * CIFAR-100 records have two, the coarse (20 superclasses) then the fine
 * (100 classes) label. Pixels become p/255 in [0,1], as the IDX reader does.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "actlab/data.h"
#include "data_internal.h"
#include "util/error.h"

enum { CIFAR_SIDE = 32, CIFAR_PIXELS = 3 * 32 * 32 };

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long)st.st_size : -1;
}

int actlab_cifar_load(actlab_dataset *out, const char *const *paths, int npaths, int label_bytes, int label_index,
                      int classes, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (npaths < 1) return actlab_errorf(err, errlen, "no CIFAR files given");
    long record = label_bytes + CIFAR_PIXELS;
    int64_t count = 0;
    for (int i = 0; i < npaths; i++) { /* sizes first: a bad file fails before anything is read */
        long n = file_size(paths[i]);
        if (n < 0) return actlab_errorf(err, errlen, "cannot read %s: %s", paths[i], errno ? strerror(errno) : "not a file");
        if (n == 0 || n % record != 0)
            return actlab_errorf(err, errlen,
                                 "%s: %ld bytes is not a whole number of %ld-byte CIFAR records (%d label byte%s + 3072 "
                                 "pixels): truncated, or not this CIFAR format?",
                                 paths[i], n, record, label_bytes, label_bytes > 1 ? "s" : "");
        count += n / record;
    }
    out->images = data_alloc_big((size_t)count * CIFAR_PIXELS * sizeof(float));
    out->labels = malloc((size_t)count * sizeof(int32_t));
    unsigned char *buf = malloc((size_t)record * 256);
    if (!out->images || !out->labels || !buf) {
        free(buf);
        actlab_dataset_free(out);
        return actlab_errorf(err, errlen, "out of memory for %lld CIFAR images", (long long)count);
    }
    int64_t at = 0;
    for (int i = 0; i < npaths; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            free(buf);
            actlab_dataset_free(out);
            return actlab_errorf(err, errlen, "cannot read %s: %s", paths[i], strerror(errno));
        }
        size_t got;
        int64_t in_file = 0;
        while ((got = fread(buf, (size_t)record, 256, f)) > 0) {
            for (size_t r = 0; r < got; r++, at++, in_file++) {
                const unsigned char *rec = buf + r * (size_t)record;
                int label = rec[label_index];
                if (label >= classes) {
                    fclose(f);
                    free(buf);
                    actlab_dataset_free(out);
                    return actlab_errorf(err, errlen, "%s: label %d of record %lld is out of range for %d classes",
                                         paths[i], label, (long long)in_file, classes);
                }
                out->labels[at] = label;
                float *img = out->images + at * CIFAR_PIXELS;
                for (int p = 0; p < CIFAR_PIXELS; p++) img[p] = (float)rec[label_bytes + p] / 255.0f;
            }
        }
        fclose(f);
    }
    free(buf);
    if (at != count) {
        actlab_dataset_free(out);
        return actlab_errorf(err, errlen, "%s: the CIFAR files changed while being read", paths[0]);
    }
    out->count = count;
    out->channels = 3, out->height = out->width = CIFAR_SIDE;
    out->classes = classes;
    snprintf(out->name, sizeof out->name, "%s", classes == 10 ? "cifar10" : classes == 100 ? "cifar100" : "cifar100-coarse");
    snprintf(out->source, sizeof out->source, "%s", paths[0]);
    return 0;
}
