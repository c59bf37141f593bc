/* profiler.c — NCCL profiler plugin (ABI v5) inside libhacknccl.so: records every collective and
 * point-to-point task NCCL enqueues (function, count, type, root/peer, algorithm, protocol, channels,
 * warps) per rank into the capture store. It never changes what NCCL does.
 */
#include <stdlib.h>
#include <string.h>
#include "capture.h"
#include "capture_nccl_abi.h"
#include "simtime.h"

/* Everything but KernelCh (0x40): KernelCh events wait for counters that only a running kernel writes, and
 * on virtual GPUs communicator destroy then never returns. */
#define PROFILER_ACTIVATION_MASK 0xFBF

struct profiler_ctx { int rank, nranks, nnodes; uint64_t comm_id; };

static char dummy_event; /* every handle we return: we keep no per-event state */

static void copy_str(char *dst, size_t n, const char *src) {
  if (!src) src = "";
  strncpy(dst, src, n - 1);
  dst[n - 1] = '\0';
}

static nccl_result_t prof_init(void **context, uint64_t comm_id, int *mask, const char *comm_name, int nnodes,
                               int nranks, int rank, nccl_logger_t logfn) {
  (void)comm_name;
  (void)logfn;
  struct profiler_ctx *c = calloc(1, sizeof(*c));
  if (!c) return NCCL_INTERNAL_ERROR;
  c->rank = rank;
  c->nranks = nranks;
  c->nnodes = nnodes;
  c->comm_id = comm_id;
  *context = c;
  *mask = PROFILER_ACTIVATION_MASK;
  capture_note_init_rank(rank);
  simtime_note_comm(comm_id, rank, nranks, nnodes);
  return NCCL_OK;
}

static nccl_result_t prof_start(void *context, void **handle, struct nccl_profiler_descr_v5 *d) {
  struct profiler_ctx *c = context;
  *handle = &dummy_event;
  if (!c || !d) return NCCL_OK;
  if (d->type == NCCL_PROFILE_COLL) {
    struct capture_coll_rec r = {.rank = c->rank, .count = d->coll.count, .root = d->coll.root,
                                 .nchannels = d->coll.nchannels, .nwarps = d->coll.nwarps};
    copy_str(r.func, sizeof(r.func), d->coll.func);
    copy_str(r.datatype, sizeof(r.datatype), d->coll.datatype);
    copy_str(r.algo, sizeof(r.algo), d->coll.algo);
    copy_str(r.proto, sizeof(r.proto), d->coll.proto);
    capture_record_coll(&r);
    if (simtime_active()) {
      struct simtime_task t = {.comm_id = c->comm_id, .rank = c->rank, .nranks = c->nranks, .count = d->coll.count,
                               .root = d->coll.root, .seq = d->coll.seq_number, .nchannels = d->coll.nchannels,
                               .nwarps = d->coll.nwarps, .sendbuff = d->coll.send_buff, .recvbuff = d->coll.recv_buff};
      copy_str(t.func, sizeof t.func, d->coll.func);
      copy_str(t.datatype, sizeof t.datatype, d->coll.datatype);
      copy_str(t.algo, sizeof t.algo, d->coll.algo);
      copy_str(t.proto, sizeof t.proto, d->coll.proto);
      simtime_note_task(&t);
    }
  } else if (d->type == NCCL_PROFILE_P2P) {
    struct capture_p2p_rec r = {.rank = c->rank, .count = d->p2p.count, .peer = d->p2p.peer,
                                .nchannels = d->p2p.nchannels};
    copy_str(r.func, sizeof(r.func), d->p2p.func);
    copy_str(r.datatype, sizeof(r.datatype), d->p2p.datatype);
    capture_record_p2p(&r);
    if (simtime_active()) {
      struct simtime_task t = {.comm_id = c->comm_id, .rank = c->rank, .nranks = c->nranks, .p2p = true,
                               .count = d->p2p.count, .root = d->p2p.peer, .nchannels = d->p2p.nchannels};
      copy_str(t.func, sizeof t.func, d->p2p.func);
      copy_str(t.datatype, sizeof t.datatype, d->p2p.datatype);
      simtime_note_task(&t);
    }
  }
  return NCCL_OK;
}

static nccl_result_t prof_stop(void *handle) {
  (void)handle;
  return NCCL_OK;
}

static nccl_result_t prof_record_state(void *handle, int state, void *args) {
  (void)handle;
  (void)state;
  (void)args;
  return NCCL_OK;
}

static nccl_result_t prof_finalize(void *context) {
  struct profiler_ctx *c = context;
  if (c) simtime_note_comm_gone(c->comm_id, c->rank);
  free(context);
  return NCCL_OK;
}

__attribute__((visibility("default"))) const struct nccl_profiler_v5 ncclProfiler_v5 = {
  .name = "ccsim-capture",
  .init = prof_init,
  .start_event = prof_start,
  .stop_event = prof_stop,
  .record_event_state = prof_record_state,
  .finalize = prof_finalize,
};
