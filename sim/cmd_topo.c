/* cmd_topo.c — `ccsim topo`: load and check a topology (one node or a cluster), print its devices and
 * the GPU/NIC path matrix as text or JSON; `ccsim topo gen` writes standard systems as NCCL XML. */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cmd.h"
#include "topo.h"
#include "topo_gen.h"

static const char *prog = "ccsim topo";

static void print_warning(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {
  (void)domain;
  (void)level;
  (void)data;
  fprintf(stderr, "%s: warning: %s\n", prog, msg);
}

/* ---- text report ---- */

static int count_links(const struct topo_system *sys, enum topo_link_type type) {
  int n = 0;
  for (int t = 0; t < TOPO_NODE_TYPES; t++)
    for (guint i = 0; i < sys->nodes[t]->len; i++) {
      const struct topo_node *a = g_ptr_array_index(sys->nodes[t], i);
      for (guint l = 0; l < a->links->len; l++) {
        const struct topo_link *k = &g_array_index(a->links, struct topo_link, l);
        if (k->type != type) continue;
        const struct topo_node *b = k->remote;
        bool back = false;
        for (guint r = 0; r < b->links->len && !back; r++) {
          const struct topo_link *q = &g_array_index(b->links, struct topo_link, r);
          back = q->remote == a && q->type == type;
        }
        /* each connection once: from the lower node when it goes both ways */
        if (!back || a->type < b->type || (a->type == b->type && a->index < b->index)) n++;
      }
    }
  return n;
}

static double gpu_link_bw(const struct topo_system *sys, int g, enum topo_link_type type, int *peers) {
  const struct topo_node *n = topo_node_of(sys, TOPO_NODE_GPU, g);
  double bw = 0;
  *peers = 0;
  for (guint l = 0; l < n->links->len; l++) {
    const struct topo_link *k = &g_array_index(n->links, struct topo_link, l);
    if (k->type == type) {
      bw += k->bw;
      (*peers)++;
    }
  }
  return bw;
}

static void cell(char *buf, size_t len, const struct topo_path *p, bool self) {
  if (self) g_snprintf(buf, len, "X");
  else if (!p || p->type == TOPO_PATH_DIS) g_snprintf(buf, len, "-");
  else g_snprintf(buf, len, "%s %.1f", topo_path_type_name(p->type), p->bw);
}

static void print_text(const struct topo_system *sys) {
  const struct topo_host *h0 = &sys->hosts[0];
  int ng = h0->count[TOPO_NODE_GPU], nn = h0->count[TOPO_NODE_NET];
  printf("Topology %s\n", sys->source);
  if (sys->nnodes > 1)
    printf("  %d nodes, each: ", sys->nnodes);
  else
    printf("  ");
  printf("%d CPU%s, %d GPU%s, %d NIC%s, %d NVSwitch%s, %d PCI switch%s\n", h0->count[TOPO_NODE_CPU],
         h0->count[TOPO_NODE_CPU] == 1 ? "" : "s", ng, ng == 1 ? "" : "s", nn, nn == 1 ? "" : "s",
         h0->count[TOPO_NODE_NVS], h0->count[TOPO_NODE_NVS] == 1 ? "" : "es", h0->count[TOPO_NODE_PCI],
         h0->count[TOPO_NODE_PCI] == 1 ? "" : "es");
  printf("  links%s: %d NVL, %d C2C, %d PCI, %d SYS, %d NET, %d LOC\n", sys->nnodes > 1 ? " (all nodes)" : "",
         count_links(sys, TOPO_LINK_NVL), count_links(sys, TOPO_LINK_C2C), count_links(sys, TOPO_LINK_PCI),
         count_links(sys, TOPO_LINK_SYS), count_links(sys, TOPO_LINK_NET), count_links(sys, TOPO_LINK_LOC));
  printf("  NCCL bandwidth summary: maxBw %.1f GB/s, totalBw %.1f GB/s\n", sys->max_bw, sys->total_bw);
  if (sys->fabric) {
    const struct topo_fabric *f = sys->fabric;
    printf("  fabric: %s, %.0f Gb/s links, radix %d, oversubscription %.2g:1, %.2f us per switch\n",
           topo_fabric_kind_name(f->kind), f->link_gbps, f->switch_radix, f->oversubscription, f->hop_latency_us);
  }
  printf("\n");
  for (int c = 0; c < h0->count[TOPO_NODE_CPU]; c++) {
    const struct topo_cpu *cpu = &sys->cpus[c];
    printf("CPU%-3d numa %d, %s %s family %d model %d, host_hash 0x%016" G_GINT64_MODIFIER "x\n", c, cpu->numaid,
           cpu->arch, cpu->vendor[0] ? cpu->vendor : "-", cpu->familyid, cpu->modelid, cpu->host_hash);
  }
  for (int g = 0; g < ng; g++) {
    const struct topo_gpu *gpu = &sys->gpus[g];
    int nvl_peers, pci_peers;
    double nvl = gpu_link_bw(sys, g, TOPO_LINK_NVL, &nvl_peers);
    double pci = gpu_link_bw(sys, g, TOPO_LINK_PCI, &pci_peers);
    int links = 0;
    for (int i = 0; i < gpu->n_nvlinks; i++) links += gpu->nvlinks[i].count;
    printf("GPU%-3d %s sm%d dev %d rank %d gdr %d, CPU%d, PCIe %.1f GB/s", g, gpu->pci.busid, gpu->sm, gpu->dev,
           gpu->rank, gpu->gdr, gpu->cpu, pci);
    if (links) printf(", %d NVLinks %.1f GB/s", links, nvl);
    if (gpu->c2c_count) printf(", C2C %d x %.1f GB/s", gpu->c2c_count, gpu->c2c_bw);
    printf("\n");
  }
  for (int n = 0; n < nn; n++) {
    const struct topo_nic *nic = &sys->nics[n];
    int mbps = nic->speed_mbps <= 0 ? 10000 : nic->speed_mbps;
    printf("NIC%-3d %s dev %d, %g Gb/s (%.1f GB/s), port %d, gdr %d, CPU%d, %s\n", n, nic->name[0] ? nic->name : "-",
           nic->dev, mbps / 1000.0, mbps / 8000.0, nic->port, nic->gdr, nic->cpu, nic->has_pci ? nic->pci.busid : "no PCI");
  }

  char buf[32];
  printf("\nGPU-GPU paths (type, GB/s)%s\n%-8s", sys->nnodes > 1 ? ", node 0" : "", "");
  for (int j = 0; j < ng; j++) {
    char hdr[16];
    g_snprintf(hdr, sizeof hdr, "GPU%d", j);
    printf("%-12s", hdr);
  }
  printf("\n");
  for (int i = 0; i < ng; i++) {
    char hdr[16];
    g_snprintf(hdr, sizeof hdr, "GPU%d", i);
    printf("%-8s", hdr);
    for (int j = 0; j < ng; j++) {
      cell(buf, sizeof buf, topo_path_get(sys, TOPO_NODE_GPU, i, TOPO_NODE_GPU, j), i == j);
      printf("%-12s", buf);
    }
    printf("\n");
  }
  if (nn) {
    printf("\nGPU-NIC paths (type, GB/s)%s\n%-8s", sys->nnodes > 1 ? ", node 0" : "", "");
    for (int j = 0; j < nn; j++) {
      const char *name = sys->nics[j].name[0] ? sys->nics[j].name : "NIC";
      char hdr[TOPO_NAME_LEN + 8];
      g_snprintf(hdr, sizeof hdr, "%s", name);
      printf("%-12s", hdr);
    }
    printf("\n");
    for (int i = 0; i < ng; i++) {
      char hdr[16];
      g_snprintf(hdr, sizeof hdr, "GPU%d", i);
      printf("%-8s", hdr);
      for (int j = 0; j < nn; j++) {
        cell(buf, sizeof buf, topo_path_get(sys, TOPO_NODE_GPU, i, TOPO_NODE_NET, j), false);
        printf("%-12s", buf);
      }
      printf("\n");
    }
  }
  if (sys->nnodes > 1 && sys->fabric && nn > 0) {
    printf("\nBetween nodes (node 0 -> node 1, NIC used on channel 0):\n");
    int base = sys->hosts[1].first[TOPO_NODE_GPU];
    for (int g = 0; g < ng && base + g < sys->ngpus; g++) {
      int na = topo_gpu_net(sys, g, 0), nb = topo_gpu_net(sys, base + g, 0);
      struct topo_fabric_route r;
      if (na < 0 || nb < 0 || !topo_fabric_route(sys, na, nb, &r)) continue;
      const struct topo_path *pa = topo_path_get(sys, TOPO_NODE_GPU, g, TOPO_NODE_NET, na);
      double bw = r.bw;
      if (pa && pa->bw < bw) bw = pa->bw;
      printf("GPU%-3d NET %.1f GB/s via %s (%s), %d switch%s, %.2f us\n", g, bw, sys->nics[na].name[0] ? sys->nics[na].name : "NIC",
             pa ? topo_path_type_name(pa->type) : "?", r.switches, r.switches == 1 ? "" : "es", r.latency_us);
    }
  }
}

/* ---- JSON report ---- */

static cJSON *path_json(const struct topo_path *p) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", p ? topo_path_type_name(p->type) : "DIS");
  cJSON_AddNumberToObject(o, "bw", p ? p->bw : 0);
  cJSON_AddNumberToObject(o, "hops", p ? p->nhops : 0);
  return o;
}

static char *hex64(uint64_t v) {
  return g_strdup_printf("0x%016" G_GINT64_MODIFIER "x", v);
}

static cJSON *pci_json(const struct topo_pci_attrs *p) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "busid", p->busid);
  char b[16];
  g_snprintf(b, sizeof b, "0x%06x", p->class_code);
  cJSON_AddStringToObject(o, "class", b);
  g_snprintf(b, sizeof b, "0x%04x", p->vendor);
  cJSON_AddStringToObject(o, "vendor", b);
  g_snprintf(b, sizeof b, "0x%04x", p->device);
  cJSON_AddStringToObject(o, "device", b);
  cJSON_AddStringToObject(o, "link_speed", p->link_speed);
  cJSON_AddNumberToObject(o, "link_width", p->link_width);
  return o;
}

static char *report_json(const struct topo_system *sys) {
  const struct topo_host *h0 = &sys->hosts[0];
  int ng = h0->count[TOPO_NODE_GPU], nn = h0->count[TOPO_NODE_NET];
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "source", sys->source);
  cJSON_AddNumberToObject(root, "nodes", sys->nnodes);
  cJSON *counts = cJSON_AddObjectToObject(root, "per_node");
  for (int t = 0; t < TOPO_NODE_TYPES; t++) cJSON_AddNumberToObject(counts, topo_node_type_name(t), h0->count[t]);
  cJSON *links = cJSON_AddObjectToObject(root, "links");
  const enum topo_link_type lt[] = {TOPO_LINK_NVL, TOPO_LINK_C2C, TOPO_LINK_PCI, TOPO_LINK_SYS, TOPO_LINK_NET, TOPO_LINK_LOC};
  for (size_t i = 0; i < G_N_ELEMENTS(lt); i++) cJSON_AddNumberToObject(links, topo_link_type_name(lt[i]), count_links(sys, lt[i]));
  cJSON_AddNumberToObject(root, "max_bw", sys->max_bw);
  cJSON_AddNumberToObject(root, "total_bw", sys->total_bw);

  cJSON *cpus = cJSON_AddArrayToObject(root, "cpus");
  for (int c = 0; c < sys->ncpus; c++) {
    const struct topo_cpu *cpu = &sys->cpus[c];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", c);
    cJSON_AddNumberToObject(o, "node", topo_node_of(sys, TOPO_NODE_CPU, c)->node);
    cJSON_AddNumberToObject(o, "numaid", cpu->numaid);
    cJSON_AddStringToObject(o, "arch", cpu->arch);
    cJSON_AddStringToObject(o, "vendor", cpu->vendor);
    cJSON_AddNumberToObject(o, "familyid", cpu->familyid);
    cJSON_AddNumberToObject(o, "modelid", cpu->modelid);
    char *h = hex64(cpu->host_hash);
    cJSON_AddStringToObject(o, "host_hash", h);
    g_free(h);
    cJSON_AddItemToArray(cpus, o);
  }
  cJSON *gpus = cJSON_AddArrayToObject(root, "gpus");
  for (int g = 0; g < sys->ngpus; g++) {
    const struct topo_gpu *gpu = &sys->gpus[g];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", g);
    cJSON_AddNumberToObject(o, "node", topo_node_of(sys, TOPO_NODE_GPU, g)->node);
    cJSON_AddItemToObject(o, "pci", pci_json(&gpu->pci));
    cJSON_AddNumberToObject(o, "dev", gpu->dev);
    cJSON_AddNumberToObject(o, "sm", gpu->sm);
    cJSON_AddNumberToObject(o, "rank", gpu->rank);
    cJSON_AddNumberToObject(o, "gdr", gpu->gdr);
    cJSON_AddNumberToObject(o, "cpu", gpu->cpu);
    cJSON *nv = cJSON_AddArrayToObject(o, "nvlinks");
    for (int i = 0; i < gpu->n_nvlinks; i++) {
      cJSON *l = cJSON_CreateObject();
      cJSON_AddStringToObject(l, "target", gpu->nvlinks[i].target);
      cJSON_AddNumberToObject(l, "count", gpu->nvlinks[i].count);
      char b[16];
      g_snprintf(b, sizeof b, "0x%06x", gpu->nvlinks[i].tclass);
      cJSON_AddStringToObject(l, "tclass", b);
      cJSON_AddItemToArray(nv, l);
    }
    cJSON_AddItemToArray(gpus, o);
  }
  cJSON *nics = cJSON_AddArrayToObject(root, "nics");
  for (int n = 0; n < sys->nnics; n++) {
    const struct topo_nic *nic = &sys->nics[n];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", n);
    cJSON_AddNumberToObject(o, "node", topo_node_of(sys, TOPO_NODE_NET, n)->node);
    cJSON_AddStringToObject(o, "name", nic->name);
    cJSON_AddNumberToObject(o, "dev", nic->dev);
    cJSON_AddNumberToObject(o, "speed_mbps", nic->speed_mbps);
    cJSON_AddNumberToObject(o, "port", nic->port);
    cJSON_AddNumberToObject(o, "gdr", nic->gdr);
    cJSON_AddNumberToObject(o, "maxconn", nic->maxconn);
    cJSON_AddNumberToObject(o, "cpu", nic->cpu);
    char *g = hex64(nic->guid);
    cJSON_AddStringToObject(o, "guid", g);
    g_free(g);
    if (nic->has_pci) cJSON_AddItemToObject(o, "pci", pci_json(&nic->pci));
    else cJSON_AddNullToObject(o, "pci");
    cJSON_AddItemToArray(nics, o);
  }
  cJSON *gg = cJSON_AddArrayToObject(root, "gpu_gpu");
  for (int i = 0; i < ng; i++) {
    cJSON *row = cJSON_CreateArray();
    for (int j = 0; j < ng; j++) cJSON_AddItemToArray(row, path_json(topo_path_get(sys, TOPO_NODE_GPU, i, TOPO_NODE_GPU, j)));
    cJSON_AddItemToArray(gg, row);
  }
  cJSON *gn = cJSON_AddArrayToObject(root, "gpu_nic");
  for (int i = 0; i < ng; i++) {
    cJSON *row = cJSON_CreateArray();
    for (int j = 0; j < nn; j++) cJSON_AddItemToArray(row, path_json(topo_path_get(sys, TOPO_NODE_GPU, i, TOPO_NODE_NET, j)));
    cJSON_AddItemToArray(gn, row);
  }
  if (sys->fabric) {
    const struct topo_fabric *f = sys->fabric;
    cJSON *o = cJSON_AddObjectToObject(root, "fabric");
    cJSON_AddStringToObject(o, "kind", topo_fabric_kind_name(f->kind));
    cJSON_AddNumberToObject(o, "link_gbps", f->link_gbps);
    cJSON_AddNumberToObject(o, "switch_radix", f->switch_radix);
    cJSON_AddNumberToObject(o, "oversubscription", f->oversubscription);
    cJSON_AddNumberToObject(o, "hop_latency_us", f->hop_latency_us);
    cJSON *inter = cJSON_AddArrayToObject(root, "inter_node");
    if (sys->nnodes > 1)
      for (int g = 0; g < ng; g++) {
        int base = sys->hosts[1].first[TOPO_NODE_GPU];
        int na = topo_gpu_net(sys, g, 0), nb = base + g < sys->ngpus ? topo_gpu_net(sys, base + g, 0) : -1;
        struct topo_fabric_route r;
        if (na < 0 || nb < 0 || !topo_fabric_route(sys, na, nb, &r)) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "gpu", g);
        cJSON_AddNumberToObject(e, "nic", na);
        cJSON_AddNumberToObject(e, "peer_gpu", base + g);
        cJSON_AddNumberToObject(e, "peer_nic", nb);
        cJSON_AddNumberToObject(e, "switches", r.switches);
        cJSON_AddNumberToObject(e, "bw", r.bw);
        cJSON_AddNumberToObject(e, "latency_us", r.latency_us);
        cJSON_AddItemToArray(inter, e);
      }
  } else {
    cJSON_AddNullToObject(root, "fabric");
  }
  char *s = cJSON_Print(root);
  cJSON_Delete(root);
  return s;
}

/* ---- ccsim topo gen ---- */

static int cmd_topo_gen(int argc, char **argv) {
  int gpus = 0, nics = -1, gbps = 0;
  char *out = NULL, *hash = NULL;
  GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the XML to FILE ('-' for standard output)", "FILE"},
    {"gpus", 0, 0, G_OPTION_ARG_INT, &gpus, "Keep only the first N GPUs (default: all)", "N"},
    {"nics", 0, 0, G_OPTION_ARG_INT, &nics, "Keep only the first N NICs, 0 for none (default: all)", "N"},
    {"nic-gbps", 0, 0, G_OPTION_ARG_INT, &gbps, "NIC speed in Gb/s (default: the system's own)", "GBPS"},
    {"host-hash", 0, 0, G_OPTION_ARG_STRING, &hash, "host_hash written on every <cpu> (hex; default: fixed per kind)", "HEX"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GString *kinds = g_string_new("Systems:\n");
  for (const char *const *k = topo_gen_kinds(); *k; k++) g_string_append_printf(kinds, "  %-10s %s\n", *k, topo_gen_describe(*k));
  GOptionContext *ctx = g_option_context_new("KIND - write a standard system as NCCL topology XML");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx, kinds->str);
  g_string_free(kinds, TRUE);
  GError *err = NULL;
  int rc = 0;
  char *xml = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "ccsim topo gen: %s\n", err->message);
    rc = 2;
    goto done;
  }
  if (argc != 2 || !out) {
    fprintf(stderr, "ccsim topo gen: %s\nUsage: ccsim topo gen KIND -o FILE (see --help)\n",
            argc != 2 ? "expected one KIND" : "missing -o FILE");
    rc = 2;
    goto done;
  }
  struct topo_gen_options o = {.gpus = gpus, .nics = nics < 0 ? 0 : (nics == 0 ? -1 : nics), .nic_gbps = gbps};
  if (hash) {
    char *end;
    o.host_hash = g_ascii_strtoull(hash, &end, 16);
    if (end == hash || *end || o.host_hash == 0) {
      fprintf(stderr, "ccsim topo gen: --host-hash '%s': expected a non-zero hexadecimal number\n", hash);
      rc = 2;
      goto done;
    }
  }
  xml = topo_gen_xml(argv[1], &o, &err);
  if (!xml) {
    fprintf(stderr, "ccsim topo gen: %s\n", err->message);
    rc = 2;
    goto done;
  }
  if (!strcmp(out, "-")) {
    fputs(xml, stdout);
  } else if (!g_file_set_contents(out, xml, -1, &err)) {
    fprintf(stderr, "ccsim topo gen: %s\n", err->message);
    rc = 1;
  }
done:
  g_clear_error(&err);
  g_free(xml);
  g_free(out);
  g_free(hash);
  g_option_context_free(ctx);
  return rc;
}

int cmd_topo(int argc, char **argv) {
  g_log_set_handler("ccsim-topo", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, print_warning, NULL);
  if (argc >= 2 && !strcmp(argv[1], "gen")) {
    prog = "ccsim topo gen";
    char *name = g_strdup("ccsim topo gen");
    argv[1] = name;
    int rc = cmd_topo_gen(argc - 1, argv + 1);
    g_free(name);
    return rc;
  }
  int nodes = 1;
  gboolean json = FALSE;
  char *fabric = NULL;
  GOptionEntry entries[] = {
    {"nodes", 'n', 0, G_OPTION_ARG_INT, &nodes, "Replicate the node N times into a cluster (default 1)", "N"},
    {"fabric", 'f', 0, G_OPTION_ARG_FILENAME, &fabric,
     "Fabric joining the nodes (JSON, docs/fabric.md; default: rail-optimized at the NICs' speed)", "FILE"},
    {"json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("FILE - load and check an NCCL topology XML, print devices and paths");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(
      ctx, "Paths use NCCL's types (NVL, NVB, C2C, PIX, PXB, P2C, PXN, PHB, SYS) with bottleneck bandwidth in GB/s.\n"
           "Also: ccsim topo gen KIND -o FILE writes a standard system (see ccsim topo gen --help).\n");
  GError *err = NULL;
  int rc = 0;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "%s: %s\n", prog, err->message);
    rc = 2;
    goto done;
  }
  if (argc != 2) {
    fprintf(stderr, "%s: expected one topology FILE\nUsage: ccsim topo FILE [--nodes N] [--fabric F] [--json]\n", prog);
    rc = 2;
    goto done;
  }
  if (nodes < 1) {
    fprintf(stderr, "%s: --nodes %d: must be at least 1\n", prog, nodes);
    rc = 2;
    goto done;
  }
  if (fabric && nodes < 2) fprintf(stderr, "%s: warning: --fabric has no effect on a single node\n", prog);
  struct topo_system *sys = topo_load_cluster(argv[1], nodes, fabric, &err);
  if (!sys) {
    fprintf(stderr, "%s: %s\n", prog, err->message);
    rc = 1;
    goto done;
  }
  if (json) {
    char *s = report_json(sys);
    printf("%s\n", s);
    cJSON_free(s);
  } else {
    print_text(sys);
  }
  topo_free(sys);
done:
  g_clear_error(&err);
  g_free(fabric);
  g_option_context_free(ctx);
  return rc;
}
