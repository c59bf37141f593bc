/* vplat.h — the virtual machine this process presents: its GPUs (from the topology XML), the
 * CCSIM_* environment, and the NCCL_TOPO_FILE NCCL is pointed at. Shared by the fake driver and NVML.
 *
 * Environment: CCSIM_TOPO (topology XML; falls back to NCCL_TOPO_FILE), CCSIM_NODES (virtual nodes,
 * default 1), CCSIM_NODE (this process's node, default 0), CCSIM_GPUS (present only the first G GPUs).
 */
#ifndef CCSIM_INTERCEPT_VPLAT_H
#define CCSIM_INTERCEPT_VPLAT_H

#include <stddef.h>
#include <stdint.h>
#include "topo.h"

#define VPLAT_MAX_GPUS 32 /* NCCL's NVML device limit per process */

struct vgpu {
  int ordinal;
  char busid[TOPO_BUSID_LEN];   /* canonical lower-case "dddd:bb:dd.f", as in the XML */
  unsigned domain, bus, device, function;
  unsigned pci_vendor, pci_device, subsys_vendor, subsys_device;
  int cc_major, cc_minor;       /* compute capability */
  int sm_count;
  int numa;                     /* host NUMA id of the CPU it hangs off */
  uint8_t uuid[16];
  char name[96];
  size_t total_mem;
  const struct topo_gpu *topo;  /* its device-view entry (nvlinks, c2c) */
};

struct vplat {
  int ok;                       /* 0: no usable topology; `error` says why */
  char error[512];
  int nodes, node;
  int ngpus;                    /* the node's GPUs (after CCSIM_GPUS): what NVML and NCCL's topology see */
  struct vgpu gpus[VPLAT_MAX_GPUS];
  int ncuda;                    /* CUDA devices of this process: CUDA_VISIBLE_DEVICES picks and orders them */
  int cuda_gpu[VPLAT_MAX_GPUS]; /* CUDA ordinal -> index into gpus[] */
  struct topo_system *sys;      /* the loaded node topology */
  const char *topo_path;        /* CCSIM_TOPO (or NCCL_TOPO_FILE) */
  char *filtered_path;          /* temp XML with only the presented GPUs, when CCSIM_GPUS restricts */
};

/* Set up once (idempotent, thread-safe); called from the library constructor. */
void vplat_init(void);
const struct vplat *vplat_get(void);
/* The node GPU behind CUDA device ordinal d (0 <= d < ncuda). */
static inline const struct vgpu *vplat_cuda_gpu(const struct vplat *p, int d) { return &p->gpus[p->cuda_gpu[d]]; }
/* Same, but says once on stderr why there are no GPUs (for the entry points NCCL calls first). */
const struct vplat *vplat_require(void);

#endif
