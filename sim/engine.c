/* engine.c — discrete-event execution of an op DAG with max-min fair bandwidth sharing (see engine.h).
 *
 * Owns: the event heap, the per-op dependency counters, the active transfers and the per-resource
 * lists of transfers crossing them. Every structure is local to one engine_run call.
 */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ccsim-engine-error-quark, engine_error)

enum ev_kind { EV_START = 0, EV_FLOW_END = 1, EV_DONE = 2 };

struct event {
  uint64_t t;
  uint64_t seq;   /* insertion order: ties at one instant are handled first-in first-out */
  uint32_t idx;   /* transfer slot */
  uint32_t ver;   /* EV_FLOW_END: the rate version it was computed for */
  uint8_t kind;
};

struct heap {
  struct event *a;
  size_t n, cap;
  uint64_t seq;
};

static inline int ev_before(const struct event *x, const struct event *y) {
  return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static void heap_push(struct heap *h, uint64_t t, uint8_t kind, uint32_t idx, uint32_t ver) {
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 1024;
    h->a = g_realloc_n(h->a, h->cap, sizeof *h->a);
  }
  struct event e = {t, h->seq++, idx, ver, kind};
  size_t i = h->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_before(&e, &h->a[p])) break;
    h->a[i] = h->a[p];
    i = p;
  }
  h->a[i] = e;
}

static struct event heap_pop(struct heap *h) {
  struct event top = h->a[0];
  struct event last = h->a[--h->n];
  size_t i = 0, n = h->n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && ev_before(&h->a[c + 1], &h->a[c])) c++;
    if (!ev_before(&h->a[c], &last)) break;
    h->a[i] = h->a[c];
    i = c;
  }
  if (n) h->a[i] = last;
  return top;
}

/* One op in flight: from ready (deps met) to done. */
struct xfer {
  uint32_t op;
  uint32_t ver;
  struct engine_cost cost;
  int slot[ENGINE_MAX_RES];  /* position of this transfer in each resource's list */
  double remaining;          /* bytes still to move */
  double rate;               /* bytes per ps, current */
  uint64_t last_t;           /* when remaining was last brought up to date */
  uint64_t ready_t, data_t;
  uint32_t mark;             /* component search epoch */
  uint8_t fixed, active, blocked;
  uint8_t second;            /* moving the part after the release point */
  uint8_t sched;             /* an EV_FLOW_END of the current version is pending, at sched_t */
  uint64_t sched_t;
  double rest;               /* bytes of that part */
  uint32_t next_free;
};

struct resource {
  double capacity;
  uint32_t *flows;
  int n, cap;
  uint32_t mark;
  int dirty;
  double rem;                /* progressive filling scratch */
  int unfixed;
};

struct run {
  const struct oplist *l;
  const struct engine_config *cfg;
  struct engine_stats *st;
  struct heap heap;
  uint32_t *pending;         /* deps not yet met, per op */
  uint32_t *succ_at, *succ;  /* successors (CSR) */
  uint8_t *early;            /* per successor edge: released when the producer's data started */
  uint32_t *open_in;         /* per op: cut-through producers not finished yet */
  uint32_t *xfer_of;         /* per op: its transfer slot while in flight */
  struct xfer *x;
  size_t nx, capx;
  uint32_t free_head;
  struct resource *res;
  uint32_t *dirty;           /* resources touched in the current instant */
  int ndirty;
  uint32_t epoch;
  /* scratch for one recomputation */
  GArray *comp_res, *comp_flows, *newrate;
  size_t nactive;
};

#define NO_SLOT UINT32_MAX

static uint32_t xfer_alloc(struct run *r) {
  if (r->free_head != NO_SLOT) {
    uint32_t i = r->free_head;
    r->free_head = r->x[i].next_free;
    return i;
  }
  if (r->nx == r->capx) {
    r->capx = r->capx ? r->capx * 2 : 256;
    r->x = g_realloc_n(r->x, r->capx, sizeof *r->x);
  }
  return (uint32_t)r->nx++;
}

static void xfer_free(struct run *r, uint32_t i) {
  r->x[i].next_free = r->free_head;
  r->free_head = i;
}

static void mark_dirty(struct run *r, int res) {
  if (r->res[res].dirty) return;
  r->res[res].dirty = 1;
  r->dirty[r->ndirty++] = (uint32_t)res;
}

static void res_add(struct run *r, uint32_t xi, int k) {
  struct xfer *x = &r->x[xi];
  struct resource *s = &r->res[x->cost.res[k]];
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->flows = g_realloc_n(s->flows, (size_t)s->cap, sizeof *s->flows);
  }
  x->slot[k] = s->n;
  s->flows[s->n++] = xi;
  mark_dirty(r, x->cost.res[k]);
}

static void res_remove(struct run *r, uint32_t xi, int k) {
  struct xfer *x = &r->x[xi];
  int ri = x->cost.res[k];
  struct resource *s = &r->res[ri];
  int pos = x->slot[k];
  uint32_t moved = s->flows[--s->n];
  if (pos != s->n) {
    s->flows[pos] = moved;
    struct xfer *m = &r->x[moved];
    for (int j = 0; j < m->cost.nres; j++)
      if (m->cost.res[j] == ri && m->slot[j] == s->n) { m->slot[j] = pos; break; }
  }
  mark_dirty(r, ri);
}

/* An op's deps are all met at time t: ask the model what it costs and schedule its data phase. */
static void op_ready(struct run *r, uint32_t op, uint64_t t) {
  const struct engine_config *cfg = r->cfg;
  const struct op *o = &r->l->ops[op];
  uint32_t xi = xfer_alloc(r);
  struct xfer *x = &r->x[xi];
  memset(x, 0, sizeof *x);
  x->op = op;
  r->xfer_of[op] = xi;
  cfg->cost(cfg->cost_ctx, r->l, o, &x->cost);
  if (cfg->rank_start_ps) {
    /* not before the kernel of the rank that runs it, nor the receiver's when it must be there */
    int ends[2] = {o->rank_src, x->cost.needs_receiver ? o->rank_dst : -1};
    for (int k = 0; k < 2; k++)
      if (ends[k] >= 0 && ends[k] < cfg->nranks && t < cfg->rank_start_ps[ends[k]]) t = cfg->rank_start_ps[ends[k]];
  }
  if (x->cost.after_receiver_start_ps > 0 && o->rank_dst >= 0) {
    uint64_t rs = cfg->start_ps;
    if (cfg->rank_start_ps && o->rank_dst < cfg->nranks && cfg->rank_start_ps[o->rank_dst] > rs)
      rs = cfg->rank_start_ps[o->rank_dst];
    if (t < rs + x->cost.after_receiver_start_ps) t = rs + x->cost.after_receiver_start_ps;
  }
  x->ready_t = t;
  heap_push(&r->heap, t + x->cost.latency_ps, EV_START, xi, 0);
}

static void finish_data(struct run *r, uint32_t xi, uint64_t t) {
  struct xfer *x = &r->x[xi];
  if (r->open_in[x->op]) { /* a cut-through producer is still sending: done when it is */
    x->blocked = 1;
    return;
  }
  uint64_t done = t + x->cost.tail_ps;
  heap_push(&r->heap, done, EV_DONE, xi, 0);
}

static void release_streaming(struct run *r, uint32_t op, uint64_t t) {
  if (!r->cfg->stream) return;
  const struct op *o = &r->l->ops[op];
  for (uint32_t k = r->succ_at[op]; k < r->succ_at[op + 1]; k++) {
    uint32_t s = r->succ[k];
    if (!r->cfg->stream(r->cfg->cost_ctx, o, &r->l->ops[s])) continue;
    r->early[k] = 1;
    r->open_in[s]++;
    if (--r->pending[s] == 0) op_ready(r, s, t);
  }
}

static void start_data(struct run *r, uint32_t xi, uint64_t t) {
  struct xfer *x = &r->x[xi];
  x->data_t = t;
  double frac = x->cost.release_frac;
  if (x->cost.bytes <= 0 || frac <= 0 || frac >= 1) {
    /* Release now (cut-through), or at the end through op_done's ordinary path when frac >= 1. */
    if (frac < 1 || x->cost.bytes <= 0) release_streaming(r, x->op, t);
    x = &r->x[xi]; /* the transfer pool may have moved */
    x->rest = 0;
  } else {
    x->rest = x->cost.bytes * (1 - frac);
  }
  x->second = 0;
  if (x->cost.bytes <= 0) {
    finish_data(r, xi, t);
    return;
  }
  x->remaining = x->cost.bytes - x->rest;
  x->last_t = t;
  x->rate = 0;
  x->active = 1;
  r->nactive++;
  if (r->nactive > r->st->max_active) r->st->max_active = r->nactive;
  if (x->cost.nres == 0) {
    /* Nothing shared: the transfer runs at its own cap for its whole life. */
    x->rate = x->cost.cap;
    uint64_t dt = (uint64_t)ceil(x->remaining / x->rate);
    x->sched = 1;
    x->sched_t = t + dt;
    heap_push(&r->heap, t + dt, EV_FLOW_END, xi, x->ver);
    return;
  }
  for (int k = 0; k < x->cost.nres; k++) res_add(r, xi, k);
}

static void end_data(struct run *r, uint32_t xi, uint64_t t) {
  struct xfer *x = &r->x[xi];
  if (x->rest > 0 && !x->second) {
    /* Release point reached: dependants that stream may start; the rest moves at the same rate. */
    x->second = 1;
    x->remaining = x->rest;
    x->last_t = t;
    x->ver++;
    x->sched = 1;
    x->sched_t = t + (uint64_t)ceil(x->remaining / x->rate);
    heap_push(&r->heap, x->sched_t, EV_FLOW_END, xi, x->ver);
    release_streaming(r, x->op, t);
    return;
  }
  for (int k = 0; k < x->cost.nres; k++) res_remove(r, xi, k);
  x->active = 0;
  x->remaining = 0;
  r->nactive--;
  finish_data(r, xi, t);
}

static void op_done(struct run *r, uint32_t xi, uint64_t t) {
  struct xfer *x = &r->x[xi];
  const struct op *o = &r->l->ops[x->op];
  uint32_t op = x->op;
  if (r->cfg->span) r->cfg->span(r->cfg->span_ctx, o, x->ready_t, x->data_t, t);
  if (t > r->st->end_ps) r->st->end_ps = t;
  if (r->st->rank_end_ps) {
    if (o->rank_src >= 0 && o->rank_src < r->st->nranks && r->st->rank_end_ps[o->rank_src] < t)
      r->st->rank_end_ps[o->rank_src] = t;
    if (o->rank_dst >= 0 && o->rank_dst < r->st->nranks && r->st->rank_end_ps[o->rank_dst] < t)
      r->st->rank_end_ps[o->rank_dst] = t;
  }
  xfer_free(r, xi);
  r->xfer_of[op] = NO_SLOT;
  for (uint32_t k = r->succ_at[op]; k < r->succ_at[op + 1]; k++) {
    uint32_t s = r->succ[k];
    if (r->early[k]) {
      if (--r->open_in[s] == 0 && r->xfer_of[s] != NO_SLOT && r->x[r->xfer_of[s]].blocked) {
        struct xfer *sx = &r->x[r->xfer_of[s]];
        sx->blocked = 0;
        heap_push(&r->heap, t + sx->cost.tail_ps, EV_DONE, r->xfer_of[s], 0);
      }
      continue;
    }
    if (--r->pending[s] == 0) op_ready(r, s, t);
  }
}

/* Max-min fair rates for every transfer connected (through shared resources) to a dirty resource. */
static void recompute(struct run *r, uint64_t now) {
  r->st->rate_updates++;
  uint32_t ep = ++r->epoch;
  g_array_set_size(r->comp_res, 0);
  g_array_set_size(r->comp_flows, 0);
  for (int i = 0; i < r->ndirty; i++) {
    uint32_t ri = r->dirty[i];
    r->res[ri].dirty = 0;
    if (r->res[ri].mark == ep) continue;
    r->res[ri].mark = ep;
    g_array_append_val(r->comp_res, ri);
  }
  r->ndirty = 0;
  /* Breadth-first over resource -> transfer -> resource. */
  for (guint i = 0; i < r->comp_res->len; i++) {
    struct resource *s = &r->res[g_array_index(r->comp_res, uint32_t, i)];
    for (int k = 0; k < s->n; k++) {
      uint32_t xi = s->flows[k];
      struct xfer *x = &r->x[xi];
      if (x->mark == ep) continue;
      x->mark = ep;
      x->fixed = 0;
      g_array_append_val(r->comp_flows, xi);
      for (int j = 0; j < x->cost.nres; j++) {
        uint32_t rj = (uint32_t)x->cost.res[j];
        if (r->res[rj].mark == ep) continue;
        r->res[rj].mark = ep;
        g_array_append_val(r->comp_res, rj);
      }
    }
  }
  guint nf = r->comp_flows->len, nr = r->comp_res->len;
  uint32_t *flows = (uint32_t *)(void *)r->comp_flows->data;
  uint32_t *rs = (uint32_t *)(void *)r->comp_res->data;
  for (guint i = 0; i < nr; i++) {
    struct resource *s = &r->res[rs[i]];
    s->rem = s->capacity;
    s->unfixed = s->n;
  }
  g_array_set_size(r->newrate, nf);
  double *newrate = (double *)(void *)r->newrate->data;
  guint left = nf;
  while (left > 0) {
    double level = INFINITY;
    for (guint i = 0; i < nr; i++) {
      struct resource *s = &r->res[rs[i]];
      if (s->unfixed > 0) {
        double v = s->rem / s->unfixed;
        if (v < level) level = v;
      }
    }
    double mincap = INFINITY;
    for (guint i = 0; i < nf; i++) {
      struct xfer *x = &r->x[flows[i]];
      if (!x->fixed && x->cost.cap > 0 && x->cost.cap < mincap) mincap = x->cost.cap;
    }
    if (level < 0) level = 0;
    int by_cap = mincap <= level;
    double lv = by_cap ? mincap : level;
    double tol = lv * 1e-12;
    for (guint i = 0; i < nf; i++) {
      struct xfer *x = &r->x[flows[i]];
      if (x->fixed) continue;
      int fix = 0;
      if (x->cost.cap > 0 && x->cost.cap <= lv + tol) fix = 1;
      if (!fix && !by_cap) {
        for (int j = 0; j < x->cost.nres; j++) {
          struct resource *s = &r->res[x->cost.res[j]];
          if (s->unfixed > 0 && s->rem / s->unfixed <= lv + tol) { fix = 1; break; }
        }
      }
      if (!fix) continue;
      double rate = (x->cost.cap > 0 && x->cost.cap < lv) ? x->cost.cap : lv;
      newrate[i] = rate;
      x->fixed = 1;
      left--;
    }
    /* Charge the newly fixed transfers to their resources (after the pass, so that every transfer
     * fixed at this level saw the same shares). */
    for (guint i = 0; i < nf; i++) {
      struct xfer *x = &r->x[flows[i]];
      if (x->fixed != 1) continue;
      x->fixed = 2;
      for (int j = 0; j < x->cost.nres; j++) {
        struct resource *s = &r->res[x->cost.res[j]];
        s->rem -= newrate[i];
        if (s->rem < 0) s->rem = 0;
        s->unfixed--;
      }
    }
  }
  for (guint i = 0; i < nf; i++) {
    struct xfer *x = &r->x[flows[i]];
    double nr_ = newrate[i];
    if (nr_ == x->rate && x->sched) continue;
    if (x->rate > 0) {
      x->remaining -= x->rate * (double)(now - x->last_t);
      if (x->remaining < 0) x->remaining = 0;
    }
    x->last_t = now;
    x->rate = nr_;
    if (nr_ <= 0) { /* starved: a later change reschedules it */
      x->ver++;
      x->sched = 0;
      continue;
    }
    uint64_t end = now + (uint64_t)ceil(x->remaining / nr_);
    /* Slower than planned: keep the pending event, which re-checks when it fires (saves the heap
     * an event per rate drop). Faster: a new event supersedes the old one. */
    if (x->sched && x->sched_t <= end) continue;
    x->ver++;
    x->sched = 1;
    x->sched_t = end;
    heap_push(&r->heap, end, EV_FLOW_END, flows[i], x->ver);
  }
}

static int build_successors(struct run *r, GError **err) {
  const struct oplist *l = r->l;
  size_t n = l->nops;
  r->pending = g_new0(uint32_t, n ? n : 1);
  r->succ_at = g_new0(uint32_t, n + 1);
  for (size_t i = 0; i < n; i++) {
    const struct op *o = &l->ops[i];
    if (o->id != i) {
      g_set_error(err, ENGINE_ERROR, 1, "op at position %zu has id %u: ops must be numbered in order", i, o->id);
      return -1;
    }
    if ((size_t)o->deps_at + o->ndeps > l->ndep) {
      g_set_error(err, ENGINE_ERROR, 1, "op %zu: deps beyond the dependency pool", i);
      return -1;
    }
    const uint32_t *d = &l->dep_pool[o->deps_at];
    for (int k = 0; k < o->ndeps; k++) {
      if (d[k] >= i) {
        g_set_error(err, ENGINE_ERROR, 1, "op %zu depends on op %u, which does not precede it", i, d[k]);
        return -1;
      }
      r->succ_at[d[k] + 1]++;
    }
    r->pending[i] = o->ndeps;
  }
  for (size_t i = 0; i < n; i++) r->succ_at[i + 1] += r->succ_at[i];
  r->succ = g_new(uint32_t, r->succ_at[n] ? r->succ_at[n] : 1);
  r->early = g_new0(uint8_t, r->succ_at[n] ? r->succ_at[n] : 1);
  r->open_in = g_new0(uint32_t, n ? n : 1);
  r->xfer_of = g_new(uint32_t, n ? n : 1);
  for (size_t i = 0; i < n; i++) r->xfer_of[i] = NO_SLOT;
  uint32_t *fill = g_new(uint32_t, n ? n : 1);
  memcpy(fill, r->succ_at, n * sizeof *fill);
  for (size_t i = 0; i < n; i++) {
    const struct op *o = &l->ops[i];
    const uint32_t *d = &l->dep_pool[o->deps_at];
    for (int k = 0; k < o->ndeps; k++) r->succ[fill[d[k]]++] = (uint32_t)i;
  }
  g_free(fill);
  return 0;
}

int engine_run(const struct oplist *l, const struct engine_config *cfg, struct engine_stats *st, GError **err) {
  struct run r;
  memset(&r, 0, sizeof r);
  r.l = l;
  r.cfg = cfg;
  r.st = st;
  r.free_head = NO_SLOT;
  st->end_ps = cfg->start_ps;
  st->events = st->rate_updates = 0;
  st->max_active = 0;
  int rc = -1;
  for (int i = 0; i < cfg->nres; i++) {
    if (!(cfg->capacity[i] > 0)) {
      g_set_error(err, ENGINE_ERROR, 1, "resource %d has capacity %g: capacities must be positive", i,
                  cfg->capacity[i]);
      return -1;
    }
  }
  if (build_successors(&r, err) < 0) goto out;
  r.res = g_new0(struct resource, cfg->nres ? cfg->nres : 1);
  for (int i = 0; i < cfg->nres; i++) r.res[i].capacity = cfg->capacity[i];
  r.dirty = g_new(uint32_t, cfg->nres ? cfg->nres : 1);
  r.comp_res = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  r.comp_flows = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  r.newrate = g_array_new(FALSE, FALSE, sizeof(double));

  size_t done = 0;
  for (size_t i = 0; i < l->nops; i++) {
    if (r.pending[i]) continue;
    op_ready(&r, (uint32_t)i, cfg->start_ps);
  }
  while (r.heap.n > 0) {
    uint64_t now = r.heap.a[0].t;
    while (r.heap.n > 0 && r.heap.a[0].t == now) {
      struct event e = heap_pop(&r.heap);
      st->events++;
      struct xfer *x = &r.x[e.idx];
      switch (e.kind) {
      case EV_START: {
        for (int k = 0; k < x->cost.nres; k++) {
          if (x->cost.res[k] < 0 || x->cost.res[k] >= cfg->nres) {
            g_set_error(err, ENGINE_ERROR, 1, "op %u crosses resource %d; the model has %d", x->op,
                        x->cost.res[k], cfg->nres);
            goto out;
          }
        }
        if (x->cost.bytes > 0 && x->cost.nres == 0 && !(x->cost.cap > 0)) {
          g_set_error(err, ENGINE_ERROR, 1, "op %u moves %g bytes with neither a resource nor a rate cap",
                      x->op, x->cost.bytes);
          goto out;
        }
        start_data(&r, e.idx, now);
        break;
      }
      case EV_FLOW_END: {
        if (!x->active || e.ver != x->ver) break; /* superseded by a rate change */
        double rem = x->remaining - x->rate * (double)(now - x->last_t);
        if (rem > x->rate) { /* the rate dropped since this was planned: more than 1 ps to go */
          x->remaining = rem;
          x->last_t = now;
          x->sched_t = now + (uint64_t)ceil(rem / x->rate);
          heap_push(&r.heap, x->sched_t, EV_FLOW_END, e.idx, x->ver);
          break;
        }
        x->sched = 0;
        end_data(&r, e.idx, now);
        break;
      }
      case EV_DONE:
        op_done(&r, e.idx, now);
        done++;
        break;
      }
    }
    if (r.ndirty) recompute(&r, now);
  }
  if (done != l->nops) {
    g_set_error(err, ENGINE_ERROR, 1, "%zu of %zu ops never became ready (a dependency cycle?)", l->nops - done,
                l->nops);
    goto out;
  }
  rc = 0;
out:
  for (int i = 0; r.res && i < cfg->nres; i++) g_free(r.res[i].flows);
  g_free(r.res);
  g_free(r.dirty);
  if (r.comp_res) g_array_free(r.comp_res, TRUE);
  if (r.comp_flows) g_array_free(r.comp_flows, TRUE);
  if (r.newrate) g_array_free(r.newrate, TRUE);
  g_free(r.heap.a);
  g_free(r.pending);
  g_free(r.succ_at);
  g_free(r.succ);
  g_free(r.early);
  g_free(r.open_in);
  g_free(r.xfer_of);
  g_free(r.x);
  return rc;
}
