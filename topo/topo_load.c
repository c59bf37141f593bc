/* topo_load.c — the entry points of topo/: load a node or a cluster of identical nodes, look paths up,
 * free. Owns the life cycle of struct topo_system. */
#include <string.h>
#include <libxml/parser.h>
#include "topo_internal.h"

void topo_free(struct topo_system *sys) {
  if (!sys) return;
  topo_free_paths(sys);
  for (int t = 0; t < TOPO_NODE_TYPES; t++) {
    if (!sys->nodes[t]) continue;
    for (guint i = 0; i < sys->nodes[t]->len; i++) {
      struct topo_node *n = g_ptr_array_index(sys->nodes[t], i);
      g_array_free(n->links, TRUE);
      g_free(n);
    }
    g_ptr_array_free(sys->nodes[t], TRUE);
  }
  if (sys->build) {
    topo_build_free(sys->build);
  } else {
    for (int i = 0; i < sys->ngpus; i++) g_free(sys->gpus[i].nvlinks);
    g_free(sys->gpus);
    g_free(sys->nics);
    g_free(sys->cpus);
  }
  g_free(sys->hosts);
  g_free(sys->fabric);
  g_free(sys->source);
  g_free(sys);
}

static struct topo_system *load_doc(xmlDocPtr doc, const char *name, int nnodes, GError **err) {
  struct topo_system *sys = topo_system_new();
  sys->source = g_strdup(name);
  for (int k = 0; k < nnodes; k++)
    if (!topo_system_add_doc(sys, doc, name, (uint64_t)k, err)) {
      topo_free(sys);
      return NULL;
    }
  if (!topo_system_finish(sys, err)) {
    topo_free(sys);
    return NULL;
  }
  return sys;
}

struct topo_system *topo_load_buffer(const char *buf, size_t len, const char *name, GError **err) {
  xmlDocPtr doc = topo_xml_parse(buf, len, name, err);
  if (!doc) return NULL;
  struct topo_system *sys = load_doc(doc, name, 1, err);
  xmlFreeDoc(doc);
  return sys;
}

static char *read_file(const char *path, size_t *len, GError **err) {
  char *buf = NULL;
  gsize n = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &buf, &n, &e)) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_IO, "%s", e->message);
    g_error_free(e);
    return NULL;
  }
  *len = n;
  return buf;
}

struct topo_system *topo_load(const char *path, GError **err) {
  size_t len;
  char *buf = read_file(path, &len, err);
  if (!buf) return NULL;
  struct topo_system *sys = topo_load_buffer(buf, len, path, err);
  g_free(buf);
  return sys;
}

struct topo_system *topo_load_cluster(const char *path, int nnodes, const char *fabric_path, GError **err) {
  if (nnodes < 1 || nnodes > TOPO_MAX_HOSTS) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "node count %d: must be 1..%d", nnodes, TOPO_MAX_HOSTS);
    return NULL;
  }
  struct topo_fabric *fabric = NULL;
  if (fabric_path && !(fabric = topo_fabric_load(fabric_path, err))) return NULL;
  size_t len;
  char *buf = read_file(path, &len, err);
  if (!buf) {
    g_free(fabric);
    return NULL;
  }
  xmlDocPtr doc = topo_xml_parse(buf, len, path, err);
  g_free(buf);
  if (!doc) {
    g_free(fabric);
    return NULL;
  }
  struct topo_system *sys = load_doc(doc, path, nnodes, err);
  xmlFreeDoc(doc);
  if (!sys) {
    g_free(fabric);
    return NULL;
  }
  if (nnodes > 1 && !fabric) fabric = topo_fabric_default(sys);
  sys->fabric = fabric;
  return sys;
}

struct topo_node *topo_node_of(const struct topo_system *sys, enum topo_node_type type, int index) {
  if ((unsigned)type >= TOPO_NODE_TYPES || index < 0 || (guint)index >= sys->nodes[type]->len) return NULL;
  return g_ptr_array_index(sys->nodes[type], index);
}

const struct topo_path *topo_path_get(const struct topo_system *sys, enum topo_node_type src_type, int src,
                                      enum topo_node_type dst_type, int dst) {
  const struct topo_node *s = topo_node_of(sys, src_type, src), *d = topo_node_of(sys, dst_type, dst);
  if (!s || !d || s->node != d->node || !s->paths[dst_type]) return NULL;
  return &s->paths[dst_type][d->host_index];
}
