/* plan_internal.h — shared by the plan_*.c files only: NCCL sizing helpers and the slice engine
 * that turns per-rank primitive sequences into ops with their dependencies. */
#ifndef CCSIM_ALGO_PLAN_INTERNAL_H
#define CCSIM_ALGO_PLAN_INTERNAL_H

#include "plan.h"

#define PE_MAXFAN COMM_MAX_TREE_ARITY
#define PE_QCAP 64   /* in-flight slices a connection may hold while the generator interleaves ranks */

void plan_func_steps(enum comm_op op, int *chunk_steps, int *slice_steps);
size_t plan_buff_size(const struct comm_info *c, enum comm_proto p);
int plan_nvls_heads(const struct comm_info *c);
size_t plan_loop_elems(const struct comm_info *c, const struct comm_decision *d, const struct plan_channel_part *p);
/* Removes `loops` whole device loops from every part of sp (plan_options.trim_loops); -1 with err when the
 * shortest part has no more than that. */
int plan_split_trim(const struct comm_info *c, const struct comm_decision *d, struct plan_split *sp, size_t loops,
                    GError **err);
void plan_kernel_count(const struct comm_info *c, const struct comm_decision *d, int *elem_size, size_t *count);

/* One directed connection (src -> dst) of one channel: the sender's step counter, the ops that
 * carry slices not yet consumed by the receiver (FIFO), and for the last NCCL_STEPS slices the
 * receiver consumed, the ops whose completion freed their buffer slot (flow control). */
struct pe_conn {
  int src, dst;
  uint8_t transport;
  uint64_t nsent, nrecv;
  uint32_t q[PE_QCAP];
  uint32_t qhead, qlen;
  uint32_t mark[PLAN_NCCL_STEPS][PE_MAXFAN];
  uint8_t nmark[PLAN_NCCL_STEPS];
  /* coarse form: the op slices are being merged into, and how many it holds */
  uint32_t open_op;
  int open_n;
  uint32_t prev_op;        /* the op before open_op on this connection (valid when has_prev) */
  int has_prev;
};

/* A sequential program at one rank (a thread group running primitives in order). */
struct pe_stream {
  uint32_t last[PE_MAXFAN];   /* the rank's latest sends on this channel */
  int nlast;
  uint32_t recvd[PE_MAXFAN];  /* what a receive-only slice after them waited for */
  int nrecvd;
  uint32_t open_local;        /* coarse form: the local receive op slices are being merged into */
  int open_local_n;
};

struct pe {
  struct oplist *out;
  enum comm_proto proto;
  int channel;
  int step_per_slice;      /* NCCL steps one slice occupies (Simple: StepPerSlice; LL/LL128: 1) */
  int window;              /* slices a sender may run ahead of its receiver: NCCL_STEPS/step_per_slice */
  int coarse;              /* merge this many consecutive slices of a connection into one op */
  int local_receive;       /* receive-only slices become TRANSPORT_LOCAL copy ops (oplist.h) */
  GError **err;
  int failed;
};

void pe_init(struct pe *e, struct oplist *out, enum comm_proto proto, int step_per_slice, int coarse,
             GError **err);
void pe_conn_init(struct pe_conn *k, const struct comm_info *c, int src, int dst);
void pe_stream_init(struct pe_stream *s);

/* One slice of one primitive at one rank: receives one slice from each of recv[0..nrecv) and sends
 * `bytes` of payload to each of send[0..nsend), in NCCL's order. `kind` is the primitive. */
void pe_slice(struct pe *e, struct pe_stream *s, struct pe_conn **recv, int nrecv, struct pe_conn **send,
              int nsend, uint64_t bytes, enum op_kind kind);

/* A whole primitive call on `nelem` elements of `elem_size` bytes: split into slices exactly as the
 * protocol does (Simple: SlicePerChunk slices of NCCL's slice size, empty ones included; LL/LL128:
 * one step). */
void pe_prim(struct pe *e, struct pe_stream *s, struct pe_conn **recv, int nrecv, struct pe_conn **send,
             int nsend, long nelem, int elem_size, int slice_per_chunk, size_t step_elems, enum op_kind kind);

int plan_ring(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
              const struct plan_split *sp, struct oplist *out, GError **err);
int plan_tree(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
              const struct plan_split *sp, struct oplist *out, GError **err);
int plan_nvls(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
              const struct plan_split *sp, struct oplist *out, GError **err);
int plan_nvls_tree(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
                   const struct plan_split *sp, struct oplist *out, GError **err);
int plan_pat(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
             const struct plan_split *sp, struct oplist *out, GError **err);
int plan_p2p(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
             struct oplist *out, GError **err);

#endif
