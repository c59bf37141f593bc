/* plan_pat.c — PAT (Parallel Aggregated Trees) AllGather and ReduceScatter, NCCL's algorithm for one
 * rank per node. A data-movement model of our own, not a transcription of NCCL's step machine
 * (include/collectives.h PatAGAlgorithm/PatRSAlgorithm): rank r is connected, for every dimension
 * d with 2^d < n, to r - 2^d (send) and r + 2^d (receive) (transport.cc ncclTransportPatConnect).
 * AllGather: the block of rank x reaches rank x - s through hops that add the bits of s from the
 * lowest up: op(r, s) goes r -> r - 2^low(s) carrying the block r holds for offset s - 2^low(s) (its
 * own when that is 0), and depends on the op that brought that block to r. ReduceScatter runs the same trees backwards, adding partial sums.
 * Every rank sends and receives n-1 blocks per chunk. NCCL's aggregation of several small blocks
 * into one step is not modelled: one op per block. */
#include <string.h>
#include "plan_internal.h"

static int low_bit(int s) { return __builtin_ctz((unsigned)s); }

int plan_pat(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
             const struct plan_split *sp, struct oplist *out, GError **err) {
  (void)o;
  int n = c->nranks;
  if (d->op != OP_ALL_GATHER && d->op != OP_REDUCE_SCATTER) {
    g_set_error(err, PLAN_ERROR, 1, "PAT runs only all_gather and reduce_scatter, not %s", comm_op_name(d->op));
    return -1;
  }
  if (d->proto != PROTO_SIMPLE) {
    g_set_error(err, PLAN_ERROR, 1, "PAT runs only with protocol SIMPLE, not %s", comm_proto_name(d->proto));
    return -1;
  }
  if (n > 4096) {
    g_set_error(err, PLAN_ERROR, 1, "PAT decomposition is limited to 4096 ranks (got %d)", n);
    return -1;
  }
  int ndims = 0;
  while ((1 << ndims) < n) ndims++;
  gboolean ag = d->op == OP_ALL_GATHER;
  int T = sp->elem_size;
  uint32_t *ids = g_new(uint32_t, (size_t)n * (size_t)n);        /* op of (rank, s) in this chunk */
  uint32_t *last = g_new(uint32_t, (size_t)n * (size_t)(ndims + 1)); /* last op per (rank, dim) */
  int32_t *steps = g_new0(int32_t, (size_t)n * (size_t)(ndims + 1));
  uint32_t deps[40];
  uint8_t kinds[40];
  for (int k = 0; k < sp->nparts; k++) {
    const struct plan_channel_part *p = &sp->parts[k];
    memset(steps, 0, sizeof(int32_t) * (size_t)n * (size_t)(ndims + 1));
    for (size_t eo = 0; eo < p->count; eo += p->chunk_count) {
      uint64_t bytes = (uint64_t)(p->count - eo < p->chunk_count ? p->count - eo : p->chunk_count) * (uint64_t)T;
      for (int it = 1; it < n; it++) {
        int s = ag ? it : n - it;
        int l = low_bit(s);
        for (int r = 0; r < n; r++) {
          int nd = 0;
          size_t slot = (size_t)r * (size_t)(ndims + 1) + (size_t)l;
          if (steps[slot] > 0) { kinds[nd] = OPD_ORDER; deps[nd++] = last[slot]; }
          int kind;
          if (ag) {
            int sp2 = s - (1 << l);
            if (sp2 > 0) {
              kinds[nd] = OPD_DATA;
              deps[nd++] = ids[(size_t)((r + (1 << low_bit(sp2))) % n) * (size_t)n + (size_t)sp2];
            }
            kind = sp2 > 0 ? OPK_RECV_COPY_SEND : OPK_COPY_SEND;
          } else {
            /* partial sums for offset s arrive from r - 2^b for every lower bit b, offsets s + 2^b */
            int fed = 0;
            for (int b = 0; b < l; b++)
              if (s + (1 << b) < n) {
                kinds[nd] = OPD_DATA;
                deps[nd++] = ids[(size_t)((r - (1 << b) + n) % n) * (size_t)n + (size_t)(s + (1 << b))];
                fed++;
              }
            kind = fed ? OPK_RECV_REDUCE_SEND : OPK_SEND;
          }
          struct op op = {0};
          op.rank_src = r;
          op.rank_dst = ag ? (r - (1 << l) + n) % n : (r + (1 << l)) % n;
          op.channel = (int16_t)p->channel;
          op.step = steps[slot]++;
          op.payload_bytes = bytes;
          op.wire_bytes = bytes;
          op.protocol = PROTO_SIMPLE;
          op.transport = (uint8_t)comm_transport_between(c, op.rank_src, op.rank_dst);
          op.kind = (uint8_t)kind;
          ids[(size_t)r * (size_t)n + (size_t)s] = last[slot] = oplist_add_kinds(out, &op, deps, kinds, nd);
        }
      }
    }
  }
  g_free(ids);
  g_free(last);
  g_free(steps);
  return 0;
}
