/* simulate.h — times one collective call: op list + network model -> engine -> call time.
 *
 * The time of one iteration of a benchmark loop is the larger of what the host needs to enqueue the
 * call on every local GPU and what the GPUs need per call (kernel start, the op DAG on the engine,
 * kernel end): nccl-tests issues iterations back to back, so the slower side sets the pace.
 *
 * Back to back, a GPU starts its next kernel as soon as its own part of the current call is done, not
 * when the whole call is: the root of a chain (broadcast, reduce) sends its next call's data while the
 * last rank still receives this one's (NCCL's connection FIFOs carry over from call to call). So the
 * device time per call is the steady-state period of consecutive calls, which for a chain is the
 * busiest rank's own work, not one call's end-to-end makespan; for a ring, where every rank waits for
 * data that went round all the others, the two are the same. That overlap is measured only where each
 * GPU has a host thread of its own; with one thread driving several GPUs a call's period is its makespan.
 */
#ifndef CCSIM_SIM_SIMULATE_H
#define CCSIM_SIM_SIMULATE_H

#include <stdint.h>
#include <glib.h>
#include "netmodel.h"
#include "oplist.h"
#include "plan.h"
#include "timeline.h"

struct sim_call {
  uint64_t host_ps;     /* host enqueue time of one iteration */
  uint64_t device_ps;   /* kernel start to completion of one call on its own */
  uint64_t period_ps;   /* device time per call when calls follow each other back to back */
  uint64_t iter_ps;     /* max of host_ps and period_ps */
  uint64_t events;
  uint64_t ops;
  size_t max_active;
};

/* Simulate l (ops of one call decided as l->decision) on m; nlocal GPUs are driven by one host thread.
 * tl may be NULL; otherwise spans are written at offset tl_offset_ps. 0 or -1 with err. */
int sim_call_run(const struct netmodel *m, const struct oplist *l, int nlocal, struct timeline *tl,
                 uint64_t tl_offset_ps, struct sim_call *out, GError **err);

/* Replace the host time of c (e.g. calls replayed from a CUDA graph, which enqueue nothing per call)
 * and set its iteration time by the same rule: the larger of host and device period. */
void sim_call_set_host(struct sim_call *c, uint64_t host_ps);

/* Decompose one call (plan_build) and simulate it. */
int sim_decision_run(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                     const struct plan_options *opt, int nlocal, struct timeline *tl, uint64_t tl_offset_ps,
                     struct sim_call *out, GError **err);

/* Same result as sim_decision_run without simulating every loop of a long call. Every device loop of a
 * channel but the last is the same work, so once the pipeline is full each loop usually adds the same
 * time: a call with at least SIM_STEADY_MIN_LOOPS loops on every channel is simulated with 1, 2 and 3
 * times SIM_STEADY_LOOPS whole loops (the last, partial loop kept); if both increments agree within
 * SIM_STEADY_TOLERANCE the time is extended linearly to the real loop count, otherwise (no periodic
 * steady state) the whole call is simulated. out->events/ops count everything simulated. */
#define SIM_STEADY_LOOPS 4
#define SIM_STEADY_MIN_LOOPS (8 * SIM_STEADY_LOOPS)
#define SIM_STEADY_TOLERANCE 1e-4
int sim_decision_estimate(const struct netmodel *m, const struct comm_info *c, const struct comm_decision *d,
                          const struct plan_options *opt, int nlocal, struct sim_call *out, GError **err);

#endif
