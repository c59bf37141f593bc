/* nccl_timing_bench.c — a benchmark that times NCCL collectives the way NCCL users do: one thread drives
 * every GPU (ncclCommInitAll; or with -t one thread per GPU, ncclCommInitRank), per size a few warm-up
 * calls, then a loop of calls between two CUDA events and two host timer readings, a stream synchronize,
 * and the time per call from both. It knows nothing about ccsim; under `ccsim run` it prints predicted
 * times.
 *
 * With -m it is one process of several (one per node, as `ccsim run --nodes N` starts them): the process
 * index and count come from CCSIM_NODE / CCSIM_NODES, and the processes exchange NCCL's unique id through a
 * file in the directory CCSIM_RUN_SHARED (the part an MPI launcher would otherwise play).
 *
 * Usage: nccl_timing_bench [-o all_reduce|all_gather|reduce_scatter|broadcast|reduce|sendrecv]
 *                          [-b MINBYTES] [-e MAXBYTES] [-f FACTOR] [-n ITERS] [-w WARMUP] [-g GPUS] [-t|-m]
 * Output: one line per size: "size count event_us host_us busbw_gbs" (with -t: rank 0's thread's view; with
 * -m: process 0's).
 */
#include <cuda_runtime.h>
#include <nccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CUDA_OK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
  fprintf(stderr, "nccl_timing_bench: %s failed: %s\n", #x, cudaGetErrorString(e_)); exit(3); } } while (0)
#define NCCL_OK(x) do { ncclResult_t r_ = (x); if (r_ != ncclSuccess) { \
  fprintf(stderr, "nccl_timing_bench: %s failed: %s\n", #x, ncclGetErrorString(r_)); exit(4); } } while (0)

static int rank_base; /* -m: global rank of this process's first GPU */

enum op { ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, BROADCAST, REDUCE, SENDRECV };
static const char *const op_names[] = {"all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce", "sendrecv"};

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static size_t parse_size(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (*end == 'K' || *end == 'k') v *= 1024;
  else if (*end == 'M' || *end == 'm') v *= 1024 * 1024;
  else if (*end == 'G' || *end == 'g') v *= 1024.0 * 1024 * 1024;
  return (size_t)v;
}

/* nccl-tests' bus bandwidth factor */
static double bus_factor(enum op op, int n) {
  switch (op) {
  case ALL_REDUCE: return 2.0 * (n - 1) / n;
  case ALL_GATHER: case REDUCE_SCATTER: return (double)(n - 1) / n;
  default: return 1.0;
  }
}

/* Issues one call on ranks [r0, r1) (all ranks of one thread) as one group. */
static void issue_ranks(enum op op, int n, int r0, int r1, ncclComm_t *comms, cudaStream_t *streams, void **sb,
                        void **rb, size_t count) {
  NCCL_OK(ncclGroupStart());
  for (int r = r0; r < r1; r++) {
    int g = rank_base + r;
    switch (op) {
    case ALL_REDUCE: NCCL_OK(ncclAllReduce(sb[r], rb[r], count, ncclFloat, ncclSum, comms[r], streams[r])); break;
    case ALL_GATHER: NCCL_OK(ncclAllGather(sb[r], rb[r], count / n, ncclFloat, comms[r], streams[r])); break;
    case REDUCE_SCATTER: NCCL_OK(ncclReduceScatter(sb[r], rb[r], count / n, ncclFloat, ncclSum, comms[r], streams[r])); break;
    case BROADCAST: NCCL_OK(ncclBroadcast(sb[r], rb[r], count, ncclFloat, 0, comms[r], streams[r])); break;
    case REDUCE: NCCL_OK(ncclReduce(sb[r], rb[r], count, ncclFloat, ncclSum, 0, comms[r], streams[r])); break;
    case SENDRECV:
      NCCL_OK(ncclSend(sb[r], count, ncclFloat, (g + 1) % n, comms[r], streams[r]));
      NCCL_OK(ncclRecv(rb[r], count, ncclFloat, (g + n - 1) % n, comms[r], streams[r]));
      break;
    }
  }
  NCCL_OK(ncclGroupEnd());
}

/* -t: one thread per GPU. */
struct thread_args {
  int rank, n, iters, warmup, factor;
  enum op op;
  size_t minb, maxb;
  ncclUniqueId id;
  ncclComm_t *comms;
  cudaStream_t *streams;
  void **sb, **rb;
};
static pthread_barrier_t barrier;

static void *rank_thread(void *p) {
  struct thread_args *a = p;
  int r = a->rank, n = a->n;
  CUDA_OK(cudaSetDevice(r));
  NCCL_OK(ncclCommInitRank(&a->comms[r], n, a->id, r));
  CUDA_OK(cudaStreamCreateWithFlags(&a->streams[r], cudaStreamNonBlocking));
  CUDA_OK(cudaMalloc(&a->sb[r], a->maxb));
  CUDA_OK(cudaMalloc(&a->rb[r], a->maxb));
  cudaEvent_t start, stop;
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  for (size_t size = a->minb; size <= a->maxb; size *= (size_t)a->factor) {
    size_t count = size / sizeof(float);
    if ((a->op == ALL_GATHER || a->op == REDUCE_SCATTER) && count / n == 0) continue;
    for (int i = 0; i < a->warmup; i++) issue_ranks(a->op, n, r, r + 1, a->comms, a->streams, a->sb, a->rb, count);
    CUDA_OK(cudaStreamSynchronize(a->streams[r]));
    pthread_barrier_wait(&barrier);
    CUDA_OK(cudaEventRecord(start, a->streams[r]));
    double t0 = now_us();
    for (int i = 0; i < a->iters; i++) issue_ranks(a->op, n, r, r + 1, a->comms, a->streams, a->sb, a->rb, count);
    CUDA_OK(cudaEventRecord(stop, a->streams[r]));
    CUDA_OK(cudaStreamSynchronize(a->streams[r]));
    pthread_barrier_wait(&barrier);
    double t1 = now_us();
    float ms = 0;
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    if (r == 0) {
      double ev_us = ms * 1e3 / a->iters, host_us = (t1 - t0) / a->iters;
      size_t bytes = (a->op == ALL_GATHER || a->op == REDUCE_SCATTER) ? count / n * n * sizeof(float) : count * sizeof(float);
      printf("  %12zu %12zu %12.2f %12.2f %10.2f\n", bytes, count, ev_us, host_us,
             ev_us > 0 ? bytes / ev_us / 1e3 * bus_factor(a->op, n) : 0.0);
      fflush(stdout);
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(a->sb[r]);
  cudaFree(a->rb[r]);
  cudaStreamDestroy(a->streams[r]);
  ncclCommDestroy(a->comms[r]);
  return NULL;
}

int main(int argc, char **argv) {
  enum op op = ALL_REDUCE;
  size_t minb = 8, maxb = 32 << 20;
  int factor = 2, iters = 20, warmup = 5, ngpus = 0, threads = 0, multi = 0, c;
  while ((c = getopt(argc, argv, "o:b:e:f:n:w:g:tmh")) != -1) {
    switch (c) {
    case 'o': {
      int k = -1;
      for (int i = 0; i < 6; i++) if (!strcmp(optarg, op_names[i])) k = i;
      if (k < 0) { fprintf(stderr, "nccl_timing_bench: unknown op %s\n", optarg); return 2; }
      op = (enum op)k;
      break;
    }
    case 'b': minb = parse_size(optarg); break;
    case 'e': maxb = parse_size(optarg); break;
    case 'f': factor = atoi(optarg); break;
    case 'n': iters = atoi(optarg); break;
    case 'w': warmup = atoi(optarg); break;
    case 'g': ngpus = atoi(optarg); break;
    case 't': threads = 1; break;
    case 'm': multi = 1; break;
    default:
      fprintf(stderr, "usage: %s [-o OP] [-b MIN] [-e MAX] [-f FACTOR] [-n ITERS] [-w WARMUP] [-g GPUS] [-t]\n", argv[0]);
      return c == 'h' ? 0 : 2;
    }
  }
  if (factor < 2 || iters < 1 || minb > maxb) { fprintf(stderr, "nccl_timing_bench: bad arguments\n"); return 2; }
  int ndev = 0;
  CUDA_OK(cudaGetDeviceCount(&ndev));
  int n = ngpus > 0 && ngpus <= ndev ? ngpus : ndev;
  ncclComm_t *comms = calloc(n, sizeof *comms);
  cudaStream_t *streams = calloc(n, sizeof *streams);
  void **sb = calloc(n, sizeof *sb), **rb = calloc(n, sizeof *rb);
  if (threads) {
    printf("# nccl_timing_bench %s on %d GPUs, one thread each, %d warm-up, %d iterations\n", op_names[op], n, warmup,
           iters);
    printf("# %12s %12s %12s %12s %10s\n", "size", "count", "event_us", "host_us", "busbw_gbs");
    struct thread_args *ta = calloc(n, sizeof *ta);
    pthread_t *tid = calloc(n, sizeof *tid);
    ncclUniqueId id;
    NCCL_OK(ncclGetUniqueId(&id));
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int r = 0; r < n; r++) {
      ta[r] = (struct thread_args){.rank = r, .n = n, .iters = iters, .warmup = warmup, .factor = factor, .op = op,
                                   .minb = minb, .maxb = maxb, .id = id, .comms = comms, .streams = streams,
                                   .sb = sb, .rb = rb};
      pthread_create(&tid[r], NULL, rank_thread, &ta[r]);
    }
    for (int r = 0; r < n; r++) pthread_join(tid[r], NULL);
    pthread_barrier_destroy(&barrier);
    free(ta); free(tid); free(comms); free(streams); free(sb); free(rb);
    return 0;
  }
  int nlocal = n, node = 0;
  if (multi) { /* n becomes the rank count of all processes; this one drives its nlocal GPUs */
    const char *ne = getenv("CCSIM_NODE"), *nn = getenv("CCSIM_NODES"), *dir = getenv("CCSIM_RUN_SHARED");
    if (!ne || !nn || !dir) { fprintf(stderr, "nccl_timing_bench: -m needs CCSIM_NODE, CCSIM_NODES, CCSIM_RUN_SHARED\n"); return 2; }
    node = atoi(ne);
    int nodes = atoi(nn);
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/nccl_timing_bench.id", dir);
    ncclUniqueId id;
    if (node == 0) {
      NCCL_OK(ncclGetUniqueId(&id));
      snprintf(tmp, sizeof tmp, "%s.tmp", path);
      FILE *f = fopen(tmp, "wb");
      if (!f || fwrite(&id, sizeof id, 1, f) != 1 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "nccl_timing_bench: cannot write %s\n", path);
        return 3;
      }
    } else {
      FILE *f = NULL;
      for (int i = 0; i < 6000 && !(f = fopen(path, "rb")); i++) usleep(10000);
      if (!f || fread(&id, sizeof id, 1, f) != 1) { fprintf(stderr, "nccl_timing_bench: no unique id in %s\n", path); return 3; }
      fclose(f);
    }
    rank_base = node * nlocal;
    n = nodes * nlocal;
    NCCL_OK(ncclGroupStart());
    for (int r = 0; r < nlocal; r++) {
      CUDA_OK(cudaSetDevice(r));
      NCCL_OK(ncclCommInitRank(&comms[r], n, id, rank_base + r));
    }
    NCCL_OK(ncclGroupEnd());
  } else {
    NCCL_OK(ncclCommInitAll(comms, n, NULL));
  }
  for (int r = 0; r < nlocal; r++) {
    CUDA_OK(cudaSetDevice(r));
    CUDA_OK(cudaStreamCreateWithFlags(&streams[r], cudaStreamNonBlocking));
    CUDA_OK(cudaMalloc(&sb[r], maxb));
    CUDA_OK(cudaMalloc(&rb[r], maxb));
  }
  cudaEvent_t start, stop;
  CUDA_OK(cudaSetDevice(0));
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  if (node == 0) {
    printf("# nccl_timing_bench %s on %d GPUs, %d warm-up, %d iterations\n", op_names[op], n, warmup, iters);
    printf("# %12s %12s %12s %12s %10s\n", "size", "count", "event_us", "host_us", "busbw_gbs");
  }
  for (size_t size = minb; size <= maxb; size *= (size_t)factor) {
    size_t count = size / sizeof(float);
    if ((op == ALL_GATHER || op == REDUCE_SCATTER) && count / n == 0) continue;
    for (int i = 0; i < warmup; i++) issue_ranks(op, n, 0, nlocal, comms, streams, sb, rb, count);
    for (int r = 0; r < nlocal; r++) CUDA_OK(cudaStreamSynchronize(streams[r]));
    CUDA_OK(cudaEventRecord(start, streams[0]));
    double t0 = now_us();
    for (int i = 0; i < iters; i++) issue_ranks(op, n, 0, nlocal, comms, streams, sb, rb, count);
    CUDA_OK(cudaEventRecord(stop, streams[0]));
    for (int r = 0; r < nlocal; r++) CUDA_OK(cudaStreamSynchronize(streams[r]));
    double t1 = now_us();
    float ms = 0;
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    double ev_us = ms * 1e3 / iters, host_us = (t1 - t0) / iters;
    size_t bytes = (op == ALL_GATHER || op == REDUCE_SCATTER) ? count / n * n * sizeof(float) : count * sizeof(float);
    if (node == 0)
      printf("  %12zu %12zu %12.2f %12.2f %10.2f\n", bytes, count, ev_us, host_us,
             ev_us > 0 ? bytes / ev_us / 1e3 * bus_factor(op, n) : 0.0);
    fflush(stdout);
  }
  for (int r = 0; r < nlocal; r++) {
    cudaSetDevice(r);
    cudaFree(sb[r]);
    cudaFree(rb[r]);
    cudaStreamDestroy(streams[r]);
    ncclCommDestroy(comms[r]);
  }
  free(comms); free(streams); free(sb); free(rb);
  return 0;
}
