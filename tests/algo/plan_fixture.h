/* plan_fixture.h — test helpers: communicators and decisions from measured NCCL logs, and the
 * invariants every op list must satisfy (DAG order, wire overhead, ring/tree structure). */
#ifndef CCSIM_TESTS_PLAN_FIXTURE_H
#define CCSIM_TESTS_PLAN_FIXTURE_H

#include <glib.h>
#include "plan.h"

/* A communicator from an nccl-tests log taken with NCCL_DEBUG=INFO (rings from "Channel NN/M : ..."
 * lines of rank 0, trees from every rank's "Trees [c] d0/d1/d2->r->up" line). 0 on success. */
int fixture_comm_from_log(const char *path, struct comm_info *c, GError **err);

struct fixture_tuning {
  enum comm_op op;
  size_t nccl_bytes;       /* bytes in the TUNING line (per rank for AllGather/ReduceScatter) */
  enum comm_algo algo;
  enum comm_proto proto;
  int lo, hi;
};
/* Distinct TUNING lines of a log ("AllReduce: 65536 Bytes -> Algo RING proto LL channel{Lo..Hi}={0..3}"). */
GArray *fixture_tunings_from_log(const char *path, GError **err);

/* Checks shared by all tests; they g_assert. */
void fixture_check_dag(const struct oplist *l);
void fixture_check_wire(const struct oplist *l);
void fixture_check_ring_order(const struct comm_info *c, const struct oplist *l);
void fixture_check_tree(const struct comm_info *c, const struct oplist *l);
void fixture_check_flow_control(const struct oplist *l);

#endif
