/* simtime_model.c — the simulator inside libhacknccl.so (see simtime_model.h). Owns the network model
 * parameters, one struct comm_info + struct netmodel per communicator (built from NCCL's device-side
 * communicator of every rank), and the cache of simulated durations. Called with simtime's lock held.
 */
#include "simtime_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "capture_nccl_abi.h"
#include "comm.h"
#include "netmodel.h"
#include "plan.h"
#include "platform_hooks.h"
#include "simulate.h"
#include "vplat.h"

struct model_comm {
  struct comm_info comm;
  struct netmodel *model;
  GHashTable *durations; /* decision key -> struct call_time */
};

static struct netmodel_params *params;
static bool params_failed;
static char params_error[256];
static GHashTable *comms; /* comm id -> struct model_comm* */

static const struct netmodel_params *get_params(void) {
  if (params || params_failed) return params;
  const struct vplat *vp = vplat_get();
  int sm = vp && vp->ngpus > 0 ? vp->gpus[0].cc_major * 10 + vp->gpus[0].cc_minor : 90;
  GError *err = NULL;
  char *path = netmodel_params_find(sm, &err);
  if (path) params = netmodel_params_load(path, &err);
  g_free(path);
  if (!params) {
    params_failed = true;
    snprintf(params_error, sizeof params_error, "no network model parameters: %s", err ? err->message : "?");
    g_clear_error(&err);
  }
  return params;
}

int64_t simtime_model_host_ns(bool p2p, int ncalls) {
  const struct netmodel_params *p = get_params();
  if (!p || ncalls <= 0) return 0;
  double us = p2p ? p->p2p_host_group + p->p2p_host_call * ncalls : p->host_group + p->host_call * ncalls;
  return (int64_t)(us * 1000.0 + 0.5);
}

int64_t simtime_model_host_channel_ns(int nchannels) {
  const struct netmodel_params *p = get_params();
  if (!p || nchannels <= 0) return 0;
  return (int64_t)(p->host_channel * nchannels * 1000.0 + 0.5);
}

static bool is_permutation(const int *v, int n) {
  if (!v || n <= 0) return false;
  bool *hit = g_new0(bool, n);
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    if (v[i] < 0 || v[i] >= n || hit[v[i]]) ok = false;
    else hit[v[i]] = true;
  }
  g_free(hit);
  return ok;
}

/* The communicator as NCCL built it, from every rank's device-side struct (all ranks must be present). */
static bool build_comm(int nranks, const struct simtime_member *m, int n, struct comm_info *c, char *why,
                       size_t whylen) {
  memset(c, 0, sizeof *c);
  if (n != nranks) {
    snprintf(why, whylen, "only %d of the communicator's %d ranks run in this process (multi-process "
             "communicators are not simulated in-process)", n, nranks);
    return false;
  }
  for (int r = 0; r < n; r++)
    if (!m[r].devcomm || m[r].rank != r) {
      snprintf(why, whylen, "NCCL's device-side communicator of rank %d could not be read", r);
      return false;
    }
  const struct nccl_dev_comm *d0 = m[0].devcomm;
  const struct nccl_dev_channel *ch = d0->channels;
  int nch = 0, nvls = 0, collnet = 0, initialised = 0;
  for (int i = 0; i < NCCL_DEV_MAXCHANNELS; i++) {
    if (ch[i].ring.user_ranks) initialised = i + 1;
    if (nch == i && is_permutation(ch[i].ring.user_ranks, nranks)) nch = i + 1;
    if (nvls == i && ch[i].nvls.nheads > 0) nvls = i + 1;
    if (collnet == i && ch[i].collnet_direct.nheads > 0) collnet = i + 1;
  }
  int per_peer = 0;
  for (int peer = 0; peer < nranks; peer++) {
    if (peer == d0->rank) continue;
    int cnt = 0;
    for (int i = 0; i < initialised; i++) {
      if (!ch[i].peers || !ch[i].peers[peer]) continue;
      const struct nccl_dev_channel_peer *p = ch[i].peers[peer];
      if (p->send[NCCL_DEV_P2P_CONN].buffs[NCCL_DEV_PROTO_SIMPLE] || p->recv[NCCL_DEV_P2P_CONN].buffs[NCCL_DEV_PROTO_SIMPLE])
        cnt++;
    }
    if (cnt > per_peer) per_peer = cnt;
  }
  c->nranks = nranks;
  c->nnodes = d0->nnodes;
  c->nchannels = nch;
  c->nvls_channels = nvls;
  c->collnet_channels = collnet;
  int p2p = 1;
  while (p2p * 2 <= initialised) p2p *= 2;
  c->p2p_nchannels = p2p;
  c->p2p_nchannels_per_peer = per_peer > 0 ? per_peer : 1;
  c->p2p_chunk_size = (size_t)d0->p2p_chunk_size;
  for (int p = 0; p < PROTO_COUNT; p++) c->buff_size[p] = (size_t)d0->buff_sizes[p];
  c->rank_node = g_new0(int, nranks);
  c->rank_dev = g_new0(int, nranks);
  c->channels = g_new0(struct comm_channel, nch > 0 ? nch : 1);
  for (int i = 0; i < nch; i++) {
    c->channels[i].ring.order = g_memdup2(ch[i].ring.user_ranks, sizeof(int) * (size_t)nranks);
    c->channels[i].tree = g_new0(struct comm_tree_node, nranks);
  }
  for (int r = 0; r < nranks; r++) {
    const struct nccl_dev_comm *d = m[r].devcomm;
    c->rank_node[r] = d->node;
    c->rank_dev[r] = m[r].dev;
    for (int i = 0; i < nch; i++) {
      const struct nccl_dev_tree *t = &d->channels[i].tree;
      c->channels[i].tree[r].up = t->up;
      for (int k = 0; k < COMM_MAX_TREE_ARITY; k++) c->channels[i].tree[r].down[k] = t->down[k];
    }
  }
  return true;
}

static struct model_comm *comm_model(uint64_t comm_id, int nranks, const struct simtime_member *m, int n, char *why,
                                     size_t whylen) {
  if (!comms) comms = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  gint64 key = (gint64)comm_id;
  struct model_comm *mc = g_hash_table_lookup(comms, &key);
  if (mc) return mc;
  const struct netmodel_params *p = get_params();
  if (!p) {
    g_strlcpy(why, params_error, whylen);
    return NULL;
  }
  const struct topo_system *sys = hack_topology();
  if (!sys) {
    snprintf(why, whylen, "no topology loaded");
    return NULL;
  }
  mc = g_new0(struct model_comm, 1);
  if (!build_comm(nranks, m, n, &mc->comm, why, whylen)) {
    comm_info_free(&mc->comm);
    g_free(mc);
    return NULL;
  }
  GError *err = NULL;
  mc->model = netmodel_new(p, sys, &mc->comm, &err);
  if (!mc->model) {
    snprintf(why, whylen, "network model: %s", err ? err->message : "?");
    g_clear_error(&err);
    comm_info_free(&mc->comm);
    g_free(mc);
    return NULL;
  }
  mc->durations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  gint64 *k = g_new(gint64, 1);
  *k = key;
  g_hash_table_insert(comms, k, mc);
  return mc;
}

void simtime_model_forget_comm(uint64_t comm_id) {
  if (!comms) return;
  gint64 key = (gint64)comm_id;
  struct model_comm *mc = g_hash_table_lookup(comms, &key);
  if (!mc) return;
  g_hash_table_remove(comms, &key);
  netmodel_free(mc->model);
  comm_info_free(&mc->comm);
  g_hash_table_destroy(mc->durations);
  g_free(mc);
}

static int type_size(const char *dt) {
  if (!dt) return 4;
  if (strstr(dt, "64")) return 8;
  if (strstr(dt, "32")) return 4;
  if (strstr(dt, "16")) return 2;
  if (strstr(dt, "8")) return 1;
  return 4;
}

/* Device time of one call, ns; *lead_ns: how much earlier than that the next call may start when they
 * follow each other back to back (sim_call.device_ps - period_ps). */
struct call_time {
  int64_t duration_ns, lead_ns;
};

static int64_t simulate(struct model_comm *mc, const struct comm_decision *d, bool in_place, int nlocal,
                        int64_t *lead_ns, char *why, size_t whylen) {
  char key[160];
  snprintf(key, sizeof key, "%d/%zu/%d/%d/%d/%d/%d/%d/%d/%d", d->op, d->bytes, d->type_size, d->root, d->algo, d->proto,
           d->nchannels, d->nthreads, in_place, nlocal);
  struct call_time *cached = g_hash_table_lookup(mc->durations, key);
  if (!cached) {
    struct plan_options po = {.coarse = 0, .in_place = in_place};
    struct sim_call sc;
    GError *err = NULL;
    if (sim_decision_estimate(mc->model, &mc->comm, d, &po, nlocal, &sc, &err)) {
      snprintf(why, whylen, "%s of %zu bytes (%s/%s): %s", comm_op_name(d->op), d->bytes,
               d->algo >= 0 ? comm_algo_name(d->algo) : "P2P", d->proto < PROTO_COUNT ? comm_proto_name(d->proto) : "?",
               err ? err->message : "?");
      g_clear_error(&err);
      return -1;
    }
    cached = g_new(struct call_time, 1);
    cached->duration_ns = (int64_t)((sc.device_ps + 500) / 1000);
    cached->lead_ns = (int64_t)((sc.device_ps - sc.period_ps + 500) / 1000);
    g_hash_table_insert(mc->durations, g_strdup(key), cached);
  }
  *lead_ns = cached->lead_ns;
  return cached->duration_ns;
}

/* Send/recv launches: the pattern of all ranks' sends, as the op the decomposition knows. */
static bool p2p_decision(int nranks, const struct simtime_member *m, int n, struct comm_decision *d) {
  int shift = -1, nsends = -1;
  size_t bytes = 0;
  bool ring = true, all = true;
  for (int i = 0; i < n; i++) {
    int sends = 0;
    for (int k = 0; k < m[i].ntasks; k++) {
      const struct simtime_task *t = &m[i].tasks[k];
      if (strcmp(t->func, "Send")) continue;
      size_t b = t->count * (size_t)type_size(t->datatype);
      if (t->root == m[i].rank) continue; /* a self-send is a local copy */
      sends++;
      int s = ((t->root - m[i].rank) % nranks + nranks) % nranks;
      if (shift < 0) shift = s;
      else if (s != shift) ring = false;
      if (bytes && b != bytes) ring = all = false;
      if (b > bytes) bytes = b;
      d->type_size = type_size(t->datatype);
    }
    if (nsends < 0) nsends = sends;
    if (sends != nsends) ring = all = false;
  }
  if (nsends <= 0) return false;
  d->algo = ALGO_NONE;
  d->proto = PROTO_SIMPLE;
  if (ring && nsends == 1) {
    d->op = OP_SENDRECV;
    d->root = shift;
    d->bytes = d->nccl_bytes = bytes;
  } else if (all && nsends == nranks - 1) {
    d->op = OP_ALLTOALL;
    d->bytes = bytes * (size_t)nranks;
    d->nccl_bytes = bytes;
  } else {
    /* Irregular pattern: timed as the ring exchange of its largest message (documented approximation). */
    d->op = OP_SENDRECV;
    d->root = shift > 0 ? shift : 1;
    d->bytes = d->nccl_bytes = bytes;
  }
  d->count = d->bytes / (size_t)(d->type_size > 0 ? d->type_size : 1);
  return true;
}

void simtime_model_instance(uint64_t comm_id, int nranks, const struct simtime_member *m, int n, int nlocal,
                            struct simtime_outcome *out) {
  memset(out, 0, sizeof *out);
  g_strlcpy(out->op, "none", sizeof out->op);
  struct model_comm *mc = comm_model(comm_id, nranks, m, n, out->why, sizeof out->why);
  if (!mc) return;
  const struct simtime_member *r0 = &m[0];
  int64_t total = 0;
  bool any = false;
  if (r0->ntasks > 0 && r0->tasks[0].p2p) {
    struct comm_decision d;
    memset(&d, 0, sizeof d);
    if (!p2p_decision(nranks, m, n, &d)) {
      out->modelled = true; /* receives only / self copies: nothing crosses a link */
      return;
    }
    for (int a = 0; a < ALGO_COUNT; a++)
      for (int p = 0; p < PROTO_COUNT; p++) d.cost_us[a][p] = -1;
    d.nchannels = r0->tasks[0].nchannels;
    d.nthreads = r0->block;
    int64_t ns = simulate(mc, &d, false, nlocal, &out->lead_ns, out->why, sizeof out->why);
    if (ns < 0) return;
    total = ns;
    any = true;
    g_strlcpy(out->op, comm_op_name(d.op), sizeof out->op);
    g_strlcpy(out->algo, "P2P", sizeof out->algo);
    out->bytes = d.bytes;
    out->nchannels = d.nchannels;
  } else {
    for (int k = 0; k < r0->ntasks; k++) {
      const struct simtime_task *t = &r0->tasks[k];
      int op = comm_op_from_nccl_func(t->func);
      if (op < 0) {
        snprintf(out->why, sizeof out->why, "collective %s is not modelled", t->func);
        return;
      }
      struct comm_decision d;
      memset(&d, 0, sizeof d);
      d.op = (enum comm_op)op;
      d.type_size = type_size(t->datatype);
      d.count = t->count;
      d.nccl_bytes = t->count * (size_t)d.type_size;
      d.bytes = (op == OP_ALL_GATHER || op == OP_REDUCE_SCATTER) ? d.nccl_bytes * (size_t)nranks : d.nccl_bytes;
      d.root = (op == OP_BROADCAST || op == OP_REDUCE) ? t->root : 0;
      int a = comm_algo_parse(t->algo), p = comm_proto_parse(t->proto);
      if (a < 0 || p < 0) {
        snprintf(out->why, sizeof out->why, "unknown algorithm/protocol %s/%s", t->algo, t->proto);
        return;
      }
      d.algo = (enum comm_algo)a;
      d.proto = (enum comm_proto)p;
      d.nchannels = t->nchannels;
      d.nthreads = comm_work_threads(t->nwarps, r0->block);
      for (int x = 0; x < ALGO_COUNT; x++)
        for (int y = 0; y < PROTO_COUNT; y++) d.cost_us[x][y] = -1;
      if (d.count == 0) continue;
      bool in_place = t->sendbuff == t->recvbuff ||
                      (op == OP_ALL_GATHER && (const char *)t->sendbuff == (const char *)t->recvbuff + (size_t)r0->rank * d.nccl_bytes);
      int64_t lead = 0;
      int64_t ns = simulate(mc, &d, in_place, nlocal, &lead, out->why, sizeof out->why);
      if (ns < 0) return;
      total += ns;
      /* grouped calls run one after another in the launch: only the last one's head start carries over */
      out->lead_ns = lead;
      if (!any) {
        g_strlcpy(out->op, comm_op_name(d.op), sizeof out->op);
        g_strlcpy(out->algo, comm_algo_name(d.algo), sizeof out->algo);
        g_strlcpy(out->proto, comm_proto_name(d.proto), sizeof out->proto);
        out->nchannels = d.nchannels;
        out->nthreads = d.nthreads;
      }
      out->bytes += d.bytes;
      any = true;
    }
  }
  out->duration_ns = total;
  out->modelled = true;
}

/* ---- description of the local ranks for the coordinator (multi-process runs, sim/run_coord.h) ---- */

static int leading_channels(const struct nccl_dev_comm *d, int nranks, int *nvls, int *collnet, int *initialised) {
  const struct nccl_dev_channel *ch = d->channels;
  int nch = 0;
  *nvls = *collnet = *initialised = 0;
  for (int i = 0; i < NCCL_DEV_MAXCHANNELS; i++) {
    if (ch[i].ring.user_ranks) *initialised = i + 1;
    if (nch == i && is_permutation(ch[i].ring.user_ranks, nranks)) nch = i + 1;
    if (*nvls == i && ch[i].nvls.nheads > 0) *nvls = i + 1;
    if (*collnet == i && ch[i].collnet_direct.nheads > 0) *collnet = i + 1;
  }
  return nch;
}

void simtime_model_describe(uint64_t comm_id, int nranks, const struct simtime_member *m, int n, GString *out) {
  for (int i = 0; i < n; i++) {
    const struct nccl_dev_comm *d = m[i].devcomm;
    if (!d) continue;
    int nvls, collnet, init;
    int nch = leading_channels(d, nranks, &nvls, &collnet, &init);
    g_string_append_printf(out, "R %llx %d %d %d %d", (unsigned long long)comm_id, m[i].rank, d->node, m[i].dev, nch);
    for (int c = 0; c < nch; c++) {
      const struct nccl_dev_tree *t = &d->channels[c].tree;
      g_string_append_printf(out, " %d %d %d %d", t->up, t->down[0], t->down[1], t->down[2]);
    }
    g_string_append_c(out, '\n');
    if (m[i].rank != 0) continue;
    int p2p = 1;
    while (p2p * 2 <= init) p2p *= 2;
    g_string_append_printf(out, "C %llx %d %d %d %d %d %d %d %d %d %d %d\n", (unsigned long long)comm_id, nranks,
                           d->nnodes, nch, nvls, collnet, p2p, 1, d->p2p_chunk_size, d->buff_sizes[0],
                           d->buff_sizes[1], d->buff_sizes[2]);
    for (int c = 0; c < nch; c++) {
      g_string_append_printf(out, "G %llx %d", (unsigned long long)comm_id, c);
      for (int r = 0; r < nranks; r++) g_string_append_printf(out, " %d", d->channels[c].ring.user_ranks[r]);
      g_string_append_c(out, '\n');
    }
  }
}

void simtime_model_describe_tasks(const struct simtime_member *m, int n, GString *out) {
  const struct simtime_member *m0 = &m[0];
  if (m0->ntasks > 0 && m0->tasks[0].p2p) { /* send/recv: every local rank's sends; last field = sender */
    int nsend = 0;
    for (int i = 0; i < n; i++)
      for (int k = 0; k < m[i].ntasks; k++) nsend += !strcmp(m[i].tasks[k].func, "Send");
    g_string_append_printf(out, " %d", nsend);
    for (int i = 0; i < n; i++)
      for (int k = 0; k < m[i].ntasks; k++) {
        const struct simtime_task *t = &m[i].tasks[k];
        if (strcmp(t->func, "Send")) continue;
        g_string_append_printf(out, " Send %d %zu %d P2P SIMPLE %d %d %d", type_size(t->datatype), t->count, t->root,
                               t->nchannels, m[i].block, m[i].rank);
      }
    return;
  }
  g_string_append_printf(out, " %d", m0->ntasks);
  for (int k = 0; k < m0->ntasks; k++) {
    const struct simtime_task *t = &m0->tasks[k];
    int ts = type_size(t->datatype);
    bool in_place = t->sendbuff == t->recvbuff ||
                    (!strcmp(t->func, "AllGather") &&
                     (const char *)t->sendbuff == (const char *)t->recvbuff + (size_t)m0->rank * t->count * (size_t)ts);
    g_string_append_printf(out, " %s %d %zu %d %s %s %d %d %d", t->func, ts, t->count, t->root,
                           t->p2p ? "P2P" : t->algo, t->p2p ? "SIMPLE" : t->proto, t->nchannels,
                           m0->block > 0 ? m0->block : MAX(t->nwarps * 32, 128), in_place);
  }
}
