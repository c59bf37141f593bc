/* cu_memory.c — fake driver memory: "device" memory is host memory at the same address, so copies and
 * memsets run synchronously on the host and host code can read what NCCL put on the device. Owns the
 * registry of live ranges (for cuMemGetAddressRange / cuPointerGetAttribute) and the memory pools. */
#include "cu_internal.h"

#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hack_log.h"
#include "platform_hooks.h"
#include "simtime.h"

/* ---- registry of live ranges, keyed by base address ---- */
static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static GTree *reg; /* uintptr_t base -> struct mem_range* */
static atomic_uint_fast64_t next_id = 1;

static gint cmp_addr(gconstpointer a, gconstpointer b, gpointer unused) {
  (void)unused;
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return x < y ? -1 : x > y;
}

static void ensure_reg(void) {
  if (!reg) reg = g_tree_new_full(cmp_addr, NULL, NULL, g_free);
}

uint64_t mem_next_id(void) { return atomic_fetch_add(&next_id, 1); }

void mem_insert(const struct mem_range *r) {
  struct mem_range *copy = g_memdup2(r, sizeof *r);
  pthread_rwlock_wrlock(&reg_lock);
  ensure_reg();
  g_tree_replace(reg, (gpointer)r->base, copy);
  pthread_rwlock_unlock(&reg_lock);
}

bool mem_find(uintptr_t addr, struct mem_range *out) {
  bool found = false;
  pthread_rwlock_rdlock(&reg_lock);
  if (reg) {
    /* The greatest base <= addr: the node before the first base > addr. */
    GTreeNode *n = g_tree_upper_bound(reg, (gconstpointer)addr);
    n = n ? g_tree_node_previous(n) : g_tree_node_last(reg);
    if (n) {
      const struct mem_range *r = g_tree_node_value(n);
      if (addr >= r->base && addr - r->base < (r->size ? r->size : 1)) {
        *out = *r;
        found = true;
      }
    }
  }
  pthread_rwlock_unlock(&reg_lock);
  return found;
}

bool mem_remove(uintptr_t base, struct mem_range *out) {
  bool found = false;
  pthread_rwlock_wrlock(&reg_lock);
  if (reg) {
    struct mem_range *r = g_tree_lookup(reg, (gconstpointer)base);
    if (r) {
      if (out) *out = *r;
      g_tree_remove(reg, (gconstpointer)base);
      found = true;
    }
  }
  pthread_rwlock_unlock(&reg_lock);
  return found;
}

GArray *mem_remove_within(uintptr_t lo, uintptr_t hi) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(struct mem_range));
  pthread_rwlock_wrlock(&reg_lock);
  while (reg) {
    GTreeNode *n = g_tree_lower_bound(reg, (gconstpointer)lo); /* first base >= lo */
    if (!n || (uintptr_t)g_tree_node_key(n) >= hi) break;
    g_array_append_val(out, *(struct mem_range *)g_tree_node_value(n));
    g_tree_remove(reg, g_tree_node_key(n));
  }
  pthread_rwlock_unlock(&reg_lock);
  return out;
}

/* ---- allocation ---- */

static void *map_anon(size_t size) {
  void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static CUresult alloc_range(void **out, size_t size, enum mem_kind kind, int dev) {
  void *p = map_anon(size);
  if (!p) return CUDA_ERROR_OUT_OF_MEMORY;
  struct mem_range r = {(uintptr_t)p, size, kind, dev, mem_next_id(), NULL, 0};
  mem_insert(&r);
  *out = p;
  return CUDA_SUCCESS;
}

static CUresult free_range(uintptr_t base, bool host) {
  if (!base) return CUDA_SUCCESS; /* cudaFree(NULL) is how NCCL makes sure the runtime is initialised */
  struct mem_range r;
  if (!mem_find(base, &r) || r.base != base || r.kind == MEM_VMM || (host != (r.kind == MEM_HOST)))
    return CUDA_ERROR_INVALID_VALUE;
  mem_remove(base, NULL);
  munmap((void *)r.base, r.size ? r.size : 1);
  return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize) {
  if (!dptr) return CUDA_ERROR_INVALID_VALUE;
  void *p;
  CUresult r = alloc_range(&p, bytesize, MEM_DEVICE, cu_current_dev());
  if (!r) *dptr = (CUdeviceptr)(uintptr_t)p;
  return r;
}

CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned int flags) {
  CU_UNUSED(flags);
  if (!dptr) return CUDA_ERROR_INVALID_VALUE;
  void *p;
  CUresult r = alloc_range(&p, bytesize, MEM_MANAGED, cu_current_dev());
  if (!r) *dptr = (CUdeviceptr)(uintptr_t)p;
  return r;
}

CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch, size_t WidthInBytes, size_t Height,
                            unsigned int ElementSizeBytes) {
  CU_UNUSED(ElementSizeBytes);
  if (!pPitch) return CUDA_ERROR_INVALID_VALUE;
  *pPitch = (WidthInBytes + 511) & ~(size_t)511;
  return cuMemAlloc_v2(dptr, *pPitch * Height);
}

CUresult cuMemFree_v2(CUdeviceptr dptr) { return free_range((uintptr_t)dptr, false); }

CUresult cuMemAllocHost_v2(void **pp, size_t bytesize) {
  if (!pp) return CUDA_ERROR_INVALID_VALUE;
  return alloc_range(pp, bytesize, MEM_HOST, -1);
}

CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags) {
  CU_UNUSED(Flags);
  return cuMemAllocHost_v2(pp, bytesize);
}

CUresult cuMemFreeHost(void *p) { return free_range((uintptr_t)p, true); }

CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p, unsigned int Flags) {
  CU_UNUSED(Flags);
  if (!pdptr) return CUDA_ERROR_INVALID_VALUE;
  *pdptr = (CUdeviceptr)(uintptr_t)p;
  return CUDA_SUCCESS;
}

CUresult cuMemHostGetFlags(unsigned int *pFlags, void *p) {
  struct mem_range r;
  if (!pFlags || !mem_find((uintptr_t)p, &r)) return CUDA_ERROR_INVALID_VALUE;
  *pFlags = CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_PORTABLE;
  return CUDA_SUCCESS;
}

CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags) {
  CU_UNUSED(Flags);
  if (!p || !bytesize) return CUDA_ERROR_INVALID_VALUE;
  struct mem_range r = {(uintptr_t)p, bytesize, MEM_HOST_REGISTERED, -1, mem_next_id(), NULL, 0};
  mem_insert(&r);
  return CUDA_SUCCESS;
}
CUresult cuMemHostRegister(void *p, size_t bytesize, unsigned int Flags) { return cuMemHostRegister_v2(p, bytesize, Flags); }

CUresult cuMemHostUnregister(void *p) {
  struct mem_range r;
  if (!mem_find((uintptr_t)p, &r) || r.kind != MEM_HOST_REGISTERED) return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
  mem_remove(r.base, NULL);
  return CUDA_SUCCESS;
}

CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) {
  const struct vplat *p = vplat_get();
  size_t t = p->ncuda ? vplat_cuda_gpu(p, cu_current_dev())->total_mem : 0;
  if (free_bytes) *free_bytes = t - t / 16;
  if (total) *total = t;
  return CUDA_SUCCESS;
}

CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr) {
  struct mem_range r;
  if (!mem_find((uintptr_t)dptr, &r)) return CUDA_ERROR_NOT_FOUND;
  if (pbase) *pbase = (CUdeviceptr)r.base;
  if (psize) *psize = r.size;
  return CUDA_SUCCESS;
}

/* Pinned or registered host memory, or a cuMem allocation made on the host (mapped with device -1). */
static bool range_on_host(const struct mem_range *r) {
  return r->kind == MEM_HOST || r->kind == MEM_HOST_REGISTERED || (r->kind == MEM_VMM && r->dev < 0);
}

int hack_mem_is_host(const void *p) {
  struct mem_range r;
  if (!p || !mem_find((uintptr_t)p, &r)) return -1;
  return range_on_host(&r);
}

CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr) {
  if (!data) return CUDA_ERROR_INVALID_VALUE;
  struct mem_range r;
  bool known = mem_find((uintptr_t)ptr, &r);
  if (!known && attribute != CU_POINTER_ATTRIBUTE_IS_MANAGED && attribute != CU_POINTER_ATTRIBUTE_MAPPED)
    return CUDA_ERROR_INVALID_VALUE;
  int dev = known && r.dev >= 0 ? r.dev : cu_current_dev();
  bool host = known && (r.kind == MEM_HOST || r.kind == MEM_HOST_REGISTERED);
  switch (attribute) {
  case CU_POINTER_ATTRIBUTE_CONTEXT: *(CUcontext *)data = (CUcontext)cu_primary(dev); break;
  case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
    *(unsigned *)data = host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
    break;
  case CU_POINTER_ATTRIBUTE_DEVICE_POINTER: *(CUdeviceptr *)data = ptr; break;
  case CU_POINTER_ATTRIBUTE_HOST_POINTER: *(void **)data = (void *)(uintptr_t)ptr; break;
  case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS: *(int *)data = 1; break;
  case CU_POINTER_ATTRIBUTE_BUFFER_ID: *(unsigned long long *)data = r.id; break;
  case CU_POINTER_ATTRIBUTE_IS_MANAGED: *(int *)data = known && r.kind == MEM_MANAGED; break;
  case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: *(int *)data = dev; break;
  case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE: *(int *)data = 0; break;
  case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: *(void **)data = (void *)r.base; break;
  case CU_POINTER_ATTRIBUTE_RANGE_SIZE: *(size_t *)data = r.size; break;
  case CU_POINTER_ATTRIBUTE_MAPPED: *(int *)data = known; break;
  case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
    *(unsigned long long *)data = r.kind == MEM_VMM ? CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR : 0;
    break;
  case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE: *(int *)data = 1; break;
  case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS: *(unsigned *)data = CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READWRITE; break;
  case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE: *(CUmemoryPool *)data = NULL; break;
  default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult cuPointerGetAttributes(unsigned int numAttributes, CUpointer_attribute *attributes, void **data,
                                CUdeviceptr ptr) {
  for (unsigned i = 0; i < numAttributes; i++) {
    if (!data[i]) continue;
    if (cuPointerGetAttribute(data[i], attributes[i], ptr) != CUDA_SUCCESS) {
      /* The real driver zero-fills attributes of unknown pointers rather than failing. */
      if (attributes[i] == CU_POINTER_ATTRIBUTE_MEMORY_TYPE || attributes[i] == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL)
        *(int *)data[i] = attributes[i] == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL ? -2 : 0;
      else if (attributes[i] == CU_POINTER_ATTRIBUTE_CONTEXT || attributes[i] == CU_POINTER_ATTRIBUTE_HOST_POINTER)
        *(void **)data[i] = NULL;
      else
        *(unsigned long long *)data[i] = 0;
    }
  }
  return CUDA_SUCCESS;
}

CUresult cuPointerSetAttribute(const void *value, CUpointer_attribute attribute, CUdeviceptr ptr) {
  CU_UNUSED(value);
  CU_UNUSED(attribute);
  CU_UNUSED(ptr);
  return CUDA_SUCCESS;
}

CUresult cuMemAdvise_v2(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUmemLocation location) {
  CU_UNUSED(devPtr); CU_UNUSED(count); CU_UNUSED(advice); CU_UNUSED(location);
  return CUDA_SUCCESS;
}
CUresult cuMemPrefetchAsync_v2(CUdeviceptr devPtr, size_t count, CUmemLocation location, unsigned int flags,
                               CUstream hStream) {
  CU_UNUSED(devPtr); CU_UNUSED(count); CU_UNUSED(location); CU_UNUSED(flags); CU_UNUSED(hStream);
  return CUDA_SUCCESS;
}

/* ---- copies and memsets: synchronous host operations ---- */

#define HOSTPTR(x) ((void *)(uintptr_t)(x))

/* Device-to-device copies from this size up are not carried out: they are user data (NCCL copies a
 * one-rank collective's buffer this way), which the virtual platform does not move any more than its
 * kernels do, while NCCL's own device structures, which host code reads back, are far smaller. Copying
 * them would make an 8 GiB one-rank call fault in 16 GiB of host memory. */
#define COPY_ELIDE_MIN ((size_t)64 << 20)

static bool device_range(const void *p, size_t n) {
  struct mem_range r;
  return mem_find((uintptr_t)p, &r) && !range_on_host(&r) && (uintptr_t)p + n <= r.base + r.size;
}

/* A synchronous copy first waits for the device's work, as the legacy default stream does (simulated time
 * under `ccsim run`, simtime.h); the asynchronous ones do not. */
static CUresult copy_now(void *dst, const void *src, size_t n) {
  if (n >= COPY_ELIDE_MIN && device_range(dst, n) && device_range(src, n)) return CUDA_SUCCESS;
  if (n) memmove(dst, src, n);
  return CUDA_SUCCESS;
}
static CUresult copy_sync(void *dst, const void *src, size_t n) {
  if (simtime_active()) simtime_host_copy_wait(cu_current_dev());
  return copy_now(dst, src, n);
}

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n) { return copy_sync(HOSTPTR(dst), HOSTPTR(src), n); }
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  CU_UNUSED(s);
  return copy_now(HOSTPTR(dst), HOSTPTR(src), n);
}
CUresult cuMemcpyPeer(CUdeviceptr dst, CUcontext dc, CUdeviceptr src, CUcontext sc, size_t n) {
  CU_UNUSED(dc);
  CU_UNUSED(sc);
  return copy_sync(HOSTPTR(dst), HOSTPTR(src), n);
}
CUresult cuMemcpyPeerAsync(CUdeviceptr dst, CUcontext dc, CUdeviceptr src, CUcontext sc, size_t n, CUstream s) {
  CU_UNUSED(dc);
  CU_UNUSED(sc);
  CU_UNUSED(s);
  return copy_now(HOSTPTR(dst), HOSTPTR(src), n);
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) { return copy_sync(HOSTPTR(dst), src, n); }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s) {
  CU_UNUSED(s);
  return copy_now(HOSTPTR(dst), src, n);
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) { return copy_sync(dst, HOSTPTR(src), n); }
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s) {
  CU_UNUSED(s);
  return copy_now(dst, HOSTPTR(src), n);
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) { return cuMemcpy(dst, src, n); }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  CU_UNUSED(s);
  return copy_now(HOSTPTR(dst), HOSTPTR(src), n);
}

/* Zeroing large ranges by dropping pages instead of writing them: NCCL zeroes hundreds of MiB of NVLS and
 * channel buffers, which would otherwise all become resident. Fresh pages read as zero afterwards, in
 * every mapping of the same memory. */
#define FAST_ZERO_MIN ((size_t)1 << 20)
static void zero_range(uintptr_t addr, size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  struct mem_range r;
  uintptr_t lo = (addr + page - 1) & ~(uintptr_t)(page - 1), hi = (addr + n) & ~(uintptr_t)(page - 1);
  if (n < FAST_ZERO_MIN || hi <= lo || !mem_find(addr, &r) || addr + n > r.base + r.size) {
    memset((void *)addr, 0, n);
    return;
  }
  int dropped = -1;
  if (r.kind == MEM_VMM)
    dropped = fallocate(r.handle->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        (off_t)(r.handle_offset + (lo - r.base)), (off_t)(hi - lo));
  else if (r.kind == MEM_DEVICE || r.kind == MEM_HOST || r.kind == MEM_MANAGED)
    dropped = madvise((void *)lo, hi - lo, MADV_DONTNEED); /* private anonymous: refills with zeros */
  if (dropped != 0) {
    memset((void *)addr, 0, n);
    return;
  }
  memset((void *)addr, 0, lo - addr);
  memset((void *)hi, 0, addr + n - hi);
}

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char uc, size_t n) {
  if (!n) return CUDA_SUCCESS;
  if (uc == 0)
    zero_range((uintptr_t)dst, n);
  else
    memset(HOSTPTR(dst), uc, n);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char uc, size_t n, CUstream s) {
  CU_UNUSED(s);
  return cuMemsetD8_v2(dst, uc, n);
}
CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short us, size_t n) {
  if (us == 0) return cuMemsetD8_v2(dst, 0, n * sizeof us);
  unsigned short *p = HOSTPTR(dst);
  for (size_t i = 0; i < n; i++) p[i] = us;
  return CUDA_SUCCESS;
}
CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short us, size_t n, CUstream s) {
  CU_UNUSED(s);
  return cuMemsetD16_v2(dst, us, n);
}
CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int ui, size_t n) {
  if (ui == 0) return cuMemsetD8_v2(dst, 0, n * sizeof ui);
  unsigned int *p = HOSTPTR(dst);
  for (size_t i = 0; i < n; i++) p[i] = ui;
  return CUDA_SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int ui, size_t n, CUstream s) {
  CU_UNUSED(s);
  return cuMemsetD32_v2(dst, ui, n);
}
CUresult cuMemsetD2D8_v2(CUdeviceptr dst, size_t pitch, unsigned char uc, size_t w, size_t h) {
  for (size_t y = 0; y < h; y++) memset(HOSTPTR(dst + y * pitch), uc, w);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD2D8Async(CUdeviceptr dst, size_t pitch, unsigned char uc, size_t w, size_t h, CUstream s) {
  CU_UNUSED(s);
  return cuMemsetD2D8_v2(dst, pitch, uc, w, h);
}

/* ---- memory pools: bookkeeping only; allocations from a pool are ordinary allocations ---- */
struct vpool {
  uint32_t magic;
  CUmemPoolProps props;
  cuuint64_t release_threshold;
};
#define VPOOL_MAGIC 0x4c4f4f50u
static struct vpool default_pools[VPLAT_MAX_GPUS];
static CUmemoryPool current_pools[VPLAT_MAX_GPUS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static struct vpool *pool_of(CUmemoryPool p) {
  struct vpool *v = (struct vpool *)p;
  return v && v->magic == VPOOL_MAGIC ? v : NULL;
}

CUresult cuMemPoolCreate(CUmemoryPool *pool, const CUmemPoolProps *poolProps) {
  if (!pool || !poolProps) return CUDA_ERROR_INVALID_VALUE;
  struct vpool *v = calloc(1, sizeof *v);
  if (!v) return CUDA_ERROR_OUT_OF_MEMORY;
  v->magic = VPOOL_MAGIC;
  v->props = *poolProps;
  *pool = (CUmemoryPool)v;
  return CUDA_SUCCESS;
}

CUresult cuMemPoolDestroy(CUmemoryPool pool) {
  struct vpool *v = pool_of(pool);
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  if (v >= default_pools && v < default_pools + VPLAT_MAX_GPUS) return CUDA_SUCCESS;
  v->magic = 0;
  free(v);
  return CUDA_SUCCESS;
}

CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value) {
  struct vpool *v = pool_of(pool);
  if (!v || !value) return CUDA_ERROR_INVALID_VALUE;
  if (attr == CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) v->release_threshold = *(cuuint64_t *)value;
  return CUDA_SUCCESS;
}

CUresult cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value) {
  struct vpool *v = pool_of(pool);
  if (!v || !value) return CUDA_ERROR_INVALID_VALUE;
  switch (attr) {
  case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: *(cuuint64_t *)value = v->release_threshold; break;
  case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
  case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
  case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES: *(int *)value = 1; break;
  default: *(cuuint64_t *)value = 0; break;
  }
  return CUDA_SUCCESS;
}

CUresult cuMemPoolSetAccess(CUmemoryPool pool, const CUmemAccessDesc *map, size_t count) {
  CU_UNUSED(map);
  CU_UNUSED(count);
  return pool_of(pool) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemPoolGetAccess(CUmemAccess_flags *flags, CUmemoryPool memPool, CUmemLocation *location) {
  CU_UNUSED(location);
  if (!flags || !pool_of(memPool)) return CUDA_ERROR_INVALID_VALUE;
  *flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  return CUDA_SUCCESS;
}

CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t minBytesToKeep) {
  CU_UNUSED(minBytesToKeep);
  return pool_of(pool) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

static CUmemoryPool default_pool(int dev) {
  struct vpool *v = &default_pools[dev];
  pthread_mutex_lock(&pool_lock);
  if (v->magic != VPOOL_MAGIC) {
    v->magic = VPOOL_MAGIC;
    v->props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    v->props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    v->props.location.id = dev;
  }
  if (!current_pools[dev]) current_pools[dev] = (CUmemoryPool)v;
  pthread_mutex_unlock(&pool_lock);
  return (CUmemoryPool)v;
}

CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool_out, CUdevice dev) {
  if (cu_check_dev(dev)) return CUDA_ERROR_INVALID_DEVICE;
  if (!pool_out) return CUDA_ERROR_INVALID_VALUE;
  *pool_out = default_pool(dev);
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev) {
  if (cu_check_dev(dev)) return CUDA_ERROR_INVALID_DEVICE;
  if (!pool) return CUDA_ERROR_INVALID_VALUE;
  default_pool(dev);
  pthread_mutex_lock(&pool_lock);
  *pool = current_pools[dev];
  pthread_mutex_unlock(&pool_lock);
  return CUDA_SUCCESS;
}

CUresult cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool) {
  if (cu_check_dev(dev)) return CUDA_ERROR_INVALID_DEVICE;
  if (!pool_of(pool)) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&pool_lock);
  current_pools[dev] = pool;
  pthread_mutex_unlock(&pool_lock);
  return CUDA_SUCCESS;
}

static int location_dev(const CUmemLocation *loc) {
  return loc && loc->type == CU_MEM_LOCATION_TYPE_DEVICE ? loc->id : cu_current_dev();
}

CUresult cuMemGetDefaultMemPool(CUmemoryPool *pool_out, CUmemLocation *location, CUmemAllocationType type) {
  CU_UNUSED(type);
  int dev = location_dev(location);
  if (cu_check_dev(dev)) return CUDA_ERROR_INVALID_DEVICE;
  return cuDeviceGetDefaultMemPool(pool_out, dev);
}
CUresult cuMemGetMemPool(CUmemoryPool *pool, CUmemLocation *location, CUmemAllocationType type) {
  CU_UNUSED(type);
  return cuDeviceGetMemPool(pool, location_dev(location));
}
CUresult cuMemSetMemPool(CUmemLocation *location, CUmemAllocationType type, CUmemoryPool pool) {
  CU_UNUSED(type);
  return cuDeviceSetMemPool(location_dev(location), pool);
}

CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hStream) {
  CU_UNUSED(hStream);
  return cuMemAlloc_v2(dptr, bytesize);
}
CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool, CUstream hStream) {
  CU_UNUSED(pool);
  CU_UNUSED(hStream);
  return cuMemAlloc_v2(dptr, bytesize);
}
CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream) {
  CU_UNUSED(hStream);
  return cuMemFree_v2(dptr);
}
