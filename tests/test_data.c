/* test_data.c — data sets and the batch loader: IDX files written here (gzip'd and raw)
 * read back exactly; each malformed file refused with a message naming it; data set
 * specifications; subset, statistics and normalisation; the real Fashion-MNIST and MNIST
 * when installed; and the loader's order (a permutation per epoch, a pure function of
 * (seed, epoch), resumable at any batch), batch sizes and clean thread shutdown. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "actlab/data.h"
#include "check.h"

static char tmp[64];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static const char *path_in(const char *dir, const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    if (snprintf(p, 512, "%s/%s", dir, name) >= 512) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
    return p;
}

static void write_bytes(const char *path, const unsigned char *b, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) { perror(path); exit(2); }
        if (n) gzwrite(f, b, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f) { perror(path); exit(2); }
        if (n) fwrite(b, 1, n, f);
        fclose(f);
    }
}

/* An IDX file: magic, ndims big-endian dimensions, then `data` (n bytes). */
static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int ndims, const unsigned char *data,
                      size_t n, int gz) {
    unsigned char *b = malloc(4 + 4 * (size_t)ndims + n);
    uint32_t words[4] = {magic, 0, 0, 0};
    for (int i = 0; i < ndims; i++) words[i + 1] = dims[i];
    for (int i = 0; i <= ndims; i++)
        for (int k = 0; k < 4; k++) b[4 * i + k] = (unsigned char)(words[i] >> (24 - 8 * k));
    if (n) memcpy(b + 4 + 4 * ndims, data, n);
    write_bytes(path, b, 4 + 4 * (size_t)ndims + n, gz);
    free(b);
}

/* The small set: 3 images of 2x3 (pixels cover 0 and 255) and labels 0, 9, 4. */
static unsigned char pix[18];
static const unsigned char lab[3] = {0, 9, 4};
static const uint32_t img_dims[3] = {3, 2, 3}, lab_dims[1] = {3};

static void write_small(const char *dir, const char *images, const char *labels, int gz) {
    write_idx(path_in(dir, images), 0x803, img_dims, 3, pix, sizeof pix, gz);
    write_idx(path_in(dir, labels), 0x801, lab_dims, 1, lab, sizeof lab, gz);
}

static int is_empty(const actlab_dataset *d) { return d->count == 0 && !d->images && !d->labels; }

static void check_small(const actlab_dataset *d, const char *what) {
    CHECK(d->count == 3 && d->channels == 1 && d->height == 2 && d->width == 3 && d->classes == 10,
          "%s: shape %lld x %d x %d x %d, classes %d", what, (long long)d->count, d->channels, d->height, d->width,
          d->classes);
    if (d->count != 3) return;
    int bad = 0;
    for (int i = 0; i < 18; i++) bad += d->images[i] != (float)pix[i] / 255.0f;
    CHECK(!bad, "%s: %d pixels differ from pixel/255", what, bad);
    CHECK(d->images[0] == 0.0f && d->images[1] == 1.0f, "%s: 0 -> 0 and 255 -> 1 exactly", what);
    CHECK(d->labels[0] == 0 && d->labels[1] == 9 && d->labels[2] == 4, "%s: labels %d %d %d", what, d->labels[0],
          d->labels[1], d->labels[2]);
}

static void test_idx_good(void) {
    char err[1024];
    actlab_dataset d;
    write_small(tmp, "raw-images", "raw-labels", 0);
    write_small(tmp, "gz-images.gz", "gz-labels.gz", 1);
    CHECK(actlab_idx_load(&d, path_in(tmp, "raw-images"), path_in(tmp, "raw-labels"), 10, err, sizeof err) == 0,
          "raw: %s", err);
    check_small(&d, "raw");
    CHECK(!strcmp(d.name, "idx") && !strcmp(d.source, path_in(tmp, "raw-images")), "name '%s', source '%s'", d.name,
          d.source);
    actlab_dataset_free(&d);
    CHECK(is_empty(&d), "free zeroes the struct");
    actlab_dataset_free(&d); /* twice is fine */
    CHECK(actlab_idx_load(&d, path_in(tmp, "gz-images.gz"), path_in(tmp, "gz-labels.gz"), 10, err, sizeof err) == 0,
          "gz: %s", err);
    check_small(&d, "gz");
    actlab_dataset_free(&d);
    CHECK(actlab_idx_load(&d, path_in(tmp, "gz-images.gz"), path_in(tmp, "raw-labels"), 10, err, sizeof err) == 0,
          "gz images, raw labels: %s", err);
    check_small(&d, "mixed");
    actlab_dataset_free(&d);
}

/* Load images `im` with labels `lb` (names in tmp) and expect an error containing each of want[]. */
static void expect_fail(const char *im, const char *lb, int classes, const char *what, const char *want1,
                        const char *want2) {
    char err[1024] = "";
    actlab_dataset d;
    memset(&d, 0x5a, sizeof d); /* garbage in: must come back empty */
    int rc = actlab_idx_load(&d, im[0] == '/' ? im : path_in(tmp, im), lb[0] == '/' ? lb : path_in(tmp, lb), classes,
                             err, sizeof err);
    CHECK(rc != 0, "%s: should fail", what);
    CHECK(strstr(err, want1) != NULL, "%s: message should contain '%s', got '%s'", what, want1, err);
    if (want2) CHECK(strstr(err, want2) != NULL, "%s: message should contain '%s', got '%s'", what, want2, err);
    CHECK(is_empty(&d), "%s: the data set is left empty", what);
    if (rc == 0) actlab_dataset_free(&d);
}

static void test_idx_errors(void) {
    char want[1024];
    uint32_t dims[3];
    /* wrong magic: a labels file where images belong, and the other way round */
    snprintf(want, sizeof want,
             "%s: bad magic number 0x00000801, expected 0x00000803 (IDX unsigned bytes, 3 dimensions); this looks like "
             "a labels file", path_in(tmp, "raw-labels"));
    expect_fail("raw-labels", "raw-labels", 10, "labels as images", want, NULL);
    snprintf(want, sizeof want,
             "%s: bad magic number 0x00000803, expected 0x00000801 (IDX unsigned bytes, 1 dimension); this looks like "
             "an images file", path_in(tmp, "gz-images.gz"));
    expect_fail("raw-images", "gz-images.gz", 10, "images as labels", want, NULL);
    write_idx(path_in(tmp, "magic"), 0x12345678, img_dims, 3, pix, sizeof pix, 1);
    expect_fail("magic", "raw-labels", 10, "random magic", "magic: bad magic number 0x12345678, expected 0x00000803",
                NULL);
    /* truncated data, raw and gz */
    write_idx(path_in(tmp, "short"), 0x803, img_dims, 3, pix, 10, 0);
    write_idx(path_in(tmp, "short.gz"), 0x803, img_dims, 3, pix, 10, 1);
    expect_fail("short", "raw-labels", 10, "truncated images",
                "short: truncated: header says 3 images of 2x3 (18 bytes), file has 10 bytes of data", NULL);
    expect_fail("short.gz", "raw-labels", 10, "truncated gz images",
                "short.gz: truncated: header says 3 images of 2x3 (18 bytes), file has 10 bytes of data", NULL);
    write_idx(path_in(tmp, "short-labels"), 0x801, lab_dims, 1, lab, 2, 1);
    expect_fail("raw-images", "short-labels", 10, "truncated labels",
                "short-labels: truncated: header says 3 labels, file has 2 bytes of data", NULL);
    /* truncated header */
    unsigned char hdr[16];
    for (int i = 0; i < 16; i++) hdr[i] = (unsigned char)(i < 4 ? (0x803u >> (24 - 8 * i)) : 0);
    write_bytes(path_in(tmp, "hdr"), hdr, 9, 0);
    expect_fail("hdr", "raw-labels", 10, "truncated header",
                "hdr: truncated header: expected 16 bytes (magic number and 3 dimensions), file has 9", NULL);
    write_bytes(path_in(tmp, "hdr2"), hdr, 2, 1);
    expect_fail("hdr2", "raw-labels", 10, "2-byte file", "hdr2: truncated header", NULL);
    /* empty, raw and as an empty gzip stream */
    write_bytes(path_in(tmp, "empty"), NULL, 0, 0);
    write_bytes(path_in(tmp, "empty.gz"), NULL, 0, 1);
    expect_fail("empty", "raw-labels", 10, "empty file", "empty: empty file, expected an IDX header (magic 0x00000803",
                NULL);
    expect_fail("raw-images", "empty.gz", 10, "empty gz labels",
                "empty.gz: empty file, expected an IDX header (magic 0x00000801", NULL);
    /* counts that disagree */
    uint32_t four[1] = {4};
    unsigned char lab4[4] = {1, 2, 3, 4};
    write_idx(path_in(tmp, "labels4"), 0x801, four, 1, lab4, 4, 0);
    snprintf(want, sizeof want, "labels file %s has 4 labels but images file %s has 3 images",
             path_in(tmp, "labels4"), path_in(tmp, "raw-images"));
    expect_fail("raw-images", "labels4", 10, "count mismatch", want, NULL);
    /* a label out of range */
    unsigned char bad[3] = {0, 12, 3};
    write_idx(path_in(tmp, "badlabel"), 0x801, lab_dims, 1, bad, 3, 1);
    expect_fail("raw-images", "badlabel", 10, "label out of range",
                "badlabel: label 12 at index 1 is out of range for 10 classes", NULL);
    expect_fail("raw-images", "raw-labels", 9, "label 9 with 9 classes", "label 9 at index 1 is out of range for 9",
                NULL);
    expect_fail("raw-images", "raw-labels", 0, "0 classes", "classes must be in 1..256, got 0", NULL);
    /* missing files name the path */
    expect_fail("nope-images", "raw-labels", 10, "missing images", "cannot open ", "nope-images: No such file");
    expect_fail("raw-images", "nope-labels.gz", 10, "missing labels", "cannot open ", "nope-labels.gz: No such file");
    /* a directory where a file belongs */
    mkdir(path_in(tmp, "adir"), 0700);
    expect_fail("adir", "raw-labels", 10, "directory as images", "adir: is a directory, expected an IDX file", NULL);
    /* sizes: none, zero sides, absurd */
    dims[0] = 0, dims[1] = 28, dims[2] = 28;
    write_idx(path_in(tmp, "zero"), 0x803, dims, 3, NULL, 0, 0);
    expect_fail("zero", "raw-labels", 10, "0 images", "zero: header says 0 images; expected at least one", NULL);
    dims[0] = 3, dims[1] = 0, dims[2] = 28;
    write_idx(path_in(tmp, "noside"), 0x803, dims, 3, NULL, 0, 0);
    expect_fail("noside", "raw-labels", 10, "0 rows", "noside: header says images of 0x28; expected sides in 1..65536",
                NULL);
    dims[0] = 0xffffffffu, dims[1] = 65536, dims[2] = 65536;
    write_idx(path_in(tmp, "huge"), 0x803, dims, 3, NULL, 0, 0);
    expect_fail("huge", "raw-labels", 10, "absurd size", "huge: header says 4294967295 images of 65536x65536",
                "more than this reader accepts");
    /* more data than the header says */
    unsigned char more[20];
    memcpy(more, pix, 18);
    more[18] = more[19] = 7;
    write_idx(path_in(tmp, "long"), 0x803, img_dims, 3, more, 20, 1);
    expect_fail("long", "raw-labels", 10, "trailing data", "long: 2 bytes of data after the images the header announces",
                NULL);
    /* a gzip stream cut short, and one with its compressed data damaged */
    unsigned char big[3 * 28 * 28];
    uint32_t bigdims[3] = {3, 28, 28};
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 2654435761u >> 13);
    write_idx(path_in(tmp, "big.gz"), 0x803, bigdims, 3, big, sizeof big, 1);
    FILE *f = fopen(path_in(tmp, "big.gz"), "rb");
    unsigned char gzb[8192];
    size_t gzn = fread(gzb, 1, sizeof gzb, f);
    fclose(f);
    write_bytes(path_in(tmp, "cut.gz"), gzb, gzn / 2, 0);
    expect_fail("cut.gz", "raw-labels", 10, "gzip stream cut short", "cut.gz: truncated: header says 3 images of 28x28",
                NULL);
    for (size_t i = 20; i < gzn - 8; i += 3) gzb[i] ^= 0x55;
    write_bytes(path_in(tmp, "damaged.gz"), gzb, gzn, 0);
    expect_fail("damaged.gz", "raw-labels", 10, "damaged gzip data", "damaged.gz: ", NULL);
}

static void test_open(void) {
    char err[1024], want[1024];
    actlab_dataset tr, te;
    const char *a = path_in(tmp, "dir-a");
    char adir[512], bdir[512], cdir[512], edir[512];
    snprintf(adir, sizeof adir, "%s", a);
    snprintf(bdir, sizeof bdir, "%s", path_in(tmp, "dir-b"));
    snprintf(cdir, sizeof cdir, "%s", path_in(tmp, "dir-c"));
    snprintf(edir, sizeof edir, "%s", path_in(tmp, "dir-empty"));
    mkdir(adir, 0700), mkdir(bdir, 0700), mkdir(cdir, 0700), mkdir(edir, 0700);
    /* official names: train gz'd, test raw */
    write_small(adir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 1);
    write_small(adir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 0);
    CHECK(actlab_data_open(adir, &tr, &te, err, sizeof err) == 0 && !strcmp(tr.name, "idx") && tr.classes == 10,
          "bare dir: %s", err);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    char spec[600];
    snprintf(spec, sizeof spec, "mnist:%s", adir);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) == 0, "%s: %s", spec, err);
    check_small(&tr, "mnist:DIR train");
    check_small(&te, "mnist:DIR test");
    CHECK(!strcmp(tr.name, "mnist") && !strcmp(te.name, "mnist") && !strcmp(tr.source, adir), "name %s source %s",
          tr.name, tr.source);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    snprintf(spec, sizeof spec, "Fashion_MNIST:%s", adir);
    CHECK(actlab_data_open(spec, &tr, NULL, err, sizeof err) == 0 && !strcmp(tr.name, "fashion-mnist"),
          "prefix ignores case and _: %s", err);
    check_small(&tr, "train only");
    actlab_dataset_free(&tr);
    snprintf(spec, sizeof spec, "mnist:%s", adir);
    CHECK(actlab_data_open(spec, NULL, &te, err, sizeof err) == 0, "test only: %s", err);
    check_small(&te, "test only");
    actlab_dataset_free(&te);
    /* the mirrors' spelling, as a bare directory: classes come from the labels */
    static const unsigned char lab7[3] = {6, 0, 2};
    write_idx(path_in(bdir, "train-images.idx3-ubyte"), 0x803, img_dims, 3, pix, sizeof pix, 0);
    write_idx(path_in(bdir, "train-labels.idx1-ubyte.gz"), 0x801, lab_dims, 1, lab7, 3, 1);
    write_idx(path_in(bdir, "t10k-images.idx3-ubyte.gz"), 0x803, img_dims, 3, pix, sizeof pix, 1);
    write_idx(path_in(bdir, "t10k-labels.idx1-ubyte"), 0x801, lab_dims, 1, lab7, 3, 0);
    CHECK(actlab_data_open(bdir, &tr, &te, err, sizeof err) == 0, "bare dir: %s", err);
    CHECK(!strcmp(tr.name, "idx") && tr.classes == 7 && te.classes == 7 && tr.count == 3 && te.labels[0] == 6,
          "bare dir: name %s, classes %d", tr.name, tr.classes);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    /* a bad test split: nothing is returned, not even the good training split */
    write_small(cdir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 0);
    write_idx(path_in(cdir, "t10k-images-idx3-ubyte"), 0x803, img_dims, 3, pix, sizeof pix, 0);
    write_idx(path_in(cdir, "t10k-labels-idx1-ubyte"), 0x801, lab_dims, 1, (const unsigned char *)"\x01\x02\x0b", 3, 0);
    snprintf(spec, sizeof spec, "mnist:%s", cdir);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) != 0 && strstr(err, "t10k-labels-idx1-ubyte: label 11 at "
                                                                                 "index 2 is out of range for 10 classes"),
          "bad test labels: %s", err);
    CHECK(is_empty(&tr) && is_empty(&te), "both splits empty after an error");
    /* bad specifications */
    struct {
        const char *spec, *want;
    } bad[] = {
        {"cifar11:/x", "unknown data set 'cifar11' in 'cifar11:/x'; accepted: fashion-mnist, fashion-mnist:DIR, "
                       "mnist:DIR, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR, folder:DIR, fer2013:DIR, or a directory of IDX files"},
        {"no-such-set", "'no-such-set' is neither a known data set nor a directory; accepted: fashion-mnist"},
        {"mnist", "'mnist' needs the directory its files are in: mnist:DIR"},
        {"mnist:", "'mnist:': expected a directory after 'mnist:'"},
        {"mnist:/no/such/dir", "/no/such/dir: not a directory (No such file or directory)"},
        {"", "empty data set specification"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK(actlab_data_open(bad[i].spec, &tr, &te, err, sizeof err) != 0 && strstr(err, bad[i].want),
              "'%s' should fail with '%s', got '%s'", bad[i].spec, bad[i].want, err);
    }
    snprintf(spec, sizeof spec, "mnist:%s", path_in(tmp, "raw-images"));
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) != 0 && strstr(err, "raw-images: not a directory (a file)"),
          "a file as directory: %s", err);
    snprintf(spec, sizeof spec, "mnist:%s", edir);
    snprintf(want, sizeof want,
             "%s: no train images file: expected train-images-idx3-ubyte or train-images.idx3-ubyte, with or without .gz",
             edir);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) != 0 && strstr(err, want), "empty dir: %s", err);
    CHECK(actlab_data_open(adir, NULL, NULL, err, sizeof err) != 0, "nothing to load is an error");
    /* the help text */
    char help[1024];
    size_t n = actlab_data_specs(help, sizeof help);
    CHECK(n == strlen(help) && strstr(help, "fashion-mnist[:DIR]") && strstr(help, "mnist:DIR") &&
              strstr(help, "dataset-fashion-mnist"),
          "help text: %s", help);
    char small[8];
    CHECK(actlab_data_specs(small, sizeof small) == n && strlen(small) == 7, "help text truncated like snprintf");
}

static void test_helpers(void) {
    char err[1024];
    actlab_dataset d;
    CHECK(actlab_idx_load(&d, path_in(tmp, "raw-images"), path_in(tmp, "raw-labels"), 10, err, sizeof err) == 0,
          "%s", err);
    CHECK(actlab_dataset_subset(&d, 0) != 0 && d.count == 3, "subset(0) refused, nothing changed");
    CHECK(actlab_dataset_subset(&d, 100) == 0 && d.count == 3, "subset larger than the set keeps all");
    CHECK(actlab_dataset_subset(&d, 2) == 0 && d.count == 2 && d.labels[1] == 9 && d.images[11] == (float)pix[11] / 255.0f,
          "subset keeps the first n");
    actlab_dataset_free(&d);

    /* two channels of 2x2, 3 images: channel 0 = 0..11, channel 1 constant 5 */
    memset(&d, 0, sizeof d);
    d.count = 3, d.channels = 2, d.height = 2, d.width = 2, d.classes = 2;
    d.images = malloc(24 * sizeof(float));
    d.labels = calloc(3, sizeof(int32_t));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            d.images[i * 8 + j] = (float)(i * 4 + j);
            d.images[i * 8 + 4 + j] = 5.0f;
        }
    double mean[2], std[2];
    actlab_dataset_channel_stats(&d, mean, std);
    CHECK(check_close(mean[0], 5.5, 1e-12, 0) && check_close(std[0], sqrt(143.0 / 12), 1e-12, 0),
          "channel 0: mean %g std %g, want 5.5 and sqrt(143/12) (population)", mean[0], std[0]);
    CHECK(mean[1] == 5 && std[1] == 0, "constant channel: mean %g std %g", mean[1], std[1]);
    actlab_dataset_normalise(&d, mean, std);
    double m2[2], s2[2];
    actlab_dataset_channel_stats(&d, m2, s2);
    CHECK(check_close(m2[0], 0, 0, 1e-6) && check_close(s2[0], 1, 1e-6, 0), "normalised: mean %g std %g", m2[0], s2[0]);
    CHECK(m2[1] == 0 && s2[1] == 0, "a constant channel is only shifted: %g %g", m2[1], s2[1]);
    actlab_dataset_free(&d);
}

/* ---- real data sets, when present ---- */

static void check_real(const char *spec, const char *dir, int64_t ntrain, int64_t ntest, double want_mean,
                       double want_std) {
    if (access(dir, R_OK) != 0) {
        printf("note: %s not found, skipping the %s checks\n", dir, spec);
        return;
    }
    char err[1024];
    actlab_dataset tr, te;
    double t0 = now();
    int rc = actlab_data_open(spec, &tr, &te, err, sizeof err);
    double t1 = now();
    CHECK(rc == 0, "%s: %s", spec, err);
    if (rc) return;
    printf("%s: loaded %lld + %lld images in %.2f s\n", spec, (long long)tr.count, (long long)te.count, t1 - t0);
    CHECK(tr.count == ntrain && te.count == ntest && tr.height == 28 && tr.width == 28 && tr.channels == 1 &&
              te.height == 28 && tr.classes == 10,
          "%s: %lld/%lld images of %dx%d", spec, (long long)tr.count, (long long)te.count, tr.height, tr.width);
    int64_t hist[2][10] = {{0}};
    int out = 0;
    for (int s = 0; s < 2; s++) {
        const actlab_dataset *d = s ? &te : &tr;
        for (int64_t i = 0; i < d->count; i++) {
            if (d->labels[i] < 0 || d->labels[i] > 9) out++;
            else hist[s][d->labels[i]]++;
        }
    }
    CHECK(!out, "%s: %d labels outside 0..9", spec, out);
    int present = 1;
    for (int k = 0; k < 10; k++) present &= hist[0][k] > 0 && hist[1][k] > 0;
    CHECK(present, "%s: every class in both splits", spec);
    if (!strcmp(spec, "fashion-mnist")) {
        int balanced = 1;
        for (int k = 0; k < 10; k++) balanced &= hist[0][k] == 6000 && hist[1][k] == 1000;
        CHECK(balanced, "fashion-mnist: 6000 / 1000 images per class");
    }
    double mean, std;
    t0 = now();
    actlab_dataset_channel_stats(&tr, &mean, &std);
    printf("%s: train pixels mean %.6f std %.6f (%.3f s)\n", spec, mean, std, now() - t0);
    CHECK(check_close(mean, want_mean, 0, 1e-5) && check_close(std, want_std, 0, 1e-5),
          "%s: mean %.6f std %.6f, want %.5f %.5f", spec, mean, std, want_mean, want_std);

    /* one epoch of the real training set through the loader */
    actlab_dataset_normalise(&tr, &mean, &std);
    actlab_loader *l = actlab_loader_new(&tr, 128, 1, 0, 42, err, sizeof err);
    CHECK(l != NULL, "loader: %s", err);
    if (l) {
        CHECK(actlab_loader_batches(l) == (ntrain + 127) / 128, "batches per epoch");
        int64_t *perm = malloc(ntrain * sizeof *perm);
        actlab_data_permutation(perm, ntrain, 42, 3);
        int64_t hist2[10] = {0}, seen = 0, bad = 0, last = 0;
        const float *x;
        const int32_t *y;
        int n;
        t0 = now();
        actlab_loader_start(l, 3, 0);
        while (actlab_loader_next(l, &x, &y, &n) == 1) {
            for (int i = 0; i < n; i++) {
                hist2[y[i]]++;
                int64_t k = perm[seen + i];
                bad += y[i] != tr.labels[k] || memcmp(x + (size_t)i * 784, tr.images + k * 784, 784 * sizeof(float));
            }
            seen += n;
            last = n;
        }
        double dt = now() - t0;
        printf("%s: one loader epoch of batch 128 in %.3f s (%.0f images/s)\n", spec, dt, ntrain / dt);
        int same = 1;
        for (int k = 0; k < 10; k++) same &= hist2[k] == hist[0][k];
        CHECK(seen == ntrain && same && last == ntrain % 128, "%s: an epoch covers the training set once", spec);
        CHECK(bad == 0, "%s: %lld images in the batches differ from the permuted set", spec, (long long)bad);
        free(perm);
        actlab_loader_free(l);
    }
    actlab_dataset_free(&tr);
    actlab_dataset_free(&te);
}

/* ---- the loader on a set whose pixels say which image they are ---- */

#define N 103

static actlab_dataset make_indexed(void) {
    actlab_dataset d;
    memset(&d, 0, sizeof d);
    d.count = N, d.channels = 1, d.height = 2, d.width = 2, d.classes = 10;
    d.images = malloc(N * 4 * sizeof(float));
    d.labels = malloc(N * sizeof(int32_t));
    for (int i = 0; i < N; i++) {
        float *p = d.images + 4 * i;
        p[0] = (float)i, p[1] = (float)-i, p[2] = i + 0.5f, p[3] = 7.0f;
        d.labels[i] = i % 10;
    }
    snprintf(d.name, sizeof d.name, "indexed");
    return d;
}

static int consistent(const float *p, int32_t y) {
    int i = (int)p[0];
    return i >= 0 && i < N && p[0] == (float)i && p[1] == (float)-i && p[2] == i + 0.5f && p[3] == 7.0f && y == i % 10;
}

/* Runs (the rest of) an epoch: the image order into idx, batch sizes into sizes; returns
 * the number of batches. Counts batches whose contents are inconsistent in *bad. */
static int run_epoch(actlab_loader *l, int64_t epoch, int64_t first, int *idx, int *sizes, int *bad, int slow) {
    const float *x;
    const int32_t *y;
    int n, nb = 0, k = 0;
    if (actlab_loader_start(l, epoch, first)) return -1;
    while (actlab_loader_next(l, &x, &y, &n) == 1) {
        if (slow) usleep(200); /* the thread is now free to run ahead: it must not touch this batch */
        for (int i = 0; i < n; i++) {
            *bad += !consistent(x + 4 * i, y[i]);
            idx[k++] = (int)x[4 * i];
        }
        sizes[nb++] = n;
    }
    return nb;
}

static int once_each(const int *idx, int n) {
    int seen[N] = {0};
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= N || seen[idx[i]]) return 0;
        seen[idx[i]] = 1;
    }
    return 1;
}

static int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_loader(void) {
    char err[1024];
    actlab_dataset d = make_indexed();
    int idx[N], idx2[N], sizes[N + 1], sizes2[N + 1], bad = 0;
    int64_t perm[N];
    /* threads counted after a first loader: ThreadSanitizer starts its own on the first pthread_create */
    actlab_loader_free(actlab_loader_new(&d, 10, 1, 0, 7, err, sizeof err));
    int threads0 = count_threads();

    actlab_loader *l = actlab_loader_new(&d, 10, 1, 0, 7, err, sizeof err);
    CHECK(l != NULL, "new: %s", err);
    if (!l) return;
    CHECK(actlab_loader_batches(l) == 11, "103 images in batches of 10: 11 batches, got %lld",
          (long long)actlab_loader_batches(l));
    CHECK(count_threads() == threads0 + 1, "one loader thread (%d -> %d)", threads0, count_threads());
    const float *x;
    const int32_t *y;
    int n;
    CHECK(actlab_loader_next(l, &x, &y, &n) == 0 && n == 0, "no batch before start");

    /* one epoch: every image once, 10 batches of 10 and one of 3, in the permutation's order */
    int nb = run_epoch(l, 0, 0, idx, sizes, &bad, 0);
    int sizes_ok = nb == 11;
    for (int b = 0; b < nb; b++) sizes_ok &= sizes[b] == (b < 10 ? 10 : 3);
    CHECK(sizes_ok, "epoch 0: %d batches, last of %d", nb, nb > 0 ? sizes[nb - 1] : -1);
    CHECK(once_each(idx, N), "epoch 0: every index exactly once");
    CHECK(bad == 0, "epoch 0: %d images with pixels or labels of another", bad);
    actlab_data_permutation(perm, N, 7, 0);
    int same = 1;
    for (int i = 0; i < N; i++) same &= idx[i] == perm[i];
    CHECK(same, "epoch 0 follows actlab_data_permutation(seed, 0)");
    CHECK(actlab_loader_next(l, &x, &y, &n) == 0 && actlab_loader_next(l, &x, &y, &n) == 0,
          "after the epoch, next keeps saying done");

    /* epoch 1 differs; epoch 1 of a fresh loader with the same seed is the same,
     * without running epoch 0 first; another seed differs */
    nb = run_epoch(l, 1, 0, idx2, sizes2, &bad, 0);
    CHECK(nb == 11 && once_each(idx2, N) && memcmp(idx, idx2, sizeof idx), "epoch 1: a different permutation");
    actlab_loader *l2 = actlab_loader_new(&d, 10, 1, 0, 7, err, sizeof err);
    nb = run_epoch(l2, 1, 0, idx, sizes, &bad, 1);
    CHECK(nb == 11 && !memcmp(idx, idx2, sizeof idx), "same (seed, epoch): same order (slow consumer too)");
    actlab_loader_free(l2);
    l2 = actlab_loader_new(&d, 10, 1, 0, 8, err, sizeof err);
    nb = run_epoch(l2, 1, 0, idx, sizes, &bad, 0);
    CHECK(nb == 11 && memcmp(idx, idx2, sizeof idx), "another seed: another order");
    actlab_loader_free(l2);

    /* resume at (epoch 2, batch k) = batches k.. of an uninterrupted epoch 2 */
    nb = run_epoch(l, 2, 0, idx2, sizes2, &bad, 0);
    static const int ks[] = {1, 5, 10, 11};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        int k = ks[t];
        l2 = actlab_loader_new(&d, 10, 1, 0, 7, err, sizeof err);
        int nb2 = run_epoch(l2, 2, k, idx, sizes, &bad, 0);
        int ok = nb2 == nb - k;
        for (int b = 0; ok && b < nb2; b++) ok = sizes[b] == sizes2[k + b];
        ok = ok && (k * 10 >= N || !memcmp(idx, idx2 + 10 * k, (size_t)(N - 10 * k) * sizeof(int)));
        CHECK(ok, "resume at (2, %d): %d batches, want the last %d of the epoch", k, nb2, nb - k);
        actlab_loader_free(l2);
    }

    /* restart in the middle of an epoch: the pending batches are dropped */
    actlab_loader_start(l, 2, 0);
    for (int b = 0; b < 3; b++) actlab_loader_next(l, &x, &y, &n);
    nb = run_epoch(l, 2, 0, idx, sizes, &bad, 0);
    CHECK(nb == 11 && !memcmp(idx, idx2, sizeof idx), "start again mid-epoch: the whole epoch, in order");
    CHECK(actlab_loader_start(l, 0, 12) != 0 && actlab_loader_start(l, 0, -1) != 0 && actlab_loader_start(l, -1, 0) != 0,
          "start refuses batches outside [0, 11] and negative epochs");
    CHECK(bad == 0, "%d inconsistent images overall", bad);
    actlab_loader_free(l);

    /* drop_last, no shuffle, one batch bigger than the set, batch 1 */
    l = actlab_loader_new(&d, 10, 0, 1, 7, err, sizeof err);
    nb = run_epoch(l, 5, 0, idx, sizes, &bad, 0);
    int ident = nb == 10;
    for (int i = 0; i < 100 && ident; i++) ident = idx[i] == i;
    for (int b = 0; b < nb && ident; b++) ident = sizes[b] == 10;
    CHECK(ident && actlab_loader_batches(l) == 10, "drop_last, no shuffle: 10 batches of 10 in order, got %d", nb);
    actlab_loader_free(l);
    l = actlab_loader_new(&d, 10, 1, 1, 7, err, sizeof err);
    nb = run_epoch(l, 0, 0, idx2, sizes2, &bad, 0);
    actlab_data_permutation(perm, N, 7, 0);
    same = nb == 10;
    for (int i = 0; i < 100 && same; i++) same = idx2[i] == perm[i];
    CHECK(same, "drop_last with shuffle: the first 100 of the permutation");
    actlab_loader_free(l);
    l = actlab_loader_new(&d, 500, 1, 0, 7, err, sizeof err);
    nb = run_epoch(l, 0, 0, idx, sizes, &bad, 0);
    CHECK(nb == 1 && sizes[0] == N && once_each(idx, N), "batch larger than the set: one partial batch");
    actlab_loader_free(l);
    CHECK(actlab_loader_new(&d, 500, 1, 1, 7, err, sizeof err) == NULL &&
              strstr(err, "has 103 images, fewer than one batch of 500"),
          "drop_last with no whole batch: %s", err);
    CHECK(actlab_loader_new(&d, 0, 1, 0, 7, err, sizeof err) == NULL && strstr(err, "batch size must be at least 1"),
          "batch 0: %s", err);
    l = actlab_loader_new(&d, 1, 1, 0, 7, err, sizeof err);
    nb = run_epoch(l, 9, 0, idx, sizes, &bad, 0);
    CHECK(nb == N && once_each(idx, N), "batch 1: 103 batches");
    actlab_loader_free(l);
    CHECK(bad == 0, "%d inconsistent images overall", bad);

    /* shutdown: with a gather in flight, right after start, never started; threads all gone */
    for (int r = 0; r < 200; r++) {
        l = actlab_loader_new(&d, 1 + r % 7, r & 1, 0, (uint64_t)r, err, sizeof err);
        if (r % 3) actlab_loader_start(l, r, 0);
        if (r % 3 == 2) actlab_loader_next(l, &x, &y, &n);
        actlab_loader_free(l);
    }
    actlab_loader_free(NULL);
    CHECK(count_threads() == threads0, "every loader thread joined: %d threads, %d before", count_threads(), threads0);
    actlab_dataset_free(&d);
}

static void test_permutation(void) {
    int64_t p[1000];
    actlab_data_permutation(p, 0, 1, 0);
    actlab_data_permutation(p, 1, 1, 0);
    CHECK(p[0] == 0, "n = 1");
    /* where element 0 lands, over many epochs: uniform over 10 positions */
    int64_t hist[10] = {0};
    for (int e = 0; e < 20000; e++) {
        actlab_data_permutation(p, 10, 3, e);
        for (int i = 0; i < 10; i++)
            if (p[i] == 0) hist[i]++;
    }
    double chi2 = 0;
    for (int i = 0; i < 10; i++) chi2 += (hist[i] - 2000.0) * (hist[i] - 2000.0) / 2000.0;
    CHECK(chi2 < 27.9, "position of element 0 uniform: chi2 %.1f over 9 degrees of freedom (p = 0.001 at 27.9)", chi2);
    actlab_data_permutation(p, 1000, 5, 123456789);
    int seen[1000] = {0}, ok = 1;
    for (int i = 0; i < 1000; i++) ok &= p[i] >= 0 && p[i] < 1000 && !seen[p[i]]++;
    CHECK(ok, "a permutation of 0..999");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/actlab-test-data-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    for (int i = 0; i < 18; i++) pix[i] = (unsigned char)(i == 0 ? 0 : i == 1 ? 255 : (i * 37 + 11) % 256);
    test_idx_good();
    test_idx_errors();
    test_open();
    test_helpers();
    test_permutation();
    test_loader();
    check_real("fashion-mnist", "/usr/share/datasets/fashion-mnist", 60000, 10000, 0.28604, 0.35302);
    check_real("mnist:" ACTLAB_TEST_DIR "/../../shared/data/mnist", ACTLAB_TEST_DIR "/../../shared/data/mnist", 60000,
               10000, 0.13066, 0.30811);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary("test_data");
}
