/* plan_nvls_tree.c — NVLS_TREE AllReduce across NVSwitch nodes (all_reduce.h NVLS_TREE; heads and
 * trees from graph/connect.cc connectNvls). Each node reduces inside its NVSwitch as NVLS does (one
 * head per chunk of a loop of nHeads chunks, in-switch reduction to the head); the heads owning the
 * same chunk on every node form NCCL's double binary tree across nodes (channel c uses tree c % 2):
 * partial sums go up the tree over the network, the root turns them around, and every head sends the
 * result down to its children and multicasts it to its node's ranks. Ops: NVLS reduce ops r -> head
 * and multicast ops head -> r (transport NVLS, charged as in plan_nvls.c), and tree ops between heads
 * (the captured transport, normally NET). */
#include <string.h>
#include "plan_internal.h"
#include "comm_synth.h"

static size_t align_up(size_t a, size_t b) { return (a + b - 1) / b * b; }
static size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

struct node_ranks {
  int nnodes, gpn;
  int *ranks;              /* nnodes x gpn, rank ids of each node in order */
};

static int node_ranks_init(const struct comm_info *c, struct node_ranks *nr, GError **err) {
  int nn = c->nnodes > 0 ? c->nnodes : 1;
  if (c->nranks % nn) {
    g_set_error(err, PLAN_ERROR, 1, "NVLS_TREE needs the same rank count on every node (%d ranks, %d nodes)",
                c->nranks, nn);
    return -1;
  }
  nr->nnodes = nn;
  nr->gpn = c->nranks / nn;
  nr->ranks = g_new(int, (size_t)c->nranks);
  int *fill = g_new0(int, (size_t)nn);
  for (int r = 0; r < c->nranks; r++) {
    int k = c->rank_node ? c->rank_node[r] : r / nr->gpn;
    if (k < 0 || k >= nn || fill[k] >= nr->gpn) {
      g_set_error(err, PLAN_ERROR, 1, "NVLS_TREE: rank %d is on node %d, not one of %d equal nodes", r, k, nn);
      g_free(fill);
      g_free(nr->ranks);
      return -1;
    }
    nr->ranks[k * nr->gpn + fill[k]++] = r;
  }
  g_free(fill);
  return 0;
}

int plan_nvls_tree(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
                   const struct plan_split *sp, struct oplist *out, GError **err) {
  if (d->op != OP_ALL_REDUCE || d->proto != PROTO_SIMPLE) {
    g_set_error(err, PLAN_ERROR, 1, "NVLS_TREE runs all_reduce with protocol SIMPLE only (got %s, %s)",
                comm_op_name(d->op), comm_proto_name(d->proto));
    return -1;
  }
  struct node_ranks nr;
  if (node_ranks_init(c, &nr, err)) return -1;
  int nn = nr.nnodes, gpn = nr.gpn, nheads = plan_nvls_heads(c), T = sp->elem_size;
  if (gpn > 200 || nheads < 1 || (!c->nvls_heads && nheads > gpn)) {
    g_set_error(err, PLAN_ERROR, 1, "NVLS_TREE: %d heads for %d ranks per node is not decomposed", nheads, gpn);
    g_free(nr.ranks);
    return -1;
  }
  int K = o && o->coarse > 1 ? o->coarse : 1;
  int window = (PLAN_NCCL_STEPS + K - 1) / K;
  int *tup = g_new(int, nn), *tdn = g_new(int, 2 * (size_t)nn), *bfs = g_new(int, nn);
  uint32_t *red = g_new(uint32_t, nn), *prev_red = g_new(uint32_t, nn);   /* first local reduce op */
  uint32_t *up = g_new(uint32_t, nn), *prev_up = g_new(uint32_t, nn);     /* op to the tree parent */
  uint32_t *dn = g_new(uint32_t, 2 * (size_t)nn), *prev_dn = g_new(uint32_t, 2 * (size_t)nn);
  uint32_t *mc = g_new(uint32_t, nn), *prev_mc = g_new(uint32_t, nn);     /* first multicast op */
  uint32_t *hist = g_new(uint32_t, (size_t)nn * (size_t)window);
  uint32_t *deps = g_new(uint32_t, (size_t)gpn + 8);
  uint8_t *kinds = g_new(uint8_t, (size_t)gpn + 8);
  int rc = 0;
  for (int q = 0; q < sp->nparts && !rc; q++) {
    const struct plan_channel_part *p = &sp->parts[q];
    int which = p->channel % 2, root = -1, nb = 0;
    for (int k = 0; k < nn; k++) {
      comm_dtree(nn, k, which, &tup[k], &tdn[2 * k], &tdn[2 * k + 1]);
      if (tup[k] < 0) root = k;
    }
    bfs[nb++] = root;
    for (int i = 0; i < nb; i++)
      for (int j = 0; j < 2; j++)
        if (tdn[2 * bfs[i] + j] >= 0 && nb < nn) bfs[nb++] = tdn[2 * bfs[i] + j];
    size_t loop0 = (size_t)nheads * p->chunk_count;
    size_t last_chunk = align_up(div_up(p->count % loop0, (size_t)nheads), 16 / (size_t)T);
    for (int h = 0; h < nheads; h++) {
      uint64_t group = 0;
      for (size_t eo = 0; eo < p->count; group++) {
        uint64_t bytes = 0;
        for (int it = 0; it < K && eo < p->count; it++, eo += loop0) {
          size_t chunk = p->count - eo < loop0 ? last_chunk : p->chunk_count;
          size_t co = eo + (size_t)h * chunk;
          if (co < p->count) bytes += (uint64_t)MIN(chunk, p->count - co) * (uint64_t)T;
        }
        struct op op = {0};
        op.channel = (int16_t)p->channel;
        op.step = (int32_t)(group * (uint64_t)K);
        op.protocol = PROTO_SIMPLE;
        op.payload_bytes = op.wire_bytes = bytes;
        int slot = (int)(group % (uint64_t)window);
#define HEAD(k) (c->nvls_heads ? c->nvls_heads[h * nn + (k)] : nr.ranks[(k) * gpn + h])
#define ADD(id, kd) do { deps[nd] = (id); kinds[nd] = (kd); nd++; } while (0)
        /* 1. in-switch reduction of chunk h on every node */
        for (int k = 0; k < nn; k++) {
          red[k] = (uint32_t)out->nops;
          for (int i = 0; i < gpn; i++) {
            int nd = 0;
            if (group) ADD(prev_red[k] + (uint32_t)i, OPD_ORDER);
            if (group >= (uint64_t)window) ADD(hist[(size_t)k * window + slot], OPD_FLOW);
            op.rank_src = nr.ranks[k * gpn + i];
            op.rank_dst = HEAD(k);
            op.transport = TRANSPORT_NVLS;
            op.kind = OPK_SEND;
            oplist_add_kinds(out, &op, deps, kinds, nd);
          }
        }
        /* 2. partial sums up the tree, leaves first */
        for (int i = nn - 1; i >= 1; i--) {
          int k = bfs[i], nd = 0;
          for (int j = 0; j < gpn; j++) ADD(red[k] + (uint32_t)j, OPD_DATA);
          for (int j = 0; j < 2; j++)
            if (tdn[2 * k + j] >= 0) ADD(up[tdn[2 * k + j]], OPD_DATA);
          if (group) ADD(prev_up[k], OPD_ORDER);
          op.rank_src = HEAD(k);
          op.rank_dst = HEAD(tup[k]);
          op.transport = (uint8_t)comm_transport_between(c, op.rank_src, op.rank_dst);
          op.kind = OPK_RECV_REDUCE_SEND;
          up[k] = oplist_add_kinds(out, &op, deps, kinds, nd);
        }
        /* 3. down the tree and into every node, root first */
        for (int i = 0; i < nb; i++) {
          int k = bfs[i], nd0 = 0, nd;
          if (k == root) {
            for (int j = 0; j < gpn; j++) { deps[nd0] = red[k] + (uint32_t)j; kinds[nd0++] = OPD_DATA; }
            for (int j = 0; j < 2; j++)
              if (tdn[2 * k + j] >= 0) { deps[nd0] = up[tdn[2 * k + j]]; kinds[nd0++] = OPD_DATA; }
          } else {
            int pk = tup[k];
            int ci = tdn[2 * pk] == k ? 0 : 1;
            deps[nd0] = dn[2 * pk + ci];
            kinds[nd0++] = OPD_DATA;
          }
          op.rank_src = HEAD(k);
          op.kind = k == root ? OPK_RECV_REDUCE_COPY_SEND : OPK_RECV_COPY_SEND;
          for (int j = 0; j < 2; j++) {
            if (tdn[2 * k + j] < 0) continue;
            nd = nd0;
            if (group) ADD(prev_dn[2 * k + j], OPD_ORDER);
            op.rank_dst = HEAD(tdn[2 * k + j]);
            op.transport = (uint8_t)comm_transport_between(c, op.rank_src, op.rank_dst);
            dn[2 * k + j] = oplist_add_kinds(out, &op, deps, kinds, nd);
          }
          mc[k] = (uint32_t)out->nops;
          for (int j = 0; j < gpn; j++) {
            nd = nd0;
            if (group) ADD(prev_mc[k] + (uint32_t)j, OPD_ORDER);
            op.rank_dst = nr.ranks[k * gpn + j];
            op.transport = TRANSPORT_NVLS;
            hist[(size_t)k * window + slot] = oplist_add_kinds(out, &op, deps, kinds, nd);
          }
        }
#undef ADD
#undef HEAD
        memcpy(prev_red, red, sizeof(uint32_t) * (size_t)nn);
        memcpy(prev_up, up, sizeof(uint32_t) * (size_t)nn);
        memcpy(prev_dn, dn, sizeof(uint32_t) * 2 * (size_t)nn);
        memcpy(prev_mc, mc, sizeof(uint32_t) * (size_t)nn);
      }
    }
  }
  g_free(tup); g_free(tdn); g_free(bfs);
  g_free(red); g_free(prev_red); g_free(up); g_free(prev_up); g_free(dn); g_free(prev_dn);
  g_free(mc); g_free(prev_mc); g_free(hist); g_free(deps); g_free(kinds);
  g_free(nr.ranks);
  return rc;
}
