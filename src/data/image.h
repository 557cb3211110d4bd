/* image.h — image decoding (image.c) and image-folder data sets (folder.c); internal. */
#ifndef ACTLAB_DATA_IMAGE_H
#define ACTLAB_DATA_IMAGE_H
#include <stddef.h>
#include "actlab/data.h"

/* ---- decoding (image.c) ---- */

enum { IMAGE_NONE = 0, IMAGE_JPEG, IMAGE_PNG };

/* The kind of image that starts with these bytes (the magic numbers, never the file's name). */
int image_sniff(const unsigned char *head, size_t n);

/* A decoded image in the file's own layout: 8-bit, [height][width][channels],
 * channels 1 (grey) or 3 (RGB); any alpha channel has been dropped. */
typedef struct image_u8 {
    int channels, height, width;
    unsigned char *pixels; /* malloc'd */
} image_u8;

/* Read and decode one JPEG or PNG file. Messages name the path. */
int image_read(const char *path, image_u8 *out, char *err, size_t errlen);

/* in to planar [channels][height][width] bytes in out: grey expanded to three
 * equal planes, colour to grey with PIL's ITU-R 601 luma, then a bilinear
 * resize when the size differs. Returns -1 only when out of memory. */
int image_to_planes(const image_u8 *in, int channels, int height, int width, unsigned char *out);

/* ---- image folders (folder.c) ---- */

/* What a named layout fixes; a plain folder: data set fixes nothing (all 0/NULL). */
typedef struct folder_kind {
    const char *name;                /* "folder", "fer2013", "cifar10": messages and the cache key */
    const char *const *classes;      /* the class folders in label order; NULL: sorted folder names */
    int nclasses;
    int channels, height, width;     /* every file's own shape; 0: any */
} folder_kind;

/* Open "DIR" or "DIR,OPTION,..." (options: see actlab/data.h) as a folder data
 * set of that kind. train or test may be NULL. */
int folder_open(const char *arg, const folder_kind *kind, actlab_dataset *train, actlab_dataset *test, char *err,
                size_t errlen);

/* The directory part of "DIR,OPTION,...": arg itself when it is a directory,
 * else its shortest prefix before a ',' that is one, else the part before the
 * first ','. Written into buf; returns buf. */
const char *folder_dir_part(const char *arg, char *buf, size_t len);

#endif
