/* nccl_virtual.c — runs the real NCCL library on the virtual GPUs of libhacknccl.so: ncclCommInitAll over
 * every presented GPU, grouped AllReduces of several sizes, a send/recv ring, destroy; every return code
 * is checked. With --graph-expect FILE it also checks that NCCL_GRAPH_DUMP_FILE output equals FILE.
 * With --processes P it runs P copies of itself instead, sharing one NCCL unique id through a file:
 * either P processes on one virtual node splitting its GPUs (ranks talk through cuMem handles passed
 * between processes), or with --multi-node one process per virtual node (CCSIM_NODE, NCCL_HOSTID),
 * init and destroy only, since nothing moves data between virtual nodes.
 * Run under LD_PRELOAD=libhacknccl.so with CCSIM_TOPO set. Exit 77 (skip) when libnccl cannot be loaded. */
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <nccl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_SKIP 77

typedef ncclResult_t (*get_version_fn)(int *);
typedef ncclResult_t (*init_all_fn)(ncclComm_t *, int, const int *);
typedef ncclResult_t (*unique_id_fn)(ncclUniqueId *);
typedef ncclResult_t (*init_rank_fn)(ncclComm_t *, int, ncclUniqueId, int);
typedef ncclResult_t (*group_fn)(void);
typedef ncclResult_t (*all_reduce_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                                      cudaStream_t);
typedef ncclResult_t (*send_fn)(const void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
typedef ncclResult_t (*recv_fn)(void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
typedef ncclResult_t (*destroy_fn)(ncclComm_t);
typedef ncclResult_t (*split_fn)(ncclComm_t, int, int, ncclComm_t *, ncclConfig_t *);
typedef ncclResult_t (*mem_alloc_fn)(void **, size_t);
typedef ncclResult_t (*mem_free_fn)(void *);
typedef const char *(*error_string_fn)(ncclResult_t);

/* The few driver entry points the test needs to give NCCL "device" buffers (from libhacknccl.so). */
typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_count_fn)(int *);
typedef int (*cu_retain_fn)(void **, int);
typedef int (*cu_set_current_fn)(void *);
typedef int (*cu_alloc_fn)(unsigned long long *, size_t);
typedef int (*cu_free_fn)(unsigned long long);

/* With --cudart the application's own CUDA runtime (libcudart.so.13) makes devices current and allocates,
 * as real NCCL programs do: that runtime performs its own handshake with the virtual driver, and the
 * two runtimes must agree on each thread's current device. */
typedef int (*rt_set_device_fn)(int);
typedef int (*rt_malloc_fn)(void **, size_t);
typedef int (*rt_free_fn)(void *);
typedef int (*rt_sync_fn)(void);
static rt_set_device_fn rt_set_device;
static rt_malloc_fn rt_malloc;
static rt_free_fn rt_free;
static rt_sync_fn rt_sync;
static cu_retain_fn cu_retain;
static cu_set_current_fn cu_set_current;
static cu_alloc_fn cu_alloc;
static cu_free_fn cu_free;

static int use_device(int dev) {
  if (rt_set_device) return rt_set_device(dev);
  void *ctx = NULL;
  return cu_retain(&ctx, dev) || cu_set_current(ctx);
}

static int dev_alloc(unsigned long long *p, size_t bytes) {
  if (rt_malloc) {
    void *q = NULL;
    int r = rt_malloc(&q, bytes);
    *p = (unsigned long long)(uintptr_t)q;
    return r;
  }
  return cu_alloc(p, bytes);
}

static int dev_free(unsigned long long p) { return rt_free ? rt_free((void *)(uintptr_t)p) : cu_free(p); }

static error_string_fn nccl_error;

#define NCCL_OK(call)                                                                              \
  do {                                                                                             \
    ncclResult_t r_ = (call);                                                                      \
    if (r_ != ncclSuccess) {                                                                       \
      fprintf(stderr, "nccl_virtual: %s failed: %d (%s)\n", #call, r_, nccl_error ? nccl_error(r_) : "?"); \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static void *need(void *lib, const char *sym, const char *what) {
  void *p = dlsym(lib, sym);
  if (!p) {
    fprintf(stderr, "nccl_virtual: %s has no symbol %s\n", what, sym);
    exit(1);
  }
  return p;
}

static int files_equal(const char *a, const char *b) {
  gchar *ca = NULL, *cb = NULL;
  gsize la = 0, lb = 0;
  GError *err = NULL;
  if (!g_file_get_contents(a, &ca, &la, &err) || !g_file_get_contents(b, &cb, &lb, &err)) {
    fprintf(stderr, "nccl_virtual: %s\n", err->message);
    g_error_free(err);
    g_free(ca);
    return 0;
  }
  int same = la == lb && memcmp(ca, cb, la) == 0;
  g_free(ca);
  g_free(cb);
  return same;
}

/* The job: which ranks this process runs. Single process: all GPUs, ncclCommInitAll. */
struct job {
  int processes, child; /* child < 0: the only process */
  int multi_node;
  int visible;          /* one process per GPU slice chosen with CUDA_VISIBLE_DEVICES */
  const char *id_file;
  int nranks;
  int nlocal;
  int first_dev;        /* local GPU k is device first_dev + k */
  int first_rank;       /* and rank first_rank + k */
};

/* Rank 0's process publishes the unique id atomically; the others wait for it (bounded). */
static int share_unique_id(const struct job *job, unique_id_fn get_id, ncclUniqueId *id) {
  if (job->child == 0) {
    NCCL_OK(get_id(id));
    char *tmp = g_strdup_printf("%s.tmp", job->id_file);
    GError *err = NULL;
    if (!g_file_set_contents(tmp, (const char *)id, sizeof *id, &err) || g_rename(tmp, job->id_file) != 0) {
      fprintf(stderr, "nccl_virtual: cannot publish the unique id: %s\n", err ? err->message : g_strerror(errno));
      return -1;
    }
    g_free(tmp);
    return 0;
  }
  for (int waited_ms = 0; waited_ms < 60000; waited_ms += 20) {
    gchar *data = NULL;
    gsize len = 0;
    if (g_file_get_contents(job->id_file, &data, &len, NULL) && len == sizeof *id) {
      memcpy(id, data, sizeof *id);
      g_free(data);
      return 0;
    }
    g_free(data);
    g_usleep(20000);
  }
  fprintf(stderr, "nccl_virtual: no unique id in %s after 60 s\n", job->id_file);
  return -1;
}

/* Parent of --processes: start the children, wait for all of them (bounded), kill stragglers. */
static int run_parent(int processes, int multi_node, int visible, const char *nccl_path, const char *cudart,
                      int iterations) {
  int gpus = 0;
  if (visible) {
    void *cu = dlopen("libcuda.so.1", RTLD_NOW);
    cu_init_fn init = cu ? (cu_init_fn)dlsym(cu, "cuInit") : NULL;
    cu_count_fn count = cu ? (cu_count_fn)dlsym(cu, "cuDeviceGetCount") : NULL;
    if (!init || !count || init(0) || count(&gpus) || gpus % processes) {
      fprintf(stderr, "nccl_virtual: cannot split the virtual GPUs over %d processes\n", processes);
      return 1;
    }
  }
  char *dir = g_dir_make_tmp("ccsim-nccl-XXXXXX", NULL);
  if (!dir) {
    fprintf(stderr, "nccl_virtual: cannot create a temporary directory\n");
    return 1;
  }
  char *id_file = g_build_filename(dir, "unique-id", NULL);
  pid_t *pids = calloc((size_t)processes, sizeof *pids);
  for (int i = 0; i < processes; i++) {
    char child[16], procs[16], iters[16];
    snprintf(child, sizeof child, "%d", i);
    snprintf(procs, sizeof procs, "%d", processes);
    snprintf(iters, sizeof iters, "%d", iterations);
    pids[i] = fork();
    if (pids[i] == 0) {
      if (visible) {
        GString *list = g_string_new(NULL);
        for (int d = i * (gpus / processes); d < (i + 1) * (gpus / processes); d++)
          g_string_append_printf(list, "%s%d", list->len ? "," : "", d);
        setenv("CUDA_VISIBLE_DEVICES", list->str, 1);
        g_string_free(list, TRUE);
      }
      if (multi_node) {
        char host[64];
        snprintf(host, sizeof host, "ccsim-virtual-node-%d", i);
        setenv("CCSIM_NODES", procs, 1);
        setenv("CCSIM_NODE", child, 1);
        setenv("NCCL_HOSTID", host, 1);
      }
      /* exec, so the preloaded platform starts fresh with this node's identity */
      const char *args[16];
      int a = 0;
      args[a++] = "nccl_virtual";
      args[a++] = "--nccl";
      args[a++] = nccl_path;
      args[a++] = "--processes";
      args[a++] = procs;
      args[a++] = "--child";
      args[a++] = child;
      args[a++] = "--id-file";
      args[a++] = id_file;
      args[a++] = "--iterations";
      args[a++] = iters;
      if (cudart) {
        args[a++] = "--cudart";
        args[a++] = cudart;
      }
      if (multi_node) args[a++] = "--multi-node";
      if (visible) args[a++] = "--visible-devices";
      args[a] = NULL;
      execv("/proc/self/exe", (char *const *)args);
      _exit(127);
    }
  }
  int status = 0, skipped = 0;
  gint64 deadline = g_get_monotonic_time() + 240 * G_USEC_PER_SEC;
  for (int left = processes; left > 0;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid > 0) {
      left--;
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (code == EXIT_SKIP) skipped++;
      else if (code != 0) {
        fprintf(stderr, "nccl_virtual: process %d exited with %d\n", (int)pid, code);
        status = 1;
      }
      continue;
    }
    if (g_get_monotonic_time() > deadline) {
      fprintf(stderr, "nccl_virtual: processes still running after 240 s: killing them\n");
      for (int i = 0; i < processes; i++) kill(pids[i], SIGKILL);
      while (waitpid(-1, NULL, 0) > 0) {
      }
      status = 1;
      break;
    }
    g_usleep(10000);
  }
  g_unlink(id_file);
  g_rmdir(dir);
  g_free(id_file);
  g_free(dir);
  free(pids);
  if (status == 0 && skipped == processes) return EXIT_SKIP;
  if (status == 0) printf("all %d processes finished\n", processes);
  return status;
}

int main(int argc, char **argv) {
  const char *nccl_path = getenv("CCSIM_NCCL") ? getenv("CCSIM_NCCL") : "libnccl.so.2";
  const char *graph_expect = NULL;
  const char *cudart_path = NULL;
  int iterations = 1;
  struct job job = {1, -1, 0, 0, NULL, 0, 0, 0, 0};
  GOptionEntry entries[] = {
      {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl_path, "NCCL library to run (default: CCSIM_NCCL or libnccl.so.2)",
       "PATH"},
      {"graph-expect", 0, 0, G_OPTION_ARG_FILENAME, &graph_expect,
       "check that NCCL's graph dump (NCCL_GRAPH_DUMP_FILE) equals FILE byte for byte", "FILE"},
      {"cudart", 0, 0, G_OPTION_ARG_FILENAME, &cudart_path,
       "select devices and allocate through this CUDA runtime (libcudart.so.13) instead of the driver API", "PATH"},
      {"iterations", 0, 0, G_OPTION_ARG_INT, &iterations, "repeat the collective sequence N times (default 1)", "N"},
      {"processes", 0, 0, G_OPTION_ARG_INT, &job.processes,
       "run P processes: on one node sharing its GPUs, or with --multi-node one per virtual node", "P"},
      {"multi-node", 0, 0, G_OPTION_ARG_NONE, &job.multi_node, "one process per virtual node (init and destroy)",
       NULL},
      {"visible-devices", 0, 0, G_OPTION_ARG_NONE, &job.visible,
       "give each process its slice of the node's GPUs through CUDA_VISIBLE_DEVICES", NULL},
      {"child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &job.child, "internal: this child's index", "I"},
      {"id-file", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &job.id_file, "internal: unique id file", "F"},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- run NCCL on the virtual GPUs of libhacknccl.so");
  g_option_context_set_description(ctx, "Run with LD_PRELOAD=libhacknccl.so and CCSIM_TOPO=topology.xml "
                                        "(CCSIM_GPUS=N presents the first N GPUs). Exit status 77: NCCL absent.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "nccl_virtual: %s\n", err->message);
    return 2;
  }
  g_option_context_free(ctx);
  if (iterations < 1 || job.processes < 1 || (job.child >= 0 && (!job.id_file || job.child >= job.processes))) {
    fprintf(stderr, "nccl_virtual: bad arguments (see --help)\n");
    return 2;
  }
  if (job.processes > 1 && graph_expect) {
    fprintf(stderr, "nccl_virtual: --graph-expect needs a single process\n");
    return 2;
  }
  alarm(300); /* never hang a test run */
  if (job.processes > 1 && job.child < 0) return run_parent(job.processes, job.multi_node, job.visible, nccl_path, cudart_path, iterations);

  char *dump = NULL;
  if (graph_expect) {
    int fd = g_file_open_tmp("ccsim-graph-XXXXXX.xml", &dump, &err);
    if (fd < 0) {
      fprintf(stderr, "nccl_virtual: %s\n", err->message);
      return 1;
    }
    close(fd);
    g_unlink(dump);
    setenv("NCCL_GRAPH_DUMP_FILE", dump, 1);
  }

  void *nccl = dlopen(nccl_path, RTLD_NOW | RTLD_LOCAL);
  if (!nccl) {
    fprintf(stderr, "nccl_virtual: SKIP: cannot load NCCL (%s)\n", dlerror());
    return EXIT_SKIP;
  }
  nccl_error = (error_string_fn)need(nccl, "ncclGetErrorString", nccl_path);
  get_version_fn get_version = (get_version_fn)need(nccl, "ncclGetVersion", nccl_path);
  init_all_fn init_all = (init_all_fn)need(nccl, "ncclCommInitAll", nccl_path);
  unique_id_fn get_unique_id = (unique_id_fn)need(nccl, "ncclGetUniqueId", nccl_path);
  init_rank_fn init_rank = (init_rank_fn)need(nccl, "ncclCommInitRank", nccl_path);
  group_fn group_start = (group_fn)need(nccl, "ncclGroupStart", nccl_path);
  group_fn group_end = (group_fn)need(nccl, "ncclGroupEnd", nccl_path);
  all_reduce_fn all_reduce = (all_reduce_fn)need(nccl, "ncclAllReduce", nccl_path);
  send_fn send = (send_fn)need(nccl, "ncclSend", nccl_path);
  recv_fn recv = (recv_fn)need(nccl, "ncclRecv", nccl_path);
  destroy_fn destroy = (destroy_fn)need(nccl, "ncclCommDestroy", nccl_path);
  split_fn split = (split_fn)need(nccl, "ncclCommSplit", nccl_path);
  mem_alloc_fn mem_alloc = (mem_alloc_fn)need(nccl, "ncclMemAlloc", nccl_path);
  mem_free_fn mem_free = (mem_free_fn)need(nccl, "ncclMemFree", nccl_path);

  void *cu = dlopen("libcuda.so.1", RTLD_NOW);
  if (!cu) {
    fprintf(stderr, "nccl_virtual: cannot load the virtual driver (run under LD_PRELOAD=libhacknccl.so): %s\n",
            dlerror());
    return 1;
  }
  cu_init_fn cu_init = (cu_init_fn)need(cu, "cuInit", "driver");
  cu_count_fn cu_count = (cu_count_fn)need(cu, "cuDeviceGetCount", "driver");
  cu_retain = (cu_retain_fn)need(cu, "cuDevicePrimaryCtxRetain", "driver");
  cu_set_current = (cu_set_current_fn)need(cu, "cuCtxSetCurrent", "driver");
  cu_alloc = (cu_alloc_fn)need(cu, "cuMemAlloc_v2", "driver");
  cu_free = (cu_free_fn)need(cu, "cuMemFree_v2", "driver");
  if (cudart_path) {
    void *rt = dlopen(cudart_path, RTLD_NOW | RTLD_LOCAL);
    if (!rt) {
      fprintf(stderr, "nccl_virtual: SKIP: cannot load the CUDA runtime (%s)\n", dlerror());
      return EXIT_SKIP;
    }
    rt_set_device = (rt_set_device_fn)need(rt, "cudaSetDevice", cudart_path);
    rt_malloc = (rt_malloc_fn)need(rt, "cudaMalloc", cudart_path);
    rt_free = (rt_free_fn)need(rt, "cudaFree", cudart_path);
    rt_sync = (rt_sync_fn)need(rt, "cudaDeviceSynchronize", cudart_path);
  }

  int version = 0;
  NCCL_OK(get_version(&version));
  int ndev = 0;
  if (cu_init(0) != 0 || cu_count(&ndev) != 0 || ndev < 1) {
    fprintf(stderr, "nccl_virtual: no virtual GPUs (is CCSIM_TOPO set?)\n");
    return 1;
  }
  if (job.child < 0) {
    job.nranks = job.nlocal = ndev;
  } else if (job.multi_node || job.visible) {
    job.nranks = ndev * job.processes;
    job.nlocal = ndev;
    job.first_rank = ndev * job.child;
  } else {
    if (ndev % job.processes) {
      fprintf(stderr, "nccl_virtual: %d GPUs do not split over %d processes\n", ndev, job.processes);
      return 2;
    }
    job.nranks = ndev;
    job.nlocal = ndev / job.processes;
    job.first_dev = job.first_rank = job.nlocal * job.child;
  }
  printf("NCCL %d: %d ranks, %d in this process, on %d virtual GPUs\n", version, job.nranks, job.nlocal, ndev);

  static const size_t sizes[] = {8, 1024, 65536, 1 << 20, 8 << 20, 64 << 20};
  const size_t max_bytes = 64 << 20;
  int n = job.nlocal;
  unsigned long long *sendbuf = calloc((size_t)n, sizeof *sendbuf);
  unsigned long long *recvbuf = calloc((size_t)n, sizeof *recvbuf);
  ncclComm_t *comms = calloc((size_t)n, sizeof *comms);
  for (int k = 0; k < n; k++) {
    if (use_device(job.first_dev + k) || dev_alloc(&sendbuf[k], max_bytes) || dev_alloc(&recvbuf[k], max_bytes)) {
      fprintf(stderr, "nccl_virtual: cannot allocate buffers on virtual GPU %d\n", job.first_dev + k);
      return 1;
    }
  }

  gint64 t0 = g_get_monotonic_time();
  if (job.child < 0) {
    NCCL_OK(init_all(comms, n, NULL));
  } else {
    ncclUniqueId id;
    if (share_unique_id(&job, get_unique_id, &id)) return 1;
    NCCL_OK(group_start());
    for (int k = 0; k < n; k++) {
      use_device(job.first_dev + k); /* NCCL takes the rank's device from the current context */
      NCCL_OK(init_rank(&comms[k], job.nranks, id, job.first_rank + k));
    }
    NCCL_OK(group_end());
  }
  gint64 t1 = g_get_monotonic_time();
  printf("init: %.3f s\n", (t1 - t0) / 1e6);

  /* Between virtual nodes nothing moves data, so proxies would wait forever: init and destroy only. */
  int collectives = !job.multi_node;
  gint64 steady_start = 0;
  for (int it = 0; collectives && it < iterations; it++) {
    if (it == 1) steady_start = g_get_monotonic_time(); /* after the lazy connects of the first pass */
    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
      gint64 a = g_get_monotonic_time();
      NCCL_OK(group_start());
      for (int k = 0; k < n; k++)
        NCCL_OK(all_reduce((void *)(uintptr_t)sendbuf[k], (void *)(uintptr_t)recvbuf[k], sizes[s] / sizeof(float),
                           ncclFloat, ncclSum, comms[k], NULL));
      NCCL_OK(group_end());
      if (it == 0) printf("all_reduce %zu B: %.6f s\n", sizes[s], (g_get_monotonic_time() - a) / 1e6);
    }
    gint64 a = g_get_monotonic_time();
    const size_t ring_bytes = 1 << 20;
    NCCL_OK(group_start());
    for (int k = 0; k < n; k++) {
      int r = job.first_rank + k;
      NCCL_OK(send((void *)(uintptr_t)sendbuf[k], ring_bytes / sizeof(float), ncclFloat, (r + 1) % job.nranks,
                   comms[k], NULL));
      NCCL_OK(recv((void *)(uintptr_t)recvbuf[k], ring_bytes / sizeof(float), ncclFloat,
                   (r + job.nranks - 1) % job.nranks, comms[k], NULL));
    }
    NCCL_OK(group_end());
    for (int k = 0; rt_sync && k < n; k++)
      if (use_device(job.first_dev + k) || rt_sync()) {
        fprintf(stderr, "nccl_virtual: cudaDeviceSynchronize failed on virtual GPU %d\n", job.first_dev + k);
        return 1;
      }
    if (it == 0) printf("send/recv ring %zu B: %.6f s\n", ring_bytes, (g_get_monotonic_time() - a) / 1e6);
  }
  if (collectives && iterations > 1)
    printf("steady state: %.1f us per grouped call (%d passes of %zu calls)\n",
           (g_get_monotonic_time() - steady_start) / (double)((iterations - 1) * (G_N_ELEMENTS(sizes) + 1)),
           iterations - 1, G_N_ELEMENTS(sizes) + 1);

  /* Split into even and odd ranks (a second set of communicators on the same devices), reduce, destroy.
   * Not with --graph-expect: the split communicators' rank 0 would dump its graph over the first one. */
  if (collectives && job.nranks >= 4 && !graph_expect) {
    ncclComm_t *halves = calloc((size_t)n, sizeof *halves);
    NCCL_OK(group_start());
    for (int k = 0; k < n; k++) NCCL_OK(split(comms[k], (job.first_rank + k) % 2, job.first_rank + k, &halves[k], NULL));
    NCCL_OK(group_end());
    NCCL_OK(group_start());
    for (int k = 0; k < n; k++)
      NCCL_OK(all_reduce((void *)(uintptr_t)sendbuf[k], (void *)(uintptr_t)recvbuf[k], (1 << 20) / sizeof(float),
                         ncclFloat, ncclSum, halves[k], NULL));
    NCCL_OK(group_end());
    for (int k = 0; k < n; k++) NCCL_OK(destroy(halves[k]));
    free(halves);
    printf("split into 2 halves, reduced, destroyed\n");
  }

  /* NCCL's own cuMem allocator: create, reserve, map and set access on every peer; free looks it all up. */
  for (int k = 0; k < n; k++) {
    void *p = NULL;
    if (use_device(job.first_dev + k)) return 1;
    NCCL_OK(mem_alloc(&p, 4 << 20));
    memset(p, 0x3c, 4 << 20); /* host-visible "device" memory */
    NCCL_OK(mem_free(p));
  }

  gint64 t2 = g_get_monotonic_time();
  for (int k = 0; k < n; k++) NCCL_OK(destroy(comms[k]));
  printf("destroy: %.3f s\n", (g_get_monotonic_time() - t2) / 1e6);
  for (int k = 0; k < n; k++)
    if (dev_free(sendbuf[k]) || dev_free(recvbuf[k])) {
      fprintf(stderr, "nccl_virtual: cuMemFree failed on virtual GPU %d\n", job.first_dev + k);
      return 1;
    }

  int status = 0;
  if (graph_expect) {
    if (!g_file_test(dump, G_FILE_TEST_EXISTS)) {
      fprintf(stderr, "nccl_virtual: NCCL wrote no graph dump to %s\n", dump);
      status = 1;
    } else if (!files_equal(dump, graph_expect)) {
      fprintf(stderr, "nccl_virtual: graph dump %s differs from %s\n", dump, graph_expect);
      status = 1;
    } else {
      printf("graph dump identical to %s\n", graph_expect);
    }
    if (status == 0) g_unlink(dump);
    g_free(dump);
  }
  free(sendbuf);
  free(recvbuf);
  free(comms);
  return status;
}
