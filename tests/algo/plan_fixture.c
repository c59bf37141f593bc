/* plan_fixture.c — see plan_fixture.h. */
#include <string.h>
#include <stdlib.h>
#include "plan_fixture.h"

int fixture_comm_from_log(const char *path, struct comm_info *c, GError **err) {
  gchar *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, err)) return -1;
  memset(c, 0, sizeof(*c));
  gchar **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  GRegex *ring_re = g_regex_new("\\[0\\] NCCL INFO Channel (\\d+)/(\\d+) : ([\\d ]+)$", 0, 0, NULL);
  GRegex *tree_re = g_regex_new("\\[(\\d+)\\] NCCL INFO Trees (.*)$", 0, 0, NULL);
  GRegex *tnode_re = g_regex_new("\\[(\\d+)\\] (-?\\d+)/(-?\\d+)/(-?\\d+)->(-?\\d+)->(-?\\d+)", 0, 0, NULL);
  GPtrArray *rings = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  GPtrArray *trees = g_ptr_array_new_with_free_func(g_free);
  int nch = 0;
  for (gchar **l = lines; *l; l++) {
    GMatchInfo *m = NULL;
    if (g_regex_match(ring_re, *l, 0, &m)) {
      gchar *ch = g_match_info_fetch(m, 1), *tot = g_match_info_fetch(m, 2), *ranks = g_match_info_fetch(m, 3);
      int ci = atoi(ch);
      nch = atoi(tot);
      g_strstrip(ranks);
      while ((int)rings->len <= ci) g_ptr_array_add(rings, NULL);
      if (!g_ptr_array_index(rings, ci)) g_ptr_array_index(rings, ci) = g_strsplit_set(ranks, " ", -1);
      g_free(ch); g_free(tot); g_free(ranks);
    }
    g_match_info_free(m);
    if (g_regex_match(tree_re, *l, 0, &m)) {
      gchar *r = g_match_info_fetch(m, 1), *rest = g_match_info_fetch(m, 2);
      int rk = atoi(r);
      while ((int)trees->len <= rk) g_ptr_array_add(trees, NULL);
      if (!g_ptr_array_index(trees, rk)) g_ptr_array_index(trees, rk) = g_strdup(rest);
      g_free(r); g_free(rest);
    }
    g_match_info_free(m);
  }
  int rc = -1;
  int n = rings->len && g_ptr_array_index(rings, 0) ? (int)g_strv_length(g_ptr_array_index(rings, 0)) : 0;
  if (n < 1 || nch < 1 || (int)rings->len != nch || (int)trees->len != n) {
    g_set_error(err, PLAN_ERROR, 1, "%s: found %u rings of %d channels and %u tree lines for %d ranks", path,
                rings->len, nch, trees->len, n);
    goto out;
  }
  c->nranks = n;
  c->nnodes = 1;
  c->rank_node = g_new0(int, n);
  c->rank_dev = g_new(int, n);
  for (int r = 0; r < n; r++) c->rank_dev[r] = r;
  c->nchannels = nch;
  c->p2p_nchannels = 1;
  while (c->p2p_nchannels < nch) c->p2p_nchannels <<= 1;
  c->p2p_nchannels_per_peer = 2;
  c->p2p_chunk_size = 524288;
  c->channels = g_new0(struct comm_channel, nch);
  for (int ch = 0; ch < nch; ch++) {
    gchar **rr = g_ptr_array_index(rings, ch);
    if (!rr || (int)g_strv_length(rr) != n) {
      g_set_error(err, PLAN_ERROR, 1, "%s: ring of channel %d missing or of wrong length", path, ch);
      goto out;
    }
    c->channels[ch].ring.order = g_new(int, n);
    for (int i = 0; i < n; i++) c->channels[ch].ring.order[i] = atoi(rr[i]);
    c->channels[ch].tree = g_new(struct comm_tree_node, n);
  }
  for (int r = 0; r < n; r++) {
    const char *s = g_ptr_array_index(trees, r);
    GMatchInfo *m = NULL;
    int seen = 0;
    g_regex_match(tnode_re, s ? s : "", 0, &m);
    while (g_match_info_matches(m)) {
      int v[6];
      for (int k = 0; k < 6; k++) {
        gchar *x = g_match_info_fetch(m, k + 1);
        v[k] = atoi(x);
        g_free(x);
      }
      if (v[0] >= 0 && v[0] < nch && v[4] == r) {
        struct comm_tree_node *t = &c->channels[v[0]].tree[r];
        t->down[0] = v[1]; t->down[1] = v[2]; t->down[2] = v[3]; t->up = v[5];
        seen++;
      }
      g_match_info_next(m, NULL);
    }
    g_match_info_free(m);
    if (seen != nch) {
      g_set_error(err, PLAN_ERROR, 1, "%s: rank %d lists %d of %d tree channels", path, r, seen, nch);
      goto out;
    }
  }
  rc = 0;
out:
  if (rc) comm_info_free(c);
  g_ptr_array_free(rings, TRUE);
  g_ptr_array_free(trees, TRUE);
  g_regex_unref(ring_re);
  g_regex_unref(tree_re);
  g_regex_unref(tnode_re);
  g_strfreev(lines);
  return rc;
}

GArray *fixture_tunings_from_log(const char *path, GError **err) {
  gchar *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, err)) return NULL;
  GRegex *re = g_regex_new("NCCL INFO (AllReduce|AllGather|ReduceScatter|Broadcast|Reduce): (\\d+) Bytes -> Algo "
                           "(\\w+) proto (\\w+) channel\\{Lo\\.\\.Hi\\}=\\{(\\d+)\\.\\.(\\d+)\\}", 0, 0, NULL);
  static const char *names[] = {"AllReduce", "AllGather", "ReduceScatter", "Broadcast", "Reduce"};
  static const enum comm_op ops[] = {OP_ALL_REDUCE, OP_ALL_GATHER, OP_REDUCE_SCATTER, OP_BROADCAST, OP_REDUCE};
  GArray *out = g_array_new(FALSE, TRUE, sizeof(struct fixture_tuning));
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GMatchInfo *m = NULL;
  g_regex_match(re, text, 0, &m);
  while (g_match_info_matches(m)) {
    gchar *all = g_match_info_fetch(m, 0);
    if (!g_hash_table_contains(seen, all)) {
      struct fixture_tuning t = {0};
      gchar *f[6];
      for (int k = 0; k < 6; k++) f[k] = g_match_info_fetch(m, k + 1);
      for (int k = 0; k < 5; k++)
        if (!strcmp(f[0], names[k])) t.op = ops[k];
      t.nccl_bytes = g_ascii_strtoull(f[1], NULL, 10);
      t.algo = comm_algo_parse(f[2]);
      t.proto = comm_proto_parse(f[3]);
      t.lo = atoi(f[4]);
      t.hi = atoi(f[5]);
      for (int k = 0; k < 6; k++) g_free(f[k]);
      g_array_append_val(out, t);
      g_hash_table_add(seen, all);
    } else {
      g_free(all);
    }
    g_match_info_next(m, NULL);
  }
  g_match_info_free(m);
  g_hash_table_destroy(seen);
  g_regex_unref(re);
  g_free(text);
  return out;
}

void fixture_check_dag(const struct oplist *l) {
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    g_assert_cmpuint(o->id, ==, i);
    g_assert_cmpuint((size_t)o->deps_at + o->ndeps, <=, l->ndep);
    const uint32_t *d = OP_DEPS(l, o);
    for (int k = 0; k < o->ndeps; k++) g_assert_cmpuint(d[k], <, o->id); /* topological, hence acyclic */
    g_assert_cmpint(o->rank_src, >=, 0);
    g_assert_cmpint(o->rank_src, <, l->nranks);
    g_assert_cmpint(o->rank_dst, >=, 0);
    g_assert_cmpint(o->rank_dst, <, l->nranks);
  }
}

/* Computed here from the protocol formats, independently of plan_wire_bytes(). */
void fixture_check_wire(const struct oplist *l) {
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    uint64_t p = o->payload_bytes, w;
    if (o->protocol == PROTO_LL) w = ((p + 7) / 8) * 16;            /* 8 data bytes per 16-byte line */
    else if (o->protocol == PROTO_LL128) w = ((p + 1919) / 1920) * 2048; /* 120/128 per line, warp slices */
    else w = p;
    g_assert_cmpuint(o->wire_bytes, ==, w);
  }
}

void fixture_check_ring_order(const struct comm_info *c, const struct oplist *l) {
  int n = c->nranks;
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    const int *ord = c->channels[o->channel].ring.order;
    int pos = -1;
    for (int k = 0; k < n; k++)
      if (ord[k] == o->rank_src) pos = k;
    g_assert_cmpint(pos, >=, 0);
    if (o->transport == TRANSPORT_LOCAL) {
      /* a receive-only step: the block's work at the receiving rank (Simple: the copy out of the
       * FIFO; LL, LL128: reading the lines), after the data came from its ring predecessor */
      g_assert_cmpint(o->rank_dst, ==, o->rank_src);
      g_assert_true(o->kind == OPK_RECV || o->kind == OPK_RECV_REDUCE_COPY);
      g_assert_cmpint(o->protocol, ==, l->decision.proto);
    } else {
      g_assert_cmpint(o->rank_dst, ==, ord[(pos + 1) % n]);
    }
    /* a primitive that received data depends on an op that delivered data to its rank */
    if (o->kind != OPK_SEND && o->kind != OPK_COPY_SEND) {
      const uint32_t *d = OP_DEPS(l, o);
      gboolean data = FALSE;
      for (int k = 0; k < o->ndeps; k++)
        if (l->ops[d[k]].rank_dst == o->rank_src && l->ops[d[k]].rank_src == ord[(pos + n - 1) % n] &&
            (oplist_dep_kind(l, o, k) & OPD_DATA))
          data = TRUE;
      g_assert_true(data);
    }
  }
}

void fixture_check_tree(const struct comm_info *c, const struct oplist *l) {
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    const struct comm_tree_node *t = c->channels[o->channel].tree;
    gboolean up = t[o->rank_src].up == o->rank_dst;
    gboolean down = t[o->rank_dst].up == o->rank_src;
    g_assert_true(up || down);
    const uint32_t *d = OP_DEPS(l, o);
    if (down && t[o->rank_src].up != -1) {
      /* going down from a non-root: the data came from its parent */
      gboolean from_parent = FALSE;
      for (int k = 0; k < o->ndeps; k++)
        if (l->ops[d[k]].rank_src == t[o->rank_src].up && l->ops[d[k]].rank_dst == o->rank_src) from_parent = TRUE;
      g_assert_true(from_parent);
      g_assert_cmpint(o->kind, ==, OPK_RECV_COPY_SEND);
    } else if (down) {
      /* the root turns the reduction around: it received from each child first */
      g_assert_cmpint(o->kind, ==, OPK_RECV_REDUCE_COPY_SEND);
      for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) {
        int ch = t[o->rank_src].down[k];
        if (ch < 0) continue;
        gboolean got = FALSE;
        for (int j = 0; j < o->ndeps; j++)
          if (l->ops[d[j]].rank_src == ch && l->ops[d[j]].rank_dst == o->rank_src) got = TRUE;
        g_assert_true(got);
      }
    } else {
      g_assert_true(o->kind == OPK_SEND || o->kind == OPK_RECV_REDUCE_SEND);
    }
  }
}

/* Every op sent NCCL_STEPS or more steps into its connection waits for an op at its receiver. */
void fixture_check_flow_control(const struct oplist *l) {
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    if (o->step < PLAN_NCCL_STEPS) continue;
    const uint32_t *d = OP_DEPS(l, o);
    gboolean fc = FALSE;
    for (int k = 0; k < o->ndeps; k++) {
      const struct op *p = &l->ops[d[k]];
      if (p->rank_src == o->rank_dst || (p->rank_src == o->rank_src && p->rank_dst == o->rank_dst)) fc = TRUE;
      /* a flow-control dependency is an op at the receiver: one it sent, or one delivered to it */
      if (oplist_dep_kind(l, o, k) & OPD_FLOW) g_assert_true(p->rank_src == o->rank_dst || p->rank_dst == o->rank_dst);
      if (oplist_dep_kind(l, o, k) & OPD_DATA) g_assert_cmpint(p->rank_dst, ==, o->rank_src);
    }
    g_assert_true(fc);
  }
}
