/*
 * test_folder.c — image-folder data sets (folder:, fer2013:, cifar10: as JPEG
 * folders) on JPEG and PNG files written here with libjpeg and libpng: class
 * order and labels, pixel values in planar RGB, grey/colour conversion,
 * resizing, the train/test layouts, the decode cache (hit, invalidation,
 * damage, no place to write), every error case, and the real FER2013 and
 * CIFAR-10 JPEGs from ../shared/data when they are there (a few hundred files
 * extracted, not the whole archives).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jpeglib.h>
#include <png.h>
#include "actlab/data.h"
#include "check.h"

static char root[] = "/tmp/actlab-folder-XXXXXX";
static char cache_dir[300];

/* root/rel, its parent folders created */
static const char *at(const char *rel) {
    static char buf[4][600];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    return p;
}

static void mkdirs(const char *rel) {
    char r[600];
    snprintf(r, sizeof r, "%s/x", rel);
    at(r);
}

/* px is [h][w][c]; level 0 stores the data uncompressed, so the file's size depends only on w, h and c. */
static void write_png(const char *rel, int w, int h, int c, const unsigned char *px, int level) {
    FILE *f = fopen(at(rel), "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, c == 1 ? PNG_COLOR_TYPE_GRAY : c == 2 ? PNG_COLOR_TYPE_GA
                 : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level);
    png_set_filter(png, 0, PNG_FILTER_NONE);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, px + (size_t)y * w * c);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

/* Quality 100 without chroma subsampling: values come back within a few levels. */
static void write_jpeg(const char *rel, int w, int h, int c, const unsigned char *px) {
    FILE *f = fopen(at(rel), "wb");
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w, ci.image_height = (JDIMENSION)h;
    ci.input_components = c, ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    for (int i = 0; i < ci.num_components; i++) ci.comp_info[i].h_samp_factor = ci.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)ci.next_scanline * w * c;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

static void write_bytes(const char *rel, const void *data, size_t n) {
    FILE *f = fopen(at(rel), "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A w x h colour image whose pixel (y, x) is (10 + 3y + x + seed, 100 + 2x, 200 - 5y) */
static unsigned char *pattern_rgb(int w, int h, int seed) {
    unsigned char *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *q = p + ((size_t)y * w + x) * 3;
            q[0] = (unsigned char)(10 + 3 * y + x + seed), q[1] = (unsigned char)(100 + 2 * x), q[2] = (unsigned char)(200 - 5 * y);
        }
    return p;
}

static unsigned char *pattern_grey(int w, int h, int seed) {
    unsigned char *p = malloc((size_t)w * h);
    for (int i = 0; i < w * h; i++) p[i] = (unsigned char)(seed + 7 * i);
    return p;
}

static int luma(const unsigned char *rgb) { return (int)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16); }

static float px(const actlab_dataset *d, int64_t i, int c, int y, int x) {
    return d->images[((i * d->channels + c) * d->height + y) * d->width + x];
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static int open_spec(const char *fmt, const char *dir, actlab_dataset *tr, actlab_dataset *te, char *err, size_t len) {
    char spec[1024];
    snprintf(spec, sizeof spec, fmt, dir);
    err[0] = 0;
    return actlab_data_open(spec, tr, te, err, len);
}

/* ---- the pixels, the order, the conversions ---- */

static void check_png_colour(void) {
    unsigned char *a = pattern_rgb(5, 4, 0), *b = pattern_rgb(5, 4, 20), *c = pattern_rgb(5, 4, 40);
    /* created out of order: classes and files must come back sorted */
    write_png("one/zebra/b.png", 5, 4, 3, c, 6);
    write_png("one/ant/y.png", 5, 4, 3, b, 6);
    write_png("one/ant/x.png", 5, 4, 3, a, 6);
    write_bytes("one/ant/.DS_Store", "junk", 4);
    write_bytes("one/README.txt", "a file beside the class folders is ignored", 43);
    char err[1024];
    actlab_dataset tr, te;
    CHECK(open_spec("folder:%s", at("one"), &tr, NULL, err, sizeof err) == 0, "colour PNGs: %s", err);
    CHECK(tr.count == 3 && tr.classes == 2 && tr.channels == 3 && tr.height == 4 && tr.width == 5,
          "shape %lld %d %dx%dx%d", (long long)tr.count, tr.classes, tr.channels, tr.height, tr.width);
    CHECK(tr.labels[0] == 0 && tr.labels[1] == 0 && tr.labels[2] == 1, "labels %d %d %d", tr.labels[0], tr.labels[1], tr.labels[2]);
    int bad = 0;
    const unsigned char *src[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 5; x++) bad += px(&tr, i, ch, y, x) != src[i][(y * 5 + x) * 3 + ch] / 255.0f;
    CHECK(bad == 0, "exact planar RGB values in name order: %d wrong", bad);
    CHECK(!strcmp(tr.name, "folder"), "name %s", tr.name);
    actlab_dataset_free(&tr);
    CHECK(open_spec("folder:%s", at("one"), &tr, &te, err, sizeof err) != 0 && strstr(err, "no test split") &&
              strstr(err, "train/<class>") && tr.count == 0,
          "a test split asked of a flat folder: %s", err);
    free(a), free(b), free(c);
}

static void check_grey_colour(void) {
    unsigned char *g = pattern_grey(4, 3, 5), *rgb = pattern_rgb(4, 3, 0);
    write_png("mix/a/1.png", 4, 3, 1, g, 6);
    write_png("mix/a/2.png", 4, 3, 3, rgb, 6);
    char err[1024];
    actlab_dataset tr;
    CHECK(open_spec("folder:%s", at("mix"), &tr, NULL, err, sizeof err) == 0 && tr.channels == 1,
          "the first image (grey) decides: %s", err);
    int bad = 0;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) {
            bad += px(&tr, 0, 0, y, x) != g[y * 4 + x] / 255.0f;
            bad += px(&tr, 1, 0, y, x) != luma(rgb + (y * 4 + x) * 3) / 255.0f;
        }
    CHECK(bad == 0, "colour to grey with PIL's ITU-R 601 luma: %d wrong", bad);
    actlab_dataset_free(&tr);
    CHECK(open_spec("folder:%s,colour", at("mix"), &tr, NULL, err, sizeof err) == 0 && tr.channels == 3, "colour: %s", err);
    bad = 0;
    for (int ch = 0; ch < 3; ch++) bad += px(&tr, 0, ch, 2, 3) != g[11] / 255.0f || px(&tr, 1, ch, 2, 3) != rgb[33 + ch] / 255.0f;
    CHECK(bad == 0, "grey expanded to three equal planes, colour kept");
    actlab_dataset_free(&tr);
    /* a colour set with a grey image: expanded */
    write_png("mix2/a/1.png", 4, 3, 3, rgb, 6);
    write_png("mix2/a/2.png", 4, 3, 1, g, 6);
    write_png("mix2/a/3.png", 4, 3, 4, (unsigned char[48]){0}, 6); /* RGBA: alpha dropped */
    CHECK(open_spec("folder:%s", at("mix2"), &tr, NULL, err, sizeof err) == 0 && tr.channels == 3 &&
              px(&tr, 1, 2, 1, 1) == g[5] / 255.0f && px(&tr, 2, 0, 0, 0) == 0,
          "colour set, grey image expanded, RGBA read as RGB: %s", err);
    actlab_dataset_free(&tr);
    CHECK(open_spec("folder:%s,grey", at("mix2"), &tr, NULL, err, sizeof err) == 0 && tr.channels == 1 &&
              px(&tr, 0, 0, 1, 2) == luma(rgb + 6 * 3) / 255.0f,
          "grey option: %s", err);
    actlab_dataset_free(&tr);
    /* the public single-image call */
    float *f;
    int c, h, w;
    CHECK(actlab_image_load(at("mix/a/2.png"), 0, 0, 0, &f, &c, &h, &w, err, sizeof err) == 0 && c == 3 && h == 3 && w == 4 &&
              f[1 * 12 + 2 * 4 + 1] == rgb[(2 * 4 + 1) * 3 + 1] / 255.0f,
          "actlab_image_load: %s", err);
    free(f);
    CHECK(actlab_image_load(at("mix/a/2.png"), 1, 6, 8, &f, &c, &h, &w, err, sizeof err) == 0 && c == 1 && h == 6 && w == 8,
          "actlab_image_load grey, resized: %s", err);
    free(f);
    free(g), free(rgb);
}

static void check_jpeg(void) {
    /* left half red, right half blue, a grey ramp: channel order and values within JPEG's error */
    unsigned char rgb[16 * 16 * 3], grey[16 * 16];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            unsigned char *q = rgb + (y * 16 + x) * 3;
            q[0] = x < 8 ? 220 : 20, q[1] = 60, q[2] = x < 8 ? 30 : 240;
            grey[y * 16 + x] = (unsigned char)(40 + 8 * x);
        }
    write_jpeg("jpg/colour/a.jpg", 16, 16, 3, rgb);
    write_jpeg("jpg/colour/b.jpeg", 16, 16, 1, grey);
    write_png("jpg/colour/c.bin", 16, 16, 3, rgb, 6); /* a PNG by content, whatever the name */
    char err[1024];
    actlab_dataset tr;
    CHECK(open_spec("folder:%s", at("jpg"), &tr, NULL, err, sizeof err) == 0 && tr.count == 3 && tr.channels == 3,
          "JPEG colour and grey, PNG named .bin: %s", err);
    double worst = 0;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            for (int c = 0; c < 3; c++) {
                double d = fabs(px(&tr, 0, c, y, x) * 255.0 - rgb[(y * 16 + x) * 3 + c]);
                double e = fabs(px(&tr, 1, c, y, x) * 255.0 - grey[y * 16 + x]);
                worst = fmax(worst, fmax(d, e));
            }
    CHECK(worst <= 4, "JPEG quality 100 within 4 levels, red left and blue right: worst %g", worst);
    CHECK(px(&tr, 2, 0, 3, 2) == 220 / 255.0f && px(&tr, 2, 2, 3, 12) == 240 / 255.0f, "PNG found by its magic bytes");
    actlab_dataset_free(&tr);
}

/* PNG forms beyond 8-bit grey/RGB: 16-bit (high byte kept), palette (expanded to RGB),
 * 1-bit grey (to 0/255), Adam7 interlacing. */
static void write_png_form(const char *rel, int w, int h, int depth, int type, int interlace, const unsigned char *rows,
                           size_t rowbytes) {
    FILE *f = fopen(at(rel), "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[2] = {{10, 20, 30}, {200, 150, 100}};
        png_set_PLTE(png, info, pal, 2);
    }
    png_write_info(png, info);
    png_bytep rp[8];
    for (int y = 0; y < h; y++) rp[y] = (png_bytep)rows + (size_t)y * rowbytes;
    png_write_image(png, rp);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void check_png_forms(void) {
    unsigned char g16[4 * 8 * 2], pal[4 * 8], bits[8], rgb[4 * 8 * 3];
    for (int i = 0; i < 32; i++) {
        g16[2 * i] = (unsigned char)(7 * i), g16[2 * i + 1] = 0xEE; /* big-endian: high byte first */
        pal[i] = (unsigned char)(i % 2);
        rgb[3 * i] = (unsigned char)i, rgb[3 * i + 1] = (unsigned char)(2 * i), rgb[3 * i + 2] = (unsigned char)(3 * i);
    }
    for (int y = 0; y < 8; y++) bits[y] = y % 2 ? 0x50 : 0xA0; /* 4 pixels a row in the top bits: 1010 / 0101 */
    write_png_form("forms/a/g16.png", 4, 8, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, g16, 8);
    write_png_form("forms/a/pal.png", 4, 8, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, pal, 4);
    write_png_form("forms/a/bit.png", 4, 8, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, bits, 1);
    write_png_form("forms/a/rgb7.png", 4, 8, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, rgb, 12);
    char err[1024];
    actlab_dataset tr;
    CHECK(open_spec("folder:%s,colour", at("forms"), &tr, NULL, err, sizeof err) == 0 && tr.count == 4, "PNG forms: %s", err);
    if (tr.count != 4) return;
    /* name order: bit, g16, pal, rgb7 */
    CHECK(px(&tr, 0, 0, 0, 0) == 1 && px(&tr, 0, 0, 0, 1) == 0 && px(&tr, 0, 1, 1, 1) == 1, "1-bit grey to 0 and 255");
    CHECK(px(&tr, 1, 0, 2, 3) == (7 * 11) / 255.0f, "16-bit keeps the high byte: %g", px(&tr, 1, 0, 2, 3) * 255);
    CHECK(px(&tr, 2, 0, 0, 0) == 10 / 255.0f && px(&tr, 2, 2, 0, 1) == 100 / 255.0f, "palette to RGB");
    int bad = 0;
    for (int i = 0; i < 32; i++) bad += px(&tr, 3, 2, i / 4, i % 4) != rgb[3 * i + 2] / 255.0f;
    CHECK(bad == 0, "Adam7 interlaced: %d wrong", bad);
    actlab_dataset_free(&tr);
}

static void check_resize(void) {
    /* 4x4 to 2x2: each output blends the 2x2 block under it equally */
    unsigned char g[16] = {0, 40, 100, 100, 80, 120, 100, 100, 10, 10, 0, 0, 10, 10, 0, 200};
    write_png("rs/a/big.png", 4, 4, 1, g, 6);
    unsigned char s[4] = {0, 200, 100, 100};
    write_png("rs/a/small.png", 2, 2, 1, s, 6);
    char err[1024];
    actlab_dataset tr;
    CHECK(open_spec("folder:%s", at("rs"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "small.png is 2x2") &&
              strstr(err, "big.png is 4x4") && strstr(err, "size=HxW"),
          "sizes differ without a resize: %s", err);
    CHECK(open_spec("folder:%s,size=2x2", at("rs"), &tr, NULL, err, sizeof err) == 0 && tr.height == 2 && tr.width == 2,
          "size=2x2: %s", err);
    CHECK(px(&tr, 0, 0, 0, 0) == 60 / 255.0f && px(&tr, 0, 0, 0, 1) == 100 / 255.0f && px(&tr, 0, 0, 1, 0) == 10 / 255.0f &&
              px(&tr, 0, 0, 1, 1) == 50 / 255.0f && px(&tr, 1, 0, 1, 0) == 100 / 255.0f,
          "downscale by 2 averages 2x2 blocks: %g %g %g %g", px(&tr, 0, 0, 0, 0) * 255, px(&tr, 0, 0, 0, 1) * 255,
          px(&tr, 0, 0, 1, 0) * 255, px(&tr, 0, 0, 1, 1) * 255);
    actlab_dataset_free(&tr);
    CHECK(open_spec("folder:%s,size=4", at("rs"), &tr, NULL, err, sizeof err) == 0 && tr.height == 4 && tr.width == 4,
          "size=4: %s", err);
    /* upscale 2 to 4: x' = 1 samples 0.25 between pixels 0 and 1; edges clamp */
    CHECK(px(&tr, 1, 0, 0, 0) == 0 && px(&tr, 1, 0, 0, 1) == 50 / 255.0f && px(&tr, 1, 0, 0, 3) == 200 / 255.0f &&
              px(&tr, 1, 0, 3, 0) == 100 / 255.0f && px(&tr, 0, 0, 2, 3) == 0,
          "upscale, bilinear with half-pixel centres: %g %g", px(&tr, 1, 0, 0, 1) * 255, px(&tr, 1, 0, 0, 3) * 255);
    actlab_dataset_free(&tr);
    CHECK(open_spec("folder:%s,size=3x", at("rs"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "size=HEIGHTxWIDTH"),
          "bad size: %s", err);
}

/* ---- layouts ---- */

static void check_splits(void) {
    unsigned char *g = pattern_grey(3, 3, 1);
    const char *files[] = {"sp/train/cat/1.png", "sp/train/cat/2.png", "sp/train/dog/1.png", "sp/test/cat/1.png",
                           "sp/test/dog/1.png", "sp/test/dog/2.png", "sp/test/dog/3.png", "sp/validation/dog/9.png",
                           "sp/validation/cat/9.png"};
    for (int i = 0; i < 9; i++) write_png(files[i], 3, 3, 1, g, 6);
    char err[1024];
    actlab_dataset tr, te;
    CHECK(open_spec("folder:%s", at("sp"), &tr, &te, err, sizeof err) == 0 && tr.count == 3 && te.count == 4 &&
              te.classes == 2 && te.labels[0] == 0 && te.labels[3] == 1,
          "train/ and test/ (validation/ not read): %s", err);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    CHECK(open_spec("folder:%s,test=validation", at("sp"), NULL, &te, err, sizeof err) == 0 && te.count == 2,
          "test=validation: %s", err);
    actlab_dataset_free(&te);
    CHECK(open_spec("folder:%s,test=nope", at("sp"), NULL, &te, err, sizeof err) != 0 && strstr(err, "sp/nope/"),
          "test= a missing folder: %s", err);
    write_png("sp3/train/a/1.png", 3, 3, 1, g, 6);
    CHECK(open_spec("folder:%s", at("sp3"), &tr, NULL, err, sizeof err) == 0 && tr.count == 1 && tr.classes == 1,
          "train/ alone is the training split: %s", err);
    actlab_dataset_free(&tr);
    CHECK(open_spec("folder:%s", at("sp3"), &tr, &te, err, sizeof err) != 0 && strstr(err, "no test split") &&
              strstr(err, "nor validation/"),
          "train/ alone and a test split asked for: %s", err);
    write_png("sp2/train/a/1.png", 3, 3, 1, g, 6);
    write_png("sp2/validation/a/1.png", 3, 3, 1, g, 6);
    write_png("sp2/validation/a/2.png", 3, 3, 1, g, 6);
    CHECK(open_spec("folder:%s", at("sp2"), &tr, &te, err, sizeof err) == 0 && tr.count == 1 && te.count == 2,
          "validation/ is the test split when there is no test/: %s", err);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    write_png("sp2/validation/bird/1.png", 3, 3, 1, g, 6);
    CHECK(open_spec("folder:%s", at("sp2"), &tr, &te, err, sizeof err) != 0 && strstr(err, "'bird'") &&
              strstr(err, "validation") && strstr(err, "same classes"),
          "splits with different classes: %s", err);
    free(g);
}

/* ---- the cache ---- */

static void set_mtime(const char *path, time_t t) {
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    utimensat(AT_FDCWD, path, ts, 0);
}

static void check_cache(void) {
    snprintf(cache_dir, sizeof cache_dir, "%s/cache-own", root); /* created by the first open */
    setenv("ACTLAB_CACHE", cache_dir, 1);
    unsigned char *a = pattern_rgb(6, 5, 0), *b = pattern_rgb(6, 5, 50);
    write_png("ca/train/x/1.png", 6, 5, 3, a, 0);
    write_png("ca/test/x/1.png", 6, 5, 3, a, 0);
    const char *src = at("ca/train/x/1.png");
    set_mtime(src, 1000000000);
    char err[1024];
    actlab_dataset tr, te;
    CHECK(open_spec("folder:%s", at("ca"), &tr, &te, err, sizeof err) == 0, "first open: %s", err);
    CHECK(count_files(cache_dir) == 2, "one cache file per split: %d", count_files(cache_dir));
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    /* same size and time, other pixels: an open that reads the cache still sees the old ones */
    long size = file_size(src);
    write_png("ca/train/x/1.png", 6, 5, 3, b, 0);
    set_mtime(src, 1000000000);
    CHECK(file_size(src) == size, "the uncompressed PNG keeps its size");
    CHECK(open_spec("folder:%s", at("ca"), &tr, &te, err, sizeof err) == 0 && px(&tr, 0, 0, 0, 0) == a[0] / 255.0f,
          "second open comes from the cache: %s", err);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    set_mtime(src, 1000000001); /* touched */
    CHECK(open_spec("folder:%s", at("ca"), &tr, NULL, err, sizeof err) == 0 && px(&tr, 0, 0, 0, 0) == b[0] / 255.0f,
          "a touched file is decoded again: %s", err);
    actlab_dataset_free(&tr);
    CHECK(count_files(cache_dir) == 2, "rewritten in place, nothing left over: %d", count_files(cache_dir));
    /* a new file in a class changes the fingerprint too */
    write_png("ca/train/x/2.png", 6, 5, 3, a, 0);
    CHECK(open_spec("folder:%s", at("ca"), &tr, NULL, err, sizeof err) == 0 && tr.count == 2, "added file: %s", err);
    actlab_dataset_free(&tr);
    /* damaged caches: truncated, then one flipped byte; both ignored and rewritten */
    DIR *d = opendir(cache_dir);
    struct dirent *e;
    char train_cache[700] = "";
    while ((e = readdir(d)))
        if (strstr(e->d_name, "-train-")) snprintf(train_cache, sizeof train_cache, "%s/%s", cache_dir, e->d_name);
    closedir(d);
    long full = file_size(train_cache);
    CHECK(full > 2 * 90 && truncate(train_cache, full / 2) == 0, "truncate %s", train_cache);
    CHECK(open_spec("folder:%s", at("ca"), &tr, NULL, err, sizeof err) == 0 && tr.count == 2 &&
              px(&tr, 1, 2, 4, 5) == a[(4 * 6 + 5) * 3 + 2] / 255.0f && file_size(train_cache) == full,
          "truncated cache ignored and rewritten: %s", err);
    actlab_dataset_free(&tr);
    int fd = open(train_cache, O_RDWR);
    unsigned char byte;
    CHECK(pread(fd, &byte, 1, full - 3) == 1, "read cache");
    byte ^= 0x40;
    CHECK(pwrite(fd, &byte, 1, full - 3) == 1, "damage cache");
    close(fd);
    CHECK(open_spec("folder:%s", at("ca"), &tr, NULL, err, sizeof err) == 0 &&
              px(&tr, 1, 2, 4, 3) == a[(4 * 6 + 3) * 3 + 2] / 255.0f,
          "a flipped byte fails the checksum: decoded again: %s", err);
    actlab_dataset_free(&tr);
    /* nocache writes nothing; a cache place that cannot be written is no error */
    write_png("ca2/x/1.png", 6, 5, 3, a, 0);
    CHECK(open_spec("folder:%s,nocache", at("ca2"), &tr, NULL, err, sizeof err) == 0 && count_files(cache_dir) == 2,
          "nocache: %s", err);
    actlab_dataset_free(&tr);
    char blocked[400];
    snprintf(blocked, sizeof blocked, "%s/a-file/cache", root);
    write_bytes("a-file", "x", 1);
    setenv("ACTLAB_CACHE", blocked, 1);
    CHECK(open_spec("folder:%s", at("ca2"), &tr, NULL, err, sizeof err) == 0 && tr.count == 1, "cache cannot be written: %s", err);
    actlab_dataset_free(&tr);
    setenv("ACTLAB_CACHE", cache_dir, 1);
    free(a), free(b);
}

/* ---- errors ---- */

static void check_errors(void) {
    unsigned char *g = pattern_grey(8, 8, 3);
    char err[1024];
    actlab_dataset tr;
    /* a truncated JPEG */
    write_jpeg("e1/a/1.jpg", 8, 8, 1, g);
    write_jpeg("e1/a/2.jpg", 8, 8, 1, g);
    FILE *f = fopen(at("e1/a/2.jpg"), "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_bytes("e1/a/2.jpg", buf, n * 2 / 3);
    CHECK(open_spec("folder:%s", at("e1"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "e1/a/2.jpg") &&
              strstr(err, "JPEG") && tr.count == 0,
          "truncated JPEG: %s", err);
    /* PNG magic, then garbage */
    write_bytes("e2/a/1.png", "\x89PNG\r\n\x1a\nthis is not a png at all, only text............", 56);
    CHECK(open_spec("folder:%s", at("e2"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "e2/a/1.png") && strstr(err, "PNG"),
          "garbage PNG: %s", err);
    /* an empty class folder */
    write_png("e3/a/1.png", 8, 8, 1, g, 6);
    mkdirs("e3/b");
    CHECK(open_spec("folder:%s", at("e3"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "e3/b: empty class folder"),
          "empty class: %s", err);
    /* a file that is no image, whatever its name */
    write_png("e4/a/1.png", 8, 8, 1, g, 6);
    write_bytes("e4/a/notes.jpg", "these are notes", 15);
    CHECK(open_spec("folder:%s", at("e4"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "e4/a/notes.jpg") &&
              strstr(err, "not a JPEG or PNG image"),
          "non-image file: %s", err);
    /* a folder inside a class folder */
    write_png("e5/a/1.png", 8, 8, 1, g, 6);
    mkdirs("e5/a/deeper");
    CHECK(open_spec("folder:%s", at("e5"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "e5/a/deeper") &&
              strstr(err, "inside a class folder"),
          "nested folder: %s", err);
    /* options and directories */
    CHECK(open_spec("folder:%s,size=4x4,fast", at("e3"), &tr, NULL, err, sizeof err) != 0 &&
              strstr(err, "unknown option 'fast'") && strstr(err, "known: size=HxW"),
          "unknown option: %s", err);
    mkdirs("e6");
    CHECK(open_spec("folder:%s", at("e6"), &tr, NULL, err, sizeof err) != 0 && strstr(err, "no class folders"),
          "no class folders: %s", err);
    CHECK(open_spec("folder:%s,grey", "/no/such/dir", &tr, NULL, err, sizeof err) != 0 &&
              strstr(err, "/no/such/dir: not a directory"),
          "missing directory: %s", err);
    free(g);
}

/* ---- fer2013: and cifar10: on folders ---- */

static void check_named(void) {
    static const char *const emotions[7] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
    unsigned char *g = pattern_grey(48, 48, 9);
    char rel[200], err[1024];
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 7; k++) {
            snprintf(rel, sizeof rel, "fer/%s/%s/%d.jpg", s ? "test" : "train", emotions[k], k);
            write_jpeg(rel, 48, 48, 1, g);
        }
    actlab_dataset tr, te;
    CHECK(open_spec("fer2013:%s", at("fer"), &tr, &te, err, sizeof err) == 0 && tr.count == 7 && te.count == 7 &&
              tr.classes == 7 && tr.channels == 1 && tr.height == 48 && !strcmp(tr.name, "fer2013"),
          "fer2013 layout: %s", err);
    int order = 1;
    for (int k = 0; k < 7; k++) order &= tr.labels[k] == k && te.labels[k] == k;
    CHECK(order, "FER2013's label order (angry 0 ... neutral 6), not sorted names");
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    write_jpeg("fer/train/contempt/1.jpg", 48, 48, 1, g);
    CHECK(open_spec("fer2013:%s", at("fer"), &tr, &te, err, sizeof err) != 0 && strstr(err, "'contempt'") &&
              strstr(err, "angry, disgust"),
          "unknown emotion folder: %s", err);
    unlink(at("fer/train/contempt/1.jpg"));
    rmdir(at("fer/train/contempt"));
    unsigned char *rgb = pattern_rgb(48, 48, 0);
    write_jpeg("fer/test/sad/9.jpg", 48, 48, 3, rgb);
    CHECK(open_spec("fer2013:%s", at("fer"), &tr, &te, err, sizeof err) != 0 && strstr(err, "sad/9.jpg") &&
              strstr(err, "48x48 grey"),
          "a colour image in FER2013: %s", err);
    unlink(at("fer/test/sad/9.jpg"));
    CHECK(open_spec("fer2013:%s,size=24x24", at("fer"), &tr, NULL, err, sizeof err) == 0 && tr.height == 24,
          "fer2013 with options: %s", err);
    actlab_dataset_free(&tr);
    free(g), free(rgb);
    /* cifar10: folders with the batches.meta.txt order; binary files win when both are there */
    static const char *const cifar[10] = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    unsigned char *c = pattern_rgb(32, 32, 0);
    for (int k = 9; k >= 0; k--) {
        snprintf(rel, sizeof rel, "cf/train/%s/0000.png", cifar[k]);
        write_png(rel, 32, 32, 3, c, 1);
        snprintf(rel, sizeof rel, "cf/test/%s/0000.png", cifar[k]);
        write_png(rel, 32, 32, 3, c, 1);
    }
    CHECK(open_spec("cifar10:%s", at("cf"), &tr, &te, err, sizeof err) == 0 && tr.count == 10 && tr.labels[9] == 9 &&
              tr.channels == 3 && !strcmp(tr.name, "cifar10"),
          "cifar10 as folders: %s", err);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
    CHECK(open_spec("cifar10:%s,size=16x16,grey", at("cf"), &tr, NULL, err, sizeof err) == 0 && tr.height == 16 &&
              tr.channels == 1,
          "cifar10 folders take the options: %s", err);
    actlab_dataset_free(&tr);
    unsigned char rec[3073] = {3}; /* one record (label 3): the binary files win */
    memcpy(rec + 1, c, 3072);
    write_bytes("cf/data_batch_1.bin", rec, sizeof rec);
    CHECK(open_spec("cifar10:%s,size=16x16", at("cf"), &tr, NULL, err, sizeof err) != 0 &&
              strstr(err, "not for the binary files"),
          "options with the binary files: %s", err);
    CHECK(open_spec("cifar10:%s", at("cf"), &tr, NULL, err, sizeof err) == 0 && tr.count == 1 && tr.labels[0] == 3,
          "binary files: %s", err);
    actlab_dataset_free(&tr);
    free(c);
}

/* ---- the real data, when ../shared/data has it: a few hundred files, extracted here ---- */

static int extract(const char *tarball, const char *pattern) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "tar -xzf '%s' -C '%s' --wildcards '%s' 2>/dev/null", tarball, root, pattern);
    return system(cmd);
}

static void check_real_fer(void) {
    const char *tarball = ACTLAB_TEST_DIR "/../../shared/data/fer2013/fer2013-jpeg.tar.gz";
    if (access(tarball, R_OK) != 0) {
        printf("note: %s not found, skipping the real FER2013 check\n", tarball);
        return;
    }
    /* the files whose names end in 77: 279 training, 40 test images, every class present */
    CHECK(extract(tarball, "fer2013-jpeg/*/*/*77.jpg") == 0, "extract FER2013 files");
    char err[1024];
    actlab_dataset tr, te;
    CHECK(open_spec("fer2013:%s,nocache", at("fer2013-jpeg"), &tr, &te, err, sizeof err) == 0, "real FER2013: %s", err);
    if (!tr.count) return;
    int per[7] = {0}, want[7] = {41, 5, 35, 76, 47, 26, 49}; /* angry disgust fear happy sad surprise neutral */
    for (int64_t i = 0; i < tr.count; i++) per[tr.labels[i]]++;
    int same = 1;
    for (int k = 0; k < 7; k++) same &= per[k] == want[k];
    CHECK(tr.count == 279 && te.count == 40 && same && tr.channels == 1 && tr.height == 48 && tr.width == 48,
          "counts per class in FER2013's order: %lld %lld; angry %d, neutral %d", (long long)tr.count, (long long)te.count,
          per[0], per[6]);
    double mean[1], sd[1];
    actlab_dataset_channel_stats(&tr, mean, sd);
    CHECK(mean[0] > 0.35 && mean[0] < 0.65 && sd[0] > 0.15, "plausible faces: mean %g, sd %g", mean[0], sd[0]);
    actlab_dataset_free(&tr), actlab_dataset_free(&te);
}

/* The JPEG CIFAR-10 against the official binary subset: the k-th file of a
 * class is the k-th image of that class, so the pixels must agree to JPEG's
 * error (about 6/255), and far worse with red and blue swapped. */
static void check_real_cifar(void) {
    const char *tarball = ACTLAB_TEST_DIR "/../../shared/data/cifar10/cifar10-jpeg.tar.gz";
    const char *bin = ACTLAB_TEST_DIR "/../../shared/data/cifar10/data_batch_1_first4000.bin";
    if (access(tarball, R_OK) != 0 || access(bin, R_OK) != 0) {
        printf("note: %s not found, skipping the real CIFAR-10 JPEG check\n", tarball);
        return;
    }
    CHECK(extract(tarball, "cifar10-jpeg/*/*/000[0-2].jpg") == 0, "extract CIFAR-10 files");
    char err[1024];
    actlab_dataset tr, te, ref;
    CHECK(open_spec("cifar10:%s,nocache", at("cifar10-jpeg"), &tr, &te, err, sizeof err) == 0 && tr.count == 30 &&
              te.count == 30,
          "real CIFAR-10 JPEGs: %s", err);
    const char *paths[1] = {bin};
    CHECK(actlab_cifar_load(&ref, paths, 1, 1, 0, 10, err, sizeof err) == 0, "binary subset: %s", err);
    if (!tr.count || !ref.count) return;
    double diff = 0, swapped = 0;
    int found = 0;
    for (int64_t i = 0; i < tr.count; i++) {
        int label = tr.labels[i], k = (int)(i % 3), seen = 0; /* files 0000, 0001, 0002 of each class */
        for (int64_t r = 0; r < ref.count; r++) {
            if (ref.labels[r] != label || seen++ != k) continue;
            for (int p = 0; p < 3072; p++) {
                diff += fabs(tr.images[i * 3072 + p] - ref.images[r * 3072 + p]);
                int q = (2 - p / 1024) * 1024 + p % 1024;
                swapped += fabs(tr.images[i * 3072 + q] - ref.images[r * 3072 + p]);
            }
            found++;
            break;
        }
    }
    diff /= found * 3072.0, swapped /= found * 3072.0;
    CHECK(found == 30 && diff < 10 / 255.0 && swapped > 2 * diff,
          "JPEG vs binary: mean abs error %.2f/255 (RGB), %.2f/255 (BGR) over %d images", diff * 255, swapped * 255, found);
    actlab_dataset_free(&tr), actlab_dataset_free(&te), actlab_dataset_free(&ref);
}

int main(void) {
    CHECK(mkdtemp(root) != NULL, "mkdtemp");
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", root);
    mkdir(cache_dir, 0755);
    setenv("ACTLAB_CACHE", cache_dir, 1); /* never the user's cache */
    check_png_colour();
    check_grey_colour();
    check_jpeg();
    check_png_forms();
    check_resize();
    check_splits();
    check_errors();
    check_named();
    check_cache();
    check_real_fer();
    check_real_cifar();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_folder");
}
