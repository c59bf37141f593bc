/* engine.h — the discrete-event engine: executes an op DAG over shared bandwidth resources.
 *
 * Each op of an oplist becomes one *transfer*: when all its deps are done it waits a fixed latency,
 * then moves its bytes across a set of resources (links, ports, NICs), sharing each resource's
 * capacity max-min fairly with every other transfer active on it, never faster than its own cap.
 * Rates are recomputed (progressive filling, restricted to the connected part of the resource graph
 * the change touches) whenever transfers start or finish; all events of one instant are handled
 * before one recomputation. Time is integer picoseconds; simultaneous events are ordered by a
 * sequence number, so a run is deterministic. The engine owns no global state: several runs may
 * proceed in one process (each call has its own heap and arrays).
 *
 * The engine does not know what a link or a protocol is: a cost callback (the network model) says,
 * for each op, its latency, its bytes, its rate cap and the resources it crosses.
 */
#ifndef CCSIM_SIM_ENGINE_H
#define CCSIM_SIM_ENGINE_H

#include <stdint.h>
#include <stddef.h>
#include <glib.h>
#include "oplist.h"

#define ENGINE_MAX_RES 16 /* resources one transfer may cross */

/* What one op costs, as the network model sees it. */
struct engine_cost {
  uint64_t latency_ps;   /* fixed delay after the deps are met, before data moves */
  double bytes;          /* bytes to move (0: the op is pure latency) */
  double cap;            /* the transfer's own rate limit, bytes per ps (<= 0: unlimited) */
  int nres;
  int res[ENGINE_MAX_RES]; /* resources crossed, indices into the capacity array */
  uint64_t tail_ps;      /* delay after the data has moved before dependants may start */
  double release_frac;   /* streaming dependants (engine_stream_fn) may start once this fraction of
                          * the bytes has moved: 0 = as soon as data starts to flow */
  int needs_receiver;    /* with engine_config.rank_start_ps: the op cannot start before the kernel of
                          * its receiver (rank_dst) has started either */
  uint64_t after_receiver_start_ps; /* the op cannot start before this long after its receiver's kernel
                                     * start (rank_start_ps, or start_ps without it): a hand-over the
                                     * receiver makes as its call begins */
};

typedef void (*engine_cost_fn)(void *ctx, const struct oplist *l, const struct op *op, struct engine_cost *out);

/* Called once per finished op (in completion order) when non-NULL: for timelines. */
typedef void (*engine_span_fn)(void *ctx, const struct op *op, uint64_t ready_ps, uint64_t data_start_ps,
                               uint64_t end_ps);

/* Whether consumer may start before producer's data has all arrived (forwarding as data arrives, see
 * engine_cost.release_frac) instead of when it has; the consumer still cannot finish before the
 * producer has. */
typedef int (*engine_stream_fn)(void *ctx, const struct op *producer, const struct op *consumer);

struct engine_config {
  int nres;
  const double *capacity;  /* nres capacities, bytes per ps (> 0) */
  engine_cost_fn cost;
  void *cost_ctx;
  engine_stream_fn stream; /* optional (NULL: every dependency is store-and-forward) */
  engine_span_fn span;     /* optional */
  void *span_ctx;
  uint64_t start_ps;       /* time at which ops without deps become ready (e.g. kernel start) */
  const uint64_t *rank_start_ps; /* optional per-rank kernel start (nranks entries): no op runs on a rank
                                  * (op->rank_src executes it) before the later of this and start_ps, even
                                  * when its deps on other ranks are met earlier (see also
                                  * engine_cost.needs_receiver) */
  int nranks;              /* size of rank_start_ps */
};

struct engine_stats {
  uint64_t end_ps;         /* when the last op finished */
  uint64_t events;         /* events handled */
  uint64_t rate_updates;   /* rate recomputations */
  size_t max_active;       /* most transfers moving data at once */
  uint64_t *rank_end_ps;   /* optional (caller-allocated, nranks entries): last op touching each rank */
  int nranks;              /* size of rank_end_ps */
};

#define ENGINE_ERROR engine_error_quark()
GQuark engine_error_quark(void);

/* Run the whole DAG. 0 on success; -1 with err set on a malformed DAG (a dep that is not an earlier
 * op, a resource index out of range, a cycle leaving ops unfinished). */
int engine_run(const struct oplist *l, const struct engine_config *cfg, struct engine_stats *st, GError **err);

#endif
