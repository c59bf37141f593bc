/* capture_json.c — reads and merges the per-node capture JSON files into struct comm_info and
 * struct comm_decision (format: docs/capture-format.md). Owns nothing beyond the structs it fills.
 */
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "capture_json.h"

G_DEFINE_QUARK(ccsim-capture-json-error-quark, capture_json_error)

struct doc {
  const char *name;
  cJSON *root;
};

static gboolean get_int(const struct doc *d, const cJSON *obj, const char *key, long long *out, GError **err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: missing or non-integer \"%s\"", d->name, key);
    return FALSE;
  }
  *out = (long long)v->valuedouble;
  return TRUE;
}

static const char *get_str(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get_array(const struct doc *d, const cJSON *obj, const char *key, GError **err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsArray(v)) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: missing array \"%s\"", d->name, key);
    return NULL;
  }
  return v;
}

/* Integer array of exactly n elements (n < 0: any length, returned in *len). */
static gboolean int_array(const struct doc *d, const cJSON *a, const char *what, int n, int *out, GError **err) {
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: %s should be an array of %d integers", d->name,
                what, n);
    return FALSE;
  }
  int i = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, a) {
    if (!cJSON_IsNumber(v)) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: %s holds a non-number", d->name, what);
      return FALSE;
    }
    out[i++] = (int)v->valuedouble;
  }
  return TRUE;
}

/* The comm entry of `rank` and the document it is in, or NULL. */
static const cJSON *find_comm(const struct doc *docs, int n, int rank, const struct doc **in) {
  for (int i = 0; i < n; i++) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(docs[i].root, "comms")) {
      const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "rank");
      if (cJSON_IsNumber(r) && (int)r->valuedouble == rank) {
        if (in) *in = &docs[i];
        return c;
      }
    }
  }
  return NULL;
}

/* The record of `rank` in call `index`, or NULL; the call object itself in *call_out. */
static const cJSON *find_call_rank(const struct doc *docs, int n, int index, int rank, const cJSON **call_out) {
  for (int i = 0; i < n; i++) {
    const cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(docs[i].root, "calls")) {
      const cJSON *idx = cJSON_GetObjectItemCaseSensitive(call, "index");
      if (!cJSON_IsNumber(idx) || (int)idx->valuedouble != index) continue;
      const cJSON *r;
      cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(call, "ranks")) {
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(r, "rank");
        if (cJSON_IsNumber(rv) && (int)rv->valuedouble == rank) {
          if (call_out) *call_out = call;
          return r;
        }
      }
    }
  }
  return NULL;
}

static const cJSON *find_call_cost(const struct doc *docs, int n, int index) {
  for (int i = 0; i < n; i++) {
    const cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(docs[i].root, "calls")) {
      const cJSON *idx = cJSON_GetObjectItemCaseSensitive(call, "index");
      const cJSON *cost = cJSON_GetObjectItemCaseSensitive(call, "cost");
      if (cJSON_IsNumber(idx) && (int)idx->valuedouble == index && cJSON_IsObject(cost)) return cost;
    }
  }
  return NULL;
}

/* NVLS heads (optional keys): rank r with nvls_head_rank h on node k is head h of node k. Left unknown
 * (NULL) unless every head of every node was named. */
static void read_nvls_heads(const struct doc *docs, int n, struct comm_info *c) {
  const cJSON *c0 = find_comm(docs, n, 0, NULL);
  const cJSON *nh = cJSON_GetObjectItemCaseSensitive(c0, "nvls_nheads");
  if (!cJSON_IsNumber(nh) || nh->valuedouble < 1 || nh->valuedouble > 64 || c->nnodes < 1) return;
  int nheads = (int)nh->valuedouble;
  int *heads = g_new(int, (size_t)nheads * c->nnodes);
  for (int i = 0; i < nheads * c->nnodes; i++) heads[i] = -1;
  for (int r = 0; r < c->nranks; r++) {
    const cJSON *hr = cJSON_GetObjectItemCaseSensitive(find_comm(docs, n, r, NULL), "nvls_head_rank");
    int h = cJSON_IsNumber(hr) ? (int)hr->valuedouble : -1, k = c->rank_node[r];
    if (h >= 0 && h < nheads && k >= 0 && k < c->nnodes) heads[h * c->nnodes + k] = r;
  }
  for (int i = 0; i < nheads * c->nnodes; i++)
    if (heads[i] < 0) {
      g_free(heads);
      return;
    }
  c->nvls_nheads = nheads;
  c->nvls_heads = heads;
}

/* "peer_host" of rank r's communicator (where its connections' buffers to each peer live: 1 host
 * memory, 0 a GPU's, -1 no buffer; absent in older captures) -> the transport from r to each peer: host
 * memory is NCCL's SHM transport, a GPU's memory P2P. */
static void read_peer_transport(const cJSON *cr, int r, struct comm_info *c) {
  const cJSON *ph = cJSON_GetObjectItemCaseSensitive(cr, "peer_host");
  if (!cJSON_IsArray(ph) || cJSON_GetArraySize(ph) != c->nranks) return;
  if (!c->transport) {
    c->transport = g_new(int8_t, (size_t)c->nranks * c->nranks);
    memset(c->transport, -1, (size_t)c->nranks * c->nranks);
  }
  for (int p = 0; p < c->nranks; p++) {
    const cJSON *x = cJSON_GetArrayItem(ph, p);
    if (!cJSON_IsNumber(x) || x->valuedouble < 0) continue;
    c->transport[(size_t)r * c->nranks + p] = x->valuedouble > 0 ? TRANSPORT_SHM : TRANSPORT_P2P;
  }
}

static gboolean read_comm(const struct doc *docs, int n, int nranks, struct comm_info *c, GError **err) {
  const struct doc *d0 = NULL;
  const cJSON *c0 = find_comm(docs, n, 0, &d0);
  if (!c0) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_INCOMPLETE,
                "%s: no device-side communicator was captured for rank 0 (NCCL launched no kernel?)", docs[0].name);
    return FALSE;
  }
  long long v;
  c->nranks = nranks;
  if (!get_int(d0, c0, "nnodes", &v, err)) return FALSE;
  c->nnodes = (int)v;
  if (!get_int(d0, c0, "nchannels", &v, err)) return FALSE;
  if (v < 0 || v > COMM_MAX_CHANNELS) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: nchannels %lld out of range", d0->name, v);
    return FALSE;
  }
  c->nchannels = (int)v;
  if (!get_int(d0, c0, "nvls_channels", &v, err)) return FALSE;
  c->nvls_channels = (int)v;
  if (!get_int(d0, c0, "collnet_channels", &v, err)) return FALSE;
  c->collnet_channels = (int)v;
  if (!get_int(d0, c0, "p2p_nchannels", &v, err)) return FALSE;
  c->p2p_nchannels = (int)v;
  if (!get_int(d0, c0, "p2p_nchannels_per_peer", &v, err)) return FALSE;
  c->p2p_nchannels_per_peer = (int)v;
  if (!get_int(d0, c0, "p2p_chunk_size", &v, err)) return FALSE;
  c->p2p_chunk_size = (size_t)v;
  int bs[PROTO_COUNT];
  if (!int_array(d0, cJSON_GetObjectItemCaseSensitive(c0, "buff_sizes"), "buff_sizes", PROTO_COUNT, bs, err)) return FALSE;
  for (int p = 0; p < PROTO_COUNT; p++) c->buff_size[p] = (size_t)bs[p];

  c->rank_node = g_new0(int, nranks);
  c->rank_dev = g_new0(int, nranks);
  c->channels = g_new0(struct comm_channel, c->nchannels);
  for (int ch = 0; ch < c->nchannels; ch++) {
    c->channels[ch].ring.order = g_new0(int, nranks);
    c->channels[ch].tree = g_new0(struct comm_tree_node, nranks);
  }
  int *tmp = g_new0(int, nranks > 4 ? nranks : 4);
  gboolean ok = TRUE;
  for (int r = 0; r < nranks && ok; r++) {
    const struct doc *dr = NULL;
    const cJSON *cr = find_comm(docs, n, r, &dr);
    if (!cr) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_INCOMPLETE,
                  "no device-side communicator was captured for rank %d of %d", r, nranks);
      ok = FALSE;
      break;
    }
    if (!get_int(dr, cr, "node", &v, err)) { ok = FALSE; break; }
    c->rank_node[r] = (int)v;
    if (!get_int(dr, cr, "dev", &v, err)) { ok = FALSE; break; }
    c->rank_dev[r] = (int)v;
    read_peer_transport(cr, r, c);
    const cJSON *rings = get_array(dr, cr, "rings", err), *trees = get_array(dr, cr, "trees", err);
    if (!rings || !trees) { ok = FALSE; break; }
    if (cJSON_GetArraySize(rings) < c->nchannels || cJSON_GetArraySize(trees) < c->nchannels) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_INCOMPLETE,
                  "%s: rank %d has fewer channels than rank 0 (%d)", dr->name, r, c->nchannels);
      ok = FALSE;
      break;
    }
    for (int ch = 0; ch < c->nchannels && ok; ch++) {
      if (r == 0) {
        ok = int_array(dr, cJSON_GetArrayItem(rings, ch), "a ring", nranks, c->channels[ch].ring.order, err);
        for (int k = 0; ok && k < nranks; k++)
          if (c->channels[ch].ring.order[k] < 0 || c->channels[ch].ring.order[k] >= nranks) {
            g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: ring %d names rank %d of %d", dr->name, ch,
                        c->channels[ch].ring.order[k], nranks);
            ok = FALSE;
          }
      }
      if (!ok) break;
      ok = int_array(dr, cJSON_GetArrayItem(trees, ch), "a tree node", 1 + COMM_MAX_TREE_ARITY, tmp, err);
      if (!ok) break;
      c->channels[ch].tree[r].up = tmp[0];
      for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) c->channels[ch].tree[r].down[k] = tmp[1 + k];
    }
  }
  g_free(tmp);
  if (ok) read_nvls_heads(docs, n, c);
  if (ok && c->transport) {
    /* host memory between ranks of one node is the SHM transport; across nodes it is a network's
     * staging buffer, and the network is what carries the data */
    for (int a = 0; a < nranks; a++)
      for (int b = 0; b < nranks; b++) {
        int8_t *t = &c->transport[(size_t)a * nranks + b];
        if (*t >= 0 && c->rank_node[a] != c->rank_node[b]) *t = -1;
      }
  }
  return ok;
}

static void read_costs(const cJSON *cost, struct comm_decision *dec) {
  for (int a = 0; a < ALGO_COUNT; a++)
    for (int p = 0; p < PROTO_COUNT; p++) dec->cost_us[a][p] = -1.0f;
  const cJSON *us = cost ? cJSON_GetObjectItemCaseSensitive(cost, "us") : NULL;
  for (int a = 0; a < ALGO_COUNT && cJSON_IsArray(us); a++) {
    const cJSON *row = cJSON_GetArrayItem(us, a);
    for (int p = 0; p < PROTO_COUNT && cJSON_IsArray(row); p++) {
      const cJSON *x = cJSON_GetArrayItem(row, p);
      if (cJSON_IsNumber(x)) dec->cost_us[a][p] = (float)x->valuedouble;
    }
  }
}

/* Rank 0's view of one call. Collectives: the profiler's Coll record and the launch's block size.
 * Send/recv: protocol and channels of the first p2p work towards another rank. */
static void read_decision(const struct doc *docs, int n, int index, int nranks, struct comm_decision *dec) {
  dec->algo = ALGO_NONE;
  dec->proto = PROTO_COUNT; /* "unknown" until a record says otherwise */
  dec->nchannels = 0;
  dec->nthreads = 0;
  read_costs(find_call_cost(docs, n, index), dec);
  const cJSON *call = NULL;
  const cJSON *r0 = find_call_rank(docs, n, index, 0, &call);
  if (!r0) return;
  const cJSON *launch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r0, "launches"), 0);
  const cJSON *block = launch ? cJSON_GetObjectItemCaseSensitive(launch, "block") : NULL;
  const cJSON *coll = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r0, "colls"), 0);
  if (coll) {
    int a = comm_algo_parse(get_str(coll, "algo")), p = comm_proto_parse(get_str(coll, "proto"));
    const cJSON *nch = cJSON_GetObjectItemCaseSensitive(coll, "nchannels");
    const cJSON *nw = cJSON_GetObjectItemCaseSensitive(coll, "nwarps");
    dec->algo = a >= 0 ? (enum comm_algo)a : ALGO_NONE;
    dec->proto = p >= 0 ? (enum comm_proto)p : PROTO_COUNT;
    dec->nchannels = cJSON_IsNumber(nch) ? (int)nch->valuedouble : 0;
    dec->nthreads = comm_work_threads(cJSON_IsNumber(nw) ? (int)nw->valuedouble : 0,
                                      cJSON_IsNumber(block) ? (int)block->valuedouble : 0);
    const cJSON *root = cJSON_GetObjectItemCaseSensitive(coll, "root");
    if ((dec->op == OP_BROADCAST || dec->op == OP_REDUCE) && cJSON_IsNumber(root)) dec->root = (int)root->valuedouble;
    return;
  }
  const cJSON *l;
  cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(r0, "launches")) {
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(l, "p2p_works")) {
      const cJSON *sr = cJSON_GetObjectItemCaseSensitive(w, "send_rank");
      const cJSON *sb = cJSON_GetObjectItemCaseSensitive(w, "send_bytes");
      const cJSON *sc = cJSON_GetObjectItemCaseSensitive(w, "send_channels");
      if (!cJSON_IsNumber(sr) || (int)sr->valuedouble == 0 || (int)sr->valuedouble >= nranks) continue;
      if (!cJSON_IsNumber(sc) || sc->valuedouble <= 0 || !cJSON_IsNumber(sb)) continue;
      int p = comm_proto_parse(get_str(w, "send_proto"));
      dec->proto = p >= 0 ? (enum comm_proto)p : PROTO_COUNT;
      dec->nchannels = (int)sc->valuedouble;
      const cJSON *bl = cJSON_GetObjectItemCaseSensitive(l, "block");
      dec->nthreads = cJSON_IsNumber(bl) ? (int)bl->valuedouble : 0;
      return;
    }
  }
  /* No launch work seen: the profiler's P2p record still gives the channels. */
  const cJSON *p2p;
  cJSON_ArrayForEach(p2p, cJSON_GetObjectItemCaseSensitive(r0, "p2ps")) {
    const cJSON *peer = cJSON_GetObjectItemCaseSensitive(p2p, "peer");
    const cJSON *nch = cJSON_GetObjectItemCaseSensitive(p2p, "nchannels");
    if (cJSON_IsNumber(peer) && (int)peer->valuedouble != 0 && cJSON_IsNumber(nch)) {
      dec->nchannels = (int)nch->valuedouble;
      dec->nthreads = cJSON_IsNumber(block) ? (int)block->valuedouble : 0;
      return;
    }
  }
}

static gboolean read_requests(const struct doc *d, struct capture_data *out, GError **err) {
  const cJSON *reqs = get_array(d, d->root, "requests", err);
  if (!reqs) return FALSE;
  out->ndecisions = cJSON_GetArraySize(reqs);
  out->decisions = g_new0(struct comm_decision, out->ndecisions ? out->ndecisions : 1);
  long long ts;
  if (!get_int(d, d->root, "type_size", &ts, err)) return FALSE;
  int i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, reqs) {
    struct comm_decision *dec = &out->decisions[i++];
    long long v;
    dec->op = out->op;
    dec->type_size = (int)ts;
    if (!get_int(d, r, "bytes", &v, err)) return FALSE;
    dec->bytes = (size_t)v;
    if (!get_int(d, r, "nccl_bytes", &v, err)) return FALSE;
    dec->nccl_bytes = (size_t)v;
    if (!get_int(d, r, "count", &v, err)) return FALSE;
    dec->count = (size_t)v;
    dec->root = out->op == OP_SENDRECV ? 1 : 0;
  }
  return TRUE;
}

int capture_json_parse(const char *const *texts, const char *const *names, int n, struct capture_data *out,
                       GError **err) {
  memset(out, 0, sizeof(*out));
  if (n <= 0) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_INCOMPLETE, "no capture files to read");
    return -1;
  }
  struct doc *docs = g_new0(struct doc, n);
  int rc = -1;
  long long nranks = 0, v;
  for (int i = 0; i < n; i++) {
    docs[i].name = names[i];
    docs[i].root = cJSON_Parse(texts[i]);
    if (!cJSON_IsObject(docs[i].root)) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: not a JSON object (malformed capture)", names[i]);
      goto out;
    }
    const char *fmt = get_str(docs[i].root, "format");
    if (!fmt || strcmp(fmt, "ccsim-capture")) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: not a ccsim capture file", names[i]);
      goto out;
    }
    if (!get_int(&docs[i], docs[i].root, "version", &v, err)) goto out;
    if (v != 1) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: capture format version %lld (this build reads 1)",
                  names[i], v);
      goto out;
    }
    long long nr;
    if (!get_int(&docs[i], docs[i].root, "nranks", &nr, err)) goto out;
    if (i == 0) nranks = nr;
    else if (nr != nranks) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: %lld ranks, but %s has %lld", names[i], nr,
                  names[0], nranks);
      goto out;
    }
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(docs[i].root, "init_seconds");
    if (cJSON_IsNumber(it) && it->valuedouble > out->init_seconds) out->init_seconds = it->valuedouble;
  }
  if (nranks <= 0 || nranks > 1 << 20) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: %lld ranks", names[0], nranks);
    goto out;
  }
  if (!get_int(&docs[0], docs[0].root, "nccl_version", &v, err)) goto out;
  out->nccl_version = (int)v;
  if (!get_int(&docs[0], docs[0].root, "nodes", &v, err)) goto out;
  out->nodes = (int)v;
  if (!get_int(&docs[0], docs[0].root, "gpus", &v, err)) goto out;
  out->gpus = (int)v;
  int op = comm_op_parse(get_str(docs[0].root, "op"));
  if (op < 0) {
    g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_PARSE, "%s: unknown \"op\"", names[0]);
    goto out;
  }
  out->op = (enum comm_op)op;
  if (!read_comm(docs, n, (int)nranks, &out->comm, err)) goto out;
  if (!read_requests(&docs[0], out, err)) goto out;
  for (int i = 0; i < out->ndecisions; i++) read_decision(docs, n, i, (int)nranks, &out->decisions[i]);
  rc = 0;
out:
  for (int i = 0; i < n; i++) cJSON_Delete(docs[i].root);
  g_free(docs);
  if (rc != 0) capture_data_free(out);
  return rc;
}

int capture_json_read(const char *const *paths, int npaths, struct capture_data *out, GError **err) {
  char **texts = g_new0(char *, npaths > 0 ? npaths : 1);
  int rc = -1;
  for (int i = 0; i < npaths; i++) {
    GError *e = NULL;
    if (!g_file_get_contents(paths[i], &texts[i], NULL, &e)) {
      g_set_error(err, CAPTURE_JSON_ERROR, CAPTURE_JSON_ERROR_IO, "cannot read capture %s: %s", paths[i], e->message);
      g_error_free(e);
      goto out;
    }
  }
  rc = capture_json_parse((const char *const *)texts, paths, npaths, out, err);
out:
  for (int i = 0; i < npaths; i++) g_free(texts[i]);
  g_free(texts);
  return rc;
}

void capture_data_free(struct capture_data *d) {
  if (!d) return;
  comm_info_free(&d->comm);
  g_free(d->decisions);
  d->decisions = NULL;
  d->ndecisions = 0;
}
