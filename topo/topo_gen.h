/* topo_gen.h — generators of NCCL topology XML for standard systems (DGX A100/H100/H200, HGX B200, a
 * PCIe-only L40S box), written in the shape of NCCL's own NCCL_TOPO_DUMP_FILE so NCCL accepts them
 * through NCCL_TOPO_FILE. */
#ifndef CCSIM_TOPO_GEN_H
#define CCSIM_TOPO_GEN_H

#include <stdint.h>
#include <glib.h>

struct topo_gen_options {
  int gpus;           /* 0: all the system has; else keep the first N */
  int nics;           /* 0: all the system has; else keep the first N */
  int nic_gbps;       /* 0: the system's own NIC speed */
  uint64_t host_hash; /* 0: a fixed value per kind */
};

/* Kinds, NULL-terminated: "dgx-a100", "dgx-h100", "dgx-h200", "hgx-b200", "pcie-l40s". */
const char *const *topo_gen_kinds(void);
const char *topo_gen_describe(const char *kind); /* one line; NULL for an unknown kind */
/* The XML text (g_free), or NULL + err for an unknown kind or options out of range. */
char *topo_gen_xml(const char *kind, const struct topo_gen_options *opts, GError **err);

#endif
