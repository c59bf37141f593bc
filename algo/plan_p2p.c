/* plan_p2p.c — Send/Recv and AllToAll as grouped point-to-point transfers on NCCL's p2p channels.
 * Which channels a peer pair uses comes from NCCL's p2p schedule (init.cc ncclP2pSchedule: the round
 * in which a rank meets each peer) and channel base per round (channel.h); the protocol, chunk size,
 * number of channel parts and the bytes of each part follow enqueue.cc addP2pToPlan and device.h
 * ncclP2pPartBounds; each chunk is one step (sendrecv.h: ProtoSimple<1,1> with the p2p chunk size as
 * step, or one LL step). */
#include <string.h>
#include "plan_internal.h"

#define P2P_LL_THRESHOLD 16384   /* NCCL_P2P_LL_THRESHOLD default */
#define P2P_PER_BATCH 8          /* NCCL_MAX_DEV_WORK_P2P_PER_BATCH */

static size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }
static int log2_up(int x) { int l = 0; while ((1 << l) < x) l++; return l; }

static uint32_t fp8_encode(uint32_t x) {
  int log2x = 31 - __builtin_clz(x | 1);
  uint32_t mant = (x >> (log2x >= 3 ? log2x - 3 : 0)) & 7u;
  uint32_t expo = log2x >= 3 ? (uint32_t)(log2x - 2) : 0;
  return expo << 3 | mant;
}
static uint32_t fp8_decode(uint32_t x) {
  uint32_t expo = x >> 3;
  uint32_t mant = (x & 7u) | (expo != 0 ? 8u : 0u);
  if (expo != 0) expo -= 1;
  return mant << expo;
}

static int reverse_bits(int x, int nbits) {
  int r = 0;
  for (int i = 0; i < nbits; i++)
    if (x & (1 << i)) r |= 1 << (nbits - 1 - i);
  return r;
}

struct p2p_layout {
  int n, nnodes, group_size;
  int *local_rank;         /* rank -> index among its node's ranks (by rank id) */
  int *node_first;         /* node -> offset into node_ranks */
  int *node_count;
  int *node_ranks;         /* ranks of each node in rank order */
};

static int gcd(int a, int b) { while (b) { int t = a % b; a = b; b = t; } return a; }

static int layout_init(const struct comm_info *c, struct p2p_layout *L, GError **err) {
  int n = c->nranks;
  memset(L, 0, sizeof(*L));
  if (n < 1 || n > (1 << 24)) {
    g_set_error(err, PLAN_ERROR, 1, "invalid rank count %d", n);
    return -1;
  }
  L->n = n;
  int nn = 1;
  for (int r = 0; r < n; r++) {
    int nd = c->rank_node ? c->rank_node[r] : 0;
    if (nd < 0 || nd >= n) {
      g_set_error(err, PLAN_ERROR, 1, "rank %d is on invalid node %d", r, nd);
      return -1;
    }
    if (nd + 1 > nn) nn = nd + 1;
  }
  L->nnodes = nn;
  L->node_count = g_new0(int, (size_t)nn);
  L->node_first = g_new0(int, (size_t)nn);
  L->node_ranks = g_new(int, (size_t)n);
  L->local_rank = g_new(int, (size_t)n);
  for (int r = 0; r < n; r++) L->node_count[c->rank_node ? c->rank_node[r] : 0]++;
  int max_local = 0;
  for (int k = 0, at = 0; k < nn; k++) {
    if (L->node_count[k] == 0) {
      g_set_error(err, PLAN_ERROR, 1, "node %d has no ranks", k);
      return -1;
    }
    L->node_first[k] = at;
    at += L->node_count[k];
    if (L->node_count[k] > max_local) max_local = L->node_count[k];
  }
  int *fill = g_new0(int, (size_t)nn);
  for (int r = 0; r < n; r++) {
    int nd = c->rank_node ? c->rank_node[r] : 0;
    L->local_rank[r] = fill[nd];
    L->node_ranks[L->node_first[nd] + fill[nd]++] = r;
  }
  g_free(fill);
  int gs = nn > 1 ? P2P_PER_BATCH : max_local;
  for (int k = 0; k < nn; k++)
    if (L->node_count[k] % gs != 0 || L->node_count[k] < gs) gs = gcd(gs, L->node_count[k]);
  L->group_size = gs;
  return 0;
}

static void layout_free(struct p2p_layout *L) {
  g_free(L->local_rank);
  g_free(L->node_first);
  g_free(L->node_count);
  g_free(L->node_ranks);
}

/* Rank `rank`'s p2p schedule (ncclP2pSchedule): for every round, the peer it sends to and the peer it
 * receives from. */
static void rank_schedule(const struct p2p_layout *L, int rank, const int *rank_node, int *send_of, int *recv_of) {
  int gs = L->group_size;
  int my_node = rank_node ? rank_node[rank] : 0;
  int local = L->local_rank[rank] % gs;
  int group = L->local_rank[rank] / gs;
  int ngroups = L->n / gs;
  int pow2 = 1;
  while (pow2 < ngroups) pow2 <<= 1;
  int *g_node = g_new(int, ngroups), *g_local = g_new(int, ngroups);
  int gc = 0;
  for (int k = 0; k < L->nnodes; k++) {
    int ng = L->node_count[k] / gs;
    for (int g = 0; g < ng; g++) {
      g_local[gc] = g * gs;
      g_node[gc] = k;
      gc++;
    }
    if (k < my_node) group += ng;
  }
  unsigned g_round = 0, g_delta = 0;
  int round = 0;
  do {
    if ((int)g_delta < ngroups) {
      int sg = (group + (int)g_delta) % ngroups;
      int rg = (group - (int)g_delta + ngroups) % ngroups;
      for (int delta = 0; delta < gs && round < L->n; delta++) {
        int sl = g_local[sg] + (local + delta) % gs;
        int rl = g_local[rg] + (local - delta + gs) % gs;
        send_of[round] = L->node_ranks[L->node_first[g_node[sg]] + sl];
        recv_of[round] = L->node_ranks[L->node_first[g_node[rg]] + rl];
        round++;
      }
    }
    g_round++;
    g_delta = (g_delta + g_round) & (unsigned)(pow2 - 1);
  } while ((int)g_round != pow2);
  g_free(g_node);
  g_free(g_local);
}

static int channel_base(const struct comm_info *c, const struct p2p_layout *L, int round) {
  int base;
  if (L->nnodes > 1) {
    int ls = L->group_size;
    base = (round / ls) * (int)div_up((size_t)ls, P2P_PER_BATCH) + (round % ls) / P2P_PER_BATCH;
  } else {
    base = round;
  }
  return reverse_bits(base, log2_up(c->p2p_nchannels));
}

/* A channel's work batches at one rank (enqueue.cc addWorkBatchToPlan): p2p works of one round epoch
 * (8 rounds) share a batch and run in parallel; the next batch starts when the block is done with this
 * one. `barrier` holds the last ops of the previous batch's works at this rank and channel. */
#define P2P_BATCH_OPS (2 * P2P_PER_BATCH)
struct p2p_chan_state {
  int epoch;
  int nbarrier, nnext;
  uint32_t barrier[P2P_BATCH_OPS], next[P2P_BATCH_OPS];
};

static struct p2p_chan_state *chan_at(struct p2p_chan_state *st, int nch, int rank, int ch, int epoch) {
  struct p2p_chan_state *x = &st[(size_t)rank * (size_t)nch + (size_t)ch];
  if (epoch != x->epoch) {
    if (x->nnext) {
      memcpy(x->barrier, x->next, (size_t)x->nnext * sizeof(uint32_t));
      x->nbarrier = x->nnext;
    }
    x->nnext = 0;
    x->epoch = epoch;
  }
  return x;
}

static void chan_done(struct p2p_chan_state *x, uint32_t op) {
  if (x->nnext < P2P_BATCH_OPS) x->next[x->nnext++] = op;
}

struct p2p_ctx {
  const struct comm_info *c;
  int coarse, nch_min, nch_max, epoch;
  struct oplist *out;
  struct p2p_chan_state *st;
};

/* One sender -> receiver transfer of `bytes` in `round`, as addP2pToPlan and the sendrecv kernel move
 * it: parts on consecutive p2p channels from the round's base, chunks of one step each. */
static int p2p_pair(struct p2p_ctx *x, const struct p2p_layout *L, int src, int dst, int round, size_t bytes,
                    GError **err) {
  const struct comm_info *c = x->c;
  int base = channel_base(c, L, round);
  enum comm_transport tr = comm_transport_between(c, src, dst);
  gboolean network = tr == TRANSPORT_NET;
  gboolean ll = bytes <= (size_t)x->nch_max * P2P_LL_THRESHOLD;
  enum comm_proto proto = ll ? PROTO_LL : PROTO_SIMPLE;
  size_t step = ll ? plan_buff_size(c, PROTO_LL) / PLAN_NCCL_STEPS
                   : (c->p2p_chunk_size ? c->p2p_chunk_size : plan_buff_size(c, PROTO_SIMPLE) / PLAN_NCCL_STEPS);
  size_t chunk = step;
  if (network) {
    if (!ll && bytes < step) chunk /= 4;
    else if (bytes < 8 * step) chunk /= 2;
  }
  size_t chunk_data = ll ? chunk / 2 : chunk;
  chunk_data = fp8_decode(fp8_encode((uint32_t)chunk_data));
  if (chunk_data == 0) {
    g_set_error(err, PLAN_ERROR, 1, "p2p chunk size rounds to 0 bytes");
    return -1;
  }
  int nparts;
  if (bytes == 0) nparts = 1;
  else {
    size_t minp = c->nnodes > 1 ? step / 2 : step / 8;
    size_t maxp = c->nnodes > 1 ? step : step * 32;
    size_t want = div_up(bytes, minp);
    nparts = want < (size_t)x->nch_min ? (int)want : x->nch_min;
    size_t part = div_up(bytes, (size_t)nparts);
    if (part < minp) part = minp;
    while (part > maxp && nparts <= x->nch_max / 2) {
      nparts *= 2;
      part = div_up(bytes, (size_t)nparts);
    }
  }
  size_t part_bytes = (div_up(bytes, (size_t)nparts) + 4095) / 4096 * 4096;
  int K = x->coarse > 1 ? x->coarse : 1;
  uint32_t deps[2 * P2P_BATCH_OPS + 2];
  uint8_t kinds[2 * P2P_BATCH_OPS + 2];
  for (int part = 0; part < nparts; part++) {
    int ch = (base + part) & (c->p2p_nchannels - 1);
    size_t beg = (size_t)part * part_bytes, end = (size_t)(part + 1) * part_bytes;
    if (beg > bytes) beg = bytes;
    if (end > bytes) end = bytes;
    struct p2p_chan_state *ss = chan_at(x->st, c->p2p_nchannels, src, ch, x->epoch);
    struct p2p_chan_state *rs = chan_at(x->st, c->p2p_nchannels, dst, ch, x->epoch);
    size_t len = end - beg;
    size_t nchunks = len ? div_up(len, chunk_data) : 1;
    size_t nops = div_up(nchunks, (size_t)K);
    uint32_t first = (uint32_t)x->out->nops, last = 0;
    for (size_t j = 0; j < nops; j++) {
      size_t c0 = j * (size_t)K, c1 = MIN(nchunks, c0 + (size_t)K);
      uint64_t payload = 0, wire = 0;
      for (size_t q = c0; q < c1; q++) {
        uint64_t m = MIN(chunk_data, len - MIN(len, q * chunk_data));
        payload += m;
        wire += plan_wire_bytes(proto, m);
      }
      int nd = 0;
      if (j == 0) { /* the block reaches this work after its previous batch */
        for (int i = 0; i < ss->nbarrier; i++) { kinds[nd] = OPD_ORDER; deps[nd++] = ss->barrier[i]; }
      } else {
        kinds[nd] = OPD_ORDER;
        deps[nd++] = first + (uint32_t)(j - 1);
      }
      /* a slot is free again once the receiver consumed the chunk NCCL_STEPS earlier; it consumes
       * only once its own block has reached this batch */
      if (c1 > PLAN_NCCL_STEPS) {
        size_t jf = (c1 - 1 - PLAN_NCCL_STEPS) / (size_t)K;
        if (jf + 1 == j) kinds[0] |= OPD_FLOW; /* the previous op: already the ORDER dependency */
        else if (jf < j) { kinds[nd] = OPD_FLOW; deps[nd++] = first + (uint32_t)jf; }
      }
      if (c0 <= PLAN_NCCL_STEPS && PLAN_NCCL_STEPS < c1)
        for (int i = 0; i < rs->nbarrier; i++) { kinds[nd] = OPD_FLOW; deps[nd++] = rs->barrier[i]; }
      struct op op = {0};
      op.rank_src = src;
      op.rank_dst = dst;
      op.channel = (int16_t)ch;
      op.step = (int32_t)c0;
      op.payload_bytes = payload;
      op.wire_bytes = wire;
      op.protocol = (uint8_t)proto;
      op.transport = (uint8_t)tr;
      op.kind = OPK_SEND;
      last = oplist_add_kinds(x->out, &op, deps, kinds, nd);
    }
    chan_done(ss, last);
    chan_done(rs, last);
  }
  return 0;
}

int plan_p2p(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
             struct oplist *out, GError **err) {
  int n = c->nranks;
  if (c->p2p_nchannels < 1 || (c->p2p_nchannels & (c->p2p_nchannels - 1)) || c->p2p_nchannels > COMM_MAX_CHANNELS) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has %d p2p channels (NCCL uses a power of two, at most %d)",
                c->p2p_nchannels, COMM_MAX_CHANNELS);
    return -1;
  }
  if (c->p2p_nchannels_per_peer < 1) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has %d p2p channels per peer", c->p2p_nchannels_per_peer);
    return -1;
  }
  if (n > 4096) {
    g_set_error(err, PLAN_ERROR, 1, "p2p decomposition is limited to 4096 ranks (got %d)", n);
    return -1;
  }
  struct p2p_layout L;
  if (layout_init(c, &L, err)) {
    layout_free(&L);
    return -1;
  }
  int *send_of = g_new(int, (size_t)n * (size_t)n), *recv_of = g_new(int, (size_t)n * (size_t)n);
  for (int r = 0; r < n; r++) rank_schedule(&L, r, c->rank_node, send_of + (size_t)r * n, recv_of + (size_t)r * n);
  int rc = 0;
  /* the sender and the receiver must meet in the same round */
  for (int r = 0; r < n && !rc; r++)
    for (int k = 0; k < n && !rc; k++) {
      int s = send_of[(size_t)r * n + k];
      if (recv_of[(size_t)s * n + k] != r) {
        g_set_error(err, PLAN_ERROR, 2, "p2p schedule: rank %d sends to %d in round %d, which receives from %d",
                    r, s, k, recv_of[(size_t)s * n + k]);
        rc = -1;
      }
    }
  struct p2p_ctx x = {.c = c, .coarse = o ? o->coarse : 0, .out = out};
  x.nch_max = c->p2p_nchannels_per_peer;
  x.nch_min = x.nch_max;
  while (x.nch_min * n > c->p2p_nchannels && x.nch_min > 1) x.nch_min /= 2;
  x.st = g_new0(struct p2p_chan_state, (size_t)n * (size_t)c->p2p_nchannels);
  int t = d->type_size > 0 ? d->type_size : 4;
  int off = d->root > 0 && d->root < n ? d->root : 1;
  size_t bytes = d->op == OP_SENDRECV ? d->bytes / (size_t)t * (size_t)t : d->bytes / (size_t)t / (size_t)n * (size_t)t;
  /* An empty AllToAll is discarded like any empty collective; self-copies are local (no op). */
  if (d->op == OP_ALLTOALL && bytes == 0) n = 0;
  for (int round = 0; round < n && !rc; round++) {
    x.epoch = round / P2P_PER_BATCH;
    for (int r = 0; r < n && !rc; r++) {
      int s = send_of[(size_t)r * (size_t)c->nranks + round];
      if (s == r) continue;
      if (d->op == OP_SENDRECV && s != (r + off) % n) continue;
      rc = p2p_pair(&x, &L, r, s, round, bytes, err);
    }
  }
  g_free(x.st);
  g_free(send_of);
  g_free(recv_of);
  layout_free(&L);
  return rc;
}
