/* plan_ring.c — Ring algorithm: AllReduce (reduce-scatter then all-gather around the ring, twice
 * n-1 steps per loop), AllGather, ReduceScatter, and Broadcast/Reduce as chains along the ring from
 * / to the root. Loop structure, chunk indices and slice counts follow NCCL's device code
 * (all_reduce.h, all_gather.h, reduce_scatter.h, broadcast.h, reduce.h runRing). */
#include <string.h>
#include "plan_internal.h"

struct ring_ctx {
  int n;
  int *order;              /* ring positions -> rank */
  int *pos;                /* rank -> ring position */
  struct pe_conn *conn;    /* conn[i]: order[i] -> order[i+1] */
  struct pe_stream *st;    /* per ring position */
};

static int ring_setup(const struct comm_info *c, int ch, struct ring_ctx *r, GError **err) {
  int n = c->nranks;
  r->n = n;
  r->order = c->channels[ch].ring.order;
  if (!r->order) {
    g_set_error(err, PLAN_ERROR, 1, "channel %d has no ring", ch);
    return -1;
  }
  r->pos = g_new(int, n);
  for (int i = 0; i < n; i++) r->pos[i] = -1;
  for (int i = 0; i < n; i++) {
    int rk = r->order[i];
    if (rk < 0 || rk >= n || r->pos[rk] != -1) {
      g_set_error(err, PLAN_ERROR, 1, "channel %d: ring order is not a permutation of 0..%d (rank %d)", ch, n - 1,
                  rk);
      g_free(r->pos);
      return -1;
    }
    r->pos[rk] = i;
  }
  r->conn = g_new(struct pe_conn, n);
  r->st = g_new(struct pe_stream, n);
  for (int i = 0; i < n; i++) {
    pe_conn_init(&r->conn[i], c, r->order[i], r->order[(i + 1) % n]);
    pe_stream_init(&r->st[i]);
  }
  return 0;
}

static void ring_free(struct ring_ctx *r) {
  g_free(r->pos);
  g_free(r->conn);
  g_free(r->st);
}

static size_t align_up(size_t a, size_t b) { return (a + b - 1) / b * b; }
static size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

/* Ring AllReduce: per loop of n chunks, at ring index i: send chunk i-1; recvReduceSend chunks i-2..
 * i-(n-1); recvReduceCopySend chunk i; recvCopySend chunks i-1..i-(n-2); recv chunk i+1. */
static void ring_allreduce(struct pe *e, struct ring_ctx *r, const struct plan_channel_part *p, int T, int spc,
                           size_t step_elems) {
  int n = r->n;
  size_t chunk0 = p->chunk_count;
  size_t loop = (size_t)n * chunk0;
  int nprim = 2 * n - 1;
  for (size_t eo = 0; eo < p->count && !e->failed; eo += loop) {
    size_t rem = p->count - eo;
    size_t chunk = chunk0;
    if (rem < loop) chunk = align_up(div_up(rem, (size_t)n), 16 / (size_t)T);
    for (int prim = 0; prim < nprim; prim++) {
      for (int i = 0; i < n; i++) {
        int c;
        enum op_kind kind;
        int has_recv = prim > 0, has_send = prim < nprim - 1;
        if (prim == 0) { c = i - 1; kind = OPK_SEND; }
        else if (prim < n - 1) { c = i - (prim + 1); kind = OPK_RECV_REDUCE_SEND; }
        else if (prim == n - 1) { c = i; kind = OPK_RECV_REDUCE_COPY_SEND; }
        else if (prim < nprim - 1) { c = i - (prim - n + 1); kind = OPK_RECV_COPY_SEND; }
        else { c = i + 1; kind = OPK_RECV; }
        c = ((c % n) + n) % n;
        long nelem = (long)chunk;
        long left = (long)rem - (long)((size_t)c * chunk);
        if (left < nelem) nelem = left;
        struct pe_conn *in = &r->conn[(i + n - 1) % n], *out = &r->conn[i];
        pe_prim(e, &r->st[i], &in, has_recv, &out, has_send, nelem, T, spc, step_elems, kind);
      }
    }
  }
}

/* AllGather / ReduceScatter: per chunk of the per-rank part, n-1 sends around the ring. */
static void ring_gather_scatter(struct pe *e, struct ring_ctx *r, const struct plan_channel_part *p, int T,
                                int spc, size_t step_elems, gboolean reduce, gboolean in_place) {
  int n = r->n;
  for (size_t eo = 0; eo < p->count && !e->failed; eo += p->chunk_count) {
    long nelem = (long)(p->count - eo < p->chunk_count ? p->count - eo : p->chunk_count);
    for (int prim = 0; prim < n; prim++) {
      for (int i = 0; i < n; i++) {
        enum op_kind kind;
        if (prim == 0) kind = (reduce || in_place) ? OPK_SEND : OPK_COPY_SEND;
        else if (prim < n - 1) kind = reduce ? OPK_RECV_REDUCE_SEND : OPK_RECV_COPY_SEND;
        else kind = reduce ? OPK_RECV_REDUCE_COPY : OPK_RECV;
        struct pe_conn *in = &r->conn[(i + n - 1) % n], *out = &r->conn[i];
        pe_prim(e, &r->st[i], &in, prim > 0, &out, prim < n - 1, nelem, T, spc, step_elems, kind);
      }
    }
  }
}

/* Broadcast: a chain from the root along the ring; Reduce: a chain from the root's successor to the
 * root. Ranks are visited in chain order so every receive follows its send. */
static void ring_chain(struct pe *e, struct ring_ctx *r, const struct plan_channel_part *p, int T, int spc,
                       size_t step_elems, int root, gboolean reduce, gboolean in_place) {
  int n = r->n;
  int start = reduce ? (r->pos[root] + 1) % n : r->pos[root];
  for (size_t eo = 0; eo < p->count && !e->failed; eo += p->chunk_count) {
    long nelem = (long)(p->count - eo < p->chunk_count ? p->count - eo : p->chunk_count);
    for (int k = 0; k < n; k++) {
      int i = (start + k) % n;
      struct pe_conn *in = &r->conn[(i + n - 1) % n], *out = &r->conn[i];
      int first = k == 0, last = k == n - 1;
      enum op_kind kind;
      if (first) kind = (reduce || in_place) ? OPK_SEND : OPK_COPY_SEND;
      else if (last) kind = reduce ? OPK_RECV_REDUCE_COPY : OPK_RECV;
      else kind = reduce ? OPK_RECV_REDUCE_SEND : OPK_RECV_COPY_SEND;
      pe_prim(e, &r->st[i], &in, !first, &out, !last, nelem, T, spc, step_elems, kind);
    }
  }
}

int plan_ring(const struct comm_info *c, const struct comm_decision *d, const struct plan_options *o,
              const struct plan_split *sp, struct oplist *out, GError **err) {
  int chunk_steps, slice_steps;
  plan_func_steps(d->op, &chunk_steps, &slice_steps);
  int spc = 1, sps = 1;
  if (d->proto == PROTO_SIMPLE) { spc = chunk_steps / slice_steps; sps = slice_steps; }
  int T = sp->elem_size;
  size_t step_elems = plan_buff_size(c, PROTO_SIMPLE) / PLAN_NCCL_STEPS / (size_t)T;
  if ((d->op == OP_BROADCAST || d->op == OP_REDUCE) && (d->root < 0 || d->root >= c->nranks)) {
    g_set_error(err, PLAN_ERROR, 1, "root %d is not a rank of this %d-rank communicator", d->root, c->nranks);
    return -1;
  }
  for (int k = 0; k < sp->nparts; k++) {
    const struct plan_channel_part *p = &sp->parts[k];
    if (p->channel >= c->nchannels) {
      g_set_error(err, PLAN_ERROR, 1, "decision uses channel %d but the communicator has %d", p->channel,
                  c->nchannels);
      return -1;
    }
    struct ring_ctx r;
    if (ring_setup(c, p->channel, &r, err)) return -1;
    struct pe e;
    pe_init(&e, out, d->proto, sps, o->coarse, err);
    e.channel = p->channel;
    /* one thread block runs a channel's primitives in turn, so the receive-only step that ends each
     * loop (Simple: a copy from NCCL's FIFO to the user's output; LL and LL128: reading the flagged
     * lines and storing their data) delays the next send */
    e.local_receive = 1;
    switch (d->op) {
    case OP_ALL_REDUCE: ring_allreduce(&e, &r, p, T, spc, step_elems); break;
    case OP_ALL_GATHER: ring_gather_scatter(&e, &r, p, T, spc, step_elems, FALSE, o->in_place); break;
    case OP_REDUCE_SCATTER: ring_gather_scatter(&e, &r, p, T, spc, step_elems, TRUE, o->in_place); break;
    case OP_BROADCAST: ring_chain(&e, &r, p, T, spc, step_elems, d->root, FALSE, o->in_place); break;
    case OP_REDUCE: ring_chain(&e, &r, p, T, spc, step_elems, d->root, TRUE, o->in_place); break;
    default:
      g_set_error(err, PLAN_ERROR, 1, "%s has no ring form", comm_op_name(d->op));
      e.failed = 1;
    }
    ring_free(&r);
    if (e.failed) return -1;
  }
  return 0;
}
