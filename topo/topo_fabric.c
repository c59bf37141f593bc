/* topo_fabric.c — the fabric file (JSON) that joins the NICs of a cluster's nodes, and the route two NICs
 * take through it: rail-optimized (NIC r of every node on rail r's leaves) or a fat tree (all NICs of
 * consecutive nodes on the same leaves), two switch levels, three when the leaves exceed one switch's
 * radix. Format: docs/fabric.md. */
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "topo_internal.h"

const char *topo_fabric_kind_name(enum topo_fabric_kind k) {
  return k == TOPO_FABRIC_FAT_TREE ? "fat-tree" : "rail-optimized";
}

static int line_of(const char *buf, const char *at) {
  int line = 1;
  for (const char *p = buf; p < at && *p; p++) line += *p == '\n';
  return line;
}

static bool number_field(const cJSON *root, const char *key, bool required, double def, double min, double max,
                         double *out, const char *path, GError **err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v) {
    if (required) {
      g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: missing \"%s\"", path, key);
      return false;
    }
    *out = def;
    return true;
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min || v->valuedouble > max) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: \"%s\" must be a number from %g to %g", path, key, min, max);
    return false;
  }
  *out = v->valuedouble;
  return true;
}

struct topo_fabric *topo_fabric_load(const char *path, GError **err) {
  char *buf = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &buf, &len, &e)) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_IO, "%s", e->message);
    g_error_free(e);
    return NULL;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
  if (!root || !cJSON_IsObject(root)) {
    if (root)
      g_set_error(err, TOPO_ERROR, TOPO_ERROR_PARSE, "%s: the fabric must be a JSON object", path);
    else
      g_set_error(err, TOPO_ERROR, TOPO_ERROR_PARSE, "%s:%d: malformed JSON", path, end ? line_of(buf, end) : 1);
    cJSON_Delete(root);
    g_free(buf);
    return NULL;
  }
  struct topo_fabric f = {0};
  bool ok = true;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
  if (!cJSON_IsString(kind)) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: \"kind\" must be \"rail-optimized\" or \"fat-tree\"", path);
    ok = false;
  } else if (!strcmp(kind->valuestring, "rail-optimized") || !strcmp(kind->valuestring, "rail")) {
    f.kind = TOPO_FABRIC_RAIL;
  } else if (!strcmp(kind->valuestring, "fat-tree")) {
    f.kind = TOPO_FABRIC_FAT_TREE;
  } else {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: unknown kind \"%s\" (rail-optimized, fat-tree)", path,
                kind->valuestring);
    ok = false;
  }
  double radix = 0;
  ok = ok && number_field(root, "link_gbps", true, 0, 1, 1e6, &f.link_gbps, path, err) &&
       number_field(root, "switch_radix", false, 64, 2, 65536, &radix, path, err) &&
       number_field(root, "oversubscription", false, 1, 1, 1024, &f.oversubscription, path, err) &&
       number_field(root, "hop_latency_us", false, 0.5, 0, 1e6, &f.hop_latency_us, path, err);
  if (ok && radix != floor(radix)) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: \"switch_radix\" must be a whole number", path);
    ok = false;
  }
  f.switch_radix = (int)radix;
  static const char *known[] = {"kind", "link_gbps", "switch_radix", "oversubscription", "hop_latency_us", "comment"};
  for (const cJSON *c = root->child; ok && c; c = c->next) {
    bool k = false;
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) k |= c->string && !strcmp(c->string, known[i]);
    if (!k) {
      g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s: unknown key \"%s\"", path, c->string ? c->string : "");
      ok = false;
    }
  }
  cJSON_Delete(root);
  g_free(buf);
  return ok ? g_memdup2(&f, sizeof f) : NULL;
}

struct topo_fabric *topo_fabric_default(const struct topo_system *sys) {
  struct topo_fabric *f = g_new0(struct topo_fabric, 1);
  f->kind = TOPO_FABRIC_RAIL;
  int mbps = 0;
  for (int i = 0; i < sys->nnics; i++)
    if (sys->nics[i].speed_mbps > mbps) mbps = sys->nics[i].speed_mbps;
  f->link_gbps = mbps > 0 ? mbps / 1000.0 : 10.0;
  f->switch_radix = 64;
  f->oversubscription = 1;
  f->hop_latency_us = 0.5;
  return f;
}

static double nic_bw(const struct topo_nic *n) {
  return (n->speed_mbps <= 0 ? 10000 : n->speed_mbps) / 8000.0;
}

bool topo_fabric_route(const struct topo_system *sys, int a, int b, struct topo_fabric_route *out) {
  if (!sys->fabric || a < 0 || b < 0 || a >= sys->nnics || b >= sys->nnics) return false;
  const struct topo_node *na = topo_node_of(sys, TOPO_NODE_NET, a), *nb = topo_node_of(sys, TOPO_NODE_NET, b);
  if (na->node == nb->node) return false;
  const struct topo_fabric *f = sys->fabric;
  /* Leaf ports facing the nodes: radix split between down and up links in the oversubscription ratio. */
  int down = (int)floor(f->switch_radix * f->oversubscription / (1.0 + f->oversubscription));
  if (down < 1) down = 1;
  int per_host = sys->nics_per_node > 0 ? sys->nics_per_node : 1;
  long leaf_a, leaf_b, leaves;
  if (f->kind == TOPO_FABRIC_RAIL) {
    int groups = (sys->nnodes + down - 1) / down;
    leaf_a = (long)na->host_index * groups + na->node / down;
    leaf_b = (long)nb->host_index * groups + nb->node / down;
    leaves = (long)per_host * groups;
  } else {
    long pa = (long)na->node * per_host + na->host_index, pb = (long)nb->node * per_host + nb->host_index;
    leaf_a = pa / down;
    leaf_b = pb / down;
    leaves = ((long)sys->nnodes * per_host + down - 1) / down;
  }
  out->switches = leaf_a == leaf_b ? 1 : leaves <= f->switch_radix ? 3 : 5;
  double bw = f->link_gbps / 8.0;
  double ba = nic_bw(&sys->nics[a]), bb = nic_bw(&sys->nics[b]);
  if (ba < bw) bw = ba;
  if (bb < bw) bw = bb;
  if (out->switches > 1) bw /= f->oversubscription;
  out->bw = bw;
  out->latency_us = out->switches * f->hop_latency_us;
  return true;
}
