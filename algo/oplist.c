/* oplist.c — storage and writers for the point-to-point op DAG (oplist.h). */
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <glib.h>
#include "oplist.h"

static const char *kind_names[OPK_COUNT] = {
  "send", "recv_reduce_send", "recv_copy_send", "recv_reduce_copy_send", "recv_reduce_copy", "recv",
  "copy_send",
};
static const char *transport_names[] = {"P2P", "SHM", "NET", "COLLNET", "NVLS", "LOCAL"};

const char *op_kind_name(enum op_kind k) { return (unsigned)k < OPK_COUNT ? kind_names[k] : "?"; }

const char *op_transport_name(int t) {
  return (unsigned)t < G_N_ELEMENTS(transport_names) ? transport_names[t] : "?";
}

void oplist_init(struct oplist *l) {
  memset(l, 0, sizeof(*l));
}

void oplist_free(struct oplist *l) {
  g_free(l->ops);
  g_free(l->dep_pool);
  g_free(l->dep_kind_pool);
  memset(l, 0, sizeof(*l));
}

uint32_t oplist_add(struct oplist *l, const struct op *o, const uint32_t *deps, int ndeps) {
  return oplist_add_kinds(l, o, deps, NULL, ndeps);
}

int oplist_dep_kind(const struct oplist *l, const struct op *o, int k) {
  return l->dep_kind_pool ? l->dep_kind_pool[o->deps_at + (uint32_t)k] : OPD_ORDER;
}

uint32_t oplist_add_kinds(struct oplist *l, const struct op *o, const uint32_t *deps, const uint8_t *kinds,
                          int ndeps) {
  if (l->full || l->nops >= UINT32_MAX - 1 || l->ndep + (size_t)ndeps >= UINT32_MAX) {
    l->full = 1;
    return UINT32_MAX;
  }
  if (l->nops == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    struct op *ops = g_try_realloc_n(l->ops, cap, sizeof(*l->ops));
    if (!ops) { l->full = 1; return UINT32_MAX; }
    l->ops = ops;
    l->cap = cap;
  }
  if (l->ndep + (size_t)ndeps > l->dep_cap) {
    size_t cap = l->dep_cap ? l->dep_cap : 4096;
    while (l->ndep + (size_t)ndeps > cap) cap *= 2;
    uint32_t *pool = g_try_realloc_n(l->dep_pool, cap, sizeof(*l->dep_pool));
    if (!pool) { l->full = 1; return UINT32_MAX; }
    l->dep_pool = pool;
    if (l->dep_kind_pool) {
      uint8_t *kp = g_try_realloc(l->dep_kind_pool, cap);
      if (!kp) { l->full = 1; return UINT32_MAX; }
      l->dep_kind_pool = kp;
    }
    l->dep_cap = cap;
  }
  if (kinds && !l->dep_kind_pool) { /* the first kinds: earlier deps were all program order */
    l->dep_kind_pool = g_try_malloc(l->dep_cap ? l->dep_cap : 1);
    if (!l->dep_kind_pool) { l->full = 1; return UINT32_MAX; }
    memset(l->dep_kind_pool, OPD_ORDER, l->ndep);
  }
  struct op *n = &l->ops[l->nops];
  *n = *o;
  n->id = (uint32_t)l->nops;
  n->ndeps = (uint8_t)ndeps;
  n->deps_at = (uint32_t)l->ndep;
  if (ndeps) memcpy(&l->dep_pool[l->ndep], deps, (size_t)ndeps * sizeof(*deps));
  if (l->dep_kind_pool && ndeps) {
    if (kinds) memcpy(&l->dep_kind_pool[l->ndep], kinds, (size_t)ndeps);
    else memset(&l->dep_kind_pool[l->ndep], OPD_ORDER, (size_t)ndeps);
  }
  l->ndep += (size_t)ndeps;
  l->nops++;
  return n->id;
}

static void dep_kind_text(int k, char *buf) {
  int i = 0;
  if (k & OPD_ORDER) buf[i++] = 'O';
  if (k & OPD_DATA) buf[i++] = 'D';
  if (k & OPD_FLOW) buf[i++] = 'F';
  buf[i] = 0;
}

int oplist_write_csv(const struct oplist *l, FILE *f) {
  fprintf(f, "id,rank_src,rank_dst,channel,step,payload_bytes,wire_bytes,protocol,transport,kind,deps,dep_kinds\n");
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    fprintf(f, "%" PRIu32 ",%d,%d,%d,%d,%" PRIu64 ",%" PRIu64 ",%s,%s,%s,", o->id, o->rank_src, o->rank_dst,
            o->channel, o->step, o->payload_bytes, o->wire_bytes, comm_proto_name(o->protocol),
            op_transport_name(o->transport), op_kind_name(o->kind));
    const uint32_t *d = OP_DEPS(l, o);
    char kb[4];
    for (int k = 0; k < o->ndeps; k++) fprintf(f, "%s%" PRIu32, k ? " " : "", d[k]);
    fputc(',', f);
    for (int k = 0; k < o->ndeps; k++) {
      dep_kind_text(oplist_dep_kind(l, o, k), kb);
      fprintf(f, "%s%s", k ? " " : "", kb);
    }
    fputc('\n', f);
  }
  return ferror(f) ? -1 : 0;
}

/* Written by hand rather than through cJSON: op lists reach millions of entries and a DOM would
 * multiply their memory. */
int oplist_write_json(const struct oplist *l, FILE *f) {
  const struct comm_decision *d = &l->decision;
  fprintf(f, "{\"nranks\":%d,\"decision\":{\"op\":\"%s\",\"bytes\":%zu,\"count\":%zu,\"type_size\":%d,"
             "\"root\":%d,\"algorithm\":\"%s\",\"protocol\":\"%s\",\"nchannels\":%d,\"nthreads\":%d},\n\"ops\":[",
          l->nranks, comm_op_name(d->op), d->bytes, d->count, d->type_size, d->root, comm_algo_name(d->algo),
          comm_proto_name(d->proto), d->nchannels, d->nthreads);
  for (size_t i = 0; i < l->nops; i++) {
    const struct op *o = &l->ops[i];
    fprintf(f, "%s\n{\"id\":%" PRIu32 ",\"rank_src\":%d,\"rank_dst\":%d,\"channel\":%d,\"step\":%d,"
               "\"payload_bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64 ",\"protocol\":\"%s\",\"transport\":\"%s\","
               "\"kind\":\"%s\",\"deps\":[",
            i ? "," : "", o->id, o->rank_src, o->rank_dst, o->channel, o->step, o->payload_bytes, o->wire_bytes,
            comm_proto_name(o->protocol), op_transport_name(o->transport), op_kind_name(o->kind));
    const uint32_t *dp = OP_DEPS(l, o);
    for (int k = 0; k < o->ndeps; k++) fprintf(f, "%s%" PRIu32, k ? "," : "", dp[k]);
    fputs("],\"dep_kinds\":[", f);
    char kb[4];
    for (int k = 0; k < o->ndeps; k++) {
      dep_kind_text(oplist_dep_kind(l, o, k), kb);
      fprintf(f, "%s\"%s\"", k ? "," : "", kb);
    }
    fputs("]}", f);
  }
  fputs("\n]}\n", f);
  return ferror(f) ? -1 : 0;
}
