/* gpu_parts.h — what the PCI device id of a GPU says about the part: its marketing name, memory size and
 * memory bandwidth (datasheet figures). The topology XML carries the id, not the part. */
#ifndef CCSIM_TOPO_GPU_PARTS_H
#define CCSIM_TOPO_GPU_PARTS_H

#include <stdint.h>

struct topo_gpu_part {
  uint32_t pci_device;  /* NVIDIA PCI device id, e.g. 0x2335 */
  const char *name;     /* as nvidia-smi names it */
  unsigned mem_gib;
  double mem_tbs;       /* memory bandwidth, TB/s (1e12 bytes/s) */
};

/* The part with this PCI device id, or NULL when it is not in the table. */
const struct topo_gpu_part *topo_gpu_part(uint32_t pci_device);

#endif
