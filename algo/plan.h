/* plan.h — one collective call -> the point-to-point op DAG NCCL's kernels execute.
 *
 * plan_build() takes a communicator as NCCL built it (comm.h) and NCCL's decision for one call and
 * produces, per channel and per pipeline step, the transfers between ranks with their payload,
 * protocol wire bytes, transport and dependencies (oplist.h). The sizing follows NCCL 2.28's host
 * code (per-channel split, chunk sizes, p2p parts) and the loop structure its device kernels run;
 * docs/decomposition.md states every rule and where it comes from.
 */
#ifndef CCSIM_ALGO_PLAN_H
#define CCSIM_ALGO_PLAN_H

#include <stdint.h>
#include <stddef.h>
#include <glib.h>
#include "comm.h"
#include "oplist.h"

#define PLAN_NCCL_STEPS 8

struct plan_options {
  int coarse;              /* <= 1: one op per NCCL step (slice), the reference form; K > 1: merge K
                            * consecutive slices of each connection of a channel into one op */
  gboolean in_place;       /* in-place call (nccl-tests default is out-of-place) */
  size_t trim_loops;       /* run this many fewer whole kernel loops on every channel (the last, partial
                            * loop is kept as it is): the reduced calls steady-state extrapolation
                            * times (plan_whole_loops); 0 for the real call */
};

/* How NCCL splits one collective over its channels and sizes its chunks (enqueue.cc). */
struct plan_channel_part {
  int channel;
  size_t offset;           /* first element of this channel's part */
  size_t count;            /* elements on this channel */
  size_t chunk_count;      /* elements per chunk (device chunkCount) */
};
struct plan_split {
  int channel_lo, channel_hi;
  size_t count_lo, count_mid, count_hi;
  size_t chunk_bytes_lo, chunk_bytes_mid, chunk_bytes_hi;
  int elem_size;           /* element size the kernel works in (1 for AllGather/Broadcast) */
  size_t count;            /* per-rank element count the kernel sees */
  int nparts;
  struct plan_channel_part parts[COMM_MAX_CHANNELS];
};

/* The per-channel split of a collective call (not send/recv/alltoall). 0 on success. */
int plan_collective_split(const struct comm_info *c, const struct comm_decision *d, struct plan_split *out,
                          GError **err);

/* The fewest whole kernel loops any channel of the call runs (NCCL's device loop: ring AllReduce
 * nranks chunks, NVLS/NVLS_TREE nHeads chunks, otherwise one chunk per loop). Every loop but the last
 * is the same work, so once the pipeline is full each loop adds the same time. 0 where the call has no
 * such loop structure (send/recv, alltoall, PAT, one rank). */
size_t plan_whole_loops(const struct comm_info *c, const struct comm_decision *d);

/* Whether the in-place form of the call decomposes differently from the out-of-place one: ring
 * all_gather and broadcast (their first step then does not copy the input to the own output), and the
 * calls of one rank that copy (in place NCCL does nothing). Where it does not, the two calls are the same op list
 * and need to be timed once. */
gboolean plan_in_place_differs(const struct comm_info *c, const struct comm_decision *d);

/* Bytes on the wire for `payload` bytes of user data in one step of protocol `proto`. */
uint64_t plan_wire_bytes(enum comm_proto proto, uint64_t payload);

/* NCCL's grain size per protocol: chunk sizes are multiples of it. */
size_t plan_grain_size(enum comm_proto proto);

/* Builds the op list of one call into `out` (which must be initialised; it is cleared first).
 * Returns 0, or -1 with err set (unsupported algorithm for the op, inconsistent communicator). */
int plan_build(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *opt,
               struct oplist *out, GError **err);

/* What each rank receives and sends, summed over the op list (for summaries and checks); TRANSPORT_LOCAL
 * ops move nothing between ranks and are left out. */
struct plan_totals {
  int nranks, nchannels_used;
  uint64_t *recv_payload;  /* nranks */
  uint64_t *send_payload;  /* nranks */
  uint64_t *chan_payload;  /* COMM_MAX_CHANNELS */
  uint64_t *chan_wire;     /* COMM_MAX_CHANNELS */
  uint64_t *chan_ops;      /* COMM_MAX_CHANNELS */
  uint64_t payload, wire;
};
void plan_totals_compute(const struct oplist *l, int nranks, struct plan_totals *t);
void plan_totals_free(struct plan_totals *t);

#define PLAN_ERROR plan_error_quark()
GQuark plan_error_quark(void);

#endif
