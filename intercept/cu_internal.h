/* cu_internal.h — state shared by the fake CUDA driver's source files (not a public interface).
 *
 * The driver's functions carry the real driver's exported names and prototypes: cuda.h is included in
 * its "internal" mode, which declares every ABI revision under its own symbol name (cuCtxGetDevice and
 * cuCtxGetDevice_v2, cuMemAlloc and cuMemAlloc_v2, ...), so the compiler checks each implementation.
 */
#ifndef CCSIM_INTERCEPT_CU_INTERNAL_H
#define CCSIM_INTERCEPT_CU_INTERNAL_H

#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>
#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vplat.h"

#define CU_DRIVER_VERSION 13000 /* the CUDA 13.0 runtime inside NCCL 2.28.9 refuses anything lower */

#define CU_UNUSED(x) (void)(x)

/* ---- contexts (cu_context.c) ---- */
#define VCTX_MAGIC 0x43545856u /* "VXTC" */
#define CLS_MAX 32

struct cls_entry {
  void *key;
  void *value;
  void (*dtor)(CUcontext, void *, void *);
};

struct vctx {
  uint32_t magic;
  int dev;
  bool primary;
  int retains;               /* primary context retain count */
  unsigned flags;
  pthread_mutex_t cls_lock;  /* guards cls[] writers; readers use ncls with acquire */
  atomic_int ncls;
  struct cls_entry cls[CLS_MAX];
};

struct vctx *cu_primary(int dev);          /* stable primary context of device dev (NULL if out of range) */
struct vctx *cu_current(void);             /* the calling thread's current context or NULL */
struct vctx *cu_ctx_or_current(CUcontext c); /* c when valid, else (c == NULL) the current one */
int cu_current_dev(void);                  /* current context's device, 0 when none is current */
bool cu_ready(void);                       /* cuInit done and devices present */
CUresult cu_check_dev(CUdevice d);
CUresult cls_get(void **value, CUcontext ctx, void *key);
CUresult cls_put(CUcontext ctx, void *key, void *value, void (*dtor)(CUcontext, void *, void *));
CUresult cls_delete(CUcontext ctx, void *key);

/* ---- memory (cu_memory.c, cu_vmm.c) ---- */
enum mem_kind { MEM_DEVICE, MEM_HOST, MEM_HOST_REGISTERED, MEM_MANAGED, MEM_VMM };

struct vmm_handle {
  uint32_t magic;
  int fd;                    /* memfd backing the allocation (or the multicast object) */
  size_t size;
  CUmemAllocationProp prop;
  bool multicast;
  atomic_int refs;           /* cuMemCreate/Import/Retain + one per live mapping */
};

struct mem_range {
  uintptr_t base;
  size_t size;
  enum mem_kind kind;
  int dev;                   /* owning device, -1 for host memory */
  uint64_t id;               /* buffer id, unique in the process */
  struct vmm_handle *handle; /* MEM_VMM: what is mapped there */
  size_t handle_offset;      /* MEM_VMM: offset of base within the handle's memory */
};

void mem_insert(const struct mem_range *r);
bool mem_find(uintptr_t addr, struct mem_range *out);     /* range containing addr */
bool mem_remove(uintptr_t base, struct mem_range *out);   /* by exact base */
/* Removes every range starting in [lo, hi); returns them in a GArray of struct mem_range (caller frees). */
GArray *mem_remove_within(uintptr_t lo, uintptr_t hi);
uint64_t mem_next_id(void);
void vmm_handle_unref(struct vmm_handle *h);

/* ---- misc ---- */
void cu_note_stub(const char *name); /* a call into an entry point the fake does not support */
#define CU_STUB(name) (cu_note_stub(name), CUDA_ERROR_NOT_SUPPORTED)

/* The private-table entry point (cu_export.c). */
CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId);

#endif
