/* comm_synth.c — NCCL-shaped synthetic communicators (see comm_synth.h). */
#include <string.h>
#include "comm_synth.h"

/* graph/trees.cc ncclGetBtree: binary tree over nranks rooted at 0, children by low bits. */
static void btree(int n, int rank, int *up, int *d0, int *d1) {
  int bit;
  for (bit = 1; bit < n; bit <<= 1)
    if (bit & rank) break;
  if (rank == 0) {
    *up = -1;
    *d0 = -1;
    *d1 = n > 1 ? bit >> 1 : -1;
    return;
  }
  int u = (rank ^ bit) | (bit << 1);
  if (u >= n) u = rank ^ bit;
  *up = u;
  int low = bit >> 1;
  *d0 = low == 0 ? -1 : rank - low;
  int x = low == 0 ? -1 : rank + low;
  while (x >= n) {
    x = low == 0 ? -1 : rank + low;
    low >>= 1;
  }
  *d1 = x;
}

/* Second tree: mirrored for an even node count, shifted by one for an odd one. */
void comm_dtree(int n, int rank, int which, int *up, int *d0, int *d1) {
  if (which == 0) { btree(n, rank, up, d0, d1); return; }
  int u, a, b;
  if (n % 2 == 1) {
    btree(n, (rank - 1 + n) % n, &u, &a, &b);
    *up = u == -1 ? -1 : (u + 1) % n;
    *d0 = a == -1 ? -1 : (a + 1) % n;
    *d1 = b == -1 ? -1 : (b + 1) % n;
  } else {
    btree(n, n - 1 - rank, &u, &a, &b);
    *up = u == -1 ? -1 : n - 1 - u;
    *d0 = a == -1 ? -1 : n - 1 - a;
    *d1 = b == -1 ? -1 : n - 1 - b;
  }
}

void comm_synth_build(struct comm_info *c, int nnodes, int gpn, int nchannels) {
  memset(c, 0, sizeof(*c));
  if (nnodes < 1) nnodes = 1;
  if (gpn < 1) gpn = 1;
  if (nchannels < 1) nchannels = 1;
  if (nchannels > COMM_MAX_CHANNELS) nchannels = COMM_MAX_CHANNELS;
  int n = nnodes * gpn;
  c->nranks = n;
  c->nnodes = nnodes;
  c->rank_node = g_new(int, (size_t)n);
  c->rank_dev = g_new(int, (size_t)n);
  for (int r = 0; r < n; r++) {
    c->rank_node[r] = r / gpn;
    c->rank_dev[r] = r % gpn;
  }
  c->nchannels = nchannels;
  c->nvls_channels = gpn > 2 ? 16 : 0; /* as if the nodes had NVSwitches */
  c->p2p_nchannels = 1;
  while (c->p2p_nchannels < nchannels) c->p2p_nchannels <<= 1;
  /* paths.cc: per-peer channels are the fewest NCCL would open to any peer: many over NVLink, 2
   * (NCCL_NCHANNELS_PER_NET_PEER) over the network */
  c->p2p_nchannels_per_peer = nnodes > 1 && c->p2p_nchannels > 2 ? 2 : c->p2p_nchannels;
  c->p2p_chunk_size = nnodes > 1 ? 131072 : 524288;
  c->channels = g_new0(struct comm_channel, (size_t)nchannels);
  for (int ch = 0; ch < nchannels; ch++) {
    struct comm_channel *cc = &c->channels[ch];
    cc->ring.order = g_new(int, (size_t)n);
    for (int i = 0; i < n; i++) cc->ring.order[i] = i;
    cc->tree = g_new(struct comm_tree_node, (size_t)n);
    int which = nnodes > 1 && ch >= (nchannels + 1) / 2 ? 1 : 0;
    for (int r = 0; r < n; r++) {
      struct comm_tree_node *t = &cc->tree[r];
      t->up = -1;
      for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) t->down[k] = -1;
      int node = r / gpn, local = r % gpn;
      /* chain inside the node: local 0 is the node's head */
      if (local > 0) t->up = r - 1;
      if (local < gpn - 1) t->down[0] = r + 1;
      if (local == 0 && nnodes > 1) {
        int up, d0, d1;
        comm_dtree(nnodes, node, which, &up, &d0, &d1);
        if (up >= 0) t->up = up * gpn;
        int k = local < gpn - 1 ? 1 : 0;
        if (d0 >= 0) t->down[k++] = d0 * gpn;
        if (d1 >= 0) t->down[k++] = d1 * gpn;
      }
    }
  }
  c->transport = g_new(int8_t, (size_t)n * (size_t)n);
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++)
      c->transport[(size_t)a * (size_t)n + (size_t)b] =
          (int8_t)(c->rank_node[a] == c->rank_node[b] ? TRANSPORT_P2P : TRANSPORT_NET);
}
