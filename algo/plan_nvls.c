/* plan_nvls.c — NVLS (NVLink SHARP) AllReduce inside one NVSwitch node (all_reduce.h, oneNode path).
 * Every rank is a head and owns one chunk of each loop of nHeads chunks. The scatter and gather
 * halves copy between the user buffers and the rank's own multicast-backed buffer (local memory, no
 * ops). The head's reduce group loads its chunk through the switch with an in-switch reduction
 * (multimem.ld_reduce: every rank's memory is read once, the head receives one reduced chunk) and
 * stores the result with a multicast store (multimem.st: the head sends one chunk, the switch writes
 * it to every rank). Ops model this as transport NVLS: reduce ops r -> head (one per rank, the
 * head's own included) and multicast ops head -> r; a simulator charges one payload at the head for
 * all reduce ops of one (channel, step, rank_dst) and one payload at the head for all multicast ops
 * of one (channel, step, rank_src). */
#include <string.h>
#include "plan_internal.h"

static size_t align_up(size_t a, size_t b) { return (a + b - 1) / b * b; }
static size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

int plan_nvls(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
              const struct plan_split *sp, struct oplist *out, GError **err) {
  if (d->op != OP_ALL_REDUCE || (c->nnodes > 1)) {
    g_set_error(err, PLAN_ERROR, 1, "NVLS is decomposed for single-node all_reduce only (got %s on %d nodes)",
                comm_op_name(d->op), c->nnodes);
    return -1;
  }
  if (d->proto != PROTO_SIMPLE) {
    g_set_error(err, PLAN_ERROR, 1, "NVLS runs only with protocol SIMPLE, not %s", comm_proto_name(d->proto));
    return -1;
  }
  int n = c->nranks, T = sp->elem_size;
  if (n > 250) {
    g_set_error(err, PLAN_ERROR, 1, "NVLS with %d ranks in one node is beyond what the op list encodes", n);
    return -1;
  }
  /* coarse form: K consecutive loops of a head become one reduce and one multicast op per rank */
  int K = o && o->coarse > 1 ? o->coarse : 1;
  size_t nheads = (size_t)n;
  uint32_t *prev_red = g_new(uint32_t, n);   /* head's previous reduce op from each rank */
  uint32_t *prev_bc = g_new(uint32_t, n);    /* head's previous multicast op to each rank */
  uint32_t *hist = g_new(uint32_t, PLAN_NCCL_STEPS); /* head's last multicast op of the last 8 groups */
  uint32_t *deps = g_new(uint32_t, 2 * n + 2);
  uint8_t *kinds = g_new(uint8_t, 2 * n + 2);
  int window = (PLAN_NCCL_STEPS + K - 1) / K; /* buffer slots, in groups of K loops */
  for (int k = 0; k < sp->nparts; k++) {
    const struct plan_channel_part *p = &sp->parts[k];
    size_t loop0 = nheads * p->chunk_count;
    size_t rem = p->count % loop0;
    size_t last_chunk = align_up(div_up(rem, nheads), 16384 / (size_t)T);
    for (int h = 0; h < n; h++) {
      int have_prev = 0;
      uint64_t group = 0;
      size_t eo = 0;
      while (eo < p->count) {
        uint64_t bytes = 0;
        for (int it = 0; it < K && eo < p->count; it++) {
          size_t chunk = p->count - eo < loop0 ? last_chunk : p->chunk_count;
          size_t co = eo + (size_t)h * chunk;
          if (co < p->count) bytes += (uint64_t)(p->count - co < chunk ? p->count - co : chunk) * (uint64_t)T;
          eo += loop0;
        }
        struct op op = {0};
        op.channel = (int16_t)p->channel;
        op.step = (int32_t)(group * (uint64_t)K);
        op.protocol = PROTO_SIMPLE;
        op.transport = TRANSPORT_NVLS;
        op.payload_bytes = bytes;
        op.wire_bytes = bytes;
        uint32_t first_red = (uint32_t)out->nops;
        for (int r = 0; r < n; r++) {
          int nd = 0;
          if (have_prev) { kinds[nd] = OPD_ORDER; deps[nd++] = prev_red[r]; }
          if (group >= (uint64_t)window) { kinds[nd] = OPD_FLOW; deps[nd++] = hist[group % (uint64_t)window]; }
          op.rank_src = r;
          op.rank_dst = h;
          op.kind = OPK_SEND;
          prev_red[r] = oplist_add_kinds(out, &op, deps, kinds, nd);
        }
        uint32_t last_bc = 0;
        for (int r = 0; r < n; r++) {
          int nd = 0;
          for (int q = 0; q < n; q++) { kinds[nd] = OPD_DATA; deps[nd++] = first_red + (uint32_t)q; }
          if (have_prev) { kinds[nd] = OPD_ORDER; deps[nd++] = prev_bc[r]; }
          op.rank_src = h;
          op.rank_dst = r;
          op.kind = OPK_RECV_REDUCE_COPY_SEND;
          prev_bc[r] = last_bc = oplist_add_kinds(out, &op, deps, kinds, nd);
        }
        hist[group % (uint64_t)window] = last_bc;
        have_prev = 1;
        group++;
      }
    }
  }
  g_free(prev_red);
  g_free(prev_bc);
  g_free(hist);
  g_free(deps);
  g_free(kinds);
  return 0;
}
