/* driver_unit.c — unit tests of libhacknccl.so's fake CUDA driver and NVML, without NCCL: ABI revision
 * resolution, private tables, the integrity answer, devices and contexts, VMM double mapping and fd
 * export/import, context-local storage, streams/events/launches, NVML handles. Needs CCSIM_TOPO set to the
 * measured 4x H200 topology (the ctest registration does that). */
#include <cuda.h>
#include <dlfcn.h>
#include <glib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "integrity_hash.h"
#include "platform_hooks.h"

/* NVML entry points of the library (NVML has no header in the CUDA toolkit). */
typedef struct nvml_device *nvmlDevice_t;
int nvmlInit_v2(void);
int nvmlDeviceGetCount_v2(unsigned *count);
int nvmlDeviceGetHandleByIndex(unsigned index, nvmlDevice_t *dev);
int nvmlDeviceGetHandleByPciBusId(const char *busid, nvmlDevice_t *dev);
int nvmlDeviceGetCudaComputeCapability(nvmlDevice_t dev, int *major, int *minor);
int nvmlDeviceGetIndex(nvmlDevice_t dev, unsigned *index);

static const CUuuid uuid_integrity = {{(char)0xd4, 0x08, 0x20, 0x55, (char)0xbd, (char)0xe6, 0x70, 0x4b, (char)0x8d,
                                       0x34, (char)0xba, 0x12, 0x3c, 0x66, (char)0xe1, (char)0xf2}};
static const CUuuid uuid_cudart = {{0x6b, (char)0xd5, (char)0xfb, 0x6c, 0x5b, (char)0xf4, (char)0xe7, 0x4a,
                                    (char)0x89, (char)0x87, (char)0xd9, 0x39, 0x12, (char)0xfd, (char)0x9d, (char)0xf9}};
static const CUuuid uuid_cls = {{(char)0xc6, (char)0x93, 0x33, 0x6e, 0x11, 0x21, (char)0xdf, 0x11, (char)0xa8,
                                 (char)0xc3, 0x68, (char)0xf3, 0x55, (char)0xd8, (char)0x95, (char)0x93}};
static const CUuuid uuid_f8 = {{(char)0xf8, (char)0xcf, (char)0xf9, 0x51, 0x21, 0x46, (char)0x8b, 0x4e, (char)0xb9,
                                (char)0xe2, (char)0xfb, 0x46, (char)0x9e, 0x7c, 0x0d, (char)0xd9}};

static void *sym(const char *name) {
  void *p = dlsym(RTLD_DEFAULT, name);
  g_assert_nonnull(p);
  return p;
}

static void *proc(const char *name, int version, CUresult want) {
  void *fn = (void *)1;
  CUdriverProcAddressQueryResult status = 99;
  CUresult r = cuGetProcAddress(name, &fn, version, 0, &status);
  g_assert_cmpint(r, ==, want);
  if (want == CUDA_SUCCESS) {
    g_assert_cmpint(status, ==, CU_GET_PROC_ADDRESS_SUCCESS);
    g_assert_nonnull(fn);
  } else {
    g_assert_cmpint(status, ==, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
    g_assert_null(fn);
  }
  return fn;
}

static void test_selftest(void) {
  const char *what = NULL;
  g_assert_cmpint(integrity_selftest(&what), ==, 0);
}

static void test_procaddr(void) {
  /* Newest revision not newer than the request; never "_v2 because it exists". */
  g_assert_true(proc("cuCtxGetDevice", 2000, CUDA_SUCCESS) == sym("cuCtxGetDevice"));
  g_assert_true(proc("cuCtxGetDevice", 12090, CUDA_SUCCESS) == sym("cuCtxGetDevice"));
  g_assert_true(proc("cuCtxGetDevice", 13000, CUDA_SUCCESS) == sym("cuCtxGetDevice_v2"));
  g_assert_true(proc("cuCtxSynchronize", 2000, CUDA_SUCCESS) == sym("cuCtxSynchronize"));
  g_assert_true(proc("cuCtxSynchronize", 13000, CUDA_SUCCESS) == sym("cuCtxSynchronize_v2"));
  g_assert_true(proc("cuStreamGetCaptureInfo", 10010, CUDA_SUCCESS) == sym("cuStreamGetCaptureInfo"));
  g_assert_true(proc("cuStreamGetCaptureInfo", 11030, CUDA_SUCCESS) == sym("cuStreamGetCaptureInfo_v2"));
  g_assert_true(proc("cuStreamGetCaptureInfo", 12030, CUDA_SUCCESS) == sym("cuStreamGetCaptureInfo_v3"));
  g_assert_true(proc("cuCtxCreate", 11040, CUDA_SUCCESS) == sym("cuCtxCreate_v3"));
  g_assert_true(proc("cuMemAlloc", 3020, CUDA_SUCCESS) == sym("cuMemAlloc_v2"));
  g_assert_true(proc("cuGetProcAddress", 11030, CUDA_SUCCESS) == sym("cuGetProcAddress"));
  g_assert_true(proc("cuGetProcAddress", 12000, CUDA_SUCCESS) == sym("cuGetProcAddress_v2"));
  g_assert_true(proc("cuDevicePrimaryCtxRelease", 7000, CUDA_SUCCESS) == sym("cuDevicePrimaryCtxRelease"));
  /* The 32-bit ABI of cuMemAlloc is not implemented, nor are unknown names or the empty probe. */
  proc("cuMemAlloc", 2000, CUDA_ERROR_NOT_FOUND);
  proc("cuNoSuchFunction", 13000, CUDA_ERROR_NOT_FOUND);
  proc("", 0, CUDA_ERROR_NOT_FOUND);
  proc("cuGraphicsMapResources", 13000, CUDA_ERROR_NOT_FOUND);
  /* Requested before its first revision. */
  proc("cuLaunchKernelEx", 11000, CUDA_ERROR_NOT_FOUND);
  g_assert_true(proc("cuLaunchKernelEx", 11060, CUDA_SUCCESS) == sym("cuLaunchKernelEx"));
}

static void test_export_tables(void) {
  const void *t = (const void *)1;
  CUuuid unknown;
  memset(&unknown, 0x5a, sizeof unknown);
  g_assert_cmpint(cuGetExportTable(&t, &unknown), ==, CUDA_ERROR_NOT_FOUND);
  g_assert_null(t);
  g_assert_cmpint(cuGetExportTable(&t, &uuid_f8), ==, CUDA_ERROR_NOT_FOUND);
  g_assert_cmpint(cuGetExportTable(&t, &uuid_integrity), ==, CUDA_SUCCESS);
  const uintptr_t *slots = t;
  g_assert_cmpuint(slots[0], ==, 24);
  const void *t2 = NULL;
  g_assert_cmpint(cuGetExportTable(&t2, &uuid_integrity), ==, CUDA_SUCCESS);
  g_assert_true(t == t2); /* fixed addresses: they feed the hash */
}

typedef CUresult (*integrity_fn)(unsigned, uint64_t, uint8_t *);

static void test_integrity_answers(void) {
  g_assert_cmpint(cuInit(0), ==, CUDA_SUCCESS);
  const void *ti = NULL, *tc = NULL;
  g_assert_cmpint(cuGetExportTable(&ti, &uuid_integrity), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuGetExportTable(&tc, &uuid_cudart), ==, CUDA_SUCCESS);
  integrity_fn check = ((integrity_fn const *)ti)[1];
  static const uint8_t mode0[16] = {0x5C, 0x67, 0xCB, 0x03, 0x1C, 0x18, 0x41, 0x33,
                                    0xE8, 0xD1, 0x4C, 0x1F, 0xAA, 0x83, 0xD3, 0x8E};
  uint8_t out[16];
  g_assert_cmpint(check(13000, 0x6a000000, out), ==, CUDA_SUCCESS);
  g_assert_cmpmem(out, 16, mode0, 16);
  g_assert_cmpint(check(13001, 0x6a000000, out), ==, CUDA_SUCCESS);
  g_assert_cmpuint(out[7], ==, 0x18);
  g_assert_cmpmem(out, 7, mode0, 7);

  /* Mode 2 from the values the public API reports, on this thread. */
  int n = 0;
  g_assert_cmpint(cuDeviceGetCount(&n), ==, CUDA_SUCCESS);
  struct integrity_device devs[8];
  g_assert_cmpint(n, <=, 8);
  for (int d = 0; d < n; d++) {
    int v;
    g_assert_cmpint(cuDeviceGetUuid((CUuuid *)devs[d].uuid, d), ==, CUDA_SUCCESS);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, d);
    devs[d].pci_domain = (uint32_t)v;
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d);
    devs[d].pci_bus = (uint32_t)v;
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d);
    devs[d].pci_device = (uint32_t)v;
  }
  struct integrity_input in = {13000, 13002, (uint32_t)getpid(), (uint32_t)(uintptr_t)pthread_self(),
                               (uint64_t)(uintptr_t)tc, (uint64_t)(uintptr_t)ti, (uint64_t)(uintptr_t)check,
                               0x6a000000, n, devs};
  uint8_t want[16];
  integrity_answer(&in, want);
  g_assert_cmpint(check(13002, 0x6a000000, out), ==, CUDA_SUCCESS);
  g_assert_cmpmem(out, 16, want, 16);
}

static void *thread_ctx(void *arg) {
  CUcontext *ctxs = arg, cur = NULL;
  CUdevice dev = -1;
  g_assert_cmpint(cuCtxGetCurrent(&cur), ==, CUDA_SUCCESS);
  g_assert_null(cur); /* the current context is per thread */
  g_assert_cmpint(cuCtxSetCurrent(ctxs[1]), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuCtxGetDevice(&dev), ==, CUDA_SUCCESS);
  g_assert_cmpint(dev, ==, 1);
  return NULL;
}

static void test_devices_and_contexts(void) {
  g_assert_cmpint(cuInit(0), ==, CUDA_SUCCESS);
  int n = 0;
  g_assert_cmpint(cuDeviceGetCount(&n), ==, CUDA_SUCCESS);
  g_assert_cmpint(n, ==, 4);
  static const char *const busids[] = {"0000:00:06.0", "0000:00:07.0", "0000:00:08.0", "0000:00:09.0"};
  CUcontext ctxs[4];
  for (int d = 0; d < n; d++) {
    char bus[32];
    int v;
    g_assert_cmpint(cuDeviceGetPCIBusId(bus, sizeof bus, d), ==, CUDA_SUCCESS);
    g_assert_cmpstr(bus, ==, busids[d]);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d);
    g_assert_cmpint(v, ==, 0);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d);
    g_assert_cmpint(v, ==, 6 + d);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d);
    g_assert_cmpint(v, ==, 9);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, d);
    g_assert_cmpint(v, ==, 1);
    CUdevice byid = -1;
    g_assert_cmpint(cuDeviceGetByPCIBusId(&byid, busids[d]), ==, CUDA_SUCCESS);
    g_assert_cmpint(byid, ==, d);
    g_assert_cmpint(cuDevicePrimaryCtxRetain(&ctxs[d], d), ==, CUDA_SUCCESS);
    /* The runtime's private "get primary context" returns the same handle. */
    const void *tc = NULL;
    g_assert_cmpint(cuGetExportTable(&tc, &uuid_cudart), ==, CUDA_SUCCESS);
    CUresult (*get_primary)(CUcontext *, CUdevice) = ((CUresult(*const *)(CUcontext *, CUdevice))tc)[2];
    CUcontext same = NULL;
    g_assert_cmpint(get_primary(&same, d), ==, CUDA_SUCCESS);
    g_assert_true(same == ctxs[d]);
  }
  int v;
  g_assert_cmpint(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 4), ==, CUDA_ERROR_INVALID_DEVICE);
  g_assert_cmpint(cuCtxSetCurrent(ctxs[2]), ==, CUDA_SUCCESS);
  pthread_t th;
  pthread_create(&th, NULL, thread_ctx, ctxs);
  pthread_join(th, NULL);
  CUdevice dev = -1;
  g_assert_cmpint(cuCtxGetDevice(&dev), ==, CUDA_SUCCESS);
  g_assert_cmpint(dev, ==, 2);
  g_assert_cmpint(cuCtxGetDevice_v2(&dev, ctxs[3]), ==, CUDA_SUCCESS);
  g_assert_cmpint(dev, ==, 3);
  g_assert_cmpint(cuCtxSetCurrent(NULL), ==, CUDA_SUCCESS);
}

static void test_context_local_storage(void) {
  cuInit(0);
  CUcontext c0;
  cuDevicePrimaryCtxRetain(&c0, 0);
  cuCtxSetCurrent(c0);
  const void *t = NULL;
  g_assert_cmpint(cuGetExportTable(&t, &uuid_cls), ==, CUDA_SUCCESS);
  typedef CUresult (*put_fn)(CUcontext, void *, void *, void (*)(CUcontext, void *, void *));
  typedef CUresult (*del_fn)(CUcontext, void *);
  typedef CUresult (*get_fn)(void **, CUcontext, void *);
  put_fn put = ((put_fn const *)t)[0];
  del_fn del = ((del_fn const *)t)[1];
  get_fn get = ((get_fn const *)t)[2];
  int key, value;
  void *out = NULL;
  g_assert_cmpint(get(&out, NULL, &key), !=, CUDA_SUCCESS); /* first get misses */
  g_assert_cmpint(put(NULL, &key, &value, NULL), ==, CUDA_SUCCESS);
  g_assert_cmpint(get(&out, NULL, &key), ==, CUDA_SUCCESS);
  g_assert_true(out == &value);
  g_assert_cmpint(get(&out, c0, &key), ==, CUDA_SUCCESS); /* NULL meant the current context */
  CUcontext c1;
  cuDevicePrimaryCtxRetain(&c1, 1);
  g_assert_cmpint(get(&out, c1, &key), !=, CUDA_SUCCESS);
  g_assert_cmpint(del(NULL, &key), ==, CUDA_SUCCESS);
  g_assert_cmpint(get(&out, NULL, &key), !=, CUDA_SUCCESS);
  cuCtxSetCurrent(NULL);
}

static void test_vmm_double_mapping(void) {
  cuInit(0);
  CUmemAllocationProp prop;
  memset(&prop, 0, sizeof prop);
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = 2;
  size_t gran = 0;
  g_assert_cmpint(cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM), ==, CUDA_SUCCESS);
  CUmemGenericAllocationHandle h, h2, imported;
  g_assert_cmpint(cuMemCreate(&h, gran, &prop, 0), ==, CUDA_SUCCESS);
  CUdeviceptr a, b, c;
  g_assert_cmpint(cuMemAddressReserve(&a, gran, 0, 0, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemAddressReserve(&b, gran, 0, 0, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemAddressReserve(&c, gran, 0, 0, 0), ==, CUDA_SUCCESS);
  g_assert_cmpuint(a % gran, ==, 0);
  g_assert_cmpint(cuMemMap(a, gran, 0, h, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemMap(b, gran, 0, h, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemsetD8(a + 100, 0xab, 10), ==, CUDA_SUCCESS);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)b)[105], ==, 0xab); /* one allocation, two addresses */

  int fd = -1;
  g_assert_cmpint(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0), ==,
                  CUDA_SUCCESS);
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(cuMemImportFromShareableHandle(&imported, (void *)(intptr_t)fd,
                                                 CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
                  ==, CUDA_SUCCESS);
  close(fd); /* as NCCL does right after the import */
  g_assert_cmpint(cuMemMap(c, gran, 0, imported, 0), ==, CUDA_SUCCESS);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)c)[109], ==, 0xab);

  /* Zeroing a large range drops its pages: every mapping of the memory reads zeros, the edges too. */
  memset((void *)(uintptr_t)b, 0x5c, gran);
  g_assert_cmpint(cuMemsetD8(a + 3, 0, gran - 6), ==, CUDA_SUCCESS);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)b)[2], ==, 0x5c);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)b)[3], ==, 0);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)b)[gran / 2], ==, 0);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)c)[gran - 4], ==, 0);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)b)[gran - 3], ==, 0x5c);
  memset((void *)(uintptr_t)(a + 100), 0xab, 10);

  g_assert_cmpint(cuMemRetainAllocationHandle(&h2, (void *)(uintptr_t)(b + 64)), ==, CUDA_SUCCESS);
  g_assert_true(h2 == h);
  CUmemAllocationProp got;
  g_assert_cmpint(cuMemGetAllocationPropertiesFromHandle(&got, h2), ==, CUDA_SUCCESS);
  g_assert_cmpint(got.location.id, ==, 2);
  CUdeviceptr base = 0;
  size_t size = 0;
  g_assert_cmpint(cuMemGetAddressRange(&base, &size, b + 4096), ==, CUDA_SUCCESS);
  g_assert_true(base == b);
  g_assert_cmpuint(size, ==, gran);
  int ordinal = -1;
  g_assert_cmpint(cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, a + 8), ==, CUDA_SUCCESS);
  g_assert_cmpint(ordinal, ==, 2);

  g_assert_cmpint(cuMemRelease(h2), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemRelease(h), ==, CUDA_SUCCESS); /* mappings keep it alive */
  g_assert_cmpuint(((unsigned char *)(uintptr_t)a)[100], ==, 0xab);
  g_assert_cmpint(cuMemRelease(imported), ==, CUDA_SUCCESS);
  for (CUdeviceptr *p = (CUdeviceptr[]){a, b, c}, i = 0; i < 3; i++) {
    g_assert_cmpint(cuMemUnmap(p[i], gran), ==, CUDA_SUCCESS);
    g_assert_cmpint(cuMemAddressFree(p[i], gran), ==, CUDA_SUCCESS);
  }
  g_assert_cmpint(cuMemGetAddressRange(&base, &size, a), ==, CUDA_ERROR_NOT_FOUND);
  g_assert_cmpint(cuMemUnmap(a, gran), ==, CUDA_ERROR_INVALID_VALUE);

  /* Freeing an address range that still has a mapping drops the mapping and its reference too. */
  g_assert_cmpint(cuMemCreate(&h, 2 * gran, &prop, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemAddressReserve(&a, 2 * gran, 0, 0, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemMap(a, 2 * gran, 0, h, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemRelease(h), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemAddressFree(a, 2 * gran), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemGetAddressRange(&base, &size, a + 8), ==, CUDA_ERROR_NOT_FOUND);
  g_assert_cmpint(cuMemAddressFree(a, 2 * gran), ==, CUDA_ERROR_INVALID_VALUE);

  /* A range mapped in two pieces is unmapped by one call over the whole range. */
  g_assert_cmpint(cuMemCreate(&h, gran, &prop, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemCreate(&h2, gran, &prop, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemAddressReserve(&a, 2 * gran, 0, 0, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemMap(a, gran, 0, h, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemMap(a + gran, gran, 0, h2, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemGetAddressRange(&base, &size, a + gran + 5), ==, CUDA_SUCCESS);
  g_assert_true(base == a + gran);
  g_assert_cmpint(cuMemRelease(h), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemRelease(h2), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemUnmap(a, 2 * gran), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemGetAddressRange(&base, &size, a + gran + 5), ==, CUDA_ERROR_NOT_FOUND);
  g_assert_cmpint(cuMemAddressFree(a, 2 * gran), ==, CUDA_SUCCESS);
}

static void test_classic_memory(void) {
  cuInit(0);
  CUcontext c;
  cuDevicePrimaryCtxRetain(&c, 3);
  cuCtxSetCurrent(c);
  CUdeviceptr p = 0;
  g_assert_cmpint(cuMemAlloc(&p, 1000), ==, CUDA_SUCCESS);
  const char msg[] = "copied to the device";
  g_assert_cmpint(cuMemcpyHtoD(p + 10, msg, sizeof msg), ==, CUDA_SUCCESS);
  g_assert_cmpstr((const char *)(uintptr_t)(p + 10), ==, msg); /* device memory is host-readable */
  CUdeviceptr big = 0;
  g_assert_cmpint(cuMemAlloc(&big, 4 << 20), ==, CUDA_SUCCESS);
  memset((void *)(uintptr_t)big, 0x77, 4 << 20);
  g_assert_cmpint(cuMemsetD32(big + 4, 0, (4 << 20) / 4 - 2), ==, CUDA_SUCCESS);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)big)[3], ==, 0x77);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)big)[4], ==, 0);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)big)[(2 << 20) + 5], ==, 0);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)big)[(4 << 20) - 5], ==, 0);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)big)[(4 << 20) - 4], ==, 0x77);
  g_assert_cmpint(cuMemFree(big), ==, CUDA_SUCCESS);
  int ordinal = -1;
  g_assert_cmpint(cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p + 999), ==, CUDA_SUCCESS);
  g_assert_cmpint(ordinal, ==, 3);
  g_assert_cmpint(cuMemFree(0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemFree(p + 1), ==, CUDA_ERROR_INVALID_VALUE);
  g_assert_cmpint(cuMemFree(p), ==, CUDA_SUCCESS);
  void *h = NULL;
  g_assert_cmpint(cuMemHostAlloc(&h, 4096, 0), ==, CUDA_SUCCESS);
  /* where memory lies, as the capture asks it of NCCL's connection buffers (SHM vs P2P) */
  CUdeviceptr dev = 0;
  g_assert_cmpint(cuMemAlloc(&dev, 4096), ==, CUDA_SUCCESS);
  g_assert_cmpint(hack_mem_is_host(h), ==, 1);
  g_assert_cmpint(hack_mem_is_host((void *)(uintptr_t)(dev + 10)), ==, 0);
  g_assert_cmpint(hack_mem_is_host(msg), ==, -1);
  g_assert_cmpint(cuMemFree(dev), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemFreeHost(h), ==, CUDA_SUCCESS);

  /* Device-to-device copies move data below 64 MiB; from 64 MiB (user data: a one-rank collective's
   * buffer) they are not carried out, so a large one-GPU call does not fault in host memory. */
  size_t large = (size_t)64 << 20;
  CUdeviceptr src = 0, dst = 0;
  g_assert_cmpint(cuMemAlloc(&src, large), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemAlloc(&dst, large), ==, CUDA_SUCCESS);
  memset((void *)(uintptr_t)src, 0x5a, 4096);
  g_assert_cmpint(cuMemcpyAsync(dst, src, 4096, NULL), ==, CUDA_SUCCESS);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)dst)[4095], ==, 0x5a);
  memset((void *)(uintptr_t)src, 0x3c, 4096);
  g_assert_cmpint(cuMemcpyAsync(dst, src, large, NULL), ==, CUDA_SUCCESS);
  g_assert_cmpuint(((unsigned char *)(uintptr_t)dst)[0], ==, 0x5a);
  g_assert_cmpint(cuMemFree(src), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuMemFree(dst), ==, CUDA_SUCCESS);
  cuCtxSetCurrent(NULL);
}

static void test_streams_events_launch(void) {
  cuInit(0);
  CUstream s;
  CUevent e1, e2;
  g_assert_cmpint(cuStreamCreate(&s, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuEventCreate(&e1, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuEventCreate(&e2, 0), ==, CUDA_SUCCESS);
  float ms = -1;
  g_assert_cmpint(cuEventElapsedTime(&ms, e1, e2), ==, CUDA_ERROR_NOT_READY);
  g_assert_cmpint(cuEventRecord(e1, s), ==, CUDA_SUCCESS);
  CUlibrary lib;
  CUkernel k;
  CUfunction f;
  g_assert_cmpint(cuLibraryLoadData(&lib, "", NULL, NULL, 0, NULL, NULL, 0), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuLibraryGetKernel(&k, lib, "ncclDevKernel_Test"), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuKernelGetFunction(&f, k), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuKernelSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 82240, k, 1), ==,
                  CUDA_SUCCESS);
  int v = 0;
  g_assert_cmpint(cuKernelGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, k, 1), ==,
                  CUDA_SUCCESS);
  g_assert_cmpint(v, ==, 82240);
  const char *name = NULL;
  g_assert_cmpint(cuFuncGetName(&name, f), ==, CUDA_SUCCESS);
  g_assert_cmpstr(name, ==, "ncclDevKernel_Test");
  char blob[64] = {0};
  size_t blob_size = sizeof blob;
  void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, blob, CU_LAUNCH_PARAM_BUFFER_SIZE, &blob_size,
                   CU_LAUNCH_PARAM_END};
  CUlaunchConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.gridDimX = cfg.gridDimY = cfg.gridDimZ = 1;
  cfg.blockDimX = 128;
  cfg.blockDimY = cfg.blockDimZ = 1;
  cfg.hStream = s;
  g_assert_cmpint(cuLaunchKernelEx(&cfg, f, NULL, extra), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuLaunchKernelEx(&cfg, (CUfunction)blob, NULL, extra), ==, CUDA_ERROR_INVALID_HANDLE);
  g_assert_cmpint(cuEventRecord(e2, s), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuStreamSynchronize(s), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuEventElapsedTime(&ms, e1, e2), ==, CUDA_SUCCESS);
  g_assert_cmpfloat(ms, >=, 0);
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_ACTIVE;
  g_assert_cmpint(cuStreamGetCaptureInfo(s, &st, NULL, NULL, NULL, NULL, NULL), ==, CUDA_SUCCESS);
  g_assert_cmpint(st, ==, CU_STREAM_CAPTURE_STATUS_NONE);
  g_assert_cmpint(cuEventDestroy(e1), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuEventDestroy(e2), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuStreamDestroy(s), ==, CUDA_SUCCESS);
  g_assert_cmpint(cuLibraryUnload(lib), ==, CUDA_SUCCESS);
}

static void test_nvml(void) {
  g_assert_cmpint(nvmlInit_v2(), ==, 0);
  unsigned n = 0;
  g_assert_cmpint(nvmlDeviceGetCount_v2(&n), ==, 0);
  g_assert_cmpuint(n, ==, 4);
  nvmlDevice_t by_index, by_bus;
  g_assert_cmpint(nvmlDeviceGetHandleByIndex(2, &by_index), ==, 0);
  g_assert_cmpint(nvmlDeviceGetHandleByPciBusId("0000:00:08.0", &by_bus), ==, 0);
  g_assert_true(by_index == by_bus); /* NCCL compares handles */
  g_assert_cmpint(nvmlDeviceGetHandleByPciBusId("00000000:00:08.0", &by_bus), ==, 0);
  g_assert_true(by_index == by_bus);
  g_assert_cmpint(nvmlDeviceGetHandleByPciBusId("0000:00:1F.0", &by_bus), !=, 0);
  int major = 0, minor = -1;
  g_assert_cmpint(nvmlDeviceGetCudaComputeCapability(by_index, &major, &minor), ==, 0);
  g_assert_cmpint(major, ==, 9);
  g_assert_cmpint(minor, ==, 0);
  unsigned idx = 99;
  g_assert_cmpint(nvmlDeviceGetIndex(by_index, &idx), ==, 0);
  g_assert_cmpuint(idx, ==, 2);
}

/* The version guard: each mismatch names what was found and what is supported, on stderr. */
static void test_version_guard(void) {
  if (g_test_subprocess()) {
    cuInit(0);
    const void *ti = NULL, *tc = NULL;
    cuGetExportTable(&ti, &uuid_integrity);
    cuGetExportTable(&tc, &uuid_cudart);
    uint8_t out[16];
    g_assert_cmpint(((integrity_fn const *)ti)[1](12092, 0x6a000000, out), ==, CUDA_SUCCESS);
    CUresult (*slot1)(void) = ((CUresult(*const *)(void))tc)[1];
    g_assert_cmpint(slot1(), !=, CUDA_SUCCESS);
    void *fn = NULL;
    g_assert_cmpint(cuGetProcAddress("cuInit", &fn, 13010, 0, NULL), ==, CUDA_SUCCESS);
    CUuuid unknown;
    memset(&unknown, 0x11, sizeof unknown);
    g_assert_cmpint(cuGetExportTable(&ti, &unknown), ==, CUDA_ERROR_NOT_FOUND);
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stderr("*CUDA runtime 12.9 inside NCCL is not supported (expected 13.0*");
  g_test_trap_assert_stderr("*private table 6BD5FB6C-5BF4-E74A-8987-D93912FD9DF9 (runtime interface) slot 1*");
  g_test_trap_assert_stderr("*newer CUDA runtime detected (requests version 13010 for cuInit)*");
  g_test_trap_assert_stderr("*unknown private runtime interface 11111111-1111-1111-1111-111111111111*");
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/intercept/integrity/selftest", test_selftest);
  g_test_add_func("/intercept/procaddr/revisions", test_procaddr);
  g_test_add_func("/intercept/export/tables", test_export_tables);
  g_test_add_func("/intercept/export/integrity", test_integrity_answers);
  g_test_add_func("/intercept/export/version-guard", test_version_guard);
  g_test_add_func("/intercept/device/contexts", test_devices_and_contexts);
  g_test_add_func("/intercept/export/context-local-storage", test_context_local_storage);
  g_test_add_func("/intercept/memory/vmm", test_vmm_double_mapping);
  g_test_add_func("/intercept/memory/classic", test_classic_memory);
  g_test_add_func("/intercept/exec/streams-events-launch", test_streams_events_launch);
  g_test_add_func("/intercept/nvml/handles", test_nvml);
  return g_test_run();
}
