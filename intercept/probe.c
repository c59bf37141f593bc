/* probe.c — `ccsim-probe`: runs the real NCCL library on the virtual GPUs of one virtual node and writes
 * what NCCL decided as capture JSON (docs/capture-format.md).
 *
 * It runs under LD_PRELOAD=libhacknccl.so (sim/platform.c starts it that way), loads the NCCL library
 * chosen with --nccl / CCSIM_NCCL through dlopen, refuses any version but 2.28.9, initialises every GPU
 * of this node (ncclCommInitAll for a single node; one thread per GPU with ncclCommInitRank and a shared
 * unique id file for several nodes), runs the requested operation at each size in nccl-tests' size
 * convention, and writes the capture store of libhacknccl.so plus the request list. A watchdog thread
 * bounds init and every call; on expiry the process exits with status 124 and says where it was.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "capture.h"
#include "capture_nccl_abi.h"
#include "comm.h"

#ifndef CCSIM_NCCL_LIB
#define CCSIM_NCCL_LIB "libnccl.so.2"
#endif

#define PROBE_EXIT_USAGE 2
#define PROBE_EXIT_VERSION 3
#define PROBE_EXIT_NCCL 4
#define PROBE_EXIT_TIMEOUT 124

/* ---- the NCCL API, declared from its public ABI (nccl.h) ---- */
typedef struct { char internal[128]; } nccl_unique_id;
typedef void *nccl_comm_t;
/* Element types and reduction operators use NCCL's numbering: enum comm_dtype and enum comm_redop. */
enum { NCCL_SCALAR_HOST_IMMEDIATE = 1 };

struct nccl_api {
  void *lib;
  int (*get_version)(int *);
  const char *(*error_string)(int);
  int (*get_unique_id)(nccl_unique_id *);
  int (*comm_init_all)(nccl_comm_t *, int, const int *);
  int (*comm_init_rank)(nccl_comm_t *, int, nccl_unique_id, int);
  int (*comm_destroy)(nccl_comm_t);
  int (*comm_abort)(nccl_comm_t);
  int (*group_start)(void);
  int (*group_end)(void);
  int (*all_reduce)(const void *, void *, size_t, int, int, nccl_comm_t, void *);
  int (*all_gather)(const void *, void *, size_t, int, nccl_comm_t, void *);
  int (*reduce_scatter)(const void *, void *, size_t, int, int, nccl_comm_t, void *);
  int (*broadcast)(const void *, void *, size_t, int, int, nccl_comm_t, void *);
  int (*reduce)(const void *, void *, size_t, int, int, int, nccl_comm_t, void *);
  int (*send)(const void *, size_t, int, int, nccl_comm_t, void *);
  int (*recv)(void *, size_t, int, int, nccl_comm_t, void *);
  int (*mem_alloc)(void **, size_t);
  int (*mem_free)(void *);
  int (*redop_create_premulsum)(int *, void *, int, int, nccl_comm_t);
};

/* ---- the fake driver, for making a device current on a thread ---- */
struct cu_api {
  int (*init)(unsigned);
  int (*device_get)(int *, int);
  int (*primary_ctx_retain)(void **, int);
  int (*ctx_set_current)(void *);
};

struct request { size_t bytes, nccl_bytes, count; };

static struct nccl_api nccl;
static struct cu_api cu;
static capture_begin_call_fn begin_call;

static int opt_nodes = 1, opt_node = 0, opt_gpus = 0, opt_type_size = 0, opt_root = 0, opt_abort = -1;
static double opt_init_timeout = 120, opt_call_timeout = 60;
static char *opt_nccl, *opt_op, *opt_sizes, *opt_out, *opt_id_file, *opt_type, *opt_redop;
static enum comm_dtype dtype = DTYPE_FLOAT;
static enum comm_redop redop = REDOP_SUM;
static int nranks, op_kind;
static struct request *requests;
static int nrequests;

/* ---- watchdog ---- */
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static double wd_deadline; /* monotonic seconds; 0 = disarmed */
static char wd_phase[128];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void wd_arm(double seconds, const char *phase) {
  pthread_mutex_lock(&wd_lock);
  wd_deadline = now_s() + seconds;
  g_strlcpy(wd_phase, phase, sizeof(wd_phase));
  pthread_mutex_unlock(&wd_lock);
}

static void *wd_thread(void *arg) {
  (void)arg;
  for (;;) {
    usleep(50000);
    pthread_mutex_lock(&wd_lock);
    double dl = wd_deadline;
    char phase[128];
    g_strlcpy(phase, wd_phase, sizeof(phase));
    pthread_mutex_unlock(&wd_lock);
    if (dl > 0 && now_s() > dl) {
      fprintf(stderr, "ccsim-probe: node %d: timed out during %s\n", opt_node, phase);
      fflush(stderr);
      _exit(PROBE_EXIT_TIMEOUT);
    }
  }
  return NULL;
}

/* ---- helpers ---- */
static void die(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ccsim-probe: node %d: ", opt_node);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(code);
}

static void nccl_check(int rc, const char *what) {
  if (rc != 0)
    die(PROBE_EXIT_NCCL, "%s failed: %s (NCCL error %d)", what, nccl.error_string ? nccl.error_string(rc) : "?", rc);
}

#define LOAD(field, name)                                                               \
  do {                                                                                  \
    *(void **)&nccl.field = dlsym(nccl.lib, name);                                      \
    if (!nccl.field) die(PROBE_EXIT_VERSION, "%s lacks %s: not an NCCL library", path, name); \
  } while (0)

static void load_nccl(const char *path) {
  nccl.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!nccl.lib) die(PROBE_EXIT_VERSION, "cannot load the NCCL library %s: %s", path, dlerror());
  LOAD(get_version, "ncclGetVersion");
  int v = 0;
  nccl.get_version(&v);
  if (v != CAPTURE_NCCL_LAYOUT_VERSION)
    die(PROBE_EXIT_VERSION, "virtual-GPU platform supports NCCL 2.28.9 only; found %d.%d.%d in %s", v / 10000,
        (v / 100) % 100, v % 100, path);
  LOAD(error_string, "ncclGetErrorString");
  LOAD(get_unique_id, "ncclGetUniqueId");
  LOAD(comm_init_all, "ncclCommInitAll");
  LOAD(comm_init_rank, "ncclCommInitRank");
  LOAD(comm_destroy, "ncclCommDestroy");
  LOAD(comm_abort, "ncclCommAbort");
  LOAD(group_start, "ncclGroupStart");
  LOAD(group_end, "ncclGroupEnd");
  LOAD(all_reduce, "ncclAllReduce");
  LOAD(all_gather, "ncclAllGather");
  LOAD(reduce_scatter, "ncclReduceScatter");
  LOAD(broadcast, "ncclBroadcast");
  LOAD(reduce, "ncclReduce");
  LOAD(send, "ncclSend");
  LOAD(recv, "ncclRecv");
  LOAD(mem_alloc, "ncclMemAlloc");
  LOAD(mem_free, "ncclMemFree");
  LOAD(redop_create_premulsum, "ncclRedOpCreatePreMulSum");
}

static void load_platform(int nccl_version) {
  capture_set_nccl_version_fn set_version = (capture_set_nccl_version_fn)dlsym(RTLD_DEFAULT, CAPTURE_SYM_SET_VERSION);
  begin_call = (capture_begin_call_fn)dlsym(RTLD_DEFAULT, CAPTURE_SYM_BEGIN_CALL);
  *(void **)&cu.init = dlsym(RTLD_DEFAULT, "cuInit");
  *(void **)&cu.device_get = dlsym(RTLD_DEFAULT, "cuDeviceGet");
  *(void **)&cu.primary_ctx_retain = dlsym(RTLD_DEFAULT, "cuDevicePrimaryCtxRetain");
  *(void **)&cu.ctx_set_current = dlsym(RTLD_DEFAULT, "cuCtxSetCurrent");
  if (!set_version || !begin_call || !cu.init || !cu.primary_ctx_retain || !cu.ctx_set_current || !cu.device_get)
    die(PROBE_EXIT_USAGE, "libhacknccl.so is not loaded (run the probe through ccsim, or with LD_PRELOAD=libhacknccl.so)");
  set_version(nccl_version);
  if (cu.init(0) != 0) die(PROBE_EXIT_NCCL, "the virtual CUDA driver failed to initialise (cuInit)");
}

static void set_device(int dev) {
  int d = 0;
  void *ctx = NULL;
  if (cu.device_get(&d, dev) != 0 || cu.primary_ctx_retain(&ctx, d) != 0 || cu.ctx_set_current(ctx) != 0)
    die(PROBE_EXIT_NCCL, "cannot make virtual GPU %d current", dev);
}

/* --type-size alone (older callers): the type nccl-tests would use for that width. */
static enum comm_dtype dtype_of_size(int ts) {
  switch (ts) {
  case 1: return DTYPE_INT8;
  case 2: return DTYPE_HALF;
  case 8: return DTYPE_DOUBLE;
  default: return DTYPE_FLOAT;
  }
}

/* The NCCL operator for a call on `comm`: built-in ones by number; mulsum is made once per communicator
 * (ncclRedOpCreatePreMulSum, with a host scalar as nccl-tests passes it), kept per GPU index of this
 * process (`slot`), so each rank thread touches only its own entry. */
static int *premulsum_ops;
static nccl_comm_t *premulsum_comms;

static int nccl_redop(nccl_comm_t comm, int slot) {
  if (redop != REDOP_MULSUM) return (int)redop;
  if (premulsum_comms[slot] != comm) {
    double scalar = 1.0; /* 8 bytes, wide enough for any element type: only the operator's kind matters */
    nccl_check(nccl.redop_create_premulsum(&premulsum_ops[slot], &scalar, (int)dtype, NCCL_SCALAR_HOST_IMMEDIATE, comm),
               "ncclRedOpCreatePreMulSum");
    premulsum_comms[slot] = comm;
  }
  return premulsum_ops[slot];
}

/* nccl-tests' size column -> element count per call and the size NCCL's tuning sees. */
static struct request make_request(size_t size) {
  struct request r = {0};
  size_t ts = (size_t)comm_dtype_size(dtype), n = (size_t)nranks;
  switch (op_kind) {
  case OP_ALL_GATHER:
  case OP_REDUCE_SCATTER:
    r.count = size / ts / n;           /* per-rank part */
    r.bytes = r.count * ts * n;
    r.nccl_bytes = r.count * ts;
    break;
  case OP_ALLTOALL:
    r.count = size / ts / n;           /* per peer */
    r.bytes = r.count * ts * n;
    r.nccl_bytes = r.count * ts;
    break;
  default:
    r.count = size / ts;
    r.bytes = r.count * ts;
    r.nccl_bytes = r.bytes;
  }
  return r;
}

static void parse_sizes(void) {
  if (!opt_sizes || !*opt_sizes) return;
  gchar **parts = g_strsplit(opt_sizes, ",", -1);
  for (int i = 0; parts[i]; i++) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(parts[i], &end, 10);
    if (errno || end == parts[i] || *end) die(PROBE_EXIT_USAGE, "bad size '%s' in --sizes", parts[i]);
    requests = g_renew(struct request, requests, nrequests + 1);
    requests[nrequests++] = make_request((size_t)v);
  }
  g_strfreev(parts);
}

/* Issue one rank's part of call k (inside the caller's group); `slot`: the GPU's index in this process. */
static void issue(nccl_comm_t comm, int rank, int slot, const struct request *r, void *sbuf, void *rbuf) {
  int t = (int)dtype;
  size_t ts = (size_t)comm_dtype_size(dtype);
  switch (op_kind) {
  case OP_ALL_REDUCE:
    nccl_check(nccl.all_reduce(sbuf, rbuf, r->count, t, nccl_redop(comm, slot), comm, NULL), "ncclAllReduce");
    break;
  case OP_ALL_GATHER: nccl_check(nccl.all_gather(sbuf, rbuf, r->count, t, comm, NULL), "ncclAllGather"); break;
  case OP_REDUCE_SCATTER:
    nccl_check(nccl.reduce_scatter(sbuf, rbuf, r->count, t, nccl_redop(comm, slot), comm, NULL), "ncclReduceScatter");
    break;
  case OP_BROADCAST: nccl_check(nccl.broadcast(sbuf, rbuf, r->count, t, opt_root, comm, NULL), "ncclBroadcast"); break;
  case OP_REDUCE:
    nccl_check(nccl.reduce(sbuf, rbuf, r->count, t, nccl_redop(comm, slot), opt_root, comm, NULL), "ncclReduce");
    break;
  case OP_ALLTOALL:
    for (int p = 0; p < nranks; p++) {
      size_t off = (size_t)p * r->count * ts;
      nccl_check(nccl.send((char *)sbuf + off, r->count, t, p, comm, NULL), "ncclSend");
      nccl_check(nccl.recv((char *)rbuf + off, r->count, t, p, comm, NULL), "ncclRecv");
    }
    break;
  case OP_SENDRECV:
    nccl_check(nccl.send(sbuf, r->count, t, (rank + 1) % nranks, comm, NULL), "ncclSend");
    nccl_check(nccl.recv(rbuf, r->count, t, (rank + nranks - 1) % nranks, comm, NULL), "ncclRecv");
    break;
  }
}

static size_t max_buffer_bytes(void) {
  size_t m = 4096;
  for (int i = 0; i < nrequests; i++) {
    size_t b = op_kind == OP_ALL_GATHER || op_kind == OP_REDUCE_SCATTER || op_kind == OP_ALLTOALL
                   ? requests[i].bytes : requests[i].nccl_bytes;
    if (b > m) m = b;
  }
  return m;
}

static int fail_point(const char *where) {
  const char *f = getenv("CCSIM_PROBE_FAIL");
  return f && !strcmp(f, where);
}

/* CCSIM_PROBE_FAIL=init: die by SIGABRT while NCCL init is under way (tests of the launcher). */
static void *abort_soon(void *arg) {
  (void)arg;
  usleep(200000);
  abort();
  return NULL;
}
/* CCSIM_PROBE_FAIL=hang: never finish init (tests of the time limits). */
static void maybe_fail_during_init(void) {
  pthread_t t;
  if (fail_point("init") && pthread_create(&t, NULL, abort_soon, NULL) == 0) pthread_detach(t);
  while (fail_point("hang")) pause();
}

static double init_seconds;

/* Send/recv connections are made lazily, per peer, on as many channels as NCCL gives each peer (one value
 * for the whole communicator). One minimal exchange outside any requested call lets the capture count them:
 * rank 0 sends to rank 1, and every rank also sends to itself, so every rank launches once (the launch
 * carries the device-side communicator the channel graphs are read from) while only one pair of ranks pays
 * for a connection. */
static int need_p2p_discovery(void) {
  return !nrequests || (op_kind != OP_SENDRECV && op_kind != OP_ALLTOALL);
}
static void p2p_discovery(nccl_comm_t comm, int rank, void *sbuf, void *rbuf) {
  nccl_check(nccl.send(sbuf, 1, DTYPE_FLOAT, rank, comm, NULL), "ncclSend");
  nccl_check(nccl.recv(rbuf, 1, DTYPE_FLOAT, rank, comm, NULL), "ncclRecv");
  if (nranks > 1 && rank == 0) nccl_check(nccl.send(sbuf, 1, DTYPE_FLOAT, 1, comm, NULL), "ncclSend");
  if (nranks > 1 && rank == 1) nccl_check(nccl.recv(rbuf, 1, DTYPE_FLOAT, 0, comm, NULL), "ncclRecv");
}

/* ---- one node, one thread: ncclCommInitAll ---- */
static nccl_comm_t *comms;
static void **sbufs, **rbufs;

static void run_single(void) {
  int g = opt_gpus;
  comms = g_new0(nccl_comm_t, g);
  sbufs = g_new0(void *, g);
  rbufs = g_new0(void *, g);
  wd_arm(opt_init_timeout, "NCCL init (ncclCommInitAll)");
  maybe_fail_during_init();
  double t0 = now_s();
  nccl_check(nccl.comm_init_all(comms, g, NULL), "ncclCommInitAll");
  init_seconds = now_s() - t0;
  while (fail_point("init")) pause(); /* init was quicker than the abort: wait for it */
  size_t bytes = max_buffer_bytes();
  for (int d = 0; d < g; d++) {
    set_device(d);
    nccl_check(nccl.mem_alloc(&sbufs[d], bytes), "ncclMemAlloc");
    nccl_check(nccl.mem_alloc(&rbufs[d], bytes), "ncclMemAlloc");
  }
  for (int k = 0; k < nrequests; k++) {
    const struct request *r = &requests[k];
    if (r->count == 0) continue; /* NCCL does nothing for empty calls */
    char phase[96];
    snprintf(phase, sizeof(phase), "%s of %zu bytes", comm_op_name((enum comm_op)op_kind), r->bytes);
    wd_arm(opt_call_timeout, phase);
    begin_call(k);
    nccl_check(nccl.group_start(), "ncclGroupStart");
    for (int d = 0; d < g; d++) issue(comms[d], d, d, r, sbufs[d], rbufs[d]);
    nccl_check(nccl.group_end(), "ncclGroupEnd");
    begin_call(-1);
  }
  if (need_p2p_discovery()) {
    wd_arm(opt_call_timeout, "a minimal send/recv (p2p channel discovery)");
    nccl_check(nccl.group_start(), "ncclGroupStart");
    for (int d = 0; d < g; d++) p2p_discovery(comms[d], d, sbufs[d], rbufs[d]);
    nccl_check(nccl.group_end(), "ncclGroupEnd");
  }
}

/* ---- several nodes: one thread per GPU, ncclCommInitRank ---- */
struct rank_thread { pthread_t tid; int dev, rank; nccl_comm_t comm; void *sbuf, *rbuf; };
static nccl_unique_id unique_id;
static pthread_barrier_t call_barrier;

static void *rank_main(void *arg) {
  struct rank_thread *t = arg;
  set_device(t->dev);
  double t0 = now_s();
  nccl_check(nccl.comm_init_rank(&t->comm, nranks, unique_id, t->rank), "ncclCommInitRank");
  if (t->dev == 0) init_seconds = now_s() - t0;
  while (fail_point("init")) pause();
  size_t bytes = max_buffer_bytes();
  nccl_check(nccl.mem_alloc(&t->sbuf, bytes), "ncclMemAlloc");
  nccl_check(nccl.mem_alloc(&t->rbuf, bytes), "ncclMemAlloc");
  pthread_barrier_wait(&call_barrier);
  for (int k = 0; k < nrequests; k++) {
    const struct request *r = &requests[k];
    if (r->count == 0) continue;
    if (t->dev == 0) {
      char phase[96];
      snprintf(phase, sizeof(phase), "%s of %zu bytes", comm_op_name((enum comm_op)op_kind), r->bytes);
      wd_arm(opt_call_timeout, phase);
    }
    pthread_barrier_wait(&call_barrier);
    begin_call(k);
    nccl_check(nccl.group_start(), "ncclGroupStart");
    issue(t->comm, t->rank, t->dev, r, t->sbuf, t->rbuf);
    nccl_check(nccl.group_end(), "ncclGroupEnd");
    begin_call(-1);
  }
  if (need_p2p_discovery()) {
    if (t->dev == 0) wd_arm(opt_call_timeout, "a minimal send/recv (p2p channel discovery)");
    pthread_barrier_wait(&call_barrier);
    nccl_check(nccl.group_start(), "ncclGroupStart");
    p2p_discovery(t->comm, t->rank, t->sbuf, t->rbuf);
    nccl_check(nccl.group_end(), "ncclGroupEnd");
  }
  pthread_barrier_wait(&call_barrier);
  return NULL;
}

static void share_unique_id(void) {
  if (!opt_id_file) die(PROBE_EXIT_USAGE, "--id-file is required with --nodes > 1");
  if (opt_node == 0) {
    nccl_check(nccl.get_unique_id(&unique_id), "ncclGetUniqueId");
    char *tmp = g_strdup_printf("%s.tmp.%d", opt_id_file, (int)getpid());
    if (!g_file_set_contents(tmp, unique_id.internal, sizeof(unique_id.internal), NULL) || rename(tmp, opt_id_file) != 0)
      die(PROBE_EXIT_USAGE, "cannot write the NCCL unique id to %s: %s", opt_id_file, g_strerror(errno));
    g_free(tmp);
    return;
  }
  /* Other nodes wait for node 0 to publish it (bounded by the init watchdog). */
  for (;;) {
    gchar *data = NULL;
    gsize len = 0;
    if (g_file_get_contents(opt_id_file, &data, &len, NULL) && len == sizeof(unique_id.internal)) {
      memcpy(unique_id.internal, data, len);
      g_free(data);
      return;
    }
    g_free(data);
    usleep(20000);
  }
}

static struct rank_thread *threads;

static void run_multi(void) {
  int g = opt_gpus;
  wd_arm(opt_init_timeout, "NCCL bootstrap (waiting for node 0's unique id)");
  share_unique_id();
  wd_arm(opt_init_timeout, "NCCL init (ncclCommInitRank)");
  threads = g_new0(struct rank_thread, g);
  pthread_barrier_init(&call_barrier, NULL, (unsigned)g);
  for (int d = 0; d < g; d++) {
    threads[d].dev = d;
    threads[d].rank = opt_node * g + d;
    if (pthread_create(&threads[d].tid, NULL, rank_main, &threads[d]) != 0) die(PROBE_EXIT_NCCL, "cannot start a thread");
  }
  maybe_fail_during_init();
  for (int d = 0; d < g; d++) pthread_join(threads[d].tid, NULL);
}

static void write_output(int nccl_version, double init_s, double run_s) {
  char *tmp = g_strdup_printf("%s.tmp.%d", opt_out, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) die(PROBE_EXIT_USAGE, "cannot write %s: %s", tmp, g_strerror(errno));
  capture_write_json_fn write_json = (capture_write_json_fn)dlsym(RTLD_DEFAULT, CAPTURE_SYM_WRITE_JSON);
  fprintf(f, "{\n  \"format\": \"ccsim-capture\",\n  \"version\": %d,\n  \"nccl_version\": %d,\n", CAPTURE_FORMAT_VERSION,
          nccl_version);
  fprintf(f, "  \"node\": %d,\n  \"nodes\": %d,\n  \"gpus\": %d,\n  \"nranks\": %d,\n", opt_node, opt_nodes, opt_gpus, nranks);
  fprintf(f, "  \"op\": \"%s\",\n  \"type_size\": %d,\n  \"init_seconds\": %.3f,\n  \"run_seconds\": %.3f,\n"
             "  \"requests\": [", comm_op_name((enum comm_op)op_kind), comm_dtype_size(dtype), init_s, run_s);
  for (int i = 0; i < nrequests; i++)
    fprintf(f, "%s\n    {\"index\": %d, \"bytes\": %zu, \"nccl_bytes\": %zu, \"count\": %zu}", i ? "," : "", i,
            requests[i].bytes, requests[i].nccl_bytes, requests[i].count);
  fprintf(f, "],\n");
  int rc = write_json ? write_json(f) : -1;
  fprintf(f, "\n}\n");
  if (rc != 0 || fclose(f) != 0 || rename(tmp, opt_out) != 0) die(PROBE_EXIT_USAGE, "cannot write %s", opt_out);
  g_free(tmp);
}

static void finish(void) {
  wd_arm(opt_call_timeout, "communicator teardown");
  /* Work through the network (across nodes, or inside one when NCCL routes some ring connections
   * through NICs, as with NCCL_P2P_DISABLE=1 on 8 GPUs) leaves proxy operations that wait for kernels
   * that never run, and ncclCommDestroy would wait for them: abort, do not destroy. */
  int use_abort = opt_abort >= 0 ? opt_abort : 1;
  for (int d = 0; d < opt_gpus; d++) {
    nccl_comm_t comm = opt_nodes > 1 ? threads[d].comm : comms[d];
    nccl_check(use_abort ? nccl.comm_abort(comm) : nccl.comm_destroy(comm),
               use_abort ? "ncclCommAbort" : "ncclCommDestroy");
  }
}

int main(int argc, char **argv) {
  GOptionEntry entries[] = {
    {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &opt_nccl, "NCCL library to run (default: $CCSIM_NCCL or " CCSIM_NCCL_LIB ")", "PATH"},
    {"op", 0, 0, G_OPTION_ARG_STRING, &opt_op, "operation: all_reduce, all_gather, reduce_scatter, broadcast, reduce, alltoall, sendrecv", "OP"},
    {"sizes", 0, 0, G_OPTION_ARG_STRING, &opt_sizes, "comma-separated sizes in nccl-tests' convention (none: init and one minimal call)", "LIST"},
    {"type", 0, 0, G_OPTION_ARG_STRING, &opt_type, "element type as nccl-tests names it (-d; default float): " COMM_DTYPE_NAMES, "TYPE"},
    {"type-size", 0, 0, G_OPTION_ARG_INT, &opt_type_size, "instead of --type: bytes per element, 1 (int8), 2 (half), 4 (float) or 8 (double)", "N"},
    {"redop", 0, 0, G_OPTION_ARG_STRING, &opt_redop, "reduction operator (default sum): " COMM_REDOP_NAMES, "OP"},
    {"root", 0, 0, G_OPTION_ARG_INT, &opt_root, "root rank of broadcast and reduce (default 0)", "R"},
    {"nodes", 0, 0, G_OPTION_ARG_INT, &opt_nodes, "virtual nodes in the job (default: $CCSIM_NODES or 1)", "N"},
    {"node", 0, 0, G_OPTION_ARG_INT, &opt_node, "which node this process is (default: $CCSIM_NODE or 0)", "I"},
    {"gpus", 0, 0, G_OPTION_ARG_INT, &opt_gpus, "GPUs of this node to use (default: all the platform presents)", "G"},
    {"id-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_id_file, "file through which node 0 shares the NCCL unique id", "PATH"},
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "capture JSON to write", "FILE"},
    {"init-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_init_timeout, "seconds allowed for NCCL init (default 120)", "S"},
    {"call-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_call_timeout, "seconds allowed for each call (default 60)", "S"},
    {"abort", 0, 0, G_OPTION_ARG_INT, &opt_abort, "end communicators with ncclCommAbort (1, default) or ncclCommDestroy (0)", "0|1"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  const char *e;
  if ((e = getenv("CCSIM_NODES"))) opt_nodes = atoi(e);
  if ((e = getenv("CCSIM_NODE"))) opt_node = atoi(e);
  GOptionContext *ctx = g_option_context_new("- run NCCL on the virtual GPUs of one node and capture its decisions");
  g_option_context_set_summary(ctx, "Runs under LD_PRELOAD=libhacknccl.so with CCSIM_TOPO naming the node topology;\n"
                                    "ccsim graph/decide start it. Writes capture JSON (docs/capture-format.md).");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "ccsim-probe: %s\n", err->message);
    return PROBE_EXIT_USAGE;
  }
  g_option_context_free(ctx);
  if (!opt_out) { fprintf(stderr, "ccsim-probe: --out FILE is required\n"); return PROBE_EXIT_USAGE; }
  if (opt_nodes < 1 || opt_node < 0 || opt_node >= opt_nodes) {
    fprintf(stderr, "ccsim-probe: node %d of %d is not a valid virtual node\n", opt_node, opt_nodes);
    return PROBE_EXIT_USAGE;
  }
  op_kind = comm_op_parse(opt_op ? opt_op : "all_reduce");
  if (op_kind < 0) { fprintf(stderr, "ccsim-probe: unknown operation '%s'\n", opt_op); return PROBE_EXIT_USAGE; }
  if (opt_type_size && opt_type_size != 1 && opt_type_size != 2 && opt_type_size != 4 && opt_type_size != 8) {
    fprintf(stderr, "ccsim-probe: --type-size must be 1, 2, 4 or 8\n");
    return PROBE_EXIT_USAGE;
  }
  char *bad = comm_names_problem(opt_type, opt_redop);
  if (bad) {
    fprintf(stderr, "ccsim-probe: %s\n", bad);
    g_free(bad);
    return PROBE_EXIT_USAGE;
  }
  if (opt_type) dtype = (enum comm_dtype)comm_dtype_parse(opt_type);
  else if (opt_type_size) dtype = dtype_of_size(opt_type_size);
  if (opt_redop) redop = (enum comm_redop)comm_redop_parse(opt_redop);

  pthread_t wd;
  pthread_create(&wd, NULL, wd_thread, NULL);
  pthread_detach(wd);

  const char *path = opt_nccl ? opt_nccl : (getenv("CCSIM_NCCL") ? getenv("CCSIM_NCCL") : CCSIM_NCCL_LIB);
  wd_arm(opt_init_timeout, "loading the NCCL library");
  load_nccl(path);
  int version = 0;
  nccl.get_version(&version);
  load_platform(version);
  if (opt_gpus <= 0) {
    int (*gpu_count)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "hack_gpu_count");
    opt_gpus = gpu_count ? gpu_count() : 0;
  }
  if (opt_gpus <= 0) die(PROBE_EXIT_USAGE, "the topology presents no GPUs");
  nranks = opt_nodes * opt_gpus;
  if (opt_root < 0 || opt_root >= nranks) die(PROBE_EXIT_USAGE, "--root %d is not a rank of the %d ranks", opt_root, nranks);
  premulsum_ops = g_new0(int, opt_gpus);
  premulsum_comms = g_new0(nccl_comm_t, opt_gpus);
  parse_sizes();

  double t0 = now_s();
  if (opt_nodes == 1) run_single(); else run_multi();
  double run_s = now_s() - t0;
  wd_arm(opt_call_timeout, "writing the capture");
  write_output(version, init_seconds, run_s);
  if (fail_point("teardown")) abort();
  finish();
  pthread_mutex_lock(&wd_lock);
  wd_deadline = 0;
  pthread_mutex_unlock(&wd_lock);
  /* Exit without running library destructors of a half-torn-down NCCL (proxy threads may linger). */
  fflush(NULL);
  _exit(0);
}
