/* test_cfg.c — model-file reading: sections and keys in order with line numbers, typed
 * lookups with range checks, unknown keys found, and each malformed input named by line. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "nn/cfg.h"

static void check_good(void) {
    const char *text =
        "# LeNet-like\n"
        "[net]\n"
        "channels = 1   # grey\n"
        "height=28\n"
        "\n"
        "[Conv]\n"
        "filters=6\n"
        "size=5\n"
        "[conv]\n"
        "filters=16\n"
        "activation = leaky_relu:a=0.1\n"
        "[maxpool]\n";
    nn_cfg c;
    char err[512];
    CHECK(nn_cfg_parse_string(&c, "t.cfg", text, err, sizeof err) == 0, "parse: %s", err);
    CHECK(c.nsections == 4, "4 sections, got %d", c.nsections);
    if (c.nsections != 4) return;
    CHECK(!strcmp(c.sections[1].name, "conv") && c.sections[1].line == 6, "section name lower-cased, line 6");
    CHECK(!strcmp(c.sections[2].name, "conv") && c.sections[2].line == 9, "two [conv] in a row stay two sections");
    CHECK(c.sections[3].nkeys == 0, "a section without keys is kept");
    int v;
    CHECK(nn_cfg_int(&c, &c.sections[0], "channels", 3, 1, 4096, &v, err, sizeof err) == 0 && v == 1,
          "'#' comment after a value is cut");
    CHECK(c.sections[0].keys[0].line == 3, "key line number");
    CHECK(!strcmp(nn_cfg_str(&c.sections[2], "activation", "open"), "leaky_relu:a=0.1"), "string value");
    CHECK(nn_cfg_int(&c, &c.sections[2], "size", 3, 1, 99, &v, err, sizeof err) == 0 && v == 3, "default when missing");
    CHECK(nn_cfg_unused(&c.sections[2]) && !strcmp(nn_cfg_unused(&c.sections[2])->key, "filters"),
          "an unread key is reported");
    CHECK(nn_cfg_int(&c, &c.sections[2], "filters", 1, 1, 10, &v, err, sizeof err) != 0 &&
              strstr(err, "t.cfg:10: [conv] filters: expected a whole number in [1, 10], got '16'"),
          "range error names file, line, section and key: %s", err);
    CHECK(nn_cfg_unused(&c.sections[2]) == NULL, "all keys read");
    double d;
    CHECK(nn_cfg_float(&c, &c.sections[1], "size", 0, 0, 10, &d, err, sizeof err) == 0 && d == 5, "float lookup");
    nn_cfg_free(&c);
}

static void check_bad(const char *text, const char *want) {
    nn_cfg c;
    char err[512] = "";
    int rc = nn_cfg_parse_string(&c, "bad.cfg", text, err, sizeof err);
    CHECK(rc != 0 && strstr(err, want), "'%s' should fail with '%s', got '%s'", text, want, err);
}

int main(void) {
    check_good();
    check_bad("filters=3\n[conv]\n", "bad.cfg:1: 'filters' comes before any [section]");
    check_bad("[conv]\nfilters 3\n", "bad.cfg:2: expected 'key = value'");
    check_bad("[conv\nfilters=3\n", "bad.cfg:1: expected '[section]'");
    check_bad("[conv]\nsize=3\nsize=5\n", "bad.cfg:3: key 'size' given twice in [conv] (first at line 2)");
    check_bad("# nothing\n", "no [section]");
    char long_line[400];
    memset(long_line, 'x', sizeof long_line);
    memcpy(long_line, "[a]\nk=", 6);
    long_line[sizeof long_line - 1] = 0;
    check_bad(long_line, "bad.cfg:2: line longer than");
    nn_cfg c;
    char err[512];
    CHECK(nn_cfg_load(&c, "/nonexistent/model.cfg", err, sizeof err) != 0 && strstr(err, "/nonexistent/model.cfg"),
          "missing file named: %s", err);
    return check_summary("test_cfg");
}
