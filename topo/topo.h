/* topo.h — public interface of the topology model.
 *
 * A topology is loaded from NCCL's own XML format (what NCCL reads through NCCL_TOPO_FILE and
 * writes through NCCL_TOPO_DUMP_FILE). Two views are exposed:
 *   - the *device view* (struct topo_gpu / topo_nic / topo_cpu): the attributes the file gives for
 *     each device, which the virtual GPU platform (intercept/) presents to NCCL, and
 *   - the *system graph* (struct topo_system): nodes, links and best paths with NCCL's types and
 *     bandwidths, which the network model times transfers on.
 * A cluster is N copies of one node file (topo_load_cluster), joined by a fabric (topo_fabric).
 * Nothing here depends on NCCL being installed.
 */
#ifndef CCSIM_TOPO_H
#define CCSIM_TOPO_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define TOPO_BUSID_LEN 32 /* "0000:00:06.0", "fffffff:ff:ff.0" */
#define TOPO_NAME_LEN 64

/* Node types, in NCCL's numbering. */
enum topo_node_type {
  TOPO_NODE_GPU = 0,
  TOPO_NODE_PCI = 1,
  TOPO_NODE_NVS = 2,
  TOPO_NODE_CPU = 3,
  TOPO_NODE_NIC = 4,
  TOPO_NODE_NET = 5,
  TOPO_NODE_TYPES = 6
};

/* Link types, in NCCL's numbering (gaps are path-only types). */
enum topo_link_type {
  TOPO_LINK_LOC = 0,
  TOPO_LINK_NVL = 1,
  TOPO_LINK_C2C = 3,
  TOPO_LINK_PCI = 4,
  TOPO_LINK_SYS = 9,
  TOPO_LINK_NET = 10
};

/* Path types, in NCCL 2.28's numbering: the lower, the closer. */
enum topo_path_type {
  TOPO_PATH_LOC = 0,
  TOPO_PATH_NVL = 1,
  TOPO_PATH_NVB = 2,
  TOPO_PATH_C2C = 3,
  TOPO_PATH_PIX = 4,
  TOPO_PATH_PXB = 5,
  TOPO_PATH_P2C = 6,
  TOPO_PATH_PXN = 7,
  TOPO_PATH_PHB = 8,
  TOPO_PATH_SYS = 9,
  TOPO_PATH_NET = 10,
  TOPO_PATH_DIS = 11
};

/* ---- Device view: attributes as the XML gives them ---- */

struct topo_nvlink {
  char target[TOPO_BUSID_LEN]; /* bus id of the peer GPU, or of an NVSwitch (e.g. fffffff:ff:ff.0) */
  int count;                   /* number of links */
  uint32_t tclass;             /* PCI class of the target: 0x030200 GPU, 0x068000 NVSwitch, CPU for C2C */
};

struct topo_pci_attrs {
  char busid[TOPO_BUSID_LEN];
  uint32_t class_code;
  uint32_t vendor, device, subsystem_vendor, subsystem_device;
  char link_speed[TOPO_NAME_LEN]; /* verbatim, e.g. "32.0 GT/s PCIe" */
  int link_width;                 /* 0 where the hypervisor flattened PCI */
};

struct topo_gpu {
  int index;                 /* position among this node's GPUs (document order) */
  int cpu;                   /* index of the CPU (NUMA domain) it hangs off */
  struct topo_pci_attrs pci; /* the GPU's own PCI device */
  int dev;                   /* NVML/CUDA device number */
  int sm;                    /* compute capability ×10, e.g. 90 */
  int rank;
  int gdr;
  int n_nvlinks;
  struct topo_nvlink *nvlinks;
  int c2c_count;             /* C2C links to the CPU: count and bw per link in GB/s */
  double c2c_bw;
};

struct topo_nic {
  int index;                  /* position among this node's NETs (document order) */
  int cpu;
  bool has_pci;               /* false for a <nic> directly under <cpu> without PCI info */
  struct topo_pci_attrs pci;  /* the NIC's PCI device, when has_pci */
  char name[TOPO_NAME_LEN];   /* net name, e.g. mlx5_0: what the net plugin reports */
  int dev;
  int speed_mbps;             /* Mb/s, as in the XML */
  int port;
  double latency;
  uint64_t guid;
  int maxconn;
  int gdr;
  int coll;
};

struct topo_cpu {
  int index;
  int numaid;              /* -1 when unknown */
  char affinity[128];
  char arch[16];           /* x86_64, arm64, ppc64 */
  char vendor[32];         /* GenuineIntel, AuthenticAMD, ... */
  int familyid, modelid;
  uint64_t host_hash;
};

/* ---- System graph (NCCL's ncclTopoSystem) ---- */

struct topo_node;
struct topo_build;

struct topo_link {
  enum topo_link_type type;
  double bw;               /* GB/s */
  struct topo_node *remote;
};

struct topo_node {
  enum topo_node_type type;
  int index;               /* index within its type in topo_system.nodes[type] */
  int64_t id;              /* NCCL-style id: host number in the top 8 bits, bus id (or dev) below */
  int node;                /* cluster node (host) this node belongs to */
  int host_index;          /* index among the nodes of its type on the same host */
  int device;              /* index into gpus[] / nics[] / cpus[] for GPU, NET and CPU nodes; -1 otherwise */
  uint64_t pci_device;     /* PCI switches: vendor<<48 | device<<32 | subsystem vendor<<16 | subsystem device */
  GArray *links;           /* struct topo_link, bandwidth descending, PCI up-link last (NCCL's order) */
  /* Best path from this node to every node of type t on the same host, by host_index (NULL where not
   * computed: paths exist towards CPU, GPU, NET and NVS nodes). Use topo_path_get. */
  struct topo_path *paths[TOPO_NODE_TYPES];
};

/* Best path between two nodes: type, bottleneck bandwidth and the hops taken. */
struct topo_path {
  enum topo_path_type type;
  double bw;               /* GB/s, bottleneck along the path */
  int nhops;
  const struct topo_link **hops; /* nhops links, from the source */
};

/* One host of a cluster: where its nodes of each type start in topo_system.nodes[type]. */
struct topo_host {
  uint64_t host_hash;
  int first[TOPO_NODE_TYPES];
  int count[TOPO_NODE_TYPES];
};

struct topo_system {
  char *source;            /* file it was loaded from */
  int nnodes;              /* cluster nodes (hosts) */
  struct topo_host *hosts; /* nnodes */
  /* Device view, all nodes: gpus[n*gpus_per_node + i]. Device i of a kind is graph node i of the
   * matching type (GPU, NET, CPU), so nodes[TOPO_NODE_GPU]->pdata[i]->device == i. */
  int ngpus, nnics, ncpus;
  struct topo_gpu *gpus;
  struct topo_nic *nics;
  struct topo_cpu *cpus;
  int gpus_per_node, nics_per_node, cpus_per_node;
  /* Graph */
  GPtrArray *nodes[TOPO_NODE_TYPES]; /* struct topo_node * */
  double max_bw, total_bw; /* NCCL's per-channel max and total GPU bandwidth (ncclTopoSearchInit) */
  struct topo_fabric *fabric; /* NULL for a single node */
  struct topo_build *build;   /* internal: NULL once loaded */
};

/* Fabric joining the NICs of a cluster (JSON file, see docs/fabric.md). */
enum topo_fabric_kind { TOPO_FABRIC_RAIL, TOPO_FABRIC_FAT_TREE };
struct topo_fabric {
  enum topo_fabric_kind kind;
  double link_gbps;        /* per NIC port */
  int switch_radix;
  double oversubscription; /* >= 1: leaf downlinks per uplink */
  double hop_latency_us;   /* per switch traversed */
};

/* How the fabric carries traffic between two NICs (global nics[] indices) of different hosts. */
struct topo_fabric_route {
  int switches;            /* switches traversed: 1 (same leaf), 3 (through a spine), 5 (through a core) */
  double bw;               /* GB/s available to one flow: min(NIC, link) / oversubscription above the leaf */
  double latency_us;       /* switches * hop_latency_us */
};

/* Error domain for everything topo/ reports. Messages name file and line where known. */
#define TOPO_ERROR topo_error_quark()
GQuark topo_error_quark(void);
enum topo_error_code { TOPO_ERROR_IO, TOPO_ERROR_PARSE, TOPO_ERROR_INVALID };

/* Load one node's XML. Warnings (unknown CPU vendor, ...) go to g_warning in the log domain "ccsim-topo". NULL + err on failure. */
struct topo_system *topo_load(const char *path, GError **err);
/* Load from memory (for the fuzzer and tests); name is used in messages. */
struct topo_system *topo_load_buffer(const char *buf, size_t len, const char *name, GError **err);
/* nnodes copies of the node at path; fabric_path may be NULL (default rail-optimized fabric from NIC speeds). */
struct topo_system *topo_load_cluster(const char *path, int nnodes, const char *fabric_path, GError **err);
void topo_free(struct topo_system *sys);

/* Best path from node (src_type, src) to node (dst_type, dst), indices into nodes[]; NULL when the two
 * are on different hosts or no path was computed (destinations are CPU, GPU, NET and NVS nodes). */
const struct topo_path *topo_path_get(const struct topo_system *sys, enum topo_node_type src_type, int src,
                                      enum topo_node_type dst_type, int dst);

/* Fabric file alone (for checking it); NULL + err on failure. Free with g_free. */
struct topo_fabric *topo_fabric_load(const char *path, GError **err);
/* Route between NICs a and b of a cluster; false when they are on the same host or there is no fabric. */
bool topo_fabric_route(const struct topo_system *sys, int nic_a, int nic_b, struct topo_fabric_route *out);
const char *topo_fabric_kind_name(enum topo_fabric_kind k); /* "rail-optimized", "fat-tree" */

/* The NET (nics[] index) GPU gpu uses on a channel under NCCL's default policy (ncclTopoGetLocalNet:
 * closest NICs by bandwidth then path type, spread over the GPUs that share them); -1 if none. */
int topo_gpu_net(const struct topo_system *sys, int gpu, int channel);

/* Graph node of a device (GPU, NET or CPU index in the device view). */
struct topo_node *topo_node_of(const struct topo_system *sys, enum topo_node_type type, int index);

const char *topo_path_type_name(enum topo_path_type t); /* "NVL", "PIX", ... */
const char *topo_link_type_name(enum topo_link_type t);
const char *topo_node_type_name(enum topo_node_type t);

#endif
