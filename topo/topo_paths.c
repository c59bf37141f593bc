/* topo_paths.c — best paths between the nodes of one host, with NCCL's semantics (src/graph/paths.cc):
 * a breadth-first search towards every CPU, GPU, NET and NVSwitch node, then the adjustments NCCL makes
 * without a communicator: GPU pairs without P2P go through the CPU, P2C for C2C+PCI NICs, PXN through a
 * NVLink peer, and NIC traffic through the CPU where GPU Direct RDMA is not possible. */
#include <string.h>
#include "topo_internal.h"

static struct topo_node *host_node(const struct topo_system *sys, int host, enum topo_node_type t, int i) {
  return g_ptr_array_index(sys->nodes[t], sys->hosts[host].first[t] + i);
}

static struct topo_path *ensure_paths(const struct topo_system *sys, struct topo_node *n, enum topo_node_type t) {
  if (!n->paths[t]) {
    int count = sys->hosts[n->node].count[t];
    n->paths[t] = g_new0(struct topo_path, count > 0 ? count : 1);
    for (int i = 0; i < count; i++) n->paths[t][i].type = TOPO_PATH_DIS;
  }
  return n->paths[t];
}

static int max_int(int a, int b) {
  return a > b ? a : b;
}

/* Bus id text of a PCI-addressed node (domain:bus:device.function), for messages. */
static const char *id_text(const struct topo_node *n, char buf[TOPO_BUSID_LEN]) {
  uint64_t id = (uint64_t)n->id & 0x00ffffffffffffffULL;
  g_snprintf(buf, TOPO_BUSID_LEN, "%04" G_GINT64_MODIFIER "x:%02x:%02x.%x", id >> 20, (unsigned)((id >> 12) & 0xff),
             (unsigned)((id >> 4) & 0xff), (unsigned)(id & 0xf));
  return buf;
}

/* Breadth-first search from base, recording in every reached node its path to base. */
static bool set_paths(struct topo_system *sys, struct topo_node *base, GError **err) {
  enum topo_node_type bt = base->type;
  int bi = base->host_index;
  struct topo_path *bp = &ensure_paths(sys, base, bt)[bi];
  bp->nhops = 0;
  bp->bw = TOPO_LOC_BW;
  bp->type = TOPO_PATH_LOC;
  GPtrArray *list = g_ptr_array_new(), *next = g_ptr_array_new();
  g_ptr_array_add(list, base);
  while (list->len) {
    g_ptr_array_set_size(next, 0);
    for (guint n = 0; n < list->len; n++) {
      struct topo_node *node = g_ptr_array_index(list, n);
      struct topo_path *path = &node->paths[bt][bi];
      for (guint l = 0; l < node->links->len; l++) {
        struct topo_link *link = &g_array_index(node->links, struct topo_link, l);
        struct topo_node *rem = link->remote;
        struct topo_path *rp = &ensure_paths(sys, rem, bt)[bi];
        double bw = path->bw < link->bw ? path->bw : link->bw;
        /* Routing through a GPU is allowed only as one NVLink hop to another GPU. */
        if (node != base && node->type == TOPO_NODE_GPU &&
            (link->type != TOPO_LINK_NVL || rem->type != TOPO_NODE_GPU || path->nhops > 1))
          continue;
        if ((rp->bw == 0 || rp->nhops > path->nhops) && rp->bw < bw) {
          const struct topo_link *rev = NULL;
          for (guint r = 0; r < rem->links->len; r++) {
            const struct topo_link *k = &g_array_index(rem->links, struct topo_link, r);
            if (k->remote == node && k->type == link->type) {
              rev = k;
              break;
            }
          }
          if (!rev) {
            char a[TOPO_BUSID_LEN], b[TOPO_BUSID_LEN];
            g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID,
                        "%s: the %s link from %s %s to %s %s has no link back (a <pcilink> needs one in each direction)",
                        sys->source ? sys->source : "topology", topo_link_type_name(link->type),
                        topo_node_type_name(node->type), id_text(node, a), topo_node_type_name(rem->type), id_text(rem, b));
            g_ptr_array_free(list, TRUE);
            g_ptr_array_free(next, TRUE);
            return false;
          }
          const struct topo_link **hops = g_new(const struct topo_link *, path->nhops + 1);
          hops[0] = rev;
          if (path->nhops) memcpy(hops + 1, path->hops, sizeof(*hops) * (size_t)path->nhops);
          g_free(rp->hops);
          rp->hops = hops;
          rp->nhops = path->nhops + 1;
          rp->bw = bw;
          int type = link->type == TOPO_LINK_NET ? TOPO_PATH_LOC : (int)link->type;
          if (node->type == TOPO_NODE_PCI && rem->type == TOPO_NODE_PCI) type = TOPO_PATH_PXB;
          if (link->type == TOPO_LINK_PCI && (node->type == TOPO_NODE_CPU || rem->type == TOPO_NODE_CPU))
            type = TOPO_PATH_PHB;
          if (node->type == TOPO_NODE_GPU && path->type == TOPO_PATH_NVL && type == TOPO_PATH_NVL && rp->nhops > 1)
            type = TOPO_PATH_NVB;
          rp->type = (enum topo_path_type)max_int((int)path->type, type);
          guint i;
          for (i = 0; i < next->len; i++)
            if (g_ptr_array_index(next, i) == rem) break;
          if (i == next->len) g_ptr_array_add(next, rem);
        }
      }
    }
    GPtrArray *t = list;
    list = next;
    next = t;
  }
  g_ptr_array_free(list, TRUE);
  g_ptr_array_free(next, TRUE);
  return true;
}

static int merge_path_type(int a, int b) {
  int mx = max_int(a, b), mn = a < b ? a : b;
  return (mx == TOPO_PATH_PHB && mn == TOPO_PATH_C2C) ? TOPO_PATH_P2C : mx;
}

/* Replaces the path src->dst with src->via->dst (NCCL's addInterStep). */
static void add_inter_step(struct topo_system *sys, int host, enum topo_node_type tx, int ix, enum topo_node_type t1,
                           int i1, enum topo_node_type t2, int i2) {
  struct topo_node *via = host_node(sys, host, tx, ix);
  struct topo_node *src = host_node(sys, host, t1, i1);
  const struct topo_path *a = &src->paths[tx][ix];
  const struct topo_path *b = &via->paths[t2][i2];
  struct topo_path *p = &src->paths[t2][i2];
  const struct topo_link **hops = g_new(const struct topo_link *, a->nhops + b->nhops + 1);
  if (a->nhops) memcpy(hops, a->hops, sizeof(*hops) * (size_t)a->nhops);
  if (b->nhops) memcpy(hops + a->nhops, b->hops, sizeof(*hops) * (size_t)b->nhops);
  int type = merge_path_type((int)a->type, (int)b->type);
  if (tx == TOPO_NODE_GPU) type = TOPO_PATH_PXN;
  double bw = a->bw < b->bw ? a->bw : b->bw;
  g_free(p->hops);
  p->hops = hops;
  p->nhops = a->nhops + b->nhops;
  p->type = (enum topo_path_type)type;
  p->bw = bw;
}

/* The CPU with the fewest hops from a GPU (ncclGetLocalCpu); -1 if none. */
static int gpu_local_cpu(struct topo_system *sys, int host, int g) {
  struct topo_node *gpu = host_node(sys, host, TOPO_NODE_GPU, g);
  int best = -1, min_hops = 0;
  for (int c = 0; c < sys->hosts[host].count[TOPO_NODE_CPU]; c++) {
    int hops = gpu->paths[TOPO_NODE_CPU][c].nhops;
    if (hops > 0 && (min_hops == 0 || hops < min_hops)) {
      best = c;
      min_hops = hops;
    }
  }
  return best;
}

/* Work left for the NIC adjustments of one host: NCCL's local-GPU search is quadratic per NIC-GPU pair,
 * fine for real hosts (microseconds for 8x8) but hostile files with hundreds of each could take hours. */
static _Thread_local long work_left = -1;
#define ADJUST_WORK_LIMIT 300000000L

/* Nodes of type rt closest to (t, i): highest bandwidth, then lowest path type (ncclTopoGetLocal). */
static int get_local(struct topo_system *sys, int host, enum topo_node_type t, int i, enum topo_node_type rt,
                     int *locals) {
  const struct topo_path *paths = host_node(sys, host, t, i)->paths[rt];
  int count = 0, min_type = TOPO_PATH_DIS;
  double max_bw = 0;
  if (!paths) return 0;
  if (work_left >= 0) work_left -= sys->hosts[host].count[rt] > 0 ? sys->hosts[host].count[rt] : 1;
  for (int k = 0; k < sys->hosts[host].count[rt]; k++) {
    if (paths[k].bw > max_bw || (paths[k].bw == max_bw && (int)paths[k].type < min_type)) {
      max_bw = paths[k].bw;
      min_type = (int)paths[k].type;
      count = 0;
    }
    if (paths[k].bw == max_bw && (int)paths[k].type == min_type) locals[count++] = k;
  }
  return count;
}

static bool is_pow2(int v) {
  return (v & (v - 1)) == 0;
}
static int mirror_bits(int val, int pow2) {
  int m = 0;
  for (int b = 1, mb = pow2 >> 1; b < pow2; b <<= 1, mb >>= 1)
    if (val & b) m |= mb;
  return m;
}

/* The NET a GPU uses on a channel under NCCL's default policy (ncclTopoGetLocalNet); -1 if none. */
static int gpu_local_net(struct topo_system *sys, int host, int g, int channel) {
  int nnet = sys->hosts[host].count[TOPO_NODE_NET];
  int ngpu = sys->hosts[host].count[TOPO_NODE_GPU];
  int *nets = g_new(int, nnet + 1), *gpus = g_new(int, ngpu + 1);
  int result = -1;
  int nlocal = get_local(sys, host, TOPO_NODE_GPU, g, TOPO_NODE_NET, nets);
  if (nlocal > 0) {
    int nlocal_gpus = get_local(sys, host, TOPO_NODE_NET, nets[0], TOPO_NODE_GPU, gpus);
    int per_gpu = nlocal_gpus > 0 ? (nlocal + nlocal_gpus - 1) / nlocal_gpus : 1;
    if (per_gpu < 1) per_gpu = 1;
    struct topo_node *gpu = host_node(sys, host, TOPO_NODE_GPU, g);
    int net = sys->gpus[gpu->device].dev;
    if (is_pow2(nlocal)) net = mirror_bits(net, nlocal);
    net += channel % per_gpu;
    result = nets[net % nlocal];
  }
  g_free(nets);
  g_free(gpus);
  return result;
}

/* The GPU that uses a NET first (ncclTopoGetLocalGpu); -1 if none. */
static int net_local_gpu(struct topo_system *sys, int host, int n) {
  int ngpu = sys->hosts[host].count[TOPO_NODE_GPU];
  int *gpus = g_new(int, ngpu + 1);
  int nlocal = get_local(sys, host, TOPO_NODE_NET, n, TOPO_NODE_GPU, gpus);
  int found = -1;
  for (int c = 0; c < 64 && found < 0; c++)
    for (int k = 0; k < nlocal && found < 0; k++)
      if (gpu_local_net(sys, host, gpus[k], c) == n) found = gpus[k];
  g_free(gpus);
  return found;
}

/* Whether GPU Direct RDMA works between GPU g and NET n for NIC receives (ncclTopoCheckGdr, read 0). */
static bool gdr_enabled(struct topo_system *sys, int host, int g, int n) {
  struct topo_node *gpu = host_node(sys, host, TOPO_NODE_GPU, g);
  struct topo_node *net = host_node(sys, host, TOPO_NODE_NET, n);
  if (!sys->nics[net->device].gdr || !sys->gpus[gpu->device].gdr) return false;
  int distance = (int)gpu->paths[TOPO_NODE_NET][n].type;
  if (distance == TOPO_PATH_PXN) {
    const struct topo_path *p = &gpu->paths[TOPO_NODE_NET][n];
    struct topo_node *via = NULL;
    for (int i = 0; i < p->nhops; i++) {
      via = p->hops[i]->remote;
      if (via->type != TOPO_NODE_NVS) break;
    }
    if (!via || via->type != TOPO_NODE_GPU) return false;
    distance = (int)via->paths[TOPO_NODE_NET][n].type;
  }
  if (distance == TOPO_PATH_P2C) distance = TOPO_PATH_C2C;
  return distance <= TOPO_PATH_PXB;
}

static bool host_adjust(struct topo_system *sys, int host, GError **err) {
  const struct topo_host *h = &sys->hosts[host];
  int ngpu = h->count[TOPO_NODE_GPU], nnet = h->count[TOPO_NODE_NET];
  for (int g = 0; g < ngpu; g++)
    if (gpu_local_cpu(sys, host, g) < 0) {
      g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: GPU %s reaches no CPU", sys->source,
                  sys->gpus[host_node(sys, host, TOPO_NODE_GPU, g)->device].pci.busid);
      return false;
    }

  /* P2P is used up to PXB (up to SYS for pairs of GPUs on AMD); other GPU pairs go through the CPU. */
  const struct topo_cpu *cpu0 = &sys->cpus[host_node(sys, host, TOPO_NODE_CPU, 0)->device];
  int p2p_level = TOPO_PATH_PXB;
  if (!strncmp(cpu0->arch, "x86_64", 6) && !strncmp(cpu0->vendor, "AuthenticAMD", 12) && ngpu <= 2)
    p2p_level = TOPO_PATH_SYS;
  for (int g = 0; g < ngpu; g++)
    for (int p = 0; p < ngpu; p++) {
      struct topo_node *gp = host_node(sys, host, TOPO_NODE_GPU, p);
      if ((int)gp->paths[TOPO_NODE_GPU][g].type > p2p_level)
        add_inter_step(sys, host, TOPO_NODE_CPU, gpu_local_cpu(sys, host, g), TOPO_NODE_GPU, p, TOPO_NODE_GPU, g);
    }

  /* GPU with C2C to its CPU and a NIC on that CPU's PCI: P2C. */
  for (int n = 0; n < nnet; n++) {
    struct topo_node *net = host_node(sys, host, TOPO_NODE_NET, n);
    for (int g = 0; g < ngpu; g++) {
      struct topo_node *gpu = host_node(sys, host, TOPO_NODE_GPU, g);
      int c = gpu_local_cpu(sys, host, g);
      if (merge_path_type((int)gpu->paths[TOPO_NODE_CPU][c].type, (int)net->paths[TOPO_NODE_CPU][c].type) ==
          TOPO_PATH_P2C) {
        if (gpu->paths[TOPO_NODE_NET][n].type > TOPO_PATH_P2C) gpu->paths[TOPO_NODE_NET][n].type = TOPO_PATH_P2C;
        if (net->paths[TOPO_NODE_GPU][g].type > TOPO_PATH_P2C) net->paths[TOPO_NODE_GPU][g].type = TOPO_PATH_P2C;
      }
    }
  }

  /* PXN through the NIC's own GPU when that is closer, and no GPU Direct RDMA -> through the CPU. */
  work_left = ADJUST_WORK_LIMIT;
  for (int n = 0; n < nnet; n++) {
    for (int g = 0; g < ngpu; g++) {
      if (work_left < 0) {
        work_left = -1;
        g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID,
                    "%s: %d GPUs and %d NICs on one host are too many for NCCL's GPU-NIC path rules", sys->source,
                    ngpu, nnet);
        return false;
      }
      struct topo_node *gpu = host_node(sys, host, TOPO_NODE_GPU, g);
      int local = net_local_gpu(sys, host, n);
      if (local != g && local != -1) {
        struct topo_node *peer = host_node(sys, host, TOPO_NODE_GPU, local);
        const struct topo_path *pn = &peer->paths[TOPO_NODE_NET][n], *gn = &gpu->paths[TOPO_NODE_NET][n];
        if ((int)pn->type <= TOPO_PATH_P2C && (int)peer->paths[TOPO_NODE_GPU][g].type <= TOPO_PATH_NVL &&
            (pn->bw > gn->bw || (int)gn->type > TOPO_PATH_PXN))
          add_inter_step(sys, host, TOPO_NODE_GPU, local, TOPO_NODE_GPU, g, TOPO_NODE_NET, n);
      }
      if ((int)gpu->paths[TOPO_NODE_NET][n].type < TOPO_PATH_PHB && !gdr_enabled(sys, host, g, n)) {
        int c = gpu_local_cpu(sys, host, g);
        add_inter_step(sys, host, TOPO_NODE_CPU, c, TOPO_NODE_NET, n, TOPO_NODE_GPU, g);
        add_inter_step(sys, host, TOPO_NODE_CPU, c, TOPO_NODE_GPU, g, TOPO_NODE_NET, n);
      }
    }
  }
  work_left = -1;
  return true;
}

bool topo_compute_paths(struct topo_system *sys, GError **err) {
  static const enum topo_node_type bases[] = {TOPO_NODE_CPU, TOPO_NODE_GPU, TOPO_NODE_NET, TOPO_NODE_NVS};
  for (int h = 0; h < sys->nnodes; h++) {
    if (sys->hosts[h].count[TOPO_NODE_CPU] == 0) continue;
    for (size_t b = 0; b < G_N_ELEMENTS(bases); b++)
      for (int i = 0; i < sys->hosts[h].count[bases[b]]; i++)
        if (!set_paths(sys, host_node(sys, h, bases[b], i), err)) return false;
    /* Every node gets path tables towards the GPUs and NETs, reached or not. */
    for (int t = 0; t < TOPO_NODE_TYPES; t++)
      for (int i = 0; i < sys->hosts[h].count[t]; i++) {
        struct topo_node *n = host_node(sys, h, t, i);
        for (size_t b = 0; b < G_N_ELEMENTS(bases); b++) ensure_paths(sys, n, bases[b]);
      }
    if (!host_adjust(sys, h, err)) return false;
  }
  return true;
}

void topo_free_paths(struct topo_system *sys) {
  for (int t = 0; t < TOPO_NODE_TYPES; t++) {
    if (!sys->nodes[t]) continue;
    for (guint i = 0; i < sys->nodes[t]->len; i++) {
      struct topo_node *n = g_ptr_array_index(sys->nodes[t], i);
      for (int k = 0; k < TOPO_NODE_TYPES; k++) {
        if (!n->paths[k]) continue;
        for (int j = 0; j < sys->hosts[n->node].count[k]; j++) g_free(n->paths[k][j].hops);
        g_free(n->paths[k]);
        n->paths[k] = NULL;
      }
    }
  }
}

int topo_gpu_net(const struct topo_system *sys, int gpu, int channel) {
  const struct topo_node *g = topo_node_of(sys, TOPO_NODE_GPU, gpu);
  if (!g || channel < 0) return -1;
  int n = gpu_local_net((struct topo_system *)sys, g->node, g->host_index, channel);
  return n < 0 ? -1 : sys->hosts[g->node].first[TOPO_NODE_NET] + n;
}
