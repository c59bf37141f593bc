/* topo_system.c — builds the system graph NCCL builds from a topology XML (ncclTopoGetSystemFromXml):
 * CPU, PCI switch, GPU, NIC, NET and NVSwitch nodes with NVL, PCI, C2C, SYS and NET links and NCCL's
 * bandwidths, plus the device view (gpus/nics/cpus as the file describes them), with validation. */
#include <math.h>
#include <string.h>
#include "topo_internal.h"

#define ID_MASK 0x00ffffffffffffffLL
static int64_t make_id(int host, int64_t local) {
  return (int64_t)(((uint64_t)host << 56) + ((uint64_t)local & (uint64_t)ID_MASK));
}

float topo_nvlink_bw(int sm) {
  return sm >= 100 ? TOPO_SM100_NVLINK_BW
         : sm >= 90 ? TOPO_SM90_NVLINK_BW
         : sm == 86 ? TOPO_SM86_NVLINK_BW
         : sm >= 80 ? TOPO_SM80_NVLINK_BW
         : sm >= 70 ? TOPO_SM70_NVLINK_BW
         : sm >= 60 ? TOPO_SM60_NVLINK_BW
                    : TOPO_SM80_NVLINK_BW;
}

/* NCCL compares PCI class and link speed strings by prefix, in table order. */
struct prefix_value {
  const char *prefix;
  int value;
};
static const struct prefix_value pci_class_types[] = {
  {"0x060400", TOPO_NODE_PCI}, {"0x080100", TOPO_NODE_PCI}, {"0x068000", TOPO_NODE_NVS},
  {"0x068001", TOPO_NODE_CPU}, {"0x03", TOPO_NODE_GPU},     {"0x02", TOPO_NODE_NIC},
};
/* Per-lane rate in units of 100 Mb/s. */
static const struct prefix_value pci_gen_rates[] = {
  {"2.5 GT/s", 15},        {"5 GT/s", 30},          {"8 GT/s", 60},          {"16 GT/s", 120},
  {"32 GT/s", 240},        {"2.5 GT/s PCIe", 15},   {"5.0 GT/s PCIe", 30},   {"8.0 GT/s PCIe", 60},
  {"16.0 GT/s PCIe", 120}, {"32.0 GT/s PCIe", 240}, {"64.0 GT/s PCIe", 480},
};
#define PCI_GEN_DEFAULT 60

static bool prefix_lookup(const struct prefix_value *t, size_t n, const char *s, int *out) {
  for (size_t i = 0; i < n; i++)
    if (!strncmp(s, t[i].prefix, strlen(t[i].prefix))) {
      *out = t[i].value;
      return true;
    }
  return false;
}

enum cpu_arch { ARCH_UNKNOWN = 0, ARCH_X86 = 1, ARCH_POWER = 2, ARCH_ARM = 3 };
enum cpu_vendor { VENDOR_UNKNOWN = 0, VENDOR_INTEL = 1, VENDOR_AMD = 2, VENDOR_ZHAOXIN = 3 };

static enum cpu_arch cpu_arch_of(const char *a) {
  if (!strncmp(a, "x86_64", 6)) return ARCH_X86;
  if (!strncmp(a, "arm64", 5)) return ARCH_ARM;
  if (!strncmp(a, "ppc64", 5)) return ARCH_POWER;
  return ARCH_UNKNOWN;
}
static enum cpu_vendor cpu_vendor_of(const char *v) {
  if (!strncmp(v, "GenuineIntel", 12)) return VENDOR_INTEL;
  if (!strncmp(v, "AuthenticAMD", 12)) return VENDOR_AMD;
  if (!strncmp(v, "CentaurHauls", 12) || !strncmp(v, "  Shanghai  ", 12)) return VENDOR_ZHAOXIN;
  return VENDOR_UNKNOWN;
}

/* Bandwidth of the SMP interconnect leaving this CPU (ncclTopoGetInterCpuBw). */
static float cpu_inter_bw(const struct topo_cpu *c) {
  enum cpu_arch arch = cpu_arch_of(c->arch);
  if (arch == ARCH_POWER) return TOPO_P9_BW;
  if (arch == ARCH_ARM) return TOPO_ARM_BW;
  if (arch != ARCH_X86) return TOPO_LOC_BW;
  switch (cpu_vendor_of(c->vendor)) {
  case VENDOR_INTEL:
    if (c->familyid == 6 && c->modelid >= 0xCF) return TOPO_ERP_QPI_BW;
    if (c->familyid == 6 && c->modelid >= 0x8F) return TOPO_SRP_QPI_BW;
    if (c->familyid == 6 && c->modelid >= 0x55) return TOPO_SKL_QPI_BW;
    return TOPO_BDW_QPI_BW;
  case VENDOR_AMD: return TOPO_AMD_BW;
  case VENDOR_ZHAOXIN: return (c->familyid == 7 && c->modelid == 0x5B) ? TOPO_YONGFENG_ZPI_BW : TOPO_ZPI_BW;
  default: return TOPO_LOC_BW;
  }
}

/* ---- nodes and links ---- */

struct topo_system *topo_system_new(void) {
  struct topo_system *sys = g_new0(struct topo_system, 1);
  for (int t = 0; t < TOPO_NODE_TYPES; t++) sys->nodes[t] = g_ptr_array_new();
  sys->build = g_new0(struct topo_build, 1);
  sys->build->gpus = g_array_new(FALSE, TRUE, sizeof(struct topo_gpu));
  sys->build->nics = g_array_new(FALSE, TRUE, sizeof(struct topo_nic));
  sys->build->cpus = g_array_new(FALSE, TRUE, sizeof(struct topo_cpu));
  return sys;
}

void topo_build_free(struct topo_build *bd) {
  if (!bd) return;
  for (guint i = 0; i < bd->gpus->len; i++) g_free(g_array_index(bd->gpus, struct topo_gpu, i).nvlinks);
  g_array_free(bd->gpus, TRUE);
  g_array_free(bd->nics, TRUE);
  g_array_free(bd->cpus, TRUE);
  g_free(bd);
}

/* While building, the device view grows in GArrays; finish turns them into plain arrays. */
#define GPUS(s) ((s)->build->gpus)
#define NICS(s) ((s)->build->nics)
#define CPUS(s) ((s)->build->cpus)

struct topo_node *topo_node_new(struct topo_system *sys, enum topo_node_type type, int64_t id, int host) {
  struct topo_node *n = g_new0(struct topo_node, 1);
  n->type = type;
  n->id = id;
  n->node = host;
  n->index = (int)sys->nodes[type]->len;
  n->host_index = sys->hosts[host].count[type]++;
  n->device = -1;
  n->links = g_array_new(FALSE, TRUE, sizeof(struct topo_link));
  g_ptr_array_add(sys->nodes[type], n);
  return n;
}

static struct topo_node *find_node(struct topo_system *sys, enum topo_node_type type, int host, int64_t id) {
  const struct topo_host *h = &sys->hosts[host];
  for (int i = h->first[type]; i < h->first[type] + h->count[type]; i++) {
    struct topo_node *n = g_ptr_array_index(sys->nodes[type], i);
    if (n->id == id) return n;
  }
  return NULL;
}

/* Adds bandwidth to an existing link of the same type and peer, else appends one; keeps the list in
 * descending bandwidth order, a new or grown link moving ahead of strictly slower ones only. */
void topo_connect(struct topo_node *a, struct topo_node *b, enum topo_link_type type, float bw) {
  GArray *ls = a->links;
  guint i;
  for (i = 0; i < ls->len; i++) {
    struct topo_link *l = &g_array_index(ls, struct topo_link, i);
    if (l->remote == b && l->type == type) break;
  }
  if (i == ls->len) {
    struct topo_link nl = {.type = type, .bw = 0, .remote = b};
    g_array_append_val(ls, nl);
  }
  struct topo_link *links = (struct topo_link *)ls->data;
  /* NCCL sums in float; keep its value, rounded to 0.1 MB/s so that 18 x 20.6 reads 370.8, not 370.79999. */
  float sum = (float)links[i].bw + bw;
  links[i].bw = round((double)sum * 1e4) / 1e4;
  struct topo_link save = links[i];
  while (i > 0 && links[i - 1].bw < save.bw) {
    links[i] = links[i - 1];
    i--;
  }
  links[i] = save;
}

static struct topo_link *link_at(struct topo_node *n, guint i) {
  return &g_array_index(n->links, struct topo_link, i);
}

/* ---- XML walk ---- */

struct builder {
  struct topo_system *sys;
  struct topo_xml_ctx x;
  int host;
  GHashTable *busids;     /* int64 bus id -> element, duplicates check (per host) */
  GPtrArray *gpu_elems;   /* <gpu> element of each GPU node of this host, in node order */
  GPtrArray *gpu_nodes;
  GPtrArray *switch_elems; /* <pci> element of each PCI switch node of this host */
  GPtrArray *switch_nodes;
  GError **err;
};

static bool is_elem(xmlNodePtr n, const char *name) {
  return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}
static xmlNodePtr first_child(xmlNodePtr n, const char *name) {
  for (xmlNodePtr c = n->children; c; c = c->next)
    if (is_elem(c, name)) return c;
  return NULL;
}

/* New graph node for this host, or NULL + error when the host already has NCCL's maximum of that type. */
static struct topo_node *new_node(struct builder *b, enum topo_node_type type, int64_t id, xmlNodePtr e) {
  if (b->sys->hosts[b->host].count[type] >= TOPO_MAX_NODES_PER_TYPE) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "more than %d %s nodes on one host", TOPO_MAX_NODES_PER_TYPE,
                   topo_node_type_name(type));
    return NULL;
  }
  return topo_node_new(b->sys, type, id, b->host);
}

static bool read_pci_attrs(struct builder *b, xmlNodePtr e, struct topo_pci_attrs *p) {
  char *s = topo_xml_str(e, "busid");
  g_strlcpy(p->busid, s ? s : "", sizeof p->busid);
  g_free(s);
  const char *hex[] = {"class", "vendor", "device", "subsystem_vendor", "subsystem_device"};
  uint32_t *dst[] = {&p->class_code, &p->vendor, &p->device, &p->subsystem_vendor, &p->subsystem_device};
  for (int i = 0; i < 5; i++) {
    int v = 0;
    if (!topo_xml_int(&b->x, e, hex[i], false, &v, b->err)) return false;
    if (v < 0) {
      topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "attribute %s: negative", hex[i]);
      return false;
    }
    *dst[i] = (uint32_t)v;
  }
  s = topo_xml_str(e, "link_speed");
  g_strlcpy(p->link_speed, s ? s : "", sizeof p->link_speed);
  g_free(s);
  p->link_width = 0;
  return topo_xml_int(&b->x, e, "link_width", false, &p->link_width, b->err);
}

static bool add_net(struct builder *b, xmlNodePtr e, struct topo_node *nic, int cpu_index, xmlNodePtr pci_elem) {
  int dev = -1;
  if (!topo_xml_has(e, "dev")) {
    topo_xml_warn(&b->x, e, "has no 'dev' attribute: ignored, as NCCL does");
    return true;
  }
  if (!topo_xml_int(&b->x, e, "dev", true, &dev, b->err)) return false;
  if (dev < 0) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "attribute dev=\"%d\": must be >= 0", dev);
    return false;
  }
  int64_t id = make_id(b->host, dev);
  if (find_node(b->sys, TOPO_NODE_NET, b->host, id)) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "duplicate network device dev=\"%d\"", dev);
    return false;
  }
  struct topo_nic d = {0};
  d.index = b->sys->hosts[b->host].count[TOPO_NODE_NET];
  d.cpu = cpu_index;
  d.dev = dev;
  d.maxconn = 64; /* MAXCHANNELS */
  double latency = 0;
  uint64_t guid = (uint64_t)id;
  if (!topo_xml_int(&b->x, e, "speed", false, &d.speed_mbps, b->err) ||
      !topo_xml_double(&b->x, e, "latency", false, &latency, b->err) ||
      !topo_xml_int(&b->x, e, "port", false, &d.port, b->err) ||
      !topo_xml_int(&b->x, e, "gdr", false, &d.gdr, b->err) ||
      !topo_xml_int(&b->x, e, "maxconn", false, &d.maxconn, b->err) ||
      !topo_xml_int(&b->x, e, "coll", false, &d.coll, b->err) ||
      !topo_xml_u64(&b->x, e, "guid", false, &guid, b->err))
    return false;
  d.latency = latency;
  d.guid = guid;
  char *name = topo_xml_str(e, "name");
  if (name && strlen(name) >= sizeof d.name) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "attribute name: longer than %zu characters", sizeof d.name - 1);
    g_free(name);
    return false;
  }
  g_strlcpy(d.name, name ? name : "", sizeof d.name);
  g_free(name);
  if (pci_elem) {
    d.has_pci = true;
    if (!read_pci_attrs(b, pci_elem, &d.pci)) return false;
  }
  int mbps = d.speed_mbps <= 0 ? 10000 : d.speed_mbps; /* some NICs report -1 */
  float bw = (float)(mbps / 8000.0);
  struct topo_node *net = new_node(b, TOPO_NODE_NET, id, e);
  if (!net) return false;
  net->device = (int)NICS(b->sys)->len;
  g_array_append_val(NICS(b->sys), d);
  topo_connect(nic, net, TOPO_LINK_NET, bw);
  topo_connect(net, nic, TOPO_LINK_NET, bw);
  return true;
}

static bool add_nic(struct builder *b, xmlNodePtr e, struct topo_node *nic, int cpu_index, xmlNodePtr pci_elem) {
  for (xmlNodePtr c = e->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (is_elem(c, "net")) {
      if (!add_net(b, c, nic, cpu_index, pci_elem)) return false;
    } else {
      topo_xml_warn(&b->x, c, "unexpected inside <nic>: ignored");
    }
  }
  return true;
}

static bool check_children(struct builder *b, xmlNodePtr e, const char *const *allowed) {
  for (xmlNodePtr c = e->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    bool ok = false;
    for (int i = 0; allowed[i]; i++) ok |= !strcmp((const char *)c->name, allowed[i]);
    if (!ok) topo_xml_warn(&b->x, c, "unexpected inside <%s>: ignored", (const char *)e->name);
  }
  return true;
}

static bool add_gpu(struct builder *b, xmlNodePtr pci, xmlNodePtr g, int64_t busid, int cpu_index,
                    struct topo_node **out) {
  *out = NULL;
  if (!topo_xml_has(g, "rank")) {
    topo_xml_warn(&b->x, g, "has no 'rank' attribute: ignored, as NCCL does");
    return true;
  }
  struct topo_gpu d = {0};
  d.index = b->sys->hosts[b->host].count[TOPO_NODE_GPU];
  d.cpu = cpu_index;
  if (!read_pci_attrs(b, pci, &d.pci)) return false;
  if (!topo_xml_int(&b->x, g, "sm", true, &d.sm, b->err) || !topo_xml_int(&b->x, g, "rank", true, &d.rank, b->err) ||
      !topo_xml_int(&b->x, g, "dev", true, &d.dev, b->err) || !topo_xml_int(&b->x, g, "gdr", true, &d.gdr, b->err))
    return false;
  if (d.sm <= 0 || d.sm > 1000) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, g, "attribute sm=\"%d\": not a compute capability (e.g. 90)", d.sm);
    return false;
  }
  if (d.dev < 0) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, g, "attribute dev=\"%d\": must be >= 0", d.dev);
    return false;
  }
  const char *const allowed[] = {"nvlink", "c2c", NULL};
  check_children(b, g, allowed);
  GArray *nvl = g_array_new(FALSE, TRUE, sizeof(struct topo_nvlink));
  for (xmlNodePtr c = g->children; c; c = c->next) {
    if (is_elem(c, "nvlink")) {
      struct topo_nvlink l = {0};
      int tclass = 0;
      char *t = topo_xml_str(c, "target");
      g_strlcpy(l.target, t ? t : "", sizeof l.target);
      g_free(t);
      if (!topo_xml_int(&b->x, c, "count", true, &l.count, b->err) ||
          !topo_xml_int(&b->x, c, "tclass", true, &tclass, b->err)) {
        g_array_free(nvl, TRUE);
        return false;
      }
      if (l.count <= 0 || l.count > 1024) {
        topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, c, "attribute count=\"%d\": must be 1..1024", l.count);
        g_array_free(nvl, TRUE);
        return false;
      }
      l.tclass = (uint32_t)tclass;
      g_array_append_val(nvl, l);
    } else if (is_elem(c, "c2c")) {
      int bw = 0;
      if (!topo_xml_int(&b->x, c, "count", true, &d.c2c_count, b->err) ||
          !topo_xml_int(&b->x, c, "bw", true, &bw, b->err)) {
        g_array_free(nvl, TRUE);
        return false;
      }
      if (d.c2c_count <= 0 || bw <= 0) {
        topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, c, "count and bw must be positive");
        g_array_free(nvl, TRUE);
        return false;
      }
      d.c2c_bw = bw / 1000.0;
    }
  }
  struct topo_node *n = new_node(b, TOPO_NODE_GPU, make_id(b->host, busid), g);
  if (!n) {
    g_array_free(nvl, TRUE);
    return false;
  }
  d.n_nvlinks = (int)nvl->len;
  d.nvlinks = (struct topo_nvlink *)g_array_free(nvl, FALSE);
  n->device = (int)GPUS(b->sys)->len;
  g_array_append_val(GPUS(b->sys), d);
  g_ptr_array_add(b->gpu_elems, g);
  g_ptr_array_add(b->gpu_nodes, n);
  *out = n;
  return true;
}

static bool add_pci(struct builder *b, xmlNodePtr e, struct topo_node *parent, int cpu_index, int depth) {
  if (depth > 64) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "PCI tree nested deeper than 64 levels");
    return false;
  }
  int64_t busid;
  char text[TOPO_BUSID_LEN];
  if (!topo_xml_required(&b->x, e, "class", b->err) || !topo_xml_busid(&b->x, e, "busid", &busid, text, b->err))
    return false;
  char *cls = topo_xml_str(e, "class");
  int type = TOPO_NODE_PCI;
  prefix_lookup(pci_class_types, G_N_ELEMENTS(pci_class_types), cls, &type);
  int class_code;
  bool class_ok = topo_xml_int(&b->x, e, "class", true, &class_code, b->err);
  g_free(cls);
  if (!class_ok) return false;
  xmlNodePtr dup = g_hash_table_lookup(b->busids, &busid);
  if (dup) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "duplicate bus id %s (first at line %ld)", text,
                   xmlGetLineNo(dup));
    return false;
  }
  int64_t *key = g_new(int64_t, 1);
  *key = busid;
  g_hash_table_insert(b->busids, key, e);

  xmlNodePtr g = first_child(e, "gpu");
  xmlNodePtr nic = first_child(e, "nic");
  if (g && nic) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "holds both a <gpu> and a <nic>");
    return false;
  }
  struct topo_node *node = NULL;
  if (g) {
    const char *const allowed[] = {"gpu", NULL};
    check_children(b, e, allowed);
    if (!add_gpu(b, e, g, busid, cpu_index, &node)) return false;
  } else if (nic) {
    const char *const allowed[] = {"nic", NULL};
    check_children(b, e, allowed);
    int64_t id = make_id(b->host, busid); /* NCCL's local NIC id keeps only the bus id */
    struct topo_node *nn = find_node(b->sys, TOPO_NODE_NIC, b->host, id);
    if (!nn && !(nn = node = new_node(b, TOPO_NODE_NIC, id, e))) return false;
    for (xmlNodePtr c = e->children; c; c = c->next)
      if (is_elem(c, "nic") && !add_nic(b, c, nn, cpu_index, e)) return false;
  } else if (type == TOPO_NODE_PCI) {
    if (!(node = new_node(b, TOPO_NODE_PCI, make_id(b->host, busid), e))) return false;
    const char *ids[] = {"vendor", "device", "subsystem_vendor", "subsystem_device"};
    for (int i = 0; i < 4; i++) {
      int v = 0;
      if (!topo_xml_int(&b->x, e, ids[i], false, &v, b->err)) return false;
      node->pci_device += (uint64_t)(uint32_t)v << (48 - 16 * i);
    }
    g_ptr_array_add(b->switch_elems, e);
    g_ptr_array_add(b->switch_nodes, node);
    for (xmlNodePtr c = e->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || is_elem(c, "pcilink")) continue;
      if (is_elem(c, "pci")) {
        if (!add_pci(b, c, node, cpu_index, depth + 1)) return false;
      } else {
        topo_xml_warn(&b->x, c, "unexpected inside a PCI bridge: ignored");
      }
    }
  } else if (type == TOPO_NODE_GPU || type == TOPO_NODE_NIC) {
    topo_xml_warn(&b->x, e, "%s device %s has no <%s> inside: ignored, as NCCL does",
                  type == TOPO_NODE_GPU ? "GPU" : "network", text, type == TOPO_NODE_GPU ? "gpu" : "nic");
  }
  if (node) {
    int width = 0;
    if (!topo_xml_int(&b->x, e, "link_width", true, &width, b->err) ||
        !topo_xml_required(&b->x, e, "link_speed", b->err))
      return false;
    if (width < 0 || width > 64) {
      topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "attribute link_width=\"%d\": must be 0..64", width);
      return false;
    }
    if (width == 0) width = 16; /* flattened or unknown PCI: NCCL assumes x16 */
    char *speed = topo_xml_str(e, "link_speed");
    int rate = PCI_GEN_DEFAULT;
    if (!prefix_lookup(pci_gen_rates, G_N_ELEMENTS(pci_gen_rates), speed, &rate))
      topo_xml_warn(&b->x, e, "unknown link_speed \"%s\": using PCIe Gen3 (8 GT/s), as NCCL does", speed);
    g_free(speed);
    float bw = (float)(width * rate / 80.0);
    topo_connect(node, parent, TOPO_LINK_PCI, bw);
    topo_connect(parent, node, TOPO_LINK_PCI, bw);
  }
  return true;
}

static bool add_cpu(struct builder *b, xmlNodePtr e, uint64_t host_hash) {
  struct topo_cpu d = {0};
  d.index = (int)CPUS(b->sys)->len;
  d.numaid = -1;
  d.host_hash = host_hash;
  if (!topo_xml_int(&b->x, e, "numaid", true, &d.numaid, b->err) || !topo_xml_required(&b->x, e, "arch", b->err))
    return false;
  int64_t id = make_id(b->host, d.numaid);
  if (find_node(b->sys, TOPO_NODE_CPU, b->host, id)) {
    topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, e, "duplicate numaid=\"%d\" on this host", d.numaid);
    return false;
  }
  char *s = topo_xml_str(e, "affinity");
  g_strlcpy(d.affinity, s ? s : "", sizeof d.affinity);
  g_free(s);
  s = topo_xml_str(e, "arch");
  g_strlcpy(d.arch, s, sizeof d.arch);
  enum cpu_arch arch = cpu_arch_of(s);
  if (arch == ARCH_UNKNOWN)
    topo_xml_warn(&b->x, e, "unknown arch \"%s\" (x86_64, arm64, ppc64): CPU interconnect bandwidth defaults to %.0f GB/s",
                  s, TOPO_LOC_BW);
  g_free(s);
  if (arch == ARCH_X86) {
    if (!topo_xml_required(&b->x, e, "vendor", b->err)) return false;
    s = topo_xml_str(e, "vendor");
    g_strlcpy(d.vendor, s, sizeof d.vendor);
    enum cpu_vendor v = cpu_vendor_of(s);
    g_free(s);
    if (v == VENDOR_UNKNOWN)
      topo_xml_warn(&b->x, e,
                    "unknown CPU vendor \"%s\" (GenuineIntel, AuthenticAMD, CentaurHauls): using NCCL's defaults",
                    d.vendor);
    if (v == VENDOR_INTEL || v == VENDOR_ZHAOXIN) {
      if (!topo_xml_int(&b->x, e, "familyid", true, &d.familyid, b->err) ||
          !topo_xml_int(&b->x, e, "modelid", true, &d.modelid, b->err))
        return false;
    } else if (!topo_xml_int(&b->x, e, "familyid", false, &d.familyid, b->err) ||
               !topo_xml_int(&b->x, e, "modelid", false, &d.modelid, b->err)) {
      return false;
    }
  } else {
    s = topo_xml_str(e, "vendor");
    g_strlcpy(d.vendor, s ? s : "", sizeof d.vendor);
    g_free(s);
  }
  struct topo_node *cpu = new_node(b, TOPO_NODE_CPU, id, e);
  if (!cpu) return false;
  cpu->device = d.index;
  g_array_append_val(CPUS(b->sys), d);

  for (xmlNodePtr c = e->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (is_elem(c, "pci")) {
      if (!add_pci(b, c, cpu, d.index, 0)) return false;
    } else if (is_elem(c, "nic")) {
      int64_t nid = make_id(b->host, 0); /* NCCL: a NIC without PCI has local id 0 */
      struct topo_node *nic = find_node(b->sys, TOPO_NODE_NIC, b->host, nid);
      if (!nic) {
        if (!(nic = new_node(b, TOPO_NODE_NIC, nid, c))) return false;
        topo_connect(cpu, nic, TOPO_LINK_PCI, TOPO_LOC_BW);
        topo_connect(nic, cpu, TOPO_LINK_PCI, TOPO_LOC_BW);
      }
      if (!add_nic(b, c, nic, d.index, NULL)) return false;
    } else if (is_elem(c, "gpu")) {
      topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, c, "GPU without a PCI parent: put it inside <pci busid=...>");
      return false;
    } else {
      topo_xml_warn(&b->x, c, "unexpected inside <cpu>: ignored");
    }
  }
  return true;
}

/* The CPU a node hangs off, following PCI links upwards (NCCL's findLocalCpu). */
static struct topo_node *local_cpu(struct topo_node *n, struct topo_node *from, int depth) {
  if (n->type == TOPO_NODE_CPU) return n;
  if (depth > 128) return NULL;
  for (guint l = 0; l < n->links->len; l++) {
    struct topo_link *k = link_at(n, l);
    if (k->type == TOPO_LINK_PCI && k->remote != from &&
        (k->remote->type == TOPO_NODE_PCI || k->remote->type == TOPO_NODE_CPU)) {
      struct topo_node *c = local_cpu(k->remote, n, depth + 1);
      if (c) return c;
    }
  }
  return NULL;
}

static bool add_nvlinks(struct builder *b) {
  struct topo_node *nvs = NULL;
  for (guint i = 0; i < b->gpu_elems->len; i++) {
    xmlNodePtr g = g_ptr_array_index(b->gpu_elems, i);
    struct topo_node *gpu = g_ptr_array_index(b->gpu_nodes, i);
    const struct topo_gpu *d = &g_array_index(GPUS(b->sys), struct topo_gpu, gpu->device);
    int k = 0;
    for (xmlNodePtr c = g->children; c; c = c->next) {
      if (!is_elem(c, "nvlink")) continue;
      const struct topo_nvlink *l = &d->nvlinks[k++];
      char cls[16];
      g_snprintf(cls, sizeof cls, "0x%06x", l->tclass);
      char *tcls = topo_xml_str(c, "tclass");
      int type = TOPO_NODE_PCI;
      prefix_lookup(pci_class_types, G_N_ELEMENTS(pci_class_types), tcls, &type);
      g_free(tcls);
      struct topo_node *remote = NULL;
      if (type == TOPO_NODE_GPU) {
        int64_t busid;
        if (!topo_xml_busid(&b->x, c, "target", &busid, NULL, b->err)) return false;
        remote = find_node(b->sys, TOPO_NODE_GPU, b->host, make_id(b->host, busid));
        if (!remote) {
          topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, c, "target=\"%s\" matches no GPU of this host", l->target);
          return false;
        }
        if (remote == gpu) {
          topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, c, "target=\"%s\" is the GPU itself", l->target);
          return false;
        }
      } else if (type == TOPO_NODE_CPU) {
        remote = local_cpu(gpu, NULL, 0);
      } else {
        if (type != TOPO_NODE_NVS)
          topo_xml_warn(&b->x, c, "tclass=\"%s\" is neither a GPU, an NVSwitch nor a CPU: taken as an NVSwitch, as NCCL does",
                        cls);
        if (!nvs && !(nvs = new_node(b, TOPO_NODE_NVS, make_id(b->host, 0), c))) return false;
        remote = nvs;
      }
      if (!remote) continue;
      float bw = (float)l->count * topo_nvlink_bw(d->sm);
      topo_connect(gpu, remote, TOPO_LINK_NVL, bw);
      if (remote->type != TOPO_NODE_GPU) topo_connect(remote, gpu, TOPO_LINK_NVL, bw);
    }
  }
  return true;
}

static bool add_c2c(struct builder *b) {
  for (guint i = 0; i < b->gpu_elems->len; i++) {
    xmlNodePtr g = g_ptr_array_index(b->gpu_elems, i);
    struct topo_node *gpu = g_ptr_array_index(b->gpu_nodes, i);
    for (xmlNodePtr c = g->children; c; c = c->next) {
      if (!is_elem(c, "c2c")) continue;
      int count = 0, bw = 0;
      if (!topo_xml_int(&b->x, c, "count", true, &count, b->err) || !topo_xml_int(&b->x, c, "bw", true, &bw, b->err))
        return false;
      struct topo_node *cpu = local_cpu(gpu, NULL, 0);
      if (!cpu) continue;
      float c2c = (float)((bw * (double)count) / 1000.0);
      topo_connect(gpu, cpu, TOPO_LINK_C2C, c2c);
      topo_connect(cpu, gpu, TOPO_LINK_C2C, c2c);
    }
  }
  return true;
}

static bool add_pcilinks(struct builder *b) {
  for (guint i = 0; i < b->switch_elems->len; i++) {
    xmlNodePtr e = g_ptr_array_index(b->switch_elems, i);
    struct topo_node *sw = g_ptr_array_index(b->switch_nodes, i);
    for (xmlNodePtr c = e->children; c; c = c->next) {
      if (!is_elem(c, "pcilink")) continue;
      int64_t busid;
      char text[TOPO_BUSID_LEN];
      if (!topo_xml_busid(&b->x, c, "target", &busid, text, b->err)) return false;
      struct topo_node *remote = find_node(b->sys, TOPO_NODE_PCI, b->host, make_id(b->host, busid));
      if (!remote) {
        topo_xml_error(b->err, TOPO_ERROR_INVALID, &b->x, c, "target=\"%s\" matches no PCI switch of this host", text);
        return false;
      }
      topo_connect(sw, remote, TOPO_LINK_LOC, TOPO_LOC_BW);
    }
  }
  return true;
}

/* Broadcom Gen4/Gen5 PCIe switches show two levels that NCCL merges into one (ncclTopoFlattenBcmSwitches). */
static int bcm_gen(uint64_t dev, int level) {
  if ((dev & 0xfffffffffffff000ULL) == 0x1000c0101000a000ULL) return 4;
  if ((dev & 0xfffffffffffff000ULL) == (0x1000c03010000000ULL | (uint64_t)level * 0x1000)) return 5;
  return 0;
}

static void remove_pci_node(struct topo_system *sys, struct topo_node *dead) {
  GPtrArray *a = sys->nodes[TOPO_NODE_PCI];
  g_ptr_array_remove(a, dead);
  for (guint i = 0; i < a->len; i++) ((struct topo_node *)g_ptr_array_index(a, i))->index = (int)i;
  struct topo_host *h = &sys->hosts[dead->node];
  h->count[TOPO_NODE_PCI]--;
  for (int i = h->first[TOPO_NODE_PCI]; i < h->first[TOPO_NODE_PCI] + h->count[TOPO_NODE_PCI]; i++)
    ((struct topo_node *)g_ptr_array_index(a, i))->host_index = i - h->first[TOPO_NODE_PCI];
  g_array_free(dead->links, TRUE);
  g_free(dead);
}

static void flatten_bcm_switches(struct topo_system *sys, int host) {
  const struct topo_host *h = &sys->hosts[host];
  for (int s = h->first[TOPO_NODE_PCI]; s < h->first[TOPO_NODE_PCI] + h->count[TOPO_NODE_PCI]; s++) {
    struct topo_node *sw = g_ptr_array_index(sys->nodes[TOPO_NODE_PCI], s);
    int gen = bcm_gen(sw->pci_device, 0);
    if (!gen) continue;
    GPtrArray *subs = g_ptr_array_new();
    for (guint l = 0; l < sw->links->len; l++) {
      struct topo_node *sub = link_at(sw, l)->remote;
      if (sub->type != TOPO_NODE_PCI || bcm_gen(sub->pci_device, 1) != gen) continue;
      g_ptr_array_add(subs, sub);
      g_array_remove_index(sw->links, l);
      l--;
    }
    for (guint i = 0; i < subs->len; i++) {
      struct topo_node *sub = g_ptr_array_index(subs, i);
      for (guint l = 0; l < sub->links->len; l++) {
        struct topo_link k = *link_at(sub, l);
        if (k.remote == sw) continue;
        g_array_append_val(sw->links, k);
        for (guint r = 0; r < k.remote->links->len; r++)
          if (link_at(k.remote, r)->remote == sub) {
            link_at(k.remote, r)->remote = sw;
            break;
          }
      }
      remove_pci_node(sys, sub);
    }
    g_ptr_array_free(subs, TRUE);
    sw->pci_device |= 0xffff;
    s = h->first[TOPO_NODE_PCI] - 1;
  }
}

static uint64_t salted_hash(uint64_t h, uint64_t salt) {
  return salt ? h ^ (salt * 0x9E3779B97F4A7C15ULL) : h;
}

bool topo_system_add_doc(struct topo_system *sys, xmlDocPtr doc, const char *name, uint64_t salt, GError **err) {
  struct topo_xml_ctx x = {name};
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (!root || !is_elem(root, "system")) {
    topo_xml_error(err, TOPO_ERROR_INVALID, &x, root, "is not a topology: the top element must be <system version=\"1\">");
    return false;
  }
  int version = 0;
  if (!topo_xml_int(&x, root, "version", true, &version, err)) return false;
  if (version != 1) {
    topo_xml_error(err, TOPO_ERROR_INVALID, &x, root, "version=\"%d\": only version 1 exists (NCCL rejects others)", version);
    return false;
  }
  bool ok = true;
  int ncpu = 0;
  for (xmlNodePtr c = root->children; c && ok; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (!is_elem(c, "cpu")) {
      topo_xml_warn(&x, c, "unexpected inside <system>: ignored");
      continue;
    }
    ncpu++;
  }
  if (ncpu == 0) {
    topo_xml_error(err, TOPO_ERROR_INVALID, &x, root, "has no <cpu>: nothing to load");
    return false;
  }
  /* Consecutive <cpu> elements with the same host hash form one host. */
  xmlNodePtr c = root->children;
  while (c && ok) {
    if (!is_elem(c, "cpu")) {
      c = c->next;
      continue;
    }
    uint64_t hash = 0;
    if (!topo_xml_u64(&x, c, "host_hash", false, &hash, err)) return false;
    hash = salted_hash(hash, salt);
    for (int h = 0; h < sys->nnodes; h++)
      if (sys->hosts[h].host_hash == hash) {
        topo_xml_error(err, TOPO_ERROR_INVALID, &x, c,
                       "host_hash 0x%" G_GINT64_MODIFIER "x appears before: the <cpu>s of one host must be consecutive",
                       hash);
        return false;
      }
    if (sys->nnodes >= TOPO_MAX_HOSTS) {
      topo_xml_error(err, TOPO_ERROR_INVALID, &x, c, "more than %d hosts", TOPO_MAX_HOSTS);
      return false;
    }
    sys->hosts = g_renew(struct topo_host, sys->hosts, sys->nnodes + 1);
    struct topo_host *host = &sys->hosts[sys->nnodes];
    memset(host, 0, sizeof *host);
    host->host_hash = hash;
    for (int t = 0; t < TOPO_NODE_TYPES; t++) host->first[t] = (int)sys->nodes[t]->len;
    struct builder b = {.sys = sys, .x = x, .host = sys->nnodes, .err = err};
    sys->nnodes++;
    b.busids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    b.gpu_elems = g_ptr_array_new();
    b.gpu_nodes = g_ptr_array_new();
    b.switch_elems = g_ptr_array_new();
    b.switch_nodes = g_ptr_array_new();
    for (; c && ok; c = c->next) {
      if (!is_elem(c, "cpu")) continue;
      uint64_t h2 = 0;
      if (!topo_xml_u64(&x, c, "host_hash", false, &h2, err)) {
        ok = false;
        break;
      }
      if (salted_hash(h2, salt) != hash) break;
      ok = add_cpu(&b, c, hash);
    }
    ok = ok && add_nvlinks(&b) && add_c2c(&b) && add_pcilinks(&b);
    if (ok) flatten_bcm_switches(sys, b.host);
    g_hash_table_destroy(b.busids);
    g_ptr_array_free(b.gpu_elems, TRUE);
    g_ptr_array_free(b.gpu_nodes, TRUE);
    g_ptr_array_free(b.switch_elems, TRUE);
    g_ptr_array_free(b.switch_nodes, TRUE);
  }
  return ok;
}

/* Moves the link towards the parent to the end of each node's list, down the PCI tree (ncclTopoSortSystem). */
static void sort_links(struct topo_node *n, struct topo_node *up, int depth) {
  if (depth > 256) return;
  if (up) {
    guint l = 0;
    while (l < n->links->len && link_at(n, l)->remote != up) l++;
    if (l < n->links->len) {
      struct topo_link save = *link_at(n, l);
      g_array_remove_index(n->links, l);
      g_array_append_val(n->links, save);
    }
  }
  for (guint l = 0; l < n->links->len; l++) {
    struct topo_link *k = link_at(n, l);
    if (k->type == TOPO_LINK_PCI && k->remote != up) sort_links(k->remote, n, depth + 1);
  }
}

static double max_path_bw(const struct topo_node *gpu, enum topo_node_type t, int count) {
  double m = 0;
  if (!gpu->paths[t]) return 0;
  for (int i = 0; i < count; i++)
    if (gpu->paths[t][i].nhops != 0 && gpu->paths[t][i].bw > m) m = gpu->paths[t][i].bw;
  return m;
}

bool topo_system_finish(struct topo_system *sys, GError **err) {
  for (int h = 0; h < sys->nnodes; h++) {
    const struct topo_host *host = &sys->hosts[h];
    for (int i = 0; i < host->count[TOPO_NODE_CPU]; i++) {
      struct topo_node *c1 = g_ptr_array_index(sys->nodes[TOPO_NODE_CPU], host->first[TOPO_NODE_CPU] + i);
      for (int j = 0; j < host->count[TOPO_NODE_CPU]; j++) {
        if (i == j) continue;
        struct topo_node *c2 = g_ptr_array_index(sys->nodes[TOPO_NODE_CPU], host->first[TOPO_NODE_CPU] + j);
        topo_connect(c1, c2, TOPO_LINK_SYS, cpu_inter_bw(&g_array_index(CPUS(sys), struct topo_cpu, c1->device)));
      }
    }
  }
  GPtrArray *cpus = sys->nodes[TOPO_NODE_CPU];
  for (guint i = 0; i < cpus->len; i++) sort_links(g_ptr_array_index(cpus, i), NULL, 0);

  sys->ngpus = (int)GPUS(sys)->len;
  sys->nnics = (int)NICS(sys)->len;
  sys->ncpus = (int)CPUS(sys)->len;
  sys->gpus = (struct topo_gpu *)(void *)g_array_free(GPUS(sys), FALSE);
  sys->nics = (struct topo_nic *)(void *)g_array_free(NICS(sys), FALSE);
  sys->cpus = (struct topo_cpu *)(void *)g_array_free(CPUS(sys), FALSE);
  g_free(sys->build);
  sys->build = NULL;
  if (sys->nnodes > 0) {
    sys->gpus_per_node = sys->ngpus % sys->nnodes ? 0 : sys->ngpus / sys->nnodes;
    sys->nics_per_node = sys->nnics % sys->nnodes ? 0 : sys->nnics / sys->nnodes;
    sys->cpus_per_node = sys->ncpus % sys->nnodes ? 0 : sys->ncpus / sys->nnodes;
  }
  if (!topo_compute_paths(sys, err)) return false;

  /* ncclTopoSearchInit: per-channel max bandwidth and total GPU bandwidth. */
  int inter = sys->nnodes > 1;
  sys->max_bw = sys->total_bw = 0;
  if (!inter && sys->ngpus == 1) {
    sys->max_bw = sys->total_bw = TOPO_LOC_BW;
    return true;
  }
  for (int g = 0; g < sys->ngpus; g++) {
    struct topo_node *gpu = g_ptr_array_index(sys->nodes[TOPO_NODE_GPU], g);
    enum topo_node_type t = inter ? TOPO_NODE_NET : TOPO_NODE_GPU;
    double m = max_path_bw(gpu, t, sys->hosts[gpu->node].count[t]);
    if (m > sys->max_bw) sys->max_bw = m;
    double nvl = 0, pci = 0;
    for (guint l = 0; l < gpu->links->len; l++) {
      const struct topo_link *k = link_at(gpu, l);
      if (k->type == TOPO_LINK_NVL) nvl += k->bw;
      if (k->type == TOPO_LINK_PCI) pci = k->bw;
    }
    double total = nvl > pci ? nvl : pci;
    if (total > sys->total_bw) sys->total_bw = total;
  }
  return true;
}
