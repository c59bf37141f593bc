/* capture.c — the capture store of libhacknccl.so: per-call records from the profiler/tuner plugins and
 * the fake driver's launch hook, the device-side communicator read from the launch argument blob, and
 * the JSON writer the probe calls (docs/capture-format.md). Owns all capture state; thread-safe.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "capture.h"
#include "capture_nccl_abi.h"
#include "platform_hooks.h"

#define EXPORT __attribute__((visibility("default")))

struct p2p_work_rec {
  int send_rank, recv_rank;
  int nsend, nrecv;
  int send_ll, recv_ll;
  size_t send_bytes, recv_bytes;
  int n_p2p_channels;
};

struct launch_rec {
  int call, rank, device;
  unsigned grid, block;
  uint64_t channel_mask;
  int nworks;
  struct p2p_work_rec *works;
};

struct coll_entry { int call; struct capture_coll_rec r; };
struct p2p_entry { int call; struct capture_p2p_rec r; };
struct cost_entry {
  int call, rank, coll_type;
  size_t nbytes;
  float table[NCCL_TUNER_NUM_ALGOS][NCCL_TUNER_NUM_PROTOS];
};
struct comm_entry {
  const struct nccl_dev_comm *dev;
  int device;
  int p2p_nchannels; /* from p2p work, -1 until seen */
};

/* A growable array of fixed-size records (plain C: this library is preloaded into any program). */
struct vec { void *data; size_t n, cap, elem; };
static void *vec_push(struct vec *v) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void *d = realloc(v->data, cap * v->elem);
    if (!d) return NULL;
    v->data = d;
    v->cap = cap;
  }
  void *p = (char *)v->data + v->n++ * v->elem;
  memset(p, 0, v->elem);
  return p;
}
#define VEC_AT(v, type, i) (((type *)(v).data)[i])

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vec colls = {.elem = sizeof(struct coll_entry)};
static struct vec p2ps = {.elem = sizeof(struct p2p_entry)};
static struct vec costs = {.elem = sizeof(struct cost_entry)};
static struct vec launches = {.elem = sizeof(struct launch_rec)};
static struct vec comms = {.elem = sizeof(struct comm_entry)};
static int nccl_version;
static _Thread_local int current_call = -1;
static _Thread_local int last_init_rank = -1;

EXPORT void ccsim_capture_set_nccl_version(int version) { nccl_version = version; }
EXPORT void ccsim_capture_begin_call(int index) { current_call = index; }
int capture_current_call(void) { return current_call; }
void capture_note_init_rank(int rank) { last_init_rank = rank; }
int capture_last_init_rank(void) { return last_init_rank; }

/* Records outside a probe call (index -1: any other NCCL program, or the probe's own discovery calls) are
 * never written, so they are not kept: a long-running program must not grow the store. */
void capture_record_coll(const struct capture_coll_rec *r) {
  if (current_call < 0) return;
  pthread_mutex_lock(&lock);
  struct coll_entry *e = vec_push(&colls);
  if (e) { e->call = current_call; e->r = *r; }
  pthread_mutex_unlock(&lock);
}

void capture_record_p2p(const struct capture_p2p_rec *r) {
  if (current_call < 0) return;
  pthread_mutex_lock(&lock);
  struct p2p_entry *e = vec_push(&p2ps);
  if (e) { e->call = current_call; e->r = *r; }
  pthread_mutex_unlock(&lock);
}

void capture_record_costs(int rank, int coll_type, size_t nbytes, const float *table, int nalgo, int nproto) {
  if (current_call < 0) return;
  pthread_mutex_lock(&lock);
  struct cost_entry *e = vec_push(&costs);
  if (e) {
    e->call = current_call;
    e->rank = rank;
    e->coll_type = coll_type;
    e->nbytes = nbytes;
    for (int a = 0; a < NCCL_TUNER_NUM_ALGOS; a++)
      for (int p = 0; p < NCCL_TUNER_NUM_PROTOS; p++)
        e->table[a][p] = (a < nalgo && p < nproto) ? table[a * nproto + p] : -1.0f;
  }
  pthread_mutex_unlock(&lock);
}

static bool layout_known(void) { return nccl_version == CAPTURE_NCCL_LAYOUT_VERSION; }

/* The p2p work items of one launch: each channel's batch list starts at batch[blockIdx], further batches
 * are reached through nextJump; a batch names its works by offset (args- or fifo-relative). */
static void read_p2p_works(const struct hack_launch *l, const struct nccl_dev_kernel_args *args,
                           struct launch_rec *rec) {
  const struct nccl_dev_work_batch *batches = (const struct nccl_dev_work_batch *)(args + 1);
  size_t max_batches = l->args_size > sizeof(*args) ? (l->args_size - sizeof(*args)) / sizeof(*batches) : 0;
  uint32_t seen[128];
  int nseen = 0;
  for (unsigned blk = 0; blk < l->grid[0] && blk < max_batches; blk++) {
    size_t b = blk;
    for (int guard = 0; b < max_batches && guard < 1024; guard++) {
      uint32_t flags = batches[b].flags;
      if (NCCL_DEV_BATCH_WORK_TYPE(flags) == NCCL_DEV_WORK_TYPE_P2P) {
        for (int bit = 0; bit < 64; bit++) {
          if (!(batches[b].offset_bitset & (1ull << bit))) continue;
          uint32_t off = batches[b].offset_base + bit * (uint32_t)sizeof(struct nccl_dev_work_p2p);
          const struct nccl_dev_work_p2p *w;
          if (args->work_storage_type == 0) {
            if ((size_t)off + sizeof(*w) > l->args_size) continue;
            w = (const struct nccl_dev_work_p2p *)((const char *)args + off);
          } else if (args->work_storage_type == 1 && args->work_buf) {
            w = (const struct nccl_dev_work_p2p *)((const char *)args->work_buf + (off & args->work_mask));
          } else {
            continue;
          }
          bool dup = false;
          for (int s = 0; s < nseen; s++) dup |= seen[s] == off;
          if (dup || nseen == (int)(sizeof(seen) / sizeof(seen[0]))) continue;
          seen[nseen++] = off;
          struct p2p_work_rec *nw = realloc(rec->works, (rec->nworks + 1) * sizeof(*nw));
          if (!nw) return;
          rec->works = nw;
          nw[rec->nworks++] = (struct p2p_work_rec){
            .send_rank = w->send_rank, .recv_rank = w->recv_rank,
            .nsend = w->n_send_channels, .nrecv = w->n_recv_channels,
            .send_ll = w->proto_bits & 1, .recv_ll = (w->proto_bits >> 1) & 1,
            .send_bytes = w->send_bytes, .recv_bytes = w->recv_bytes,
            .n_p2p_channels = w->n_p2p_channels};
        }
      }
      uint32_t jump = NCCL_DEV_BATCH_NEXT_JUMP(flags);
      if (!jump) break;
      b += jump;
    }
  }
}

EXPORT void capture_on_launch(const struct hack_launch *l) {
  if (!l || !l->args || l->args_size < sizeof(struct nccl_dev_kernel_args) || !layout_known()) return;
  /* Symmetric-memory kernels take a different argument struct; only ncclDevKernel_* carry ncclDevKernelArgs. */
  if (l->func_name && !strstr(l->func_name, "ncclDevKernel_")) return;
  const struct nccl_dev_kernel_args *args = l->args;
  const struct nccl_dev_comm *dc = args->comm;
  if (!dc) return;
  struct launch_rec rec = {.call = current_call, .rank = dc->rank, .device = l->device, .grid = l->grid[0],
                           .block = l->block[0], .channel_mask = args->channel_mask};
  read_p2p_works(l, args, &rec);
  int p2p_nchannels = -1;
  for (int w = 0; w < rec.nworks; w++) p2p_nchannels = rec.works[w].n_p2p_channels;
  pthread_mutex_lock(&lock);
  struct launch_rec *r = current_call >= 0 ? vec_push(&launches) : NULL;
  if (r) *r = rec; else free(rec.works);
  struct comm_entry *c = NULL;
  for (size_t i = 0; i < comms.n && !c; i++)
    if (VEC_AT(comms, struct comm_entry, i).dev == dc) c = &VEC_AT(comms, struct comm_entry, i);
  if (!c && (c = vec_push(&comms))) {
    c->dev = dc;
    c->device = l->device;
    c->p2p_nchannels = -1;
  }
  if (c && p2p_nchannels > 0) c->p2p_nchannels = p2p_nchannels;
  pthread_mutex_unlock(&lock);
}

/* ---- JSON output ---- */

static bool is_permutation(const int *v, int n) {
  if (!v || n <= 0) return false;
  bool *hit = calloc(n, 1);
  bool ok = hit != NULL;
  for (int i = 0; ok && i < n; i++) {
    if (v[i] < 0 || v[i] >= n || hit[v[i]]) ok = false;
    else hit[v[i]] = true;
  }
  free(hit);
  return ok;
}

static void write_comm(FILE *f, const struct comm_entry *c) {
  const struct nccl_dev_comm *d = c->dev;
  const struct nccl_dev_channel *ch = d->channels;
  int n = d->nranks;
  int nchannels = 0, nvls = 0, collnet = 0, initialised = 0;
  /* Collective channels are those whose ring is a full permutation (channels set up only for p2p have
   * zeroed rank lists); NCCL numbers them from 0. */
  for (int i = 0; i < NCCL_DEV_MAXCHANNELS; i++) {
    if (ch[i].ring.user_ranks) initialised = i + 1;
    if (nchannels == i && is_permutation(ch[i].ring.user_ranks, n)) nchannels = i + 1;
    if (nvls == i && ch[i].nvls.nheads > 0) nvls = i + 1;
    if (collnet == i && ch[i].collnet_direct.nheads > 0) collnet = i + 1;
  }
  int p2p_nchannels = c->p2p_nchannels > 0 ? c->p2p_nchannels : initialised;
  /* Channels per peer: the p2p connections (connection index 1) NCCL set up towards one peer. */
  int per_peer = 0;
  for (int peer = 0; peer < n; peer++) {
    if (peer == d->rank) continue;
    int cnt = 0;
    for (int i = 0; i < p2p_nchannels && i < NCCL_DEV_MAXCHANNELS; i++) {
      if (!ch[i].peers || !ch[i].peers[peer]) continue;
      const struct nccl_dev_channel_peer *p = ch[i].peers[peer];
      if (p->send[NCCL_DEV_P2P_CONN].buffs[NCCL_DEV_PROTO_SIMPLE] || p->recv[NCCL_DEV_P2P_CONN].buffs[NCCL_DEV_PROTO_SIMPLE])
        cnt++;
    }
    if (cnt > per_peer) per_peer = cnt;
  }
  fprintf(f, "    {\"rank\": %d, \"nranks\": %d, \"node\": %d, \"nnodes\": %d, \"dev\": %d,\n", d->rank, n, d->node,
          d->nnodes, c->device);
  /* Per peer, where the buffers of this rank's connections to it live: host memory is NCCL's SHM
   * transport (or a network's staging), a GPU's memory P2P; -1 where no connection holds a buffer. */
  fprintf(f, "     \"peer_host\": [");
  for (int peer = 0; peer < n; peer++) {
    int where = -1;
    for (int i = 0; where < 0 && peer != d->rank && i < NCCL_DEV_MAXCHANNELS; i++) {
      if (!ch[i].peers || !ch[i].peers[peer]) continue;
      const struct nccl_dev_channel_peer *p = ch[i].peers[peer];
      const struct nccl_dev_conn_info *conns[] = {&p->send[0], &p->recv[0], &p->send[1], &p->recv[1]};
      for (int k = 0; where < 0 && k < 4; k++)
        if (conns[k]->buffs[NCCL_DEV_PROTO_SIMPLE])
          where = hack_mem_is_host(conns[k]->buffs[NCCL_DEV_PROTO_SIMPLE]);
    }
    fprintf(f, "%s%d", peer ? "," : "", where);
  }
  fprintf(f, "],\n");
  fprintf(f, "     \"buff_sizes\": [%d, %d, %d], \"p2p_chunk_size\": %d,\n", d->buff_sizes[0], d->buff_sizes[1],
          d->buff_sizes[2], d->p2p_chunk_size);
  fprintf(f, "     \"nchannels\": %d, \"nvls_channels\": %d, \"collnet_channels\": %d, \"p2p_nchannels\": %d, "
             "\"p2p_nchannels_per_peer\": %d,\n", nchannels, nvls, collnet, p2p_nchannels, per_peer ? per_peer : -1);
  /* NVLS heads: how many per node, and which head (if any) this rank is (-1: none) */
  fprintf(f, "     \"nvls_nheads\": %d, \"nvls_head_rank\": %d,\n", nvls ? ch[0].nvls.nheads : 0,
          nvls ? ch[0].nvls.head_rank : -1);
  fprintf(f, "     \"rings\": [");
  for (int i = 0; i < nchannels; i++) {
    fprintf(f, "%s[", i ? ", " : "");
    for (int r = 0; r < n; r++) fprintf(f, "%s%d", r ? "," : "", ch[i].ring.user_ranks[r]);
    fprintf(f, "]");
  }
  fprintf(f, "],\n     \"trees\": [");
  for (int i = 0; i < nchannels; i++) {
    const struct nccl_dev_tree *t = &ch[i].tree;
    fprintf(f, "%s[%d,%d,%d,%d]", i ? ", " : "", t->up, t->down[0], t->down[1], t->down[2]);
  }
  fprintf(f, "]}");
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if ((unsigned char)*s >= 0x20) fputc(*s, f);
  }
  fputc('"', f);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Distinct values of `call` over all records, sorted (calls with index -1 are left out). */
static int collect_calls(int **out) {
  size_t cap = colls.n + p2ps.n + costs.n + launches.n + 1;
  int *v = malloc(cap * sizeof(int));
  int n = 0;
  if (!v) return 0;
  for (size_t i = 0; i < colls.n; i++) v[n++] = VEC_AT(colls, struct coll_entry, i).call;
  for (size_t i = 0; i < p2ps.n; i++) v[n++] = VEC_AT(p2ps, struct p2p_entry, i).call;
  for (size_t i = 0; i < costs.n; i++) v[n++] = VEC_AT(costs, struct cost_entry, i).call;
  for (size_t i = 0; i < launches.n; i++) v[n++] = VEC_AT(launches, struct launch_rec, i).call;
  qsort(v, n, sizeof(int), cmp_int);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (v[i] >= 0 && (m == 0 || v[m - 1] != v[i])) v[m++] = v[i];
  *out = v;
  return m;
}

static void write_call(FILE *f, int call) {
  /* ranks seen in this call */
  int ranks[4096], nr = 0;
#define ADD_RANK(x) do { int _r = (x); bool _d = false; for (int _k = 0; _k < nr; _k++) _d |= ranks[_k] == _r; \
    if (!_d && nr < 4096) ranks[nr++] = _r; } while (0)
  for (size_t i = 0; i < colls.n; i++) if (VEC_AT(colls, struct coll_entry, i).call == call) ADD_RANK(VEC_AT(colls, struct coll_entry, i).r.rank);
  for (size_t i = 0; i < p2ps.n; i++) if (VEC_AT(p2ps, struct p2p_entry, i).call == call) ADD_RANK(VEC_AT(p2ps, struct p2p_entry, i).r.rank);
  for (size_t i = 0; i < launches.n; i++) if (VEC_AT(launches, struct launch_rec, i).call == call) ADD_RANK(VEC_AT(launches, struct launch_rec, i).rank);
#undef ADD_RANK
  qsort(ranks, nr, sizeof(int), cmp_int);
  fprintf(f, "    {\"index\": %d,\n", call);
  /* cost table: the first one recorded for this call (NCCL computes the same table on every rank) */
  const struct cost_entry *ce = NULL;
  for (size_t i = 0; i < costs.n && !ce; i++)
    if (VEC_AT(costs, struct cost_entry, i).call == call) ce = &VEC_AT(costs, struct cost_entry, i);
  if (ce) {
    fprintf(f, "     \"cost\": {\"rank\": %d, \"func\": %d, \"nbytes\": %zu, \"us\": [", ce->rank, ce->coll_type, ce->nbytes);
    for (int a = 0; a < NCCL_TUNER_NUM_ALGOS; a++) {
      fprintf(f, "%s[", a ? ", " : "");
      for (int p = 0; p < NCCL_TUNER_NUM_PROTOS; p++) fprintf(f, "%s%.6g", p ? "," : "", ce->table[a][p]);
      fprintf(f, "]");
    }
    fprintf(f, "]},\n");
  }
  fprintf(f, "     \"ranks\": [");
  for (int k = 0; k < nr; k++) {
    int rank = ranks[k];
    fprintf(f, "%s\n      {\"rank\": %d, \"colls\": [", k ? "," : "", rank);
    int first = 1;
    for (size_t i = 0; i < colls.n; i++) {
      const struct coll_entry *e = &VEC_AT(colls, struct coll_entry, i);
      if (e->call != call || e->r.rank != rank) continue;
      fprintf(f, "%s{\"func\": ", first ? "" : ", ");
      json_str(f, e->r.func);
      fprintf(f, ", \"count\": %zu, \"datatype\": ", e->r.count);
      json_str(f, e->r.datatype);
      fprintf(f, ", \"root\": %d, \"algo\": ", e->r.root);
      json_str(f, e->r.algo);
      fprintf(f, ", \"proto\": ");
      json_str(f, e->r.proto);
      fprintf(f, ", \"nchannels\": %d, \"nwarps\": %d}", e->r.nchannels, e->r.nwarps);
      first = 0;
    }
    fprintf(f, "], \"p2ps\": [");
    first = 1;
    for (size_t i = 0; i < p2ps.n; i++) {
      const struct p2p_entry *e = &VEC_AT(p2ps, struct p2p_entry, i);
      if (e->call != call || e->r.rank != rank) continue;
      fprintf(f, "%s{\"func\": ", first ? "" : ", ");
      json_str(f, e->r.func);
      fprintf(f, ", \"count\": %zu, \"datatype\": ", e->r.count);
      json_str(f, e->r.datatype);
      fprintf(f, ", \"peer\": %d, \"nchannels\": %d}", e->r.peer, e->r.nchannels);
      first = 0;
    }
    fprintf(f, "], \"launches\": [");
    first = 1;
    for (size_t i = 0; i < launches.n; i++) {
      const struct launch_rec *e = &VEC_AT(launches, struct launch_rec, i);
      if (e->call != call || e->rank != rank) continue;
      fprintf(f, "%s{\"device\": %d, \"grid\": %u, \"block\": %u, \"channel_mask\": \"0x%llx\", \"p2p_works\": [",
              first ? "" : ", ", e->device, e->grid, e->block, (unsigned long long)e->channel_mask);
      for (int w = 0; w < e->nworks; w++) {
        const struct p2p_work_rec *pw = &e->works[w];
        fprintf(f, "%s{\"send_rank\": %d, \"send_bytes\": %zu, \"send_channels\": %d, \"send_proto\": \"%s\", "
                   "\"recv_rank\": %d, \"recv_bytes\": %zu, \"recv_channels\": %d, \"recv_proto\": \"%s\"}",
                w ? ", " : "", pw->send_rank, pw->send_bytes, pw->nsend, pw->send_ll ? "LL" : "SIMPLE",
                pw->recv_rank, pw->recv_bytes, pw->nrecv, pw->recv_ll ? "LL" : "SIMPLE");
      }
      fprintf(f, "]}");
      first = 0;
    }
    fprintf(f, "]}");
  }
  fprintf(f, "]}");
}

EXPORT int ccsim_capture_write_json(FILE *f) {
  pthread_mutex_lock(&lock);
  fprintf(f, "  \"layout_version\": %d,\n  \"comms\": [", layout_known() ? CAPTURE_NCCL_LAYOUT_VERSION : 0);
  for (size_t i = 0; i < comms.n; i++) {
    fprintf(f, "%s\n", i ? "," : "");
    write_comm(f, &VEC_AT(comms, struct comm_entry, i));
  }
  fprintf(f, "],\n  \"calls\": [");
  int *calls = NULL;
  int ncalls = collect_calls(&calls);
  for (int i = 0; i < ncalls; i++) {
    fprintf(f, "%s\n", i ? "," : "");
    write_call(f, calls[i]);
  }
  free(calls);
  fprintf(f, "]");
  pthread_mutex_unlock(&lock);
  return ferror(f) ? -1 : 0;
}
