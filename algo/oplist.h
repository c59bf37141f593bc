/* oplist.h — the point-to-point op DAG that one collective call becomes.
 *
 * Produced by the decomposition (plan.h) from a communicator and NCCL's decision, consumed by the
 * simulator (sim/). Each op is one step of one channel moving data from rank_src to rank_dst;
 * deps[] list the ops that must finish before it may start. Ops are stored in an order where every
 * dependency precedes its dependant (a topological order), so consumers can stream them.
 */
#ifndef CCSIM_ALGO_OPLIST_H
#define CCSIM_ALGO_OPLIST_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "comm.h"

/* The NCCL primitive the sending rank runs to produce this step: what it did with its inputs (data
 * received from its own peers for this slice, and its local buffer) before the bytes left it. The
 * primitive that finally consumes data without forwarding it (recvReduceCopy at a reduce root,
 * recv at the end of a copy chain) is an op of its own only where its copy out of the receive
 * buffer holds up the rank's next primitive (Simple rings and chains): a TRANSPORT_LOCAL op with
 * rank_src == rank_dst, the receiving rank. Elsewhere it finishes when the op bringing the data does. */
enum op_kind {
  OPK_SEND,              /* send of local data (first step of a ring, tree leaf, p2p send) */
  OPK_RECV_REDUCE_SEND,  /* receive, reduce with local data, forward */
  OPK_RECV_COPY_SEND,    /* receive, store, forward */
  OPK_RECV_REDUCE_COPY_SEND, /* receive, reduce, store and forward (ring allreduce's last reduce step) */
  OPK_RECV_REDUCE_COPY,  /* receive, reduce and store (end of a reduce chain) */
  OPK_RECV,              /* receive and store (end of a copy chain) */
  OPK_COPY_SEND,         /* copy local input to the output buffer and send (out-of-place root) */
  OPK_COUNT
};

/* Why an op waits for a dependency (a bit mask: one dependency can be several at once). */
enum op_dep_kind {
  OPD_ORDER = 1,         /* program order: the sending rank's previous slice on this channel (on the same
                          * connection NCCL keeps up to NCCL_STEPS slices in flight, so this orders the
                          * slices rather than waiting for the previous transfer's latency) */
  OPD_DATA = 2,          /* the data this slice forwards or reduces arrived with that op */
  OPD_FLOW = 4,          /* flow control: the receiver freed the buffer slot this slice reuses */
};

struct op {
  uint32_t id;
  int32_t rank_src, rank_dst;
  int16_t channel;
  int32_t step;            /* (-1 for a TRANSPORT_LOCAL op) NCCL's step counter of the rank_src->rank_dst connection on this channel
                            * when the slice starts (a Simple slice spans StepPerSlice steps; the
                            * FIFO slot is step % NCCL_STEPS) */
  uint64_t payload_bytes;  /* user data carried */
  uint64_t wire_bytes;     /* bytes on the link, protocol overhead included */
  uint8_t protocol;        /* enum comm_proto */
  uint8_t transport;       /* enum comm_transport */
  uint8_t kind;            /* enum op_kind */
  uint8_t ndeps;
  uint32_t deps_at;        /* deps are dep_pool[deps_at .. deps_at+ndeps): op ids, all smaller than id */
};

struct oplist {
  struct op *ops;
  size_t nops, cap;
  uint32_t *dep_pool;      /* storage behind every op's deps */
  uint8_t *dep_kind_pool;  /* parallel to dep_pool: enum op_dep_kind masks; NULL when no op had kinds */
  size_t ndep, dep_cap;
  struct comm_decision decision;
  int nranks;
  int full;                /* set when an add failed: more than 2^32 ops or deps, or out of memory */
};

const char *op_kind_name(enum op_kind k);
const char *op_transport_name(int transport); /* "P2P", "SHM", "NET", "COLLNET", "NVLS" */

void oplist_init(struct oplist *l);
void oplist_free(struct oplist *l);
/* Append an op; deps are copied into dep_pool. Returns its id. When the list cannot grow (ids are
 * 32-bit, or memory ran out) nothing is added, `full` is set and UINT32_MAX is returned. */
#define OP_DEPS(l, o) (&(l)->dep_pool[(o)->deps_at])
uint32_t oplist_add(struct oplist *l, const struct op *o, const uint32_t *deps, int ndeps);
/* The same with a kind mask per dependency (kinds may be NULL: OPD_ORDER). */
uint32_t oplist_add_kinds(struct oplist *l, const struct op *o, const uint32_t *deps, const uint8_t *kinds,
                          int ndeps);
/* The kind mask of dependency k of op o (OPD_ORDER where the list carries no kinds). */
int oplist_dep_kind(const struct oplist *l, const struct op *o, int k);

int oplist_write_csv(const struct oplist *l, FILE *f);
int oplist_write_json(const struct oplist *l, FILE *f);

#endif
