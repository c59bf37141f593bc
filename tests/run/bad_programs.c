/* bad_programs.c — small programs that misbehave under `ccsim run`, one per mode (argv[1]):
 *   no-nccl        uses the CUDA runtime, never creates an NCCL communicator, exits 0
 *   crash          initialises NCCL on every GPU, then dies from SIGSEGV
 *   unimplemented  initialises NCCL, then calls cudaMallocArray (no virtual-driver support) and exits 2
 *   missing-rank   on a 2-GPU communicator only rank 0 calls AllReduce, then synchronises its stream
 */
#include <cuda_runtime.h>
#include <nccl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ncclComm_t comms[32];

static int init_all(int max) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) {
    fprintf(stderr, "bad_programs: no CUDA device\n");
    exit(5);
  }
  if (max > 0 && n > max) n = max;
  if (ncclCommInitAll(comms, n, NULL) != ncclSuccess) {
    fprintf(stderr, "bad_programs: ncclCommInitAll failed\n");
    exit(6);
  }
  return n;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "no-nccl")) {
    int n = 0;
    void *p = NULL;
    if (cudaGetDeviceCount(&n) != cudaSuccess || cudaMalloc(&p, 1 << 20) != cudaSuccess) return 5;
    printf("%d devices, no NCCL\n", n);
    return 0;
  }
  if (!strcmp(mode, "crash")) {
    init_all(0);
    raise(SIGSEGV);
    return 0;
  }
  if (!strcmp(mode, "unimplemented")) {
    init_all(0);
    struct cudaChannelFormatDesc d = cudaCreateChannelDesc(32, 0, 0, 0, cudaChannelFormatKindFloat);
    cudaArray_t a;
    cudaError_t e = cudaMallocArray(&a, &d, 64, 64, 0);
    if (e != cudaSuccess) {
      fprintf(stderr, "bad_programs: cudaMallocArray failed: %s\n", cudaGetErrorString(e));
      return 2;
    }
    return 0;
  }
  if (!strcmp(mode, "missing-rank")) {
    init_all(2);
    void *buf = NULL;
    cudaStream_t s;
    cudaSetDevice(0);
    cudaMalloc(&buf, 4096);
    cudaStreamCreate(&s);
    /* Rank 1 never joins: on real GPUs this hangs, and so does NCCL here (it waits for rank 1 inside the
     * launch); ccsim run's time limit ends it. */
    if (ncclAllReduce(buf, buf, 1024, ncclFloat, ncclSum, comms[0], s) != ncclSuccess) return 7;
    cudaStreamSynchronize(s);
    printf("rank 0 returned\n");
    return 0;
  }
  fprintf(stderr, "usage: bad_programs no-nccl|crash|unimplemented|missing-rank\n");
  return 2;
}
