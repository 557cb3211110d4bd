/*
 * image.c — JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit pixels, and
 * from there to the planar [channels][height][width] layout of a data set.
 *
 * The file type comes from the magic bytes, never from the name. Both
 * libraries report errors by longjmp: each decoder keeps all its state in one
 * struct reached through a pointer, so nothing live across setjmp can be
 * clobbered, and the caller frees whatever was allocated. Nothing is printed:
 * libjpeg's and libpng's messages become the error text.
 *
 * Decoding follows PIL, so that pixels match torchvision's ImageFolder
 * loader: libjpeg's default (islow) IDCT and fancy upsampling, PNG samples
 * as stored (no gamma or colour management; 16-bit keeps the high byte,
 * palettes expand to RGB, alpha is dropped as PIL's convert("RGB") does).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include "actlab/data.h"
#include "image.h"
#include "util/error.h"

/* Larger images are refused before allocating: no data set needs them, and
 * a corrupt header could otherwise ask for gigabytes. */
#define IMAGE_MAX_PIXELS ((int64_t)1 << 28)

int image_sniff(const unsigned char *p, size_t n) {
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return IMAGE_JPEG;
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return IMAGE_PNG;
    return IMAGE_NONE;
}

/* ---- JPEG ---- */

typedef struct jpeg_job {
    struct jpeg_error_mgr mgr; /* first: libjpeg hands back a pointer to it */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    struct jpeg_decompress_struct cinfo;
    unsigned char *pixels;
    int channels;
} jpeg_job;

static void jpeg_fail(j_common_ptr c) {
    jpeg_job *j = (jpeg_job *)c->err;
    c->err->format_message(c, j->msg);
    longjmp(j->jump, 1);
}

/* libjpeg treats lost data as a warning and fills the gap with grey; a damaged
 * image is refused instead (as PIL refuses a truncated one). Remarks about
 * headers that leave the pixels intact pass; trace messages (level >= 0) too. */
static void jpeg_message(j_common_ptr c, int level) {
    if (level >= 0) return;
    int code = c->err->msg_code;
    if (code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC)
        return;
    jpeg_fail(c);
}

static void jpeg_silent(j_common_ptr c) { (void)c; }

static int jpeg_run(jpeg_job *j, const unsigned char *data, size_t n) {
    if (setjmp(j->jump)) return -1;
    jpeg_create_decompress(&j->cinfo);
    jpeg_mem_src(&j->cinfo, data, (unsigned long)n);
    jpeg_read_header(&j->cinfo, TRUE);
    if (j->cinfo.num_components == 1) {
        j->cinfo.out_color_space = JCS_GRAYSCALE, j->channels = 1;
    } else if (j->cinfo.jpeg_color_space == JCS_YCbCr || j->cinfo.jpeg_color_space == JCS_RGB) {
        j->cinfo.out_color_space = JCS_RGB, j->channels = 3;
    } else {
        snprintf(j->msg, sizeof j->msg, "a %d-component (CMYK?) JPEG; only grey and RGB JPEGs are read",
                 j->cinfo.num_components);
        return -1;
    }
    jpeg_start_decompress(&j->cinfo);
    int64_t w = j->cinfo.output_width, h = j->cinfo.output_height;
    if (w * h > IMAGE_MAX_PIXELS) {
        snprintf(j->msg, sizeof j->msg, "%lldx%lld pixels is too large", (long long)h, (long long)w);
        return -1;
    }
    j->pixels = malloc((size_t)(w * h * j->channels));
    if (!j->pixels) {
        snprintf(j->msg, sizeof j->msg, "out of memory");
        return -1;
    }
    while (j->cinfo.output_scanline < j->cinfo.output_height) {
        JSAMPROW row = j->pixels + (size_t)j->cinfo.output_scanline * (size_t)(w * j->channels);
        jpeg_read_scanlines(&j->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&j->cinfo);
    return 0;
}

static int decode_jpeg(const char *path, const unsigned char *data, size_t n, image_u8 *out, char *err, size_t errlen) {
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j) return actlab_errorf(err, errlen, "%s: out of memory", path);
    j->cinfo.err = jpeg_std_error(&j->mgr);
    j->mgr.error_exit = jpeg_fail;
    j->mgr.emit_message = jpeg_message;
    j->mgr.output_message = jpeg_silent;
    int rc = jpeg_run(j, data, n);
    if (rc == 0) {
        out->channels = j->channels;
        out->width = (int)j->cinfo.output_width, out->height = (int)j->cinfo.output_height;
        out->pixels = j->pixels;
    } else {
        free(j->pixels);
        actlab_errorf(err, errlen, "%s: corrupt or unsupported JPEG: %s", path, j->msg);
    }
    jpeg_destroy_decompress(&j->cinfo);
    free(j);
    return rc;
}

/* ---- PNG ---- */

typedef struct png_job {
    png_structp png;
    png_infop info;
    const unsigned char *data;
    size_t n, at;
    char msg[256];
    unsigned char *pixels;
    png_bytep *rows;
    int channels, width, height;
} png_job;

static void png_fail(png_structp png, png_const_charp msg) {
    png_job *j = png_get_error_ptr(png);
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_from_memory(png_structp png, png_bytep out, size_t len) {
    png_job *j = png_get_io_ptr(png);
    if (len > j->n - j->at) png_error(png, "the file is truncated");
    memcpy(out, j->data + j->at, len);
    j->at += len;
}

static int png_run(png_job *j) {
    if (setjmp(png_jmpbuf(j->png))) return -1;
    png_set_read_fn(j->png, j, png_from_memory);
    png_read_info(j->png, j->info);
    png_uint_32 w = png_get_image_width(j->png, j->info), h = png_get_image_height(j->png, j->info);
    int type = png_get_color_type(j->png, j->info);
    if ((int64_t)w * h > IMAGE_MAX_PIXELS) png_error(j->png, "the image is too large");
    if (png_get_bit_depth(j->png, j->info) == 16) png_set_strip_16(j->png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(j->png);
    if (type == PNG_COLOR_TYPE_GRAY) png_set_expand_gray_1_2_4_to_8(j->png);
    png_set_interlace_handling(j->png);
    png_read_update_info(j->png, j->info);
    int ch = png_get_channels(j->png, j->info);
    size_t rowbytes = png_get_rowbytes(j->png, j->info);
    if (ch < 1 || ch > 4 || rowbytes != (size_t)w * ch) png_error(j->png, "unexpected sample layout");
    j->pixels = malloc((size_t)h * rowbytes);
    j->rows = malloc((size_t)h * sizeof *j->rows);
    if (!j->pixels || !j->rows) png_error(j->png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) j->rows[y] = j->pixels + (size_t)y * rowbytes;
    png_read_image(j->png, j->rows);
    png_read_end(j->png, NULL);
    j->channels = ch, j->width = (int)w, j->height = (int)h;
    return 0;
}

static int decode_png(const char *path, const unsigned char *data, size_t n, image_u8 *out, char *err, size_t errlen) {
    png_job *j = calloc(1, sizeof *j);
    if (!j) return actlab_errorf(err, errlen, "%s: out of memory", path);
    j->data = data, j->n = n;
    j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_fail, png_quiet);
    j->info = j->png ? png_create_info_struct(j->png) : NULL;
    int rc = j->info ? png_run(j) : (snprintf(j->msg, sizeof j->msg, "out of memory"), -1);
    if (rc == 0) {
        /* drop alpha in place (grey+alpha to grey, RGBA to RGB) */
        int keep = j->channels >= 3 ? 3 : 1;
        if (keep != j->channels) {
            size_t px = (size_t)j->width * j->height;
            for (size_t i = 0; i < px; i++)
                for (int c = 0; c < keep; c++) j->pixels[i * keep + c] = j->pixels[i * j->channels + c];
        }
        out->channels = keep, out->width = j->width, out->height = j->height;
        out->pixels = j->pixels;
    } else {
        free(j->pixels);
        actlab_errorf(err, errlen, "%s: corrupt or unsupported PNG: %s", path, j->msg);
    }
    free(j->rows);
    png_destroy_read_struct(j->png ? &j->png : NULL, j->info ? &j->info : NULL, NULL);
    free(j);
    return rc;
}

/* ---- files ---- */

static int read_whole(const char *path, unsigned char **data, size_t *n, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return actlab_errorf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return actlab_errorf(err, errlen, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return actlab_errorf(err, errlen, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != len) {
        free(buf);
        return actlab_errorf(err, errlen, "cannot read %s: %s", path, bad ? strerror(errno) : "it changed while being read");
    }
    *data = buf, *n = len;
    return 0;
}

int image_read(const char *path, image_u8 *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    unsigned char *data = NULL;
    size_t n = 0;
    if (read_whole(path, &data, &n, err, errlen)) return -1;
    int rc;
    switch (image_sniff(data, n)) {
    case IMAGE_JPEG: rc = decode_jpeg(path, data, n, out, err, errlen); break;
    case IMAGE_PNG: rc = decode_png(path, data, n, out, err, errlen); break;
    default:
        rc = actlab_errorf(err, errlen, "%s: not a JPEG or PNG image (%s; files are recognised by their first bytes, "
                           "not their names)", path, n ? "unknown first bytes" : "empty file");
    }
    free(data);
    return rc;
}

/* ---- to planes ---- */

/* PIL's "L" conversion, to the bit: ITU-R 601-2 luma 0.299 R + 0.587 G + 0.114 B
 * in 16-bit fixed point, rounded. */
static inline unsigned char luma(const unsigned char *rgb) {
    return (unsigned char)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

/* Bilinear resampling of one plane, as torch.nn.functional.interpolate(mode="bilinear",
 * align_corners=False, antialias=False) (and OpenCV's INTER_LINEAR): output
 * pixel centres map to src = (dst + 0.5) * in/out - 0.5, clamped to the edge,
 * and blend the 2x2 neighbours. Without antialiasing a strong downscale skips
 * pixels instead of averaging them (PIL's resize would average); data sets
 * that need a resize at all usually change size by small factors. */
static void resize_plane(const unsigned char *src, int sh, int sw, unsigned char *dst, int dh, int dw, int *x0,
                         float *wx) {
    float sx = (float)sw / (float)dw, sy = (float)sh / (float)dh;
    for (int x = 0; x < dw; x++) {
        float f = ((float)x + 0.5f) * sx - 0.5f;
        if (f < 0) f = 0;
        x0[x] = (int)f;
        if (x0[x] > sw - 1) x0[x] = sw - 1;
        wx[x] = f - (float)x0[x];
    }
    for (int y = 0; y < dh; y++) {
        float f = ((float)y + 0.5f) * sy - 0.5f;
        if (f < 0) f = 0;
        int y0 = (int)f;
        if (y0 > sh - 1) y0 = sh - 1;
        int y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
        float wy = f - (float)y0;
        const unsigned char *r0 = src + (size_t)y0 * sw, *r1 = src + (size_t)y1 * sw;
        for (int x = 0; x < dw; x++) {
            int a = x0[x], b = a + 1 < sw ? a + 1 : sw - 1;
            float top = (float)r0[a] + wx[x] * (float)(r0[b] - r0[a]);
            float bot = (float)r1[a] + wx[x] * (float)(r1[b] - r1[a]);
            float v = top + wy * (bot - top) + 0.5f;
            dst[(size_t)y * dw + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

int image_to_planes(const image_u8 *in, int channels, int height, int width, unsigned char *out) {
    size_t hw = (size_t)in->height * in->width;
    int same_size = in->height == height && in->width == width;
    unsigned char *planes = same_size ? out : malloc(hw * channels);
    if (!planes) return -1;
    const unsigned char *p = in->pixels;
    if (in->channels == 1 && channels == 1) {
        memcpy(planes, p, hw);
    } else if (in->channels == channels) { /* 3: RGB interleaved to three planes */
        unsigned char *r = planes, *g = planes + hw, *b = planes + 2 * hw;
        for (size_t i = 0; i < hw; i++) r[i] = p[3 * i], g[i] = p[3 * i + 1], b[i] = p[3 * i + 2];
    } else if (channels == 3) { /* grey to colour: three equal planes */
        for (int c = 0; c < 3; c++) memcpy(planes + c * hw, p, hw);
    } else {
        for (size_t i = 0; i < hw; i++) planes[i] = luma(p + 3 * i);
    }
    if (same_size) return 0;
    int *x0 = malloc((size_t)width * sizeof *x0);
    float *wx = malloc((size_t)width * sizeof *wx);
    if (!x0 || !wx) {
        free(x0), free(wx), free(planes);
        return -1;
    }
    for (int c = 0; c < channels; c++)
        resize_plane(planes + c * hw, in->height, in->width, out + (size_t)c * height * width, height, width, x0, wx);
    free(x0), free(wx), free(planes);
    return 0;
}

/* ---- the public single-image call ---- */

int actlab_image_load(const char *path, int channels, int height, int width, float **out, int *c, int *h, int *w,
                      char *err, size_t errlen) {
    *out = NULL;
    if (channels != 0 && channels != 1 && channels != 3)
        return actlab_errorf(err, errlen, "%d channels: expected 0 (the file's), 1 (grey) or 3 (RGB)", channels);
    if (height < 0 || width < 0 || (height == 0) != (width == 0))
        return actlab_errorf(err, errlen, "size %dx%d: give both height and width, or 0x0 for the file's size", height,
                             width);
    image_u8 im;
    if (image_read(path, &im, err, errlen)) return -1;
    int oc = channels ? channels : im.channels, oh = height ? height : im.height, ow = width ? width : im.width;
    size_t n = (size_t)oc * oh * ow;
    unsigned char *planes = malloc(n);
    float *f = malloc(n * sizeof *f);
    if (!planes || !f || image_to_planes(&im, oc, oh, ow, planes)) {
        free(im.pixels), free(planes), free(f);
        return actlab_errorf(err, errlen, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++) f[i] = (float)planes[i] / 255.0f;
    free(im.pixels), free(planes);
    *out = f;
    if (c) *c = oc;
    if (h) *h = oh;
    if (w) *w = ow;
    return 0;
}
