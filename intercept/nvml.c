/* nvml.c — fake NVML (libnvidia-ml.so.1) for NCCL: the topology's GPUs with their PCI ids, compute
 * capability, P2P status and NVLinks. Struct layouts follow the NVML ABI NCCL 2.28.9 was built against
 * (declared here; NCCL uses its own copy of them, not nvml.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "hack_log.h"
#include "vplat.h"

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_UNKNOWN = 999
};

struct nvml_device {
  uint32_t magic;
  int index;
  int nlinks;
  char link_remote[18 * 2][16]; /* per NVLink: remote bus id as NVML reports it (fits busId[16]) */
};
typedef struct nvml_device *nvmlDevice_t;
#define NVML_DEV_MAGIC 0x4c4d564eu

typedef struct {
  char busId[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  unsigned int reserved0, reserved1, reserved2, reserved3;
} nvmlPciInfo_t; /* 52 bytes: the layout NCCL passes (not the newer 68-byte one) */

typedef union {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
} nvmlValue_t;

typedef struct {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t; /* 40 bytes */

typedef struct {
  unsigned int version, environment, ccFeature, devToolsMode, multiGpuMode;
} nvmlSystemConfComputeSettings_t;

typedef struct {
  unsigned int environment, ccFeature, devToolsMode;
} nvmlConfComputeSystemState_t;

typedef struct {
  unsigned long long total, free, used;
} nvmlMemory_t;

#define FI_NVLINK_LINK_COUNT 91
#define FI_NVLINK_GET_STATE 165
#define FI_C2C_LINK_COUNT 170
#define FI_C2C_LINK_GET_STATUS 171
#define FI_C2C_LINK_GET_MAX_BW 172

static struct nvml_device devices[VPLAT_MAX_GPUS];
static int ndevices = -1;
static pthread_once_t nvml_once = PTHREAD_ONCE_INIT;

static void nvml_setup(void) {
  const struct vplat *p = vplat_require();
  ndevices = p->ok ? p->ngpus : 0;
  for (int i = 0; i < ndevices; i++) {
    struct nvml_device *d = &devices[i];
    d->magic = NVML_DEV_MAGIC;
    d->index = i;
    const struct topo_gpu *t = p->gpus[i].topo;
    for (int l = 0; t && l < t->n_nvlinks; l++) {
      const struct topo_nvlink *nv = &t->nvlinks[l];
      for (int c = 0; c < nv->count && d->nlinks < (int)(sizeof d->link_remote / sizeof d->link_remote[0]); c++) {
        /* A switch is "not visible" to NVML: NCCL reads this id as "NVSwitch on the other side". */
        const char *remote = nv->tclass == 0x030200 ? nv->target : "fffffff:ffff:ff";
        snprintf(d->link_remote[d->nlinks++], sizeof d->link_remote[0], "%.15s", remote);
      }
    }
  }
}

static nvmlReturn_t check(nvmlDevice_t d) {
  if (ndevices < 0) return NVML_ERROR_UNINITIALIZED;
  return d && d->magic == NVML_DEV_MAGIC ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t nvmlInit_v2(void) {
  pthread_once(&nvml_once, nvml_setup);
  return ndevices > 0 ? NVML_SUCCESS : NVML_ERROR_DRIVER_NOT_LOADED;
}
nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags;
  return nvmlInit_v2();
}
nvmlReturn_t nvmlShutdown(void) { return NVML_SUCCESS; }

const char *nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
  case NVML_SUCCESS: return "Success";
  case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
  case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
  case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
  case NVML_ERROR_NOT_FOUND: return "Not Found";
  case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
  case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded (no virtual GPUs: check CCSIM_TOPO)";
  default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  if (ndevices < 0) return NVML_ERROR_UNINITIALIZED;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = (unsigned)ndevices;
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (ndevices < 0) return NVML_ERROR_UNINITIALIZED;
  if (!device || index >= (unsigned)ndevices) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &devices[index];
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
  return nvmlDeviceGetHandleByIndex_v2(index, device);
}

/* NCCL passes "0000:1b:00.0"; NVML's own form has an 8-digit domain. Compare numerically. */
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device) {
  if (ndevices < 0) return NVML_ERROR_UNINITIALIZED;
  if (!pciBusId || !device) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned d, b, dv, f = 0;
  if (sscanf(pciBusId, "%x:%x:%x.%x", &d, &b, &dv, &f) < 3) return NVML_ERROR_INVALID_ARGUMENT;
  const struct vplat *p = vplat_get();
  for (int i = 0; i < ndevices; i++) {
    const struct vgpu *g = &p->gpus[i];
    if (g->domain == d && g->bus == b && g->device == dv && g->function == f) {
      *device = &devices[i];
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}
nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device) {
  return nvmlDeviceGetHandleByPciBusId_v2(pciBusId, device);
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!index) return NVML_ERROR_INVALID_ARGUMENT;
  *index = (unsigned)device->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  const struct vgpu *g = &vplat_get()->gpus[device->index];
  if (major) *major = g->cc_major;
  if (minor) *minor = g->cc_minor;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t a, nvmlDevice_t b, int caps, int *status) {
  (void)caps;
  if (check(a) || check(b) || !status) return NVML_ERROR_INVALID_ARGUMENT;
  *status = 0; /* NVML_P2P_STATUS_OK */
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkCapability(nvmlDevice_t device, unsigned int link, int capability,
                                           unsigned int *capResult) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!capResult) return NVML_ERROR_INVALID_ARGUMENT;
  (void)capability;
  if (link >= (unsigned)device->nlinks) return NVML_ERROR_NOT_SUPPORTED;
  *capResult = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, int *isActive) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!isActive) return NVML_ERROR_INVALID_ARGUMENT;
  if (link >= (unsigned)device->nlinks) return NVML_ERROR_NOT_SUPPORTED;
  *isActive = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
  if (link >= (unsigned)device->nlinks) return NVML_ERROR_NOT_SUPPORTED;
  memset(pci, 0, sizeof *pci);
  memcpy(pci->busId, device->link_remote[link], sizeof pci->busId);
  unsigned d = 0, b = 0, dv = 0;
  if (sscanf(pci->busId, "%x:%x:%x", &d, &b, &dv) == 3) {
    pci->domain = d;
    pci->bus = b;
    pci->device = dv;
  }
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci) {
  return nvmlDeviceGetNvLinkRemotePciInfo_v2(device, link, pci);
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (valuesCount < 0 || (valuesCount && !values)) return NVML_ERROR_INVALID_ARGUMENT;
  const struct topo_gpu *t = vplat_get()->gpus[device->index].topo;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  for (int i = 0; i < valuesCount; i++) {
    nvmlFieldValue_t *v = &values[i];
    v->timestamp = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
    v->latencyUsec = 0;
    v->valueType = 1; /* unsigned int */
    v->value.ullVal = 0;
    v->nvmlReturn = NVML_SUCCESS;
    switch (v->fieldId) {
    case FI_NVLINK_LINK_COUNT: v->value.uiVal = (unsigned)device->nlinks; break;
    case FI_NVLINK_GET_STATE: v->value.uiVal = v->scopeId < (unsigned)device->nlinks; break;
    case FI_C2C_LINK_COUNT: v->value.uiVal = t ? (unsigned)t->c2c_count : 0; break;
    case FI_C2C_LINK_GET_STATUS: v->value.uiVal = t && v->scopeId < (unsigned)t->c2c_count; break;
    case FI_C2C_LINK_GET_MAX_BW: v->value.uiVal = t ? (unsigned)(t->c2c_bw * 1000.0) : 0; break; /* MB/s */
    default: v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED; break;
    }
  }
  return NVML_SUCCESS;
}

/* No multi-node NVLink fabric: NCCL then never asks for platform info. */
nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t device, void *info) {
  (void)device;
  (void)info;
  return NVML_ERROR_NOT_SUPPORTED;
}
nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t device, void *info) {
  (void)device;
  (void)info;
  return NVML_ERROR_NOT_SUPPORTED;
}
nvmlReturn_t nvmlDeviceGetPlatformInfo(nvmlDevice_t device, void *info) {
  (void)device;
  (void)info;
  return NVML_ERROR_NOT_SUPPORTED;
}

/* Confidential computing off. */
nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *state) {
  if (!state) return NVML_ERROR_INVALID_ARGUMENT;
  memset(state, 0, sizeof *state);
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetConfComputeSettings(nvmlSystemConfComputeSettings_t *settings) {
  if (!settings) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned version = settings->version;
  memset(settings, 0, sizeof *settings);
  settings->version = version;
  return NVML_SUCCESS;
}

/* Not used by NCCL 2.28.9, but tools built on NVML ask for them. */
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!name || !length) return NVML_ERROR_INVALID_ARGUMENT;
  snprintf(name, length, "%s", vplat_get()->gpus[device->index].name);
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!uuid || length < 41) return NVML_ERROR_INSUFFICIENT_SIZE;
  const uint8_t *u = vplat_get()->gpus[device->index].uuid;
  snprintf(uuid, length, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
           u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int *minor) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!minor) return NVML_ERROR_INVALID_ARGUMENT;
  *minor = (unsigned)device->index;
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  nvmlReturn_t r = check(device);
  if (r) return r;
  if (!memory) return NVML_ERROR_INVALID_ARGUMENT;
  memory->total = vplat_get()->gpus[device->index].total_mem;
  memory->used = 0;
  memory->free = memory->total;
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  if (!version || !length) return NVML_ERROR_INVALID_ARGUMENT;
  snprintf(version, length, "580.00.00-ccsim");
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) {
  if (!v) return NVML_ERROR_INVALID_ARGUMENT;
  *v = 13000;
  return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) { return nvmlSystemGetCudaDriverVersion_v2(v); }
