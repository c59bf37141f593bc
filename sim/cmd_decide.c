/* cmd_decide.c — `ccsim decide`: NCCL's own algorithm, protocol, channel and thread choice for a sweep
 * of sizes (nccl-tests' -b/-e/-f), captured from the real library running on virtual GPUs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cmd.h"
#include "sweep.h"
#include "platform.h"

/* Send/recv has no collective algorithm: "P2P" where NCCL moved data, "NONE" where the call was empty. */
static const char *algo_label(const struct comm_decision *d) {
  if (d->algo == ALGO_NONE) return d->nchannels ? "P2P" : "NONE";
  return comm_algo_name(d->algo);
}
static const char *proto_label(const struct comm_decision *d) {
  return d->proto < PROTO_COUNT ? comm_proto_name(d->proto) : "NONE";
}

int cmd_decide(int argc, char **argv) {
  char *topo = NULL, *op_s = NULL, *min_s = NULL, *max_s = NULL, *nccl = NULL, *dtype = NULL, *redop = NULL;
  int nodes = 1, gpus = 0, factor = 2, type_size = 4;
  double timeout = 0;
  gboolean json = FALSE, verbose = FALSE, costs = FALSE;
  GOptionEntry entries[] = {
    {"topo", 't', 0, G_OPTION_ARG_FILENAME, &topo, "node topology XML (NCCL format)", "FILE"},
    {"op", 'o', 0, G_OPTION_ARG_STRING, &op_s, "all_reduce, all_gather, reduce_scatter, broadcast, reduce, alltoall or sendrecv", "OP"},
    {"minbytes", 'b', 0, G_OPTION_ARG_STRING, &min_s, "smallest size, nccl-tests' size column (default 8; K/M/G suffixes)", "SIZE"},
    {"maxbytes", 'e', 0, G_OPTION_ARG_STRING, &max_s, "largest size (default: the smallest)", "SIZE"},
    {"stepfactor", 'f', 0, G_OPTION_ARG_INT, &factor, "multiply the size by this between steps (default 2)", "F"},
    {"nodes", 'n', 0, G_OPTION_ARG_INT, &nodes, "virtual nodes (default 1)", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &gpus, "GPUs per node to use (default: all in the XML)", "G"},
    {"datatype", 'd', 0, G_OPTION_ARG_STRING, &dtype, "element type as nccl-tests names it (default float): "
     COMM_DTYPE_NAMES, "TYPE"},
    {"redop", 0, 0, G_OPTION_ARG_STRING, &redop, "reduction operator (default sum): " COMM_REDOP_NAMES, "OP"},
    {"type-size", 0, 0, G_OPTION_ARG_INT, &type_size, "instead of --datatype: bytes per element, 1 (int8), 2 (half), "
     "4 (float, default) or 8 (double)", "N"},
    {"json", 'j', 0, G_OPTION_ARG_NONE, &json, "print a JSON array instead of a table", NULL},
    {"costs", 0, 0, G_OPTION_ARG_NONE, &costs, "with --json: add NCCL's own time estimate (us) per algorithm and protocol", NULL},
    {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl, "NCCL library to run (default: $CCSIM_NCCL or the CUDA toolkit's)", "PATH"},
    {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, "seconds before the run is abandoned (default scales with ranks)", "S"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "show NCCL's and the platform's messages", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- NCCL's algorithm/protocol/channel choice for a size sweep");
  g_option_context_set_summary(ctx,
      "Runs the real NCCL library on virtual GPUs and reports, per size, what it chose.\n"
      "Sizes follow nccl-tests' size column (all_gather/reduce_scatter/alltoall: the whole buffer);\n"
      "nccl_bytes is the size NCCL's tuning sees. For sendrecv and alltoall the protocol and channels\n"
      "are those of one peer. NCCL_* variables (NCCL_ALGO, NCCL_PROTO, NCCL_MAX_NCHANNELS, ...) pass through.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  size_t minb = 8, maxb = 0;
  GArray *sizes = g_array_new(FALSE, FALSE, sizeof(size_t));
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  if (!topo || !op_s) {
    fprintf(stderr, "%s: --topo FILE and --op OP are required (see --help)\n", argv[0]);
    goto out;
  }
  int op = comm_op_parse(op_s);
  if (op < 0) {
    fprintf(stderr, "%s: unknown operation '%s' (all_reduce, all_gather, reduce_scatter, broadcast, reduce, alltoall, sendrecv)\n",
            argv[0], op_s);
    goto out;
  }
  if (min_s && !sweep_parse_size(min_s, &minb)) {
    fprintf(stderr, "%s: bad -b size '%s'\n", argv[0], min_s);
    goto out;
  }
  maxb = minb;
  if (max_s && !sweep_parse_size(max_s, &maxb)) {
    fprintf(stderr, "%s: bad -e size '%s'\n", argv[0], max_s);
    goto out;
  }
  if (maxb < minb || factor < 2 || nodes < 1 || gpus < 0 ||
      (type_size != 1 && type_size != 2 && type_size != 4 && type_size != 8)) {
    fprintf(stderr, "%s: need -b <= -e, -f >= 2, --nodes >= 1, --gpus >= 0, --type-size 1/2/4/8\n", argv[0]);
    goto out;
  }
  char *bad = comm_names_problem(dtype, redop);
  if (bad) {
    fprintf(stderr, "%s: %s\n", argv[0], bad);
    g_free(bad);
    goto out;
  }
  for (size_t s = minb; s <= maxb; s *= (size_t)factor) {
    g_array_append_val(sizes, s);
    if (s > maxb / (size_t)factor) break;
    if (sizes->len > 4096) break;
  }
  struct platform_request req = {.topo_path = topo, .nodes = nodes, .gpus = gpus, .nccl_path = nccl,
                                 .op = (enum comm_op)op, .sizes = (const size_t *)(void *)sizes->data,
                                 .nsizes = (int)sizes->len, .type_size = type_size, .dtype = dtype, .redop = redop,
                                 .timeout_s = timeout,
                                 .verbose = verbose};
  struct platform_result res;
  rc = 1;
  if (platform_capture(&req, &res, &err) != 0) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  if (json) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < res.ndecisions; i++) {
      const struct comm_decision *d = &res.decisions[i];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "bytes", (double)d->bytes);
      cJSON_AddNumberToObject(o, "nccl_bytes", (double)d->nccl_bytes);
      cJSON_AddStringToObject(o, "algorithm", algo_label(d));
      cJSON_AddStringToObject(o, "protocol", proto_label(d));
      cJSON_AddNumberToObject(o, "nchannels", d->nchannels);
      cJSON_AddNumberToObject(o, "nthreads", d->nthreads);
      if (costs) {
        /* NCCL's cost table as its tuner interface saw it; unavailable pairs are left out */
        cJSON *c = cJSON_AddObjectToObject(o, "cost_us");
        for (int al = 0; al < ALGO_COUNT; al++) {
          cJSON *row = NULL;
          for (int p = 0; p < PROTO_COUNT; p++) {
            if (d->cost_us[al][p] < 0) continue;
            if (!row) row = cJSON_AddObjectToObject(c, comm_algo_name((enum comm_algo)al));
            cJSON_AddNumberToObject(row, comm_proto_name((enum comm_proto)p), d->cost_us[al][p]);
          }
        }
      }
      cJSON_AddItemToArray(a, o);
    }
    char *s = cJSON_Print(a);
    printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(a);
  } else {
    printf("# %s on %s: %d rank(s), %d node(s), NCCL %d.%d.%d\n", comm_op_name((enum comm_op)op), topo,
           res.comm.nranks, res.comm.nnodes, res.nccl_version / 10000, (res.nccl_version / 100) % 100,
           res.nccl_version % 100);
    printf("%14s %14s %10s %8s %9s %8s\n", "size(B)", "nccl_bytes", "algorithm", "protocol", "channels", "threads");
    for (int i = 0; i < res.ndecisions; i++) {
      const struct comm_decision *d = &res.decisions[i];
      printf("%14zu %14zu %10s %8s %9d %8d\n", d->bytes, d->nccl_bytes,
             algo_label(d), proto_label(d), d->nchannels,
             d->nthreads);
    }
  }
  platform_result_free(&res);
  rc = 0;
out:
  g_clear_error(&err);
  g_option_context_free(ctx);
  g_array_free(sizes, TRUE);
  g_free(topo);
  g_free(op_s);
  g_free(min_s);
  g_free(max_s);
  g_free(nccl);
  g_free(dtype);
  g_free(redop);
  return rc;
}
