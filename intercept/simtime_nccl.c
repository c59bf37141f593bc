/* simtime_nccl.c — NCCL API wrappers of libhacknccl.so for `ccsim run`: every public collective, send/recv,
 * group and communicator call the program makes is recorded for the trace, its real host time on this
 * machine is taken out of the virtual clock and replaced by the network model's host cost, and the end
 * of each outermost call tells simtime that the call's kernel launches are complete. Each wrapper forwards
 * to the real NCCL (the next definition in the lookup order). Owns the trace file and the run report.
 *
 * Outside `ccsim run` (CCSIM_RUN unset) the wrappers only forward.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nccl.h>

#include "hack_log.h"
#include "simtime.h"
#include "simtime_internal.h"
#include "simtime_model.h"
#include "vclock.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- trace and report files ---- */
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;
static struct trace_jsonl *trace;

static void trace_open(void) {
  const char *path = getenv("CCSIM_TRACE");
  if (!path || !*path || !simtime_active()) return;
  GError *err = NULL;
  trace = trace_jsonl_open(path, &err);
  if (!trace) {
    hack_err("ccsim run: %s", err->message);
    g_error_free(err);
    return;
  }
  GString *s = trace_line_new("header");
  trace_add_str(s, "format", "ccsim-run-trace");
  trace_add_int(s, "version", TRACE_FORMAT_VERSION);
  trace_add_int(s, "pid", getpid());
  const char *node = getenv("CCSIM_NODE");
  trace_add_int(s, "node", node ? atoi(node) : 0);
  const char *topo = getenv("CCSIM_TOPO");
  trace_add_str(s, "topo", topo);
  trace_jsonl_put(trace, s);
}

void simtime_trace_put(GString *line) {
  pthread_once(&trace_once, trace_open);
  trace_jsonl_put(trace, line);
}

__attribute__((destructor)) static void trace_close(void) {
  if (trace) trace_jsonl_close(trace);
  trace = NULL;
}

void simtime_report(const char *what, const char *name) {
  const char *path = getenv("CCSIM_RUN_REPORT");
  if (!path || !*path) return;
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  static GHashTable *seen;
  char *line = g_strdup_printf("%s%s%s\n", what, name ? " " : "", name ? name : "");
  pthread_mutex_lock(&mu);
  if (!seen) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  if (!g_hash_table_contains(seen, line)) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ssize_t w = write(fd, line, strlen(line));
      (void)w;
      close(fd);
    }
    g_hash_table_add(seen, g_strdup(line));
  }
  pthread_mutex_unlock(&mu);
  g_free(line);
}

/* ---- per-thread API state ---- */
static _Thread_local int api_depth;       /* nesting of wrapped calls (NCCL may call its own API) */
static _Thread_local int group_depth;     /* the program's ncclGroupStart nesting */
static _Thread_local unsigned long long group_id;
static _Thread_local GArray *calls;       /* struct simtime_call of the open group */
static _Thread_local int group_colls;
static _Thread_local GHashTable *group_p2p_comms;
static atomic_ullong next_group = 1;

static _Thread_local bool api_seen;      /* this thread has called NCCL (it is one of the program's) */

bool simtime_in_nccl(void) { return api_depth > 0; }
bool simtime_calls_nccl(void) { return api_seen; }

static void *real_fn(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    void *h = dlopen("libnccl.so.2", RTLD_NOLOAD | RTLD_LAZY);
    if (h) f = dlsym(h, name);
  }
  if (!f) hack_err("ccsim run: %s not found in the NCCL library", name);
  return f;
}
#define REAL(type, name)                                   \
  static type real_##name;                                  \
  if (!real_##name) real_##name = (type)real_fn(#name);     \
  if (!real_##name) return ncclSystemError

/* ncclComm_t -> identity, learnt once per communicator */
struct comm_ident { unsigned long long ordinal; int rank, nranks, dev; };
static pthread_mutex_t comm_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *comm_idents;
static unsigned long long next_comm_ordinal = 1;

static struct comm_ident comm_identity(ncclComm_t comm) {
  typedef ncclResult_t (*int_query)(const ncclComm_t, int *);
  struct comm_ident id = {0, -1, -1, -1};
  pthread_mutex_lock(&comm_lock);
  if (!comm_idents) comm_idents = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
  struct comm_ident *c = g_hash_table_lookup(comm_idents, comm);
  if (!c) {
    static int_query user_rank, count, device;
    if (!user_rank) user_rank = (int_query)real_fn("ncclCommUserRank");
    if (!count) count = (int_query)real_fn("ncclCommCount");
    if (!device) device = (int_query)real_fn("ncclCommCuDevice");
    c = g_new(struct comm_ident, 1);
    *c = id;
    c->ordinal = next_comm_ordinal++;
    if (user_rank) user_rank(comm, &c->rank);
    if (count) count(comm, &c->nranks);
    if (device) device(comm, &c->dev);
    g_hash_table_insert(comm_idents, comm, c);
  }
  id = *c;
  pthread_mutex_unlock(&comm_lock);
  return id;
}

static void comm_forget(ncclComm_t comm) {
  pthread_mutex_lock(&comm_lock);
  if (comm_idents) g_hash_table_remove(comm_idents, comm);
  pthread_mutex_unlock(&comm_lock);
}

static const char *type_name(ncclDataType_t t) {
  static const char *const names[] = {"ncclInt8", "ncclUint8", "ncclInt32", "ncclUint32", "ncclInt64",
                                      "ncclUint64", "ncclFloat16", "ncclFloat32", "ncclFloat64", "ncclBfloat16",
                                      "ncclFloat8e4m3", "ncclFloat8e5m2"};
  return (int)t >= 0 && (size_t)t < G_N_ELEMENTS(names) ? names[t] : "unknown";
}

static const char *op_name(ncclRedOp_t op) {
  static const char *const names[] = {"sum", "prod", "max", "min", "avg"};
  return (int)op >= 0 && (size_t)op < G_N_ELEMENTS(names) ? names[op] : "custom";
}

static void enter(void) {
  api_seen = true;
  if (api_depth++ == 0) vclock_enter();
}

static void group_reset(void) {
  if (!calls) calls = g_array_new(FALSE, TRUE, sizeof(struct simtime_call));
  g_array_set_size(calls, 0);
  group_colls = 0;
  if (group_p2p_comms) g_hash_table_remove_all(group_p2p_comms);
}

/* The host enqueue cost of what the group (or single call) issued, as the network model prices it. */
static void charge_group(void) {
  int np2p = group_p2p_comms ? (int)g_hash_table_size(group_p2p_comms) : 0;
  int64_t ns = 0;
  if (group_colls) ns += simtime_model_host_ns(false, group_colls);
  if (np2p) ns += group_colls ? simtime_model_host_ns(true, np2p) - simtime_model_host_ns(true, 0) : simtime_model_host_ns(true, np2p);
  vclock_charge_ns(ns);
}

static void leave(bool flush) {
  if (api_depth == 1 && flush && simtime_active()) {
    simtime_api_done(calls ? (const struct simtime_call *)(void *)calls->data : NULL, calls ? (int)calls->len : 0);
    group_reset();
  }
  if (--api_depth == 0) vclock_leave();
}

/* Records one collective/p2p call made at the program's level; charges host time for an ungrouped call
 * before NCCL launches it. Returns the record's index, or -1 when not recorded. */
static int record(const char *func, ncclComm_t comm, size_t count, ncclDataType_t dt, const char *redop, int root,
                  int peer, void *stream, const void *sb, const void *rb, bool p2p) {
  if (api_depth != 1 || !simtime_active()) return -1;
  if (group_depth == 0) {
    group_reset();
    group_id = 0;
  }
  struct comm_ident id = comm_identity(comm);
  struct simtime_call c = {.func = func, .comm = id.ordinal, .rank = id.rank, .nranks = id.nranks, .dev = id.dev,
                           .count = count, .datatype = type_name(dt), .redop = redop, .root = root, .peer = peer,
                           .stream = stream, .sendbuff = sb, .recvbuff = rb, .group = group_depth ? group_id : 0,
                           .t_ns = vclock_now_ns()};
  g_array_append_val(calls, c);
  if (p2p) {
    if (!group_p2p_comms) group_p2p_comms = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_add(group_p2p_comms, comm);
  } else {
    group_colls++;
  }
  if (group_depth == 0) charge_group();
  return (int)calls->len - 1;
}

static void set_rc(int idx, ncclResult_t rc) {
  if (idx >= 0 && calls && (guint)idx < calls->len) g_array_index(calls, struct simtime_call, idx).rc = rc;
}

static void trace_event(const char *type, ncclComm_t comm, int extra_key_val, const char *extra_key) {
  if (!simtime_active()) return;
  GString *s = trace_line_new(type);
  trace_add_int(s, "t_ns", vclock_now_ns());
  trace_add_uint(s, "thread", simtime_thread_id());
  if (comm) {
    struct comm_ident id = comm_identity(comm);
    trace_add_uint(s, "comm_ordinal", id.ordinal);
    trace_add_int(s, "rank", id.rank);
    trace_add_int(s, "nranks", id.nranks);
    trace_add_int(s, "device", id.dev);
  }
  if (extra_key) trace_add_int(s, extra_key, extra_key_val);
  simtime_trace_put(s);
}

/* ---- collectives ---- */
typedef ncclResult_t (*allreduce_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclAllReduce(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclRedOp_t op,
                                  ncclComm_t comm, cudaStream_t stream) {
  REAL(allreduce_fn, ncclAllReduce);
  enter();
  int i = record("AllReduce", comm, count, dt, op_name(op), -1, -1, stream, sb, rb, false);
  ncclResult_t rc = real_ncclAllReduce(sb, rb, count, dt, op, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*reduce_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, int, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclReduce(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclRedOp_t op, int root,
                               ncclComm_t comm, cudaStream_t stream) {
  REAL(reduce_fn, ncclReduce);
  enter();
  int i = record("Reduce", comm, count, dt, op_name(op), root, -1, stream, sb, rb, false);
  ncclResult_t rc = real_ncclReduce(sb, rb, count, dt, op, root, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*bcast_fn)(void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclBcast(void *buff, size_t count, ncclDataType_t dt, int root, ncclComm_t comm,
                              cudaStream_t stream) {
  REAL(bcast_fn, ncclBcast);
  enter();
  int i = record("Broadcast", comm, count, dt, NULL, root, -1, stream, buff, buff, false);
  ncclResult_t rc = real_ncclBcast(buff, count, dt, root, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*broadcast_fn)(const void *, void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclBroadcast(const void *sb, void *rb, size_t count, ncclDataType_t dt, int root, ncclComm_t comm,
                                  cudaStream_t stream) {
  REAL(broadcast_fn, ncclBroadcast);
  enter();
  int i = record("Broadcast", comm, count, dt, NULL, root, -1, stream, sb, rb, false);
  ncclResult_t rc = real_ncclBroadcast(sb, rb, count, dt, root, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*rs_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclReduceScatter(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclRedOp_t op,
                                      ncclComm_t comm, cudaStream_t stream) {
  REAL(rs_fn, ncclReduceScatter);
  enter();
  int i = record("ReduceScatter", comm, count, dt, op_name(op), -1, -1, stream, sb, rb, false);
  ncclResult_t rc = real_ncclReduceScatter(sb, rb, count, dt, op, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*ag_fn)(const void *, void *, size_t, ncclDataType_t, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclAllGather(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclComm_t comm,
                                  cudaStream_t stream) {
  REAL(ag_fn, ncclAllGather);
  enter();
  int i = record("AllGather", comm, count, dt, NULL, -1, -1, stream, sb, rb, false);
  ncclResult_t rc = real_ncclAllGather(sb, rb, count, dt, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*a2a_fn)(const void *, void *, size_t, ncclDataType_t, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclAlltoAll(const void *sb, void *rb, size_t count, ncclDataType_t dt, ncclComm_t comm,
                                 cudaStream_t stream) {
  REAL(a2a_fn, ncclAlltoAll);
  enter();
  int i = record("AlltoAll", comm, count, dt, NULL, -1, -1, stream, sb, rb, true);
  ncclResult_t rc = real_ncclAlltoAll(sb, rb, count, dt, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*send_fn)(const void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclSend(const void *sb, size_t count, ncclDataType_t dt, int peer, ncclComm_t comm,
                             cudaStream_t stream) {
  REAL(send_fn, ncclSend);
  enter();
  int i = record("Send", comm, count, dt, NULL, -1, peer, stream, sb, NULL, true);
  ncclResult_t rc = real_ncclSend(sb, count, dt, peer, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

typedef ncclResult_t (*recv_fn)(void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
EXPORT ncclResult_t ncclRecv(void *rb, size_t count, ncclDataType_t dt, int peer, ncclComm_t comm,
                             cudaStream_t stream) {
  REAL(recv_fn, ncclRecv);
  enter();
  int i = record("Recv", comm, count, dt, NULL, -1, peer, stream, NULL, rb, true);
  ncclResult_t rc = real_ncclRecv(rb, count, dt, peer, comm, stream);
  set_rc(i, rc);
  leave(group_depth == 0);
  return rc;
}

/* ---- groups ---- */
typedef ncclResult_t (*void_fn)(void);
EXPORT ncclResult_t ncclGroupStart(void) {
  REAL(void_fn, ncclGroupStart);
  enter();
  bool outer = api_depth == 1 && group_depth == 0;
  if (api_depth == 1) group_depth++;
  if (outer && simtime_active()) {
    group_reset();
    group_id = atomic_fetch_add(&next_group, 1);
    trace_event("group_start", NULL, (int)group_id, "group");
  }
  ncclResult_t rc = real_ncclGroupStart();
  leave(false);
  return rc;
}

EXPORT ncclResult_t ncclGroupEnd(void) {
  REAL(void_fn, ncclGroupEnd);
  enter();
  bool outer = api_depth == 1 && group_depth == 1;
  if (api_depth == 1 && group_depth > 0) group_depth--;
  if (outer && simtime_active()) {
    charge_group();
    trace_event("group_end", NULL, (int)group_id, "group");
  }
  ncclResult_t rc = real_ncclGroupEnd();
  leave(outer);
  return rc;
}

/* ---- communicators ---- */
static void note_init(void) {
  if (simtime_active()) simtime_report("nccl-init", NULL);
}

typedef ncclResult_t (*init_all_fn)(ncclComm_t *, int, const int *);
EXPORT ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist) {
  REAL(init_all_fn, ncclCommInitAll);
  note_init();
  enter();
  ncclResult_t rc = real_ncclCommInitAll(comms, ndev, devlist);
  leave(false);
  for (int i = 0; rc == ncclSuccess && comms && i < ndev; i++) trace_event("comm_init", comms[i], rc, "rc");
  return rc;
}

typedef ncclResult_t (*init_rank_fn)(ncclComm_t *, int, ncclUniqueId, int);
EXPORT ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
  REAL(init_rank_fn, ncclCommInitRank);
  note_init();
  enter();
  ncclResult_t rc = real_ncclCommInitRank(comm, nranks, id, rank);
  leave(false);
  if (rc == ncclSuccess && comm) trace_event("comm_init", *comm, rc, "rc");
  return rc;
}

typedef ncclResult_t (*init_rank_config_fn)(ncclComm_t *, int, ncclUniqueId, int, ncclConfig_t *);
EXPORT ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank,
                                           ncclConfig_t *config) {
  REAL(init_rank_config_fn, ncclCommInitRankConfig);
  note_init();
  enter();
  ncclResult_t rc = real_ncclCommInitRankConfig(comm, nranks, id, rank, config);
  leave(false);
  if (rc == ncclSuccess && comm) trace_event("comm_init", *comm, rc, "rc");
  return rc;
}

typedef ncclResult_t (*comm_fn)(ncclComm_t);
/* In a multi-node run the virtual network moves no data, so NCCL's network proxies never drain and a
 * destroy would wait for them forever: it becomes an abort there (the program sees the same result). */
static bool multi_node_run(void) {
  const char *n = getenv("CCSIM_NODES");
  return simtime_active() && n && atoi(n) > 1;
}

EXPORT ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  REAL(comm_fn, ncclCommDestroy);
  REAL(comm_fn, ncclCommAbort);
  trace_event("comm_destroy", comm, 0, NULL);
  comm_forget(comm);
  enter();
  ncclResult_t rc = multi_node_run() ? real_ncclCommAbort(comm) : real_ncclCommDestroy(comm);
  leave(false);
  return rc;
}

EXPORT ncclResult_t ncclCommAbort(ncclComm_t comm) {
  REAL(comm_fn, ncclCommAbort);
  trace_event("comm_abort", comm, 0, NULL);
  comm_forget(comm);
  enter();
  ncclResult_t rc = real_ncclCommAbort(comm);
  leave(false);
  return rc;
}
