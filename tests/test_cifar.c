/*
 * test_cifar.c — the CIFAR binary readers: CIFAR-10 batches and CIFAR-100
 * (fine and coarse labels) written here in the official format, their pixel
 * order and labels, the bad files (truncated, label out of range, missing
 * split), and the real CIFAR-10 subset in ../shared/data when it is there.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actlab/data.h"
#include "check.h"

static char dir[] = "/tmp/actlab-cifar-XXXXXX";

/* n records; pixel p of record r is (r * 7 + p) % 256; labels from the callback. */
static void write_records(const char *name, int n, int label_bytes, int first, int label_mod) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    for (int r = first; r < first + n; r++) {
        if (label_bytes == 2) fputc(r % 20, f); /* coarse */
        fputc(r % label_mod, f);
        for (int p = 0; p < 3072; p++) fputc((r * 7 + p) % 256, f);
    }
    fclose(f);
}

static void check_cifar10(void) {
    write_records("data_batch_1.bin", 5, 1, 0, 10);
    write_records("data_batch_2.bin", 3, 1, 5, 10);
    write_records("test_batch.bin", 4, 1, 100, 10);
    char spec[300], err[1024];
    snprintf(spec, sizeof spec, "cifar10:%s", dir);
    actlab_dataset tr, te;
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) == 0, "open: %s", err);
    CHECK(tr.count == 8 && te.count == 4 && tr.channels == 3 && tr.height == 32 && tr.width == 32 && tr.classes == 10,
          "shapes: %lld %lld %dx%dx%d", (long long)tr.count, (long long)te.count, tr.channels, tr.height, tr.width);
    CHECK(tr.labels[6] == 6 && te.labels[0] == 0 && te.labels[3] == 3, "labels in file order across batches");
    /* record 6, green plane (offset 1024), row 2, column 5: pixel index 1024 + 2*32 + 5 */
    int p = 1024 + 69;
    CHECK(tr.images[6 * 3072 + p] == (float)((6 * 7 + p) % 256) / 255.0f, "planar RGB order and scaling");
    CHECK(!strcmp(tr.name, "cifar10"), "name %s", tr.name);
    actlab_dataset_free(&tr);
    actlab_dataset_free(&te);
}

static void check_cifar100(void) {
    write_records("train.bin", 6, 2, 40, 100);
    write_records("test.bin", 2, 2, 90, 100);
    char spec[300], err[1024];
    actlab_dataset tr, te;
    snprintf(spec, sizeof spec, "cifar100:%s", dir);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) == 0, "open cifar100: %s", err);
    CHECK(tr.classes == 100 && tr.labels[0] == 40 && te.labels[1] == 91, "fine labels");
    actlab_dataset_free(&tr);
    actlab_dataset_free(&te);
    snprintf(spec, sizeof spec, "cifar100-coarse:%s", dir);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) == 0, "open coarse: %s", err);
    CHECK(tr.classes == 20 && tr.labels[0] == 0 && tr.labels[1] == 1 && te.labels[0] == 10, "coarse labels");
    actlab_dataset_free(&tr);
    actlab_dataset_free(&te);
}

static void check_bad(void) {
    char path[256], spec[300], err[1024] = "";
    actlab_dataset tr, te;
    snprintf(path, sizeof path, "%s/data_batch_3.bin", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 3073 + 100; i++) fputc(1, f);
    fclose(f);
    snprintf(spec, sizeof spec, "cifar10:%s", dir);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) != 0 && strstr(err, "data_batch_3.bin") &&
              strstr(err, "not a whole number of 3073-byte CIFAR records") && tr.count == 0 && te.count == 0,
          "truncated batch refused, nothing kept: %s", err);
    unlink(path);
    write_records("data_batch_3.bin", 2, 1, 0, 256); /* labels 0, 1 fine; make record 1's label 200 */
    f = fopen(path, "r+b");
    fseek(f, 3073, SEEK_SET);
    fputc(200, f);
    fclose(f);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) != 0 && strstr(err, "label 200 of record 1") &&
              strstr(err, "10 classes"), "label out of range: %s", err);
    unlink(path);
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    unlink(path);
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) != 0 && strstr(err, "no test_batch*.bin") && tr.count == 0,
          "missing test split named: %s", err);
}

static void check_real(void) {
    const char *d = ACTLAB_TEST_DIR "/../../shared/data/cifar10";
    char spec[512], err[1024];
    snprintf(spec, sizeof spec, "cifar10:%s", d);
    if (access(d, R_OK) != 0) {
        printf("note: %s not found, skipping the real CIFAR-10 subset\n", d);
        return;
    }
    actlab_dataset tr, te;
    CHECK(actlab_data_open(spec, &tr, &te, err, sizeof err) == 0, "real subset: %s", err);
    /* the official first labels: frog, truck, truck, deer, automobile / cat, ship, ship, airplane, frog */
    CHECK(tr.count == 4000 && te.count == 1000, "4000 + 1000 images");
    CHECK(tr.labels[0] == 6 && tr.labels[1] == 9 && tr.labels[4] == 1 && te.labels[0] == 3 && te.labels[3] == 0,
          "official label order");
    CHECK(tr.images[0] == 59 / 255.0f && tr.images[1024] == 62 / 255.0f && tr.images[2048] == 63 / 255.0f,
          "first pixel R, G, B");
    actlab_dataset_free(&tr);
    actlab_dataset_free(&te);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    check_cifar10();
    check_cifar100();
    check_bad();
    check_real();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_cifar");
}
