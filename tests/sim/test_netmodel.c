/* test_netmodel.c — network model: parameter files (values need sources), resources and routes from a
 * real topology (the measured 4x H200 NVSwitch machine), op costs, and a whole call through plan_build
 * and the engine twice with byte-identical timelines.
 */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "netmodel.h"
#include "plan.h"
#include "simulate.h"
#include "timeline.h"
#include "topo.h"
#include "comm_synth.h"

static const char *data_dir, *params_path;

static struct netmodel_params *load_params(void) {
  GError *err = NULL;
  struct netmodel_params *p = netmodel_params_load(params_path, &err);
  g_assert_no_error(err);
  g_assert_nonnull(p);
  return p;
}

static void test_params(void) {
  struct netmodel_params *p = load_params();
  g_assert_cmpstr(p->name, ==, "sm90");
  g_assert_cmpfloat(p->wire_factor[PROTO_LL], ==, 2.0);
  g_assert_cmpfloat(p->chan_bw[PROTO_SIMPLE], >, 0);
  netmodel_params_free(p);

  /* a value without a source is refused, naming the parameter */
  char *text = NULL;
  g_assert_true(g_file_get_contents(params_path, &text, NULL, NULL));
  GString *s = g_string_new(text);
  char *at = strstr(s->str, "\"kernel_end_us\"");
  g_assert_nonnull(at);
  char *src = strstr(at, "\"source\"");
  g_assert_nonnull(src);
  src[1] = 'X'; /* "source" -> "Xource" */
  GError *err = NULL;
  g_assert_null(netmodel_params_parse(s->str, "edited.json", &err));
  g_assert_nonnull(err);
  g_assert_nonnull(strstr(err->message, "kernel_end_us"));
  g_assert_nonnull(strstr(err->message, "source"));
  g_clear_error(&err);
  g_assert_null(netmodel_params_parse("{", "broken.json", &err));
  g_assert_nonnull(strstr(err->message, "broken.json"));
  g_clear_error(&err);
  g_string_free(s, TRUE);

  /* an optional group, once given, needs all its members; a share of the link must be a share */
  s = g_string_new(text);
  at = strstr(s->str, "\"first_chunk_link_share\"");
  g_assert_nonnull(at);
  at[1] = 'X';
  g_assert_null(netmodel_params_parse(s->str, "edited.json", &err));
  g_assert_nonnull(strstr(err->message, "p2p_simple_nvlink.first_chunk_link_share"));
  g_clear_error(&err);
  at[1] = 'f';
  char *v = strstr(at, "\"value\": ");
  g_assert_nonnull(v);
  v[9] = '7'; /* 0.65 -> 7.65 */
  g_assert_null(netmodel_params_parse(s->str, "edited.json", &err));
  g_assert_nonnull(strstr(err->message, "must be in (0, 1]"));
  g_clear_error(&err);
  g_string_free(s, TRUE);
  g_free(text);
}

/* Every generation has a parameter file with a source for every value; a compute capability without its
 * own file takes its generation's (NCCL's grouping), and one ccsim has nothing for is an error. */
static void test_params_generations(void) {
  g_unsetenv("CCSIM_PARAMS");
  struct { int sm; const char *name; } want[] = {{80, "sm80"}, {86, "sm80"}, {89, "sm80"}, {90, "sm90"},
                                                 {100, "sm100"}, {103, "sm100"}};
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    GError *err = NULL;
    char *path = netmodel_params_find(want[i].sm, &err);
    g_assert_no_error(err);
    g_assert_nonnull(path);
    struct netmodel_params *p = netmodel_params_load(path, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(p->name, ==, want[i].name);
    g_assert_cmpfloat(p->chan_bw[PROTO_SIMPLE], >, 0);
    netmodel_params_free(p);
    g_free(path);
  }
  /* newer generations are faster per channel, as NCCL's tables say */
  GError *err = NULL;
  char *a = netmodel_params_find(80, &err), *h = netmodel_params_find(90, &err), *b = netmodel_params_find(100, &err);
  struct netmodel_params *pa = netmodel_params_load(a, &err), *ph = netmodel_params_load(h, &err),
                         *pb = netmodel_params_load(b, &err);
  g_assert_no_error(err);
  for (int proto = 0; proto < PROTO_COUNT; proto++) {
    g_assert_cmpfloat(pa->chan_bw[proto], <, ph->chan_bw[proto]);
    g_assert_cmpfloat(ph->chan_bw[proto], <, pb->chan_bw[proto]);
  }
  /* NVLink SHARP: none before Hopper; Blackwell's multimem traffic derated more than Hopper's (NCCL) */
  g_assert_cmpfloat(pa->nvls_eff, ==, 0);
  g_assert_cmpfloat(pb->nvls_eff, >, 0);
  g_assert_cmpfloat(pb->nvls_eff, <, ph->nvls_eff);
  netmodel_params_free(pa);
  netmodel_params_free(ph);
  netmodel_params_free(pb);
  g_free(a);
  g_free(h);
  g_free(b);
  g_assert_null(netmodel_params_find(70, &err));
  g_assert_nonnull(strstr(err->message, "sm70"));
  g_clear_error(&err);
}

static void make_comm(struct comm_info *c, int n, int nch) {
  memset(c, 0, sizeof *c);
  c->nranks = n;
  c->nnodes = 1;
  c->rank_node = g_new0(int, n);
  c->rank_dev = g_new0(int, n);
  for (int r = 0; r < n; r++) c->rank_dev[r] = r;
  c->nchannels = nch;
  c->p2p_nchannels = 32;
  c->p2p_nchannels_per_peer = 32;
  c->p2p_chunk_size = 524288;
  c->buff_size[PROTO_LL] = 524288;
  c->buff_size[PROTO_LL128] = 4915200;
  c->buff_size[PROTO_SIMPLE] = 4194304;
  c->channels = g_new0(struct comm_channel, nch);
  for (int ch = 0; ch < nch; ch++) {
    c->channels[ch].ring.order = g_new(int, n);
    c->channels[ch].tree = g_new(struct comm_tree_node, n);
    for (int r = 0; r < n; r++) {
      c->channels[ch].ring.order[r] = r;
      c->channels[ch].tree[r] = (struct comm_tree_node){r ? r - 1 : -1, {r + 1 < n ? r + 1 : -1, -1, -1}};
    }
  }
  c->transport = g_new(int8_t, n * n);
  memset(c->transport, TRANSPORT_P2P, (size_t)n * n);
}

static struct topo_system *load_topo(void) {
  char *path = g_build_filename(data_dir, "measured", "h200x4", "topo.xml", NULL);
  GError *err = NULL;
  struct topo_system *sys = topo_load(path, &err);
  g_assert_no_error(err);
  g_free(path);
  return sys;
}

/* The measured machine (4x H200 on NVSwitch) as a model for an n-rank communicator on nch channels. */
struct machine {
  struct netmodel_params *p;
  struct topo_system *sys;
  struct comm_info c;
  struct netmodel *m;
};

static void machine_open(struct machine *x, int n, int nch) {
  x->p = load_params();
  x->sys = load_topo();
  make_comm(&x->c, n, nch);
  GError *err = NULL;
  x->m = netmodel_new(x->p, x->sys, &x->c, &err);
  g_assert_no_error(err);
}

static void machine_close(struct machine *x) {
  netmodel_free(x->m);
  comm_info_free(&x->c);
  topo_free(x->sys);
  netmodel_params_free(x->p);
}

/* On the NVSwitch machine every pair of ranks is GPU -> NVSwitch -> GPU: two directed links of
 * 18 x 20.6 GB/s (NCCL's SM90 NVLink figure), one leaving the sender, one entering the receiver. */
static void test_routes(void) {
  struct machine x;
  machine_open(&x, 4, 2);
  struct netmodel_params *p = x.p;
  struct comm_info *c = &x.c;
  struct netmodel *m = x.m;
  GError *err = NULL;
  /* 4 GPU->NVS links and 4 NVS->GPU links, then per GPU->NVS link the shares of the first chunks of
   * send/recv channels (below) */
  g_assert_cmpfloat(p->p2p_first_share, >, 0);
  g_assert_cmpint(netmodel_nresources(m), ==, 8 + 4 * 8);
  const double *cap = netmodel_capacities(m);
  for (int i = 0; i < 8; i++) g_assert_cmpfloat(fabs(cap[i] / (370.8e-3 * p->link_eff) - 1), <, 1e-6);
  struct comm_decision d = {.op = OP_ALL_REDUCE, .algo = ALGO_RING, .proto = PROTO_LL, .nthreads = 512};
  struct op o = {.rank_src = 1, .rank_dst = 2, .payload_bytes = 1000, .wire_bytes = 2000, .protocol = PROTO_LL};
  struct netmodel_cost nc;
  netmodel_op_cost(m, &d, &o, &nc);
  g_assert_cmpint(nc.nres, ==, 2);
  g_assert_cmpfloat(nc.bytes, ==, 2000);
  g_assert_cmpfloat(fabs(nc.cap - p->flag_step_bw[PROTO_LL][OPK_SEND] * 2.0 * 1e-3), <, 1e-12);
  g_assert_cmpuint(nc.latency_ps, ==, netmodel_us_to_ps(p->step_lat[ROUTE_NVLINK][PROTO_LL]));
  /* 1 -> 2 and 3 -> 2 share the link entering GPU 2 and nothing else */
  struct op o2 = o;
  o2.rank_src = 3;
  struct netmodel_cost nc2;
  netmodel_op_cost(m, &d, &o2, &nc2);
  g_assert_cmpint(nc2.res[1], ==, nc.res[1]);
  g_assert_cmpint(nc2.res[0], !=, nc.res[0]);
  /* fewer threads than the measured channel rate assumed: proportionally slower */
  d.nthreads = 128;
  netmodel_op_cost(m, &d, &o, &nc2);
  g_assert_cmpfloat(fabs(nc2.cap - nc.cap / 4), <, 1e-12);
  /* Simple rings: a step's rate adds up what its thread block does with each byte: a plain send, a
   * send that also stores to the own output (slower by the store), the receive-only copy out of
   * the receive buffer (an op within the rank: no link, no latency); other algorithms and send/recv
   * keep their per-channel rates */
  struct comm_decision dag = {.op = OP_ALL_GATHER, .algo = ALGO_RING, .proto = PROTO_SIMPLE, .nthreads = 544};
  struct op os = {.rank_src = 1, .rank_dst = 2, .payload_bytes = 1000, .protocol = PROTO_SIMPLE, .kind = OPK_SEND};
  g_assert_cmpfloat(p->ring_send_bw, >, 0);
  netmodel_op_cost(m, &dag, &os, &nc2);
  g_assert_cmpfloat(fabs(nc2.cap - p->ring_send_bw * 1e-3), <, 1e-12);
  struct netmodel_cost nc3;
  /* a Simple block keeps its full rate down to simple_full_rate_threads and loses it in proportion
   * below (measured 96-544 threads); other protocols scale in proportion below channel_threads */
  g_assert_cmpfloat(p->simple_full_threads, >, 96);
  g_assert_cmpfloat(p->simple_full_threads, <, 288);
  dag.nthreads = 288;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - nc2.cap), <, 1e-12);
  dag.nthreads = 96;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - nc2.cap * 96 / p->simple_full_threads), <, 1e-12);
  dag.nthreads = 544;
  os.kind = OPK_RECV_COPY_SEND;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(1.0 / nc3.cap - 1.0 / nc2.cap - 1e3 / p->ring_store_bw), <, 1e-6);
  os.kind = OPK_RECV_REDUCE_SEND;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - nc2.cap), <, 1e-12);
  struct op local = {.rank_src = 2, .rank_dst = 2, .payload_bytes = 1000, .protocol = PROTO_SIMPLE,
                     .transport = TRANSPORT_LOCAL, .kind = OPK_RECV};
  netmodel_op_cost(m, &dag, &local, &nc3);
  g_assert_cmpint(nc3.nres, ==, 0);
  g_assert_cmpuint(nc3.latency_ps, ==, 0);
  g_assert_cmpfloat(fabs(nc3.cap - p->ring_recv_copy_bw * 1e-3), <, 1e-12);
  /* channels of a call drift apart: the last of k runs (1 + spread) x the first's rate */
  g_assert_cmpfloat(p->chan_spread, >, 0);
  dag.nchannels = 24;
  os.kind = OPK_SEND;
  os.channel = 23;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - nc2.cap * (1 + p->chan_spread)), <, 1e-12);
  /* its flags too: channels that all wait for a full link still drift apart */
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->step_lat[ROUTE_NVLINK][PROTO_SIMPLE] / (1 + p->chan_spread)));
  g_assert_cmpuint(nc2.latency_ps, ==, netmodel_us_to_ps(p->step_lat[ROUTE_NVLINK][PROTO_SIMPLE]));
  /* a ring whose ranks all start with a send: its first step waits for the receiver's hand-over at the
   * call's start, later steps do not; nor do the chains of broadcast and reduce */
  g_assert_cmpfloat(p->ring_first_step_wait, >, 0);
  g_assert_cmpuint(nc2.after_receiver_start_ps, ==, netmodel_us_to_ps(p->ring_first_step_wait));
  os.step = 2;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpuint(nc3.after_receiver_start_ps, ==, 0);
  os.step = 0;
  dag.op = OP_BROADCAST;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpuint(nc3.after_receiver_start_ps, ==, 0);
  dag.op = OP_ALL_GATHER;
  /* a slice without data only posts its step: the empty-slice latency, spread like the others */
  g_assert_cmpfloat(p->simple_empty_slice_lat, >, 0);
  g_assert_cmpfloat(p->simple_empty_slice_lat, <, p->step_lat[ROUTE_NVLINK][PROTO_SIMPLE]);
  os.payload_bytes = 0;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->simple_empty_slice_lat / (1 + p->chan_spread)));
  os.payload_bytes = 1000;
  os.channel = 0;
  dag.algo = ALGO_TREE;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - p->chan_bw[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  /* Simple tree all-reduce: the reduction up runs on 544/2 + 64 = 336 threads, the broadcast down on
   * the other 208, the root's recvReduceCopySend on all; each at its primitive's ring rate scaled by
   * its threads; a hop costs the tree latency and forwards whole chunks */
  dag.op = OP_ALL_REDUCE;
  os.kind = OPK_RECV_REDUCE_SEND;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - p->ring_send_bw * 336.0 / 544 * 1e-3), <, 1e-12);
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->tree_step_lat[PROTO_SIMPLE]));
  g_assert_cmpfloat(nc3.release_frac, ==, 1.0);
  os.kind = OPK_RECV_COPY_SEND;
  struct netmodel_cost nc5;
  netmodel_op_cost(m, &dag, &os, &nc5);
  g_assert_cmpfloat(fabs(1.0 / nc5.cap - 544.0 / 208 * (1e3 / p->ring_send_bw + 1e3 / p->ring_store_bw)), <, 1e-6);
  os.kind = OPK_RECV_REDUCE_COPY_SEND;
  netmodel_op_cost(m, &dag, &os, &nc5);
  g_assert_cmpfloat(fabs(1.0 / nc5.cap - (1e3 / p->ring_send_bw + 1e3 / p->ring_store_bw)), <, 1e-6);
  os.kind = OPK_SEND;
  dag.op = OP_ALL_GATHER;
  dag.op = OP_SENDRECV;
  dag.nchannels = 1;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - p->p2p_chan_bw[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  /* c channels writing in step slow each other: chunk j runs 1 + loss x (c-1)/(j+1) times slower
   * (an alltoall counts its channels to every peer it reaches over NVLink, here 3) */
  g_assert_cmpfloat(p->p2p_lockstep_loss, >, 0);
  dag.nchannels = 8;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap * (1 + 7 * p->p2p_lockstep_loss) - p->p2p_chan_bw[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  os.step = 3;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap * (1 + 7 * p->p2p_lockstep_loss / 4) - p->p2p_chan_bw[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  os.step = 8;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap - p->p2p_chan_bw[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  dag.op = OP_ALLTOALL;
  os.step = 0;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpfloat(fabs(nc3.cap * (1 + 23 * p->p2p_lockstep_loss) - p->p2p_chan_bw[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  dag.op = OP_SENDRECV;
  /* Simple send/recv over NVLink: a channel's first chunk waits for the receiver's buffer and shares
   * first_chunk_link_share of the sender's link with the first chunks of the other channels through
   * it; chunk j shares 1 - (1 - share)/(j + 1) of it; from the ninth chunk on only the link */
  os.step = 0;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->p2p_first_lat));
  g_assert_cmpint(nc3.nres, ==, 3);
  g_assert_cmpint(nc3.res[0], ==, nc2.res[0]);
  g_assert_cmpfloat(fabs(cap[nc3.res[2]] / cap[nc3.res[0]] - p->p2p_first_share), <, 1e-9);
  g_assert_nonnull(strstr(netmodel_resource_name(m, nc3.res[2]), "p2p chunk 0"));
  os.step = 1;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->p2p_step_lat));
  g_assert_cmpint(nc3.nres, ==, 3);
  g_assert_cmpfloat(fabs(cap[nc3.res[2]] / cap[nc3.res[0]] - (1 - (1 - p->p2p_first_share) / 2)), <, 1e-9);
  os.step = 8;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpint(nc3.nres, ==, 2);
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->p2p_step_lat));
  /* another sender has its own; LL send/recv keeps the ring step latency and only the route */
  os.step = 0;
  os.rank_src = 3;
  struct netmodel_cost nc4;
  netmodel_op_cost(m, &dag, &os, &nc4);
  g_assert_cmpint(nc4.nres, ==, 3);
  os.rank_src = 1;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpint(nc4.res[2], !=, nc3.res[2]);
  os.protocol = PROTO_LL;
  netmodel_op_cost(m, &dag, &os, &nc3);
  g_assert_cmpint(nc3.nres, ==, 2);
  g_assert_cmpuint(nc3.latency_ps, ==, netmodel_us_to_ps(p->step_lat[ROUTE_NVLINK][PROTO_LL]));
  os.protocol = PROTO_SIMPLE;
  /* a rank whose GPU the topology lacks is an error naming it */
  c->rank_dev[3] = 7;
  g_assert_null(netmodel_new(p, x.sys, c, &err));
  g_assert_nonnull(strstr(err->message, "rank 3"));
  g_clear_error(&err);
  machine_close(&x);
}

/* Two copies of the machine: an NVLS op of a rank on the second node loads that rank's NVLink port, the
 * same as on the first node, although its first route in rank order (to rank 0) leaves through a NIC. */
static void test_nvls_ports_second_node(void) {
  struct netmodel_params *p = load_params();
  char *path = g_build_filename(data_dir, "measured", "h200x4", "topo.xml", NULL);
  GError *err = NULL;
  struct topo_system *sys = topo_load_cluster(path, 2, NULL, &err);
  g_assert_no_error(err);
  struct comm_info c;
  make_comm(&c, 8, 2);
  c.nnodes = 2;
  for (int r = 0; r < 8; r++) {
    c.rank_node[r] = r / 4;
    c.rank_dev[r] = r % 4;
  }
  struct netmodel *m = netmodel_new(p, sys, &c, &err);
  g_assert_no_error(err);
  const double *cap = netmodel_capacities(m);
  double nvl = 370.8e-3 * p->link_eff;
  struct comm_decision d = {.op = OP_ALL_REDUCE, .proto = PROTO_SIMPLE, .nthreads = 544};
  for (int r = 0; r < 8; r++) {
    int head = r / 4 * 4;
    struct op red = {.rank_src = r, .rank_dst = head, .payload_bytes = 1 << 17, .protocol = PROTO_SIMPLE,
                     .transport = TRANSPORT_NVLS, .kind = OPK_SEND};
    struct op mc = {.rank_src = head, .rank_dst = r, .payload_bytes = 1 << 17, .protocol = PROTO_SIMPLE,
                    .transport = TRANSPORT_NVLS, .kind = OPK_RECV_COPY_SEND};
    struct netmodel_cost a, b;
    netmodel_op_cost(m, &d, &red, &a);
    netmodel_op_cost(m, &d, &mc, &b);
    g_assert_cmpint(a.nres, >=, 1);
    g_assert_cmpint(b.nres, >=, 1);
    g_assert_cmpfloat(fabs(cap[a.res[0]] / nvl - 1), <, 1e-6);
    g_assert_cmpfloat(fabs(cap[b.res[b.nres - 1]] / nvl - 1), <, 1e-6);
    /* multimem traffic takes 1/nvls_efficiency link bytes per payload byte; the channel's payload rate
     * cap stays that of a plain op */
    g_assert_cmpfloat(p->nvls_eff, >, 0.5);
    g_assert_cmpfloat(p->nvls_eff, <, 1.0);
    g_assert_cmpfloat(fabs(a.bytes * p->nvls_eff / (1 << 17) - 1), <, 1e-9);
    struct op plain = red;
    plain.transport = TRANSPORT_P2P;
    plain.rank_dst = r ^ 1;
    struct netmodel_cost pc;
    netmodel_op_cost(m, &d, &plain, &pc);
    g_assert_cmpfloat(pc.bytes, ==, 1 << 17);
    g_assert_cmpfloat(fabs(a.cap / a.bytes / (pc.cap / pc.bytes) - 1), <, 1e-9);
  }
  /* and a transfer between the nodes does leave through the NIC: slower than NVLink somewhere on it */
  struct op x = {.rank_src = 4, .rank_dst = 0, .payload_bytes = 1 << 17, .protocol = PROTO_SIMPLE};
  struct netmodel_cost nc;
  netmodel_op_cost(m, &d, &x, &nc);
  double lo = 1e30;
  for (int i = 0; i < nc.nres; i++) lo = MIN(lo, cap[nc.res[i]]);
  g_assert_cmpfloat(lo, <, nvl / 2);
  netmodel_free(m);
  comm_info_free(&c);
  topo_free(sys);
  g_free(path);
  netmodel_params_free(p);
}

static char *simulate_to_timeline(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                                  uint64_t *iter_ps) {
  char *path = g_build_filename(g_get_tmp_dir(), "ccsim-test-timeline-XXXXXX", NULL);
  int fd = g_mkstemp(path);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  GError *err = NULL;
  struct timeline *tl = timeline_open(path, &err);
  g_assert_no_error(err);
  struct sim_call sc;
  struct plan_options po = {0};
  g_assert_cmpint(sim_decision_run(m, c, d, &po, c->nranks, tl, 0, &sc, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_cmpint(timeline_close(tl, &err), ==, 0);
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  g_unlink(path);
  g_free(path);
  *iter_ps = sc.iter_ps;
  g_assert_cmpuint(sc.device_ps, >, 0);
  return text;
}

/* A 4-rank, 24-channel ring all_reduce of 64 MiB with Simple: the same input gives the same timeline
 * byte for byte; the time is bounded below by the bandwidth the ring needs (2(n-1)/n x size over the
 * 370.8 GB/s link) and above by twice that. */
static void test_call_determinism(void) {
  struct machine x;
  machine_open(&x, 4, 24);
  struct netmodel_params *p = x.p;
  struct comm_info *c = &x.c;
  struct netmodel *m = x.m;
  struct comm_decision d = {.op = OP_ALL_REDUCE, .bytes = 64 << 20, .nccl_bytes = 64 << 20, .count = 16 << 20,
                            .type_size = 4, .algo = ALGO_RING, .proto = PROTO_SIMPLE, .nchannels = 24,
                            .nthreads = 544};
  uint64_t t1, t2;
  char *a = simulate_to_timeline(m, c, &d, &t1);
  char *b = simulate_to_timeline(m, c, &d, &t2);
  g_assert_cmpuint(t1, ==, t2);
  g_assert_cmpstr(a, ==, b);
  g_assert_nonnull(strstr(a, "\"traceEvents\""));
  double floor_us = 1.5 * (64 << 20) / 370.8e3 / p->link_eff;
  g_assert_cmpfloat(t1 / 1e6, >, floor_us);
  g_assert_cmpfloat(t1 / 1e6, <, 2 * floor_us);
  g_free(a);
  g_free(b);
  machine_close(&x);
}

/* Steady-state extrapolation gives the time of the whole simulation: every kind of looped call on the
 * measured machine (one node of 4 GPUs) and on two of them (NVLS_TREE), at sizes with a ragged last
 * loop, on few channels so the calls run many loops. */
static void test_steady_state(void) {
  struct netmodel_params *p = load_params();
  char *path = g_build_filename(data_dir, "measured", "h200x4", "topo.xml", NULL);
  struct {
    int nodes, nch;
    enum comm_op op;
    enum comm_algo algo;
    enum comm_proto proto;
    size_t bytes;
  } cases[] = {
    {1, 2, OP_ALL_REDUCE, ALGO_RING, PROTO_SIMPLE, ((size_t)1300 << 20) + 4100},
    {1, 3, OP_ALL_REDUCE, ALGO_RING, PROTO_LL128, ((size_t)480 << 20) + 1000},
    {1, 2, OP_ALL_REDUCE, ALGO_RING, PROTO_LL, ((size_t)40 << 20) + 4},
    {1, 2, OP_ALL_GATHER, ALGO_RING, PROTO_SIMPLE, ((size_t)1800 << 20) + 4096},
    {1, 2, OP_REDUCE_SCATTER, ALGO_RING, PROTO_SIMPLE, ((size_t)1800 << 20) + 4096},
    {1, 2, OP_BROADCAST, ALGO_RING, PROTO_SIMPLE, ((size_t)90 << 20) + 12},
    {1, 2, OP_REDUCE, ALGO_RING, PROTO_SIMPLE, ((size_t)90 << 20) + 12},
    {1, 2, OP_ALL_REDUCE, ALGO_TREE, PROTO_SIMPLE, ((size_t)90 << 20) + 40},
    {1, 2, OP_ALL_REDUCE, ALGO_NVLS, PROTO_SIMPLE, ((size_t)90 << 20) + 40},
    {2, 2, OP_ALL_REDUCE, ALGO_NVLS_TREE, PROTO_SIMPLE, ((size_t)200 << 20) + 40},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *err = NULL;
    struct topo_system *sys = cases[i].nodes > 1 ? topo_load_cluster(path, cases[i].nodes, NULL, &err)
                                                 : topo_load(path, &err);
    g_assert_no_error(err);
    struct comm_info c;
    comm_synth_build(&c, cases[i].nodes, 4, cases[i].nch);
    c.nvls_channels = cases[i].nch;
    struct netmodel *m = netmodel_new(p, sys, &c, &err);
    g_assert_no_error(err);
    int T = 4;
    struct comm_decision d = {.op = cases[i].op, .bytes = cases[i].bytes / T * T, .count = cases[i].bytes / T,
                              .type_size = T, .algo = cases[i].algo, .proto = cases[i].proto,
                              .nchannels = cases[i].nch, .nthreads = 512};
    d.nccl_bytes = d.bytes;
    g_assert_cmpuint(plan_whole_loops(&c, &d), >=, SIM_STEADY_MIN_LOOPS);
    struct plan_options po = {0};
    struct sim_call whole, est;
    g_assert_cmpint(sim_decision_run(m, &c, &d, &po, 1, NULL, 0, &whole, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(sim_decision_estimate(m, &c, &d, &po, 1, &est, &err), ==, 0);
    g_assert_no_error(err);
    double rel = ((double)est.device_ps - (double)whole.device_ps) / (double)whole.device_ps;
    if (g_test_verbose())
      g_printerr("%s %s %s %zu B: whole %.3f us (%" G_GUINT64_FORMAT " events), steady-state %.3f us "
                 "(%" G_GUINT64_FORMAT " events), %+.4f%%\n", comm_op_name(d.op), comm_algo_name(d.algo),
                 comm_proto_name(d.proto), d.bytes, whole.device_ps / 1e6, whole.events, est.device_ps / 1e6,
                 est.events, 100 * rel);
    g_assert_cmpfloat(fabs(rel), <, 1e-3);
    g_assert_cmpuint(est.events, <, whole.events);
    netmodel_free(m);
    comm_info_free(&c);
    topo_free(sys);
  }
  g_free(path);
  netmodel_params_free(p);
}

/* Calls back to back on the measured machine (4 GPUs, one channel, 8 bytes). A broadcast chain's root
 * starts its next call while the last rank still receives, so the device time per call is a kernel's
 * fixed cost plus the busiest rank's own step: with LL128 (lines into the receiver's FIFO) one step
 * latency, with Simple (the sender waits for its receiver's kernel to hand over the buffer) two, where
 * one call on its own takes three (one per hop). A
 * ring all_reduce waits for data from every rank each call: its period is its makespan. With one host
 * thread driving all four GPUs (nccl-tests -g 4) no call overlaps the next: every period is the makespan. */
static void test_back_to_back(void) {
  struct machine x;
  machine_open(&x, 4, 1);
  struct netmodel_params *p = x.p;
  struct comm_info *c = &x.c;
  struct netmodel *m = x.m;
  GError *err = NULL;
  double fixed = p->kernel_start + p->kernel_end;
  struct {
    enum comm_op op;
    enum comm_proto proto;
    double period_us; /* 0: the makespan */
  } cases[] = {
    {OP_BROADCAST, PROTO_LL128, fixed + p->step_lat[ROUTE_NVLINK][PROTO_LL128]},
    {OP_BROADCAST, PROTO_SIMPLE, fixed + 2 * p->step_lat[ROUTE_NVLINK][PROTO_SIMPLE]},
    {OP_ALL_REDUCE, PROTO_LL128, 0},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    struct comm_decision d = {.op = cases[i].op, .bytes = 8, .nccl_bytes = 8, .count = 2, .type_size = 4,
                              .algo = ALGO_RING, .proto = cases[i].proto, .nchannels = 1, .nthreads = 512};
    struct plan_options po = {0};
    struct sim_call sc;
    g_assert_cmpint(sim_decision_run(m, c, &d, &po, 1, NULL, 0, &sc, &err), ==, 0);
    g_assert_no_error(err);
    if (g_test_verbose())
      g_printerr("%s %s: makespan %.3f us, period %.3f us (expected %.3f)\n", comm_op_name(d.op),
                 comm_proto_name(d.proto), sc.device_ps / 1e6, sc.period_ps / 1e6, cases[i].period_us);
    if (cases[i].period_us > 0) {
      /* plus the 8 bytes' wire time (a few padded lines): well under half a microsecond */
      g_assert_cmpfloat(sc.period_ps / 1e6, >=, cases[i].period_us);
      g_assert_cmpfloat(sc.period_ps / 1e6, <, cases[i].period_us + 0.5);
      g_assert_cmpuint(sc.period_ps, <, sc.device_ps);
    } else {
      g_assert_cmpuint(sc.period_ps, ==, sc.device_ps);
    }
    struct sim_call one_thread;
    g_assert_cmpint(sim_decision_run(m, c, &d, &po, 4, NULL, 0, &one_thread, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(one_thread.period_ps, ==, one_thread.device_ps);
    g_assert_cmpuint(one_thread.device_ps, ==, sc.device_ps);
  }
  machine_close(&x);
}

/* A one-rank communicator runs no algorithm (NCCL copies, or does nothing, or runs its one-rank kernel):
 * each call is one copy timed whole by the one_rank parameters, bound by the GPU's memory, which the
 * PCI device id of the topology names (measured: h200x1-onegpu, h100x1-onegpu). */
static double one_rank_call_us(struct netmodel *m, const struct comm_info *c, enum comm_op op, int premul,
                               int in_place, double *host_us) {
  struct comm_decision d = {.op = op, .bytes = 1 << 30, .nccl_bytes = 1 << 30, .count = 256 << 20, .type_size = 4,
                            .algo = ALGO_NONE, .proto = PROTO_COUNT, .premul_sum = premul};
  struct plan_options po = {.in_place = in_place};
  struct sim_call sc;
  GError *err = NULL;
  g_assert_cmpint(sim_decision_run(m, c, &d, &po, 1, NULL, 0, &sc, &err), ==, 0);
  g_assert_no_error(err);
  *host_us = sc.host_ps / 1e6;
  return sc.device_ps / 1e6;
}

static void test_one_rank(void) {
  struct machine x;
  machine_open(&x, 1, 1);
  const struct netmodel_params *p = x.p;
  g_assert_cmpfloat(p->one_copy_bw, >, 0);
  double gib = 1073741824.0, host;
  /* out of place: a memory copy, no kernel start or end */
  double t = one_rank_call_us(x.m, &x.c, OP_ALL_REDUCE, 0, 0, &host);
  g_assert_cmpfloat(fabs(t - (p->one_copy_lat + gib / p->one_copy_bw / 1e3)), <, 0.01);
  g_assert_cmpfloat(host, ==, p->one_copy_host);
  /* in place: nothing on the device, the host only */
  t = one_rank_call_us(x.m, &x.c, OP_ALL_REDUCE, 0, 1, &host);
  g_assert_cmpfloat(t, ==, 0);
  g_assert_cmpfloat(host, ==, p->one_noop_host);
  /* a pre-multiplied sum (avg of floats) runs NCCL's kernel in place too */
  t = one_rank_call_us(x.m, &x.c, OP_ALL_REDUCE, 1, 1, &host);
  g_assert_cmpfloat(fabs(t - (p->one_kernel_lat + gib / p->one_kernel_bw / 1e3)), <, 0.01);
  g_assert_cmpfloat(host, ==, p->one_kernel_host);
  /* all_gather with avg would not reduce: still a copy */
  t = one_rank_call_us(x.m, &x.c, OP_ALL_GATHER, 1, 0, &host);
  g_assert_cmpfloat(fabs(t - (p->one_copy_lat + gib / p->one_copy_bw / 1e3)), <, 0.01);
  /* send/recv to itself: NCCL's p2p kernel out of place, nothing in place */
  t = one_rank_call_us(x.m, &x.c, OP_SENDRECV, 0, 0, &host);
  g_assert_cmpfloat(fabs(t - (p->one_self_lat + gib / p->one_self_bw / 1e3)), <, 0.01);
  t = one_rank_call_us(x.m, &x.c, OP_SENDRECV, 0, 1, &host);
  g_assert_cmpfloat(t, ==, 0);
  g_assert_cmpfloat(host, ==, p->one_noop_p2p_host);
  machine_close(&x);

  /* the same machine with H100s (PCI device 0x2330): copies at 3.35 / 4.8 of the H200's rate */
  char *path = g_build_filename(data_dir, "measured", "h200x4", "topo.xml", NULL);
  gchar *xml = NULL;
  g_assert_true(g_file_get_contents(path, &xml, NULL, NULL));
  gchar **parts = g_strsplit(xml, "device=\"0x2335\"", -1);
  g_assert_cmpint(g_strv_length(parts), ==, 5);
  gchar *h100 = g_strjoinv("device=\"0x2330\"", parts);
  GError *err = NULL;
  struct topo_system *sys = topo_load_buffer(h100, strlen(h100), "h100", &err);
  g_assert_no_error(err);
  struct netmodel_params *pp = load_params();
  struct comm_info c;
  make_comm(&c, 1, 1);
  struct netmodel *m = netmodel_new(pp, sys, &c, &err);
  g_assert_no_error(err);
  t = one_rank_call_us(m, &c, OP_ALL_REDUCE, 0, 0, &host);
  g_assert_cmpfloat(fabs(t - (pp->one_copy_lat + gib / (pp->one_copy_bw * 3.35 / 4.8) / 1e3)), <, 0.01);
  netmodel_free(m);
  comm_info_free(&c);
  netmodel_params_free(pp);
  topo_free(sys);
  g_strfreev(parts);
  g_free(h100);
  g_free(xml);
  g_free(path);
}

/* NCCL's SHM transport (what NCCL_P2P_DISABLE=1 leaves inside a node): the data goes up the sender's
 * PCIe path to host memory and down the receiver's, which reads it at shm_read_efficiency of that path
 * (measured: h200x4-shm, h200x4-shmstep), not over NVLink. */
static void test_shm_route(void) {
  struct machine x;
  machine_open(&x, 2, 1);
  netmodel_free(x.m);
  memset(x.c.transport, TRANSPORT_SHM, 4);
  GError *err = NULL;
  x.m = netmodel_new(x.p, x.sys, &x.c, &err);
  g_assert_no_error(err);
  g_assert_cmpfloat(x.p->shm_read_eff, >, 0);
  struct comm_decision d = {.op = OP_SENDRECV, .algo = ALGO_NONE, .proto = PROTO_SIMPLE, .nthreads = 544};
  struct op o = {.rank_src = 0, .rank_dst = 1, .payload_bytes = 1 << 20, .protocol = PROTO_SIMPLE,
                 .transport = TRANSPORT_SHM};
  struct netmodel_cost nc;
  netmodel_op_cost(x.m, &d, &o, &nc);
  /* GPU0 -> CPU, CPU -> GPU1 (48 GB/s each: PCIe as NCCL's topology gives it), GPU1's reads */
  g_assert_cmpint(nc.nres, ==, 3);
  const double *cap = netmodel_capacities(x.m);
  g_assert_cmpfloat(fabs(cap[nc.res[0]] / (48e-3 * x.p->link_eff) - 1), <, 1e-6);
  g_assert_cmpfloat(fabs(cap[nc.res[2]] / (48e-3 * x.p->link_eff * x.p->shm_read_eff) - 1), <, 1e-6);
  /* host-memory steps have their own hand-over cost and per-channel rate (h200x4-shmstep) */
  g_assert_cmpuint(nc.latency_ps, ==, netmodel_us_to_ps(x.p->step_lat[ROUTE_SHM][PROTO_SIMPLE]));
  g_assert_cmpfloat(x.p->shm_chan_bw[PROTO_SIMPLE], >, 0);
  g_assert_cmpfloat(x.p->shm_chan_bw[PROTO_SIMPLE], <, x.p->p2p_chan_bw[PROTO_SIMPLE]);
  g_assert_cmpfloat(fabs(nc.cap - x.p->shm_chan_bw[PROTO_SIMPLE] * x.p->wire_factor[PROTO_SIMPLE] * 1e-3), <, 1e-12);
  /* the other direction has its own read resource */
  struct op back = o;
  back.rank_src = 1;
  back.rank_dst = 0;
  struct netmodel_cost nb;
  netmodel_op_cost(x.m, &d, &back, &nb);
  g_assert_cmpint(nb.nres, ==, 3);
  g_assert_cmpint(nb.res[2], !=, nc.res[2]);
  machine_close(&x);
}

/* LL and LL128 steps cost what their primitive does with each byte; the receive-only step is a local
 * op with a cost of its own; a tree's groups share the block; without the table, the single channel
 * rate and free receive-only steps. */
/* The parameter file with `patch` written `offset` bytes into the first `inner` after `outer` must be
 * refused with a message naming `what`. */
static void assert_edit_refused(const char *outer, const char *inner, size_t offset, const char *patch,
                                const char *what) {
  char *text = NULL;
  GError *err = NULL;
  g_assert_true(g_file_get_contents(params_path, &text, NULL, NULL));
  char *at = strstr(text, outer);
  g_assert_nonnull(at);
  at = strstr(at, inner);
  g_assert_nonnull(at);
  memcpy(at + offset, patch, strlen(patch));
  g_assert_null(netmodel_params_parse(text, "edited.json", &err));
  g_assert_nonnull(strstr(err->message, what));
  g_clear_error(&err);
  g_free(text);
}

static void test_flag_steps(void) {
  struct machine x;
  machine_open(&x, 4, 2);
  const struct netmodel_params *p = x.p;
  for (int proto = PROTO_LL; proto <= PROTO_LL128; proto++) {
    const double *bw = p->flag_step_bw[proto];
    for (int k = 0; k < OPK_COUNT; k++) g_assert_cmpfloat(bw[k], >, 0);
    /* a store to the own output costs: recvCopySend below recvReduceSend, copySend below send
     * (measured: broadcast chains slower than reduce chains, all_gather out of place slower) */
    g_assert_cmpfloat(bw[OPK_RECV_COPY_SEND], <, bw[OPK_RECV_REDUCE_SEND]);
    g_assert_cmpfloat(bw[OPK_COPY_SEND], <, bw[OPK_SEND]);
    g_assert_cmpfloat(bw[OPK_RECV_REDUCE_COPY_SEND], <, bw[OPK_RECV_REDUCE_SEND]);
    double wf = p->wire_factor[proto];
    struct comm_decision d = {.op = OP_ALL_REDUCE, .algo = ALGO_RING, .proto = proto,
                              .nthreads = p->chan_threads[proto]};
    struct op o = {.rank_src = 1, .rank_dst = 2, .payload_bytes = 1 << 16, .protocol = (uint8_t)proto,
                   .kind = OPK_RECV_REDUCE_COPY_SEND};
    o.wire_bytes = plan_wire_bytes(proto, o.payload_bytes);
    struct netmodel_cost nc;
    netmodel_op_cost(x.m, &d, &o, &nc);
    g_assert_cmpfloat(fabs(nc.cap - bw[OPK_RECV_REDUCE_COPY_SEND] * wf * 1e-3), <, 1e-12);
    /* the receive-only step: on the rank, no link, no latency, its own rate */
    struct op r = o;
    r.rank_src = r.rank_dst = 2;
    r.kind = OPK_RECV;
    r.transport = TRANSPORT_LOCAL;
    netmodel_op_cost(x.m, &d, &r, &nc);
    g_assert_cmpint(nc.nres, ==, 0);
    g_assert_cmpuint(nc.latency_ps, ==, 0);
    g_assert_cmpfloat(nc.bytes, ==, (double)r.wire_bytes);
    g_assert_cmpfloat(fabs(nc.cap - bw[OPK_RECV] * wf * 1e-3), <, 1e-12);
    if (proto == PROTO_LL128) continue; /* LL128 trees: test_ll128_tree */
    /* a tree's middle rank spends a recvReduceSend and a recvCopySend on every byte, whichever
     * group's op it is; the root its recvReduceCopySend alone */
    d.algo = ALGO_TREE;
    double both = 1.0 / (1.0 / bw[OPK_RECV_REDUCE_SEND] + 1.0 / bw[OPK_RECV_COPY_SEND]);
    o.kind = OPK_RECV_REDUCE_SEND;
    netmodel_op_cost(x.m, &d, &o, &nc);
    g_assert_cmpfloat(fabs(nc.cap - both * wf * 1e-3), <, 1e-12);
    o.kind = OPK_RECV_COPY_SEND;
    netmodel_op_cost(x.m, &d, &o, &nc);
    g_assert_cmpfloat(fabs(nc.cap - both * wf * 1e-3), <, 1e-12);
    o.kind = OPK_RECV_REDUCE_COPY_SEND;
    netmodel_op_cost(x.m, &d, &o, &nc);
    g_assert_cmpfloat(fabs(nc.cap - bw[OPK_RECV_REDUCE_COPY_SEND] * wf * 1e-3), <, 1e-12);
  }
  /* without the tables: every sending step at the channel rate, receive-only steps free */
  struct netmodel_params q = *x.p;
  memset(q.flag_step_bw, 0, sizeof q.flag_step_bw);
  GError *err = NULL;
  struct netmodel *m = netmodel_new(&q, x.sys, &x.c, &err);
  g_assert_no_error(err);
  struct comm_decision d = {.op = OP_ALL_GATHER, .algo = ALGO_RING, .proto = PROTO_LL, .nthreads = 512};
  struct op o = {.rank_src = 1, .rank_dst = 2, .payload_bytes = 4096, .wire_bytes = 8192, .protocol = PROTO_LL,
                 .kind = OPK_RECV_COPY_SEND};
  struct netmodel_cost nc;
  netmodel_op_cost(m, &d, &o, &nc);
  g_assert_cmpfloat(fabs(nc.cap - q.chan_bw[PROTO_LL] * 2.0 * 1e-3), <, 1e-12);
  o.rank_src = 2;
  o.kind = OPK_RECV;
  o.transport = TRANSPORT_LOCAL;
  netmodel_op_cost(m, &d, &o, &nc);
  g_assert_cmpfloat(nc.bytes, ==, 0);
  netmodel_free(m);
  /* a table, once given, needs every primitive */
  assert_edit_refused("\"ll128_step_gbs\"", "\"recv_reduce_copy\"", 1, "X", "ll128_step_gbs.recv_reduce_copy");
  machine_close(&x);
}

/* The tree streams rank r sends over the first nch channels of c (parent and children). */
static int tree_streams(const struct comm_info *c, int r, int nch) {
  int n = 0;
  for (int ch = 0; ch < nch; ch++) {
    const struct comm_tree_node *t = &c->channels[ch].tree[r];
    n += t->up >= 0;
    for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) n += t->down[k] >= 0;
  }
  return n;
}

/* LL128 trees take the rates measured on whole trees (a chain end's ops, a middle rank's), not their
 * primitives one after the other, and lose rate with the streams the sending rank keeps up over the
 * call's channels (measured: h200x2-treech, h200x4-llsteps). */
static void test_ll128_tree(void) {
  struct machine x;
  machine_open(&x, 4, 2);
  const struct netmodel_params *p = x.p;
  g_assert_cmpfloat(p->ll128_tree_end_bw, >, 0);
  g_assert_cmpfloat(p->ll128_tree_mid_bw, <, p->ll128_tree_end_bw);
  g_assert_cmpfloat(p->ll128_tree_chan_loss, >, 0);
  const double *bw = p->flag_step_bw[PROTO_LL128];
  double wf = p->wire_factor[PROTO_LL128];
  struct comm_decision d = {.op = OP_ALL_REDUCE, .algo = ALGO_TREE, .proto = PROTO_LL128, .nchannels = 1,
                            .nthreads = p->chan_threads[PROTO_LL128]};
  struct op o = {.rank_dst = 0, .payload_bytes = 1 << 16, .protocol = PROTO_LL128};
  o.wire_bytes = plan_wire_bytes(PROTO_LL128, o.payload_bytes);
  const int kinds[] = {OPK_SEND, OPK_RECV_REDUCE_SEND, OPK_RECV_COPY_SEND, OPK_RECV_REDUCE_COPY_SEND};
  for (int nch = 1; nch <= x.c.nchannels; nch++) {
    d.nchannels = nch;
    for (int r = 1; r < x.c.nranks; r++)
      for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        o.rank_src = r;
        o.kind = (uint8_t)kinds[i];
        struct netmodel_cost nc;
        netmodel_op_cost(x.m, &d, &o, &nc);
        int middle = kinds[i] == OPK_RECV_REDUCE_SEND || kinds[i] == OPK_RECV_COPY_SEND;
        int s = tree_streams(&x.c, r, nch);
        double loss = 1.0 + p->ll128_tree_chan_loss * sqrt(s > 1 ? s - 1 : 0);
        double rate = (middle ? p->ll128_tree_mid_bw : p->ll128_tree_end_bw) / loss;
        g_assert_cmpfloat(fabs(nc.cap - rate * wf * 1e-3), <, 1e-12);
        /* slower than the primitives one after the other, where LL trees stay */
        double serial = middle ? 1.0 / (1.0 / bw[OPK_RECV_REDUCE_SEND] + 1.0 / bw[OPK_RECV_COPY_SEND])
                               : 1.0 / (1.0 / bw[OPK_SEND] + 1.0 / bw[OPK_RECV]);
        g_assert_cmpfloat(nc.cap, <, serial * wf * 1e-3);
      }
  }
  /* more channels, more streams, a lower rate per channel */
  struct netmodel_cost one, all;
  o.rank_src = 1;
  o.kind = OPK_SEND;
  d.nchannels = 1;
  netmodel_op_cost(x.m, &d, &o, &one);
  d.nchannels = x.c.nchannels;
  netmodel_op_cost(x.m, &d, &o, &all);
  g_assert_cmpfloat(all.cap, <, one.cap);
  /* a file without the table times LL128 trees by their primitives, as LL */
  struct netmodel_params q = *x.p;
  q.ll128_tree_end_bw = q.ll128_tree_mid_bw = 0;
  GError *err = NULL;
  struct netmodel *m = netmodel_new(&q, x.sys, &x.c, &err);
  g_assert_no_error(err);
  o.kind = OPK_RECV_REDUCE_SEND;
  struct netmodel_cost nc;
  netmodel_op_cost(m, &d, &o, &nc);
  double both = 1.0 / (1.0 / bw[OPK_RECV_REDUCE_SEND] + 1.0 / bw[OPK_RECV_COPY_SEND]);
  g_assert_cmpfloat(fabs(nc.cap - both * wf * 1e-3), <, 1e-12);
  netmodel_free(m);
  /* the table needs its rates */
  assert_edit_refused("\"ll128_tree\"", "\"middle\"", 1, "X", "ll128_tree.middle");
  machine_close(&x);
}

/* LL on fewer threads than the full block (NCCL's own halving for small calls, NCCL_NTHREADS): the
 * primitives that load their input keep a rate in proportion to the threads, the FIFO-only ones (recv,
 * recvCopySend) lose less (measured: h200x4-llthreads); LL128 stays proportional. */
static void test_flag_threads(void) {
  struct machine x;
  machine_open(&x, 4, 2);
  const struct netmodel_params *p = x.p;
  double knee = p->ll_recv_thread_knee, full = p->chan_threads[PROTO_LL];
  g_assert_cmpfloat(knee, >, 0);
  struct comm_decision d = {.op = OP_ALL_GATHER, .algo = ALGO_RING, .proto = PROTO_LL, .nthreads = (int)full};
  struct op o = {.rank_src = 1, .rank_dst = 2, .payload_bytes = 1 << 16, .protocol = PROTO_LL};
  o.wire_bytes = plan_wire_bytes(PROTO_LL, o.payload_bytes);
  const int kinds[] = {OPK_SEND, OPK_COPY_SEND, OPK_RECV_REDUCE_SEND, OPK_RECV_COPY_SEND};
  const int fifo_only[] = {0, 0, 0, 1};
  for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
    struct netmodel_cost at_full, at_128;
    o.kind = (uint8_t)kinds[i];
    d.nthreads = (int)full;
    netmodel_op_cost(x.m, &d, &o, &at_full);
    d.nthreads = 128;
    netmodel_op_cost(x.m, &d, &o, &at_128);
    double ratio = at_128.cap / at_full.cap;
    double expect = fifo_only[i] ? 128 * (knee + full) / (full * (knee + 128)) : 128 / full;
    g_assert_cmpfloat(fabs(ratio - expect), <, 1e-12);
    if (fifo_only[i]) g_assert_cmpfloat(ratio, >, 1.5 * 128 / full); /* 3.3x the time measured, not 4x */
  }
  /* the receive-only local step is FIFO-only too */
  struct op r = o;
  r.rank_src = r.rank_dst = 2;
  r.kind = OPK_RECV;
  r.transport = TRANSPORT_LOCAL;
  struct netmodel_cost a, b;
  d.nthreads = (int)full;
  netmodel_op_cost(x.m, &d, &r, &a);
  d.nthreads = 96;
  netmodel_op_cost(x.m, &d, &r, &b);
  g_assert_cmpfloat(fabs(b.cap / a.cap - 96 * (knee + full) / (full * (knee + 96))), <, 1e-12);
  /* LL128 and a file without the knee: in proportion */
  struct comm_decision d128 = {.op = OP_ALL_GATHER, .algo = ALGO_RING, .proto = PROTO_LL128};
  struct op o128 = {.rank_src = 1, .rank_dst = 2, .payload_bytes = 1 << 16, .protocol = PROTO_LL128,
                    .kind = OPK_RECV_COPY_SEND};
  o128.wire_bytes = plan_wire_bytes(PROTO_LL128, o128.payload_bytes);
  d128.nthreads = p->chan_threads[PROTO_LL128];
  netmodel_op_cost(x.m, &d128, &o128, &a);
  d128.nthreads = p->chan_threads[PROTO_LL128] / 2;
  netmodel_op_cost(x.m, &d128, &o128, &b);
  g_assert_cmpfloat(fabs(b.cap / a.cap - 0.5), <, 1e-12);
  struct netmodel_params q = *x.p;
  q.ll_recv_thread_knee = 0;
  GError *err = NULL;
  struct netmodel *m = netmodel_new(&q, x.sys, &x.c, &err);
  g_assert_no_error(err);
  o.kind = OPK_RECV_COPY_SEND;
  d.nthreads = (int)full;
  netmodel_op_cost(m, &d, &o, &a);
  d.nthreads = 128;
  netmodel_op_cost(m, &d, &o, &b);
  g_assert_cmpfloat(fabs(b.cap / a.cap - 128 / full), <, 1e-12);
  netmodel_free(m);
  /* a negative knee is refused by name */
  assert_edit_refused("\"ll_receive_thread_knee\"", "\"value\": ", 9, "-30", "ll_receive_thread_knee");
  machine_close(&x);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  data_dir = g_getenv("CCSIM_TEST_DATA");
  if (!data_dir) data_dir = CCSIM_TEST_DATA;
  params_path = CCSIM_PARAMS_FILE;
  g_test_add_func("/netmodel/params", test_params);
  g_test_add_func("/netmodel/params_generations", test_params_generations);
  g_test_add_func("/netmodel/routes", test_routes);
  g_test_add_func("/netmodel/call_determinism", test_call_determinism);
  g_test_add_func("/netmodel/nvls_ports_second_node", test_nvls_ports_second_node);
  g_test_add_func("/netmodel/steady_state", test_steady_state);
  g_test_add_func("/netmodel/back_to_back", test_back_to_back);
  g_test_add_func("/netmodel/one_rank", test_one_rank);
  g_test_add_func("/netmodel/shm_route", test_shm_route);
  g_test_add_func("/netmodel/flag_steps", test_flag_steps);
  g_test_add_func("/netmodel/ll128_tree", test_ll128_tree);
  g_test_add_func("/netmodel/flag_threads", test_flag_threads);
  return g_test_run();
}
