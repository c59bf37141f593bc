/* nccl_virtual.c — runs the real NCCL library on the virtual GPUs of libhacknccl.so: ncclCommInitAll over
 * every presented GPU, grouped AllReduces of several sizes, a send/recv ring, destroy; every return code
 * is checked. With --graph-expect FILE it also checks that NCCL_GRAPH_DUMP_FILE output equals FILE.
 * Run under LD_PRELOAD=libhacknccl.so with CCSIM_TOPO set. Exit 77 (skip) when libnccl cannot be loaded. */
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <nccl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_SKIP 77

typedef ncclResult_t (*get_version_fn)(int *);
typedef ncclResult_t (*init_all_fn)(ncclComm_t *, int, const int *);
typedef ncclResult_t (*group_fn)(void);
typedef ncclResult_t (*all_reduce_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                                      cudaStream_t);
typedef ncclResult_t (*send_fn)(const void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
typedef ncclResult_t (*recv_fn)(void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
typedef ncclResult_t (*destroy_fn)(ncclComm_t);
typedef const char *(*error_string_fn)(ncclResult_t);

/* The few driver entry points the test needs to give NCCL "device" buffers (from libhacknccl.so). */
typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_count_fn)(int *);
typedef int (*cu_retain_fn)(void **, int);
typedef int (*cu_set_current_fn)(void *);
typedef int (*cu_alloc_fn)(unsigned long long *, size_t);
typedef int (*cu_free_fn)(unsigned long long);

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

int main(int argc, char **argv) {
  const char *nccl_path = getenv("CCSIM_NCCL") ? getenv("CCSIM_NCCL") : "libnccl.so.2";
  const char *graph_expect = NULL;
  int iterations = 1;
  GOptionEntry entries[] = {
      {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl_path, "NCCL library to run (default: CCSIM_NCCL or libnccl.so.2)",
       "PATH"},
      {"graph-expect", 0, 0, G_OPTION_ARG_FILENAME, &graph_expect,
       "check that NCCL's graph dump (NCCL_GRAPH_DUMP_FILE) equals FILE byte for byte", "FILE"},
      {"iterations", 0, 0, G_OPTION_ARG_INT, &iterations, "repeat the collective sequence N times (default 1)", "N"},
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
  if (iterations < 1) {
    fprintf(stderr, "nccl_virtual: --iterations must be >= 1\n");
    return 2;
  }
  alarm(300); /* never hang a test run */

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
  group_fn group_start = (group_fn)need(nccl, "ncclGroupStart", nccl_path);
  group_fn group_end = (group_fn)need(nccl, "ncclGroupEnd", nccl_path);
  all_reduce_fn all_reduce = (all_reduce_fn)need(nccl, "ncclAllReduce", nccl_path);
  send_fn send = (send_fn)need(nccl, "ncclSend", nccl_path);
  recv_fn recv = (recv_fn)need(nccl, "ncclRecv", nccl_path);
  destroy_fn destroy = (destroy_fn)need(nccl, "ncclCommDestroy", nccl_path);

  void *cu = dlopen("libcuda.so.1", RTLD_NOW);
  if (!cu) {
    fprintf(stderr, "nccl_virtual: cannot load the virtual driver (run under LD_PRELOAD=libhacknccl.so): %s\n",
            dlerror());
    return 1;
  }
  cu_init_fn cu_init = (cu_init_fn)need(cu, "cuInit", "driver");
  cu_count_fn cu_count = (cu_count_fn)need(cu, "cuDeviceGetCount", "driver");
  cu_retain_fn cu_retain = (cu_retain_fn)need(cu, "cuDevicePrimaryCtxRetain", "driver");
  cu_set_current_fn cu_set_current = (cu_set_current_fn)need(cu, "cuCtxSetCurrent", "driver");
  cu_alloc_fn cu_alloc = (cu_alloc_fn)need(cu, "cuMemAlloc_v2", "driver");
  cu_free_fn cu_free = (cu_free_fn)need(cu, "cuMemFree_v2", "driver");

  int version = 0;
  NCCL_OK(get_version(&version));
  int ndev = 0;
  if (cu_init(0) != 0 || cu_count(&ndev) != 0 || ndev < 1) {
    fprintf(stderr, "nccl_virtual: no virtual GPUs (is CCSIM_TOPO set?)\n");
    return 1;
  }
  printf("NCCL %d on %d virtual GPUs\n", version, ndev);

  static const size_t sizes[] = {8, 1024, 65536, 1 << 20, 8 << 20, 64 << 20};
  const size_t max_bytes = 64 << 20;
  unsigned long long *sendbuf = calloc((size_t)ndev, sizeof *sendbuf);
  unsigned long long *recvbuf = calloc((size_t)ndev, sizeof *recvbuf);
  ncclComm_t *comms = calloc((size_t)ndev, sizeof *comms);
  for (int d = 0; d < ndev; d++) {
    void *pctx = NULL;
    if (cu_retain(&pctx, d) || cu_set_current(pctx) || cu_alloc(&sendbuf[d], max_bytes) ||
        cu_alloc(&recvbuf[d], max_bytes)) {
      fprintf(stderr, "nccl_virtual: cannot allocate buffers on virtual GPU %d\n", d);
      return 1;
    }
  }

  gint64 t0 = g_get_monotonic_time();
  NCCL_OK(init_all(comms, ndev, NULL));
  gint64 t1 = g_get_monotonic_time();
  printf("init: %.3f s\n", (t1 - t0) / 1e6);

  for (int it = 0; it < iterations; it++) {
    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
      gint64 a = g_get_monotonic_time();
      NCCL_OK(group_start());
      for (int d = 0; d < ndev; d++)
        NCCL_OK(all_reduce((void *)(uintptr_t)sendbuf[d], (void *)(uintptr_t)recvbuf[d], sizes[s] / sizeof(float),
                           ncclFloat, ncclSum, comms[d], NULL));
      NCCL_OK(group_end());
      if (it == 0) printf("all_reduce %zu B: %.6f s\n", sizes[s], (g_get_monotonic_time() - a) / 1e6);
    }
    gint64 a = g_get_monotonic_time();
    const size_t ring_bytes = 1 << 20;
    NCCL_OK(group_start());
    for (int d = 0; d < ndev; d++) {
      NCCL_OK(send((void *)(uintptr_t)sendbuf[d], ring_bytes / sizeof(float), ncclFloat, (d + 1) % ndev, comms[d],
                   NULL));
      NCCL_OK(recv((void *)(uintptr_t)recvbuf[d], ring_bytes / sizeof(float), ncclFloat, (d + ndev - 1) % ndev,
                   comms[d], NULL));
    }
    NCCL_OK(group_end());
    if (it == 0) printf("send/recv ring %zu B: %.6f s\n", ring_bytes, (g_get_monotonic_time() - a) / 1e6);
  }

  gint64 t2 = g_get_monotonic_time();
  for (int d = 0; d < ndev; d++) NCCL_OK(destroy(comms[d]));
  printf("destroy: %.3f s\n", (g_get_monotonic_time() - t2) / 1e6);
  for (int d = 0; d < ndev; d++)
    if (cu_free(sendbuf[d]) || cu_free(recvbuf[d])) {
      fprintf(stderr, "nccl_virtual: cuMemFree failed on virtual GPU %d\n", d);
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
