/* topo_names.c — printable names of node, link and path types (NCCL's spellings). */
#include "topo.h"

const char *topo_path_type_name(enum topo_path_type t) {
  static const char *names[] = {"LOC", "NVL", "NVB", "C2C", "PIX", "PXB", "P2C", "PXN", "PHB", "SYS", "NET", "DIS"};
  return (unsigned)t < G_N_ELEMENTS(names) ? names[t] : "?";
}
const char *topo_link_type_name(enum topo_link_type t) {
  switch (t) {
  case TOPO_LINK_LOC: return "LOC";
  case TOPO_LINK_NVL: return "NVL";
  case TOPO_LINK_C2C: return "C2C";
  case TOPO_LINK_PCI: return "PCI";
  case TOPO_LINK_SYS: return "SYS";
  case TOPO_LINK_NET: return "NET";
  }
  return "?";
}
const char *topo_node_type_name(enum topo_node_type t) {
  static const char *names[] = {"GPU", "PCI", "NVS", "CPU", "NIC", "NET"};
  return (unsigned)t < G_N_ELEMENTS(names) ? names[t] : "?";
}
