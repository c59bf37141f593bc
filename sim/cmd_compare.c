/* cmd_compare.c — `ccsim compare`. Placeholder until its issue lands: reports that it is not available. */
#include <stdio.h>
#include "cmd.h"

int cmd_compare(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "%s: not available in this build yet\n", argv[0]);
  return 1;
}
