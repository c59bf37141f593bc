/* topo_internal.h — what the files of topo/ share among themselves (not part of the public interface):
 * the XML reader's helpers, the graph builder and the path computation. */
#ifndef CCSIM_TOPO_INTERNAL_H
#define CCSIM_TOPO_INTERNAL_H

#include <libxml/tree.h>
#include "topo.h"

/* Bandwidths in GB/s, the values NCCL 2.28 uses (src/graph/topo.h). */
#define TOPO_LOC_BW 5000.0f
#define TOPO_SM60_NVLINK_BW 18.0f
#define TOPO_SM70_NVLINK_BW 20.0f
#define TOPO_SM80_NVLINK_BW 20.0f
#define TOPO_SM90_NVLINK_BW 20.6f
#define TOPO_SM86_NVLINK_BW 12.0f
#define TOPO_SM100_NVLINK_BW 40.1f
#define TOPO_AMD_BW 16.0f
#define TOPO_BDW_QPI_BW 6.0f
#define TOPO_SKL_QPI_BW 10.0f
#define TOPO_SRP_QPI_BW 22.0f
#define TOPO_ERP_QPI_BW 40.0f
#define TOPO_ZPI_BW 6.0f
#define TOPO_YONGFENG_ZPI_BW 9.0f
#define TOPO_P9_BW 32.0f
#define TOPO_ARM_BW 6.0f

/* Limits that keep hostile input from exhausting memory and time: NCCL's own 576 nodes per type
 * (NCCL_TOPO_MAX_NODES) on each host. */
#define TOPO_MAX_NODES_PER_TYPE 576
#define TOPO_MAX_HOSTS 4096

float topo_nvlink_bw(int sm);

/* ---- XML reading (topo_xml.c) ---- */

/* Parses a document; errors carry "name:line: message". Never prints to stderr. */
xmlDocPtr topo_xml_parse(const char *buf, size_t len, const char *name, GError **err);

/* Attribute readers: a missing attribute is an error only when required (then *out keeps the default).
 * All report "name:line: <elem> attribute a="v": what is wrong". Return false on error. */
struct topo_xml_ctx {
  const char *name; /* file name for messages */
};
bool topo_xml_has(xmlNodePtr n, const char *attr);
char *topo_xml_str(xmlNodePtr n, const char *attr); /* g_free; NULL when absent */
bool topo_xml_int(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, bool required, int *out, GError **err);
bool topo_xml_u64(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, bool required, uint64_t *out,
                  GError **err);
bool topo_xml_double(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, bool required, double *out,
                     GError **err);
bool topo_xml_busid(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, int64_t *out, char *text,
                    GError **err);
bool topo_xml_required(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, GError **err);
void topo_xml_error(GError **err, int code, const struct topo_xml_ctx *x, xmlNodePtr n, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
void topo_xml_warn(const struct topo_xml_ctx *x, xmlNodePtr n, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
bool topo_busid_parse(const char *s, int64_t *out); /* NCCL's reading: hex digits, ':' and '.' skipped */

/* ---- Graph (topo_system.c) ---- */

/* Device view while it grows (topo_system.build); NULL once the system is finished. */
struct topo_build {
  GArray *gpus, *nics, *cpus;
};
void topo_build_free(struct topo_build *bd);

struct topo_system *topo_system_new(void);
/* Adds one host built from the document; host_hash_salt 0 keeps the file's host hashes. */
bool topo_system_add_doc(struct topo_system *sys, xmlDocPtr doc, const char *name, uint64_t host_hash_salt,
                         GError **err);
/* Connects CPUs, sorts links, computes paths and NCCL's bandwidth summary. */
bool topo_system_finish(struct topo_system *sys, GError **err);
struct topo_node *topo_node_new(struct topo_system *sys, enum topo_node_type type, int64_t id, int host);
void topo_connect(struct topo_node *a, struct topo_node *b, enum topo_link_type type, float bw);

/* ---- Fabric (topo_fabric.c) ---- */

/* Rail-optimized fabric at the speed of the fastest NIC; g_free. */
struct topo_fabric *topo_fabric_default(const struct topo_system *sys);

/* ---- Paths (topo_paths.c) ---- */

bool topo_compute_paths(struct topo_system *sys, GError **err);
void topo_free_paths(struct topo_system *sys);

#endif
