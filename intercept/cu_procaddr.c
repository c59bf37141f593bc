/* cu_procaddr.c — cuGetProcAddress: resolves (name, requested CUDA version) to this driver's function for
 * the newest ABI revision not newer than the request, using the revision table generated from
 * cudaTypedefs.h. Names the fake does not implement resolve to "not found" (logged once with CCSIM_DEBUG).
 * Also the error-string functions and the few entry points that only need a constant answer. */
#include "cu_internal.h"

#include <dlfcn.h>
#include <glib.h>
#include <string.h>

#include "cu_revisions.h"
#include "hack_log.h"
#include "simtime.h"

#define NEWEST_KNOWN_VERSION 13000 /* the newest ABI the CUDA 13.0 runtime inside NCCL 2.28.9 asks for */

static GHashTable *by_name; /* name -> index+1 of its first revision in cu_revisions[] */
static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static atomic_int highest_request;

static void build_index(void) {
  by_name = g_hash_table_new(g_str_hash, g_str_equal);
  for (size_t i = 0; i < cu_revision_count; i++)
    if (!g_hash_table_contains(by_name, cu_revisions[i].name))
      g_hash_table_insert(by_name, (gpointer)cu_revisions[i].name, GSIZE_TO_POINTER(i + 1));
}

static void note_version(int version, const char *symbol) {
  int prev = atomic_load(&highest_request);
  while (version > prev && !atomic_compare_exchange_weak(&highest_request, &prev, version)) {
  }
  if (version > NEWEST_KNOWN_VERSION) {
    char key[64];
    g_snprintf(key, sizeof key, "procaddr-version-%d", version);
    hack_warn_once(key,
                   "newer CUDA runtime detected (requests version %d for %s); this virtual driver implements "
                   "the ABI of CUDA 13.0 (NCCL 2.28.9)",
                   version, symbol);
  }
}

/* `stub`: for a known but unimplemented name, the stub that names it when called. */
static void *resolve(const char *symbol, int version, bool stub) {
  pthread_once(&index_once, build_index);
  gpointer v = g_hash_table_lookup(by_name, symbol);
  if (!v) return NULL;
  size_t first = GPOINTER_TO_SIZE(v) - 1;
  const struct cu_revision *pick = NULL;
  for (size_t i = first; i < cu_revision_count && strcmp(cu_revisions[i].name, symbol) == 0; i++)
    if (cu_revisions[i].version <= version) pick = &cu_revisions[i];
  if (pick && !pick->fn && stub) return (void *)pick->stub;
  return pick ? (void *)pick->fn : NULL;
}

/* Under `ccsim run`, the program's own CUDA runtime gets named stubs for what this driver lacks, so that
 * calling one says which call it was; NCCL's runtime keeps "not found", which it treats as an absent
 * optional feature. */
static bool stub_for_caller(const void *ret) {
  if (!simtime_active()) return false;
  Dl_info info;
  return dladdr(ret, &info) && info.dli_fname && !strstr(info.dli_fname, "libnccl");
}

int cu_unimplemented(const char *name) {
  cu_note_stub(name);
  return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *symbolStatus) {
  CU_UNUSED(flags); /* per-thread-default-stream variants: streams are not real, the same function serves */
  if (!pfn) return CUDA_ERROR_INVALID_VALUE;
  *pfn = NULL;
  if (!symbol || !*symbol) { /* the runtime's first request is an empty probe */
    if (symbolStatus) *symbolStatus = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
  }
  note_version(cudaVersion, symbol);
  void *fn = resolve(symbol, cudaVersion, stub_for_caller(__builtin_return_address(0)));
  if (!fn) {
    if (hack_debug_level >= 1) {
      char what[64];
      g_snprintf(what, sizeof what, "cuGetProcAddress(version %d): not found:", cudaVersion);
      hack_dbg_once(what, symbol);
    }
    if (symbolStatus) *symbolStatus = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
  }
  *pfn = fn;
  if (symbolStatus) *symbolStatus = CU_GET_PROC_ADDRESS_SUCCESS;
  return CUDA_SUCCESS;
}

CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags) {
  return cuGetProcAddress_v2(symbol, pfn, cudaVersion, flags, NULL);
}

/* An entry point the fake cannot carry out was called: always say which (once), and tell `ccsim run`. */
void cu_note_stub(const char *name) {
  hack_warn_once(name, "the virtual GPU driver does not implement %s; the call fails with CUDA_ERROR_NOT_SUPPORTED",
                 name);
  simtime_report("unimplemented", name);
}

/* ---- error strings ---- */
static const struct {
  CUresult code;
  const char *name, *text;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_DEINITIALIZED, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED",
     "pointer does not correspond to a registered memory region"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

CUresult cuGetErrorString(CUresult error, const char **pStr) {
  if (!pStr) return CUDA_ERROR_INVALID_VALUE;
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    if (errors[i].code == error) {
      *pStr = errors[i].text;
      return CUDA_SUCCESS;
    }
  *pStr = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorName(CUresult error, const char **pStr) {
  if (!pStr) return CUDA_ERROR_INVALID_VALUE;
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    if (errors[i].code == error) {
      *pStr = errors[i].name;
      return CUDA_SUCCESS;
    }
  *pStr = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuProfilerStart(void) { return CUDA_SUCCESS; }
CUresult cuProfilerStop(void) { return CUDA_SUCCESS; }

/* Legacy CUDA IPC is not supported; NCCL then uses cuMem handles (the default with this driver). */
CUresult cuIpcGetMemHandle(CUipcMemHandle *pHandle, CUdeviceptr dptr) {
  CU_UNUSED(pHandle);
  CU_UNUSED(dptr);
  return CU_STUB("cuIpcGetMemHandle");
}
CUresult cuIpcOpenMemHandle_v2(CUdeviceptr *pdptr, CUipcMemHandle handle, unsigned int Flags) {
  CU_UNUSED(pdptr);
  CU_UNUSED(handle);
  CU_UNUSED(Flags);
  return CU_STUB("cuIpcOpenMemHandle");
}
CUresult cuIpcCloseMemHandle(CUdeviceptr dptr) {
  CU_UNUSED(dptr);
  return CU_STUB("cuIpcCloseMemHandle");
}
CUresult cuIpcGetEventHandle(CUipcEventHandle *pHandle, CUevent event) {
  CU_UNUSED(pHandle);
  CU_UNUSED(event);
  return CU_STUB("cuIpcGetEventHandle");
}
CUresult cuIpcOpenEventHandle(CUevent *phEvent, CUipcEventHandle handle) {
  CU_UNUSED(phEvent);
  CU_UNUSED(handle);
  return CU_STUB("cuIpcOpenEventHandle");
}
