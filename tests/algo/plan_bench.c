/* plan_bench.c — benchmark of the decomposition: time and peak memory to build the op list of one
 * call on a synthetic NCCL-shaped communicator (comm_synth.h), for scales the virtual platform cannot
 * run. Run one case per process so the peak RSS belongs to that case. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
#include <glib.h>
#include "plan.h"
#include "comm_synth.h"

int main(int argc, char **argv) {
  gint nodes = 1, gpus = 8, channels = 24, coarse = 0;
  gchar *bytes_s = NULL, *algo_s = NULL, *proto_s = NULL, *op_s = NULL;
  GOptionEntry entries[] = {
    {"nodes", 'N', 0, G_OPTION_ARG_INT, &nodes, "nodes (default 1)", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &gpus, "GPUs per node (default 8)", "G"},
    {"channels", 'c', 0, G_OPTION_ARG_INT, &channels, "collective channels (default 24)", "C"},
    {"bytes", 'b', 0, G_OPTION_ARG_STRING, &bytes_s, "call size in bytes (default 8589934592)", "N"},
    {"op", 0, 0, G_OPTION_ARG_STRING, &op_s, "operation (default all_reduce)", "OP"},
    {"algo", 0, 0, G_OPTION_ARG_STRING, &algo_s, "RING (default) or TREE", "A"},
    {"proto", 0, 0, G_OPTION_ARG_STRING, &proto_s, "SIMPLE (default), LL128 or LL", "P"},
    {"coarse", 0, 0, G_OPTION_ARG_INT, &coarse, "merge K steps per op (default: fine)", "K"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- time and peak memory of plan_build on a synthetic communicator");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "plan_bench: %s\n", err->message);
    return 2;
  }
  g_option_context_free(ctx);
  struct comm_decision d = {0};
  d.op = comm_op_parse(op_s ? op_s : "all_reduce");
  d.bytes = bytes_s ? g_ascii_strtoull(bytes_s, NULL, 10) : 8589934592ull;
  d.type_size = 4;
  d.algo = comm_algo_parse(algo_s ? algo_s : "RING");
  d.proto = comm_proto_parse(proto_s ? proto_s : "SIMPLE");
  d.nchannels = channels;
  if ((int)d.op < 0 || (int)d.algo < 0 || (int)d.proto < 0 || nodes < 1 || gpus < 1 || channels < 1 ||
      channels > COMM_MAX_CHANNELS) {
    fprintf(stderr, "plan_bench: bad --op/--algo/--proto/--nodes/--gpus/--channels\n");
    return 2;
  }
  struct comm_info c;
  comm_synth_build(&c, nodes, gpus, channels);
  struct plan_options o = {.coarse = coarse};
  struct oplist l;
  oplist_init(&l);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int rc = plan_build(&c, &d, &o, &l, &err);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (rc) {
    fprintf(stderr, "plan_bench: %s\n", err->message);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
  printf("%s %s %s %zu bytes, %d ranks (%dx%d, synthetic), %d channels, %s: %zu ops, %zu deps, %.3f s, "
         "peak RSS %.1f MiB\n", comm_op_name(d.op), comm_algo_name(d.algo), comm_proto_name(d.proto), d.bytes,
         c.nranks, nodes, gpus, channels, coarse > 1 ? "coarse" : "fine", l.nops, l.ndep, secs,
         ru.ru_maxrss / 1024.0);
  oplist_free(&l);
  comm_info_free(&c);
  g_free(bytes_s); g_free(algo_s); g_free(proto_s); g_free(op_s);
  return 0;
}
