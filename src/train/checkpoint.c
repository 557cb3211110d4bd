/*
 * checkpoint.c — saving and loading a run's state (format in actlab/checkpoint.h).
 * The whole file is built in memory, checksummed with zlib's crc32, written to
 * a temporary file, flushed to disk, and renamed over the old checkpoint.
 */
#include "util/error.h"
#include "actlab/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = {'A', 'C', 'T', 'L', 'A', 'B', 'C', 'K'};
enum { HEADER = 16 }; /* magic, version, crc */


typedef struct buffer {
    unsigned char *data;
    size_t len, cap;
} buffer;

static int put(buffer *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int put_section(buffer *b, const void *p, uint64_t n) { return put(b, &n, 8) || put(b, p, (size_t)n); }

int actlab_checkpoint_save(const char *path, const actlab_checkpoint *c, char *err, size_t errlen) {
    buffer b = {0};
    uint32_t version = ACTLAB_CHECKPOINT_VERSION, crc = 0;
    const char *cfg = c->config_json ? c->config_json : "{}";
    int64_t pos[4] = {c->epoch, c->batch, c->step, (int64_t)c->seed};
    int bad = put(&b, MAGIC, 8) || put(&b, &version, 4) || put(&b, &crc, 4) ||
              put_section(&b, cfg, strlen(cfg)) || put_section(&b, pos, sizeof pos) ||
              put_section(&b, c->params, sizeof(float) * (uint64_t)c->nparams) ||
              put_section(&b, c->optim_state, c->optim_len);
    if (bad) {
        free(b.data);
        return actlab_errorf(err, errlen, "%s: out of memory building the checkpoint", path);
    }
    crc = (uint32_t)crc32_z(0L, b.data + HEADER, b.len - HEADER);
    memcpy(b.data + 12, &crc, 4);

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(b.data);
        return actlab_errorf(err, errlen, "cannot write checkpoint %s: %s", tmp, strerror(errno));
    }
    size_t done = 0;
    while (done < b.len) {
        ssize_t w = write(fd, b.data + done, b.len - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    int ok = done == b.len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    free(b.data);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return actlab_errorf(err, errlen, "cannot write checkpoint %s: %s", path, strerror(e));
    }
    return 0;
}

/* Read a u64-length section from data[*at..len); returns a pointer into data or NULL. */
static const unsigned char *section(const unsigned char *data, size_t len, size_t *at, uint64_t *n) {
    if (len - *at < 8) return NULL;
    memcpy(n, data + *at, 8);
    *at += 8;
    if (*n > len - *at) return NULL;
    const unsigned char *p = data + *at;
    *at += (size_t)*n;
    return p;
}

int actlab_checkpoint_load(const char *path, actlab_checkpoint *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) return actlab_errorf(err, errlen, "cannot read checkpoint %s: %s", path, strerror(errno));
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *d = realloc(data, cap);
            if (!d) {
                free(data);
                fclose(f);
                return actlab_errorf(err, errlen, "%s: out of memory", path);
            }
            data = d;
        }
        got = fread(data + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);

    int rc = 0;
    uint32_t version, crc;
    if (len < HEADER || memcmp(data, MAGIC, 8) != 0) {
        rc = actlab_errorf(err, errlen, "%s is not an actlab checkpoint (no ACTLABCK magic at its start)", path);
        goto done;
    }
    memcpy(&version, data + 8, 4);
    memcpy(&crc, data + 12, 4);
    if (version != ACTLAB_CHECKPOINT_VERSION) {
        rc = actlab_errorf(err, errlen, "%s: checkpoint format version %u, this actlab reads version %d", path, version,
                  ACTLAB_CHECKPOINT_VERSION);
        goto done;
    }
    size_t at = HEADER;
    uint64_t ncfg, npos, nparam, nopt;
    const unsigned char *cfg = section(data, len, &at, &ncfg), *pos = cfg ? section(data, len, &at, &npos) : NULL;
    const unsigned char *par = pos ? section(data, len, &at, &nparam) : NULL;
    const unsigned char *opt = par ? section(data, len, &at, &nopt) : NULL;
    if (!opt || npos != 4 * 8 || nparam % 4) {
        rc = actlab_errorf(err, errlen, "%s: truncated or malformed checkpoint (%zu bytes)", path, len);
        goto done;
    }
    if ((uint32_t)crc32_z(0L, data + HEADER, len - HEADER) != crc) {
        rc = actlab_errorf(err, errlen, "%s: checksum mismatch: the checkpoint is corrupt", path);
        goto done;
    }
    int64_t p4[4];
    memcpy(p4, pos, sizeof p4);
    c->epoch = p4[0], c->batch = p4[1], c->step = p4[2], c->seed = (uint64_t)p4[3];
    c->config_json = malloc((size_t)ncfg + 1);
    c->nparams = (int64_t)(nparam / 4);
    c->params = malloc((size_t)nparam + 1);
    c->optim_len = (size_t)nopt;
    c->optim_state = malloc((size_t)nopt + 1);
    if (!c->config_json || !c->params || !c->optim_state) {
        actlab_checkpoint_free(c);
        rc = actlab_errorf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    memcpy(c->config_json, cfg, (size_t)ncfg);
    c->config_json[ncfg] = 0;
    memcpy(c->params, par, (size_t)nparam);
    memcpy(c->optim_state, opt, (size_t)nopt);
done:
    free(data);
    return rc;
}

void actlab_checkpoint_free(actlab_checkpoint *c) {
    free(c->config_json);
    free(c->params);
    free(c->optim_state);
    memset(c, 0, sizeof *c);
}
