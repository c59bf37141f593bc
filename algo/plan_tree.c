/* plan_tree.c — Tree AllReduce: per chunk, a reduction from the leaves up to the root and a broadcast
 * from the root back down, pipelined over chunks. NCCL 2.28 runs the two halves on separate thread
 * groups at every non-root rank (all_reduce.h runTreeSplit), so each rank has an "up" and a "down"
 * program; the root does recvReduceCopySend (children up -> children down) in one primitive. The
 * trees per channel are NCCL's (two complementary binary trees across nodes, chains inside a node). */
#include <string.h>
#include "plan_internal.h"

struct tree_ctx {
  int n, root;
  const struct comm_tree_node *t;
  int *bfs;                /* ranks, root first, parents before children */
  struct pe_conn *up;      /* up[r]: r -> parent(r) */
  struct pe_conn *down;    /* down[r]: parent(r) -> r */
  struct pe_stream *sup, *sdown;
};

static int tree_setup(const struct comm_info *c, int ch, struct tree_ctx *x, GError **err) {
  int n = c->nranks;
  memset(x, 0, sizeof(*x));
  x->n = n;
  x->t = c->channels[ch].tree;
  if (!x->t) {
    g_set_error(err, PLAN_ERROR, 1, "channel %d has no tree", ch);
    return -1;
  }
  x->root = -1;
  for (int r = 0; r < n; r++) {
    int u = x->t[r].up;
    if (u == -1) {
      if (x->root != -1) {
        g_set_error(err, PLAN_ERROR, 1, "channel %d: tree has two roots (ranks %d and %d)", ch, x->root, r);
        return -1;
      }
      x->root = r;
    } else if (u < 0 || u >= n || u == r) {
      g_set_error(err, PLAN_ERROR, 1, "channel %d: rank %d has invalid tree parent %d", ch, r, u);
      return -1;
    }
  }
  if (x->root < 0) {
    g_set_error(err, PLAN_ERROR, 1, "channel %d: tree has no root", ch);
    return -1;
  }
  x->bfs = g_new(int, n);
  int nb = 0;
  x->bfs[nb++] = x->root;
  for (int i = 0; i < nb; i++) {
    int r = x->bfs[i];
    for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) {
      int d = x->t[r].down[k];
      if (d == -1) continue;
      if (d < 0 || d >= n || x->t[d].up != r || nb >= n) {
        g_set_error(err, PLAN_ERROR, 1, "channel %d: tree child %d of rank %d does not name it as parent", ch, d, r);
        g_free(x->bfs);
        return -1;
      }
      x->bfs[nb++] = d;
    }
  }
  if (nb != n) {
    g_set_error(err, PLAN_ERROR, 1, "channel %d: tree reaches %d of %d ranks", ch, nb, n);
    g_free(x->bfs);
    return -1;
  }
  x->up = g_new(struct pe_conn, n);
  x->down = g_new(struct pe_conn, n);
  x->sup = g_new(struct pe_stream, n);
  x->sdown = g_new(struct pe_stream, n);
  for (int r = 0; r < n; r++) {
    int u = x->t[r].up;
    pe_conn_init(&x->up[r], c, r, u < 0 ? r : u);
    pe_conn_init(&x->down[r], c, u < 0 ? r : u, r);
    pe_stream_init(&x->sup[r]);
    pe_stream_init(&x->sdown[r]);
  }
  return 0;
}

static void tree_free(struct tree_ctx *x) {
  g_free(x->bfs);
  g_free(x->up);
  g_free(x->down);
  g_free(x->sup);
  g_free(x->sdown);
}

static int children(const struct tree_ctx *x, int r, struct pe_conn **up_of, struct pe_conn **down_of) {
  int nc = 0;
  for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) {
    int d = x->t[r].down[k];
    if (d == -1) continue;
    up_of[nc] = &x->up[d];
    down_of[nc] = &x->down[d];
    nc++;
  }
  return nc;
}

int plan_tree(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
              const struct plan_split *sp, struct oplist *out, GError **err) {
  int T = sp->elem_size;
  size_t step_elems = plan_buff_size(c, PROTO_SIMPLE) / PLAN_NCCL_STEPS / (size_t)T;
  for (int k = 0; k < sp->nparts; k++) {
    const struct plan_channel_part *p = &sp->parts[k];
    if (p->channel >= c->nchannels) {
      g_set_error(err, PLAN_ERROR, 1, "decision uses channel %d but the communicator has %d", p->channel,
                  c->nchannels);
      return -1;
    }
    struct tree_ctx x;
    if (tree_setup(c, p->channel, &x, err)) return -1;
    struct pe e;
    /* Tree uses ProtoSimple<1,1>: one slice of one step per chunk. */
    pe_init(&e, out, d->proto, 1, o->coarse, err);
    e.channel = p->channel;
    struct pe_conn *cu[PE_MAXFAN], *cd[PE_MAXFAN];
    for (size_t eo = 0; eo < p->count && !e.failed; eo += p->chunk_count) {
      long nelem = (long)(p->count - eo < p->chunk_count ? p->count - eo : p->chunk_count);
      for (int i = x.n - 1; i >= 0; i--) { /* reduce: children before parents */
        int r = x.bfs[i];
        int nc = children(&x, r, cu, cd);
        struct pe_conn *upc = &x.up[r];
        if (r == x.root)
          pe_prim(&e, &x.sup[r], cu, nc, cd, nc, nelem, T, 1, step_elems, OPK_RECV_REDUCE_COPY_SEND);
        else if (nc == 0)
          pe_prim(&e, &x.sup[r], NULL, 0, &upc, 1, nelem, T, 1, step_elems, OPK_SEND);
        else
          pe_prim(&e, &x.sup[r], cu, nc, &upc, 1, nelem, T, 1, step_elems, OPK_RECV_REDUCE_SEND);
      }
      for (int i = 1; i < x.n; i++) { /* broadcast: parents before children */
        int r = x.bfs[i];
        int nc = children(&x, r, cu, cd);
        struct pe_conn *dnc = &x.down[r];
        pe_prim(&e, &x.sdown[r], &dnc, 1, cd, nc, nelem, T, 1, step_elems, nc ? OPK_RECV_COPY_SEND : OPK_RECV);
      }
    }
    tree_free(&x);
    if (e.failed) return -1;
  }
  return 0;
}
