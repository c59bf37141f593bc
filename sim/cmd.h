/* cmd.h — the subcommands of the `ccsim` program.
 *
 * Each subcommand lives in its own sim/cmd_<name>.c and has the signature below: it receives
 * argv with argv[0] set to "ccsim <name>", parses its own options (GOption) and returns the
 * process exit status (0 success, 1 failure, 2 usage error).
 */
#ifndef CCSIM_SIM_CMD_H
#define CCSIM_SIM_CMD_H

#include <glib.h>

typedef int (*cmd_main_fn)(int argc, char **argv);

/* Parses a command's options and refuses positional arguments, printing why to stderr; FALSE on error
 * (the caller exits 2). For commands whose only inputs are options. */
gboolean cmd_parse_options(GOptionContext *ctx, int *argc, char ***argv);

int cmd_topo(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_decide(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
