/*
 * idx.c — the IDX reader (MNIST, Fashion-MNIST and friends).
 *
 * An IDX file is a 4-byte magic number 0x0000TTDD (TT = element type, 0x08
 * for unsigned bytes; DD = number of dimensions), DD big-endian uint32
 * dimensions, then the elements. Files are read through zlib's gzread, which
 * also reads uncompressed files, so `.gz` or not makes no difference here.
 * Everything is checked before it is trusted: the magic, the sizes (a lying
 * header must not make us overflow), and the data's length, which must be
 * exactly what the header announces.
 */
#define _DEFAULT_SOURCE /* POSIX and Linux calls (stat, pthread_sigmask, madvise) even under -std=c11 */
#include "util/error.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>
#include "actlab/data.h"
#include "data_internal.h"

#define IDX_IMAGES_MAGIC 0x00000803u /* unsigned bytes, 3 dimensions */
#define IDX_LABELS_MAGIC 0x00000801u /* unsigned bytes, 1 dimension */
#define IDX_MAX_SIDE 65536u          /* larger images are not what this reader is for */
#define IDX_MAX_PIXELS (1ull << 33)  /* 32 GiB of floats: beyond that the header is lying */
#define IDX_CHUNK (1u << 20)         /* bytes per gzread: bounded memory besides the result */


/* Large arrays on transparent huge pages where the system allows it: filling
 * 188 MB of Fashion-MNIST floats otherwise costs ~46000 page faults, which
 * take longer than inflating the file. */
void *data_alloc_big(size_t bytes) {
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;
    if (bytes >= 4 * huge) {
        void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge); /* C11: realloc and free accept it */
        if (p) madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure changes nothing */
        return p;
    }
#endif
    return malloc(bytes);
}

static gzFile open_gz(const char *path, char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) { /* gzopen would open it and fail on read */
        actlab_errorf(err, errlen, "%s: is a directory, expected an IDX file", path);
        return NULL;
    }
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        actlab_errorf(err, errlen, "cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    gzbuffer(f, 1u << 18); /* the default 8 KiB makes inflating the files noticeably slower */
    return f;
}

/* Reads up to n bytes; *got says how many came. Returns 0, or non-zero on a read
 * or decompression error (a truncated gzip stream is reported by its length, not here). */
static int read_all(gzFile f, const char *path, unsigned char *buf, size_t n, size_t *got, char *err,
                    size_t errlen) {
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > IDX_CHUNK) want = IDX_CHUNK;
        int r = gzread(f, buf + *got, (unsigned)want);
        if (r < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            if (code == Z_BUF_ERROR) break; /* stream ended early: the caller reports truncation */
            if (code == Z_ERRNO) msg = strerror(errno);
            else if (!strncmp(msg, path, strlen(path)) && !strncmp(msg + strlen(path), ": ", 2))
                msg += strlen(path) + 2; /* zlib prefixes the path; we already name it */
            return actlab_errorf(err, errlen, "%s: read error: %s", path, msg);
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads and checks the header: magic `want` with ndims dimensions into dims. */
static int read_header(gzFile f, const char *path, uint32_t want, uint32_t *dims, char *err, size_t errlen) {
    unsigned ndims = want & 0xffu;
    unsigned char h[4 + 4 * 3];
    size_t need = 4 + 4 * (size_t)ndims, got;
    const char *what = ndims == 3 ? "IDX unsigned bytes, 3 dimensions" : "IDX unsigned bytes, 1 dimension";
    if (read_all(f, path, h, need, &got, err, errlen)) return -1;
    if (got == 0) return actlab_errorf(err, errlen, "%s: empty file, expected an IDX header (magic 0x%08x, %s)", path, want, what);
    if (got >= 4 && be32(h) != want) {
        uint32_t m = be32(h);
        const char *hint = "";
        if (m == IDX_LABELS_MAGIC) hint = "; this looks like a labels file";
        else if (m == IDX_IMAGES_MAGIC) hint = "; this looks like an images file";
        else if ((m >> 16) == 0x1f8b) hint = "; this looks like a file gzip'd twice";
        return actlab_errorf(err, errlen, "%s: bad magic number 0x%08x, expected 0x%08x (%s)%s", path, m, want, what, hint);
    }
    if (got < need)
        return actlab_errorf(err, errlen, "%s: truncated header: expected %zu bytes (magic number and %u dimension%s), file has %zu",
                    path, need, ndims, ndims == 1 ? "" : "s", got);
    for (unsigned i = 0; i < ndims; i++) dims[i] = be32(h + 4 + 4 * i);
    return 0;
}

/* After the expected data, nothing may follow: a longer file is a different file. */
static int check_end(gzFile f, const char *path, const char *what, char *err, size_t errlen) {
    unsigned char extra[4096];
    size_t got, total = 0;
    do {
        if (read_all(f, path, extra, sizeof extra, &got, err, errlen)) return -1;
        total += got;
    } while (got == sizeof extra && total < (1u << 24));
    if (total)
        return actlab_errorf(err, errlen, "%s: %s%zu bytes of data after the %s the header announces; wrong or damaged file?",
                    path, total >= (1u << 24) ? "more than " : "", total, what);
    return 0;
}

static int load_images(actlab_dataset *out, const char *path, char *err, size_t errlen) {
    gzFile f = open_gz(path, err, errlen);
    if (!f) return -1;
    uint32_t dims[3] = {0, 0, 0};
    unsigned char *chunk = NULL;
    float *img = NULL;
    if (read_header(f, path, IDX_IMAGES_MAGIC, dims, err, errlen)) goto fail;
    uint32_t count = dims[0], h = dims[1], w = dims[2];
    if (count == 0) {
        actlab_errorf(err, errlen, "%s: header says 0 images; expected at least one", path);
        goto fail;
    }
    if (h == 0 || w == 0 || h > IDX_MAX_SIDE || w > IDX_MAX_SIDE) {
        actlab_errorf(err, errlen, "%s: header says images of %ux%u; expected sides in 1..%u", path, h, w, IDX_MAX_SIDE);
        goto fail;
    }
    uint64_t per = (uint64_t)h * w, total = per * count; /* each factor < 2^32 and per <= 2^32: no overflow */
    if (total > IDX_MAX_PIXELS || total > SIZE_MAX / sizeof(float)) {
        actlab_errorf(err, errlen, "%s: header says %u images of %ux%u (%llu pixels), more than this reader accepts (%llu)",
             path, count, h, w, (unsigned long long)total, (unsigned long long)IDX_MAX_PIXELS);
        goto fail;
    }
    img = data_alloc_big((size_t)total * sizeof *img);
    chunk = malloc(IDX_CHUNK);
    if (!img || !chunk) {
        actlab_errorf(err, errlen, "%s: out of memory for %u images of %ux%u (%.1f MiB)", path, count, h, w,
             (double)total * sizeof *img / (1 << 20));
        goto fail;
    }
    /* pixel/255 by table: cheaper than a division per pixel */
    float lut[256];
    for (int i = 0; i < 256; i++) lut[i] = (float)i / 255.0f; /* as torchvision's ToTensor: float32 division */
    uint64_t done = 0;
    while (done < total) {
        size_t want = total - done > IDX_CHUNK ? IDX_CHUNK : (size_t)(total - done), got;
        if (read_all(f, path, chunk, want, &got, err, errlen)) goto fail;
        for (size_t i = 0; i < got; i++) img[done + i] = lut[chunk[i]];
        done += got;
        if (got < want) {
            actlab_errorf(err, errlen, "%s: truncated: header says %u images of %ux%u (%llu bytes), file has %llu bytes of data",
                 path, count, h, w, (unsigned long long)total, (unsigned long long)done);
            goto fail;
        }
    }
    if (check_end(f, path, "images", err, errlen)) goto fail;
    free(chunk);
    gzclose(f);
    out->count = count;
    out->channels = 1;
    out->height = (int)h;
    out->width = (int)w;
    out->images = img;
    return 0;
fail:
    free(chunk);
    free(img);
    gzclose(f);
    return -1;
}

static int load_labels(actlab_dataset *out, const char *path, int classes, char *err, size_t errlen) {
    gzFile f = open_gz(path, err, errlen);
    if (!f) return -1;
    uint32_t count = 0;
    unsigned char *buf = NULL;
    int32_t *lab = NULL;
    if (read_header(f, path, IDX_LABELS_MAGIC, &count, err, errlen)) goto fail;
    if (count == 0) {
        actlab_errorf(err, errlen, "%s: header says 0 labels; expected at least one", path);
        goto fail;
    }
    /* count < 2^32: 16 GiB at most, refused by malloc if absurd */
    buf = malloc(count);
    lab = malloc((size_t)count * sizeof *lab);
    if (!buf || !lab) {
        actlab_errorf(err, errlen, "%s: out of memory for %u labels", path, count);
        goto fail;
    }
    size_t got;
    if (read_all(f, path, buf, count, &got, err, errlen)) goto fail;
    if (got < count) {
        actlab_errorf(err, errlen, "%s: truncated: header says %u labels, file has %zu bytes of data", path, count, got);
        goto fail;
    }
    if (check_end(f, path, "labels", err, errlen)) goto fail;
    for (uint32_t i = 0; i < count; i++) {
        if (buf[i] >= classes) {
            actlab_errorf(err, errlen, "%s: label %u at index %u is out of range for %d classes", path, buf[i], i, classes);
            goto fail;
        }
        lab[i] = buf[i];
    }
    free(buf);
    gzclose(f);
    out->count = count;
    out->labels = lab;
    return 0;
fail:
    free(buf);
    free(lab);
    gzclose(f);
    return -1;
}

int actlab_idx_load(actlab_dataset *out, const char *images_path, const char *labels_path, int classes,
                    char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (classes < 1 || classes > 256)
        return actlab_errorf(err, errlen, "IDX labels are bytes: classes must be in 1..256, got %d", classes);
    actlab_dataset img, lab;
    memset(&img, 0, sizeof img);
    memset(&lab, 0, sizeof lab);
    /* labels first: a small file, so a wrong pairing is reported before inflating 47 MB */
    if (load_labels(&lab, labels_path, classes, err, errlen)) return -1;
    if (load_images(&img, images_path, err, errlen)) {
        free(lab.labels);
        return -1;
    }
    if (lab.count != img.count) {
        actlab_errorf(err, errlen, "labels file %s has %lld labels but images file %s has %lld images", labels_path,
             (long long)lab.count, images_path, (long long)img.count);
        free(lab.labels);
        free(img.images);
        return -1;
    }
    *out = img;
    out->labels = lab.labels;
    out->classes = classes;
    snprintf(out->name, sizeof out->name, "idx");
    snprintf(out->source, sizeof out->source, "%s", images_path);
    return 0;
}
