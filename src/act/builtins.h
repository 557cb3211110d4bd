/* builtins.h — the table of built-in functions (defined in builtins.c). */
#ifndef ACTLAB_BUILTINS_H
#define ACTLAB_BUILTINS_H
#include "actlab/act.h"
extern const actlab_act *const act_builtins[];
extern const int act_builtin_count;
#endif
