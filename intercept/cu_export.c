/* cu_export.c — the private "export tables" the CUDA runtime inside NCCL asks the driver for
 * (cuGetExportTable), including its integrity check. UUIDs and slot layouts are those of the CUDA 13.0
 * runtime (documented publicly by the ZLUDA project); every slot the runtime is not known to call is a
 * distinct function that names its table and slot, so a layout change fails loudly, not with a crash. */
#include "cu_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hack_log.h"
#include "integrity_hash.h"

typedef void *slot_t;

static const char *const table_names[] = {
    "6BD5FB6C-5BF4-E74A-8987-D93912FD9DF9 (runtime interface)",
    "A094798C-2E74-2E74-93F2-0800200C0A66 (tools callback hooks)",
    "42D85A81-23F6-CB47-8298-F6E78A3AECDC (tools TLS)",
    "C693336E-1121-DF11-A8C3-68F355D89593 (context-local storage)",
    "263E8860-7CD2-6143-92F6-BBD5006DFA7E (context checks)",
    "D4082055-BDE6-704B-8D34-BA123C66E1F2 (integrity check)"};
enum { T_CUDART, T_HOOKS, T_TLS, T_CLS, T_CHECKS, T_INTEGRITY };

static CUresult loud_slot(int table, int slot) {
  hack_err("CUDA runtime called private table %s slot %d, which this virtual driver does not implement "
           "(unsupported runtime layout? this platform supports the CUDA 13.0 runtime in NCCL 2.28.9)",
           table_names[table], slot);
  return CUDA_ERROR_NOT_SUPPORTED;
}

/* One distinct function per unimplemented slot, so the message names exactly what was called. */
#define LOUD(t, s) \
  static CUresult loud_##t##_##s(void) { return loud_slot(t, s); }
LOUD(T_CUDART, 1) LOUD(T_CUDART, 3) LOUD(T_CUDART, 4) LOUD(T_CUDART, 5) LOUD(T_CUDART, 6) LOUD(T_CUDART, 7)
LOUD(T_CUDART, 8) LOUD(T_CUDART, 9) LOUD(T_CUDART, 10) LOUD(T_CUDART, 11) LOUD(T_CUDART, 12)
LOUD(T_HOOKS, 3) LOUD(T_HOOKS, 5)
LOUD(T_TLS, 1) LOUD(T_TLS, 3)
LOUD(T_CLS, 3)
LOUD(T_CHECKS, 1)
LOUD(T_INTEGRITY, 2)

/* ---- 6BD5FB6C: runtime interface ---- */
static CUresult cudart_get_primary_ctx(CUcontext *pctx, CUdevice dev) {
  struct vctx *c = cu_primary(dev);
  if (!pctx || !c) return CUDA_ERROR_INVALID_DEVICE;
  *pctx = (CUcontext)c;
  return CUDA_SUCCESS;
}

static slot_t cudart_table[13] = {
    (slot_t)(uintptr_t)(13 * 8), (slot_t)loud_T_CUDART_1, (slot_t)cudart_get_primary_ctx, (slot_t)loud_T_CUDART_3,
    (slot_t)loud_T_CUDART_4, (slot_t)loud_T_CUDART_5, (slot_t)loud_T_CUDART_6, (slot_t)loud_T_CUDART_7,
    (slot_t)loud_T_CUDART_8, (slot_t)loud_T_CUDART_9, (slot_t)loud_T_CUDART_10, (slot_t)loud_T_CUDART_11,
    (slot_t)loud_T_CUDART_12};

/* ---- A094798C: tools runtime callback hooks ---- */
static uint64_t hooks_buffer2[1024];
static uint8_t hooks_buffer6[14];

/* Per-API enter/exit notifications; nothing to do, but they must exist (NULL crashes the runtime). */
static CUresult hooks_api_enter(void *a, void *b, void *c, void *d) {
  CU_UNUSED(a); CU_UNUSED(b); CU_UNUSED(c); CU_UNUSED(d);
  return CUDA_SUCCESS;
}
static CUresult hooks_api_exit(void *a, void *b, void *c, void *d) {
  CU_UNUSED(a); CU_UNUSED(b); CU_UNUSED(c); CU_UNUSED(d);
  return CUDA_SUCCESS;
}
static void hooks_get_buffer2(void **buffer, size_t *size) {
  *buffer = hooks_buffer2;
  *size = 1024;
}
static void hooks_get_buffer6(void **buffer, size_t *size) {
  *buffer = hooks_buffer6;
  *size = sizeof hooks_buffer6;
}

static slot_t hooks_table[7] = {(slot_t)(uintptr_t)(7 * 8), (slot_t)hooks_api_enter,  (slot_t)hooks_get_buffer2,
                                (slot_t)loud_T_HOOKS_3,     (slot_t)hooks_api_exit,   (slot_t)loud_T_HOOKS_5,
                                (slot_t)hooks_get_buffer6};

/* ---- 42D85A81: tools TLS ---- */
static CUresult tls_current(void **word) {
  if (word) *word = cu_current();
  return CUDA_SUCCESS;
}
static slot_t tls_table[4] = {(slot_t)(uintptr_t)(4 * 8), (slot_t)loud_T_TLS_1, (slot_t)tls_current,
                              (slot_t)loud_T_TLS_3};

/* ---- C693336E: context-local storage (no size slot) ---- */
static CUresult cls_put_slot(CUcontext ctx, void *key, void *value, void (*dtor)(CUcontext, void *, void *)) {
  return cls_put(ctx, key, value, dtor);
}
static CUresult cls_delete_slot(CUcontext ctx, void *key) { return cls_delete(ctx, key); }
static CUresult cls_get_slot(void **value, CUcontext ctx, void *key) { return cls_get(value, ctx, key); }
static slot_t cls_table[4] = {(slot_t)cls_put_slot, (slot_t)cls_delete_slot, (slot_t)cls_get_slot,
                              (slot_t)loud_T_CLS_3};

/* ---- 263E8860: context checks ---- */
static CUresult checks_ctx_info(CUcontext ctx, unsigned *out_flag, const void **out_ptr) {
  CU_UNUSED(ctx);
  if (out_flag) *out_flag = 0;
  if (out_ptr) *out_ptr = NULL;
  return CUDA_SUCCESS;
}
static unsigned checks_zero(void) { return 0; }
static slot_t checks_table[4] = {(slot_t)(uintptr_t)(4 * 8), (slot_t)loud_T_CHECKS_1, (slot_t)checks_ctx_info,
                                 (slot_t)checks_zero};

/* ---- D4082055: integrity check ---- */
static CUresult integrity_check(unsigned version, uint64_t unix_seconds, uint8_t result[16]);
static slot_t integrity_table[3] = {(slot_t)(uintptr_t)(3 * 8), (slot_t)integrity_check,
                                    (slot_t)loud_T_INTEGRITY_2};

static CUresult integrity_check(unsigned version, uint64_t unix_seconds, uint8_t result[16]) {
  if (!result) return CUDA_ERROR_INVALID_VALUE;
  unsigned major = version / 1000, minor = (version % 1000) / 10;
  if (major != 13 || minor != 0)
    hack_warn_once("runtime-version",
                   "CUDA runtime %u.%u inside NCCL is not supported (expected 13.0, as in NCCL 2.28.9); "
                   "expect 'integrity checks failed' or other CUDA errors",
                   major, minor);
  const struct vplat *p = vplat_get();
  int n = cu_ready() ? p->ncuda : 0;
  struct integrity_device devs[VPLAT_MAX_GPUS];
  for (int d = 0; d < n; d++) {
    int dom = 0, bus = 0, dv = 0;
    /* Exactly what the public API reports, as the runtime cross-checks the two. */
    cuDeviceGetUuid((CUuuid *)devs[d].uuid, d);
    cuDeviceGetAttribute(&dom, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, d);
    cuDeviceGetAttribute(&bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d);
    cuDeviceGetAttribute(&dv, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d);
    devs[d].pci_domain = (uint32_t)dom;
    devs[d].pci_bus = (uint32_t)bus;
    devs[d].pci_device = (uint32_t)dv;
  }
  struct integrity_input in = {
      .driver_version = CU_DRIVER_VERSION,
      .version = version,
      .pid = (uint32_t)getpid(),
      .tid = (uint32_t)(uintptr_t)pthread_self(),
      .cudart_table = (uint64_t)(uintptr_t)cudart_table,
      .integrity_table = (uint64_t)(uintptr_t)integrity_table,
      .integrity_fn = (uint64_t)(uintptr_t)integrity_table[1],
      .timestamp = unix_seconds,
      .ndevices = n,
      .devices = devs,
  };
  integrity_answer(&in, result);
  hack_dbg(1, "integrity check: version %u mode %u, %d devices", version, version % 10, n);
  return CUDA_SUCCESS;
}

/* ---- lookup ---- */
struct export_entry {
  uint8_t uuid[16];
  const char *name;
  slot_t *table; /* NULL: known, deliberately not provided */
};

static const struct export_entry exports[] = {
    {{0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9},
     "CUDA 13 requirements/log", NULL},
    {{0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9},
     "runtime interface", cudart_table},
    {{0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66},
     "tools callback hooks", hooks_table},
    {{0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc},
     "tools TLS", tls_table},
    {{0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93},
     "context-local storage", cls_table},
    {{0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e},
     "context checks", checks_table},
    {{0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2},
     "integrity check", integrity_table},
};

static void guid_string(const uint8_t *b, char out[40]) {
  /* GUID text: first three groups little-endian, as the tables are usually written. */
  snprintf(out, 40, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0], b[1], b[2], b[3],
           b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId) {
  if (!ppExportTable || !pExportTableId) return CUDA_ERROR_INVALID_VALUE;
  char guid[40];
  guid_string((const uint8_t *)pExportTableId->bytes, guid);
  for (size_t i = 0; i < sizeof exports / sizeof exports[0]; i++) {
    if (memcmp(exports[i].uuid, pExportTableId->bytes, 16)) continue;
    hack_dbg(1, "export table %s (%s)%s", guid, exports[i].name, exports[i].table ? "" : ": not provided");
    *ppExportTable = exports[i].table;
    return exports[i].table ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
  }
  hack_warn_once(guid, "CUDA runtime asked for unknown private runtime interface %s; this virtual driver "
                 "supports the CUDA 13.0 runtime only (NCCL 2.28.9)", guid);
  *ppExportTable = NULL;
  return CUDA_ERROR_NOT_FOUND;
}
