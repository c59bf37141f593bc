/* cmd_compare.c — `ccsim compare`: simulate the sweep of a measured nccl-tests log and report the error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "cmd.h"
#include "nccltests.h"
#include "sweep.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* |errors| of the compared points, split by what the model says sets each point's time: the host's
 * enqueue (small calls driven by one thread) or the GPUs. The split matters because the
 * host's part is not a property of the machine alone: the same command in a fresh process reads up to
 * 1.8x apart at host-bound sizes (docs/netmodel.md, "Host enqueue time"). */
struct compare_errors {
  GArray *host, *device; /* double */
};

static void compare_errors_free(struct compare_errors *e) {
  g_array_free(e->host, TRUE);
  g_array_free(e->device, TRUE);
}

/* Median and maximum of a (sorted in place); 0 and 0 when empty. */
static void median_max(GArray *a, double *med, double *mx) {
  *med = *mx = 0;
  if (!a->len) return;
  g_array_sort(a, cmp_double);
  guint n = a->len;
  *med = n % 2 ? g_array_index(a, double, n / 2)
               : (g_array_index(a, double, n / 2 - 1) + g_array_index(a, double, n / 2)) / 2;
  *mx = g_array_index(a, double, n - 1);
}

/* One sweep of a log: the rows of one element type, reduction operator and root. */
struct compare_group {
  char type[16], redop[16]; /* redop "" for operations that do not reduce */
  int root;
  int first_line;
  GArray *sizes;            /* size_t: the rows' sizes, in log order */
  GArray *rows;             /* guint: the rows' indices in the log */
};

static void compare_group_free(gpointer p) {
  struct compare_group *g = p;
  g_array_free(g->sizes, TRUE);
  g_array_free(g->rows, TRUE);
  g_free(g);
}

static struct compare_group *compare_group_for(GPtrArray *groups, int op, const struct nt_row *r) {
  const char *type = r->type[0] ? r->type : "float";
  /* all_gather, broadcast and alltoall print "none"; a log without the column means sum */
  const char *redop = !strcmp(nt_redop((enum comm_op)op), "none") ? "" : r->redop[0] ? r->redop : "sum";
  int root = op == OP_BROADCAST || op == OP_REDUCE ? (r->root > 0 ? r->root : 0) : 0;
  for (guint i = 0; i < groups->len; i++) {
    struct compare_group *g = g_ptr_array_index(groups, i);
    if (!strcmp(g->type, type) && !strcmp(g->redop, redop) && g->root == root) return g;
  }
  struct compare_group *g = g_new0(struct compare_group, 1);
  g_strlcpy(g->type, type, sizeof g->type);
  g_strlcpy(g->redop, redop, sizeof g->redop);
  g->root = root;
  g->first_line = r->line;
  g->sizes = g_array_new(FALSE, FALSE, sizeof(size_t));
  g->rows = g_array_new(FALSE, FALSE, sizeof(guint));
  g_ptr_array_add(groups, g);
  return g;
}

/* The group's rows, measured against simulated, each |error| appended to errs. */
static void print_group(const struct nt_log *log, const struct compare_group *g, const struct sweep_result *res,
                        struct compare_errors *errs) {
  for (int i = 0; i < res->npoints; i++) {
    const struct nt_row *r = &g_array_index(log->rows, struct nt_row, g_array_index(g->rows, guint, i));
    const struct sweep_point *p = &res->points[i];
    double e[2];
    for (int k = 0; k < 2; k++) {
      e[k] = r->time_us[k] > 0 ? (p->time_us[k] - r->time_us[k]) / r->time_us[k] * 100 : NAN;
      if (!isnan(e[k])) {
        double a = fabs(e[k]);
        g_array_append_val(p->host_bound[k] ? errs->host : errs->device, a);
      }
    }
    const struct comm_decision *d = &p->decision;
    /* one rank runs no algorithm: NCCL copies locally (or does nothing in place) */
    const char *algo = res->nranks == 1 ? "LOCAL" : d->algo >= 0 ? comm_algo_name(d->algo) : "P2P";
    const char *proto = res->nranks == 1 ? "-" : comm_proto_name(d->proto);
    /* out of place and in place usually agree; "host,dev" when they do not */
    const char *bound = p->host_bound[0] == p->host_bound[1] ? (p->host_bound[0] ? "host" : "dev")
                        : p->host_bound[0] ? "host,dev" : "dev,host";
    printf("  %12zu %6s %6s %3d  %10.2f %10.2f %+7.1f%%  %10.2f %10.2f %+7.1f%%  %s\n", r->size, algo, proto,
           d->nchannels, r->time_us[0], p->time_us[0], e[0], r->time_us[1], p->time_us[1], e[1], bound);
  }
}

int cmd_compare(int argc, char **argv) {
  gchar *topo = NULL, *op_name = NULL, *params = NULL, *nccl = NULL;
  gint nodes = 0, gpus = 0, coarse = 0;
  gboolean verbose = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    {"topo", 't', 0, G_OPTION_ARG_FILENAME, &topo, "topology XML of the measured machine, required", "FILE"},
    {"op", 'o', 0, G_OPTION_ARG_STRING, &op_name, "operation, when the log does not name it", "OP"},
    {"nodes", 'N', 0, G_OPTION_ARG_INT, &nodes, "nodes the measurement ran on (default: the hosts its rank lines name, else 1)", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &gpus, "GPUs per node (default: ranks listed in the log / nodes)", "G"},
    {"params", 0, 0, G_OPTION_ARG_FILENAME, &params, "network model parameters (default: the GPUs' generation)",
     "FILE"},
    {"coarse", 0, 0, G_OPTION_ARG_INT, &coarse, "merge K pipeline slices per op (faster, less exact)", "K"},
    {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl, "NCCL library to run", "LIB"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "pass NCCL's INFO output through to stderr", NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress messages on stderr", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("MEASURED.log - compare a measured nccl-tests log with the simulation");
  g_option_context_set_summary(ctx,
    "Reads an nccl-tests log (NCCL INFO lines may be interleaved, even inside table rows), simulates the same\n"
    "operation, rank count and sizes on the topology, and prints measured against predicted time per size\n"
    "(out-of-place and in-place) with the relative error and what sets the time in the model (host: one\n"
    "thread's enqueue of the call, which varies from run to run; dev: the GPUs), then the median and\n"
    "maximum |error| over all points and over each of the two kinds. Rows of size 0 (empty calls) are\n"
    "not compared. NCCL settings the log reports (NCCL_ALGO, NCCL_PROTO, NCCL_NVLS_ENABLE, ...) apply\n"
    "unless already set in the environment. NCCL runs with the element type, reduction operator and root\n"
    "of the log's rows; a log holding several sweeps (nccl-tests -d all, -o all, -r -1) is compared sweep\n"
    "by sweep.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  struct nt_log log = {0};
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  if (argc != 2 || !topo) {
    fprintf(stderr, "%s: need --topo FILE and one measured log (see --help)\n", argv[0]);
    goto out;
  }
  rc = 1;
  if (nt_load_log(argv[1], &log, &err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  if (log.agg_iters > 1) {
    /* NCCL runs grouped calls side by side on slices of the channels, not one after the other:
     * timing one call and dividing would compare against a schedule that did not run. */
    fprintf(stderr, "%s: %s: measured with agg iters %d (nccl-tests -m): %d calls grouped into each launch, "
            "which compare does not model; measure with -m 1\n",
            argv[0], argv[1], log.agg_iters, log.agg_iters);
    rc = 2;
    goto out;
  }
  if (log.cpu_time) {
    /* -C 1 reports how long the host spent per call, which says little about the device's time */
    fprintf(stderr, "%s: %s: the table reports cputime (nccl-tests -C 1: host time per call), not the time of "
            "the collective; measure without -C\n", argv[0], argv[1]);
    rc = 2;
    goto out;
  }
  if (log.blocking) {
    /* each call waits for the last: host enqueue, kernel launch and the sync add up instead of
     * overlapping, a loop compare does not model (measured: tests/data/measured/h200x2-blocking) */
    fprintf(stderr, "%s: %s: measured with a stream sync after every call (nccl-tests -z %d), where the host's "
            "enqueue, the launch and the sync add up; compare models calls issued back to back: measure with "
            "-z 0\n", argv[0], argv[1], log.blocking);
    rc = 2;
    goto out;
  }
  int op = op_name ? comm_op_parse(op_name) : log.op;
  if (op < 0) {
    fprintf(stderr, "%s: %s: %s; name it with --op\n", argv[0], argv[1],
            op_name ? "unknown operation" : "the log does not say which operation it measured");
    rc = 2;
    goto out;
  }
  if (nodes < 0 || gpus < 0) {
    fprintf(stderr, "%s: --nodes must be >= 1 (or 0: from the log) and --gpus >= 0\n", argv[0]);
    rc = 2;
    goto out;
  }
  if (!nodes) {
    /* nccl-tests prints one line per rank with its host: ranks of one host are one node */
    nodes = log.nhosts > 0 ? log.nhosts : 1;
    if (nodes > 1 && !quiet) fprintf(stderr, "%s: %d nodes (hosts named by the log's rank lines)\n", argv[0], nodes);
  }
  if (!gpus) {
    if (log.nranks <= 0 || log.nranks % nodes) {
      fprintf(stderr, "%s: %s: cannot tell the GPU count from the log (%d ranks for %d nodes); give --gpus\n",
              argv[0], argv[1], log.nranks, nodes);
      rc = 2;
      goto out;
    }
    gpus = log.nranks / nodes;
  } else if (log.nranks > 0 && log.nranks != nodes * gpus) {
    /* a sweep on another GPU count is another measurement: its errors would mean nothing */
    fprintf(stderr, "%s: %s: the log measured %d ranks, but --nodes %d --gpus %d simulates %d; leave out --gpus "
            "(the log's count is used) or make them match\n", argv[0], argv[1], log.nranks, nodes, gpus,
            nodes * gpus);
    rc = 2;
    goto out;
  }
  /* NCCL settings the measurement ran with (when its log shows them) apply to the simulation too,
   * unless the user set the variable. Paths (dump files) and debug output are not settings. */
  static const char *const tuning_vars[] = {"NCCL_ALGO", "NCCL_PROTO", "NCCL_MIN_NCHANNELS", "NCCL_MAX_NCHANNELS",
                                            "NCCL_NVLS_ENABLE", "NCCL_BUFFSIZE", "NCCL_NTHREADS",
                                            "NCCL_P2P_NVL_CHUNKSIZE", "NCCL_P2P_LL_THRESHOLD", "NCCL_MIN_CTAS",
                                            "NCCL_MAX_CTAS", "NCCL_CROSS_NIC", "NCCL_P2P_LEVEL", "NCCL_SHM_DISABLE",
                                            "NCCL_P2P_DISABLE", "NCCL_IB_DISABLE", "NCCL_NET_GDR_LEVEL",
                                            "NCCL_COLLNET_ENABLE", "NCCL_PXN_DISABLE", "NCCL_NCHANNELS_PER_NET_PEER",
                                            "NCCL_GRAPH_REGISTER"};
  for (guint i = 0; log.env && i < log.env->len; i++) {
    const char *kv = g_ptr_array_index(log.env, i);
    const char *eq = strchr(kv, '=');
    char *name = g_strndup(kv, (gsize)(eq - kv));
    gboolean known = FALSE;
    for (size_t k = 0; k < G_N_ELEMENTS(tuning_vars); k++) known |= !strcmp(name, tuning_vars[k]);
    if (known && !g_getenv(name)) {
      g_setenv(name, eq + 1, TRUE);
      if (!quiet) fprintf(stderr, "%s: %s from the log\n", argv[0], kv);
    }
    g_free(name);
  }
  if (log.graph_launches > 0 && !quiet) {
    const char *reg = g_getenv("NCCL_GRAPH_REGISTER"); /* the user's, or the log's (applied above) */
    fprintf(stderr, "%s: calls replayed from a CUDA graph (nccl-tests -G %d): timed without a host enqueue per "
            "call\n", argv[0], log.graph_launches);
    if (!reg || strcmp(reg, "0"))
      fprintf(stderr, "%s: note: under capture NCCL registers the user buffers (NCCL_GRAPH_REGISTER) and "
              "send/recv and all_gather then write straight into them, which ccsim does not model: expect "
              "those slow from a few MiB (measured with NCCL_GRAPH_REGISTER=0 they match)\n", argv[0]);
  }
  /* nccl-tests -d all, -o all and -r -1 put several sweeps in one log: each (type, redop, root) is one. */
  GPtrArray *groups = g_ptr_array_new_with_free_func(compare_group_free);
  for (guint i = 0; i < log.rows->len; i++) {
    const struct nt_row *r = &g_array_index(log.rows, struct nt_row, i);
    if (r->size == 0) continue;
    struct compare_group *g = compare_group_for(groups, op, r);
    g_array_append_val(g->sizes, r->size);
    g_array_append_val(g->rows, i);
  }
  if (groups->len == 0) {
    fprintf(stderr, "%s: %s: no non-empty rows to compare\n", argv[0], argv[1]);
    goto groups_done;
  }
  for (guint k = 0; k < groups->len; k++) {
    struct compare_group *g = g_ptr_array_index(groups, k);
    char *bad = comm_names_problem(g->type, g->redop[0] ? g->redop : NULL);
    if (bad) {
      fprintf(stderr, "%s: %s:%d: %s\n", argv[0], argv[1], g->first_line, bad);
      g_free(bad);
      goto groups_done;
    }
  }
  struct compare_errors errs = {
    .host = g_array_new(FALSE, FALSE, sizeof(double)),
    .device = g_array_new(FALSE, FALSE, sizeof(double)),
  };
  for (guint k = 0; k < groups->len; k++) {
    struct compare_group *g = g_ptr_array_index(groups, k);
    struct sweep_request req = {
      .topo_path = topo, .nodes = nodes, .gpus = gpus, .op = op, .sizes = (size_t *)(void *)g->sizes->data,
      .nsizes = (int)g->sizes->len, .dtype = g->type, .redop = g->redop[0] ? g->redop : NULL, .root = g->root,
      .params_path = params, .nccl_path = nccl, .coarse = coarse, .verbose = verbose, .progress = !quiet,
      .gpus_per_thread = log.gpus_per_thread, .graph = log.graph_launches > 0,
    };
    struct sweep_result res;
    if (sweep_run(&req, &res, &err) != 0) {
      fprintf(stderr, "%s: %s\n", argv[0], err->message);
      compare_errors_free(&errs);
      goto groups_done;
    }
    if (k == 0) {
      printf("# ccsim compare: %s, %s, %d ranks (%d node(s) x %d GPUs), model %s\n", argv[1], comm_op_name(op),
             res.nranks, nodes, gpus, res.params_name);
      printf("# %12s %6s %6s %3s  %10s %10s %8s  %10s %10s %8s  %s\n", "size", "algo", "proto", "ch", "meas_oop_us",
             "sim_oop_us", "err%", "meas_ip_us", "sim_ip_us", "err%", "bound");
    }
    if (groups->len > 1 || strcmp(g->type, "float") || (g->redop[0] && strcmp(g->redop, "sum")) || g->root)
      printf("# type %s%s%s, root %d\n", g->type, g->redop[0] ? ", redop " : "", g->redop, g->root);
    print_group(&log, g, &res, &errs);
    sweep_result_free(&res);
  }
  double med, mx, hmed, hmx, dmed, dmx;
  GArray *all = g_array_sized_new(FALSE, FALSE, sizeof(double), errs.host->len + errs.device->len);
  g_array_append_vals(all, errs.host->data, errs.host->len);
  g_array_append_vals(all, errs.device->data, errs.device->len);
  median_max(all, &med, &mx);
  median_max(errs.host, &hmed, &hmx);
  median_max(errs.device, &dmed, &dmx);
  printf("# compared %u points: median |error| %.1f%%, max |error| %.1f%%\n", all->len, med, mx);
  g_array_free(all, TRUE);
  printf("# bound by the GPUs: %u points, median |error| %.1f%%, max %.1f%%; by the host's enqueue: %u points, "
         "median %.1f%%, max %.1f%%\n", errs.device->len, dmed, dmx, errs.host->len, hmed, hmx);
  compare_errors_free(&errs);
  rc = 0;
groups_done:
  g_ptr_array_free(groups, TRUE);
out:
  if (err) g_error_free(err);
  nt_log_free(&log);
  g_option_context_free(ctx);
  g_free(topo);
  g_free(op_name);
  g_free(params);
  g_free(nccl);
  return rc;
}
