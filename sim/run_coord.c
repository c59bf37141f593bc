/* run_coord.c — multi-node `ccsim run` coordinator (see run_coord.h). Owns the listening socket, the
 * connections, each communicator's description as the processes sent it, the network model per
 * communicator and the instances being assembled. Single-threaded: driven by run_coord_poll. */
#include "run_coord.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "comm.h"
#include "netmodel.h"
#include "plan.h"
#include "simulate.h"
#include "topo.h"

#define COORD_ERROR g_quark_from_static_string("ccsim-run-coord-error")

struct client {
  int fd;
  GString *buf;
};

struct cc_rank {
  gboolean have;
  int node, dev, nch;
  int *trees; /* nch x 4 */
};

struct cc_comm {
  int nranks, nnodes, nch, nvls, collnet, p2p, perpeer, chunk, buff[3];
  gboolean have_c;
  int **rings;             /* nch, from G lines */
  struct cc_rank *ranks;   /* nranks */
  struct comm_info info;
  struct netmodel *model;
  GHashTable *durations;   /* decision key -> gint64 ns */
  gboolean failed;
};

struct cc_inst {
  char *key;
  guint64 comm;
  int nranks, got;
  gint64 lower;
  char *tasks;             /* the task fields of the first report */
  GArray *fds;
};

struct run_coord {
  int listen_fd;
  GPtrArray *clients;
  GHashTable *comms;       /* guint64* -> cc_comm */
  GHashTable *insts;       /* key -> cc_inst */
  struct topo_system *sys;
  struct netmodel_params *params;
  unsigned timed;
};

static void comm_free(gpointer p) {
  struct cc_comm *c = p;
  for (int i = 0; c->rings && i < c->nch; i++) g_free(c->rings[i]);
  g_free(c->rings);
  for (int r = 0; c->ranks && r < c->nranks; r++) g_free(c->ranks[r].trees);
  g_free(c->ranks);
  comm_info_free(&c->info);
  netmodel_free(c->model);
  if (c->durations) g_hash_table_destroy(c->durations);
  g_free(c);
}

static void inst_free(gpointer p) {
  struct cc_inst *i = p;
  g_free(i->key);
  g_free(i->tasks);
  g_array_free(i->fds, TRUE);
  g_free(i);
}

struct run_coord *run_coord_new(const char *socket_path, const char *topo_path, int nodes, const char *params_path,
                                GError **err) {
  struct topo_system *sys = topo_load_cluster(topo_path, nodes, NULL, err);
  if (!sys) return NULL;
  char *pp = params_path ? g_strdup(params_path) : netmodel_params_find(sys->ngpus > 0 ? sys->gpus[0].sm : 90, err);
  struct netmodel_params *params = pp ? netmodel_params_load(pp, err) : NULL;
  g_free(pp);
  if (!params) {
    topo_free(sys);
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
    g_set_error(err, COORD_ERROR, 1, "coordinator socket %s: %s", socket_path, g_strerror(errno));
    if (fd >= 0) close(fd);
    netmodel_params_free(params);
    topo_free(sys);
    return NULL;
  }
  struct run_coord *c = g_new0(struct run_coord, 1);
  c->listen_fd = fd;
  c->clients = g_ptr_array_new();
  c->comms = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, comm_free);
  c->insts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, inst_free);
  c->sys = sys;
  c->params = params;
  return c;
}

static struct cc_comm *comm_get(struct run_coord *c, guint64 id, int nranks) {
  struct cc_comm *m = g_hash_table_lookup(c->comms, &id);
  if (!m && nranks > 0 && nranks <= 1 << 20) {
    m = g_new0(struct cc_comm, 1);
    m->nranks = nranks;
    m->ranks = g_new0(struct cc_rank, nranks);
    guint64 *k = g_new(guint64, 1);
    *k = id;
    g_hash_table_insert(c->comms, k, m);
  }
  return m;
}

/* comm_info and network model once every rank and rank 0's channels are known. */
static gboolean comm_ready(struct run_coord *c, struct cc_comm *m) {
  if (m->model) return TRUE;
  if (m->failed || !m->have_c || !m->rings) return FALSE;
  for (int r = 0; r < m->nranks; r++)
    if (!m->ranks[r].have || m->ranks[r].nch < m->nch) return FALSE;
  for (int i = 0; i < m->nch; i++)
    if (!m->rings[i]) return FALSE;
  struct comm_info *ci = &m->info;
  ci->nranks = m->nranks;
  ci->nnodes = m->nnodes;
  ci->nchannels = m->nch;
  ci->nvls_channels = m->nvls;
  ci->collnet_channels = m->collnet;
  ci->p2p_nchannels = m->p2p;
  ci->p2p_nchannels_per_peer = m->perpeer;
  ci->p2p_chunk_size = (size_t)m->chunk;
  for (int p = 0; p < 3; p++) ci->buff_size[p] = (size_t)m->buff[p];
  ci->rank_node = g_new0(int, m->nranks);
  ci->rank_dev = g_new0(int, m->nranks);
  ci->channels = g_new0(struct comm_channel, m->nch > 0 ? m->nch : 1);
  for (int i = 0; i < m->nch; i++) {
    ci->channels[i].ring.order = g_memdup2(m->rings[i], sizeof(int) * (size_t)m->nranks);
    ci->channels[i].tree = g_new0(struct comm_tree_node, m->nranks);
  }
  for (int r = 0; r < m->nranks; r++) {
    ci->rank_node[r] = m->ranks[r].node;
    ci->rank_dev[r] = m->ranks[r].dev;
    for (int i = 0; i < m->nch; i++) {
      const int *t = &m->ranks[r].trees[i * 4];
      ci->channels[i].tree[r].up = t[0];
      for (int k = 0; k < 3; k++) ci->channels[i].tree[r].down[k] = t[1 + k];
    }
  }
  GError *err = NULL;
  m->model = netmodel_new(c->params, c->sys, ci, &err);
  if (!m->model) {
    fprintf(stderr, "ccsim run: coordinator: network model: %s\n", err ? err->message : "?");
    g_clear_error(&err);
    m->failed = TRUE;
    return FALSE;
  }
  m->durations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return TRUE;
}

static gint64 simulate_cached(struct cc_comm *m, const struct comm_decision *d, int in_place) {
  char *key = g_strdup_printf("%d/%zu/%d/%d/%d/%d/%d/%d/%d", d->op, d->bytes, d->type_size, d->root, d->algo,
                              d->proto, d->nchannels, d->nthreads, in_place);
  gint64 *v = g_hash_table_lookup(m->durations, key);
  if (!v) {
    struct plan_options po = {.coarse = 0, .in_place = in_place};
    struct sim_call sc;
    GError *err = NULL;
    v = g_new(gint64, 1);
    *v = 0;
    if (sim_decision_estimate(m->model, &m->info, d, &po, 1, &sc, &err) == 0)
      *v = (gint64)((sc.device_ps + 500) / 1000);
    else {
      fprintf(stderr, "ccsim run: coordinator: %s: timed as zero\n", err ? err->message : "?");
      g_clear_error(&err);
    }
    g_hash_table_insert(m->durations, g_strdup(key), v);
  }
  g_free(key);
  return *v;
}

/* Send/recv across processes: the pattern of every rank's sends, as the op the decomposition knows (a ring
 * shift, all-to-all, or else the ring exchange of the largest message). f: the Send tuples. */
static gint64 time_p2p(struct cc_comm *m, char **f, int nsend) {
  int n = m->nranks, shift = -1, ts = 4;
  int *per_rank = g_new0(int, n);
  size_t bytes = 0;
  gboolean ring = TRUE, all = TRUE;
  for (int k = 0; k < nsend; k++) {
    char **t = f + 9 * k;
    int rank = atoi(t[8]), peer = atoi(t[3]);
    ts = atoi(t[1]) > 0 ? atoi(t[1]) : 4;
    size_t b = g_ascii_strtoull(t[2], NULL, 10) * (size_t)ts;
    if (rank < 0 || rank >= n || peer == rank) continue;
    per_rank[rank]++;
    int s = ((peer - rank) % n + n) % n;
    if (shift < 0) shift = s;
    else if (s != shift) ring = FALSE;
    if (bytes && b != bytes) ring = all = FALSE;
    if (b > bytes) bytes = b;
  }
  for (int r = 1; r < n; r++)
    if (per_rank[r] != per_rank[0]) ring = all = FALSE;
  int each = per_rank[0];
  g_free(per_rank);
  if (each <= 0 || bytes == 0) return 0;
  struct comm_decision d;
  memset(&d, 0, sizeof d);
  d.algo = ALGO_NONE;
  d.proto = PROTO_SIMPLE;
  d.type_size = ts;
  d.nchannels = atoi(f[6]);
  d.nthreads = atoi(f[7]);
  for (int a = 0; a < ALGO_COUNT; a++)
    for (int p = 0; p < PROTO_COUNT; p++) d.cost_us[a][p] = -1;
  if (all && each == n - 1 && !(ring && each == 1)) {
    d.op = OP_ALLTOALL;
    d.bytes = bytes * (size_t)n;
    d.nccl_bytes = bytes;
  } else {
    d.op = OP_SENDRECV;
    d.root = shift > 0 ? shift : 1;
    d.bytes = d.nccl_bytes = bytes;
  }
  d.count = d.bytes / (size_t)ts;
  return simulate_cached(m, &d, 0);
}

/* Device time of the instance's tasks (0 for what is not modelled, with a message). */
static gint64 time_tasks(struct cc_comm *m, const char *tasks) {
  char *copy = g_strstrip(g_strdup(tasks));
  gchar **f = g_strsplit(copy, " ", -1);
  g_free(copy);
  guint nf = g_strv_length(f);
  if (nf >= 10 && !strcmp(f[1], "Send")) { /* "<nsend> Send ... [<nsend> Send ...]": every report's sends */
    GPtrArray *sends = g_ptr_array_new();
    for (guint i = 0; i + 9 < nf;) {
      int cnt = atoi(f[i]);
      i++;
      for (int k = 0; k < cnt && i + 9 <= nf; k++, i += 9)
        for (int x = 0; x < 9; x++) g_ptr_array_add(sends, f[i + x]);
    }
    gint64 t = time_p2p(m, (char **)sends->pdata, (int)(sends->len / 9));
    g_ptr_array_free(sends, TRUE);
    g_strfreev(f);
    return t;
  }
  int n = f[0] ? atoi(f[0]) : 0;
  gint64 total = 0;
  for (int k = 0; k < n && nf >= (guint)(1 + 9 * (k + 1)); k++) {
    char **t = f + 1 + 9 * k;
    int op = comm_op_from_nccl_func(t[0]), algo = comm_algo_parse(t[4]), proto = comm_proto_parse(t[5]);
    if (op < 0 || algo < 0 || proto < 0) {
      static gboolean warned;
      if (!warned) fprintf(stderr, "ccsim run: coordinator: %s across processes is not modelled: timed as zero\n", t[0]);
      warned = TRUE;
      continue;
    }
    struct comm_decision d;
    memset(&d, 0, sizeof d);
    d.op = (enum comm_op)op;
    d.type_size = atoi(t[1]);
    d.count = g_ascii_strtoull(t[2], NULL, 10);
    d.nccl_bytes = d.count * (size_t)d.type_size;
    d.bytes = (op == OP_ALL_GATHER || op == OP_REDUCE_SCATTER) ? d.nccl_bytes * (size_t)m->nranks : d.nccl_bytes;
    d.root = (op == OP_BROADCAST || op == OP_REDUCE) ? atoi(t[3]) : 0;
    d.algo = (enum comm_algo)algo;
    d.proto = (enum comm_proto)proto;
    d.nchannels = atoi(t[6]);
    d.nthreads = atoi(t[7]);
    for (int a = 0; a < ALGO_COUNT; a++)
      for (int p = 0; p < PROTO_COUNT; p++) d.cost_us[a][p] = -1;
    if (d.count == 0) continue;
    total += simulate_cached(m, &d, atoi(t[8]));
  }
  g_strfreev(f);
  return total;
}

static void handle_line(struct run_coord *c, struct client *cl, char *line) {
  gchar **f = g_strsplit(line, " ", -1);
  guint nf = g_strv_length(f);
  if (nf >= 6 && !strcmp(f[0], "R")) {
    guint64 id = g_ascii_strtoull(f[1], NULL, 16);
    int rank = atoi(f[2]), nch = atoi(f[5]);
    struct cc_comm *m = g_hash_table_lookup(c->comms, &id);
    /* R may arrive before C: size the rank table from the largest rank seen until C says */
    if (!m) m = comm_get(c, id, 1 << 12);
    if (m && rank >= 0 && rank < m->nranks && nch >= 0 && nf >= 6 + 4 * (guint)nch) {
      struct cc_rank *r = &m->ranks[rank];
      r->have = TRUE;
      r->node = atoi(f[3]);
      r->dev = atoi(f[4]);
      r->nch = nch;
      g_free(r->trees);
      r->trees = g_new0(int, 4 * (nch > 0 ? nch : 1));
      for (int i = 0; i < 4 * nch; i++) r->trees[i] = atoi(f[6 + i]);
    }
  } else if (nf >= 13 && !strcmp(f[0], "C")) {
    guint64 id = g_ascii_strtoull(f[1], NULL, 16);
    struct cc_comm *m = comm_get(c, id, 1 << 12);
    if (m) {
      m->nranks = atoi(f[2]);
      if (m->nranks < 1 || m->nranks > 1 << 12) m->nranks = 1;
      m->nnodes = atoi(f[3]);
      m->nch = atoi(f[4]);
      if (m->nch < 0 || m->nch > COMM_MAX_CHANNELS) m->nch = 0;
      m->nvls = atoi(f[5]);
      m->collnet = atoi(f[6]);
      m->p2p = atoi(f[7]);
      m->perpeer = atoi(f[8]);
      m->chunk = atoi(f[9]);
      for (int p = 0; p < 3; p++) m->buff[p] = atoi(f[10 + p]);
      if (!m->rings) m->rings = g_new0(int *, m->nch > 0 ? m->nch : 1);
      m->have_c = TRUE;
    }
  } else if (nf >= 3 && !strcmp(f[0], "G")) {
    guint64 id = g_ascii_strtoull(f[1], NULL, 16);
    struct cc_comm *m = g_hash_table_lookup(c->comms, &id);
    int ch = atoi(f[2]);
    if (m && m->rings && ch >= 0 && ch < m->nch && nf >= 3 + (guint)m->nranks) {
      g_free(m->rings[ch]);
      m->rings[ch] = g_new(int, m->nranks);
      for (int r = 0; r < m->nranks; r++) m->rings[ch][r] = atoi(f[3 + r]);
    }
  } else if (nf >= 8 && !strcmp(f[0], "I")) {
    struct cc_inst *in = g_hash_table_lookup(c->insts, f[1]);
    if (!in) {
      in = g_new0(struct cc_inst, 1);
      in->key = g_strdup(f[1]);
      in->comm = g_ascii_strtoull(f[2], NULL, 16);
      in->nranks = atoi(f[3]);
      in->fds = g_array_new(FALSE, FALSE, sizeof(int));
      in->tasks = g_strdup("");
      g_hash_table_insert(c->insts, in->key, in);
    }
    /* Collectives: the first report's tasks (every rank's are the same). Send/recv: every report's sends. */
    if (!*in->tasks || (nf > 7 && !strcmp(f[7], "Send"))) {
      GString *tasks = g_string_new(in->tasks);
      for (guint k = 6; k < nf; k++) g_string_append_printf(tasks, "%s%s", tasks->len ? " " : "", f[k]);
      g_free(in->tasks);
      in->tasks = g_string_free(tasks, FALSE);
    }
    in->got += atoi(f[4]);
    gint64 lower = g_ascii_strtoll(f[5], NULL, 10);
    if (lower > in->lower) in->lower = lower;
    g_array_append_val(in->fds, cl->fd);
    if (in->got >= in->nranks) {
      struct cc_comm *m = g_hash_table_lookup(c->comms, &in->comm);
      gint64 dur = 0;
      if (m && comm_ready(c, m)) dur = time_tasks(m, in->tasks);
      else fprintf(stderr, "ccsim run: coordinator: communicator %s is incomplete: timed as zero\n", f[2]);
      char *answer = g_strdup_printf("T %s %lld %lld\n", in->key, (long long)in->lower, (long long)(in->lower + dur));
      for (guint i = 0; i < in->fds->len; i++) {
        ssize_t w = write(g_array_index(in->fds, int, i), answer, strlen(answer));
        (void)w;
      }
      g_free(answer);
      c->timed++;
      g_hash_table_remove(c->insts, in->key);
    }
  }
  g_strfreev(f);
}

void run_coord_poll(struct run_coord *c, int timeout_ms) {
  guint n = c->clients->len;
  struct pollfd *p = g_new0(struct pollfd, n + 1);
  p[0].fd = c->listen_fd;
  p[0].events = POLLIN;
  for (guint i = 0; i < n; i++) {
    p[i + 1].fd = ((struct client *)g_ptr_array_index(c->clients, i))->fd;
    p[i + 1].events = POLLIN;
  }
  int rc = poll(p, n + 1, timeout_ms);
  if (rc > 0) {
    for (guint i = 0; i < n; i++) {
      if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      struct client *cl = g_ptr_array_index(c->clients, i);
      char buf[65536];
      ssize_t got = read(cl->fd, buf, sizeof buf);
      if (got <= 0) continue; /* closed: kept until the coordinator ends (its fd may still be in instances) */
      g_string_append_len(cl->buf, buf, got);
      char *nl;
      while ((nl = memchr(cl->buf->str, '\n', cl->buf->len))) {
        *nl = '\0';
        handle_line(c, cl, cl->buf->str);
        g_string_erase(cl->buf, 0, nl - cl->buf->str + 1);
      }
    }
    if (p[0].revents & POLLIN) {
      int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) {
        struct client *cl = g_new0(struct client, 1);
        cl->fd = fd;
        cl->buf = g_string_new(NULL);
        g_ptr_array_add(c->clients, cl);
      }
    }
  }
  g_free(p);
}

unsigned run_coord_instances(const struct run_coord *c) { return c->timed; }

void run_coord_free(struct run_coord *c) {
  if (!c) return;
  for (guint i = 0; i < c->clients->len; i++) {
    struct client *cl = g_ptr_array_index(c->clients, i);
    close(cl->fd);
    g_string_free(cl->buf, TRUE);
    g_free(cl);
  }
  g_ptr_array_free(c->clients, TRUE);
  close(c->listen_fd);
  g_hash_table_destroy(c->comms);
  g_hash_table_destroy(c->insts);
  netmodel_params_free(c->params);
  topo_free(c->sys);
  g_free(c);
}
