/* test_checkpoint.c — checkpoints round-trip exactly, are written atomically, and every
 * damaged file (wrong magic, other version, truncated, flipped byte, missing) is refused
 * with a message naming it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actlab/checkpoint.h"
#include "check.h"

static char dir[] = "/tmp/actlab-ckpt-XXXXXX";

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void rewrite(const char *from, const char *to, long keep, long flip) {
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    for (long i = 0; i < keep; i++) {
        int ch = fgetc(f);
        if (ch == EOF) break;
        fputc(i == flip ? ch ^ 0x10 : ch, g);
    }
    fclose(f);
    fclose(g);
}

static void expect_refused(const char *path, const char *want) {
    actlab_checkpoint c;
    char err[512] = "";
    CHECK(actlab_checkpoint_load(path, &c, err, sizeof err) != 0 && strstr(err, want) && strstr(err, path),
          "%s should be refused with '%s': %s", path, want, err);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256], bad[256], err[512];
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    float params[1000];
    unsigned char opt[333];
    for (int i = 0; i < 1000; i++) params[i] = (float)i * 0.37f - 5;
    for (int i = 0; i < 333; i++) opt[i] = (unsigned char)(i * 7);
    actlab_checkpoint c = {.config_json = "{\"model\":\"lenet\"}", .epoch = 3, .batch = 17, .step = 1234,
                           .seed = 0xfeedbeefcafeull, .nparams = 1000, .params = params, .optim_len = 333, .optim_state = opt};
    CHECK(actlab_checkpoint_save(path, &c, err, sizeof err) == 0, "save: %s", err);
    actlab_checkpoint r;
    CHECK(actlab_checkpoint_load(path, &r, err, sizeof err) == 0, "load: %s", err);
    CHECK(r.epoch == 3 && r.batch == 17 && r.step == 1234 && r.seed == 0xfeedbeefcafeull, "position round-trips");
    CHECK(r.nparams == 1000 && memcmp(r.params, params, sizeof params) == 0, "parameters round-trip bit for bit");
    CHECK(r.optim_len == 333 && memcmp(r.optim_state, opt, 333) == 0, "optimiser state round-trips");
    CHECK(!strcmp(r.config_json, "{\"model\":\"lenet\"}"), "config round-trips");
    actlab_checkpoint_free(&r);
    char tmpname[300];
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmpname, F_OK) != 0, "no temporary file left behind");

    long n = file_size(path);
    snprintf(bad, sizeof bad, "%s/truncated.ckpt", dir);
    rewrite(path, bad, n - 100, -1);
    expect_refused(bad, "truncated");
    snprintf(bad, sizeof bad, "%s/flipped.ckpt", dir);
    rewrite(path, bad, n, n / 2);
    expect_refused(bad, "checksum mismatch");
    snprintf(bad, sizeof bad, "%s/magic.ckpt", dir);
    rewrite(path, bad, n, 0);
    expect_refused(bad, "not an actlab checkpoint");
    snprintf(bad, sizeof bad, "%s/version.ckpt", dir);
    rewrite(path, bad, n, 8);
    expect_refused(bad, "format version");
    snprintf(bad, sizeof bad, "%s/empty.ckpt", dir);
    rewrite(path, bad, 0, -1);
    expect_refused(bad, "not an actlab checkpoint");
    snprintf(bad, sizeof bad, "%s/missing.ckpt", dir);
    expect_refused(bad, "cannot read");
    snprintf(bad, sizeof bad, "%s/no-such-dir/run.ckpt", dir);
    CHECK(actlab_checkpoint_save(bad, &c, err, sizeof err) != 0 && strstr(err, "no-such-dir"), "unwritable path: %s", err);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_checkpoint");
}
