/* netmodel.c — network model: parameter files, resources and routes from the topology, op costs.
 *
 * Owns struct netmodel_params (loaded from JSON, every value with its "source") and struct netmodel
 * (resources = one per directed topology link a rank-to-rank path crosses, then the shares of an NVLink
 * link that send/recv channels in step get; routes per rank pair).
 */
#include "netmodel.h"
#include "gpu_parts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(ccsim-netmodel-error-quark, netmodel_error)

/* Chunks of a Simple send/recv channel over NVLink that share a resource with the same chunk of the
 * other channels through the same link; the ninth would get within 4% of the link on H200. */
#define P2P_LOCKSTEP_CHUNKS 8

struct route {
  int at, n;
  enum netmodel_route_kind kind;
};

struct netmodel {
  const struct netmodel_params *p;
  int nranks;
  GArray *capacity;      /* double, bytes per ps */
  GPtrArray *names;      /* char * */
  GArray *hops;          /* int: resource indices of all routes */
  struct route *routes;  /* nranks*nranks */
  int *egress, *ingress; /* per rank: the link leaving its GPU / entering it (first/last hop of its routes;
                          * an NVLink route's wins, since NVLS traffic crosses the GPU's NVLink ports) */
  unsigned char *egress_nvl, *ingress_nvl; /* per rank: egress/ingress came from an NVLink route */
  int *p2p_first;        /* per link resource that starts an NVLink route: the first of the
                          * P2P_LOCKSTEP_CHUNKS resources that chunk j of a Simple send/recv channel
                          * through it loads (-1: none); NULL when the parameters give none */
  int nlinks;            /* resources that are links (p2p_first's length) */
  int *nvl_peers;        /* per rank: the other ranks it reaches over NVLink (NULL with p2p_first) */
  int tree_nchannels;    /* the communicator's channels that tree_sends counts (0: no trees known) */
  int *tree_sends;       /* [rank * (tree_nchannels + 1) + c]: the tree neighbours (parent and children)
                          * the rank sends to over its channels 0..c-1 */
  double one_mem_scale;  /* rank 0's GPU memory bandwidth over the parameters' reference part (1 when
                          * either is unknown): one-rank copies are bound by memory */
};

/* ---- parameters ---- */

static const char *proto_keys[PROTO_COUNT] = {"LL", "LL128", "SIMPLE"};
static const char *route_keys[ROUTE_KINDS] = {"NVLINK", "PCI", "NET", "SHM"};

/* A parameter is {"value": number, "source": "where it comes from"}; both are required. */
static int get_value(const cJSON *obj, const char *key, const char *ctx, const char *file, double *out,
                     GError **err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsObject(it)) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: parameter %s%s is missing (expected {\"value\": N, \"source\": \"...\"})",
                file, ctx, key);
    return -1;
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "source");
  if (!cJSON_IsNumber(v)) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: parameter %s%s has no numeric \"value\"", file, ctx, key);
    return -1;
  }
  if (!cJSON_IsString(s) || !s->valuestring[0]) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: parameter %s%s has no \"source\": every value must say where it comes from",
                file, ctx, key);
    return -1;
  }
  if (!isfinite(v->valuedouble) || v->valuedouble < 0) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: parameter %s%s = %g must be a finite non-negative number", file, ctx,
                key, v->valuedouble);
    return -1;
  }
  *out = v->valuedouble;
  return 0;
}

static int get_per_proto(const cJSON *root, const char *key, const char *file, double out[PROTO_COUNT],
                         GError **err) {
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!cJSON_IsObject(obj)) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: \"%s\" must be an object with LL, LL128 and SIMPLE entries", file, key);
    return -1;
  }
  char *ctx = g_strdup_printf("%s.", key);
  int rc = 0;
  for (int p = 0; p < PROTO_COUNT && rc == 0; p++) rc = get_value(obj, proto_keys[p], ctx, file, &out[p], err);
  g_free(ctx);
  return rc;
}

/* Optional values: left at 0 (not given) where the file does not have them, read as usual where it does. */
static int get_optional_value(const cJSON *root, const char *key, const char *file, double *out, GError **err) {
  return cJSON_GetObjectItemCaseSensitive(root, key) ? get_value(root, key, "", file, out, err) : 0;
}
static int get_optional_per_proto(const cJSON *root, const char *key, const char *file, double out[PROTO_COUNT],
                                  GError **err) {
  return cJSON_GetObjectItemCaseSensitive(root, key) ? get_per_proto(root, key, file, out, err) : 0;
}

/* An optional object of named values, such as "simple_ring_step_gbs": {"send": {...}, ...}. Sets
 * *present; when the object is there every named value is required. */
static int get_group(const cJSON *root, const char *key, const char *file, int n, const char *const names[],
                     double *const outs[], int *present, GError **err) {
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, key);
  *present = obj != NULL;
  if (!obj) return 0;
  char *ctx = g_strdup_printf("%s.", key);
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) rc = get_value(obj, names[i], ctx, file, outs[i], err);
  g_free(ctx);
  return rc;
}

/* An optional per-primitive table ("ll_step_gbs": {"send": {...}, "recv": {...}, ...}, keys as
 * op_kind_name): every primitive is required and > 0 when the table is there. */
static int get_flag_steps(const cJSON *root, const char *key, const char *file, double out[OPK_COUNT], GError **err) {
  const char *keys[OPK_COUNT];
  double *vals[OPK_COUNT];
  for (int k = 0; k < OPK_COUNT; k++) {
    keys[k] = op_kind_name((enum op_kind)k);
    vals[k] = &out[k];
  }
  int present;
  if (get_group(root, key, file, OPK_COUNT, keys, vals, &present, err)) return -1;
  for (int k = 0; present && k < OPK_COUNT; k++)
    if (!(out[k] > 0)) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: %s.%s = %g must be > 0", file, key, keys[k], out[k]);
      return -1;
    }
  return 0;
}

struct netmodel_params *netmodel_params_parse(const char *json, const char *name, GError **err) {
  cJSON *root = cJSON_Parse(json);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    int line = 1;
    for (const char *c = json; at && c < at; c++) line += *c == '\n';
    g_set_error(err, NETMODEL_ERROR, 1, "%s:%d: not valid JSON", name, line);
    return NULL;
  }
  struct netmodel_params *p = g_new0(struct netmodel_params, 1);
  p->path = g_strdup(name);
  const cJSON *nm = cJSON_GetObjectItemCaseSensitive(root, "name");
  p->name = g_strdup(cJSON_IsString(nm) ? nm->valuestring : "unnamed");
  double threads[PROTO_COUNT];
  const cJSON *lat = cJSON_GetObjectItemCaseSensitive(root, "step_latency_us");
  if (get_per_proto(root, "wire_factor", name, p->wire_factor, err) ||
      get_per_proto(root, "channel_bw_gbs", name, p->chan_bw, err) ||
      get_per_proto(root, "p2p_channel_bw_gbs", name, p->p2p_chan_bw, err) ||
      get_per_proto(root, "channel_threads", name, threads, err) ||
      get_per_proto(root, "forward_fraction", name, p->forward_frac, err) ||
      get_value(root, "link_efficiency", "", name, &p->link_eff, err) ||
      get_value(root, "nvls_efficiency", "", name, &p->nvls_eff, err) ||
      get_value(root, "kernel_start_us", "", name, &p->kernel_start, err) ||
      get_value(root, "kernel_end_us", "", name, &p->kernel_end, err) ||
      get_value(root, "host_call_us", "", name, &p->host_call, err) ||
      get_value(root, "host_group_us", "", name, &p->host_group, err) ||
      get_value(root, "p2p_host_call_us", "", name, &p->p2p_host_call, err) ||
      get_value(root, "p2p_host_group_us", "", name, &p->p2p_host_group, err) ||
      get_value(root, "host_channel_us", "", name, &p->host_channel, err))
    goto fail;
  {
    static const char *const ring_keys[] = {"send", "store", "recv_copy"};
    static const char *const p2p_keys[] = {"step_latency_us", "first_step_latency_us", "first_chunk_link_share",
                                           "lockstep_loss_per_channel"};
    double *const ring_vals[] = {&p->ring_send_bw, &p->ring_store_bw, &p->ring_recv_copy_bw};
    double *const p2p_vals[] = {&p->p2p_step_lat, &p->p2p_first_lat, &p->p2p_first_share, &p->p2p_lockstep_loss};
    static const char *const one_keys[] = {"copy_gbs", "copy_latency_us", "kernel_copy_gbs", "kernel_latency_us",
                                           "self_p2p_gbs", "self_p2p_latency_us", "copy_host_us",
                                           "noop_host_us", "noop_p2p_host_us", "kernel_host_us",
                                           "reference_memory_tbs"};
    double *const one_vals[] = {&p->one_copy_bw, &p->one_copy_lat, &p->one_kernel_bw, &p->one_kernel_lat,
                                &p->one_self_bw, &p->one_self_lat, &p->one_copy_host, &p->one_noop_host,
                                &p->one_noop_p2p_host, &p->one_kernel_host, &p->one_ref_mem};
    static const char *const tree_keys[] = {"end", "middle", "channel_loss"};
    double *const tree_vals[] = {&p->ll128_tree_end_bw, &p->ll128_tree_mid_bw, &p->ll128_tree_chan_loss};
    int ring, pn, one, tree;
    if (get_group(root, "simple_ring_step_gbs", name, 3, ring_keys, ring_vals, &ring, err) ||
        get_group(root, "ll128_tree", name, 3, tree_keys, tree_vals, &tree, err) ||
        get_group(root, "p2p_simple_nvlink", name, 4, p2p_keys, p2p_vals, &pn, err) ||
        get_group(root, "one_rank", name, 11, one_keys, one_vals, &one, err) ||
        get_flag_steps(root, "ll_step_gbs", name, p->flag_step_bw[PROTO_LL], err) ||
        get_flag_steps(root, "ll128_step_gbs", name, p->flag_step_bw[PROTO_LL128], err))
      goto fail;
    if (one && !(p->one_copy_bw > 0 && p->one_kernel_bw > 0 && p->one_self_bw > 0)) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: one_rank copy_gbs, kernel_copy_gbs and self_p2p_gbs must all be > 0",
                  name);
      goto fail;
    }
    if (get_optional_value(root, "channel_rate_spread", name, &p->chan_spread, err)) goto fail;
    if (p->chan_spread < 0 || p->chan_spread > 1) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: channel_rate_spread = %g must be in [0, 1]", name, p->chan_spread);
      goto fail;
    }
    if (get_optional_value(root, "shm_read_efficiency", name, &p->shm_read_eff, err)) goto fail;
    if (p->shm_read_eff > 1) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: shm_read_efficiency = %g must be in [0, 1]", name, p->shm_read_eff);
      goto fail;
    }
    if (get_optional_value(root, "simple_full_rate_threads", name, &p->simple_full_threads, err) ||
        get_optional_value(root, "ll_receive_thread_knee", name, &p->ll_recv_thread_knee, err) ||
        get_optional_value(root, "graph_call_us", name, &p->graph_call, err) ||
        get_optional_value(root, "simple_empty_slice_latency_us", name, &p->simple_empty_slice_lat, err) ||
        get_optional_value(root, "ring_first_step_wait_us", name, &p->ring_first_step_wait, err) ||
        get_optional_per_proto(root, "tree_step_latency_us", name, p->tree_step_lat, err))
      goto fail;
    if (p->ll_recv_thread_knee < 0) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: ll_receive_thread_knee = %g must be >= 0 (threads)", name,
                  p->ll_recv_thread_knee);
      goto fail;
    }
    if (pn && !(p->p2p_first_share > 0 && p->p2p_first_share <= 1)) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: p2p_simple_nvlink.first_chunk_link_share = %g must be in (0, 1]", name,
                  p->p2p_first_share);
      goto fail;
    }
    if (tree && !(p->ll128_tree_end_bw > 0 && p->ll128_tree_mid_bw > 0)) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: ll128_tree end and middle must both be > 0", name);
      goto fail;
    }
    if (ring && !(p->ring_send_bw > 0 && p->ring_store_bw > 0 && p->ring_recv_copy_bw > 0)) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: simple_ring_step_gbs send, store and recv_copy must all be > 0", name);
      goto fail;
    }
  }
  if (!cJSON_IsObject(lat)) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: \"step_latency_us\" must map NVLINK, PCI and NET to per-protocol values",
                name);
    goto fail;
  }
  for (int k = 0; k < ROUTE_KINDS; k++) {
    /* files without an SHM row time host-memory steps as PCIe ones */
    if (k == ROUTE_SHM && !cJSON_GetObjectItemCaseSensitive(lat, route_keys[k])) {
      memcpy(p->step_lat[k], p->step_lat[ROUTE_PCI], sizeof p->step_lat[k]);
      continue;
    }
    if (get_per_proto(lat, route_keys[k], name, p->step_lat[k], err)) goto fail;
  }
  if (get_optional_per_proto(root, "shm_channel_bw_gbs", name, p->shm_chan_bw, err)) goto fail;
  for (int q = 0; q < PROTO_COUNT; q++) {
    p->chan_threads[q] = (int)threads[q];
    if (p->chan_bw[q] <= 0 || p->p2p_chan_bw[q] <= 0 || p->wire_factor[q] < 1 || p->chan_threads[q] <= 0) {
      g_set_error(err, NETMODEL_ERROR, 1, "%s: protocol %s needs channel_bw_gbs and p2p_channel_bw_gbs > 0, "
                  "wire_factor >= 1 and channel_threads > 0",
                  name, proto_keys[q]);
      goto fail;
    }
  }
  if (p->link_eff <= 0 || p->link_eff > 1) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: link_efficiency = %g must be in (0, 1]", name, p->link_eff);
    goto fail;
  }
  if (p->nvls_eff < 0 || p->nvls_eff > 1) {
    g_set_error(err, NETMODEL_ERROR, 1, "%s: nvls_efficiency = %g must be in (0, 1], or 0 for a generation "
                "without NVLink SHARP", name, p->nvls_eff);
    goto fail;
  }
  cJSON_Delete(root);
  return p;
fail:
  cJSON_Delete(root);
  netmodel_params_free(p);
  return NULL;
}

struct netmodel_params *netmodel_params_load(const char *path, GError **err) {
  char *text = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &text, &len, &e)) {
    g_set_error(err, NETMODEL_ERROR, 1, "cannot read network model parameters %s: %s", path, e->message);
    g_error_free(e);
    return NULL;
  }
  struct netmodel_params *p = netmodel_params_parse(text, path, err);
  g_free(text);
  return p;
}

void netmodel_params_free(struct netmodel_params *p) {
  if (!p) return;
  g_free(p->name);
  g_free(p->path);
  g_free(p);
}

/* NCCL tunes by generation (tuning.cc compCapIndex): sm_80-sm_89 as Ampere, sm_90-sm_99 as Hopper,
 * sm_100 and later as Blackwell. A file for the exact compute capability wins; else the generation's. */
static int generation_sm(int sm) {
  if (sm >= 100) return 100;
  if (sm >= 90) return 90;
  if (sm >= 80) return 80;
  return 0;
}

char *netmodel_params_find(int sm, GError **err) {
  const char *env = g_getenv("CCSIM_PARAMS");
  if (env && *env) return g_strdup(env);
  const char *dirs[] = {
#ifdef CCSIM_DATADIR
    CCSIM_DATADIR "/netmodel",
#endif
#ifdef CCSIM_SOURCE_DIR
    CCSIM_SOURCE_DIR "/netmodel/params",
#endif
  };
  int cands[2] = {sm, generation_sm(sm)};
  for (int c = 0; c < 2; c++) {
    if (cands[c] <= 0 || (c == 1 && cands[1] == sm)) continue;
    char *file = g_strdup_printf("sm%d.json", cands[c]);
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
      char *path = g_build_filename(dirs[i], file, NULL);
      if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_free(file);
        return path;
      }
      g_free(path);
    }
    g_free(file);
  }
  g_set_error(err, NETMODEL_ERROR, 1,
              "no network model parameters for sm%d (looked for sm%d.json%s in the data directory; ccsim has "
              "parameters for Ampere sm_80-89, Hopper sm_90 and Blackwell sm_100 and later); set CCSIM_PARAMS "
              "to a parameter file", sm, sm, generation_sm(sm) && generation_sm(sm) != sm ? " and its generation's" : "");
  return NULL;
}

/* ---- model instance ---- */

struct netmodel *netmodel_new_empty(const struct netmodel_params *p, int nranks) {
  struct netmodel *m = g_new0(struct netmodel, 1);
  m->p = p;
  m->nranks = nranks;
  m->one_mem_scale = 1.0;
  m->capacity = g_array_new(FALSE, FALSE, sizeof(double));
  m->names = g_ptr_array_new_with_free_func(g_free);
  m->hops = g_array_new(FALSE, FALSE, sizeof(int));
  m->routes = g_new0(struct route, (size_t)nranks * nranks);
  m->egress = g_new(int, nranks > 0 ? nranks : 1);
  m->ingress = g_new(int, nranks > 0 ? nranks : 1);
  m->egress_nvl = g_new0(unsigned char, nranks > 0 ? nranks : 1);
  m->ingress_nvl = g_new0(unsigned char, nranks > 0 ? nranks : 1);
  for (int r = 0; r < nranks; r++) m->egress[r] = m->ingress[r] = -1;
  return m;
}

void netmodel_free(struct netmodel *m) {
  if (!m) return;
  g_array_free(m->capacity, TRUE);
  g_ptr_array_free(m->names, TRUE);
  g_array_free(m->hops, TRUE);
  g_free(m->routes);
  g_free(m->egress);
  g_free(m->ingress);
  g_free(m->egress_nvl);
  g_free(m->ingress_nvl);
  g_free(m->p2p_first);
  g_free(m->nvl_peers);
  g_free(m->tree_sends);
  g_free(m);
}

int netmodel_add_resource(struct netmodel *m, const char *name, double gbs) {
  double c = gbs * m->p->link_eff * 1e-3; /* GB/s -> bytes per ps */
  g_array_append_val(m->capacity, c);
  g_ptr_array_add(m->names, g_strdup(name));
  return (int)m->capacity->len - 1;
}

void netmodel_set_route(struct netmodel *m, int src, int dst, enum netmodel_route_kind kind, int nres,
                        const int *res) {
  struct route *r = &m->routes[(size_t)src * m->nranks + dst];
  if (nres > NETMODEL_MAX_HOPS) nres = NETMODEL_MAX_HOPS;
  r->at = (int)m->hops->len;
  r->n = nres;
  r->kind = kind;
  g_array_append_vals(m->hops, res, (guint)nres);
  if (nres > 0) {
    /* A rank's first route may leave through its NIC (a peer on another node comes first in rank
     * order); its NVLink port must still be what NVLS ops load. */
    int nvl = kind == ROUTE_NVLINK;
    if (m->egress[src] < 0 || (nvl && !m->egress_nvl[src])) {
      m->egress[src] = res[0];
      m->egress_nvl[src] = (unsigned char)nvl;
    }
    if (m->ingress[dst] < 0 || (nvl && !m->ingress_nvl[dst])) {
      m->ingress[dst] = res[nres - 1];
      m->ingress_nvl[dst] = (unsigned char)nvl;
    }
  }
}

int netmodel_nresources(const struct netmodel *m) { return (int)m->capacity->len; }
const double *netmodel_capacities(const struct netmodel *m) { return (const double *)(void *)m->capacity->data; }
const char *netmodel_resource_name(const struct netmodel *m, int i) { return g_ptr_array_index(m->names, i); }
const struct netmodel_params *netmodel_get_params(const struct netmodel *m) { return m->p; }
int netmodel_nranks(const struct netmodel *m) { return m->nranks; }

/* Graph index of the GPU a rank runs on. */
static int rank_gpu(const struct topo_system *sys, const struct comm_info *c, int r) {
  int node = c->rank_node ? c->rank_node[r] : 0;
  int dev = c->rank_dev ? c->rank_dev[r] : r;
  GPtrArray *gpus = sys->nodes[TOPO_NODE_GPU];
  for (guint i = 0; gpus && i < gpus->len; i++) {
    const struct topo_node *n = g_ptr_array_index(gpus, i);
    if (n->node != node || n->device < 0 || n->device >= sys->ngpus) continue;
    if (sys->gpus[n->device].dev == dev) return (int)i;
  }
  return -1;
}

static enum netmodel_route_kind kind_of(enum topo_path_type t) {
  if (t <= TOPO_PATH_NVB) return ROUTE_NVLINK;
  if (t < TOPO_PATH_NET) return ROUTE_PCI;
  return ROUTE_NET;
}

/* Resource of a directed link, created the first time a route crosses it. */
static int link_resource(struct netmodel *m, GHashTable *seen, const struct topo_link *l,
                         const struct topo_node *from) {
  gpointer v;
  if (g_hash_table_lookup_extended(seen, l, NULL, &v)) return GPOINTER_TO_INT(v);
  char *name = g_strdup_printf("%s%d->%s%d (%s)", topo_node_type_name(from ? from->type : TOPO_NODE_GPU),
                               from ? from->index : -1, topo_node_type_name(l->remote->type), l->remote->index,
                               topo_link_type_name(l->type));
  int id = netmodel_add_resource(m, name, l->bw);
  g_free(name);
  g_hash_table_insert(seen, (gpointer)l, GINT_TO_POINTER(id));
  return id;
}

static int append_path(struct netmodel *m, GHashTable *seen, const struct topo_system *sys,
                       enum topo_node_type st, int s, const struct topo_path *p, int *res, int n) {
  GPtrArray *arr = sys->nodes[st];
  const struct topo_node *from = arr && s >= 0 && (guint)s < arr->len ? g_ptr_array_index(arr, s) : NULL;
  for (int h = 0; h < p->nhops && n < NETMODEL_MAX_HOPS; h++) {
    res[n++] = link_resource(m, seen, p->hops[h], from);
    from = p->hops[h]->remote;
  }
  return n;
}

/* The NIC a GPU uses to leave its node: the closest one (lowest path type, then widest, then first). */
static int best_net(const struct topo_system *sys, int gpu, int node) {
  GPtrArray *nets = sys->nodes[TOPO_NODE_NET];
  int best = -1;
  const struct topo_path *bp = NULL;
  for (guint i = 0; nets && i < nets->len; i++) {
    const struct topo_node *n = g_ptr_array_index(nets, i);
    if (n->node != node) continue;
    const struct topo_path *p = topo_path_get(sys, TOPO_NODE_GPU, gpu, TOPO_NODE_NET, (int)i);
    if (!p || p->type >= TOPO_PATH_DIS) continue;
    if (!bp || p->type < bp->type || (p->type == bp->type && p->bw > bp->bw)) {
      bp = p;
      best = (int)i;
    }
  }
  return best;
}

/* How many tree streams each rank sends over the first c channels (a leaf one, to its parent; a middle
 * rank two; a root one per child): what the LL128 tree channel loss follows. */
static void count_tree_sends(struct netmodel *m, const struct comm_info *comm) {
  int nch = comm->nchannels, stride = nch + 1;
  if (nch <= 0 || !comm->channels) return;
  m->tree_nchannels = nch;
  m->tree_sends = g_new0(int, (size_t)m->nranks * (size_t)stride);
  for (int r = 0; r < m->nranks; r++)
    for (int c = 0; c < nch; c++) {
      const struct comm_tree_node *t = comm->channels[c].tree ? &comm->channels[c].tree[r] : NULL;
      int n = t && t->up >= 0;
      for (int k = 0; t && k < COMM_MAX_TREE_ARITY; k++) n += t->down[k] >= 0;
      m->tree_sends[r * stride + c + 1] = m->tree_sends[r * stride + c] + n;
    }
}

/* Chunk j of every Simple send/recv channel that leaves its GPU through an NVLink link shares
 * link - (link - first) / (j + 1) with the same chunk of the other channels through that link: they
 * start in step, and each chunk hand-over scatters them further (docs/netmodel.md, "Send/recv over
 * NVLink"). Added after the links so that those keep the first resource indices. */
static void add_p2p_lockstep(struct netmodel *m) {
  if (!(m->p->p2p_first_share > 0)) return;
  int nlinks = (int)m->capacity->len;
  m->nlinks = nlinks;
  m->p2p_first = g_new(int, nlinks > 0 ? nlinks : 1);
  m->nvl_peers = g_new0(int, m->nranks > 0 ? m->nranks : 1);
  for (int i = 0; i < nlinks; i++) m->p2p_first[i] = -1;
  for (size_t k = 0; k < (size_t)m->nranks * (size_t)m->nranks; k++) {
    const struct route *r = &m->routes[k];
    if (r->kind != ROUTE_NVLINK || r->n < 1) continue;
    m->nvl_peers[k / (size_t)m->nranks]++;
    int first_hop = g_array_index(m->hops, int, r->at);
    if (m->p2p_first[first_hop] >= 0) continue;
    double link = g_array_index(m->capacity, double, first_hop) / (m->p->link_eff * 1e-3);
    double first = link * m->p->p2p_first_share;
    for (int j = 0; j < P2P_LOCKSTEP_CHUNKS; j++) {
      char *name = g_strdup_printf("%s, p2p chunk %d", (const char *)g_ptr_array_index(m->names, first_hop), j);
      int id = netmodel_add_resource(m, name, link - (link - first) / (j + 1));
      if (j == 0) m->p2p_first[first_hop] = id;
      g_free(name);
    }
  }
}

/* NCCL's SHM transport has the receiving GPU read the data out of host memory, and reads across PCIe
 * reach only part of what writes do: each receiver of SHM routes gets one resource at that share of its
 * PCI path (shm_read_efficiency), which its SHM routes end with. Made after the links and the send/recv
 * chunk shares so that those keep their indices. */
static void add_shm_reads(struct netmodel *m, const double *read_bw) {
  if (!(m->p->shm_read_eff > 0)) return;
  for (int b = 0; b < m->nranks; b++) {
    if (!(read_bw[b] > 0)) continue;
    char *name = g_strdup_printf("rank %d reads from host memory (SHM)", b);
    int id = netmodel_add_resource(m, name, read_bw[b] * m->p->shm_read_eff);
    g_free(name);
    for (int a = 0; a < m->nranks; a++) {
      const struct route *r = &m->routes[(size_t)a * m->nranks + b];
      if (a == b || r->kind != ROUTE_SHM || r->n >= NETMODEL_MAX_HOPS) continue;
      int res[NETMODEL_MAX_HOPS];
      memcpy(res, &g_array_index(m->hops, int, r->at), (size_t)r->n * sizeof(int));
      res[r->n] = id;
      netmodel_set_route(m, a, b, ROUTE_SHM, r->n + 1, res);
    }
  }
}

struct netmodel *netmodel_new(const struct netmodel_params *p, const struct topo_system *sys,
                              const struct comm_info *comm, GError **err) {
  int n = comm->nranks;
  struct netmodel *m = netmodel_new_empty(p, n);
  int *gpu = g_new(int, n);
  for (int r = 0; r < n; r++) {
    gpu[r] = rank_gpu(sys, comm, r);
    if (gpu[r] < 0) {
      g_set_error(err, NETMODEL_ERROR, 1, "rank %d (node %d, device %d) has no GPU in topology %s", r,
                  comm->rank_node ? comm->rank_node[r] : 0, comm->rank_dev ? comm->rank_dev[r] : r,
                  sys->source ? sys->source : "(memory)");
      g_free(gpu);
      netmodel_free(m);
      return NULL;
    }
  }
  const struct topo_node *gpu0 = n > 0 ? g_ptr_array_index(sys->nodes[TOPO_NODE_GPU], gpu[0]) : NULL;
  const struct topo_gpu_part *part = gpu0 ? topo_gpu_part(sys->gpus[gpu0->device].pci.device) : NULL;
  if (part && p->one_ref_mem > 0) m->one_mem_scale = part->mem_tbs / p->one_ref_mem;
  GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  int res[NETMODEL_MAX_HOPS];
  double *shm_read_bw = g_new0(double, n > 0 ? n : 1); /* per receiver of SHM routes: its PCI path, GB/s */
  for (int a = 0; a < n; a++) {
    for (int b = 0; b < n; b++) {
      if (a == b) continue;
      int na = comm->rank_node ? comm->rank_node[a] : 0, nb = comm->rank_node ? comm->rank_node[b] : 0;
      const struct topo_path *pth = topo_path_get(sys, TOPO_NODE_GPU, gpu[a], TOPO_NODE_GPU, gpu[b]);
      if (na == nb && comm_transport_between(comm, a, b) == TRANSPORT_SHM) {
        /* NCCL's SHM transport: the sender writes into host memory, the receiver reads it from there,
         * so the data crosses the sender's way up to its CPU and the way down to the receiver */
        const struct topo_node *ga = g_ptr_array_index(sys->nodes[TOPO_NODE_GPU], gpu[a]);
        int cpu = ga->device >= 0 && ga->device < sys->ngpus ? sys->gpus[ga->device].cpu : -1;
        const struct topo_path *up = cpu >= 0 ? topo_path_get(sys, TOPO_NODE_GPU, gpu[a], TOPO_NODE_CPU, cpu) : NULL;
        const struct topo_path *down = cpu >= 0 ? topo_path_get(sys, TOPO_NODE_CPU, cpu, TOPO_NODE_GPU, gpu[b]) : NULL;
        if (up && down) {
          int k = append_path(m, seen, sys, TOPO_NODE_GPU, gpu[a], up, res, 0);
          k = append_path(m, seen, sys, TOPO_NODE_CPU, cpu, down, res, k);
          netmodel_set_route(m, a, b, ROUTE_SHM, k, res);
          shm_read_bw[b] = down->bw;
          continue;
        }
      }
      if (na == nb && pth && pth->type < TOPO_PATH_NET && pth->type != TOPO_PATH_DIS) {
        int k = append_path(m, seen, sys, TOPO_NODE_GPU, gpu[a], pth, res, 0);
        netmodel_set_route(m, a, b, kind_of(pth->type), k, res);
        continue;
      }
      /* Across nodes: out through the sender's NIC, back in through the receiver's. */
      int xa = best_net(sys, gpu[a], na), xb = best_net(sys, gpu[b], nb);
      const struct topo_path *out = xa >= 0 ? topo_path_get(sys, TOPO_NODE_GPU, gpu[a], TOPO_NODE_NET, xa) : NULL;
      const struct topo_path *in = xb >= 0 ? topo_path_get(sys, TOPO_NODE_NET, xb, TOPO_NODE_GPU, gpu[b]) : NULL;
      if (!out || !in) {
        g_set_error(err, NETMODEL_ERROR, 1, "no path from rank %d to rank %d in topology %s (no NIC reachable?)",
                    a, b, sys->source ? sys->source : "(memory)");
        g_hash_table_destroy(seen);
        g_free(gpu);
        g_free(shm_read_bw);
        netmodel_free(m);
        return NULL;
      }
      int k = append_path(m, seen, sys, TOPO_NODE_GPU, gpu[a], out, res, 0);
      k = append_path(m, seen, sys, TOPO_NODE_NET, xb, in, res, k);
      netmodel_set_route(m, a, b, ROUTE_NET, k, res);
    }
  }
  g_hash_table_destroy(seen);
  g_free(gpu);
  add_p2p_lockstep(m);
  add_shm_reads(m, shm_read_bw);
  count_tree_sends(m, comm);
  g_free(shm_read_bw);
  return m;
}

/* A Simple ring or chain step's channel rate: the thread block's time per byte is the sum of what
 * its primitive does with the byte. Measured on one channel, reduce chains (recvReduceSend) run
 * as fast as plain sends, so reducing adds nothing of its own (docs/netmodel.md). */
static double ring_step_rate(const struct netmodel_params *p, const struct op *op) {
  if (op->transport == TRANSPORT_LOCAL) return p->ring_recv_copy_bw;
  int stores = op->kind == OPK_COPY_SEND || op->kind == OPK_RECV_COPY_SEND || op->kind == OPK_RECV_REDUCE_COPY_SEND;
  return 1.0 / (1.0 / p->ring_send_bw + (stores ? 1.0 / p->ring_store_bw : 0.0));
}

/* Ring collectives in which every rank starts with a send to the next (the chains of broadcast and
 * reduce start with one sender, whose receiver waits to receive). Their first Simple step waits for
 * the receiver's hand-over at the start of the call (ring_first_step_wait_us; measured chains show
 * no such wait, docs/netmodel.md "Small Simple rings"). */
static int ring_all_send_first(enum comm_op op) {
  return op == OP_ALL_REDUCE || op == OP_ALL_GATHER || op == OP_REDUCE_SCATTER;
}

/* Channel c of a call's k channels runs 1 + channel_rate_spread x c/(k-1) times faster than the
 * measured rate (the slowest channel keeps it): see netmodel_op_cost. */
static double channel_speed(const struct netmodel_params *p, const struct comm_decision *d, const struct op *op) {
  if (d->nchannels <= 1) return 1.0;
  return 1.0 + p->chan_spread * (double)(op->channel % d->nchannels) / (double)(d->nchannels - 1);
}

/* A Simple block's rate with `threads` threads against the rate measured at full size: in proportion
 * up to simple_full_rate_threads, then flat (measured 96-544 threads, docs/netmodel.md). */
static double simple_block_scale(const struct netmodel_params *p, double threads) {
  double full = p->simple_full_threads > 0 ? p->simple_full_threads : p->chan_threads[PROTO_SIMPLE];
  return threads < full ? threads / full : 1.0;
}

/* A flag-protocol (LL, LL128) primitive's rate with `threads` threads against its full block's. Each
 * thread moves one line per round trip. A primitive that loads its input from memory waits for that
 * load every line, so its rate follows the threads; one that only takes the lines its peer pushed into
 * the receive FIFO is limited by its stores as much: t (knee + full) / (full (knee + t)) of the full
 * rate, knee being the thread count at which latency and stores cost alike (measured for LL:
 * docs/netmodel.md, "Threads per block"). */
static double flag_block_scale(const struct netmodel_params *p, int proto, int kind, double threads) {
  double full = p->chan_threads[proto];
  if (threads >= full) return 1.0;
  int fifo_only = kind == OPK_RECV || kind == OPK_RECV_COPY_SEND;
  double knee = proto == PROTO_LL && fifo_only ? p->ll_recv_thread_knee : 0;
  return knee > 0 ? threads * (knee + full) / (full * (knee + threads)) : threads / full;
}

/* A Simple tree all-reduce step's channel rate. NCCL 2.28 (all_reduce.h runTreeSplit) gives the
 * reduction up the tree nthreads/2 threads (64 more from 256 on) and the broadcast down the rest; the
 * root runs recvReduceCopySend with the whole block. Each group's primitive costs what it costs in a
 * ring step, at its share of the threads the ring rates were measured with. */
static double tree_step_rate(const struct netmodel_params *p, const struct op *op, double threads) {
  int up = (int)threads / 2;
  if (up >= 256) up += 64;
  double group = threads;
  if (op->kind == OPK_SEND || op->kind == OPK_RECV_REDUCE_SEND) group = up;
  else if (op->kind == OPK_RECV_COPY_SEND) group = threads - up;
  /* in proportion to the group's threads against those the ring rates were measured with: this fits
   * the forced-tree runs (640 threads), where sharing one saturated block's rate between the groups
   * comes out 10-18% slow at 8-32 MiB, although a lone ring block is within 2% of its full rate from
   * 288 threads on (simple_block_scale); not reconciled (docs/netmodel.md, Known limits) */
  return ring_step_rate(p, op) * group / p->chan_threads[PROTO_SIMPLE];
}

/* The per-primitive rates of an LL or LL128 block, or NULL where the file gives none. */
static const double *flag_steps(const struct netmodel_params *p, int proto) {
  if (proto != PROTO_LL && proto != PROTO_LL128) return NULL;
  return p->flag_step_bw[proto][OPK_SEND] > 0 ? p->flag_step_bw[proto] : NULL;
}

/* An LL or LL128 tree all-reduce step's channel rate. NCCL splits the block into a reduce-up and a
 * broadcast-down group (70/30), yet measured on 2-4 GPU chains with LL the two cost what they would one
 * after the other in the whole block: a rank moving a byte up and a byte down spends both primitives'
 * time on it (the leaf: send and receive; a middle rank: recvReduceSend and recvCopySend). The root runs
 * recvReduceCopySend alone. LL128 trees do not follow their primitives (they run 17-38% slower than
 * that, and lose more with every channel added than rings do), so where the file has them they take
 * the rates measured on whole trees (docs/netmodel.md, "Trees"). */
static double flag_tree_step_rate(const struct netmodel *m, int proto, const double *bw,
                                  const struct comm_decision *d, const struct op *op) {
  const struct netmodel_params *p = m->p;
  int kind = op->kind < OPK_COUNT ? op->kind : OPK_SEND;
  int middle = kind == OPK_RECV_REDUCE_SEND || kind == OPK_RECV_COPY_SEND;
  if (proto == PROTO_LL128 && p->ll128_tree_end_bw > 0) {
    /* the streams the sending rank keeps up over the call's channels; without the trees, one per channel */
    int nch = d->nchannels > 0 ? d->nchannels : 1;
    double streams = nch;
    if (m->tree_sends && nch <= m->tree_nchannels && op->rank_src >= 0 && op->rank_src < m->nranks)
      streams = m->tree_sends[op->rank_src * (m->tree_nchannels + 1) + nch];
    double loss = 1.0 + p->ll128_tree_chan_loss * sqrt(streams > 1 ? streams - 1 : 0);
    return (middle ? p->ll128_tree_mid_bw : p->ll128_tree_end_bw) / loss;
  }
  int other = -1;
  switch (kind) {
  case OPK_SEND: other = OPK_RECV; break;
  case OPK_RECV: other = OPK_SEND; break;
  case OPK_RECV_REDUCE_SEND: other = OPK_RECV_COPY_SEND; break;
  case OPK_RECV_COPY_SEND: other = OPK_RECV_REDUCE_SEND; break;
  default: break;
  }
  return other < 0 ? bw[kind] : 1.0 / (1.0 / bw[kind] + 1.0 / bw[other]);
}

/* Latency, lockstep slowdown and lockstep share of a Simple send/recv chunk over NVLink (its route and
 * rate cap already in out). Chunk j of each of c channels writing in step runs 1 + loss x (c-1)/(j+1)
 * times slower, as a queue that fills with every channel added and empties as they scatter. */
static void p2p_simple_nvlink_cost(const struct netmodel *m, const struct comm_decision *d, const struct op *op,
                                   struct netmodel_cost *out) {
  out->latency_ps = netmodel_us_to_ps(op->step == 0 ? m->p->p2p_first_lat : m->p->p2p_step_lat);
  if (op->step < 0 || op->step >= P2P_LOCKSTEP_CHUNKS) return;
  if (d) {
    /* the channels writing in step: the call's channels per peer, times the peers an alltoall
     * reaches over NVLink at once */
    int peers = d->op == OP_ALLTOALL && m->nvl_peers ? MAX(m->nvl_peers[op->rank_src], 1) : 1;
    int c = (d->nchannels > 0 ? d->nchannels : 1) * peers;
    out->cap /= 1.0 + m->p->p2p_lockstep_loss * (c - 1) / (op->step + 1);
  }
  int hop = out->nres > 0 ? out->res[0] : -1;
  if (m->p2p_first && hop >= 0 && hop < m->nlinks && m->p2p_first[hop] >= 0 && out->nres < NETMODEL_MAX_HOPS)
    out->res[out->nres++] = m->p2p_first[hop] + op->step;
}

/* Whether calls on m are one-rank calls timed by the one_rank parameters (docs/netmodel.md, "One rank"). */
static int one_rank_model(const struct netmodel *m) { return m->nranks == 1 && m->p->one_copy_bw > 0; }

/* The one copy of a one-rank call (plan_build): what runs it sets its rate and fixed cost, measured
 * whole on one GPU (docs/netmodel.md, "One rank"). */
static void one_rank_cost(const struct netmodel *m, const struct comm_decision *d, const struct op *op,
                          struct netmodel_cost *out) {
  const struct netmodel_params *p = m->p;
  double bw = p->one_copy_bw, lat = p->one_copy_lat;
  if (d && d->op == OP_SENDRECV) {
    bw = p->one_self_bw;
    lat = p->one_self_lat;
  } else if (d && comm_premul_reduction(d)) {
    bw = p->one_kernel_bw;
    lat = p->one_kernel_lat;
  }
  out->bytes = (double)op->payload_bytes;
  out->cap = bw * m->one_mem_scale * 1e-3;
  out->latency_ps = netmodel_us_to_ps(lat);
  out->release_frac = 1;
}

void netmodel_op_cost(const struct netmodel *m, const struct comm_decision *d, const struct op *op,
                      struct netmodel_cost *out) {
  const struct netmodel_params *p = m->p;
  int proto = op->protocol < PROTO_COUNT ? op->protocol : PROTO_SIMPLE;
  memset(out, 0, sizeof *out);
  enum netmodel_route_kind kind = ROUTE_NVLINK;
  int in_range = op->rank_src >= 0 && op->rank_dst >= 0 && op->rank_src < m->nranks && op->rank_dst < m->nranks;
  if (op->transport == TRANSPORT_NVLS && in_range) {
    /* NVLink SHARP: the switch reduces (multimem.ld_reduce) and replicates (multimem.st). A reduce op
     * r -> head loads only r's link out; a multicast op head -> r loads only r's link in; the head's
     * own op of each kind carries the one payload the head itself sends or receives. */
    int r = op->kind == OPK_SEND ? op->rank_src : op->rank_dst;
    int n = 0;
    if (op->rank_src == op->rank_dst) {
      if (m->egress[r] >= 0) out->res[n++] = m->egress[r];
      if (m->ingress[r] >= 0) out->res[n++] = m->ingress[r];
    } else if (op->kind == OPK_SEND) {
      if (m->egress[r] >= 0) out->res[n++] = m->egress[r];
    } else if (m->ingress[r] >= 0) {
      out->res[n++] = m->ingress[r];
    }
    out->nres = n;
  } else if (in_range && op->rank_src != op->rank_dst) {
    const struct route *r = &m->routes[(size_t)op->rank_src * m->nranks + op->rank_dst];
    kind = r->kind;
    out->nres = r->n;
    memcpy(out->res, &g_array_index(m->hops, int, r->at), (size_t)r->n * sizeof(int));
  }
  if (one_rank_model(m) && op->transport == TRANSPORT_LOCAL) {
    one_rank_cost(m, d, op, out);
    return;
  }
  double wire = op->wire_bytes > 0 ? (double)op->wire_bytes : (double)op->payload_bytes * p->wire_factor[proto];
  /* multimem loads and stores move less payload per link byte than plain stores (NCCL's own model
   * derates NVLS by a per-generation efficiency); the channel's payload rate cap is unchanged */
  double nvls_factor = op->transport == TRANSPORT_NVLS && p->nvls_eff > 0 ? 1.0 / p->nvls_eff : 1.0;
  wire *= nvls_factor;
  out->bytes = op->payload_bytes > 0 || op->wire_bytes > 0 ? wire : 0;
  int p2p = d && (d->op == OP_SENDRECV || d->op == OP_ALLTOALL);
  double threads = d && d->nthreads > 0 ? d->nthreads : p->chan_threads[proto];
  double scale = p2p ? 1.0 : proto == PROTO_SIMPLE ? simple_block_scale(p, threads)
                                                      : flag_block_scale(p, proto, op->kind, threads);
  double rate = p2p ? p->p2p_chan_bw[proto] : p->chan_bw[proto];
  const double *steps = p2p || op->transport == TRANSPORT_NVLS ? NULL : flag_steps(p, proto);
  if (steps) {
    /* what the block does with each byte: receive-only steps (local ops) cost their loads and stores
     * too */
    rate = steps[op->kind < OPK_COUNT ? op->kind : OPK_SEND];
  } else if (proto != PROTO_SIMPLE && op->transport == TRANSPORT_LOCAL) {
    out->bytes = 0; /* a file without the table leaves LL and LL128 receive-only steps free */
  }
  double speed = 1.0;
  int ring = !p2p && d && d->algo == ALGO_RING, simple_ring = ring && proto == PROTO_SIMPLE;
  if ((simple_ring && p->ring_send_bw > 0) || (ring && steps)) {
    if (proto == PROTO_SIMPLE) rate = ring_step_rate(p, op);
    /* Channels start together and, alike, would idle the link together during their receive
     * copies and flag hand-overs; on the device they drift apart and fill it. A small fixed spread of
     * block speeds across the call's channels (the slowest at the measured rate) lets them drift. */
    speed = channel_speed(p, d, op);
    rate *= speed;
  } else if (p2p && proto == PROTO_SIMPLE && kind != ROUTE_NVLINK && d) {
    /* the same drift for send/recv channels sharing a PCIe or network path, whose flag hand-overs are
     * long next to a chunk's data: in step, they would all wait for their flags at once */
    speed = channel_speed(p, d, op);
    rate *= speed;
  }
  int tree = !p2p && d && d->algo == ALGO_TREE;
  if (tree && proto == PROTO_SIMPLE && d->op == OP_ALL_REDUCE && p->ring_send_bw > 0) {
    rate = tree_step_rate(p, op, threads);
    scale = 1.0;
  } else if (tree && steps && d->op == OP_ALL_REDUCE) {
    rate = flag_tree_step_rate(m, proto, steps, d, op);
  }
  /* through host memory a channel reaches less than over NVLink (the receiver polls and reads across
   * PCIe); the channel spread still applies */
  if (kind == ROUTE_SHM && p->shm_chan_bw[proto] > 0 && rate * scale > p->shm_chan_bw[proto] * speed)
    rate = p->shm_chan_bw[proto] * speed / scale;
  out->cap = rate * scale * p->wire_factor[proto] * nvls_factor * 1e-3;
  if (op->transport == TRANSPORT_LOCAL) {
    /* a copy within the rank (rank_src == rank_dst, so no route above): no link, no synchronisation
     * of its own (the data's arrival is its dependency) */
    out->release_frac = 1;
    return;
  }
  /* a faster block also handles its flags faster; were only the data rates spread, channels that all
   * wait for the link (chains on a full link) would keep pausing for their flags in the same instants */
  out->latency_ps = netmodel_us_to_ps(p->step_lat[kind][proto] / speed);
  /* a Simple ring slice without data (the rest of a small chunk: NCCL makes a slice at least 1/32 of a
   * step pair) only posts the step counter, with no data to wait for and no fence before it; a tree hop
   * keeps its own latency, measured whole */
  if (simple_ring && out->bytes <= 0 && p->simple_empty_slice_lat > 0)
    out->latency_ps = netmodel_us_to_ps(p->simple_empty_slice_lat / speed);
  if (p2p && proto == PROTO_SIMPLE && kind == ROUTE_NVLINK && p->p2p_first_share > 0) {
    /* Measured on 2x H200 with 1-16 channels and 128 KiB-2 MiB chunks (docs/netmodel.md): each chunk
     * after the first costs a flag hand-over; the first waits for the receiver's buffer. While a rank's
     * channels write their first chunks in step they share far less than the link, and the loss fades
     * over the next chunks as the hand-overs scatter them */
    p2p_simple_nvlink_cost(m, d, op, out);
  }
  out->release_frac = p->forward_frac[proto];
  if (tree) {
    if (kind == ROUTE_NVLINK && p->tree_step_lat[proto] > 0)
      out->latency_ps = netmodel_us_to_ps(p->tree_step_lat[proto]);
    /* a tree chunk is one Simple step (ProtoSimple<1,1>), whose flag goes up once all of it is
     * written: a hop forwards whole chunks (measured: the 4-GPU chain at 2-8 MiB, docs/netmodel.md) */
    if (proto == PROTO_SIMPLE) out->release_frac = 1.0;
  }
  /* Simple writes straight into the buffer the receiver hands over for the call (NCCL's direct
   * pointer exchange), so a sender cannot start a call before its receiver has; LL and LL128 write
   * flagged lines into the receiver's FIFO, which stays valid from call to call */
  out->needs_receiver = proto == PROTO_SIMPLE;
  if (simple_ring && op->step == 0 && ring_all_send_first(d->op))
    out->after_receiver_start_ps = netmodel_us_to_ps(p->ring_first_step_wait);
}

uint64_t netmodel_host_ps(const struct netmodel *m, const struct comm_decision *d, int nlocal, size_t nops) {
  const struct netmodel_params *p = m->p;
  enum comm_op op = d->op;
  if (one_rank_model(m)) {
    /* one rank: nothing launched in place, a copy out of place, or only NCCL's small kernel for a
     * pre-multiplied sum; send/recv to itself goes through the usual p2p enqueue */
    if (nops == 0) return netmodel_us_to_ps(op == OP_SENDRECV ? p->one_noop_p2p_host : p->one_noop_host);
    if (op != OP_SENDRECV) return netmodel_us_to_ps(comm_premul_reduction(d) ? p->one_kernel_host : p->one_copy_host);
  }
  /* NCCL builds per-channel work for every peer a GPU sends to: alltoall sends to all nranks, itself
   * included (a local copy on a channel like the others) */
  int peers = op == OP_ALLTOALL && m->nranks > 1 ? m->nranks : 1;
  double per_channel = p->host_channel * (d->nchannels > 0 ? d->nchannels : 1) * nlocal * peers;
  if (op == OP_SENDRECV || op == OP_ALLTOALL)
    return netmodel_us_to_ps(p->p2p_host_group + p->p2p_host_call * nlocal + per_channel);
  return netmodel_us_to_ps(p->host_group + p->host_call * nlocal + per_channel);
}

uint64_t netmodel_graph_host_ps(const struct netmodel *m, int nlocal) {
  return netmodel_us_to_ps(m->p->graph_call * (nlocal > 0 ? nlocal : 1));
}

int netmodel_runs_kernels(const struct netmodel *m) { return !one_rank_model(m); }

int netmodel_streams(const struct netmodel *m, const struct op *producer, const struct op *consumer) {
  (void)m;
  return producer->rank_dst == consumer->rank_src &&
         producer->rank_src != consumer->rank_src;
}
