/* test_plan.c — decomposition tests: NCCL's channel split against measured TUNING lines, conservation
 * per operation/algorithm/protocol, wire overhead, DAG shape (order, ring, tree, flow control),
 * randomized properties, coarse form, golden op lists. */
#include <stdio.h>
#include <string.h>
#include "plan_fixture.h"
#include "comm_synth.h"
#include <cjson/cJSON.h>

static const char *data_dir;

static gchar *data_path(const char *rel) { return g_build_filename(data_dir, rel, NULL); }

static int build(const struct comm_info *c, const struct comm_decision *d, int coarse, struct oplist *l) {
  struct plan_options o = {.coarse = coarse};
  GError *err = NULL;
  oplist_init(l);
  int rc = plan_build(c, d, &o, l, &err);
  if (rc) {
    g_test_message("plan_build: %s", err->message);
    g_error_free(err);
  }
  return rc;
}

static struct comm_decision decision(enum comm_op op, size_t bytes, enum comm_algo a, enum comm_proto p, int nch) {
  struct comm_decision d = {0};
  d.op = op;
  d.bytes = bytes;
  d.type_size = 4;
  d.algo = a;
  d.proto = p;
  d.nchannels = nch;
  return d;
}

/* The measured logs' TUNING lines: for every size, the split reproduces NCCL's channel range. */
static void test_measured_channel_ranges(void) {
  const char *logs[] = {"g4_all_reduce_default.log", "g4_all_gather_default.log", "g4_reduce_scatter_default.log",
                        "g4_broadcast_default.log", "g4_reduce_default.log", "g3_all_reduce_default.log",
                        "g2_all_reduce_default.log"};
  struct comm_info c;
  GError *err = NULL;
  int checked = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(logs); i++) {
    gchar *rel = g_build_filename("measured", "h200x4", logs[i], NULL);
    gchar *p = data_path(rel);
    int n = logs[i][1] - '0';
    gchar *ring_log = g_strdup_printf("%s/measured/h200x4/g%d_all_reduce_default.log", data_dir, n);
    g_assert_cmpint(fixture_comm_from_log(ring_log, &c, &err), ==, 0);
    g_assert_cmpint(c.nranks, ==, n);
    GArray *tun = fixture_tunings_from_log(p, &err);
    g_assert_nonnull(tun);
    g_assert_cmpuint(tun->len, >, 10);
    for (guint k = 0; k < tun->len; k++) {
      struct fixture_tuning *t = &g_array_index(tun, struct fixture_tuning, k);
      size_t bytes = t->nccl_bytes;
      if (t->op == OP_ALL_GATHER || t->op == OP_REDUCE_SCATTER) bytes *= (size_t)n;
      struct comm_decision d = decision(t->op, bytes, t->algo, t->proto, t->hi - t->lo + 1);
      struct plan_split sp;
      g_assert_cmpint(plan_collective_split(&c, &d, &sp, &err), ==, 0);
      if (sp.channel_lo != t->lo || sp.channel_hi != t->hi)
        g_error("%s: %s %zu bytes %s: split %d..%d, NCCL %d..%d", logs[i], comm_op_name(t->op), t->nccl_bytes,
                comm_proto_name(t->proto), sp.channel_lo, sp.channel_hi, t->lo, t->hi);
      /* every element lands on exactly one channel */
      size_t sum = 0;
      for (int q = 0; q < sp.nparts; q++) {
        g_assert_cmpuint(sp.parts[q].offset, ==, sum);
        sum += sp.parts[q].count;
      }
      g_assert_cmpuint(sum, ==, sp.count);
      checked++;
    }
    g_array_free(tun, TRUE);
    comm_info_free(&c);
    g_free(ring_log);
    g_free(p);
    g_free(rel);
  }
  g_assert_cmpint(checked, >, 100);
}

/* Hand-checkable split of the 64 KiB LL case (see tests/data/algo/README.md). */
static void test_split_64k_ll(void) {
  struct comm_info c;
  comm_synth_build(&c, 1, 4, 24);
  struct comm_decision d = decision(OP_ALL_REDUCE, 65536, ALGO_RING, PROTO_LL, 4);
  struct plan_split sp;
  g_assert_cmpint(plan_collective_split(&c, &d, &sp, NULL), ==, 0);
  g_assert_cmpint(sp.channel_lo, ==, 0);
  g_assert_cmpint(sp.channel_hi, ==, 3);
  for (int q = 0; q < 4; q++) g_assert_cmpuint(sp.parts[q].count, ==, 4096);
  g_assert_cmpuint(sp.chunk_bytes_lo, ==, 32768);  /* LL: 64 KiB step / 2 */
  d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_RING, PROTO_SIMPLE, 4);
  g_assert_cmpint(plan_collective_split(&c, &d, &sp, NULL), ==, 0);
  g_assert_cmpuint(sp.chunk_bytes_lo, ==, 2 << 20); /* Simple ring: 4 steps of 512 KiB */
  d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_RING, PROTO_LL128, 4);
  g_assert_cmpint(plan_collective_split(&c, &d, &sp, NULL), ==, 0);
  g_assert_cmpuint(sp.chunk_bytes_lo, ==, 576000);  /* 614400 * 15/16, a multiple of 1920 */
  comm_info_free(&c);
}

static uint64_t expect_total_recv(const struct comm_info *c, const struct comm_decision *d) {
  uint64_t n = (uint64_t)c->nranks, t = (uint64_t)d->type_size;
  uint64_t S = d->bytes / t * t;
  switch (d->op) {
  case OP_ALL_REDUCE: return d->algo == ALGO_NVLS ? 2 * n * S : 2 * (n - 1) * S;
  case OP_ALL_GATHER: case OP_REDUCE_SCATTER: return (n - 1) * (d->bytes / t / n * t) * (d->op == OP_ALL_GATHER ? n : n);
  case OP_BROADCAST: case OP_REDUCE: return (n - 1) * S;
  case OP_SENDRECV: return n * S;
  case OP_ALLTOALL: return n * (n - 1) * (d->bytes / t / n * t);
  default: return 0;
  }
}

/* Per-rank payload received: exact where the collective fixes it. */
static void check_conservation(const struct comm_info *c, const struct comm_decision *d, const struct oplist *l) {
  struct plan_totals t;
  plan_totals_compute(l, c->nranks, &t);
  uint64_t n = (uint64_t)c->nranks, ts = (uint64_t)d->type_size;
  uint64_t S = d->bytes / ts * ts;
  uint64_t per_rank = d->bytes / ts / n * ts;
  g_assert_cmpuint(t.payload, ==, expect_total_recv(c, d));
  for (int r = 0; r < c->nranks; r++) {
    uint64_t got = t.recv_payload[r];
    switch (d->op) {
    case OP_ALL_GATHER: case OP_REDUCE_SCATTER: g_assert_cmpuint(got, ==, (n - 1) * per_rank); break;
    case OP_BROADCAST: g_assert_cmpuint(got, ==, r == d->root ? 0 : S); break;
    case OP_REDUCE: {
      const int *ord = c->channels[0].ring.order;
      int pos = 0;
      for (int k = 0; k < c->nranks; k++) if (ord[k] == d->root) pos = k;
      int head = ord[(pos + 1) % c->nranks];
      /* the chain head of every channel sends without receiving (channel rings are the same here) */
      if (c->nranks > 1) g_assert_cmpuint(got, ==, r == head ? 0 : S);
      break;
    }
    case OP_SENDRECV: g_assert_cmpuint(got, ==, S); break;
    case OP_ALLTOALL: g_assert_cmpuint(got, ==, (n - 1) * per_rank); break;
    case OP_ALL_REDUCE:
      if (d->algo == ALGO_TREE) {
        uint64_t want = 0;
        struct plan_split sp;
        g_assert_cmpint(plan_collective_split(c, d, &sp, NULL), ==, 0);
        for (int q = 0; q < sp.nparts; q++) {
          const struct comm_tree_node *tn = &c->channels[sp.parts[q].channel].tree[r];
          int kids = 0;
          for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) kids += tn->down[k] >= 0;
          want += (uint64_t)(kids + (tn->up >= 0)) * sp.parts[q].count * ts;
        }
        g_assert_cmpuint(got, ==, want);
      } else if (d->algo == ALGO_RING) {
        /* 2(n-1)/n of the data, up to the uneven chunks of each channel's last loop */
        struct plan_split sp;
        g_assert_cmpint(plan_collective_split(c, d, &sp, NULL), ==, 0);
        uint64_t slack = 0;
        for (int q = 0; q < sp.nparts; q++) slack += 2 * (sp.parts[q].count / n + 16) * ts;
        double want = 2.0 * (double)(n - 1) / (double)n * (double)S;
        g_assert_cmpfloat(ABS((double)got - want), <=, (double)slack);
      }
      break;
    default: break;
    }
  }
  plan_totals_free(&t);
}

static void check_all(const struct comm_info *c, const struct comm_decision *d, const struct oplist *l, int coarse) {
  fixture_check_dag(l);
  if (coarse <= 1) fixture_check_wire(l);
  check_conservation(c, d, l);
  if (d->algo == ALGO_RING && d->op != OP_SENDRECV && d->op != OP_ALLTOALL) fixture_check_ring_order(c, l);
  if (d->algo == ALGO_TREE) fixture_check_tree(c, l);
  if (coarse <= 1) fixture_check_flow_control(l);
}

/* Every operation, algorithm and protocol on the measured 4-GPU communicator. */
static void test_conservation_measured(void) {
  struct comm_info c;
  GError *err = NULL;
  gchar *p = data_path("measured/h200x4/g4_all_reduce_default.log");
  g_assert_cmpint(fixture_comm_from_log(p, &c, &err), ==, 0);
  const size_t sizes[] = {4, 1000, 65536, 1 << 20, 10000000, 64u << 20};
  for (size_t si = 0; si < G_N_ELEMENTS(sizes); si++)
    for (int op = 0; op < OP_COUNT; op++)
      for (int pr = 0; pr < PROTO_COUNT; pr++) {
        enum comm_algo algos[] = {ALGO_RING, ALGO_TREE};
        for (int ai = 0; ai < (op == OP_ALL_REDUCE ? 2 : 1); ai++) {
          struct comm_decision d = decision((enum comm_op)op, sizes[si], algos[ai], (enum comm_proto)pr, 24);
          d.root = op == OP_BROADCAST || op == OP_REDUCE ? 2 : 0;
          struct oplist l;
          g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
          check_all(&c, &d, &l, 0);
          oplist_free(&l);
        }
      }
  comm_info_free(&c);
  g_free(p);
}

/* Multi-node trees (double binary tree across nodes), rings and p2p across NET. */
static void test_multinode(void) {
  struct comm_info c;
  comm_synth_build(&c, 4, 4, 8);
  for (int pr = 0; pr < PROTO_COUNT; pr++) {
    enum comm_algo algos[] = {ALGO_RING, ALGO_TREE};
    for (int ai = 0; ai < 2; ai++) {
      struct comm_decision d = decision(OP_ALL_REDUCE, 12345678, algos[ai], (enum comm_proto)pr, 8);
      struct oplist l;
      g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
      check_all(&c, &d, &l, 0);
      gboolean net = FALSE;
      for (size_t i = 0; i < l.nops; i++) net |= l.ops[i].transport == TRANSPORT_NET;
      g_assert_true(net);
      oplist_free(&l);
    }
  }
  struct comm_decision d = decision(OP_ALLTOALL, 16 << 20, ALGO_NONE, PROTO_SIMPLE, 0);
  struct oplist l;
  g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
  check_all(&c, &d, &l, 0);
  oplist_free(&l);
  comm_info_free(&c);
}

/* The tree pipeline goes up then down: the root's first down op depends (transitively) on every
 * leaf's first up op. */
static void test_tree_pipeline(void) {
  struct comm_info c;
  comm_synth_build(&c, 8, 2, 2);
  struct comm_decision d = decision(OP_ALL_REDUCE, 4 << 20, ALGO_TREE, PROTO_SIMPLE, 1);
  struct oplist l;
  g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
  const struct comm_tree_node *t = c.channels[0].tree;
  guint8 *reach = g_new0(guint8, l.nops);
  size_t first_root_down = l.nops;
  for (size_t i = 0; i < l.nops && first_root_down == l.nops; i++)
    if (l.ops[i].channel == 0 && t[l.ops[i].rank_src].up == -1) first_root_down = i;
  g_assert_cmpuint(first_root_down, <, l.nops);
  reach[first_root_down] = 1;
  for (size_t i = first_root_down + 1; i-- > 0;) {
    if (!reach[i]) continue;
    const uint32_t *dp = OP_DEPS(&l, &l.ops[i]);
    for (int k = 0; k < l.ops[i].ndeps; k++) reach[dp[k]] = 1;
  }
  for (int r = 0; r < c.nranks; r++) {
    if (t[r].down[0] != -1 || t[r].up == -1) continue; /* leaves */
    gboolean found = FALSE;
    for (size_t i = 0; i < l.nops; i++)
      if (l.ops[i].channel == 0 && l.ops[i].rank_src == r && reach[i]) found = TRUE;
    g_assert_true(found);
  }
  g_free(reach);
  oplist_free(&l);
  comm_info_free(&c);
}

/* Random sizes (0, 1 element, sizes not divisible by channels or ranks), 2-16 ranks, 1-32 channels,
 * every protocol and operation; a fixed seed keeps it reproducible. */
static void test_properties(void) {
  GRand *rng = g_rand_new_with_seed(20261121);
  for (int it = 0; it < 300; it++) {
    int n = g_rand_int_range(rng, 2, 17);
    int nch = g_rand_int_range(rng, 1, 33);
    int nodes = (n % 2 == 0 && g_rand_boolean(rng)) ? 2 : 1;
    struct comm_info c;
    comm_synth_build(&c, nodes, n / nodes, nch);
    size_t bytes;
    switch (it % 5) {
    case 0: bytes = 0; break;
    case 1: bytes = 4; break;
    case 2: bytes = (size_t)g_rand_int_range(rng, 1, 4096) * 4; break;
    case 3: bytes = (size_t)g_rand_int_range(rng, 1, 1 << 20) * 4 + 4 * (size_t)n + 4; break;
    default: bytes = (size_t)g_rand_int_range(rng, 1, 1 << 24) * 4; break;
    }
    enum comm_op op = (enum comm_op)g_rand_int_range(rng, 0, OP_COUNT);
    enum comm_proto pr = (enum comm_proto)g_rand_int_range(rng, 0, PROTO_COUNT);
    enum comm_algo algo = op == OP_ALL_REDUCE && g_rand_boolean(rng) ? ALGO_TREE : ALGO_RING;
    struct comm_decision d = decision(op, bytes, algo, pr, g_rand_int_range(rng, 1, nch + 1));
    d.root = g_rand_int_range(rng, 0, n);
    if (op == OP_REDUCE) d.root = 0;
    int coarse = it % 3 == 0 ? g_rand_int_range(rng, 2, 9) : 0;
    struct oplist l;
    g_assert_cmpint(build(&c, &d, coarse, &l), ==, 0);
    if (bytes / 4 == 0 && op != OP_SENDRECV) g_assert_cmpuint(l.nops, ==, 0);
    check_all(&c, &d, &l, coarse);
    oplist_free(&l);
    comm_info_free(&c);
  }
  g_rand_free(rng);
}

/* Coarse form: same totals and channel/connection structure, fewer ops. */
static void test_coarse(void) {
  struct comm_info c;
  comm_synth_build(&c, 1, 8, 8);
  struct comm_decision d = decision(OP_ALL_REDUCE, 256 << 20, ALGO_RING, PROTO_SIMPLE, 8);
  struct oplist fine, coarse;
  g_assert_cmpint(build(&c, &d, 0, &fine), ==, 0);
  g_assert_cmpint(build(&c, &d, 16, &coarse), ==, 0);
  struct plan_totals a, b;
  plan_totals_compute(&fine, c.nranks, &a);
  plan_totals_compute(&coarse, c.nranks, &b);
  g_assert_cmpuint(a.payload, ==, b.payload);
  g_assert_cmpuint(a.wire, ==, b.wire);
  for (int r = 0; r < c.nranks; r++) g_assert_cmpuint(a.recv_payload[r], ==, b.recv_payload[r]);
  g_assert_cmpuint(coarse.nops * 8, <, fine.nops);
  fixture_check_dag(&coarse);
  fixture_check_ring_order(&c, &coarse);
  plan_totals_free(&a);
  plan_totals_free(&b);
  oplist_free(&fine);
  oplist_free(&coarse);
  comm_info_free(&c);
}

/* NVLS on one NVSwitch node: per loop and head, a reduce op from every rank and a multicast op to
 * every rank that waits for all of that head's reduce ops. */
static void test_nvls(void) {
  struct comm_info c;
  comm_synth_build(&c, 1, 8, 16);
  struct comm_decision d = decision(OP_ALL_REDUCE, 100000000, ALGO_NVLS, PROTO_SIMPLE, 16);
  struct oplist l;
  g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
  fixture_check_dag(&l);
  fixture_check_wire(&l);
  struct plan_totals t;
  plan_totals_compute(&l, c.nranks, &t);
  g_assert_cmpuint(t.payload, ==, 2ull * 8 * 100000000);
  plan_totals_free(&t);
  uint64_t mc_to[8] = {0};
  for (size_t i = 0; i < l.nops; i++) {
    const struct op *o = &l.ops[i];
    g_assert_cmpint(o->transport, ==, TRANSPORT_NVLS);
    if (o->kind != OPK_RECV_REDUCE_COPY_SEND) continue;
    mc_to[o->rank_dst] += o->payload_bytes;
    int reduce_deps = 0;
    const uint32_t *dp = OP_DEPS(&l, o);
    for (int k = 0; k < o->ndeps; k++) {
      const struct op *p = &l.ops[dp[k]];
      if (p->kind == OPK_SEND && p->rank_dst == o->rank_src && p->step == o->step && p->channel == o->channel)
        reduce_deps++;
    }
    g_assert_cmpint(reduce_deps, ==, 8);
  }
  for (int r = 0; r < 8; r++) g_assert_cmpuint(mc_to[r], ==, 100000000); /* every rank gets the whole result */
  struct oplist lc;
  g_assert_cmpint(build(&c, &d, 4, &lc), ==, 0);
  fixture_check_dag(&lc);
  struct plan_totals tc;
  plan_totals_compute(&lc, c.nranks, &tc);
  g_assert_cmpuint(tc.payload, ==, 2ull * 8 * 100000000);
  g_assert_cmpuint(lc.nops * 3, <, l.nops);
  plan_totals_free(&tc);
  oplist_free(&lc);
  oplist_free(&l);
  d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_NVLS, PROTO_LL, 16);
  GError *err = NULL;
  oplist_init(&l);
  g_assert_cmpint(plan_build(&c, &d, NULL, &l, &err), ==, -1);
  g_clear_error(&err);
  oplist_free(&l);
  comm_info_free(&c);
}

/* PAT (one rank per node): follow the data through the deps. AllGather: every rank receives every
 * other rank's block exactly once per chunk; ReduceScatter: the partial sums that reach a rank and are
 * not forwarded cover every other rank's contribution exactly once per chunk. */
static void test_pat(void) {
  const int sizes[] = {2, 5, 8, 13};
  for (size_t si = 0; si < G_N_ELEMENTS(sizes); si++) {
    int n = sizes[si];
    struct comm_info c;
    comm_synth_build(&c, n, 1, 2);
    for (int ag = 0; ag < 2; ag++) {
      struct comm_decision d = decision(ag ? OP_ALL_GATHER : OP_REDUCE_SCATTER, (size_t)n * 3000000, ALGO_PAT,
                                        PROTO_SIMPLE, 2);
      struct oplist l;
      g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
      fixture_check_dag(&l);
      check_conservation(&c, &d, &l);
      guint32 *who = g_new0(guint32, l.nops);   /* ranks whose data op i carries */
      guint8 *fwd = g_new0(guint8, l.nops);     /* op i's data is forwarded by its receiver */
      for (size_t i = 0; i < l.nops; i++) {
        const struct op *o = &l.ops[i];
        const uint32_t *dp = OP_DEPS(&l, o);
        guint32 w = ag ? 0 : 1u << o->rank_src;
        for (int k = 0; k < o->ndeps; k++) {
          if (l.ops[dp[k]].rank_dst != o->rank_src) continue; /* program order, not data */
          g_assert_cmpuint(w & who[dp[k]], ==, 0);             /* nothing summed or carried twice */
          w |= who[dp[k]];
          fwd[dp[k]] = 1;
        }
        if (ag && w == 0) w = 1u << o->rank_src;
        if (ag) g_assert_cmpint(__builtin_popcount(w), ==, 1);
        g_assert_cmpuint(w & (1u << o->rank_dst), ==, 0);
        who[i] = w;
      }
      guint64 cnt[2][13][13];
      memset(cnt, 0, sizeof(cnt));
      guint64 chops[2] = {0, 0};
      for (size_t i = 0; i < l.nops; i++) {
        const struct op *o = &l.ops[i];
        chops[o->channel]++;
        if (!ag && fwd[i]) continue;
        for (int x = 0; x < n; x++)
          if (who[i] & (1u << x)) cnt[o->channel][o->rank_dst][x]++;
      }
      for (int ch = 0; ch < 2; ch++) {
        guint64 nchunks = chops[ch] / (guint64)(n * (n - 1));
        g_assert_cmpuint(nchunks * (guint64)(n * (n - 1)), ==, chops[ch]);
        for (int y = 0; y < n; y++)
          for (int x = 0; x < n; x++) g_assert_cmpuint(cnt[ch][y][x], ==, x == y ? 0 : nchunks);
      }
      g_free(who);
      g_free(fwd);
      oplist_free(&l);
    }
    comm_info_free(&c);
  }
}

/* Longest dependency chain, each op weighing its payload: the time of the pipeline at unit bandwidth
 * with no latency. */
static double critical_bytes(const struct oplist *l) {
  double *t = g_new0(double, l->nops ? l->nops : 1), best = 0;
  for (size_t i = 0; i < l->nops; i++) {
    double m = 0;
    const uint32_t *dp = OP_DEPS(l, &l->ops[i]);
    for (int k = 0; k < l->ops[i].ndeps; k++) m = MAX(m, t[dp[k]]);
    t[i] = m + (double)l->ops[i].payload_bytes;
    best = MAX(best, t[i]);
  }
  g_free(t);
  return best;
}

/* The coarse form keeps the pipeline: its critical path stays close to the fine form's. Along chains
 * and trees the first merged op of each hop is stored and forwarded whole, which costs up to
 * (hops x merged op) at the start of the pipeline: 10% at K = 4, 20% at K = 16 for these sizes. */
static void test_coarse_critical_path(void) {
  struct { int nodes, gpn; enum comm_algo algo; enum comm_proto proto; size_t bytes; } cases[] = {
    {1, 8, ALGO_RING, PROTO_SIMPLE, 1u << 30}, {4, 2, ALGO_TREE, PROTO_SIMPLE, 1u << 30},
    {8, 1, ALGO_TREE, PROTO_LL128, 1u << 30}, {1, 8, ALGO_RING, PROTO_LL, 16u << 20}};
  for (size_t ci = 0; ci < G_N_ELEMENTS(cases); ci++) {
    struct comm_info c;
    comm_synth_build(&c, cases[ci].nodes, cases[ci].gpn, 4);
    struct comm_decision d = decision(OP_ALL_REDUCE, cases[ci].bytes, cases[ci].algo, cases[ci].proto, 4);
    struct oplist fine;
    g_assert_cmpint(build(&c, &d, 0, &fine), ==, 0);
    double f = critical_bytes(&fine);
    for (int K = 4; K <= 16; K *= 4) {
      struct oplist co;
      g_assert_cmpint(build(&c, &d, K, &co), ==, 0);
      double q = critical_bytes(&co);
      if (ABS(q - f) > (K == 4 ? 0.1 : 0.2) * f)
        g_error("case %zu K=%d: coarse critical path %.0f vs fine %.0f", ci, K, q, f);
      oplist_free(&co);
    }
    oplist_free(&fine);
    comm_info_free(&c);
  }
}

/* p2p work batches: works of one round epoch (8 rounds) on a channel run together, the next epoch's
 * works wait for them. With 8 ranks everything is one epoch; with 16 there are two. */
static void test_p2p_batches(void) {
  for (int n = 8; n <= 16; n += 8) {
    struct comm_info c;
    comm_synth_build(&c, 1, n, 4);
    struct comm_decision d = decision(OP_ALLTOALL, (size_t)n << 20, ALGO_NONE, PROTO_SIMPLE, 0);
    struct oplist l;
    g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
    fixture_check_dag(&l);
    fixture_check_wire(&l);
    fixture_check_flow_control(&l);
    check_conservation(&c, &d, &l);
    int cross = 0;
    for (size_t i = 0; i < l.nops; i++) {
      const struct op *o = &l.ops[i];
      const uint32_t *dp = OP_DEPS(&l, o);
      for (int k = 0; k < o->ndeps; k++) {
        const struct op *p = &l.ops[dp[k]];
        if (!(oplist_dep_kind(&l, o, k) & OPD_ORDER)) continue;
        g_assert_cmpint(p->channel, ==, o->channel);
        g_assert_true(p->rank_src == o->rank_src || p->rank_dst == o->rank_src);
        if (p->rank_src != o->rank_src || p->rank_dst != o->rank_dst) cross++;
      }
    }
    if (n == 8) g_assert_cmpint(cross, ==, 0);
    else g_assert_cmpint(cross, >, 0);
    oplist_free(&l);
    comm_info_free(&c);
  }
}

/* NVLS_TREE: in-switch reduction per node, a tree across the nodes' heads, multicast back. */
static void test_nvls_tree(void) {
  const int nodes_list[] = {2, 3, 4};
  for (size_t ni = 0; ni < G_N_ELEMENTS(nodes_list); ni++) {
    int nn = nodes_list[ni], gpn = 4;
    struct comm_info c;
    comm_synth_build(&c, nn, gpn, 8);
    uint64_t S = 50000000;
    struct comm_decision d = decision(OP_ALL_REDUCE, S, ALGO_NVLS_TREE, PROTO_SIMPLE, 8);
    for (int K = 1; K <= 4; K += 3) {
      struct oplist l;
      g_assert_cmpint(build(&c, &d, K, &l), ==, 0);
      fixture_check_dag(&l);
      fixture_check_wire(&l);
      struct plan_totals t;
      plan_totals_compute(&l, c.nranks, &t);
      uint64_t n = (uint64_t)(nn * gpn);
      g_assert_cmpuint(t.payload, ==, 2 * n * S + 2 * (uint64_t)(nn - 1) * S);
      plan_totals_free(&t);
      uint64_t *mc = g_new0(uint64_t, n);
      for (size_t i = 0; i < l.nops; i++) {
        const struct op *o = &l.ops[i];
        if (o->transport == TRANSPORT_NVLS) {
          g_assert_cmpint(c.rank_node[o->rank_src], ==, c.rank_node[o->rank_dst]);
          if (o->kind != OPK_SEND) mc[o->rank_dst] += o->payload_bytes;
        } else {
          /* tree ops join the same head index on different nodes */
          g_assert_cmpint(c.rank_node[o->rank_src], !=, c.rank_node[o->rank_dst]);
          g_assert_cmpint(c.rank_dev[o->rank_src], ==, c.rank_dev[o->rank_dst]);
          g_assert_cmpint(o->transport, ==, TRANSPORT_NET);
        }
      }
      for (uint64_t r = 0; r < n; r++) g_assert_cmpuint(mc[r], ==, S / 4 * 4);
      g_free(mc);
      oplist_free(&l);
    }
    comm_info_free(&c);
  }
}

static void test_bad_input(void) {
  struct comm_info c;
  comm_synth_build(&c, 1, 4, 4);
  struct oplist l;
  oplist_init(&l);
  GError *err = NULL;
  struct comm_decision d = decision(OP_ALL_GATHER, 1 << 20, ALGO_TREE, PROTO_SIMPLE, 4);
  g_assert_cmpint(plan_build(&c, &d, NULL, &l, &err), ==, -1);
  g_assert_nonnull(err);
  g_clear_error(&err);
  d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_COLLNET_DIRECT, PROTO_SIMPLE, 4);
  g_assert_cmpint(plan_build(&c, &d, NULL, &l, &err), ==, -1);
  g_clear_error(&err);
  d = decision(OP_BROADCAST, 1 << 20, ALGO_RING, PROTO_SIMPLE, 4);
  d.root = 9;
  g_assert_cmpint(plan_build(&c, &d, NULL, &l, &err), ==, -1);
  g_clear_error(&err);
  c.channels[1].ring.order[0] = 3; /* ring 3 1 2 3: not a permutation */
  d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_RING, PROTO_SIMPLE, 4);
  g_assert_cmpint(plan_build(&c, &d, NULL, &l, &err), ==, -1);
  g_assert_nonnull(strstr(err->message, "permutation"));
  g_clear_error(&err);
  c.channels[0].tree[2].up = 3; /* 3 does not list 2 as a child: tree broken */
  d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_TREE, PROTO_SIMPLE, 1);
  g_assert_cmpint(plan_build(&c, &d, NULL, &l, &err), ==, -1);
  g_clear_error(&err);
  oplist_free(&l);
  comm_info_free(&c);
}

/* Golden op lists on the measured 4-GPU communicator (tests/data/algo/README.md explains them). */
struct golden { const char *file; enum comm_op op; size_t bytes; enum comm_algo algo; enum comm_proto proto; int nch; };
static const struct golden goldens[] = {
  {"allreduce_4gpu_64KiB_LL_4ch.csv", OP_ALL_REDUCE, 65536, ALGO_RING, PROTO_LL, 4},
  {"allreduce_4gpu_1MiB_SIMPLE_1ch.csv", OP_ALL_REDUCE, 1 << 20, ALGO_RING, PROTO_SIMPLE, 1},
  {"allreduce_4gpu_1MiB_TREE_SIMPLE_1ch.csv", OP_ALL_REDUCE, 1 << 20, ALGO_TREE, PROTO_SIMPLE, 1},
};

static char *golden_text(const struct comm_info *c, const struct golden *g) {
  struct comm_decision d = decision(g->op, g->bytes, g->algo, g->proto, g->nch);
  d.max_channels = g->nch;
  struct oplist l;
  g_assert_cmpint(build(c, &d, 0, &l), ==, 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  g_assert_cmpint(oplist_write_csv(&l, f), ==, 0);
  fclose(f);
  oplist_free(&l);
  return buf;
}

/* The JSON writer's output parses and carries the same ops and deps. */
static void test_json(void) {
  struct comm_info c;
  comm_synth_build(&c, 2, 2, 2);
  struct comm_decision d = decision(OP_ALL_REDUCE, 1 << 20, ALGO_TREE, PROTO_LL128, 2);
  struct oplist l;
  g_assert_cmpint(build(&c, &d, 0, &l), ==, 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  g_assert_cmpint(oplist_write_json(&l, f), ==, 0);
  fclose(f);
  cJSON *j = cJSON_Parse(buf);
  g_assert_nonnull(j);
  cJSON *ops = cJSON_GetObjectItem(j, "ops");
  g_assert_cmpint(cJSON_GetArraySize(ops), ==, (int)l.nops);
  g_assert_cmpint(cJSON_GetObjectItem(j, "nranks")->valueint, ==, 4);
  g_assert_cmpstr(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "decision"), "algorithm")->valuestring, ==, "TREE");
  int i = 0;
  cJSON *o;
  cJSON_ArrayForEach(o, ops) {
    const struct op *op = &l.ops[i++];
    g_assert_cmpint(cJSON_GetObjectItem(o, "rank_dst")->valueint, ==, op->rank_dst);
    g_assert_cmpfloat(cJSON_GetObjectItem(o, "wire_bytes")->valuedouble, ==, (double)op->wire_bytes);
    cJSON *deps = cJSON_GetObjectItem(o, "deps");
    g_assert_cmpint(cJSON_GetArraySize(deps), ==, op->ndeps);
    g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItem(o, "dep_kinds")), ==, op->ndeps);
    for (int k = 0; k < op->ndeps; k++)
      g_assert_cmpint(cJSON_GetArrayItem(deps, k)->valueint, ==, (int)OP_DEPS(&l, op)[k]);
  }
  cJSON_Delete(j);
  free(buf);
  oplist_free(&l);
  comm_info_free(&c);
}

static void test_golden(void) {
  struct comm_info c;
  gchar *p = data_path("measured/h200x4/g4_all_reduce_default.log");
  g_assert_cmpint(fixture_comm_from_log(p, &c, NULL), ==, 0);
  gboolean update = g_getenv("CCSIM_UPDATE_GOLDEN") != NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(goldens); i++) {
    char *got = golden_text(&c, &goldens[i]);
    gchar *rel = g_build_filename("algo", goldens[i].file, NULL);
    gchar *gp = data_path(rel);
    if (update) g_assert_true(g_file_set_contents(gp, got, -1, NULL));
    gchar *want = NULL;
    g_assert_true(g_file_get_contents(gp, &want, NULL, NULL));
    g_assert_cmpstr(got, ==, want);
    g_free(want);
    g_free(gp);
    g_free(rel);
    free(got);
  }
  comm_info_free(&c);
  g_free(p);
}

static gboolean same_oplist(const struct oplist *a, const struct oplist *b) {
  if (a->nops != b->nops || a->ndep != b->ndep) return FALSE;
  if (a->nops && memcmp(a->ops, b->ops, a->nops * sizeof(struct op))) return FALSE;
  if (a->ndep && memcmp(a->dep_pool, b->dep_pool, a->ndep * sizeof(uint32_t))) return FALSE;
  if ((a->dep_kind_pool == NULL) != (b->dep_kind_pool == NULL)) return FALSE;
  return !a->dep_kind_pool || !a->ndep || !memcmp(a->dep_kind_pool, b->dep_kind_pool, a->ndep);
}

/* plan_in_place_differs tells the truth: the in-place op list equals the out-of-place one exactly
 * where it says so (the sweep then times the call once). */
static void test_in_place_differs(void) {
  struct comm_info c;
  comm_synth_build(&c, 2, 4, 4);
  const enum comm_op ops[] = {OP_ALL_REDUCE, OP_ALL_GATHER, OP_REDUCE_SCATTER, OP_BROADCAST, OP_REDUCE,
                              OP_SENDRECV, OP_ALLTOALL};
  const enum comm_algo algos[] = {ALGO_RING, ALGO_TREE, ALGO_NVLS, ALGO_NVLS_TREE};
  int compared = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(ops); i++)
    for (size_t j = 0; j < G_N_ELEMENTS(algos); j++) {
      struct comm_decision d = decision(ops[i], 3 << 20, algos[j], PROTO_SIMPLE, 4);
      struct plan_options oop = {0}, ip = {.in_place = TRUE};
      struct oplist a, b;
      oplist_init(&a);
      oplist_init(&b);
      GError *err = NULL;
      int ra = plan_build(&c, &d, &oop, &a, &err);
      g_clear_error(&err);
      int rb = plan_build(&c, &d, &ip, &b, &err);
      g_clear_error(&err);
      g_assert_cmpint(ra, ==, rb);
      if (ra == 0) {
        g_assert_cmpint(!same_oplist(&a, &b), ==, plan_in_place_differs(&c, &d));
        compared++;
      }
      oplist_free(&a);
      oplist_free(&b);
    }
  g_assert_cmpint(compared, >=, 10);
  comm_info_free(&c);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  data_dir = g_getenv("CCSIM_TEST_DATA");
  if (!data_dir) data_dir = CCSIM_TEST_DATA;
  g_test_add_func("/plan/split/measured-channel-ranges", test_measured_channel_ranges);
  g_test_add_func("/plan/split/64k-ll", test_split_64k_ll);
  g_test_add_func("/plan/conservation/measured-4gpu", test_conservation_measured);
  g_test_add_func("/plan/multinode", test_multinode);
  g_test_add_func("/plan/tree/pipeline", test_tree_pipeline);
  g_test_add_func("/plan/properties", test_properties);
  g_test_add_func("/plan/coarse", test_coarse);
  g_test_add_func("/plan/coarse/critical-path", test_coarse_critical_path);
  g_test_add_func("/plan/bad-input", test_bad_input);
  g_test_add_func("/plan/nvls", test_nvls);
  g_test_add_func("/plan/pat", test_pat);
  g_test_add_func("/plan/nvls-tree", test_nvls_tree);
  g_test_add_func("/plan/p2p/batches", test_p2p_batches);
  g_test_add_func("/plan/golden", test_golden);
  g_test_add_func("/plan/json", test_json);
  g_test_add_func("/plan/in_place_differs", test_in_place_differs);
  return g_test_run();
}
