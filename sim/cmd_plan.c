/* cmd_plan.c — `ccsim plan`: runs NCCL on the virtual platform for one call, then prints NCCL's
 * decision, the per-channel and per-rank totals and the op list the call decomposes into. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <sys/resource.h>
#include <glib.h>
#include "cmd.h"
#include "sweep.h"
#include "platform.h"
#include "plan.h"

/* Until the platform launcher is linked into this program the symbol stays unresolved (NULL) and
 * `plan` says so instead of inventing a decision. */
#pragma weak platform_capture
#pragma weak platform_result_free

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void print_summary(FILE *f, const struct comm_info *c, const struct comm_decision *d, const struct oplist *l) {
  struct plan_totals t;
  plan_totals_compute(l, c->nranks, &t);
  fprintf(f, "decision: %s %zu bytes -> algo %s proto %s channels %d threads %d (type size %d, root %d)\n",
          comm_op_name(d->op), d->bytes, comm_algo_name(d->algo), comm_proto_name(d->proto), d->nchannels,
          d->nthreads, d->type_size, d->root);
  fprintf(f, "communicator: %d ranks on %d node(s), %d collective channels, %d p2p channels (%d per peer)\n",
          c->nranks, c->nnodes, c->nchannels, c->p2p_nchannels, c->p2p_nchannels_per_peer);
  struct plan_split sp;
  if (d->op != OP_SENDRECV && d->op != OP_ALLTOALL && !plan_collective_split(c, d, &sp, NULL) && sp.nparts)
    fprintf(f, "split: channels %d..%d, elements per channel lo/mid/hi %zu/%zu/%zu (of %d bytes), chunk bytes "
               "lo/mid/hi %zu/%zu/%zu\n", sp.channel_lo, sp.channel_hi, sp.count_lo, sp.count_mid, sp.count_hi,
            sp.elem_size, sp.chunk_bytes_lo, sp.chunk_bytes_mid, sp.chunk_bytes_hi);
  fprintf(f, "ops: %zu, dependencies: %zu, payload %" G_GUINT64_FORMAT " bytes, wire %" G_GUINT64_FORMAT " bytes\n",
          l->nops, l->ndep, t.payload, t.wire);
  fprintf(f, "\n%8s %10s %16s %16s\n", "channel", "ops", "payload_bytes", "wire_bytes");
  for (int ch = 0; ch < COMM_MAX_CHANNELS; ch++)
    if (t.chan_ops[ch])
      fprintf(f, "%8d %10" G_GUINT64_FORMAT " %16" G_GUINT64_FORMAT " %16" G_GUINT64_FORMAT "\n", ch, t.chan_ops[ch],
              t.chan_payload[ch], t.chan_wire[ch]);
  fprintf(f, "\n%8s %16s %16s\n", "rank", "recv_payload", "send_payload");
  for (int r = 0; r < c->nranks; r++)
    fprintf(f, "%8d %16" G_GUINT64_FORMAT " %16" G_GUINT64_FORMAT "\n", r, t.recv_payload[r], t.send_payload[r]);
  plan_totals_free(&t);
}

int cmd_plan(int argc, char **argv) {
  gchar *topo = NULL, *op_name = NULL, *bytes_s = NULL, *format = NULL, *out_path = NULL, *nccl = NULL;
  gint nodes = 1, gpus = 0, coarse = 0, type_size = 4, root = 0;
  gboolean stats = FALSE, verbose = FALSE, in_place = FALSE;
  GOptionEntry entries[] = {
    {"topo", 't', 0, G_OPTION_ARG_FILENAME, &topo, "node topology XML (NCCL format), required", "FILE"},
    {"op", 0, 0, G_OPTION_ARG_STRING, &op_name, "all_reduce (default), all_gather, reduce_scatter, broadcast, "
     "reduce, alltoall, sendrecv", "OP"},
    {"bytes", 'b', 0, G_OPTION_ARG_STRING, &bytes_s, "call size in nccl-tests' convention, e.g. 1M, 8G (required)",
     "N"},
    {"nodes", 'N', 0, G_OPTION_ARG_INT, &nodes, "virtual nodes (default 1)", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &gpus, "GPUs per node (default: all in the topology)", "G"},
    {"type-size", 0, 0, G_OPTION_ARG_INT, &type_size, "bytes per element (default 4, float)", "B"},
    {"root", 0, 0, G_OPTION_ARG_INT, &root, "root rank of broadcast/reduce (default 0); for sendrecv the peer "
     "offset (default 1: every rank sends to the next)", "R"},
    {"in-place", 0, 0, G_OPTION_ARG_NONE, &in_place, "in-place call (default out-of-place, as nccl-tests)", NULL},
    {"format", 'f', 0, G_OPTION_ARG_STRING, &format, "summary (default), json or csv", "FMT"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "write to FILE instead of standard output", "FILE"},
    {"coarse", 0, 0, G_OPTION_ARG_INT, &coarse, "merge K consecutive steps of each channel connection into one op "
     "(default: one op per step)", "K"},
    {"stats", 0, 0, G_OPTION_ARG_NONE, &stats, "print time and peak memory of the decomposition to stderr", NULL},
    {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl, "NCCL library to run (default: CCSIM_NCCL or the CUDA toolkit's)",
     "PATH"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "pass NCCL's INFO output through", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- the point-to-point operations one collective call becomes");
  g_option_context_set_summary(ctx,
      "Runs the real NCCL library on virtual GPUs built from the topology, takes NCCL's decision for the\n"
      "call (algorithm, protocol, channels) and decomposes the call into the per-channel, per-step\n"
      "transfers NCCL's kernels perform. NCCL_* environment variables (NCCL_ALGO, NCCL_PROTO,\n"
      "NCCL_MAX_NCHANNELS, NCCL_BUFFSIZE, ...) pass through to NCCL.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  if (!cmd_parse_options(ctx, &argc, &argv)) goto out;
  if (!topo) {
    fprintf(stderr, "%s: --topo FILE is required\n", argv[0]);
    goto out;
  }
  size_t bytes = 0;
  if (!bytes_s || !sweep_parse_size(bytes_s, &bytes)) {
    fprintf(stderr, "%s: --bytes needs a size such as 1048576, 64K, 8G (got '%s')\n", argv[0],
            bytes_s ? bytes_s : "nothing");
    goto out;
  }
  int op = comm_op_parse(op_name ? op_name : "all_reduce");
  if (op < 0) {
    fprintf(stderr, "%s: unknown --op '%s'\n", argv[0], op_name);
    goto out;
  }
  const char *fmt = format ? format : "summary";
  if (strcmp(fmt, "summary") && strcmp(fmt, "json") && strcmp(fmt, "csv")) {
    fprintf(stderr, "%s: --format must be summary, json or csv (got '%s')\n", argv[0], fmt);
    goto out;
  }
  if (nodes < 1 || gpus < 0 || coarse < 0 || (type_size != 1 && type_size != 2 && type_size != 4 && type_size != 8)) {
    fprintf(stderr, "%s: need --nodes >= 1, --gpus >= 0, --coarse >= 0, --type-size 1, 2, 4 or 8\n", argv[0]);
    goto out;
  }
  rc = 1;
  if (!platform_capture) {
    fprintf(stderr, "%s: the virtual GPU platform is not part of this build yet, so NCCL's decision for the call "
            "cannot be obtained\n", argv[0]);
    goto out;
  }
  struct platform_request req = {.topo_path = topo, .nodes = nodes, .gpus = gpus, .nccl_path = nccl,
                                 .op = (enum comm_op)op, .sizes = &bytes, .nsizes = 1, .type_size = type_size,
                                 .verbose = verbose};
  struct platform_result pr;
  memset(&pr, 0, sizeof(pr));
  if (platform_capture(&req, &pr, &err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  if (pr.ndecisions < 1) {
    fprintf(stderr, "%s: NCCL reported no decision for the call\n", argv[0]);
    platform_result_free(&pr);
    goto out;
  }
  struct comm_decision d = pr.decisions[0];
  if (d.op == OP_BROADCAST || d.op == OP_REDUCE || d.op == OP_SENDRECV) d.root = root;
  struct plan_options po = {.coarse = coarse, .in_place = in_place};
  struct oplist l;
  oplist_init(&l);
  double t0 = now_s();
  int prc = plan_build(&pr.comm, &d, &po, &l, &err);
  double t1 = now_s();
  if (prc) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
  } else {
    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (!f) {
      fprintf(stderr, "%s: cannot write %s: %s\n", argv[0], out_path, g_strerror(errno));
    } else {
      int wrc = 0;
      if (!strcmp(fmt, "json")) wrc = oplist_write_json(&l, f);
      else if (!strcmp(fmt, "csv")) wrc = oplist_write_csv(&l, f);
      else print_summary(f, &pr.comm, &d, &l);
      if (f != stdout && fclose(f)) wrc = -1;
      if (wrc) fprintf(stderr, "%s: writing %s failed\n", argv[0], out_path ? out_path : "standard output");
      else rc = 0;
    }
    if (stats) {
      struct rusage ru;
      getrusage(RUSAGE_SELF, &ru);
      fprintf(stderr, "plan: %zu ops, %zu deps, built in %.3f s, peak RSS %.1f MiB\n", l.nops, l.ndep, t1 - t0,
              ru.ru_maxrss / 1024.0);
    }
  }
  oplist_free(&l);
  platform_result_free(&pr);
out:
  if (err) g_error_free(err);
  g_option_context_free(ctx);
  g_free(topo);
  g_free(op_name);
  g_free(bytes_s);
  g_free(format);
  g_free(out_path);
  g_free(nccl);
  return rc;
}
