/* cmd_bench.c — `ccsim bench`: simulate an nccl-tests size sweep and print it as nccl-tests does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "cmd.h"
#include "nccltests.h"
#include "sweep.h"

int cmd_bench(int argc, char **argv) {
  gchar *topo = NULL, *op_name = NULL, *min_s = NULL, *max_s = NULL, *timeline = NULL, *params = NULL,
        *nccl = NULL, *incr_s = NULL, *dtype = NULL, *redop = NULL;
  gint nodes = 1, gpus = 0, factor = 2, iters = 20, warmup = 1, coarse = 0, per_thread = 0, root = 0, graph = 0;
  gboolean verbose = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    {"topo", 't', 0, G_OPTION_ARG_FILENAME, &topo, "node topology XML (NCCL format), required", "FILE"},
    {"op", 'o', 0, G_OPTION_ARG_STRING, &op_name,
     "all_reduce (default), all_gather, reduce_scatter, broadcast, reduce, alltoall, sendrecv", "OP"},
    {"minbytes", 'b', 0, G_OPTION_ARG_STRING, &min_s, "smallest size, e.g. 8, 1K, 32M (default 8)", "N"},
    {"maxbytes", 'e', 0, G_OPTION_ARG_STRING, &max_s, "largest size (default 128M)", "N"},
    {"stepfactor", 'f', 0, G_OPTION_ARG_INT, &factor, "multiply the size by F between points (default 2)", "F"},
    {"stepbytes", 'i', 0, G_OPTION_ARG_STRING, &incr_s, "add N bytes between points instead of multiplying", "N"},
    {"datatype", 'd', 0, G_OPTION_ARG_STRING, &dtype, "element type as nccl-tests names it (default float): "
     COMM_DTYPE_NAMES, "TYPE"},
    {"redop", 0, 0, G_OPTION_ARG_STRING, &redop, "reduction operator (nccl-tests' -o; default sum): "
     COMM_REDOP_NAMES, "OP"},
    {"root", 'r', 0, G_OPTION_ARG_INT, &root, "root rank of broadcast and reduce (default 0)", "R"},
    {"nodes", 'N', 0, G_OPTION_ARG_INT, &nodes, "virtual nodes (default 1)", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &gpus, "GPUs per node (default: all in the topology)", "G"},
    {"gpus-per-thread", 0, 0, G_OPTION_ARG_INT, &per_thread, "GPUs one host thread drives, as nccl-tests' -g "
     "(default: all GPUs of a node, i.e. one process with -g G; 1 for one process per GPU, where consecutive "
     "calls also overlap on the GPUs)", "N"},
    {"cudagraph", 'G', 0, G_OPTION_ARG_INT, &graph, "as nccl-tests' -G: the calls replayed from a CUDA graph "
     "(no host enqueue per call; default 0: launched one by one)", "N"},
    {"iters", 'n', 0, G_OPTION_ARG_INT, &iters, "iterations nccl-tests would run (printed in the header; the "
     "simulation is deterministic, one iteration is timed)", "N"},
    {"warmup_iters", 'w', 0, G_OPTION_ARG_INT, &warmup, "warm-up iterations (printed in the header)", "N"},
    {"timeline", 'T', 0, G_OPTION_ARG_FILENAME, &timeline, "write a Chrome trace (Perfetto) of the "
     "out-of-place calls to FILE", "FILE"},
    {"params", 0, 0, G_OPTION_ARG_FILENAME, &params, "network model parameters (default: the GPUs' generation, "
     "e.g. netmodel/sm90.json; or CCSIM_PARAMS)", "FILE"},
    {"coarse", 0, 0, G_OPTION_ARG_INT, &coarse, "merge K pipeline slices per op (faster, less exact; default 1)",
     "K"},
    {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl, "NCCL library to run (default: CCSIM_NCCL or the CUDA toolkit's)",
     "LIB"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "pass NCCL's INFO output through to stderr", NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress messages on stderr", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- simulate an nccl-tests sweep");
  g_option_context_set_summary(ctx,
    "Runs the real NCCL library on virtual GPUs built from the topology to get its algorithm, protocol and\n"
    "channel choice for every size, decomposes each call into point-to-point steps and times them on the\n"
    "network model. Output has nccl-tests' layout (size, count, type, redop, root, time, algbw, busbw,\n"
    "#wrong; out-of-place and in-place) and busbw factors. NCCL_* variables (NCCL_ALGO, NCCL_PROTO,\n"
    "NCCL_MAX_NCHANNELS, NCCL_BUFFSIZE, ...) pass through to NCCL. NCCL sees the element type, reduction\n"
    "operator and root given, so its own restrictions (NVLS and CollNet support per type and operator) apply.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  if (!cmd_parse_options(ctx, &argc, &argv)) goto out;
  if (!topo) {
    fprintf(stderr, "%s: --topo FILE is required (a topology XML, e.g. from `ccsim topo gen dgx-h100 -o F`)\n", argv[0]);
    goto out;
  }
  int op = op_name ? comm_op_parse(op_name) : OP_ALL_REDUCE;
  if (op < 0) {
    fprintf(stderr, "%s: unknown operation '%s' (all_reduce, all_gather, reduce_scatter, broadcast, reduce, alltoall, sendrecv)\n", argv[0], op_name);
    goto out;
  }
  if (root < 0) {
    fprintf(stderr, "%s: --root must be a rank (>= 0)\n", argv[0]);
    goto out;
  }
  size_t minb = 8, maxb = 128u << 20, incr = 0;
  if ((min_s && !sweep_parse_size(min_s, &minb)) || (max_s && !sweep_parse_size(max_s, &maxb)) ||
      (incr_s && !sweep_parse_size(incr_s, &incr))) {
    fprintf(stderr, "%s: sizes are numbers with an optional K, M, G suffix (got '%s')\n", argv[0],
            min_s && !sweep_parse_size(min_s, &minb) ? min_s : max_s && !sweep_parse_size(max_s, &maxb) ? max_s : incr_s);
    goto out;
  }
  if (minb > maxb || (!incr && factor < 2) || nodes < 1 || gpus < 0 || iters < 1 || warmup < 0 || coarse < 0 ||
      per_thread < 0 || graph < 0) {
    fprintf(stderr, "%s: need minbytes <= maxbytes, stepfactor >= 2 (or stepbytes), nodes >= 1, gpus >= 0, "
                    "iters >= 1, cudagraph >= 0\n", argv[0]);
    goto out;
  }
  GArray *sizes = g_array_new(FALSE, FALSE, sizeof(size_t));
  for (size_t s = minb; s <= maxb && sizes->len < 4096;) {
    g_array_append_val(sizes, s);
    size_t next = incr ? s + incr : (s ? s * (size_t)factor : 1);
    if (next <= s) break;
    s = next;
  }
  struct sweep_request req = {
    .topo_path = topo, .nodes = nodes, .gpus = gpus, .op = op, .sizes = (size_t *)(void *)sizes->data,
    .nsizes = (int)sizes->len, .type_size = 4, .dtype = dtype, .redop = redop, .root = root,
    .params_path = params, .nccl_path = nccl, .timeline_path = timeline, .coarse = coarse, .verbose = verbose,
    .progress = !quiet && sizes->len > 0, .gpus_per_thread = per_thread,
    .graph = graph > 0,
  };
  struct sweep_result res;
  rc = 1;
  if (sweep_run(&req, &res, &err) != 0) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    g_array_free(sizes, TRUE);
    goto out;
  }
  struct nt_header h = {.op = op, .nranks = res.nranks, .gpus_per_thread = res.nlocal, .min_bytes = minb, .max_bytes = maxb,
                        .step_factor = incr ? 0 : factor, .warmup_iters = warmup, .iters = iters, .graph_launches = graph,
                        .rank_desc = (const char *const *)res.rank_desc};
  nt_print_header(stdout, &h);
  double busbw_sum = 0;
  int nbw = 0;
  double factor_bw = nt_busbw_factor(op, res.nranks);
  for (int i = 0; i < res.npoints; i++) {
    struct sweep_point *p = &res.points[i];
    nt_print_row(stdout, op, res.nranks, p->size, p->count, dtype ? dtype : "float", redop, root, p->time_us[0],
                 p->time_us[1]);
    for (int k = 0; k < 2; k++) {
      if (p->time_us[k] > 0) busbw_sum += (double)p->size / 1e3 / p->time_us[k] * factor_bw;
      nbw++;
    }
  }
  nt_print_footer(stdout, op, nbw ? busbw_sum / nbw : 0);
  if (!quiet)
    fprintf(stderr, "ccsim: %d sizes, %d ranks, model %s: %llu events in %.3f s (%.2f M events/s)\n", res.npoints,
            res.nranks, res.params_name, res.events, res.sim_seconds,
            res.sim_seconds > 0 ? res.events / res.sim_seconds / 1e6 : 0);
  sweep_result_free(&res);
  g_array_free(sizes, TRUE);
  rc = 0;
out:
  if (err) g_error_free(err);
  g_option_context_free(ctx);
  g_free(topo);
  g_free(op_name);
  g_free(min_s);
  g_free(max_s);
  g_free(incr_s);
  g_free(timeline);
  g_free(params);
  g_free(nccl);
  g_free(dtype);
  g_free(redop);
  return rc;
}
