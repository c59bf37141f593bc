/* main.c — the `ccsim` program: dispatches to one subcommand per job. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "cmd.h"

struct subcommand {
  const char *name;
  cmd_main_fn fn;
  const char *summary;
};

static const struct subcommand subcommands[] = {
  {"topo", cmd_topo, "load, check and summarise a topology; generate standard systems"},
  {"graph", cmd_graph, "channel graphs (rings, trees) NCCL builds on a virtual machine"},
  {"decide", cmd_decide, "NCCL's algorithm/protocol/channel choice for a size sweep"},
  {"plan", cmd_plan, "the point-to-point operations one collective call becomes"},
  {"bench", cmd_bench, "simulate a size sweep, printed like nccl-tests"},
  {"compare", cmd_compare, "simulate the sweep of a measured nccl-tests log and report the error"},
  {"run", cmd_run, "run an unmodified NCCL program on virtual GPUs with simulated time"},
};

static void usage(FILE *f) {
  fprintf(f, "Usage: ccsim COMMAND [OPTIONS]\n\n"
             "ccsim predicts how long NCCL collectives take on a machine described by a topology XML,\n"
             "running the real NCCL library on virtual GPUs.\n\nCommands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS(subcommands); i++)
    fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf(f, "\nRun 'ccsim COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
  /* Character set only: GLib's help text converts to it. Numbers keep the C locale so tables stay
   * machine-readable (nccl-tests' format uses '.' decimals). */
  setlocale(LC_CTYPE, "");
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("ccsim %s\n", CCSIM_VERSION);
    return 0;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(subcommands); i++) {
    if (strcmp(argv[1], subcommands[i].name)) continue;
    char *name = g_strdup_printf("ccsim %s", subcommands[i].name);
    argv[1] = name;
    int rc = subcommands[i].fn(argc - 1, argv + 1);
    g_free(name);
    return rc;
  }
  fprintf(stderr, "ccsim: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
