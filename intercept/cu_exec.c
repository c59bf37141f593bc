/* cu_exec.c — fake driver execution objects: streams, events, loaded libraries/modules, kernels and
 * launches. Nothing runs asynchronously: work completes when it is submitted, synchronisation returns at
 * once, and a kernel launch only records what was launched and hands it to the capture hook. Streams
 * and events are real objects with a completion time, which simulated time will fill in later. */
#include "cu_internal.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "hack_log.h"
#include "platform_hooks.h"
#include "simtime.h"

/* ---- streams ---- */
#define VSTREAM_MAGIC 0x4d525453u
struct vstream {
  uint32_t magic;
  int dev;
  unsigned flags;
  int priority;
  unsigned long long id;
  double done_at_us; /* simulated completion time of the last work submitted (0 until time is modelled) */
};

static atomic_ullong next_stream_id = 16;

static struct vstream *stream_of(CUstream s) {
  struct vstream *v = (struct vstream *)s;
  if (!v || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) return NULL;
  return v->magic == VSTREAM_MAGIC ? v : NULL;
}

static int stream_dev(CUstream s) {
  struct vstream *v = stream_of(s);
  return v ? v->dev : cu_current_dev();
}

CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags, int priority) {
  if (!phStream) return CUDA_ERROR_INVALID_VALUE;
  struct vstream *v = calloc(1, sizeof *v);
  if (!v) return CUDA_ERROR_OUT_OF_MEMORY;
  v->magic = VSTREAM_MAGIC;
  v->dev = cu_current_dev();
  v->flags = flags;
  v->priority = priority;
  v->id = atomic_fetch_add(&next_stream_id, 1);
  *phStream = (CUstream)v;
  return CUDA_SUCCESS;
}

CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags) { return cuStreamCreateWithPriority(phStream, Flags, 0); }

CUresult cuStreamDestroy_v2(CUstream hStream) {
  struct vstream *v = stream_of(hStream);
  if (!v) return CUDA_ERROR_INVALID_HANDLE;
  if (simtime_active()) simtime_stream_forget(hStream);
  v->magic = 0;
  free(v);
  return CUDA_SUCCESS;
}

/* Under `ccsim run` (simtime.h) streams and events complete at simulated times; otherwise at once. */
CUresult cuStreamSynchronize(CUstream hStream) {
  if (simtime_active()) return (CUresult)simtime_stream_sync(hStream, stream_dev(hStream));
  return CUDA_SUCCESS;
}
CUresult cuStreamQuery(CUstream hStream) {
  if (simtime_active()) return (CUresult)simtime_stream_query(hStream, stream_dev(hStream));
  return CUDA_SUCCESS;
}
CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags) {
  CU_UNUSED(Flags);
  if (simtime_active()) simtime_stream_wait_event(hStream, stream_dev(hStream), hEvent);
  return CUDA_SUCCESS;
}

CUresult cuStreamGetFlags(CUstream hStream, unsigned int *flags) {
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  struct vstream *v = stream_of(hStream);
  *flags = v ? v->flags : 0;
  return CUDA_SUCCESS;
}
CUresult cuStreamGetPriority(CUstream hStream, int *priority) {
  if (!priority) return CUDA_ERROR_INVALID_VALUE;
  struct vstream *v = stream_of(hStream);
  *priority = v ? v->priority : 0;
  return CUDA_SUCCESS;
}
CUresult cuStreamGetId(CUstream hStream, unsigned long long *streamId) {
  if (!streamId) return CUDA_ERROR_INVALID_VALUE;
  struct vstream *v = stream_of(hStream);
  *streamId = v ? v->id : (unsigned long long)(uintptr_t)hStream;
  return CUDA_SUCCESS;
}
CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx) {
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  *pctx = (CUcontext)cu_primary(stream_dev(hStream));
  return CUDA_SUCCESS;
}
CUresult cuStreamGetCtx_v2(CUstream hStream, CUcontext *pCtx, CUgreenCtx *pGreenCtx) {
  if (pGreenCtx) *pGreenCtx = NULL;
  return cuStreamGetCtx(hStream, pCtx);
}
CUresult cuStreamGetDevice(CUstream hStream, CUdevice *device) {
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  *device = stream_dev(hStream);
  return CUDA_SUCCESS;
}
CUresult cuStreamGetAttribute(CUstream hStream, CUstreamAttrID attr, CUstreamAttrValue *value_out) {
  CU_UNUSED(hStream);
  CU_UNUSED(attr);
  if (!value_out) return CUDA_ERROR_INVALID_VALUE;
  memset(value_out, 0, sizeof *value_out);
  return CUDA_SUCCESS;
}
CUresult cuStreamSetAttribute(CUstream hStream, CUstreamAttrID attr, const CUstreamAttrValue *value) {
  CU_UNUSED(hStream);
  CU_UNUSED(attr);
  CU_UNUSED(value);
  return CUDA_SUCCESS;
}
CUresult cuStreamCopyAttributes(CUstream dst, CUstream src) {
  CU_UNUSED(dst);
  CU_UNUSED(src);
  return CUDA_SUCCESS;
}

/* Stream capture (CUDA graphs) is not supported: streams never capture. */
CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus) {
  CU_UNUSED(hStream);
  if (!captureStatus) return CUDA_ERROR_INVALID_VALUE;
  *captureStatus = CU_STREAM_CAPTURE_STATUS_NONE;
  return CUDA_SUCCESS;
}
CUresult cuStreamGetCaptureInfo(CUstream hStream, CUstreamCaptureStatus *status, cuuint64_t *id) {
  CU_UNUSED(hStream);
  if (status) *status = CU_STREAM_CAPTURE_STATUS_NONE;
  if (id) *id = 0;
  return CUDA_SUCCESS;
}
CUresult cuStreamGetCaptureInfo_v2(CUstream hStream, CUstreamCaptureStatus *status, cuuint64_t *id, CUgraph *graph,
                                   const CUgraphNode **deps, size_t *ndeps) {
  if (graph) *graph = NULL;
  if (deps) *deps = NULL;
  if (ndeps) *ndeps = 0;
  return cuStreamGetCaptureInfo(hStream, status, id);
}
CUresult cuStreamGetCaptureInfo_v3(CUstream hStream, CUstreamCaptureStatus *status, cuuint64_t *id, CUgraph *graph,
                                   const CUgraphNode **deps, const CUgraphEdgeData **edges, size_t *ndeps) {
  if (edges) *edges = NULL;
  return cuStreamGetCaptureInfo_v2(hStream, status, id, graph, deps, ndeps);
}
CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode) {
  static __thread CUstreamCaptureMode thread_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
  if (!mode) return CUDA_ERROR_INVALID_VALUE;
  CUstreamCaptureMode old = thread_mode;
  thread_mode = *mode;
  *mode = old;
  return CUDA_SUCCESS;
}
CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode) {
  CU_UNUSED(hStream);
  CU_UNUSED(mode);
  return CU_STUB("cuStreamBeginCapture (CUDA graph capture)");
}
CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph) {
  CU_UNUSED(hStream);
  CU_UNUSED(phGraph);
  return CU_STUB("cuStreamEndCapture (CUDA graph capture)");
}

/* Host functions and callbacks run inline: the work before them has already "completed". */
CUresult cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData) {
  CU_UNUSED(hStream);
  if (!fn) return CUDA_ERROR_INVALID_VALUE;
  fn(userData);
  return CUDA_SUCCESS;
}
CUresult cuStreamAddCallback(CUstream hStream, CUstreamCallback callback, void *userData, unsigned int flags) {
  CU_UNUSED(flags);
  if (!callback) return CUDA_ERROR_INVALID_VALUE;
  callback(hStream, CUDA_SUCCESS, userData);
  return CUDA_SUCCESS;
}

/* Stream memory operations act on host memory immediately; a wait is already satisfied. */
CUresult cuStreamWriteValue32_v2(CUstream s, CUdeviceptr addr, cuuint32_t value, unsigned int flags) {
  CU_UNUSED(s);
  CU_UNUSED(flags);
  __atomic_store_n((cuuint32_t *)(uintptr_t)addr, value, __ATOMIC_SEQ_CST);
  return CUDA_SUCCESS;
}
CUresult cuStreamWriteValue64_v2(CUstream s, CUdeviceptr addr, cuuint64_t value, unsigned int flags) {
  CU_UNUSED(s);
  CU_UNUSED(flags);
  __atomic_store_n((cuuint64_t *)(uintptr_t)addr, value, __ATOMIC_SEQ_CST);
  return CUDA_SUCCESS;
}
CUresult cuStreamWaitValue32_v2(CUstream s, CUdeviceptr addr, cuuint32_t value, unsigned int flags) {
  CU_UNUSED(s); CU_UNUSED(addr); CU_UNUSED(value); CU_UNUSED(flags);
  return CUDA_SUCCESS;
}
CUresult cuStreamWaitValue64_v2(CUstream s, CUdeviceptr addr, cuuint64_t value, unsigned int flags) {
  CU_UNUSED(s); CU_UNUSED(addr); CU_UNUSED(value); CU_UNUSED(flags);
  return CUDA_SUCCESS;
}
CUresult cuStreamBatchMemOp_v2(CUstream s, unsigned int count, CUstreamBatchMemOpParams *ops, unsigned int flags) {
  CU_UNUSED(flags);
  for (unsigned i = 0; i < count; i++) {
    CUstreamBatchMemOpParams *o = &ops[i];
    if (o->operation == CU_STREAM_MEM_OP_WRITE_VALUE_32)
      cuStreamWriteValue32_v2(s, o->writeValue.address, o->writeValue.value, o->writeValue.flags);
    else if (o->operation == CU_STREAM_MEM_OP_WRITE_VALUE_64)
      cuStreamWriteValue64_v2(s, o->writeValue.address, o->writeValue.value64, o->writeValue.flags);
  }
  return CUDA_SUCCESS;
}

/* ---- events ---- */
#define VEVENT_MAGIC 0x544e5645u
struct vevent {
  uint32_t magic;
  unsigned flags;
  bool recorded;
  double at_us; /* simulated time of the record (0 until time is modelled) */
};

static struct vevent *event_of(CUevent e) {
  struct vevent *v = (struct vevent *)e;
  return v && v->magic == VEVENT_MAGIC ? v : NULL;
}

CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags) {
  if (!phEvent) return CUDA_ERROR_INVALID_VALUE;
  struct vevent *v = calloc(1, sizeof *v);
  if (!v) return CUDA_ERROR_OUT_OF_MEMORY;
  v->magic = VEVENT_MAGIC;
  v->flags = Flags;
  *phEvent = (CUevent)v;
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(CUevent hEvent) {
  struct vevent *v = event_of(hEvent);
  if (!v) return CUDA_ERROR_INVALID_HANDLE;
  if (simtime_active()) simtime_event_forget(hEvent);
  v->magic = 0;
  free(v);
  return CUDA_SUCCESS;
}
CUresult cuEventRecord(CUevent hEvent, CUstream hStream) {
  struct vevent *v = event_of(hEvent);
  if (!v) return CUDA_ERROR_INVALID_HANDLE;
  struct vstream *s = stream_of(hStream);
  double t = 0;
  if (s) __atomic_load(&s->done_at_us, &t, __ATOMIC_RELAXED);
  /* Recorded on one thread, waited on or timed from others. */
  __atomic_store(&v->at_us, &t, __ATOMIC_RELAXED);
  __atomic_store_n(&v->recorded, true, __ATOMIC_RELEASE);
  if (simtime_active()) simtime_event_record(hEvent, hStream, stream_dev(hStream));
  return CUDA_SUCCESS;
}
CUresult cuEventRecordWithFlags(CUevent hEvent, CUstream hStream, unsigned int flags) {
  CU_UNUSED(flags);
  return cuEventRecord(hEvent, hStream);
}
CUresult cuEventQuery(CUevent hEvent) {
  if (!event_of(hEvent)) return CUDA_ERROR_INVALID_HANDLE;
  return simtime_active() ? (CUresult)simtime_event_query(hEvent) : CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent hEvent) {
  if (!event_of(hEvent)) return CUDA_ERROR_INVALID_HANDLE;
  return simtime_active() ? (CUresult)simtime_event_sync(hEvent) : CUDA_SUCCESS;
}
CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd) {
  struct vevent *a = event_of(hStart), *b = event_of(hEnd);
  if (!pMilliseconds || !a || !b) return CUDA_ERROR_INVALID_HANDLE;
  if (!__atomic_load_n(&a->recorded, __ATOMIC_ACQUIRE) || !__atomic_load_n(&b->recorded, __ATOMIC_ACQUIRE))
    return CUDA_ERROR_NOT_READY;
  if (simtime_active()) return (CUresult)simtime_event_elapsed(pMilliseconds, hStart, hEnd);
  double ta, tb;
  __atomic_load(&a->at_us, &ta, __ATOMIC_RELAXED);
  __atomic_load(&b->at_us, &tb, __ATOMIC_RELAXED);
  *pMilliseconds = (float)((tb - ta) / 1000.0);
  return CUDA_SUCCESS;
}
CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd) {
  return cuEventElapsedTime_v2(pMilliseconds, hStart, hEnd);
}

/* ---- libraries, modules, kernels ---- */
#define VLIB_MAGIC 0x42494c56u
#define VKERN_MAGIC 0x4e524b56u
struct vlib {
  uint32_t magic;
};
struct vkernel {
  uint32_t magic;
  char *name;
  int max_dyn_smem[VPLAT_MAX_GPUS]; /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES per device */
};

static pthread_mutex_t kern_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *kernels; /* name -> struct vkernel*; kept for the life of the process (stable handles) */

static struct vkernel *kernel_of(const void *k) {
  const struct vkernel *v = k;
  return v && v->magic == VKERN_MAGIC ? (struct vkernel *)v : NULL;
}

static struct vkernel *kernel_named(const char *name) {
  pthread_mutex_lock(&kern_lock);
  if (!kernels) kernels = g_hash_table_new(g_str_hash, g_str_equal);
  struct vkernel *k = g_hash_table_lookup(kernels, name);
  if (!k) {
    k = calloc(1, sizeof *k);
    k->magic = VKERN_MAGIC;
    k->name = strdup(name);
    g_hash_table_insert(kernels, k->name, k);
  }
  pthread_mutex_unlock(&kern_lock);
  return k;
}

static CUresult new_lib(void **out) {
  struct vlib *l = calloc(1, sizeof *l);
  if (!l) return CUDA_ERROR_OUT_OF_MEMORY;
  l->magic = VLIB_MAGIC;
  *out = l;
  return CUDA_SUCCESS;
}

static CUresult free_lib(void *p) {
  struct vlib *l = p;
  if (!l || l->magic != VLIB_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
  l->magic = 0;
  free(l);
  return CUDA_SUCCESS;
}

CUresult cuModuleGetLoadingMode(CUmoduleLoadingMode *mode) {
  if (!mode) return CUDA_ERROR_INVALID_VALUE;
  *mode = CU_MODULE_EAGER_LOADING;
  return CUDA_SUCCESS;
}

CUresult cuLibraryLoadData(CUlibrary *library, const void *code, CUjit_option *jitOptions, void **jitOptionsValues,
                           unsigned int numJitOptions, CUlibraryOption *libraryOptions, void **libraryOptionValues,
                           unsigned int numLibraryOptions) {
  CU_UNUSED(code); CU_UNUSED(jitOptions); CU_UNUSED(jitOptionsValues); CU_UNUSED(numJitOptions);
  CU_UNUSED(libraryOptions); CU_UNUSED(libraryOptionValues); CU_UNUSED(numLibraryOptions);
  if (!library) return CUDA_ERROR_INVALID_VALUE;
  return new_lib((void **)library);
}
CUresult cuLibraryUnload(CUlibrary library) { return free_lib(library); }
CUresult cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name) {
  CU_UNUSED(library);
  if (!pKernel || !name) return CUDA_ERROR_INVALID_VALUE;
  *pKernel = (CUkernel)kernel_named(name);
  return CUDA_SUCCESS;
}
CUresult cuLibraryGetModule(CUmodule *pMod, CUlibrary library) {
  if (!pMod) return CUDA_ERROR_INVALID_VALUE;
  *pMod = (CUmodule)library;
  return CUDA_SUCCESS;
}
CUresult cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library, const char *name) {
  CU_UNUSED(dptr); CU_UNUSED(bytes); CU_UNUSED(library); CU_UNUSED(name);
  return CU_STUB("cuLibraryGetGlobal");
}
CUresult cuKernelGetFunction(CUfunction *pFunc, CUkernel kernel) {
  if (!pFunc || !kernel_of(kernel)) return CUDA_ERROR_INVALID_HANDLE;
  *pFunc = (CUfunction)kernel;
  return CUDA_SUCCESS;
}
CUresult cuKernelGetName(const char **name, CUkernel hfunc) {
  struct vkernel *k = kernel_of(hfunc);
  if (!name || !k) return CUDA_ERROR_INVALID_HANDLE;
  *name = k->name;
  return CUDA_SUCCESS;
}
CUresult cuFuncGetName(const char **name, CUfunction hfunc) { return cuKernelGetName(name, (CUkernel)hfunc); }

static CUresult kernel_attr(int *pi, CUfunction_attribute attrib, struct vkernel *k, int dev) {
  if (!pi || !k) return CUDA_ERROR_INVALID_HANDLE;
  switch (attrib) {
  case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = 1024; break;
  case CU_FUNC_ATTRIBUTE_NUM_REGS: *pi = 64; break;
  case CU_FUNC_ATTRIBUTE_PTX_VERSION:
  case CU_FUNC_ATTRIBUTE_BINARY_VERSION:
    *pi = vplat_get()->ncuda ? vplat_cuda_gpu(vplat_get(), 0)->cc_major * 10 + vplat_cuda_gpu(vplat_get(), 0)->cc_minor : 90;
    break;
  case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
    *pi = (dev >= 0 && dev < VPLAT_MAX_GPUS) ? __atomic_load_n(&k->max_dyn_smem[dev], __ATOMIC_RELAXED) : 0;
    break;
  case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: *pi = -1; break;
  default: *pi = 0; break;
  }
  return CUDA_SUCCESS;
}

CUresult cuKernelGetAttribute(int *pi, CUfunction_attribute attrib, CUkernel kernel, CUdevice dev) {
  return kernel_attr(pi, attrib, kernel_of(kernel), dev);
}
CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc) {
  return kernel_attr(pi, attrib, kernel_of(hfunc), cu_current_dev());
}

static CUresult kernel_set_attr(CUfunction_attribute attrib, int val, struct vkernel *k, int dev) {
  if (!k) return CUDA_ERROR_INVALID_HANDLE;
  if (attrib == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES && dev >= 0 && dev < VPLAT_MAX_GPUS)
    __atomic_store_n(&k->max_dyn_smem[dev], val, __ATOMIC_RELAXED);
  return CUDA_SUCCESS;
}
CUresult cuKernelSetAttribute(CUfunction_attribute attrib, int val, CUkernel kernel, CUdevice dev) {
  return kernel_set_attr(attrib, val, kernel_of(kernel), dev);
}
CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value) {
  return kernel_set_attr(attrib, value, kernel_of(hfunc), cu_current_dev());
}
CUresult cuKernelSetCacheConfig(CUkernel kernel, CUfunc_cache config, CUdevice dev) {
  CU_UNUSED(config);
  CU_UNUSED(dev);
  return kernel_of(kernel) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}
CUresult cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config) {
  CU_UNUSED(config);
  return kernel_of(hfunc) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}
CUresult cuFuncSetSharedMemConfig(CUfunction hfunc, CUsharedconfig config) {
  CU_UNUSED(config);
  return kernel_of(hfunc) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult cuModuleLoadData(CUmodule *module, const void *image) {
  CU_UNUSED(image);
  if (!module) return CUDA_ERROR_INVALID_VALUE;
  return new_lib((void **)module);
}
CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions, CUjit_option *options,
                            void **optionValues) {
  CU_UNUSED(numOptions); CU_UNUSED(options); CU_UNUSED(optionValues);
  return cuModuleLoadData(module, image);
}
CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin) { return cuModuleLoadData(module, fatCubin); }
CUresult cuModuleUnload(CUmodule hmod) { return free_lib(hmod); }
CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name) {
  CU_UNUSED(hmod);
  if (!hfunc || !name) return CUDA_ERROR_INVALID_VALUE;
  *hfunc = (CUfunction)kernel_named(name);
  return CUDA_SUCCESS;
}
CUresult cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod, const char *name) {
  CU_UNUSED(dptr); CU_UNUSED(bytes); CU_UNUSED(hmod); CU_UNUSED(name);
  return CU_STUB("cuModuleGetGlobal");
}

/* ---- occupancy ---- */
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *numBlocks, CUfunction func, int blockSize,
                                                              size_t dynamicSMemSize, unsigned int flags) {
  CU_UNUSED(func); CU_UNUSED(dynamicSMemSize); CU_UNUSED(flags);
  if (!numBlocks || blockSize <= 0) return CUDA_ERROR_INVALID_VALUE;
  *numBlocks = 2048 / blockSize > 0 ? 2048 / blockSize : 1;
  return CUDA_SUCCESS;
}
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, CUfunction func, int blockSize,
                                                     size_t dynamicSMemSize) {
  return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(numBlocks, func, blockSize, dynamicSMemSize, 0);
}
CUresult cuOccupancyAvailableDynamicSMemPerBlock(size_t *dynamicSmemSize, CUfunction func, int numBlocks,
                                                 int blockSize) {
  CU_UNUSED(func); CU_UNUSED(numBlocks); CU_UNUSED(blockSize);
  if (!dynamicSmemSize) return CUDA_ERROR_INVALID_VALUE;
  *dynamicSmemSize = 232448;
  return CUDA_SUCCESS;
}

/* ---- launches ---- */
static atomic_uint_fast64_t launch_seq;

static CUresult record_launch(struct vkernel *k, const unsigned grid[3], const unsigned block[3], unsigned smem,
                              CUstream stream, void **params, void **extra, unsigned nattrs, const void *attrs) {
  if (!k) return CUDA_ERROR_INVALID_HANDLE;
  struct hack_launch l;
  memset(&l, 0, sizeof l);
  l.func_name = k->name;
  memcpy(l.grid, grid, sizeof l.grid);
  memcpy(l.block, block, sizeof l.block);
  l.shared_mem = smem;
  l.stream = stream;
  l.device = stream_dev(stream);
  l.kernel_params = params;
  l.extra = extra;
  l.num_attrs = nattrs;
  l.attrs = attrs;
  for (void **e = extra; e && *e != CU_LAUNCH_PARAM_END; e += 2) {
    if (e[0] == CU_LAUNCH_PARAM_BUFFER_POINTER) l.args = e[1];
    else if (e[0] == CU_LAUNCH_PARAM_BUFFER_SIZE && e[1]) l.args_size = *(size_t *)e[1];
    else break; /* unknown key: stop rather than walk off the array */
  }
  l.seq = atomic_fetch_add(&launch_seq, 1);
  hack_dbg(2, "launch #%llu dev %d %s grid %u block %u smem %u args %zu B", (unsigned long long)l.seq, l.device,
           l.func_name, grid[0], block[0], smem, l.args_size);
  if (simtime_active()) simtime_on_launch(&l);
  if (capture_on_launch) capture_on_launch(&l);
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **kernelParams, void **extra) {
  if (!config) return CUDA_ERROR_INVALID_VALUE;
  unsigned grid[3] = {config->gridDimX, config->gridDimY, config->gridDimZ};
  unsigned block[3] = {config->blockDimX, config->blockDimY, config->blockDimZ};
  return record_launch(kernel_of(f), grid, block, config->sharedMemBytes, config->hStream, kernelParams, extra,
                       config->numAttrs, config->attrs);
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                        unsigned int by, unsigned int bz, unsigned int smem, CUstream hStream, void **kernelParams,
                        void **extra) {
  unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  return record_launch(kernel_of(f), grid, block, smem, hStream, kernelParams, extra, 0, NULL);
}

CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                   unsigned int by, unsigned int bz, unsigned int smem, CUstream hStream,
                                   void **kernelParams) {
  return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, smem, hStream, kernelParams, NULL);
}

/* ---- graphs and user objects: enough for code that probes them; capture itself is unsupported ---- */
CUresult cuGraphCreate(CUgraph *phGraph, unsigned int flags) {
  CU_UNUSED(flags);
  if (!phGraph) return CUDA_ERROR_INVALID_VALUE;
  *phGraph = (CUgraph)calloc(1, 16);
  return *phGraph ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
CUresult cuGraphDestroy(CUgraph hGraph) {
  free(hGraph);
  return CUDA_SUCCESS;
}
struct vuserobj {
  void *ptr;
  CUhostFn destroy;
  atomic_uint refs;
};

CUresult cuUserObjectCreate(CUuserObject *object_out, void *ptr, CUhostFn destroy, unsigned int initialRefcount,
                            unsigned int flags) {
  CU_UNUSED(flags);
  if (!object_out) return CUDA_ERROR_INVALID_VALUE;
  struct vuserobj *o = calloc(1, sizeof *o);
  if (!o) return CUDA_ERROR_OUT_OF_MEMORY;
  o->ptr = ptr;
  o->destroy = destroy;
  atomic_store(&o->refs, initialRefcount);
  *object_out = (CUuserObject)o;
  return CUDA_SUCCESS;
}
CUresult cuUserObjectRetain(CUuserObject object, unsigned int count) {
  struct vuserobj *o = (struct vuserobj *)object;
  if (!o) return CUDA_ERROR_INVALID_VALUE;
  atomic_fetch_add(&o->refs, count);
  return CUDA_SUCCESS;
}
CUresult cuUserObjectRelease(CUuserObject object, unsigned int count) {
  struct vuserobj *o = (struct vuserobj *)object;
  if (!o) return CUDA_ERROR_INVALID_VALUE;
  if (atomic_fetch_sub(&o->refs, count) == count) {
    if (o->destroy) o->destroy(o->ptr);
    free(o);
  }
  return CUDA_SUCCESS;
}
CUresult cuGraphRetainUserObject(CUgraph graph, CUuserObject object, unsigned int count, unsigned int flags) {
  CU_UNUSED(graph); CU_UNUSED(flags);
  return cuUserObjectRetain(object, count);
}
CUresult cuGraphReleaseUserObject(CUgraph graph, CUuserObject object, unsigned int count) {
  CU_UNUSED(graph);
  return cuUserObjectRelease(object, count);
}
