/*
 * folder.c — image-folder data sets (torchvision's ImageFolder layout) and
 * the cache of their decoded pixels.
 *
 * Layout: DIR/<class>/<image>, or DIR/train/<class>/<image> with DIR/test/
 * (or DIR/validation/) beside it. Classes are the sorted sub-folder names
 * (strcmp order, as Python's sorted()), or a named layout's fixed list;
 * files are taken in name order, class by class, so the order is the same
 * on every machine. Hidden entries (".DS_Store", "._x") are skipped; any
 * other file must be a JPEG or PNG.
 *
 * Cache: decoding tens of thousands of JPEGs takes seconds, so each split's
 * decoded bytes are kept in one file under $ACTLAB_CACHE (else
 * $XDG_CACHE_HOME/actlab, else ~/.cache/actlab). The file's name hashes a key
 * text (the split folder's real path, the layout, the output shape and the
 * class list); the header holds the key itself and a fingerprint of every
 * source file's relative path, size and modification time (nanoseconds), so
 * any added, removed, renamed or touched file means decoding again. A
 * checksum over the contents catches a damaged cache; a truncated or damaged
 * one is simply rewritten. The cache is best effort: a directory that
 * cannot be written means decoding every time, never an error.
 */
#define _DEFAULT_SOURCE /* POSIX calls (realpath, fsync, dirent) even under -std=c11 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "actlab/data.h"
#include "data_internal.h"
#include "image.h"
#include "util/error.h"

#define PATH_LEN 4096
#define KNOWN_OPTIONS "size=HxW (or size=N), grey, colour, test=FOLDER, nocache"

typedef struct folder_opts {
    int channels;      /* 0: the layout's, else the first training image's */
    int height, width; /* 0: no resize (every image must have one size) */
    int cache;
    char test[256];    /* the sub-folder that is the test split; "": test, else validation */
} folder_opts;

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* out = a/b in PATH_LEN bytes; -1 when too long. */
static int join(char *out, const char *a, const char *b) {
    int w = snprintf(out, PATH_LEN, "%s/%s", a, b);
    return w < 0 || w >= PATH_LEN ? -1 : 0;
}

const char *folder_dir_part(const char *arg, char *buf, size_t len) {
    snprintf(buf, len, "%s", arg);
    if (is_dir(buf)) return buf;
    for (char *p = strchr(buf, ','); p; p = strchr(p + 1, ',')) {
        *p = 0;
        if (is_dir(buf)) return buf;
        *p = ',';
    }
    char *comma = strchr(buf, ',');
    if (comma) *comma = 0;
    return buf;
}

/* ---- options ---- */

static int parse_int(const char *s, const char **end) {
    long v = 0;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9' && v <= 100000) v = v * 10 + (*s++ - '0');
    *end = s;
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

static int parse_options(const char *arg, const char *opts, folder_opts *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    o->cache = 1;
    while (opts && *opts) {
        const char *end = strchr(opts, ',');
        size_t n = end ? (size_t)(end - opts) : strlen(opts);
        char opt[256];
        if (n >= sizeof opt) return actlab_errorf(err, errlen, "'%s': option too long", arg);
        memcpy(opt, opts, n);
        opt[n] = 0;
        if (!strncmp(opt, "size=", 5)) {
            const char *p;
            int h = parse_int(opt + 5, &p), w = h;
            if (h > 0 && (*p == 'x' || *p == 'X')) w = parse_int(p + 1, &p);
            if (h < 0 || w < 0 || *p)
                return actlab_errorf(err, errlen, "'%s': option '%s': expected size=HEIGHTxWIDTH or size=N, from 1 to 65535", arg, opt);
            o->height = h, o->width = w;
        } else if (!strcmp(opt, "grey") || !strcmp(opt, "gray")) {
            o->channels = 1;
        } else if (!strcmp(opt, "colour") || !strcmp(opt, "color") || !strcmp(opt, "rgb")) {
            o->channels = 3;
        } else if (!strncmp(opt, "test=", 5) && opt[5] && !strchr(opt + 5, '/') && opt[5] != '.') {
            snprintf(o->test, sizeof o->test, "%s", opt + 5);
        } else if (!strcmp(opt, "nocache")) {
            o->cache = 0;
        } else {
            return actlab_errorf(err, errlen, "'%s': unknown option '%s'; known: %s", arg, opt, KNOWN_OPTIONS);
        }
        opts = end ? end + 1 : NULL;
    }
    return 0;
}

/* ---- listing ---- */

typedef struct file_entry {
    char *rel;        /* "class/name", relative to the split's folder */
    int32_t label;
    int64_t size, mtime_ns;
} file_entry;

typedef struct split_list {
    char dir[PATH_LEN];        /* the split's folder */
    char **classes;            /* folder names in label order */
    int nclasses;
    file_entry *files;
    int64_t n, cap;
    uint64_t fingerprint;
} split_list;

static void split_free(split_list *s) {
    for (int i = 0; i < s->nclasses; i++) free(s->classes[i]);
    for (int64_t i = 0; i < s->n; i++) free(s->files[i].rel);
    free(s->classes);
    free(s->files);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct name_list {
    char **v;
    int n, cap;
} name_list;

static void names_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int names_add(name_list *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

/* The sorted sub-folder names of dir (hidden ones skipped; plain files ignored, as torchvision does). */
static int list_subdirs(const char *dir, name_list *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return actlab_errorf(err, errlen, "cannot read the folder %s: %s", dir, strerror(errno));
    struct dirent *e;
    char path[PATH_LEN];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (join(path, dir, e->d_name) == 0 && is_dir(path) && names_add(out, e->d_name)) {
            closedir(d);
            names_free(out);
            return actlab_errorf(err, errlen, "%s: out of memory", dir);
        }
    }
    closedir(d);
    if (out->n) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return 0;
}

static int add_file(split_list *s, const char *cls, const char *name, int label, const struct stat *st) {
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 1024;
        file_entry *f = realloc(s->files, (size_t)cap * sizeof *f);
        if (!f) return -1;
        s->files = f, s->cap = cap;
    }
    size_t len = strlen(cls) + strlen(name) + 2;
    char *rel = malloc(len);
    if (!rel) return -1;
    snprintf(rel, len, "%s/%s", cls, name);
    s->files[s->n++] = (file_entry){rel, label, (int64_t)st->st_size,
                                    (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec};
    return 0;
}

/* One class folder's files, in name order. */
static int list_class(split_list *s, const char *cls, int label, char *err, size_t errlen) {
    char dir[PATH_LEN], path[PATH_LEN];
    if (join(dir, s->dir, cls)) return actlab_errorf(err, errlen, "%s/%s: path too long", s->dir, cls);
    DIR *d = opendir(dir);
    if (!d) return actlab_errorf(err, errlen, "cannot read the class folder %s: %s", dir, strerror(errno));
    name_list names = {0};
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ".", "..", .DS_Store, AppleDouble "._x" */
        if (names_add(&names, e->d_name)) rc = actlab_errorf(err, errlen, "%s: out of memory", dir);
    }
    closedir(d);
    if (!rc && names.n == 0)
        rc = actlab_errorf(err, errlen, "%s: empty class folder (no image files); every class needs at least one image", dir);
    if (!rc) qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
    for (int i = 0; !rc && i < names.n; i++) {
        struct stat st;
        if (join(path, dir, names.v[i]))
            rc = actlab_errorf(err, errlen, "%s/%s: path too long", dir, names.v[i]);
        else if (stat(path, &st) != 0)
            rc = actlab_errorf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = actlab_errorf(err, errlen, "%s: a folder inside a class folder; only image files directly in %s are read",
                               path, dir);
        else if (!S_ISREG(st.st_mode))
            rc = actlab_errorf(err, errlen, "%s: not a regular file; a class folder holds JPEG and PNG images", path);
        else if (add_file(s, cls, names.v[i], label, &st))
            rc = actlab_errorf(err, errlen, "%s: out of memory", dir);
    }
    names_free(&names);
    return rc;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_START 0xcbf29ce484222325ull

static void join_names(char *out, size_t len, const char *const *v, int n) {
    size_t at = 0;
    out[0] = 0;
    for (int i = 0; i < n && at < len; i++) {
        int w = snprintf(out + at, len - at, "%s%s", i ? ", " : "", v[i]);
        if (w > 0) at += (size_t)w;
    }
}

/* Every class folder and file of one split. */
static int list_split(const char *dir, const folder_kind *kind, split_list *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    name_list sub;
    if (list_subdirs(dir, &sub, err, errlen)) return -1;
    int rc = 0;
    if (sub.n == 0) {
        rc = actlab_errorf(err, errlen, "%s: no class folders; expected %s/<class>/<images>, or train/<class>/... and "
                           "test/<class>/... (or validation/) inside it", dir, dir);
    } else if (kind->classes) {
        char known[512];
        join_names(known, sizeof known, kind->classes, kind->nclasses);
        for (int i = 0; !rc && i < sub.n; i++) {
            int k = 0;
            while (k < kind->nclasses && strcmp(sub.v[i], kind->classes[k])) k++;
            if (k == kind->nclasses)
                rc = actlab_errorf(err, errlen, "%s/%s: unknown %s class folder '%s'; %s has these %d: %s", dir, sub.v[i],
                                   kind->name, sub.v[i], kind->name, kind->nclasses, known);
        }
        for (int k = 0; !rc && k < kind->nclasses; k++) {
            int found = 0;
            for (int i = 0; i < sub.n; i++) found |= !strcmp(sub.v[i], kind->classes[k]);
            if (!found)
                rc = actlab_errorf(err, errlen, "%s: no class folder '%s'; %s has these %d: %s", dir, kind->classes[k],
                                   kind->name, kind->nclasses, known);
        }
        if (!rc) { /* label order is the layout's, not the folders' */
            names_free(&sub);
            for (int k = 0; !rc && k < kind->nclasses; k++)
                if (names_add(&sub, kind->classes[k])) rc = actlab_errorf(err, errlen, "out of memory");
        }
    }
    s->classes = sub.v, s->nclasses = sub.n; /* s owns them now */
    for (int c = 0; !rc && c < s->nclasses; c++) rc = list_class(s, s->classes[c], c, err, errlen);
    if (rc) {
        split_free(s);
        return -1;
    }
    uint64_t h = FNV_START;
    for (int64_t i = 0; i < s->n; i++) {
        const file_entry *f = &s->files[i];
        h = fnv(h, f->rel, strlen(f->rel) + 1);
        h = fnv(h, &f->label, sizeof f->label);
        h = fnv(h, &f->size, sizeof f->size);
        h = fnv(h, &f->mtime_ns, sizeof f->mtime_ns);
    }
    s->fingerprint = h;
    return 0;
}

/* The test split must have the training split's classes (labels are indices into them). */
static int same_classes(const split_list *a, const split_list *b, char *err, size_t errlen) {
    int i = 0, j = 0;
    while (i < a->nclasses || j < b->nclasses) {
        int c = i == a->nclasses ? 1 : j == b->nclasses ? -1 : strcmp(a->classes[i], b->classes[j]);
        if (c < 0)
            return actlab_errorf(err, errlen, "%s has the class folder '%s' but %s does not; both splits need the same classes",
                                 a->dir, a->classes[i], b->dir);
        if (c > 0)
            return actlab_errorf(err, errlen, "%s has the class folder '%s' but %s does not; both splits need the same classes",
                                 b->dir, b->classes[j], a->dir);
        i++, j++;
    }
    return 0;
}

/* ---- the cache ---- */

typedef struct cache_header {
    char magic[8];                       /* "ACTLIMG1" */
    uint32_t byte_order;                 /* 0x01020304 as written: a cache from another machine is ignored */
    uint32_t key_len;
    uint64_t fingerprint;
    int64_t count;
    int32_t channels, height, width, classes;
    uint64_t checksum;                   /* over key, labels and pixels */
} cache_header;

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A fast checksum: four independent (x ^ word) * odd chains, so that any one
 * changed word changes the result, at memory speed. */
static uint64_t checksum(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t a[4] = {h, h ^ 0x9e3779b97f4a7c15ull, h ^ 0xbf58476d1ce4e5b9ull, h ^ 0x94d049bb133111ebull};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            a[k] = (a[k] ^ w) * 0x100000001b3ull;
        }
    uint64_t r = fnv(mix64(a[0]) ^ mix64(a[1] + 1) ^ mix64(a[2] + 2) ^ mix64(a[3] + 3), p + i, n - i);
    return mix64(r ^ n);
}

static int mkdirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int bad = mkdir(path, 0755) != 0 && errno != EEXIST;
        *p = '/';
        if (bad) return -1;
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The cache file for a key, its folder created; -1 when there is no usable place. */
static int cache_path(char *out, size_t len, const char *base, const char *split, const char *key) {
    char dir[PATH_LEN];
    const char *e = getenv("ACTLAB_CACHE");
    int w;
    if (e && *e) w = snprintf(dir, sizeof dir, "%s", e);
    else if ((e = getenv("XDG_CACHE_HOME")) && e[0] == '/') w = snprintf(dir, sizeof dir, "%s/actlab", e);
    else if ((e = getenv("HOME")) && *e) w = snprintf(dir, sizeof dir, "%s/.cache/actlab", e);
    else return -1;
    if (w < 0 || w >= (int)sizeof dir - 200 || mkdirs(dir)) return -1;
    char name[48];
    size_t n = 0;
    for (const char *p = base; *p && n < 40; p++) /* a readable name for whoever lists the folder */
        name[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                            *p == '_' || *p == '.' ? *p : '_';
    name[n] = 0;
    w = snprintf(out, len, "%s/%s-%s-%016llx.cache", dir, name, split,
                 (unsigned long long)fnv(FNV_START, key, strlen(key)));
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* A cache that matches key, fingerprint and shape, mapped (no copy of the
 * file into a buffer: the pixels go straight to floats): its labels are
 * copied out, *pixels points into the mapping, munmap(*map, *maplen) when
 * done. -1 for a miss of any kind. */
static int cache_map(const char *path, const char *key, uint64_t fingerprint, int64_t count, int c, int h, int w,
                     int classes, int32_t *labels, const unsigned char **pixels, void **map, size_t *maplen) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    size_t klen = strlen(key), nlab = (size_t)count * sizeof *labels, npix = (size_t)count * c * h * w;
    size_t len = sizeof(cache_header) + klen + nlab + npix;
    void *m = fstat(fd, &st) == 0 && (uint64_t)st.st_size == len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
                                                                   : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) return -1;
    const unsigned char *p = m;
    cache_header hd;
    memcpy(&hd, p, sizeof hd);
    int ok = !memcmp(hd.magic, "ACTLIMG1", 8) && hd.byte_order == 0x01020304u && hd.key_len == klen &&
             hd.fingerprint == fingerprint && hd.count == count && hd.channels == c && hd.height == h && hd.width == w &&
             hd.classes == classes && !memcmp(p + sizeof hd, key, klen);
    const unsigned char *lab = p + sizeof hd + klen, *pix = lab + nlab;
    ok = ok && checksum(checksum(checksum(0, key, klen), lab, nlab), pix, npix) == hd.checksum;
    if (ok) memcpy(labels, lab, nlab);
    for (int64_t i = 0; ok && i < count; i++) ok = labels[i] >= 0 && labels[i] < classes;
    if (!ok) {
        munmap(m, len);
        return -1;
    }
    *pixels = pix, *map = m, *maplen = len;
    return 0;
}

static int write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* Best effort: temporary file, fsync, rename, so a reader sees a whole cache or none. */
static void cache_write(const char *path, const char *key, uint64_t fingerprint, int64_t count, int c, int h, int w,
                        int classes, const int32_t *labels, const unsigned char *pixels) {
    static _Atomic unsigned serial; /* two threads of one process writing the same cache */
    char tmp[PATH_LEN + 48];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), serial++);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    size_t klen = strlen(key), npix = (size_t)count * c * h * w;
    cache_header hd;
    memset(&hd, 0, sizeof hd);
    memcpy(hd.magic, "ACTLIMG1", 8);
    hd.byte_order = 0x01020304u;
    hd.key_len = (uint32_t)klen;
    hd.fingerprint = fingerprint;
    hd.count = count;
    hd.channels = c, hd.height = h, hd.width = w, hd.classes = classes;
    hd.checksum = checksum(checksum(checksum(0, key, klen), labels, (size_t)count * sizeof *labels), pixels, npix);
    int ok = !write_all(fd, &hd, sizeof hd) && !write_all(fd, key, klen) &&
             !write_all(fd, labels, (size_t)count * sizeof *labels) && !write_all(fd, pixels, npix) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
}

/* ---- decoding a split ---- */

typedef struct shape {
    int channels, height, width, resize;
    const char *first; /* the file that set the size, for messages */
} shape;

static int check_native(const image_u8 *im, const char *path, const folder_kind *kind, const shape *t, char *err,
                        size_t errlen) {
    if ((kind->channels && im->channels != kind->channels) || (kind->height && im->height != kind->height) ||
        (kind->width && im->width != kind->width))
        return actlab_errorf(err, errlen, "%s: a %dx%d %s image, but %s images are %dx%d %s", path, im->height, im->width,
                             im->channels == 1 ? "grey" : "colour", kind->name, kind->height, kind->width,
                             kind->channels == 1 ? "grey" : "colour");
    if (!t->resize && (im->height != t->height || im->width != t->width))
        return actlab_errorf(err, errlen, "%s is %dx%d (height x width) but %s is %dx%d; all images must have one size, "
                             "or ask for one with ',size=HxW'", path, im->height, im->width, t->first, t->height, t->width);
    return 0;
}

static int decode_one(const split_list *s, int64_t i, const folder_kind *kind, const shape *t, unsigned char *out,
                      char *err, size_t errlen) {
    char path[PATH_LEN];
    if (join(path, s->dir, s->files[i].rel)) return actlab_errorf(err, errlen, "%s: path too long", s->files[i].rel);
    image_u8 im;
    if (image_read(path, &im, err, errlen)) return -1;
    int rc = check_native(&im, path, kind, t, err, errlen);
    if (!rc && image_to_planes(&im, t->channels, t->height, t->width, out))
        rc = actlab_errorf(err, errlen, "%s: out of memory", path);
    free(im.pixels);
    return rc;
}

/* Every file, in parallel; the error reported is the one of the first bad file
 * in order, whatever the thread count. */
static int decode_split(const split_list *s, const folder_kind *kind, const shape *t, unsigned char *pixels,
                        char *err, size_t errlen) {
    size_t per = (size_t)t->channels * t->height * t->width;
    int64_t first_bad = INT64_MAX;
#pragma omp parallel
    {
        char e[1024];
#pragma omp for schedule(dynamic, 16)
        for (int64_t i = 0; i < s->n; i++) {
            int64_t bad;
#pragma omp atomic read
            bad = first_bad;
            if (i > bad) continue; /* a later failure can never be the one reported */
            if (decode_one(s, i, kind, t, pixels + (size_t)i * per, e, sizeof e)) {
#pragma omp critical(folder_first_bad)
                if (i < first_bad) {
#pragma omp atomic write
                    first_bad = i;
                    actlab_errorf(err, errlen, "%s", e);
                }
            }
        }
    }
    return first_bad == INT64_MAX ? 0 : -1;
}

static char *make_key(const split_list *s, const folder_kind *kind, const shape *t) {
    char real[PATH_MAX];
    if (!realpath(s->dir, real)) snprintf(real, sizeof real, "%s", s->dir);
    size_t len = strlen(real) + 256;
    for (int c = 0; c < s->nclasses; c++) len += strlen(s->classes[c]) + 8;
    char *key = malloc(len);
    if (!key) return NULL;
    size_t at = (size_t)snprintf(key, len, "actlab image-folder cache 1\nfolder=%s\nlayout=%s\nshape=%dx%dx%d\nresize=%d\n",
                                 real, kind->name, t->channels, t->height, t->width, t->resize);
    for (int c = 0; c < s->nclasses; c++) at += (size_t)snprintf(key + at, len - at, "class=%s\n", s->classes[c]);
    return key;
}

static int load_split(const split_list *s, const folder_kind *kind, const shape *t, int use_cache, const char *base,
                      const char *split, actlab_dataset *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    size_t per = (size_t)t->channels * t->height * t->width, total = (size_t)s->n * per;
    int32_t *labels = malloc((size_t)s->n * sizeof *labels);
    float *images = data_alloc_big(total * sizeof *images);
    char *key = make_key(s, kind, t);
    unsigned char *decoded = NULL;
    const unsigned char *pixels = NULL;
    void *map = NULL;
    size_t maplen = 0;
    char cpath[PATH_LEN];
    int have_path = key && use_cache && cache_path(cpath, sizeof cpath, base, split, key) == 0;
    if (labels && images && key && have_path)
        cache_map(cpath, key, s->fingerprint, s->n, t->channels, t->height, t->width, s->nclasses, labels, &pixels, &map,
                  &maplen);
    if (!pixels && labels && images && key) pixels = decoded = data_alloc_big(total); /* a miss: decode */
    if (!pixels) {
        free(labels), free(images), free(key);
        return actlab_errorf(err, errlen, "%s: out of memory for %lld images", s->dir, (long long)s->n);
    }
    if (decoded) {
        if (decode_split(s, kind, t, decoded, err, errlen)) {
            free(decoded), free(labels), free(images), free(key);
            return -1;
        }
        for (int64_t i = 0; i < s->n; i++) labels[i] = s->files[i].label;
        if (have_path)
            cache_write(cpath, key, s->fingerprint, s->n, t->channels, t->height, t->width, s->nclasses, labels, decoded);
    }
    free(key);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < total; i++) images[i] = (float)pixels[i] / 255.0f; /* as the IDX and CIFAR readers */
    free(decoded);
    if (map) munmap(map, maplen);
    out->images = images, out->labels = labels, out->count = s->n;
    out->channels = t->channels, out->height = t->height, out->width = t->width, out->classes = s->nclasses;
    return 0;
}

/* ---- opening ---- */

int folder_open(const char *arg, const folder_kind *kind, actlab_dataset *train, actlab_dataset *test, char *err,
                size_t errlen) {
    char dir[PATH_LEN];
    folder_dir_part(arg, dir, sizeof dir);
    size_t dlen = strlen(dir);
    folder_opts o;
    if (parse_options(arg, arg[dlen] == ',' ? arg + dlen + 1 : NULL, &o, err, errlen)) return -1;
    if (!is_dir(dir)) return actlab_errorf(err, errlen, "%s: not a directory (%s)", dir, strerror(errno));

    /* the layout: DIR/train with DIR/test (or validation), or DIR itself as a training set only */
    char trdir[PATH_LEN], tedir[PATH_LEN];
    const char *tename = o.test[0] ? o.test : "test";
    if (join(trdir, dir, "train") || join(tedir, dir, tename)) return actlab_errorf(err, errlen, "%s: path too long", dir);
    if (!o.test[0] && !is_dir(tedir)) {
        tename = "validation";
        join(tedir, dir, tename);
    }
    int split_layout = is_dir(trdir);
    if (!split_layout) {
        if (o.test[0] || test)
            return actlab_errorf(err, errlen, "%s: no test split: a data set with both needs %s/train/<class>/<images> and "
                                 "%s/%s/<class>/<images>%s; class folders directly in %s are a training set only",
                                 dir, dir, dir, o.test[0] ? o.test : "test", o.test[0] ? "" : " (or validation/)", dir);
        snprintf(trdir, sizeof trdir, "%s", dir);
    } else if (test && !is_dir(tedir)) {
        return actlab_errorf(err, errlen, "%s: no test split: %s/train/ is there but not %s/%s/%s", dir, dir, dir,
                             o.test[0] ? o.test : "test", o.test[0] ? "" : " (nor validation/)");
    }

    /* the training split is always listed: it fixes the classes and the first image the shape */
    split_list tr, te;
    memset(&te, 0, sizeof te);
    if (list_split(trdir, kind, &tr, err, errlen)) return -1;
    if (test && (list_split(tedir, kind, &te, err, errlen) || same_classes(&tr, &te, err, errlen))) {
        split_free(&tr), split_free(&te);
        return -1;
    }
    char first[PATH_LEN];
    image_u8 im;
    shape t = {o.channels ? o.channels : kind->channels, o.height, o.width, o.height > 0, first};
    int rc = join(first, tr.dir, tr.files[0].rel) ? actlab_errorf(err, errlen, "%s: path too long", tr.dir)
                                                   : image_read(first, &im, err, errlen);
    if (!rc) {
        if (!t.channels) t.channels = im.channels;
        if (!t.resize) t.height = im.height, t.width = im.width;
        rc = check_native(&im, first, kind, &t, err, errlen);
        free(im.pixels);
    }
    while (dlen > 1 && dir[dlen - 1] == '/') dir[--dlen] = 0; /* "fer2013-jpeg/" names its cache as "fer2013-jpeg" */
    const char *slash = strrchr(dir, '/');
    const char *base = slash && slash[1] ? slash + 1 : dir;
    if (!rc && train) rc = load_split(&tr, kind, &t, o.cache, base, split_layout ? "train" : "all", train, err, errlen);
    if (!rc && test) rc = load_split(&te, kind, &t, o.cache, base, tename, test, err, errlen);
    split_free(&tr), split_free(&te);
    if (rc) {
        actlab_dataset_free(train);
        actlab_dataset_free(test);
    }
    return rc;
}
