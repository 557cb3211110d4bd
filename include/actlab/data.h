/*
 * actlab/data.h — data sets in memory and the batch loader that feeds training.
 *
 *     char err[1024];
 *     actlab_dataset train, test;
 *     if (actlab_data_open("fashion-mnist", &train, &test, err, sizeof err)) { puts(err); ... }
 *     double mean[1], std[1];
 *     actlab_dataset_channel_stats(&train, mean, std);   // the training set's statistics ...
 *     actlab_dataset_normalise(&train, mean, std);       // ... applied to both splits
 *     actlab_dataset_normalise(&test, mean, std);
 *     actlab_loader *l = actlab_loader_new(&train, 128, 1, 0, seed, err, sizeof err);
 *     for (int64_t e = 0; e < epochs; e++) {
 *         actlab_loader_start(l, e, 0);                  // or (e, k) to resume at batch k
 *         const float *x; const int32_t *y; int n;
 *         while (actlab_loader_next(l, &x, &y, &n) == 1) train_step(x, y, n);
 *     }
 *     actlab_loader_free(l);
 *     actlab_dataset_free(&train); actlab_dataset_free(&test);
 *
 * Images are float32 in [count][channels][height][width] order (NCHW), labels
 * int32 in [0, classes). The data order of epoch e is a pure function of
 * (seed, e), and the augmentation of each image (actlab_loader_set_augment) one of
 * (seed, e, index), so a resumed run sees exactly the batches an uninterrupted one would.
 * Errors: non-zero return and a message naming the file and what was expected.
 */
#ifndef ACTLAB_DATA_H
#define ACTLAB_DATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct actlab_dataset {
    int64_t count;            /* images */
    int channels, height, width, classes;
    float *images;            /* [count][channels][height][width] */
    int32_t *labels;          /* [count] */
    char name[64];            /* "fashion-mnist", "mnist", ... */
    char source[1024];        /* the directory or file it came from */
} actlab_dataset;

/* ---- reading ---- */

/*
 * Read an IDX pair (the MNIST family's format), gzip'd or raw: images with
 * magic 0x00000803 (unsigned bytes, 3 dimensions: count, height, width),
 * labels with magic 0x00000801 (count). Pixels become pixel/255 in [0, 1],
 * one channel. Checks the magic numbers, the sizes against the file's length
 * (truncated or over-long files are refused), that the counts agree and that
 * every label is below `classes`. On error *out is left empty (zeroed).
 */
int actlab_idx_load(actlab_dataset *out, const char *images_path, const char *labels_path, int classes,
                    char *err, size_t errlen);

/*
 * Read CIFAR binary files (the official format: label byte(s), then 3072 bytes of
 * a 32x32 image, red, green, blue planes) into one set of 3-channel images in
 * [0,1]. CIFAR-10: label_bytes 1, label_index 0, classes 10. CIFAR-100:
 * label_bytes 2, label_index 1 (fine, 100 classes) or 0 (coarse, 20 classes).
 * A file that is not a whole number of records, or a label >= classes, is refused.
 */
int actlab_cifar_load(actlab_dataset *out, const char *const *paths, int npaths, int label_bytes, int label_index,
                      int classes, char *err, size_t errlen);

/*
 * Decode one JPEG or PNG file (recognised by its first bytes, not its name) into
 * *out, malloc'd float [c][h][w] in [0,1] (pixel/255), RGB order. channels: 0
 * keeps the file's (1 grey, 3 colour), 1 converts colour with the ITU-R 601 luma
 * (0.299 R + 0.587 G + 0.114 B, rounded as PIL), 3 repeats grey; alpha is
 * dropped. height and width: 0 and 0 keep the file's size, else a bilinear
 * resize (half-pixel centres, no antialiasing: torch's interpolate with
 * align_corners=False). c, h, w receive the shape (each may be NULL). A corrupt
 * or truncated file is an error naming it.
 */
int actlab_image_load(const char *path, int channels, int height, int width, float **out, int *c, int *h, int *w,
                      char *err, size_t errlen);

/*
 * Open a data set by specification:
 *   fashion-mnist        Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
 *   fashion-mnist:DIR    Fashion-MNIST IDX files in DIR
 *   mnist:DIR            MNIST IDX files in DIR
 *   cifar10:DIR          CIFAR-10 binary: DIR/data_batch_*.bin (train), DIR/test_batch*.bin (test);
 *                        without them, JPEG/PNG folders DIR/{train,test}/<class>/ (32x32 colour),
 *                        labels in the order of batches.meta.txt (airplane 0 ... truck 9),
 *                        and then cifar10:DIR,OPT... takes the image-folder options
 *   cifar100:DIR         CIFAR-100 binary, fine labels: DIR/train.bin, DIR/test.bin
 *   cifar100-coarse:DIR  the same with the 20 coarse labels
 *   folder:DIR[,OPT...]  JPEG and PNG images, one sub-folder per class (torchvision's
 *                        ImageFolder): DIR/train/<class>/ with DIR/test/<class>/ (or
 *                        DIR/validation/<class>/ when there is no test/; when test/ is
 *                        there validation/ is not read). Class folders directly in DIR,
 *                        or DIR/train/ alone, are a training set only: asking for test
 *                        is then an error.
 *                        Labels are the indices of the sorted (strcmp) class folder
 *                        names, which both splits must share; files come in name order.
 *   fer2013:DIR[,OPT...] FER2013 in that layout: class folders angry, disgust, fear,
 *                        happy, sad, surprise, neutral (no others, all present), labelled
 *                        0..6 in that order as in fer2013.csv; every file 48x48 grey
 *   DIR                  any directory with IDX files (name "idx")
 * Image-folder options, comma-separated after DIR: size=HxW (or size=N) resizes
 * every image (bilinear, as actlab_image_load); without it all images must have
 * the size of the first training image. grey / colour: 1 or 3 channels (default:
 * the first training image's; other images are converted). test=FOLDER: that
 * sub-folder is the test split. nocache: do not use the decode cache. Hidden
 * files (.DS_Store) are skipped; any other file in a class folder must be a JPEG
 * or PNG, and a class folder may not be empty or hold folders.
 * Decoded image folders are cached (8-bit pixels, labels, shape, class names) in
 * $ACTLAB_CACHE, else $XDG_CACHE_HOME/actlab, else ~/.cache/actlab, one file per
 * split named after the folder and a hash of its real path and the options. The
 * cache holds a fingerprint of every file's relative path, size and modification
 * time and a checksum: a changed, added or removed file, or a damaged cache,
 * means decoding again and rewriting it; a cache that cannot be written is no error.
 * IDX files are found as train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...,
 * with or without .gz, or spelled train-images.idx3-ubyte. Prefixes ignore
 * case, and '-' equals '_'. train or test may be NULL to load only the other
 * split. On error both are left empty.
 */
int actlab_data_open(const char *spec, actlab_dataset *train, actlab_dataset *test, char *err, size_t errlen);

/* The accepted specifications, one per line, for help texts: written into buf
 * like snprintf (truncated to len), returning the length of the whole text. */
size_t actlab_data_specs(char *buf, size_t len);

/* Frees the arrays and zeroes the struct; safe on a zeroed or already freed set. */
void actlab_dataset_free(actlab_dataset *d);

/* Keep only the first n images (small tests and runs). Returns 0, or non-zero
 * (and changes nothing) when n < 1. n >= count keeps everything. */
int actlab_dataset_subset(actlab_dataset *d, int64_t n);

/*
 * Hold out `fraction` (0 < fraction < 1) of d as a validation set: d keeps the
 * rest, *val gets round(fraction * count) images, both in d's original order.
 * Stratified: each class gives floor(fraction * its count) images, and the
 * images left to reach the total go to the classes with the largest remainders
 * (ties: the lower label). Which images of a class go is a seeded shuffle of
 * (seed, class), so the split is a pure function of (labels, fraction, seed).
 * Errors (nothing changed, *val zeroed): fraction outside (0, 1), or a side
 * left empty.
 */
int actlab_dataset_split(actlab_dataset *d, actlab_dataset *val, double fraction, uint64_t seed, char *err,
                         size_t errlen);

/* Per-channel mean and population standard deviation over every pixel of the
 * set; mean and std have room for d->channels values. */
void actlab_dataset_channel_stats(const actlab_dataset *d, double *mean, double *std);

/* x = (x - mean[c]) / std[c] for every pixel of channel c. A channel with
 * std <= 0 (constant) is only shifted. */
void actlab_dataset_normalise(actlab_dataset *d, const double *mean, const double *std);

/* ---- batches ---- */

/*
 * The order of epoch `epoch`: out[0..n) becomes a permutation of 0..n-1,
 * by Fisher-Yates driven by a counter-based generator of (seed, epoch), so it
 * depends on nothing else (not on thread count, history or other epochs).
 */
void actlab_data_permutation(int64_t *out, int64_t n, uint64_t seed, int64_t epoch);

/*
 * A batch loader: a background thread (plain pthread, no OpenMP) gathers the
 * next batch into one of two buffers while the caller trains on the other.
 * The data set must stay unchanged while the loader exists (normalise first).
 */
typedef struct actlab_loader actlab_loader;

/* shuffle: 0 keeps the data set's order; drop_last: 1 drops the last partial
 * batch (an error when that leaves no batch). */
actlab_loader *actlab_loader_new(const actlab_dataset *d, int batch, int shuffle, int drop_last, uint64_t seed,
                                 char *err, size_t errlen);

/* Begin epoch `epoch` at batch `first_batch` (0 normally; k to resume after
 * k batches). May be called at any time: batches of a previous start not yet
 * taken are discarded. Returns 0, or non-zero when epoch < 0 or first_batch
 * is outside [0, batches]. */
int actlab_loader_start(actlab_loader *l, int64_t epoch, int64_t first_batch);

/* The next batch: *x is [*n][c][h][w], *y is [*n]. Returns 1 for a batch, 0 when
 * the epoch is done (or none was started). The buffers stay valid until the next
 * call of next, start or free. */
int actlab_loader_next(actlab_loader *l, const float **x, const int32_t **y, int *n);

/* Batches per epoch. */
int64_t actlab_loader_batches(const actlab_loader *l);

/* Stops and joins the thread and frees everything; NULL is fine. */
void actlab_loader_free(actlab_loader *l);

/* ---- augmentation (training batches only) ---- */

/*
 * Random crop and horizontal flip, as torchvision's RandomCrop(size, padding=pad)
 * and RandomHorizontalFlip(): the image is padded by `pad` pixels of `fill` on
 * every side, cut back to its own size at an offset (dy, dx) uniform in
 * [0, 2 pad]^2, then mirrored left-right with probability 1/2. The draws of a
 * sample are a pure function of (seed, epoch, index in the data set), so they do
 * not depend on batch order, thread count or history, and a resumed run sees the
 * same images. The loader applies them in its own thread; evaluation never does.
 */
typedef struct actlab_augment {
    int pad;            /* 0: no crop */
    int flip;           /* 1: random horizontal flip */
    const float *fill;  /* [channels] value of padded pixels; NULL: 0. Data already
                         * normalised should pad with what a raw 0 pixel became,
                         * -mean/std (torchvision pads before Normalize) */
} actlab_augment;

typedef struct actlab_augment_draw {
    int dy, dx;         /* crop offset in the padded image, each in [0, 2 pad] */
    int flip;
} actlab_augment_draw;

/* "none", or a comma list of "crop" and "flip" (any order): out gets flip and a
 * pad of `pad` when crop is named (0 otherwise), fill NULL. Errors name the word. */
int actlab_augment_parse(const char *text, int pad, actlab_augment *out, char *err, size_t errlen);

/* The canonical text ("none", "crop", "flip", "crop,flip"), like snprintf. */
size_t actlab_augment_describe(const actlab_augment *a, char *buf, size_t len);

/* The draws for sample `index` of epoch `epoch`. */
actlab_augment_draw actlab_augment_draw_for(const actlab_augment *a, uint64_t seed, int64_t epoch, int64_t index);

/* out = the augmented in, both [channels][height][width]; out != in. */
void actlab_augment_apply(const actlab_augment *a, const actlab_augment_draw *draw, float *out, const float *in,
                          int channels, int height, int width);

/* Augment the loader's batches from the next actlab_loader_start on (the fill
 * values are copied). A batch in flight is discarded, as by start. NULL or
 * {0} turns augmentation off. Errors: pad < 0 or above 65536. */
int actlab_loader_set_augment(actlab_loader *l, const actlab_augment *a, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
