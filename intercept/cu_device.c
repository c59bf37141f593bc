/* cu_device.c — fake driver: initialisation, devices and their attributes, contexts (primary contexts,
 * the per-thread current-context stack) and context-local storage used by the CUDA runtime. */
#include "cu_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hack_log.h"
#include "simtime.h"

#define ATTR_COUNT 160

static int attrs[VPLAT_MAX_GPUS][ATTR_COUNT];
static struct vctx primaries[VPLAT_MAX_GPUS];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_int initialized;
static int ndev;

/* Per-thread current-context stack: [depth-1] is current. The runtime and the application each set it. */
#define CTX_STACK 16
static __thread struct vctx *ctx_stack[CTX_STACK];
static __thread int ctx_depth;

static void fill_attrs(const struct vgpu *g, int *a) {
  a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = 1024;
  a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X] = 1024;
  a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y] = 1024;
  a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z] = 64;
  a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X] = 2147483647;
  a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y] = 65535;
  a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z] = 65535;
  a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK] = 49152;
  a[CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY] = 65536;
  a[CU_DEVICE_ATTRIBUTE_WARP_SIZE] = 32;
  a[CU_DEVICE_ATTRIBUTE_MAX_PITCH] = 2147483647;
  a[CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK] = 65536;
  a[CU_DEVICE_ATTRIBUTE_CLOCK_RATE] = 1980000;
  a[CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT] = 512;
  a[CU_DEVICE_ATTRIBUTE_GPU_OVERLAP] = 1;
  a[CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT] = g->sm_count;
  a[CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY] = 1;
  a[CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT] = 512;
  a[CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS] = 1;
  a[CU_DEVICE_ATTRIBUTE_ECC_ENABLED] = 1;
  a[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID] = (int)g->bus;
  a[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID] = (int)g->device;
  a[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID] = (int)g->domain;
  a[CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE] = 2619000;
  a[CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH] = 5120;
  a[CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE] = 52428800;
  a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR] = 2048;
  a[CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT] = 3;
  a[CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING] = 1;
  a[CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT] = 32;
  a[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR] = g->cc_major;
  a[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR] = g->cc_minor;
  a[CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR] = 233472;
  a[CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR] = 65536;
  a[CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY] = 1;
  a[CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID] = g->ordinal; /* the node-wide index */
  a[CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO] = 2;
  a[CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS] = 1;
  a[CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM] = 1;
  a[CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH] = 1;
  a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN] = 232448;
  a[CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR] = 32;
  a[CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE] = 32505856;
  a[CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE] = 134213632;
  a[CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WITH_CUDA_VMM_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK] = 1024;
  a[CU_DEVICE_ATTRIBUTE_SPARSE_CUDA_ARRAY_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_TIMELINE_SEMAPHORE_INTEROP_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_FLUSH_WRITES_OPTIONS] = 1;
  a[CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES] = 1;
  a[CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH] = 1;
  a[CU_DEVICE_ATTRIBUTE_DEFERRED_MAPPING_CUDA_ARRAY_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS] = 1;
  a[CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR] = 1;
  a[CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_IPC_EVENT_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_MEM_SYNC_DOMAIN_COUNT] = 4;
  a[CU_DEVICE_ATTRIBUTE_TENSOR_MAP_ACCESS_SUPPORTED] = 1;
  a[CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED] = 0;
  a[CU_DEVICE_ATTRIBUTE_UNIFIED_FUNCTION_POINTERS] = 1;
  a[CU_DEVICE_ATTRIBUTE_NUMA_ID] = -1;
  a[CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED] = g->cc_major >= 9;
  a[CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID] = g->numa;
  a[CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID] = (int)((g->subsys_device << 16) | g->subsys_vendor);
}

static void do_init(void) {
  const struct vplat *p = vplat_require();
  ndev = p->ok ? p->ncuda : 0;
  for (int d = 0; d < ndev; d++) {
    fill_attrs(vplat_cuda_gpu(p, d), attrs[d]);
    struct vctx *c = &primaries[d];
    c->magic = VCTX_MAGIC;
    c->dev = d;
    c->primary = true;
    pthread_mutex_init(&c->cls_lock, NULL);
  }
  atomic_store(&initialized, 1);
}

bool cu_ready(void) { return atomic_load_explicit(&initialized, memory_order_acquire) && ndev > 0; }

CUresult cu_check_dev(CUdevice d) {
  if (!atomic_load_explicit(&initialized, memory_order_acquire)) return CUDA_ERROR_NOT_INITIALIZED;
  return (d >= 0 && d < ndev) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

struct vctx *cu_primary(int dev) { return (dev >= 0 && dev < ndev) ? &primaries[dev] : NULL; }

struct vctx *cu_current(void) { return ctx_depth > 0 ? ctx_stack[ctx_depth - 1] : NULL; }

struct vctx *cu_ctx_or_current(CUcontext c) {
  struct vctx *v = (struct vctx *)c;
  if (!v) return cu_current();
  return v->magic == VCTX_MAGIC ? v : NULL;
}

int cu_current_dev(void) {
  struct vctx *c = cu_current();
  return c ? c->dev : 0;
}

/* ---- initialisation and version ---- */

CUresult cuInit(unsigned int flags) {
  CU_UNUSED(flags);
  pthread_once(&init_once, do_init);
  return ndev > 0 ? CUDA_SUCCESS : CUDA_ERROR_NO_DEVICE;
}

CUresult cuDriverGetVersion(int *v) {
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  *v = CU_DRIVER_VERSION;
  return CUDA_SUCCESS;
}

/* ---- devices ---- */

CUresult cuDeviceGetCount(int *count) {
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  if (!atomic_load(&initialized)) return CUDA_ERROR_NOT_INITIALIZED;
  *count = ndev;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = cu_check_dev(ordinal);
  if (r) return r;
  *device = ordinal;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  snprintf(name, (size_t)len, "%s", vplat_cuda_gpu(vplat_get(), dev)->name);
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (!uuid) return CUDA_ERROR_INVALID_VALUE;
  memcpy(uuid->bytes, vplat_cuda_gpu(vplat_get(), dev)->uuid, 16);
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev) { return cuDeviceGetUuid(uuid, dev); }

CUresult cuDeviceGetLuid(char *luid, unsigned int *mask, CUdevice dev) {
  CU_UNUSED(luid);
  CU_UNUSED(mask);
  CU_UNUSED(dev);
  return CU_STUB("cuDeviceGetLuid");
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (!bytes) return CUDA_ERROR_INVALID_VALUE;
  *bytes = vplat_cuda_gpu(vplat_get(), dev)->total_mem;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) {
  if (!pi) return CUDA_ERROR_INVALID_VALUE;
  if ((unsigned)dev >= (unsigned)ndev) return cu_check_dev(dev);
  if ((unsigned)attrib >= ATTR_COUNT) return CUDA_ERROR_INVALID_VALUE;
  *pi = attrs[dev][attrib];
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (!pciBusId || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  snprintf(pciBusId, (size_t)len, "%s", vplat_cuda_gpu(vplat_get(), dev)->busid);
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId) {
  if (!dev || !pciBusId) return CUDA_ERROR_INVALID_VALUE;
  unsigned d, b, dv, f = 0;
  if (sscanf(pciBusId, "%x:%x:%x.%x", &d, &b, &dv, &f) < 3) return CUDA_ERROR_INVALID_VALUE;
  for (int i = 0; i < ndev; i++) {
    const struct vgpu *g = vplat_cuda_gpu(vplat_get(), i);
    if (g->domain == d && g->bus == b && g->device == dv) {
      *dev = i;
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev) {
  if (!canAccessPeer) return CUDA_ERROR_INVALID_VALUE;
  if (cu_check_dev(dev) || cu_check_dev(peerDev)) return CUDA_ERROR_INVALID_DEVICE;
  *canAccessPeer = dev != peerDev;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetP2PAttribute(int *value, CUdevice_P2PAttribute attrib, CUdevice src, CUdevice dst) {
  if (!value) return CUDA_ERROR_INVALID_VALUE;
  if (cu_check_dev(src) || cu_check_dev(dst)) return CUDA_ERROR_INVALID_DEVICE;
  switch (attrib) {
  case CU_DEVICE_P2P_ATTRIBUTE_PERFORMANCE_RANK: *value = 0; break;
  case CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED:
  case CU_DEVICE_P2P_ATTRIBUTE_NATIVE_ATOMIC_SUPPORTED:
  case CU_DEVICE_P2P_ATTRIBUTE_CUDA_ARRAY_ACCESS_SUPPORTED: *value = src != dst; break;
  default: *value = 0; break;
  }
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetHostAtomicCapabilities(unsigned int *capabilities, const CUatomicOperation *operations,
                                           unsigned int count, CUdevice dev) {
  CU_UNUSED(operations);
  if (cu_check_dev(dev)) return CUDA_ERROR_INVALID_DEVICE;
  if (count && !capabilities) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned i = 0; i < count; i++) capabilities[i] = 0;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetP2PAtomicCapabilities(unsigned int *capabilities, const CUatomicOperation *operations,
                                          unsigned int count, CUdevice srcDevice, CUdevice dstDevice) {
  CU_UNUSED(operations);
  if (cu_check_dev(srcDevice) || cu_check_dev(dstDevice)) return CUDA_ERROR_INVALID_DEVICE;
  if (count && !capabilities) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned i = 0; i < count; i++) capabilities[i] = 0;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetTexture1DLinearMaxWidth(size_t *maxWidthInElements, CUarray_format format,
                                            unsigned numChannels, CUdevice dev) {
  CU_UNUSED(format);
  CU_UNUSED(numChannels);
  if (cu_check_dev(dev)) return CUDA_ERROR_INVALID_DEVICE;
  if (!maxWidthInElements) return CUDA_ERROR_INVALID_VALUE;
  *maxWidthInElements = (size_t)1 << 27;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetNvSciSyncAttributes(void *nvSciSyncAttrList, CUdevice dev, int flags) {
  CU_UNUSED(nvSciSyncAttrList);
  CU_UNUSED(dev);
  CU_UNUSED(flags);
  return CU_STUB("cuDeviceGetNvSciSyncAttributes");
}

CUresult cuFlushGPUDirectRDMAWrites(CUflushGPUDirectRDMAWritesTarget target, CUflushGPUDirectRDMAWritesScope scope) {
  CU_UNUSED(target);
  CU_UNUSED(scope);
  return CUDA_SUCCESS;
}

/* ---- primary contexts ---- */

CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&primaries[dev].cls_lock);
  primaries[dev].retains++;
  pthread_mutex_unlock(&primaries[dev].cls_lock);
  *pctx = (CUcontext)&primaries[dev];
  return CUDA_SUCCESS;
}

/* The handle stays valid after the last release: the runtime and NCCL compare handles across threads. */
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  pthread_mutex_lock(&primaries[dev].cls_lock);
  if (primaries[dev].retains > 0) primaries[dev].retains--;
  pthread_mutex_unlock(&primaries[dev].cls_lock);
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease(CUdevice dev) { return cuDevicePrimaryCtxRelease_v2(dev); }

CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  primaries[dev].flags = flags;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags) { return cuDevicePrimaryCtxSetFlags_v2(dev, flags); }

CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (flags) *flags = primaries[dev].flags;
  if (active) *active = primaries[dev].retains > 0;
  return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev) { return cu_check_dev(dev); }
CUresult cuDevicePrimaryCtxReset(CUdevice dev) { return cu_check_dev(dev); }

/* ---- current context ---- */

CUresult cuCtxSetCurrent(CUcontext ctx) {
  struct vctx *v = (struct vctx *)ctx;
  if (v && v->magic != VCTX_MAGIC) return CUDA_ERROR_INVALID_CONTEXT;
  if (!v) {
    if (ctx_depth > 0) ctx_depth--; /* NULL pops, like the real driver's "unbind" */
    return CUDA_SUCCESS;
  }
  if (ctx_depth == 0) ctx_depth = 1;
  ctx_stack[ctx_depth - 1] = v;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *pctx) {
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  *pctx = (CUcontext)cu_current();
  return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent_v2(CUcontext ctx) {
  struct vctx *v = (struct vctx *)ctx;
  if (!v || v->magic != VCTX_MAGIC) return CUDA_ERROR_INVALID_CONTEXT;
  if (ctx_depth >= CTX_STACK) return CUDA_ERROR_OUT_OF_MEMORY;
  ctx_stack[ctx_depth++] = v;
  return CUDA_SUCCESS;
}

CUresult cuCtxPopCurrent_v2(CUcontext *pctx) {
  if (ctx_depth == 0) return CUDA_ERROR_INVALID_CONTEXT;
  struct vctx *v = ctx_stack[--ctx_depth];
  if (pctx) *pctx = (CUcontext)v;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice *device) {
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  struct vctx *c = cu_current();
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  *device = c->dev;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx) {
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  struct vctx *c = cu_ctx_or_current(ctx);
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  *device = c->dev;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetId(CUcontext ctx, unsigned long long *ctxId) {
  struct vctx *c = cu_ctx_or_current(ctx);
  if (!c || !ctxId) return CUDA_ERROR_INVALID_CONTEXT;
  *ctxId = (unsigned long long)(uintptr_t)c;
  return CUDA_SUCCESS;
}

/* Under `ccsim run` (simtime.h) waits for the device's simulated work; otherwise it is already done. */
CUresult cuCtxSynchronize(void) {
  return simtime_active() ? (CUresult)simtime_device_sync(cu_current_dev()) : CUDA_SUCCESS;
}
CUresult cuCtxSynchronize_v2(CUcontext ctx) {
  struct vctx *c = cu_ctx_or_current(ctx);
  return simtime_active() ? (CUresult)simtime_device_sync(c ? c->dev : cu_current_dev()) : CUDA_SUCCESS;
}

CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version) {
  CU_UNUSED(ctx);
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  *version = CU_DRIVER_VERSION;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetFlags(unsigned int *flags) {
  struct vctx *c = cu_current();
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  *flags = c ? c->flags : 0;
  return CUDA_SUCCESS;
}

CUresult cuCtxSetFlags(unsigned int flags) {
  struct vctx *c = cu_current();
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  c->flags = flags;
  return CUDA_SUCCESS;
}

CUresult cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int flags) {
  CU_UNUSED(peerContext);
  CU_UNUSED(flags);
  return CUDA_SUCCESS;
}
CUresult cuCtxDisablePeerAccess(CUcontext peerContext) {
  CU_UNUSED(peerContext);
  return CUDA_SUCCESS;
}

CUresult cuCtxGetCacheConfig(CUfunc_cache *pconfig) {
  if (pconfig) *pconfig = CU_FUNC_CACHE_PREFER_NONE;
  return CUDA_SUCCESS;
}
CUresult cuCtxSetCacheConfig(CUfunc_cache config) {
  CU_UNUSED(config);
  return CUDA_SUCCESS;
}
CUresult cuCtxGetSharedMemConfig(CUsharedconfig *pConfig) {
  if (pConfig) *pConfig = CU_SHARED_MEM_CONFIG_DEFAULT_BANK_SIZE;
  return CUDA_SUCCESS;
}
CUresult cuCtxSetSharedMemConfig(CUsharedconfig config) {
  CU_UNUSED(config);
  return CUDA_SUCCESS;
}

static size_t ctx_limits[CU_LIMIT_MAX];
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

CUresult cuCtxGetLimit(size_t *pvalue, CUlimit limit) {
  if (!pvalue || (unsigned)limit >= CU_LIMIT_MAX) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&limit_lock);
  *pvalue = ctx_limits[limit];
  if (!*pvalue && limit == CU_LIMIT_STACK_SIZE) *pvalue = 1024;
  pthread_mutex_unlock(&limit_lock);
  return CUDA_SUCCESS;
}
CUresult cuCtxSetLimit(CUlimit limit, size_t value) {
  if ((unsigned)limit >= CU_LIMIT_MAX) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&limit_lock);
  ctx_limits[limit] = value;
  pthread_mutex_unlock(&limit_lock);
  return CUDA_SUCCESS;
}

CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority) {
  if (leastPriority) *leastPriority = 0;
  if (greatestPriority) *greatestPriority = -5;
  return CUDA_SUCCESS;
}

CUresult cuCtxResetPersistingL2Cache(void) { return CUDA_SUCCESS; }

/* Non-primary contexts: rare (NCCL never creates one); each is a separate object on the same device. */
static CUresult create_ctx(CUcontext *pctx, unsigned flags, CUdevice dev) {
  CUresult r = cu_check_dev(dev);
  if (r) return r;
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  struct vctx *c = calloc(1, sizeof *c);
  if (!c) return CUDA_ERROR_OUT_OF_MEMORY;
  c->magic = VCTX_MAGIC;
  c->dev = dev;
  c->flags = flags;
  pthread_mutex_init(&c->cls_lock, NULL);
  *pctx = (CUcontext)c;
  return cuCtxPushCurrent_v2(*pctx);
}

CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev) { return create_ctx(pctx, flags, dev); }
CUresult cuCtxCreate_v3(CUcontext *pctx, CUexecAffinityParam *paramsArray, int numParams, unsigned int flags,
                        CUdevice dev) {
  CU_UNUSED(paramsArray);
  CU_UNUSED(numParams);
  return create_ctx(pctx, flags, dev);
}
CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *ctxCreateParams, unsigned int flags, CUdevice dev) {
  CU_UNUSED(ctxCreateParams);
  return create_ctx(pctx, flags, dev);
}

CUresult cuCtxDestroy_v2(CUcontext ctx) {
  struct vctx *c = (struct vctx *)ctx;
  if (!c || c->magic != VCTX_MAGIC) return CUDA_ERROR_INVALID_CONTEXT;
  for (int i = 0; i < ctx_depth; i++)
    if (ctx_stack[i] == c) ctx_stack[i] = NULL;
  while (ctx_depth > 0 && !ctx_stack[ctx_depth - 1]) ctx_depth--;
  if (c->primary) return CUDA_SUCCESS;
  c->magic = 0;
  pthread_mutex_destroy(&c->cls_lock);
  free(c);
  return CUDA_SUCCESS;
}

/* ---- context-local storage (runtime's private table C693336E); NULL context = current ---- */

CUresult cls_get(void **value, CUcontext ctx, void *key) {
  struct vctx *c = cu_ctx_or_current(ctx);
  if (!c || !value) return CUDA_ERROR_INVALID_CONTEXT;
  int n = atomic_load_explicit(&c->ncls, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (c->cls[i].key == key) {
      void *v = __atomic_load_n(&c->cls[i].value, __ATOMIC_ACQUIRE);
      if (!v) break;
      *value = v;
      return CUDA_SUCCESS;
    }
  return CUDA_ERROR_INVALID_HANDLE;
}

CUresult cls_put(CUcontext ctx, void *key, void *value, void (*dtor)(CUcontext, void *, void *)) {
  struct vctx *c = cu_ctx_or_current(ctx);
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  CUresult r = CUDA_SUCCESS;
  pthread_mutex_lock(&c->cls_lock);
  int n = atomic_load_explicit(&c->ncls, memory_order_relaxed);
  int i;
  for (i = 0; i < n; i++)
    if (c->cls[i].key == key) break;
  if (i == n && n == CLS_MAX) {
    r = CUDA_ERROR_OUT_OF_MEMORY;
  } else {
    c->cls[i].key = key;
    c->cls[i].dtor = dtor;
    __atomic_store_n(&c->cls[i].value, value, __ATOMIC_RELEASE);
    if (i == n) atomic_store_explicit(&c->ncls, n + 1, memory_order_release);
  }
  pthread_mutex_unlock(&c->cls_lock);
  return r;
}

CUresult cls_delete(CUcontext ctx, void *key) {
  struct vctx *c = cu_ctx_or_current(ctx);
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  pthread_mutex_lock(&c->cls_lock);
  int n = atomic_load_explicit(&c->ncls, memory_order_relaxed);
  for (int i = 0; i < n; i++)
    if (c->cls[i].key == key) __atomic_store_n(&c->cls[i].value, NULL, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&c->cls_lock);
  return CUDA_SUCCESS;
}
