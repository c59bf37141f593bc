/* plan_engine.c — turns primitive calls (send / recvReduceSend / ...) at each rank into ops with the
 * three kinds of dependency NCCL's pipeline has: program order at the sending rank, the data the
 * primitive consumes from its peers, and the buffer slot the receiver must have freed (a sender runs
 * at most NCCL_STEPS steps ahead of its receiver's consumption). */
#include <string.h>
#include "plan_internal.h"

void pe_init(struct pe *e, struct oplist *out, enum comm_proto proto, int step_per_slice, int coarse,
             GError **err) {
  memset(e, 0, sizeof(*e));
  e->out = out;
  e->proto = proto;
  e->step_per_slice = step_per_slice > 0 ? step_per_slice : 1;
  e->window = PLAN_NCCL_STEPS / e->step_per_slice;
  if (e->window < 1) e->window = 1;
  e->coarse = coarse > 1 ? coarse : 1;
  e->err = err;
}

void pe_conn_init(struct pe_conn *k, const struct comm_info *c, int src, int dst) {
  memset(k, 0, sizeof(*k));
  k->src = src;
  k->dst = dst;
  k->transport = (uint8_t)comm_transport_between(c, src, dst);
}

void pe_stream_init(struct pe_stream *s) { s->nlast = s->nrecvd = s->open_local_n = 0; }

static void fail(struct pe *e, const char *what, const struct pe_conn *k) {
  if (!e->failed)
    g_set_error(e->err, PLAN_ERROR, 2, "internal plan error on channel %d, %d->%d: %s", e->channel, k->src,
                k->dst, what);
  e->failed = 1;
}

static int add_dep(uint32_t *deps, uint8_t *kinds, int n, uint32_t id, uint8_t kind) {
  for (int i = 0; i < n; i++)
    if (deps[i] == id) {
      kinds[i] |= kind;
      return n;
    }
  deps[n] = id;
  kinds[n] = kind;
  return n + 1;
}

/* Program order: the rank's previous sends on this channel and, after a receive-only slice, what it
 * received (one thread block runs its primitives one after the other). */
static int order_deps(const struct pe_stream *s, uint32_t *deps, uint8_t *kinds, int nd) {
  for (int i = 0; i < s->nlast; i++) nd = add_dep(deps, kinds, nd, s->last[i], OPD_ORDER);
  for (int i = 0; i < s->nrecvd; i++) nd = add_dep(deps, kinds, nd, s->recvd[i], OPD_ORDER);
  return nd;
}

/* The op a consumer of `incoming` (a slice received on `in`) waits for. Coarse form: data still
 * accumulating in the sender's open op would make it wait for the whole merged op (store and forward
 * over K slices); it waits for the sender's previous merged op instead, which keeps the pipeline lag
 * of one merged op per hop. */
static uint32_t data_dep(const struct pe *e, const struct pe_conn *in, uint32_t incoming) {
  if (e->coarse > 1 && incoming == in->open_op && in->open_n < e->coarse && in->has_prev) return in->prev_op;
  return incoming;
}

/* The receiver is done with the buffer slot of its next slice on k once ops[0..n) are. */
static void mark_consumed(const struct pe *e, struct pe_conn *k, const uint32_t *ops, int n) {
  int slot = (int)(k->nrecv % (uint64_t)e->window);
  memcpy(k->mark[slot], ops, (size_t)n * sizeof(uint32_t));
  k->nmark[slot] = (uint8_t)n;
  k->nrecv++;
}

/* A receive-only slice whose copy out of the receive buffer (reduced with local data at a reduce
 * root) the rank's thread block does before its next primitive: an op on the receiving rank that
 * needs the data and the rank's earlier work, and frees the buffer slot when done. */
static void local_receive(struct pe *e, struct pe_stream *s, struct pe_conn *in, uint32_t incoming, uint64_t bytes,
                          enum op_kind kind) {
  if (e->coarse > 1 && s->open_local_n > 0 && s->open_local_n < e->coarse) {
    struct op *o = &e->out->ops[s->open_local];
    o->payload_bytes += bytes;
    o->wire_bytes += plan_wire_bytes(e->proto, bytes);
    s->open_local_n++;
    mark_consumed(e, in, &s->open_local, 1);
    return;
  }
  uint32_t deps[2 * PE_MAXFAN + 1];
  uint8_t kinds[2 * PE_MAXFAN + 1];
  int nd = order_deps(s, deps, kinds, 0);
  nd = add_dep(deps, kinds, nd, data_dep(e, in, incoming), OPD_DATA);
  struct op o = {0};
  o.rank_src = o.rank_dst = in->dst;
  o.channel = (int16_t)e->channel;
  o.step = -1;
  o.payload_bytes = bytes;
  o.wire_bytes = plan_wire_bytes(e->proto, bytes); /* LL and LL128 read the flagged lines */
  o.protocol = (uint8_t)e->proto;
  o.transport = TRANSPORT_LOCAL;
  o.kind = (uint8_t)kind;
  uint32_t id = oplist_add_kinds(e->out, &o, deps, kinds, nd);
  s->open_local = id;
  s->open_local_n = 1;
  mark_consumed(e, in, &id, 1);
  s->last[0] = id;
  s->nlast = 1;
  s->nrecvd = 0;
}

void pe_slice(struct pe *e, struct pe_stream *s, struct pe_conn **recv, int nrecv, struct pe_conn **send,
              int nsend, uint64_t bytes, enum op_kind kind) {
  if (e->failed || e->out->full) return; /* plan_build reports a full list */
  uint32_t incoming[PE_MAXFAN];
  for (int i = 0; i < nrecv; i++) {
    struct pe_conn *k = recv[i];
    if (k->qlen == 0) { fail(e, "receive without a slice in flight", k); return; }
    incoming[i] = k->q[k->qhead];
    k->qhead = (k->qhead + 1) % PE_QCAP;
    k->qlen--;
  }
  if (nsend == 0 && nrecv == 1 && e->local_receive) {
    local_receive(e, s, recv[0], incoming[0], bytes, kind);
    return;
  }
  uint32_t created[PE_MAXFAN];
  int ncreated = 0;
  for (int j = 0; j < nsend; j++) {
    struct pe_conn *k = send[j];
    uint32_t id;
    if (e->coarse > 1 && k->open_n > 0 && k->open_n < e->coarse) {
      struct op *o = &e->out->ops[k->open_op];
      o->payload_bytes += bytes;
      o->wire_bytes += plan_wire_bytes(e->proto, bytes);
      k->open_n++;
      id = k->open_op;
    } else {
      uint32_t deps[3 * PE_MAXFAN + PE_MAXFAN];
      uint8_t kinds[3 * PE_MAXFAN + PE_MAXFAN];
      int nd = order_deps(s, deps, kinds, 0);
      for (int i = 0; i < nrecv; i++) nd = add_dep(deps, kinds, nd, data_dep(e, recv[i], incoming[i]), OPD_DATA);
      if (k->nsent >= (uint64_t)e->window) {
        uint64_t m = k->nsent - (uint64_t)e->window;
        if (k->nrecv <= m) { fail(e, "flow control reached past the receiver (generation order)", k); return; }
        int slot = (int)(m % (uint64_t)e->window);
        for (int i = 0; i < k->nmark[slot]; i++) nd = add_dep(deps, kinds, nd, k->mark[slot][i], OPD_FLOW);
      }
      struct op o = {0};
      o.rank_src = k->src;
      o.rank_dst = k->dst;
      o.channel = (int16_t)e->channel;
      o.step = (int32_t)(k->nsent * (uint64_t)e->step_per_slice);
      o.payload_bytes = bytes;
      o.wire_bytes = plan_wire_bytes(e->proto, bytes);
      o.protocol = (uint8_t)e->proto;
      o.transport = k->transport;
      o.kind = (uint8_t)kind;
      id = oplist_add_kinds(e->out, &o, deps, kinds, nd);
      if (k->open_n > 0) {
        k->prev_op = k->open_op;
        k->has_prev = 1;
      }
      k->open_op = id;
      k->open_n = 1;
    }
    if (k->qlen == PE_QCAP) { fail(e, "too many slices in flight (generation order)", k); return; }
    k->q[(k->qhead + k->qlen) % PE_QCAP] = id;
    k->qlen++;
    k->nsent++;
    created[ncreated++] = id;
  }
  /* Consumption: the receiving primitive is done with the slot when its own sends are done, or, for a
   * primitive that only receives, when the data has arrived. */
  for (int i = 0; i < nrecv; i++)
    mark_consumed(e, recv[i], ncreated ? created : &incoming[i], ncreated ? ncreated : 1);
  if (ncreated) {
    memcpy(s->last, created, (size_t)ncreated * sizeof(uint32_t));
    s->nlast = ncreated;
    s->nrecvd = 0;
  } else if (nrecv) {
    /* a receive-only slice does not end the rank's earlier sends: the next send waits for both */
    memcpy(s->recvd, incoming, (size_t)nrecv * sizeof(uint32_t));
    s->nrecvd = nrecv;
  }
}

void pe_prim(struct pe *e, struct pe_stream *s, struct pe_conn **recv, int nrecv, struct pe_conn **send,
             int nsend, long nelem, int elem_size, int slice_per_chunk, size_t step_elems, enum op_kind kind) {
  if (nelem < 0) nelem = 0;
  if (e->proto != PROTO_SIMPLE) {
    pe_slice(e, s, recv, nrecv, send, nsend, (uint64_t)nelem * (uint64_t)elem_size, kind);
    return;
  }
  /* prims_simple.h genericOp: every chunk is SlicePerChunk slices, empty ones still posted. */
  long slice = ((nelem + 16L * slice_per_chunk - 1) / (16L * slice_per_chunk)) * 16;
  long min_slice = (long)(step_elems * (size_t)e->step_per_slice / 32);
  if (slice < min_slice) slice = min_slice;
  long offset = 0;
  for (int i = 0; i < slice_per_chunk; i++) {
    long size = slice < nelem - offset ? slice : nelem - offset;
    if (size < 0) size = 0;
    pe_slice(e, s, recv, nrecv, send, nsend, (uint64_t)size * (uint64_t)elem_size, kind);
    offset += size;
  }
}
