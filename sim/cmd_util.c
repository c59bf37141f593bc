/* cmd_util.c — option handling shared by the `ccsim` subcommands. */
#include <stdio.h>
#include "cmd.h"
#include "comm.h"

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

gboolean cmd_check_dtype_redop(const char *prog, const char *dtype, const char *redop) {
  if (dtype && comm_dtype_parse(dtype) < 0) {
    fprintf(stderr, "%s: unknown element type '%s' (" COMM_DTYPE_NAMES ")\n", prog, dtype);
    return FALSE;
  }
  if (redop && comm_redop_parse(redop) < 0) {
    fprintf(stderr, "%s: unknown reduction operator '%s' (" COMM_REDOP_NAMES ")\n", prog, redop);
    return FALSE;
  }
  return TRUE;
}
