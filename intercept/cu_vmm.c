/* cu_vmm.c — fake driver virtual memory management and multicast objects. Each physical allocation is a
 * memfd, so it can be mapped at several addresses (NCCL maps peers' buffers) and exported as a real file
 * descriptor that NCCL passes between ranks over Unix sockets. Multicast objects are memfds too; binding
 * is bookkeeping only (stores to a multicast address do not reach the bound buffers). */
#include "cu_internal.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hack_log.h"

#define VMM_MAGIC 0x484d4d56u
#define GRANULARITY ((size_t)2 << 20)

static pthread_mutex_t vmm_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *reservations; /* base -> size */
static GHashTable *by_inode;     /* inode -> CUmemAllocationProp* of handles created here (for imports) */

static struct vmm_handle *handle_of(CUmemGenericAllocationHandle h) {
  struct vmm_handle *v = (struct vmm_handle *)(uintptr_t)h;
  return v && v->magic == VMM_MAGIC ? v : NULL;
}

static void handle_ref(struct vmm_handle *h) { atomic_fetch_add(&h->refs, 1); }

void vmm_handle_unref(struct vmm_handle *h) {
  if (atomic_fetch_sub(&h->refs, 1) != 1) return;
  h->magic = 0;
  close(h->fd);
  free(h);
}

static CUresult new_handle(int fd, size_t size, const CUmemAllocationProp *prop, bool multicast,
                           CUmemGenericAllocationHandle *out) {
  struct vmm_handle *h = calloc(1, sizeof *h);
  if (!h) return CUDA_ERROR_OUT_OF_MEMORY;
  h->magic = VMM_MAGIC;
  h->fd = fd;
  h->size = size;
  if (prop) h->prop = *prop;
  h->multicast = multicast;
  atomic_store(&h->refs, 1);
  *out = (CUmemGenericAllocationHandle)(uintptr_t)h;
  return CUDA_SUCCESS;
}

static CUresult memfd_of_size(size_t size, const char *name, int *fd_out) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    hack_err("memfd_create failed: %s (raise the open-files limit, ulimit -n)", strerror(errno));
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    close(fd);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *fd_out = fd;
  return CUDA_SUCCESS;
}

static void remember_inode(int fd, const CUmemAllocationProp *prop) {
  struct stat st;
  if (fstat(fd, &st)) return;
  pthread_mutex_lock(&vmm_lock);
  if (!by_inode) by_inode = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  gint64 *key = g_new(gint64, 1);
  *key = (gint64)st.st_ino;
  g_hash_table_replace(by_inode, key, g_memdup2(prop, sizeof *prop));
  pthread_mutex_unlock(&vmm_lock);
}

CUresult cuMemGetAllocationGranularity(size_t *granularity, const CUmemAllocationProp *prop,
                                       CUmemAllocationGranularity_flags option) {
  CU_UNUSED(prop);
  CU_UNUSED(option);
  if (!granularity) return CUDA_ERROR_INVALID_VALUE;
  *granularity = GRANULARITY;
  return CUDA_SUCCESS;
}

CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size, const CUmemAllocationProp *prop,
                     unsigned long long flags) {
  CU_UNUSED(flags);
  if (!handle || !prop || !size) return CUDA_ERROR_INVALID_VALUE;
  if (prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE && cu_check_dev(prop->location.id))
    return CUDA_ERROR_INVALID_DEVICE;
  int fd;
  CUresult r = memfd_of_size(size, "ccsim-vmm", &fd);
  if (r) return r;
  remember_inode(fd, prop);
  return new_handle(fd, size, prop, false, handle);
}

CUresult cuMemRelease(CUmemGenericAllocationHandle handle) {
  struct vmm_handle *h = handle_of(handle);
  if (!h) return CUDA_ERROR_INVALID_VALUE;
  vmm_handle_unref(h);
  return CUDA_SUCCESS;
}

CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
                             unsigned long long flags) {
  CU_UNUSED(addr);
  CU_UNUSED(flags);
  if (!ptr || !size) return CUDA_ERROR_INVALID_VALUE;
  size_t align = alignment > GRANULARITY ? alignment : GRANULARITY;
  size_t span = size + align;
  /* Inaccessible until mapped; over-reserve, then trim to the alignment. */
  uint8_t *p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  uintptr_t base = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = base - (uintptr_t)p, tail = span - head - size;
  if (head) munmap(p, head);
  if (tail) munmap((void *)(base + size), tail);
  pthread_mutex_lock(&vmm_lock);
  if (!reservations) reservations = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_hash_table_insert(reservations, (gpointer)base, (gpointer)size);
  pthread_mutex_unlock(&vmm_lock);
  *ptr = (CUdeviceptr)base;
  return CUDA_SUCCESS;
}

CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  pthread_mutex_lock(&vmm_lock);
  gboolean known = reservations && g_hash_table_remove(reservations, (gpointer)(uintptr_t)ptr);
  pthread_mutex_unlock(&vmm_lock);
  if (!known) return CUDA_ERROR_INVALID_VALUE;
  /* Mappings still in the range go with it (the real driver requires them unmapped first; be forgiving). */
  GArray *left = mem_remove_within((uintptr_t)ptr, (uintptr_t)ptr + size);
  for (guint i = 0; i < left->len; i++) {
    struct mem_range *r = &g_array_index(left, struct mem_range, i);
    if (r->kind == MEM_VMM) vmm_handle_unref(r->handle);
  }
  g_array_free(left, TRUE);
  munmap((void *)(uintptr_t)ptr, size);
  return CUDA_SUCCESS;
}

CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                  unsigned long long flags) {
  CU_UNUSED(flags);
  struct vmm_handle *h = handle_of(handle);
  if (!h || !ptr || !size || offset + size > h->size) return CUDA_ERROR_INVALID_VALUE;
  void *p = mmap((void *)(uintptr_t)ptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, h->fd, (off_t)offset);
  if (p == MAP_FAILED) {
    hack_err("cuMemMap: mmap of %zu bytes failed: %s", size, strerror(errno));
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  handle_ref(h);
  int dev = h->prop.location.type == CU_MEM_LOCATION_TYPE_DEVICE ? h->prop.location.id : -1;
  struct mem_range r = {(uintptr_t)ptr, size, MEM_VMM, dev, mem_next_id(), h, offset};
  mem_insert(&r);
  return CUDA_SUCCESS;
}

/* Unmaps every mapping in [ptr, ptr + size): a range may have been mapped piece by piece. */
CUresult cuMemUnmap(CUdeviceptr ptr, size_t size) {
  struct mem_range first;
  if (!size || !mem_find((uintptr_t)ptr, &first) || first.kind != MEM_VMM || first.base != (uintptr_t)ptr)
    return CUDA_ERROR_INVALID_VALUE;
  GArray *gone = mem_remove_within((uintptr_t)ptr, (uintptr_t)ptr + size);
  /* Back to an inaccessible reservation, which cuMemAddressFree releases later. */
  mmap((void *)(uintptr_t)ptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  for (guint i = 0; i < gone->len; i++) {
    struct mem_range *r = &g_array_index(gone, struct mem_range, i);
    if (r->kind == MEM_VMM) vmm_handle_unref(r->handle);
  }
  g_array_free(gone, TRUE);
  return CUDA_SUCCESS;
}

CUresult cuMemMapArrayAsync(CUarrayMapInfo *mapInfoList, unsigned int count, CUstream hStream) {
  CU_UNUSED(mapInfoList);
  CU_UNUSED(count);
  CU_UNUSED(hStream);
  return CU_STUB("cuMemMapArrayAsync");
}

CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc, size_t count) {
  CU_UNUSED(ptr);
  CU_UNUSED(size);
  CU_UNUSED(desc);
  CU_UNUSED(count);
  return CUDA_SUCCESS;
}

CUresult cuMemGetAccess(unsigned long long *flags, const CUmemLocation *location, CUdeviceptr ptr) {
  CU_UNUSED(location);
  CU_UNUSED(ptr);
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  *flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  return CUDA_SUCCESS;
}

CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr) {
  struct mem_range r;
  if (!handle || !mem_find((uintptr_t)addr, &r) || r.kind != MEM_VMM) return CUDA_ERROR_INVALID_VALUE;
  handle_ref(r.handle);
  *handle = (CUmemGenericAllocationHandle)(uintptr_t)r.handle;
  return CUDA_SUCCESS;
}

CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop, CUmemGenericAllocationHandle handle) {
  struct vmm_handle *h = handle_of(handle);
  if (!h || !prop) return CUDA_ERROR_INVALID_VALUE;
  *prop = h->prop;
  return CUDA_SUCCESS;
}

CUresult cuMemExportToShareableHandle(void *shareableHandle, CUmemGenericAllocationHandle handle,
                                      CUmemAllocationHandleType handleType, unsigned long long flags) {
  CU_UNUSED(flags);
  struct vmm_handle *h = handle_of(handle);
  if (!h || !shareableHandle) return CUDA_ERROR_INVALID_VALUE;
  if (handleType != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) return CUDA_ERROR_NOT_SUPPORTED;
  int fd = dup(h->fd);
  if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  *(int *)shareableHandle = fd;
  return CUDA_SUCCESS;
}

/* The descriptor arrives by value, cast to a pointer; the caller closes it afterwards, so keep a dup. */
CUresult cuMemImportFromShareableHandle(CUmemGenericAllocationHandle *handle, void *osHandle,
                                        CUmemAllocationHandleType shHandleType) {
  if (!handle) return CUDA_ERROR_INVALID_VALUE;
  if (shHandleType != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) return CUDA_ERROR_NOT_SUPPORTED;
  int fd = dup((int)(intptr_t)osHandle);
  if (fd < 0) return CUDA_ERROR_INVALID_VALUE;
  struct stat st;
  if (fstat(fd, &st)) {
    close(fd);
    return CUDA_ERROR_INVALID_VALUE;
  }
  CUmemAllocationProp prop;
  memset(&prop, 0, sizeof prop);
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  pthread_mutex_lock(&vmm_lock);
  gint64 ino = (gint64)st.st_ino;
  CUmemAllocationProp *known = by_inode ? g_hash_table_lookup(by_inode, &ino) : NULL;
  if (known) prop = *known;
  pthread_mutex_unlock(&vmm_lock);
  return new_handle(fd, (size_t)st.st_size, &prop, false, handle);
}

CUresult cuMemGetHandleForAddressRange(void *handle, CUdeviceptr dptr, size_t size, CUmemRangeHandleType handleType,
                                       unsigned long long flags) {
  CU_UNUSED(handle); CU_UNUSED(dptr); CU_UNUSED(size); CU_UNUSED(handleType); CU_UNUSED(flags);
  return CU_STUB("cuMemGetHandleForAddressRange");
}

/* ---- multicast ---- */

CUresult cuMulticastGetGranularity(size_t *granularity, const CUmulticastObjectProp *prop,
                                   CUmulticastGranularity_flags option) {
  CU_UNUSED(prop);
  CU_UNUSED(option);
  if (!granularity) return CUDA_ERROR_INVALID_VALUE;
  *granularity = GRANULARITY;
  return CUDA_SUCCESS;
}

CUresult cuMulticastCreate(CUmemGenericAllocationHandle *mcHandle, const CUmulticastObjectProp *prop) {
  if (!mcHandle || !prop || !prop->size) return CUDA_ERROR_INVALID_VALUE;
  int fd;
  CUresult r = memfd_of_size(prop->size, "ccsim-multicast", &fd);
  if (r) return r;
  CUmemAllocationProp ap;
  memset(&ap, 0, sizeof ap);
  ap.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  ap.requestedHandleTypes = (CUmemAllocationHandleType)prop->handleTypes;
  ap.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  ap.location.id = cu_current_dev();
  remember_inode(fd, &ap);
  return new_handle(fd, prop->size, &ap, true, mcHandle);
}

CUresult cuMulticastAddDevice(CUmemGenericAllocationHandle mcHandle, CUdevice dev) {
  if (!handle_of(mcHandle)) return CUDA_ERROR_INVALID_VALUE;
  return cu_check_dev(dev);
}

CUresult cuMulticastBindMem(CUmemGenericAllocationHandle mcHandle, size_t mcOffset,
                            CUmemGenericAllocationHandle memHandle, size_t memOffset, size_t size,
                            unsigned long long flags) {
  CU_UNUSED(mcOffset); CU_UNUSED(memOffset); CU_UNUSED(size); CU_UNUSED(flags);
  return handle_of(mcHandle) && handle_of(memHandle) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMulticastBindAddr(CUmemGenericAllocationHandle mcHandle, size_t mcOffset, CUdeviceptr memptr, size_t size,
                             unsigned long long flags) {
  CU_UNUSED(mcOffset); CU_UNUSED(memptr); CU_UNUSED(size); CU_UNUSED(flags);
  return handle_of(mcHandle) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMulticastUnbind(CUmemGenericAllocationHandle mcHandle, CUdevice dev, size_t mcOffset, size_t size) {
  CU_UNUSED(dev); CU_UNUSED(mcOffset); CU_UNUSED(size);
  return handle_of(mcHandle) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
