/* platform_hooks.h — the seams between the fake CUDA driver and the capture/plugin code that lives in
 * the same libhacknccl.so.
 *
 * The driver calls the hooks below; each is a weak symbol, so a build without the capture code links
 * and runs (an absent hook is simply not called). The capture/plugin code defines them. Device memory
 * of the virtual GPUs is ordinary host memory at the same address, so a hook may read any "device"
 * pointer NCCL hands to the driver (for example the kernel argument blob, or NCCL's device-side
 * communicator struct it points to) directly.
 */
#ifndef CCSIM_INTERCEPT_PLATFORM_HOOKS_H
#define CCSIM_INTERCEPT_PLATFORM_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One kernel launch as the driver received it (cuLaunchKernelEx, cuLaunchKernel, ...). */
struct hack_launch {
  const char *func_name;     /* mangled kernel name as NCCL resolved it (cuLibraryGetKernel) */
  unsigned grid[3];
  unsigned block[3];
  unsigned shared_mem;       /* dynamic shared memory bytes */
  void *stream;              /* CUstream handle (NULL = default stream) */
  int device;                /* ordinal of the virtual GPU the launch ran on (the stream's or current) */
  const void *args;          /* argument blob: from `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER) or NULL */
  size_t args_size;          /* its size (CU_LAUNCH_PARAM_BUFFER_SIZE), 0 when absent */
  void **kernel_params;      /* the kernelParams array when the caller used it instead of `extra` */
  void **extra;              /* the raw `extra` array */
  unsigned num_attrs;        /* launch attributes (CUlaunchAttribute, 72 bytes each) */
  const void *attrs;
  uint64_t seq;              /* launch sequence number in this process, from 0 */
};

/* Called on the launching thread for every kernel launch, after the driver has recorded it.
 * Must not block. */
void capture_on_launch(const struct hack_launch *launch) __attribute__((weak));

/* Name redirection for NCCL's plugin dlopen()s: given the name NCCL asks for ("libnccl-net.so",
 * "libnccl-net-<x>.so", "libnccl-profiler.so", "libnccl-tuner-<x>.so", "libnccl-env.so", ...), return the
 * path to open instead (typically hack_self_path(), when the plugin lives in this library), or NULL to
 * let the name through unchanged. Only called for names whose base name starts with "libnccl-". */
const char *hack_plugin_dlopen_redirect(const char *name) __attribute__((weak));

/* Absolute path of the loaded libhacknccl.so (stable for the life of the process). */
const char *hack_self_path(void);

/* Identity of this process in the virtual cluster (CCSIM_NODES / CCSIM_NODE). */
int hack_node_count(void);
int hack_node_index(void);

/* The topology this process presents (one node's devices: gpus[], nics[], cpus[] of topo/topo.h), already
 * restricted to CCSIM_GPUS; NULL when no topology could be loaded (the reason went to stderr). */
struct topo_system;
const struct topo_system *hack_topology(void);
/* Number of virtual GPUs of this node presented (after CCSIM_GPUS): what NVML and NCCL's topology see.
 * CUDA_VISIBLE_DEVICES may give this process fewer CUDA devices (cuDeviceGetCount). */
int hack_gpu_count(void);
/* Where a pointer NCCL holds lies: 1 in host memory (pinned, registered, or a cuMem allocation on the host,
 * as NCCL's SHM transport uses), 0 in a virtual GPU's memory, -1 not memory the driver handed out. */
int hack_mem_is_host(const void *p);

#ifdef __cplusplus
}
#endif
#endif
