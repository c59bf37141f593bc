/* test_engine.c — known-answer tests of the discrete-event engine (sim/engine.h), checkable by hand.
 *
 * Units: capacities in bytes per ps (1 byte/ps = 1000 GB/s), times in ps.
 */
#include <string.h>
#include <glib.h>

#include "engine.h"

/* A hand-made op with its cost spelled out in a side table. */
struct tcost {
  uint64_t latency;
  double bytes, cap, release;
  int nres, res[4];
  int needs_receiver;
  uint64_t after_receiver_start;
};

struct tctx {
  const struct tcost *costs;
  int stream_all;
  GString *log;
};

static void cost_cb(void *vc, const struct oplist *l, const struct op *op, struct engine_cost *out) {
  (void)l;
  struct tctx *c = vc;
  const struct tcost *t = &c->costs[op->id];
  memset(out, 0, sizeof *out);
  out->latency_ps = t->latency;
  out->bytes = t->bytes;
  out->cap = t->cap;
  out->release_frac = t->release > 0 ? t->release : (c->stream_all ? 0 : 1);
  out->nres = t->nres;
  memcpy(out->res, t->res, sizeof t->res);
  out->needs_receiver = t->needs_receiver;
  out->after_receiver_start_ps = t->after_receiver_start;
}

static int stream_cb(void *vc, const struct op *p, const struct op *q) {
  (void)vc;
  return p->rank_dst == q->rank_src;
}

static void span_cb(void *vc, const struct op *op, uint64_t ready, uint64_t data, uint64_t end) {
  struct tctx *c = vc;
  g_string_append_printf(c->log, "op%u %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n", op->id,
                         ready, data, end);
}

static uint32_t add(struct oplist *l, int src, int dst, const uint32_t *deps, int nd) {
  struct op o = {0};
  o.rank_src = src;
  o.rank_dst = dst;
  return oplist_add(l, &o, deps, nd);
}

static uint64_t run(struct oplist *l, const struct tcost *costs, int nres, const double *cap, int stream,
                    GString *log, struct engine_stats *st_out) {
  struct tctx c = {costs, stream, log};
  struct engine_config cfg = {.nres = nres, .capacity = cap, .cost = cost_cb, .cost_ctx = &c,
                              .stream = stream ? stream_cb : NULL, .span = log ? span_cb : NULL, .span_ctx = &c};
  struct engine_stats st;
  memset(&st, 0, sizeof st);
  GError *err = NULL;
  int rc = engine_run(l, &cfg, &st, &err);
  g_assert_no_error(err);
  g_assert_cmpint(rc, ==, 0);
  if (st_out) *st_out = st;
  return st.end_ps;
}

/* One transfer on one link: latency + size / bandwidth. 1 MB over 100 GB/s (0.1 byte/ps) after 2 µs:
 * 2,000,000 ps + 10,000,000 ps. */
static void test_single_transfer(void) {
  struct oplist l;
  oplist_init(&l);
  add(&l, 0, 1, NULL, 0);
  double cap[] = {0.1};
  struct tcost costs[] = {{.latency = 2000000, .bytes = 1e6, .nres = 1, .res = {0}}};
  g_assert_cmpuint(run(&l, costs, 1, cap, 0, NULL, NULL), ==, 12000000);
  oplist_free(&l);
}

/* Two transfers sharing one link, both starting at 0: each gets half. 1 MB and 3 MB over 0.1 byte/ps:
 * the small one ends at 2 MB / 0.1 = 20 µs; the large one then has 2 MB left at the full rate:
 * 20 µs + 20 µs = 40 µs. */
static void test_shared_link(void) {
  struct oplist l;
  oplist_init(&l);
  add(&l, 0, 1, NULL, 0);
  add(&l, 2, 1, NULL, 0);
  double cap[] = {0.1};
  struct tcost costs[] = {{.bytes = 1e6, .nres = 1, .res = {0}}, {.bytes = 3e6, .nres = 1, .res = {0}}};
  GString *log = g_string_new(NULL);
  g_assert_cmpuint(run(&l, costs, 1, cap, 0, log, NULL), ==, 40000000);
  g_assert_cmpstr(log->str, ==, "op0 0 0 20000000\nop1 0 0 40000000\n");
  g_string_free(log, TRUE);
  oplist_free(&l);
}

/* Max-min with a rate cap: flow A is capped at 0.02 byte/ps, B shares the 0.1 link with it and gets
 * the remaining 0.08. A: 1 MB / 0.02 = 50 µs; B: 4 MB / 0.08 = 50 µs. */
static void test_capped_share(void) {
  struct oplist l;
  oplist_init(&l);
  add(&l, 0, 1, NULL, 0);
  add(&l, 2, 1, NULL, 0);
  double cap[] = {0.1};
  struct tcost costs[] = {{.bytes = 1e6, .cap = 0.02, .nres = 1, .res = {0}}, {.bytes = 4e6, .nres = 1, .res = {0}}};
  GString *log = g_string_new(NULL);
  run(&l, costs, 1, cap, 0, log, NULL);
  g_assert_cmpstr(log->str, ==, "op0 0 0 50000000\nop1 0 0 50000000\n");
  g_string_free(log, TRUE);
  oplist_free(&l);
}

/* Progressive filling across two links: A crosses links 0 and 1, B only link 0, C only link 1.
 * Link 0 = 0.1, link 1 = 0.04. Link 1 is the bottleneck: A and C get 0.02 each; B gets 0.1 - 0.02 = 0.08.
 * With 1.6 MB each: C and A end at 80 µs; B ends at 20 µs, after which A still shares link 1 with C. */
static void test_progressive_filling(void) {
  struct oplist l;
  oplist_init(&l);
  add(&l, 0, 1, NULL, 0);
  add(&l, 0, 2, NULL, 0);
  add(&l, 3, 1, NULL, 0);
  double cap[] = {0.1, 0.04};
  struct tcost costs[] = {{.bytes = 1.6e6, .nres = 2, .res = {0, 1}},
                          {.bytes = 1.6e6, .nres = 1, .res = {0}},
                          {.bytes = 1.6e6, .nres = 1, .res = {1}}};
  GString *log = g_string_new(NULL);
  run(&l, costs, 2, cap, 0, log, NULL);
  g_assert_cmpstr(log->str, ==, "op1 0 0 20000000\nop0 0 0 80000000\nop2 0 0 80000000\n");
  g_string_free(log, TRUE);
  oplist_free(&l);
}

/* A 2-rank ring, two steps: step 0 both ranks send (ops 0: 0->1, 1: 1->0), step 1 each rank forwards
 * what it received (op 2: 0->1 needs op 1 and op 0; op 3: 1->0 needs op 0 and op 1). Each direction has
 * its own link (0: 0->1, 1: 1->0) of 0.05 byte/ps; 0.5 MB per op, 1 µs latency per step:
 * step = 1 µs + 10 µs; two steps = 22 µs. */
static void test_two_rank_ring(void) {
  struct oplist l;
  oplist_init(&l);
  uint32_t a = add(&l, 0, 1, NULL, 0);
  uint32_t b = add(&l, 1, 0, NULL, 0);
  uint32_t d2[] = {b, a}, d3[] = {a, b};
  add(&l, 0, 1, d2, 2);
  add(&l, 1, 0, d3, 2);
  double cap[] = {0.05, 0.05};
  struct tcost c = {.latency = 1000000, .bytes = 5e5, .nres = 1};
  struct tcost costs[4] = {c, c, c, c};
  costs[1].res[0] = costs[3].res[0] = 1;
  GString *log = g_string_new(NULL);
  g_assert_cmpuint(run(&l, costs, 2, cap, 0, log, NULL), ==, 22000000);
  g_assert_cmpstr(log->str, ==,
                  "op0 0 1000000 11000000\nop1 0 1000000 11000000\nop2 11000000 12000000 22000000\n"
                  "op3 11000000 12000000 22000000\n");
  g_string_free(log, TRUE);
  oplist_free(&l);
}

/* Streaming: a 3-hop chain 0->1->2->3 on separate links of 0.1 byte/ps, 1 MB each, no latency.
 * Store-and-forward: 3 x 10 µs = 30 µs. Cut-through (release at 0): every hop starts at 0 and ends at
 * 10 µs (it may not end before its producer). Release at half: hop k starts at k x 5 µs and ends at
 * 10 + 5k µs: 20 µs. */
static void test_streaming(void) {
  double cap[] = {0.1, 0.1, 0.1};
  for (int mode = 0; mode < 3; mode++) {
    struct oplist l;
    oplist_init(&l);
    uint32_t a = add(&l, 0, 1, NULL, 0);
    uint32_t b = add(&l, 1, 2, &a, 1);
    add(&l, 2, 3, &b, 1);
    double rel = mode == 0 ? 1 : mode == 1 ? 0 : 0.5;
    struct tcost costs[3];
    for (int i = 0; i < 3; i++) costs[i] = (struct tcost){.bytes = 1e6, .nres = 1, .res = {i}, .release = rel};
    if (mode == 1)
      for (int i = 0; i < 3; i++) costs[i].release = 0;
    uint64_t expect[] = {30000000, 10000000, 20000000};
    g_assert_cmpuint(run(&l, costs, 3, cap, mode == 1 ? 1 : mode == 2, NULL, NULL), ==, expect[mode]);
    oplist_free(&l);
  }
}

/* A bigger random DAG twice: the same spans byte for byte, every op run once. */
static void build_random(struct oplist *l, struct tcost **costs, int n, int nres, guint32 seed) {
  GRand *rng = g_rand_new_with_seed(seed);
  oplist_init(l);
  *costs = g_new0(struct tcost, n);
  for (int i = 0; i < n; i++) {
    uint32_t deps[3];
    int nd = 0;
    for (int k = 0; k < 3 && i > 0; k++)
      if (g_rand_boolean(rng)) {
        uint32_t d = (uint32_t)g_rand_int_range(rng, i > 50 ? i - 50 : 0, i);
        int dup = 0;
        for (int j = 0; j < nd; j++) dup |= deps[j] == d;
        if (!dup) deps[nd++] = d;
      }
    add(l, g_rand_int_range(rng, 0, 8), g_rand_int_range(rng, 0, 8), deps, nd);
    struct tcost *c = &(*costs)[i];
    c->latency = (uint64_t)g_rand_int_range(rng, 0, 3000);
    c->bytes = g_rand_int_range(rng, 0, 100000);
    c->cap = g_rand_boolean(rng) ? 0.01 : 0;
    c->nres = g_rand_int_range(rng, 1, 4);
    for (int k = 0; k < c->nres; k++) c->res[k] = g_rand_int_range(rng, 0, nres);
    c->release = g_rand_boolean(rng) ? 0.3 : 0;
  }
  g_rand_free(rng);
}

static void test_determinism(void) {
  double cap[16];
  for (int i = 0; i < 16; i++) cap[i] = 0.01 * (i + 1);
  GString *a = g_string_new(NULL), *b = g_string_new(NULL);
  struct engine_stats sa, sb;
  for (int rep = 0; rep < 2; rep++) {
    struct oplist l;
    struct tcost *costs;
    build_random(&l, &costs, 3000, 16, 42);
    run(&l, costs, 16, cap, 1, rep ? b : a, rep ? &sb : &sa);
    g_free(costs);
    oplist_free(&l);
  }
  g_assert_cmpuint(a->len, >, 0);
  g_assert_cmpstr(a->str, ==, b->str);
  g_assert_cmpuint(sa.end_ps, ==, sb.end_ps);
  g_assert_cmpuint(sa.events, ==, sb.events);
  /* every op reported once */
  guint lines = 0;
  for (const char *p = a->str; *p; p++) lines += *p == '\n';
  g_assert_cmpuint(lines, ==, 3000);
  g_string_free(a, TRUE);
  g_string_free(b, TRUE);
}

/* Runs the chain 0 -> 1 -> 2 of two ops costed as given, with per-rank kernel starts when start is non-NULL,
 * and checks the spans the engine reports ("opN ready data_start end", ps). */
static void check_chain(const struct tcost costs[2], const uint64_t start[3], const char *want) {
  struct oplist l;
  oplist_init(&l);
  uint32_t a = add(&l, 0, 1, NULL, 0);
  add(&l, 1, 2, &a, 1);
  struct tctx c = {costs, 0, g_string_new(NULL)};
  double cap[] = {0.1};
  struct engine_config cfg = {.nres = 1, .capacity = cap, .cost = cost_cb, .cost_ctx = &c, .span = span_cb,
                              .span_ctx = &c, .rank_start_ps = start, .nranks = start ? 3 : 0};
  struct engine_stats st;
  memset(&st, 0, sizeof st);
  GError *err = NULL;
  g_assert_cmpint(engine_run(&l, &cfg, &st, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_cmpstr(c.log->str, ==, want);
  g_string_free(c.log, TRUE);
  oplist_free(&l);
}

/* Per-rank kernel starts (calls back to back): rank 1 starts at 5 us. A chain 0 -> 1 -> 2 of 1 us ops:
 * the forward 1 -> 2 waits for rank 1's kernel although its data is there at 1 us (ends at 6 us); when
 * the first op also needs its receiver's kernel it cannot start before 5 us either (ends at 7 us). */
static void test_rank_start(void) {
  const uint64_t start[] = {0, 5000000, 0};
  const struct tcost plain[] = {{.latency = 1000000}, {.latency = 1000000}};
  check_chain(plain, start, "op0 0 1000000 1000000\nop1 5000000 6000000 6000000\n");
  const struct tcost recv[] = {{.latency = 1000000, .needs_receiver = 1}, {.latency = 1000000}};
  check_chain(recv, start, "op0 5000000 6000000 6000000\nop1 6000000 7000000 7000000\n");
}

/* A receiver's hand-over at the start of its call: a 1 us op 0 -> 1 that must wait 3 us after rank 1's
 * kernel start moves at 3-4 us; the forward 1 -> 2 with the same wait is not delayed, its data arriving
 * after rank 2's hand-over (ends at 5 us), unless rank 2's kernel starts late (at 5 us: not before 8 us,
 * ends at 9 us). */
static void test_receiver_handover(void) {
  const struct tcost costs[] = {{.latency = 1000000, .after_receiver_start = 3000000},
                                {.latency = 1000000, .after_receiver_start = 3000000}};
  check_chain(costs, NULL, "op0 3000000 4000000 4000000\nop1 4000000 5000000 5000000\n");
  const uint64_t late[] = {0, 0, 5000000};
  check_chain(costs, late, "op0 3000000 4000000 4000000\nop1 8000000 9000000 9000000\n");
}

static void test_bad_input(void) {
  struct oplist l;
  oplist_init(&l);
  add(&l, 0, 1, NULL, 0);
  double cap[] = {0.1};
  struct tcost costs[] = {{.bytes = 1e6, .nres = 1, .res = {5}}};
  struct tctx c = {costs, 0, NULL};
  struct engine_config cfg = {.nres = 1, .capacity = cap, .cost = cost_cb, .cost_ctx = &c};
  struct engine_stats st;
  memset(&st, 0, sizeof st);
  GError *err = NULL;
  g_assert_cmpint(engine_run(&l, &cfg, &st, &err), ==, -1);
  g_assert_nonnull(err);
  g_assert_nonnull(strstr(err->message, "resource 5"));
  g_clear_error(&err);
  double zero[] = {0};
  cfg.capacity = zero;
  g_assert_cmpint(engine_run(&l, &cfg, &st, &err), ==, -1);
  g_assert_nonnull(strstr(err->message, "capacity"));
  g_clear_error(&err);
  oplist_free(&l);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/engine/single_transfer", test_single_transfer);
  g_test_add_func("/engine/shared_link", test_shared_link);
  g_test_add_func("/engine/capped_share", test_capped_share);
  g_test_add_func("/engine/progressive_filling", test_progressive_filling);
  g_test_add_func("/engine/two_rank_ring", test_two_rank_ring);
  g_test_add_func("/engine/streaming", test_streaming);
  g_test_add_func("/engine/determinism", test_determinism);
  g_test_add_func("/engine/rank_start", test_rank_start);
  g_test_add_func("/engine/receiver_handover", test_receiver_handover);
  g_test_add_func("/engine/bad_input", test_bad_input);
  return g_test_run();
}
