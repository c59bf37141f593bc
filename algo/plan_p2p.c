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

/* The round in which `rank` sends to `peer` (want_send) or receives from it, per ncclP2pSchedule. */
static int p2p_round(const struct p2p_layout *L, int rank, int peer, gboolean want_send, const int *rank_node) {
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
  int round = 0, found = -1;
  do {
    if ((int)g_delta < ngroups) {
      int sg = (group + (int)g_delta) % ngroups;
      int rg = (group - (int)g_delta + ngroups) % ngroups;
      for (int delta = 0; delta < gs; delta++) {
        int sl = g_local[sg] + (local + delta) % gs;
        int rl = g_local[rg] + (local - delta + gs) % gs;
        int s = L->node_ranks[L->node_first[g_node[sg]] + sl];
        int r = L->node_ranks[L->node_first[g_node[rg]] + rl];
        if (found < 0 && (want_send ? s : r) == peer) found = round;
        round++;
      }
    }
    g_round++;
    g_delta = (g_delta + g_round) & (unsigned)(pow2 - 1);
  } while ((int)g_round != pow2);
  g_free(g_node);
  g_free(g_local);
  return found;
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

/* One sender -> receiver transfer of `bytes`, as addP2pToPlan and the sendrecv kernel move it. */
static int p2p_pair(const struct comm_info *c, const struct p2p_layout *L, const struct plan_options *o, int src,
                    int dst, size_t bytes, int nch_min, int nch_max, struct oplist *out, GError **err) {
  int sround = p2p_round(L, src, dst, TRUE, c->rank_node);
  int rround = p2p_round(L, dst, src, FALSE, c->rank_node);
  if (sround < 0 || sround != rround) {
    g_set_error(err, PLAN_ERROR, 2, "p2p schedule: rank %d sends to %d in round %d but %d receives in round %d",
                src, dst, sround, dst, rround);
    return -1;
  }
  int base = channel_base(c, L, sround);
  enum comm_transport tr = comm_transport_between(c, src, dst);
  gboolean network = tr == TRANSPORT_NET;
  gboolean ll = bytes <= (size_t)nch_max * P2P_LL_THRESHOLD;
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
    nparts = want < (size_t)nch_min ? (int)want : nch_min;
    size_t part = div_up(bytes, (size_t)nparts);
    if (part < minp) part = minp;
    while (part > maxp && nparts <= nch_max / 2) {
      nparts *= 2;
      part = div_up(bytes, (size_t)nparts);
    }
  }
  size_t part_bytes = (div_up(bytes, (size_t)nparts) + 4095) / 4096 * 4096;
  for (int part = 0; part < nparts; part++) {
    int ch = (base + part) & (c->p2p_nchannels - 1);
    size_t beg = (size_t)part * part_bytes, end = (size_t)(part + 1) * part_bytes;
    if (beg > bytes) beg = bytes;
    if (end > bytes) end = bytes;
    struct pe e;
    pe_init(&e, out, proto, 1, o->coarse, err);
    e.channel = ch;
    struct pe_conn k;
    pe_conn_init(&k, c, src, dst);
    struct pe_stream ss, rs;
    pe_stream_init(&ss);
    pe_stream_init(&rs);
    struct pe_conn *kp = &k;
    size_t cur = 0, len = end - beg;
    do {
      size_t m = len - cur < chunk_data ? len - cur : chunk_data;
      pe_slice(&e, &ss, NULL, 0, &kp, 1, m, OPK_SEND);
      pe_slice(&e, &rs, &kp, 1, NULL, 0, 0, OPK_RECV);
      cur += m;
    } while (cur < len);
    if (e.failed) return -1;
  }
  return 0;
}

int plan_p2p(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
             struct oplist *out, GError **err) {
  int n = c->nranks;
  if (c->p2p_nchannels < 1 || (c->p2p_nchannels & (c->p2p_nchannels - 1))) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has %d p2p channels (NCCL uses a power of two >= 1)",
                c->p2p_nchannels);
    return -1;
  }
  if (c->p2p_nchannels_per_peer < 1) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has %d p2p channels per peer", c->p2p_nchannels_per_peer);
    return -1;
  }
  struct p2p_layout L;
  if (layout_init(c, &L, err)) {
    layout_free(&L);
    return -1;
  }
  int nch_max = c->p2p_nchannels_per_peer;
  int nch_min = nch_max;
  while (nch_min * n > c->p2p_nchannels && nch_min > 1) nch_min /= 2;
  int t = d->type_size > 0 ? d->type_size : 4;
  int rc = 0;
  if (d->op == OP_SENDRECV) {
    int off = d->root > 0 && d->root < n ? d->root : 1;
    size_t bytes = d->bytes / (size_t)t * (size_t)t;
    for (int r = 0; r < n && !rc; r++) rc = p2p_pair(c, &L, o, r, (r + off) % n, bytes, nch_min, nch_max, out, err);
  } else {
    size_t per_peer = d->bytes / (size_t)t / (size_t)n * (size_t)t;
    /* An empty AllToAll is discarded like any empty collective; self-copies are local. */
    if (per_peer > 0)
      for (int r = 0; r < n && !rc; r++)
        for (int s = 0; s < n && !rc; s++)
          if (s != r) rc = p2p_pair(c, &L, o, r, s, per_peer, nch_min, nch_max, out, err);
  }
  layout_free(&L);
  return rc;
}
