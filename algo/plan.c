/* plan.c — plan_build(): checks the communicator and decision, sizes the call the way NCCL does and
 * hands it to the algorithm's decomposition; per-rank and per-channel totals of an op list. */
#include <string.h>
#include "plan_internal.h"

static int check_comm(const struct comm_info *c, GError **err) {
  if (c->nranks < 1) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has %d ranks", c->nranks);
    return -1;
  }
  if (c->nchannels < 0 || c->nchannels > COMM_MAX_CHANNELS) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has %d channels (at most %d)", c->nchannels, COMM_MAX_CHANNELS);
    return -1;
  }
  if (c->nchannels > 0 && !c->channels) {
    g_set_error(err, PLAN_ERROR, 1, "communicator lists %d channels but none are described", c->nchannels);
    return -1;
  }
  return 0;
}

/* A communicator of one rank runs no algorithm (enqueue.cc, ncclLaunchOneRank): out of place the
 * buffer is copied (cudaMemcpyAsync), in place nothing happens, and a pre-multiplied sum runs a small
 * kernel either way; send/recv to itself copies through NCCL's kernel unless both buffers are one. The
 * copy is one op within the rank; the network model times it by what runs it. */
static void plan_one_rank(const struct comm_decision *d, const struct plan_options *opt, struct oplist *out) {
  size_t bytes = d->count * (size_t)(d->type_size > 0 ? d->type_size : 4);
  if (bytes == 0 || (opt->in_place && !comm_premul_reduction(d))) return;
  struct op o = {0};
  o.step = -1;
  o.payload_bytes = o.wire_bytes = bytes;
  o.protocol = PROTO_SIMPLE;
  o.transport = TRANSPORT_LOCAL;
  o.kind = OPK_RECV;
  oplist_add(out, &o, NULL, 0); /* an empty list cannot be full */
}

int plan_build(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *opt,
               struct oplist *out, GError **err) {
  struct plan_options defaults = {0};
  if (!opt) opt = &defaults;
  oplist_free(out);
  oplist_init(out);
  out->decision = *d;
  out->nranks = c->nranks;
  if (check_comm(c, err)) return -1;
  if (c->nranks == 1) {
    plan_one_rank(d, opt, out);
    return 0;
  }
  if ((unsigned)d->op >= OP_COUNT) {
    g_set_error(err, PLAN_ERROR, 1, "unknown operation %d", (int)d->op);
    return -1;
  }
  /* p2p picks its protocol per peer pair itself (enqueue.cc addP2pToPlan) */
  if (d->op == OP_SENDRECV || d->op == OP_ALLTOALL) return plan_p2p(c, d, opt, out, err);
  int elem;
  size_t count;
  plan_kernel_count(c, d, &elem, &count);
  if (count == 0) return 0; /* NCCL discards empty collectives (enqueue.cc taskAppend) */
  if ((unsigned)d->proto >= PROTO_COUNT) {
    g_set_error(err, PLAN_ERROR, 1, "unknown protocol %d", (int)d->proto);
    return -1;
  }
  typedef int (*algo_builder)(const struct comm_info *, const struct comm_decision *, const struct plan_options *,
                              const struct plan_split *, struct oplist *, GError **);
  algo_builder build;
  switch (d->algo) {
  case ALGO_RING: build = plan_ring; break;
  case ALGO_TREE:
    if (d->op != OP_ALL_REDUCE) {
      g_set_error(err, PLAN_ERROR, 1, "NCCL 2.28 runs Tree only for all_reduce, not %s", comm_op_name(d->op));
      return -1;
    }
    build = plan_tree;
    break;
  case ALGO_NVLS: build = plan_nvls; break;
  case ALGO_NVLS_TREE: build = plan_nvls_tree; break;
  case ALGO_PAT: build = plan_pat; break;
  default:
    g_set_error(err, PLAN_ERROR, 1, "algorithm %s is not decomposed into point-to-point ops yet (%s); "
                "docs/decomposition.md describes the model; force another with NCCL_ALGO",
                comm_algo_name(d->algo), comm_op_name(d->op));
    return -1;
  }
  struct plan_split sp;
  if (plan_collective_split(c, d, &sp, err)) return -1;
  if (opt->trim_loops > 0 && plan_split_trim(c, d, &sp, opt->trim_loops, err)) return -1;
  int rc = build(c, d, opt, &sp, out, err);
  if (!rc && out->full) {
    g_set_error(err, PLAN_ERROR, 3, "the op list outgrew memory or 2^32 ops/dependencies after %zu ops; "
                "use the coarse form (plan_options.coarse, ccsim plan --coarse K)", out->nops);
    rc = -1;
  }
  if (rc) {
    oplist_free(out);
    oplist_init(out);
    out->decision = *d;
    out->nranks = c->nranks;
  }
  return rc;
}

gboolean plan_in_place_differs(const struct comm_info *c, const struct comm_decision *d) {
  if (c->nranks == 1) return !comm_premul_reduction(d); /* plan_one_rank */
  if (d->algo != ALGO_RING) return FALSE;
  return d->op == OP_ALL_GATHER || d->op == OP_BROADCAST;
}

void plan_totals_compute(const struct oplist *l, int nranks, struct plan_totals *t) {
  memset(t, 0, sizeof(*t));
  t->nranks = nranks;
  t->recv_payload = g_new0(uint64_t, nranks > 0 ? nranks : 1);
  t->send_payload = g_new0(uint64_t, nranks > 0 ? nranks : 1);
  t->chan_payload = g_new0(uint64_t, COMM_MAX_CHANNELS);
  t->chan_wire = g_new0(uint64_t, COMM_MAX_CHANNELS);
  t->chan_ops = g_new0(uint64_t, COMM_MAX_CHANNELS);
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    if (o->transport == TRANSPORT_LOCAL) continue; /* moves nothing between ranks */
    if (o->rank_dst >= 0 && o->rank_dst < nranks) t->recv_payload[o->rank_dst] += o->payload_bytes;
    if (o->rank_src >= 0 && o->rank_src < nranks) t->send_payload[o->rank_src] += o->payload_bytes;
    if (o->channel >= 0 && o->channel < COMM_MAX_CHANNELS) {
      t->chan_payload[o->channel] += o->payload_bytes;
      t->chan_wire[o->channel] += o->wire_bytes;
      t->chan_ops[o->channel]++;
    }
    t->payload += o->payload_bytes;
    t->wire += o->wire_bytes;
  }
  for (int ch = 0; ch < COMM_MAX_CHANNELS; ch++)
    if (t->chan_ops[ch]) t->nchannels_used++;
}

void plan_totals_free(struct plan_totals *t) {
  g_free(t->recv_payload);
  g_free(t->send_payload);
  g_free(t->chan_payload);
  g_free(t->chan_wire);
  g_free(t->chan_ops);
  memset(t, 0, sizeof(*t));
}
