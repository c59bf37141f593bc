/* topo_gen.c — writes standard systems as NCCL topology XML: real parts' PCI ids and link speeds, GPUs
 * and NICs sharing PCIe switches the way the real boards wire them, NICs as <net> entries named mlx5_N.
 * The text follows NCCL's dump format (one element per line, attributes in NCCL's order, no XML
 * declaration, which NCCL's own reader does not accept). */
#include <string.h>
#include "topo.h"
#include "topo_gen.h"

struct part {
  const char *cls;
  unsigned vendor, device, sub_vendor, sub_device;
  const char *speed; /* PCIe link speed as Linux writes it */
  int width;
};

struct kind {
  const char *name, *description;
  /* CPU sockets */
  const char *cpu_vendor;
  int familyid, modelid, cores_per_socket;
  /* GPUs */
  struct part gpu;
  int sm, nvlinks, ngpus;
  /* NICs */
  struct part nic;
  int nic_mbps, nnics;
  /* PCIe switches */
  struct part sw;
  /* Layout: per slot (GPU k and NIC k), bus numbers; -1 where absent. */
  int gpu_bus[8], nic_bus[8], switch_bus[8], top_bus[8]; /* top_bus: second level above the switch */
  int socket_of_slot[8];
};

#define NONE -1
static const struct kind kinds[] = {
  {"dgx-a100", "NVIDIA DGX A100: 8x A100-SXM4-80GB (sm80, 12 NVLinks each to NVSwitch), 8x ConnectX-6 200 Gb/s "
               "beside the GPUs on two-level PCIe Gen4 switches, 2x AMD EPYC 7742",
   "AuthenticAMD", 23, 49, 64,
   {"0x030200", 0x10de, 0x20b2, 0x10de, 0x1463, "16.0 GT/s PCIe", 16}, 80, 12, 8,
   {"0x020700", 0x15b3, 0x101b, 0x15b3, 0x0007, "16.0 GT/s PCIe", 16}, 200000, 8,
   {"0x060400", 0x1000, 0xc010, 0x1000, 0x100b, "16.0 GT/s PCIe", 16},
   {0x07, 0x0f, 0x47, 0x4e, 0x87, 0x90, 0xb7, 0xbd},
   {0x0c, 0x12, 0x4b, 0x54, 0x8d, 0x94, 0xba, 0xcc},
   {0x05, 0x0d, 0x45, 0x4c, 0x85, 0x8e, 0xb5, 0xbb},
   {0x03, 0x03, 0x43, 0x43, 0x83, 0x83, 0xb3, 0xb3},
   {0, 0, 0, 0, 1, 1, 1, 1}},
  {"dgx-h100", "NVIDIA DGX H100: 8x H100-SXM5-80GB (sm90, 18 NVLinks each to NVSwitch), 8x ConnectX-7 400 Gb/s, "
               "each sharing a PCIe Gen5 switch with one GPU, 2x Intel Xeon Platinum 8480C",
   "GenuineIntel", 6, 143, 56,
   {"0x030200", 0x10de, 0x2330, 0x10de, 0x16c1, "32.0 GT/s PCIe", 16}, 90, 18, 8,
   {"0x020700", 0x15b3, 0x1021, 0x15b3, 0x0041, "32.0 GT/s PCIe", 16}, 400000, 8,
   {"0x060400", 0x1000, 0xc030, 0x1000, 0xa0d0, "32.0 GT/s PCIe", 16},
   {0x1b, 0x43, 0x52, 0x61, 0x9d, 0xc3, 0xd1, 0xdf},
   {0x1a, 0x42, 0x51, 0x60, 0x9c, 0xc2, 0xd0, 0xde},
   {0x18, 0x40, 0x4f, 0x5e, 0x9a, 0xc0, 0xce, 0xdc},
   {NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE},
   {0, 0, 0, 0, 1, 1, 1, 1}},
  {"dgx-h200", "NVIDIA DGX H200: 8x H200-SXM-141GB (sm90, 18 NVLinks each to NVSwitch), 8x ConnectX-7 400 Gb/s, "
               "each sharing a PCIe Gen5 switch with one GPU, 2x Intel Xeon Platinum 8480C",
   "GenuineIntel", 6, 143, 56,
   {"0x030200", 0x10de, 0x2335, 0x10de, 0x18bf, "32.0 GT/s PCIe", 16}, 90, 18, 8,
   {"0x020700", 0x15b3, 0x1021, 0x15b3, 0x0041, "32.0 GT/s PCIe", 16}, 400000, 8,
   {"0x060400", 0x1000, 0xc030, 0x1000, 0xa0d0, "32.0 GT/s PCIe", 16},
   {0x1b, 0x43, 0x52, 0x61, 0x9d, 0xc3, 0xd1, 0xdf},
   {0x1a, 0x42, 0x51, 0x60, 0x9c, 0xc2, 0xd0, 0xde},
   {0x18, 0x40, 0x4f, 0x5e, 0x9a, 0xc0, 0xce, 0xdc},
   {NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE},
   {0, 0, 0, 0, 1, 1, 1, 1}},
  {"hgx-b200", "NVIDIA HGX B200: 8x B200 (sm100, 18 NVLinks each to NVSwitch), 8x ConnectX-7 400 Gb/s, each sharing "
               "a PCIe Gen5 switch with one GPU, 2x Intel Xeon Platinum 8570",
   "GenuineIntel", 6, 207, 56,
   {"0x030200", 0x10de, 0x2901, 0x10de, 0x1999, "32.0 GT/s PCIe", 16}, 100, 18, 8,
   {"0x020700", 0x15b3, 0x1021, 0x15b3, 0x0041, "32.0 GT/s PCIe", 16}, 400000, 8,
   {"0x060400", 0x1000, 0xc030, 0x1000, 0xa0d0, "32.0 GT/s PCIe", 16},
   {0x1b, 0x43, 0x52, 0x61, 0x9d, 0xc3, 0xd1, 0xdf},
   {0x1a, 0x42, 0x51, 0x60, 0x9c, 0xc2, 0xd0, 0xde},
   {0x18, 0x40, 0x4f, 0x5e, 0x9a, 0xc0, 0xce, 0xdc},
   {NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE},
   {0, 0, 0, 0, 1, 1, 1, 1}},
  {"pcie-l40s", "PCIe server: 4x L40S (sm89, no NVLink); GPU 0, GPU 1 and one ConnectX-6 Dx 100 Gb/s on a PCIe Gen4 "
                "switch of socket 0, GPU 2 and 3 on root ports of socket 1; 2x Intel Xeon Gold 6448Y",
   "GenuineIntel", 6, 143, 32,
   {"0x030000", 0x10de, 0x26b9, 0x10de, 0x1851, "16.0 GT/s PCIe", 16}, 89, 0, 4,
   {"0x020000", 0x15b3, 0x101d, 0x15b3, 0x0016, "16.0 GT/s PCIe", 16}, 100000, 1,
   {"0x060400", 0x1000, 0xc010, 0x1000, 0x100b, "16.0 GT/s PCIe", 16},
   {0x4a, 0x4b, 0xca, 0xe1, NONE, NONE, NONE, NONE},
   {0x4c, NONE, NONE, NONE, NONE, NONE, NONE, NONE},
   {0x48, 0x48, NONE, NONE, NONE, NONE, NONE, NONE},
   {NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE},
   {0, 0, 1, 1, 0, 0, 0, 0}},
};

const char *const *topo_gen_kinds(void) {
  static const char *names[G_N_ELEMENTS(kinds) + 1];
  for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) names[i] = kinds[i].name;
  names[G_N_ELEMENTS(kinds)] = NULL;
  return names;
}

static const struct kind *find_kind(const char *name) {
  for (size_t i = 0; name && i < G_N_ELEMENTS(kinds); i++)
    if (!strcmp(kinds[i].name, name)) return &kinds[i];
  return NULL;
}

const char *topo_gen_describe(const char *kind) {
  const struct kind *k = find_kind(kind);
  return k ? k->description : NULL;
}

/* Linux cpumask text of one socket (both hyperthreads of its cores), 32-bit words, highest first. */
static void affinity(GString *out, int socket, int sockets, int cores) {
  int threads = 2 * sockets * cores;
  int words = (threads + 31) / 32;
  for (int w = words - 1; w >= 0; w--) {
    uint32_t m = 0;
    for (int bit = 0; bit < 32; bit++) {
      int t = w * 32 + bit;
      if (t >= threads) break;
      int core = t % (sockets * cores);
      if (core / cores == socket) m |= 1u << bit;
    }
    g_string_append_printf(out, "%08x%s", m, w ? "," : "");
  }
}

static void pci_open(GString *x, int indent, int bus, const struct part *p, bool single) {
  g_string_append_printf(x,
                         "%*s<pci busid=\"0000:%02x:00.0\" class=\"%s\" vendor=\"0x%04x\" device=\"0x%04x\" "
                         "subsystem_vendor=\"0x%04x\" subsystem_device=\"0x%04x\" link_speed=\"%s\" link_width=\"%d\"%s>\n",
                         indent, "", bus, p->cls, p->vendor, p->device, p->sub_vendor, p->sub_device, p->speed, p->width,
                         single ? "/" : "");
}

static void gpu_elem(GString *x, int indent, const struct kind *k, int slot, int dev) {
  pci_open(x, indent, k->gpu_bus[slot], &k->gpu, false);
  g_string_append_printf(x, "%*s<gpu dev=\"%d\" sm=\"%d\" rank=\"%d\" gdr=\"1\"%s>\n", indent + 2, "", dev, k->sm, dev,
                         k->nvlinks ? "" : "/");
  if (k->nvlinks) {
    g_string_append_printf(x, "%*s<nvlink target=\"fffffff:ff:ff.0\" count=\"%d\" tclass=\"0x068000\"/>\n", indent + 4,
                           "", k->nvlinks);
    g_string_append_printf(x, "%*s</gpu>\n", indent + 2, "");
  }
  g_string_append_printf(x, "%*s</pci>\n", indent, "");
}

static void nic_elem(GString *x, int indent, const struct kind *k, int slot, int dev, int mbps, uint64_t hash) {
  pci_open(x, indent, k->nic_bus[slot], &k->nic, false);
  g_string_append_printf(x, "%*s<nic>\n", indent + 2, "");
  /* GUIDs in Mellanox's OUI range, distinct per host and port. */
  uint64_t guid = 0xb83fd20300000000ULL | ((hash & 0xffff) << 12) | (uint64_t)(0x100 + dev);
  g_string_append_printf(x,
                         "%*s<net name=\"mlx5_%d\" dev=\"%d\" latency=\"0\" speed=\"%d\" port=\"1\" guid=\"0x%" G_GINT64_MODIFIER
                         "x\" maxconn=\"131072\" gdr=\"1\"/>\n",
                         indent + 4, "", dev, dev, mbps, guid);
  g_string_append_printf(x, "%*s</nic>\n", indent + 2, "");
  g_string_append_printf(x, "%*s</pci>\n", indent, "");
}

char *topo_gen_xml(const char *name, const struct topo_gen_options *o, GError **err) {
  const struct kind *k = find_kind(name);
  if (!k) {
    char *list = g_strjoinv(", ", (char **)topo_gen_kinds());
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "unknown system '%s' (known: %s)", name ? name : "", list);
    g_free(list);
    return NULL;
  }
  struct topo_gen_options d = {0};
  if (!o) o = &d;
  int ngpus = o->gpus ? o->gpus : k->ngpus, nnics = o->nics > 0 ? o->nics : (o->nics < 0 ? 0 : k->nnics);
  if (ngpus < 1 || ngpus > k->ngpus) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s has 1 to %d GPUs, not %d", k->name, k->ngpus, ngpus);
    return NULL;
  }
  if (o->nics < 0 || nnics > k->nnics) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "%s has 0 to %d NICs, not %d", k->name, k->nnics, o->nics);
    return NULL;
  }
  if (o->nic_gbps < 0 || o->nic_gbps > 100000) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_INVALID, "NIC speed %d Gb/s out of range", o->nic_gbps);
    return NULL;
  }
  int mbps = o->nic_gbps ? o->nic_gbps * 1000 : k->nic_mbps;
  uint64_t hash = o->host_hash ? o->host_hash : (0x5c0de00000000000ULL | (g_str_hash(k->name) & 0xffffffffu));

  GString *x = g_string_new("<system version=\"1\">\n");
  int nsockets = 0;
  for (int s = 0; s < 8; s++)
    if (k->gpu_bus[s] != NONE && k->socket_of_slot[s] + 1 > nsockets) nsockets = k->socket_of_slot[s] + 1;
  for (int sock = 0; sock < nsockets; sock++) {
    g_string_append_printf(x, "  <cpu host_hash=\"0x%016" G_GINT64_MODIFIER "x\" numaid=\"%d\" affinity=\"", hash, sock);
    affinity(x, sock, nsockets, k->cores_per_socket);
    g_string_append_printf(x, "\" arch=\"x86_64\" vendor=\"%s\" familyid=\"%d\" modelid=\"%d\">\n", k->cpu_vendor,
                           k->familyid, k->modelid);
    int open_top = NONE, open_switch = NONE;
    for (int s = 0; s < 8; s++) {
      if (k->socket_of_slot[s] != sock) continue;
      bool has_gpu = k->gpu_bus[s] != NONE && s < ngpus;
      bool has_nic = k->nic_bus[s] != NONE && s < nnics;
      if (k->gpu_bus[s] == NONE) continue;
      int sw = k->switch_bus[s], top = k->top_bus[s];
      /* Close the switches this slot does not share with the previous one. */
      if (open_switch != NONE && open_switch != sw) {
        g_string_append_printf(x, "%*s</pci>\n", open_top != NONE ? 6 : 4, "");
        open_switch = NONE;
      }
      if (open_top != NONE && open_top != top) {
        g_string_append(x, "    </pci>\n");
        open_top = NONE;
      }
      if (!has_gpu && !has_nic) continue;
      if (top != NONE && open_top == NONE) {
        pci_open(x, 4, top, &k->sw, false);
        open_top = top;
      }
      int indent = open_top != NONE ? 6 : 4;
      if (sw != NONE && open_switch == NONE) {
        pci_open(x, indent, sw, &k->sw, false);
        open_switch = sw;
      }
      if (sw != NONE) indent += 2;
      if (has_gpu) gpu_elem(x, indent, k, s, s);
      if (has_nic) nic_elem(x, indent, k, s, s, mbps, hash);
    }
    if (open_switch != NONE) g_string_append_printf(x, "%*s</pci>\n", open_top != NONE ? 6 : 4, "");
    if (open_top != NONE) g_string_append(x, "    </pci>\n");
    g_string_append(x, "  </cpu>\n");
  }
  g_string_append(x, "</system>\n");
  return g_string_free(x, FALSE);
}
