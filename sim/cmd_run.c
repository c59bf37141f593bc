/* cmd_run.c — `ccsim run`. Placeholder until its issue lands: reports that it is not available. */
#include <stdio.h>
#include "cmd.h"

int cmd_run(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "%s: not available in this build yet\n", argv[0]);
  return 1;
}
