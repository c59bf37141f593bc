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
static uint64_t iteration_ps(const struct sim_call *c) { return c->device_ps > c->host_ps ? c->device_ps : c->host_ps; }

int sim_call_run(const struct netmodel *m, const struct oplist *l, int nlocal, struct timeline *tl,
                 uint64_t tl_offset_ps, struct sim_call *out, GError **err) {
  const struct netmodel_params *p = netmodel_get_params(m);
  struct ctx c = {m, &l->decision, tl, tl_offset_ps};
  uint64_t start = netmodel_us_to_ps(p->kernel_start);
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
  struct engine_stats st;
  memset(&st, 0, sizeof st);
  if (engine_run(l, &cfg, &st, err) < 0) return -1;
  memset(out, 0, sizeof *out);
  out->device_ps = (l->nops ? st.end_ps : start) + netmodel_us_to_ps(p->kernel_end);
  out->host_ps = netmodel_host_ps(m, l->decision.op, nlocal, l->decision.nchannels);
  out->iter_ps = iteration_ps(out);
  out->events = st.events;
  out->ops = l->nops;
  out->max_active = st.max_active;
  return 0;
}

int sim_decision_run(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                     const struct plan_options *opt, int nlocal, struct timeline *tl, uint64_t tl_offset_ps,
                     struct sim_call *out, GError **err) {
  struct oplist l;
  oplist_init(&l);
  int rc = plan_build(c, d, opt, &l, err);
  if (rc == 0) rc = sim_call_run(m, &l, nlocal, tl, tl_offset_ps, out, err);
  oplist_free(&l);
  return rc;
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
    if (sim_decision_run(m, c, d, &po, nlocal, NULL, 0, &run[k], err)) return -1;
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
  out->iter_ps = iteration_ps(out);
  out->events = events;
  out->ops = ops;
  return 0;
}
