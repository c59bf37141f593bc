/* simulate.c — one call through the engine with the network model's costs (see simulate.h). */
#include "simulate.h"

#include <math.h>
#include <string.h>
#include "engine.h"

struct ctx {
  const struct netmodel *m;
  const struct comm_decision *d;
  struct timeline *tl;
  uint64_t off;
};

static void cost_cb(void *vc, const struct oplist *l, const struct op *op, struct engine_cost *out) {
  (void)l;
  struct ctx *c = vc;
  struct netmodel_cost nc;
  netmodel_op_cost(c->m, c->d, op, &nc);
  out->latency_ps = nc.latency_ps;
  out->bytes = nc.bytes;
  out->cap = nc.cap;
  out->nres = nc.nres < ENGINE_MAX_RES ? nc.nres : ENGINE_MAX_RES;
  memcpy(out->res, nc.res, (size_t)out->nres * sizeof(int));
  out->tail_ps = nc.tail_ps;
  out->release_frac = nc.release_frac;
  out->needs_receiver = nc.needs_receiver;
  out->after_receiver_start_ps = nc.after_receiver_start_ps;
}

static int stream_cb(void *vc, const struct op *producer, const struct op *consumer) {
  struct ctx *c = vc;
  return netmodel_streams(c->m, producer, consumer);
}

static void span_cb(void *vc, const struct op *op, uint64_t ready, uint64_t data, uint64_t end) {
  struct ctx *c = vc;
  timeline_op(c->tl, op, c->off + ready, c->off + data, c->off + end);
}

/* nccl-tests issues iterations back to back: one takes the longer of the device's and the host's time */
static uint64_t iteration_ps(const struct sim_call *c) { return c->period_ps > c->host_ps ? c->period_ps : c->host_ps; }

void sim_call_set_host(struct sim_call *c, uint64_t host_ps) {
  c->host_ps = host_ps;
  c->iter_ps = iteration_ps(c);
}

/* Calls whose ranks all finish within this fraction of the call of each other gain at most that much
 * from overlapping their successors: their period is taken as their makespan, which saves simulating
 * more calls (large rings and trees, where the gain is nil or lost to the calls' flows sharing links). */
#define SIM_OVERLAP_MIN_SPREAD 0.03
/* Consecutive calls simulated to find the period: a chain's pipeline of calls is full after about
 * three (each rank's start settles once its upstream's has). */
#define SIM_PERIOD_CALLS 4

static uint64_t max_of(const uint64_t *v, int n) {
  uint64_t m = 0;
  for (int i = 0; i < n; i++) if (v[i] > m) m = v[i];
  return m;
}

/* Steady-state device time per call of l issued back to back (*period), given when each rank finished
 * its part of the first call (rank_end, clobbered) and that call's makespan: each rank starts call k+1
 * a kernel end and a kernel start after it finished call k, and the period is how much later the last
 * rank finishes each new call. */
static int back_to_back_period(struct engine_config cfg, const struct oplist *l, uint64_t gap_ps,
                               uint64_t *rank_end, int nranks, uint64_t makespan, uint64_t *period,
                               uint64_t *events, GError **err) {
  *period = makespan;
  uint64_t *start = g_new(uint64_t, nranks);
  uint64_t prev = max_of(rank_end, nranks);
  int rc = 0;
  cfg.rank_start_ps = start;
  cfg.nranks = nranks;
  cfg.span = NULL;
  for (int k = 1; k < SIM_PERIOD_CALLS; k++) {
    for (int r = 0; r < nranks; r++) start[r] = rank_end[r] + gap_ps;
    memcpy(rank_end, start, (size_t)nranks * sizeof *rank_end);
    struct engine_stats st;
    memset(&st, 0, sizeof st);
    st.rank_end_ps = rank_end;
    st.nranks = nranks;
    if ((rc = engine_run(l, &cfg, &st, err)) < 0) break;
    *events += st.events;
    uint64_t last = max_of(rank_end, nranks);
    *period = last - prev;
    prev = last;
    if (*period >= makespan) break; /* no head start: the calls only contend */
  }
  g_free(start);
  return rc;
}

/* One call; with back_to_back also the period of consecutive calls (else period_ps = device_ps). */
static int call_run(const struct netmodel *m, const struct oplist *l, int nlocal, struct timeline *tl,
                    uint64_t tl_offset_ps, int back_to_back, struct sim_call *out, GError **err) {
  const struct netmodel_params *p = netmodel_get_params(m);
  struct ctx c = {m, &l->decision, tl, tl_offset_ps};
  /* a one-rank call's copy carries its whole fixed cost (netmodel one_rank_cost): no NCCL kernel */
  int kernels = netmodel_runs_kernels(m);
  uint64_t start = kernels ? netmodel_us_to_ps(p->kernel_start) : 0, end = kernels ? netmodel_us_to_ps(p->kernel_end) : 0;
  int nranks = netmodel_nranks(m);
  struct engine_config cfg = {
    .nres = netmodel_nresources(m),
    .capacity = netmodel_capacities(m),
    .cost = cost_cb,
    .cost_ctx = &c,
    .stream = stream_cb,
    .span = tl ? span_cb : NULL,
    .span_ctx = &c,
    .start_ps = start,
  };
  uint64_t *rank_end = g_new0(uint64_t, nranks > 0 ? nranks : 1);
  struct engine_stats st;
  memset(&st, 0, sizeof st);
  st.rank_end_ps = rank_end;
  st.nranks = nranks;
  if (engine_run(l, &cfg, &st, err) < 0) {
    g_free(rank_end);
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->device_ps = (l->nops ? st.end_ps : start) + end;
  out->period_ps = out->device_ps;
  out->events = st.events;
  uint64_t first_done = UINT64_MAX;
  for (int r = 0; r < nranks; r++)
    if (rank_end[r] > 0 && rank_end[r] < first_done) first_done = rank_end[r];
  /* Calls overlap only where every GPU has a host thread of its own (one process or thread per GPU):
   * with one thread driving several GPUs the chains measured take their whole makespan per call
   * (docs/netmodel.md, "Calls back to back"). */
  if (back_to_back && nlocal <= 1 && l->nops && first_done != UINT64_MAX &&
      (double)(st.end_ps - first_done) > SIM_OVERLAP_MIN_SPREAD * (double)out->device_ps) {
    /* ranks without ops in this call are free at once */
    for (int r = 0; r < nranks; r++) if (rank_end[r] == 0) rank_end[r] = start;
    uint64_t period;
    if (back_to_back_period(cfg, l, start + end, rank_end, nranks, out->device_ps, &period, &out->events, err) < 0) {
      g_free(rank_end);
      return -1;
    }
    if (period < out->period_ps) out->period_ps = period;
  }
  g_free(rank_end);
  out->host_ps = netmodel_host_ps(m, &l->decision, nlocal, l->nops);
  out->iter_ps = iteration_ps(out);
  out->ops = l->nops;
  out->max_active = st.max_active;
  return 0;
}

int sim_call_run(const struct netmodel *m, const struct oplist *l, int nlocal, struct timeline *tl,
                 uint64_t tl_offset_ps, struct sim_call *out, GError **err) {
  return call_run(m, l, nlocal, tl, tl_offset_ps, 1, out, err);
}

static int decision_run(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                        const struct plan_options *opt, int nlocal, struct timeline *tl, uint64_t tl_offset_ps,
                        int back_to_back, struct sim_call *out, GError **err) {
  struct oplist l;
  oplist_init(&l);
  int rc = plan_build(c, d, opt, &l, err);
  if (rc == 0) rc = call_run(m, &l, nlocal, tl, tl_offset_ps, back_to_back, out, err);
  oplist_free(&l);
  return rc;
}

int sim_decision_run(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                     const struct plan_options *opt, int nlocal, struct timeline *tl, uint64_t tl_offset_ps,
                     struct sim_call *out, GError **err) {
  return decision_run(m, c, d, opt, nlocal, tl, tl_offset_ps, 1, out, err);
}

int sim_decision_estimate(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                          const struct plan_options *opt, int nlocal, struct sim_call *out, GError **err) {
  size_t loops = opt && opt->coarse <= 1 ? plan_whole_loops(c, d) : 0;
  if (loops < SIM_STEADY_MIN_LOOPS) return sim_decision_run(m, c, d, opt, nlocal, NULL, 0, out, err);
  struct plan_options po = *opt;
  struct sim_call run[3];
  uint64_t events = 0, ops = 0;
  for (int k = 0; k < 3; k++) {
    po.trim_loops = loops - (size_t)(k + 1) * SIM_STEADY_LOOPS;
    /* the head start of back-to-back calls (run[2]'s) does not grow with the loops: found once */
    if (decision_run(m, c, d, &po, nlocal, NULL, 0, k == 2, &run[k], err)) return -1;
    events += run[k].events;
    ops += run[k].ops;
  }
  double s1 = (double)run[1].device_ps - (double)run[0].device_ps;
  double s2 = (double)run[2].device_ps - (double)run[1].device_ps;
  if (s1 <= 0 || fabs(s2 - s1) > SIM_STEADY_TOLERANCE * s1) {
    /* no periodic steady state (flows sharing links can beat against each other over many loops):
     * the extrapolation would amplify that, so time the whole call */
    if (sim_decision_run(m, c, d, opt, nlocal, NULL, 0, out, err)) return -1;
    out->events += events;
    out->ops += ops;
    return 0;
  }
  double per_loop = (s1 + s2) / (2.0 * SIM_STEADY_LOOPS);
  *out = run[2];
  out->device_ps = run[2].device_ps + (uint64_t)(per_loop * (double)po.trim_loops + 0.5);
  out->period_ps = out->device_ps - (run[2].device_ps - run[2].period_ps);
  out->iter_ps = iteration_ps(out);
  out->events = events;
  out->ops = ops;
  return 0;
}
