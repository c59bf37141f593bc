/* speed.c — engine speed benchmark (not a test): one collective on N ranks of 8-GPU NVSwitch nodes
 * joined by one 400 Gb/s NIC per GPU, decomposed by plan_build and executed by the engine; prints ops,
 * events, wall time and events/s. No NCCL involved: the communicator is a ring in rank order.
 *
 *   sim_speed [--ranks N] [--bytes B] [--op all_reduce] [--proto SIMPLE] [--channels C] [--coarse K]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "netmodel.h"
#include "plan.h"
#include "simulate.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  gint ranks = 64, nch = 16, coarse = 0;
  gchar *bytes_s = NULL, *op_s = NULL, *proto_s = NULL, *params = NULL;
  GOptionEntry entries[] = {
    {"ranks", 'n', 0, G_OPTION_ARG_INT, &ranks, "ranks (8 per node; default 64)", "N"},
    {"bytes", 'b', 0, G_OPTION_ARG_STRING, &bytes_s, "call size in bytes (default 1073741824)", "B"},
    {"op", 'o', 0, G_OPTION_ARG_STRING, &op_s, "operation (default all_reduce)", "OP"},
    {"proto", 'p', 0, G_OPTION_ARG_STRING, &proto_s, "protocol (default SIMPLE)", "P"},
    {"channels", 'c', 0, G_OPTION_ARG_INT, &nch, "channels (default 16)", "C"},
    {"coarse", 0, 0, G_OPTION_ARG_INT, &coarse, "merge K slices per op", "K"},
    {"params", 0, 0, G_OPTION_ARG_FILENAME, &params, "parameter file (default sm90)", "F"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- engine speed on a synthetic multi-node ring");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || ranks < 2 || nch < 1 || nch > COMM_MAX_CHANNELS) {
    fprintf(stderr, "%s\n", err ? err->message : "need --ranks >= 2 and 1..64 channels");
    return 2;
  }
  size_t bytes = bytes_s ? strtoull(bytes_s, NULL, 10) : (1ull << 30);
  int op = op_s ? comm_op_parse(op_s) : OP_ALL_REDUCE;
  int proto = proto_s ? comm_proto_parse(proto_s) : PROTO_SIMPLE;
  if (op < 0 || proto < 0) {
    fprintf(stderr, "unknown op or protocol\n");
    return 2;
  }
  if (!params) params = netmodel_params_find(90, &err);
  struct netmodel_params *p = params ? netmodel_params_load(params, &err) : NULL;
  if (!p) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  int n = ranks, per = 8, nodes = (n + per - 1) / per;
  struct comm_info c;
  memset(&c, 0, sizeof c);
  c.nranks = n;
  c.nnodes = nodes;
  c.rank_node = g_new(int, n);
  c.rank_dev = g_new(int, n);
  for (int r = 0; r < n; r++) {
    c.rank_node[r] = r / per;
    c.rank_dev[r] = r % per;
  }
  c.nchannels = nch;
  c.p2p_nchannels = nch;
  c.p2p_nchannels_per_peer = 2;
  c.p2p_chunk_size = 524288;
  c.buff_size[PROTO_LL] = 524288;
  c.buff_size[PROTO_LL128] = 4915200;
  c.buff_size[PROTO_SIMPLE] = 4194304;
  c.channels = g_new0(struct comm_channel, nch);
  for (int ch = 0; ch < nch; ch++) {
    c.channels[ch].ring.order = g_new(int, n);
    c.channels[ch].tree = g_new(struct comm_tree_node, n);
    for (int r = 0; r < n; r++) {
      c.channels[ch].ring.order[r] = r;
      c.channels[ch].tree[r] = (struct comm_tree_node){r ? r - 1 : -1, {r + 1 < n ? r + 1 : -1, -1, -1}};
    }
  }
  c.transport = g_new(int8_t, n * n);
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) c.transport[a * n + b] = a / per == b / per ? TRANSPORT_P2P : TRANSPORT_NET;

  /* Resources: NVLink out/in per GPU (370.8 GB/s), NIC out/in per GPU (50 GB/s). */
  struct netmodel *m = netmodel_new_empty(p, n);
  int *nvo = g_new(int, n), *nvi = g_new(int, n), *nio = g_new(int, n), *nii = g_new(int, n);
  for (int r = 0; r < n; r++) {
    char nm[64];
    snprintf(nm, sizeof nm, "gpu%d nvlink out", r);
    nvo[r] = netmodel_add_resource(m, nm, 370.8);
    snprintf(nm, sizeof nm, "gpu%d nvlink in", r);
    nvi[r] = netmodel_add_resource(m, nm, 370.8);
    snprintf(nm, sizeof nm, "nic%d out", r);
    nio[r] = netmodel_add_resource(m, nm, 50);
    snprintf(nm, sizeof nm, "nic%d in", r);
    nii[r] = netmodel_add_resource(m, nm, 50);
  }
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) {
      if (a == b) continue;
      if (a / per == b / per) {
        int res[2] = {nvo[a], nvi[b]};
        netmodel_set_route(m, a, b, ROUTE_NVLINK, 2, res);
      } else {
        int res[2] = {nio[a], nii[b]};
        netmodel_set_route(m, a, b, ROUTE_NET, 2, res);
      }
    }
  struct comm_decision d = {.op = op, .bytes = bytes, .nccl_bytes = bytes, .count = bytes / 4, .type_size = 4,
                            .algo = op == OP_SENDRECV || op == OP_ALLTOALL ? ALGO_NONE : ALGO_RING,
                            .proto = proto, .nchannels = nch, .nthreads = 512};
  if (op == OP_ALL_GATHER || op == OP_REDUCE_SCATTER) d.nccl_bytes = bytes / n;
  struct oplist l;
  oplist_init(&l);
  struct plan_options po = {.coarse = coarse};
  double t0 = now_s();
  if (plan_build(&c, &d, &po, &l, &err)) {
    fprintf(stderr, "plan: %s\n", err->message);
    return 1;
  }
  double t1 = now_s();
  struct sim_call sc;
  if (sim_call_run(m, &l, per, NULL, 0, &sc, &err)) {
    fprintf(stderr, "simulate: %s\n", err->message);
    return 1;
  }
  double t2 = now_s();
  printf("%d ranks (%d nodes), %s %zu B %s x%d: %zu ops, plan %.2f s, simulate %.2f s, %llu events "
         "(%.2f M events/s), %zu transfers at once at most; simulated time %.1f us (busbw-style %.1f GB/s)\n",
         n, nodes, comm_op_name(op), bytes, comm_proto_name(proto), nch, l.nops, t1 - t0, t2 - t1,
         (unsigned long long)sc.events, sc.events / (t2 - t1) / 1e6, sc.max_active, sc.iter_ps / 1e6,
         bytes / (sc.iter_ps / 1e6) / 1e3 * (op == OP_ALL_REDUCE ? 2.0 * (n - 1) / n : 1.0));
  oplist_free(&l);
  netmodel_free(m);
  comm_info_free(&c);
  netmodel_params_free(p);
  g_free(nvo);
  g_free(nvi);
  g_free(nio);
  g_free(nii);
  g_free(params);
  g_free(bytes_s);
  g_free(op_s);
  g_free(proto_s);
  g_option_context_free(ctx);
  return 0;
}
