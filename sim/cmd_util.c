/* cmd_util.c — option handling shared by the `ccsim` subcommands. */
#include <stdio.h>
#include "cmd.h"

gboolean cmd_parse_options(GOptionContext *ctx, int *argc, char ***argv) {
  GError *err = NULL;
  if (!g_option_context_parse(ctx, argc, argv, &err)) {
    fprintf(stderr, "%s: %s\n", (*argv)[0], err->message);
    g_error_free(err);
    return FALSE;
  }
  if (*argc > 1) {
    fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", (*argv)[0], (*argv)[1]);
    return FALSE;
  }
  return TRUE;
}
