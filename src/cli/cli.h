/* cli.h — what the subcommands share: the dispatch table's signatures and small helpers. */
#ifndef ACTLAB_CLI_H
#define ACTLAB_CLI_H
#include <stdio.h>
#include "actlab/act.h"
#include "util/error.h" /* actlab_write_atomic */

/* One function per subcommand, each in its own file cmd_NAME.c. Returns the exit status. */
int cmd_list(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_analyse(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_machine(int argc, char **argv);

/* Print "actlab CMD: message" to stderr; returns 2 (bad usage/input) for `return cli_fail(...)`. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse an activation spec ("elu:alpha=0.5", "expr:..."), printing a clear error on failure. */
int cli_parse_act(const char *cmd, const char *spec, actlab_act_cfg *out);
/* Handle "--defs FILE" (load user definitions). Returns 1 if argv[*i] was that flag (and
 * advances *i), 0 if not, -1 after printing an error. */
int cli_defs_flag(const char *cmd, int argc, char **argv, int *i);
/* Parse a double with full validation (no trailing junk); 0 on success. */
int cli_parse_double(const char *s, double *out);
/* Parse "lo,hi" with lo < hi. */
int cli_parse_range(const char *s, double *lo, double *hi);
/* Resolve a model name ("lenet") or path to a .cfg file; non-zero with the places tried in `path`. */
int cli_model_path(const char *name, char *path, size_t len);

/* Runs run(argc, argv) with a --recipe FILE's flags ("--lr", "0.001", ...) put before the
 * command line's (which win); without --recipe, as given. 2 after printing a recipe error. */
int cli_with_recipe(const char *cmd, int argc, char **argv, int (*run)(int, char **));

#endif
