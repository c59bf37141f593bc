/* gpu_parts.c — the table of GPU parts by PCI device id (see gpu_parts.h); bandwidths from NVIDIA's
 * datasheets. */
#include "gpu_parts.h"

#include <stddef.h>

static const struct topo_gpu_part parts[] = {
  {0x20b0, "NVIDIA A100-SXM4-40GB", 40, 1.555},
  {0x20b2, "NVIDIA A100-SXM4-80GB", 80, 2.039},
  {0x20b5, "NVIDIA A100 80GB PCIe", 80, 1.935},
  {0x2330, "NVIDIA H100 80GB HBM3", 80, 3.35},
  {0x2331, "NVIDIA H100 PCIe", 80, 2.0},
  {0x2335, "NVIDIA H200", 141, 4.8},
  {0x2342, "NVIDIA GH200 480GB", 96, 4.0},
  {0x2901, "NVIDIA B200", 180, 8.0},
  {0x26b5, "NVIDIA L40S", 48, 0.864},
  {0x26b9, "NVIDIA L40S", 48, 0.864},
};

const struct topo_gpu_part *topo_gpu_part(uint32_t pci_device) {
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (parts[i].pci_device == pci_device) return &parts[i];
  return NULL;
}
