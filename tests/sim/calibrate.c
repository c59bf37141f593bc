/* calibrate.c — calibration and accuracy aid for the network model on measured nccl-tests logs.
 *
 * Unlike `ccsim compare`, which asks the real NCCL library (on virtual GPUs) for the communicator and
 * every decision, this tool rebuilds both from what the measured log itself recorded: the ring order
 * of each channel ("Channel 00/24 : 0 1 2 3"), the channel counts ("24 coll channels ... 32 p2p
 * channels per peer"), the P2P chunk size, and NCCL's per-size decision (the TUNING lines
 * "AllReduce: 65536 Bytes -> Algo RING proto LL channel{Lo..Hi}={0..3}"). The network model then
 * sees exactly what ran on the hardware, which separates model error from decision error.
 *
 *   sim_calibrate [--params F] --topo topo.xml LOG...     per-size table and median/max |error|
 *   sim_calibrate --summary ...                           one line per log
 *   sim_calibrate --in-place ...                          against the in-place column instead
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "netmodel.h"
#include "nccltests.h"
#include "plan.h"
#include "simulate.h"
#include "topo.h"

struct tuning {
  size_t bytes;
  int algo, proto, nch;
};

struct loginfo {
  int nch, p2p_nch, p2p_per_peer;
  size_t p2p_chunk;
  int ring[COMM_MAX_CHANNELS][16];
  int nring;
  GArray *tun; /* struct tuning */
};

static const char *tun_names[OP_COUNT] = {"AllReduce", "AllGather", "ReduceScatter", "Broadcast", "Reduce",
                                          "AllToAll", "SendRecv"};

static void scan_log(const char *text, int op, int nranks, struct loginfo *li) {
  memset(li, 0, sizeof *li);
  li->tun = g_array_new(FALSE, FALSE, sizeof(struct tuning));
  li->p2p_chunk = 524288;
  char **lines = g_strsplit(text, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    const char *s;
    if ((s = strstr(lines[i], " coll channels,")) != NULL && !li->nch) {
      const char *b = s;
      while (b > lines[i] && b[-1] != ' ') b--;
      li->nch = atoi(b);
      const char *q = strstr(s, "nvls channels, ");
      if (q) sscanf(q, "nvls channels, %d p2p channels, %d p2p channels per peer", &li->p2p_nch, &li->p2p_per_peer);
    }
    if ((s = strstr(lines[i], "P2P Chunksize set to ")) != NULL) li->p2p_chunk = strtoull(s + 21, NULL, 10);
    if ((s = strstr(lines[i], "NCCL INFO Channel ")) != NULL) {
      int c, tot, n = 0;
      int off = 0;
      if (sscanf(s, "NCCL INFO Channel %d/%d :%n", &c, &tot, &off) == 2 && off && !strchr(s, '[') && c < COMM_MAX_CHANNELS) {
        const char *p = s + off;
        char *end;
        for (;;) {
          long v = strtol(p, &end, 10);
          if (end == p || n >= 16) break;
          li->ring[c][n++] = (int)v;
          p = end;
        }
        if (n == nranks && c + 1 > li->nring) li->nring = c + 1;
      }
    }
    if (op >= 0 && (s = strstr(lines[i], tun_names[op])) != NULL && strstr(s, " Bytes -> Algo ")) {
      char nm[32], al[32], pr[32];
      unsigned long long b;
      int lo, hi;
      if (sscanf(s, "%31[A-Za-z]: %llu Bytes -> Algo %31s proto %31s channel{Lo..Hi}={%d..%d}", nm, &b, al, pr, &lo,
                 &hi) == 6 && !strcmp(nm, tun_names[op])) {
        struct tuning t = {b, comm_algo_parse(al), comm_proto_parse(pr), hi - lo + 1};
        int dup = 0;
        for (guint k = 0; k < li->tun->len; k++)
          if (g_array_index(li->tun, struct tuning, k).bytes == b) dup = 1;
        if (!dup) g_array_append_val(li->tun, t);
      }
    }
  }
  g_strfreev(lines);
}

static void build_comm(struct comm_info *c, int n, const struct loginfo *li) {
  memset(c, 0, sizeof *c);
  c->nranks = n;
  c->nnodes = 1;
  c->rank_node = g_new0(int, n);
  c->rank_dev = g_new0(int, n);
  for (int r = 0; r < n; r++) c->rank_dev[r] = r;
  c->nchannels = li->nch ? li->nch : 24;
  c->p2p_nchannels = li->p2p_nch ? li->p2p_nch : 32;
  c->p2p_nchannels_per_peer = li->p2p_per_peer ? li->p2p_per_peer : 32;
  c->p2p_chunk_size = li->p2p_chunk;
  c->buff_size[PROTO_LL] = 8 * 512 * 8 * 16;        /* NCCL DEFAULT_LL_BUFFSIZE */
  c->buff_size[PROTO_LL128] = 120 * 640 * 8 * 8;    /* NCCL DEFAULT_LL128_BUFFSIZE */
  c->buff_size[PROTO_SIMPLE] = 1 << 22;             /* NCCL DEFAULT_BUFFSIZE */
  c->channels = g_new0(struct comm_channel, c->nchannels);
  for (int ch = 0; ch < c->nchannels; ch++) {
    c->channels[ch].ring.order = g_new(int, n);
    c->channels[ch].tree = g_new(struct comm_tree_node, n);
    for (int r = 0; r < n; r++) {
      c->channels[ch].ring.order[r] = ch < li->nring ? li->ring[ch][r] : r;
    }
    /* Single node: NCCL's tree is a chain in ring order. */
    const int *o = c->channels[ch].ring.order;
    for (int i = 0; i < n; i++) {
      struct comm_tree_node *t = &c->channels[ch].tree[o[i]];
      t->up = i ? o[i - 1] : -1;
      t->down[0] = i + 1 < n ? o[i + 1] : -1;
      t->down[1] = t->down[2] = -1;
    }
  }
  c->transport = g_new(int8_t, n * n);
  for (int i = 0; i < n * n; i++) c->transport[i] = TRANSPORT_P2P;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  char *params_path = NULL, *topo_path = NULL;
  gboolean summary = FALSE, in_place = FALSE;
  int coarse = 0;
  GOptionEntry entries[] = {
    {"params", 0, 0, G_OPTION_ARG_FILENAME, &params_path, "network model parameters (JSON)", "F"},
    {"topo", 0, 0, G_OPTION_ARG_FILENAME, &topo_path, "topology XML of the measured machine", "F"},
    {"summary", 's', 0, G_OPTION_ARG_NONE, &summary, "one line per log", NULL},
    {"in-place", 0, 0, G_OPTION_ARG_NONE, &in_place, "compare with the in-place times (default: out-of-place)", NULL},
    {"coarse", 0, 0, G_OPTION_ARG_INT, &coarse, "merge K slices per op", "K"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("LOG... - simulate measured nccl-tests logs with their own decisions");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2 || !topo_path) {
    fprintf(stderr, "%s\n", err ? err->message : "usage: sim_calibrate --topo topo.xml LOG...");
    return 2;
  }
  g_option_context_free(ctx);
  if (!params_path) params_path = netmodel_params_find(90, &err);
  struct netmodel_params *p = params_path ? netmodel_params_load(params_path, &err) : NULL;
  if (!p) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  struct topo_system *sys = topo_load(topo_path, &err);
  if (!sys) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  double all_med = 0;
  for (int a = 1; a < argc; a++) {
    struct nt_log log;
    char *text = NULL;
    if (!g_file_get_contents(argv[a], &text, NULL, &err) || nt_parse_log(text, argv[a], &log, &err)) {
      fprintf(stderr, "%s\n", err->message);
      g_clear_error(&err);
      continue;
    }
    struct loginfo li;
    scan_log(text, log.op, log.nranks, &li);
    struct comm_info comm;
    build_comm(&comm, log.nranks, &li);
    struct netmodel *m = netmodel_new(p, sys, &comm, &err);
    if (!m) {
      fprintf(stderr, "%s\n", err->message);
      return 1;
    }
    GArray *errs = g_array_new(FALSE, FALSE, sizeof(double));
    if (!summary) printf("# %s (%s, %d ranks)\n%12s %6s %6s %3s %10s %10s %10s %8s\n", argv[a], comm_op_name(log.op), log.nranks,
                         "size", "algo", "proto", "ch", "meas_us", "sim_us", "host/dev", "err%");
    for (guint i = 0; i < log.rows->len; i++) {
      struct nt_row *row = &g_array_index(log.rows, struct nt_row, i);
      if (row->size == 0) continue;
      struct comm_decision d;
      memset(&d, 0, sizeof d);
      d.op = log.op;
      d.bytes = row->size;
      d.type_size = 4;
      d.count = row->size / 4;
      d.nccl_bytes = (log.op == OP_ALL_GATHER || log.op == OP_REDUCE_SCATTER) ? row->size / log.nranks : row->size;
      d.root = log.op == OP_SENDRECV ? 1 : row->root > 0 ? row->root : 0;
      d.algo = log.op == OP_SENDRECV || log.op == OP_ALLTOALL ? ALGO_NONE : ALGO_RING;
      d.proto = PROTO_SIMPLE;
      d.nchannels = comm.nchannels;
      for (guint k = 0; k < li.tun->len; k++) {
        struct tuning *t = &g_array_index(li.tun, struct tuning, k);
        if (t->bytes == d.nccl_bytes) {
          d.algo = t->algo;
          d.proto = t->proto;
          d.nchannels = t->nch;
        }
      }
      struct sim_call sc;
      struct plan_options po = {.coarse = coarse};
      if (sim_decision_run(m, &comm, &d, &po, log.nranks, NULL, 0, &sc, &err)) {
        fprintf(stderr, "%s: size %zu: %s\n", argv[a], row->size, err->message);
        g_clear_error(&err);
        continue;
      }
      double sim = sc.iter_ps / 1e6, meas = row->time_us[in_place ? 1 : 0];
      double e = (sim - meas) / meas * 100;
      double ae = fabs(e);
      g_array_append_val(errs, ae);
      if (!summary)
        printf("%12zu %6s %6s %3d %10.2f %10.2f %4.0f/%-5.0f %+7.1f%% %8llu ops\n", row->size,
               d.algo >= 0 ? comm_algo_name(d.algo) : "P2P", comm_proto_name(d.proto), d.nchannels, meas, sim,
               sc.host_ps / 1e6, sc.device_ps / 1e6, e, (unsigned long long)sc.ops);
    }
    g_array_sort(errs, cmp_double);
    double med = errs->len ? g_array_index(errs, double, errs->len / 2) : 0;
    double mx = errs->len ? g_array_index(errs, double, errs->len - 1) : 0;
    all_med += med;
    printf("%-60s median |err| %5.1f%%  max %5.1f%%\n", argv[a], med, mx);
    g_array_free(errs, TRUE);
    g_array_free(li.tun, TRUE);
    netmodel_free(m);
    comm_info_free(&comm);
    nt_log_free(&log);
    g_free(text);
  }
  topo_free(sys);
  netmodel_params_free(p);
  g_free(params_path);
  g_free(topo_path);
  return 0;
}
