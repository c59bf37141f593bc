/* test_topo.c — unit and golden tests of topo/: bundled topologies, path types and bandwidths against
 * NCCL's own log of the measured 4x H200 machine, small systems for NVB/C2C/P2C/GDR, the malformed
 * corpus, clusters, fabrics and generator round trips. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include "topo.h"
#include "topo_gen.h"

static char *data_path(const char *rel) {
  return g_build_filename(CCSIM_TEST_DATA, rel, NULL);
}
static char *scenario_path(const char *rel) {
  return g_build_filename(CCSIM_SOURCE_DIR, "scenarios", rel, NULL);
}

static struct topo_system *load_ok(const char *path) {
  GError *err = NULL;
  struct topo_system *sys = topo_load(path, &err);
  if (!sys) g_error("%s: %s", path, err->message);
  return sys;
}

static void check_path(const struct topo_system *sys, enum topo_node_type st, int s, enum topo_node_type dt, int d,
                       const char *type, double bw) {
  const struct topo_path *p = topo_path_get(sys, st, s, dt, d);
  g_assert_nonnull(p);
  if (strcmp(topo_path_type_name(p->type), type) || fabs(p->bw - bw) > 0.05)
    g_error("%s: %s%d -> %s%d is %s %.2f, expected %s %.2f", sys->source, topo_node_type_name(st), s,
            topo_node_type_name(dt), d, topo_path_type_name(p->type), p->bw, type, bw);
}
#define GPU TOPO_NODE_GPU
#define NET TOPO_NODE_NET

/* Compares every path NCCL printed for a topology ("GPU/0-60 :GPU/0-60 (0/5000.0/LOC) ...", one line per
 * GPU and NET source, as NCCL_DEBUG_SUBSYS=GRAPH logs it) and its "=== System : maxBw" line with ours. */
static int find_by_id(const struct topo_system *sys, enum topo_node_type t, const char *hex) {
  int64_t id = (int64_t)g_ascii_strtoull(hex, NULL, 16);
  for (guint i = 0; i < sys->nodes[t]->len; i++)
    if ((((struct topo_node *)g_ptr_array_index(sys->nodes[t], i))->id & 0x00ffffffffffffffLL) == id) return (int)i;
  g_error("%s: no %s node with id %s", sys->source, topo_node_type_name(t), hex);
  return -1;
}

static enum topo_node_type type_of(const char *s) {
  for (int t = 0; t < TOPO_NODE_TYPES; t++)
    if (!strcmp(s, topo_node_type_name(t))) return t;
  g_error("unknown node type %s", s);
  return TOPO_NODE_GPU;
}

static void compare_with_nccl_log(const char *xml, const char *log) {
  struct topo_system *sys = load_ok(xml);
  char *text = NULL;
  g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
  GRegex *sys_re = g_regex_new("=== System : maxBw ([0-9.]+) totalBw ([0-9.]+) ===", 0, 0, NULL);
  GRegex *line_re = g_regex_new("NCCL INFO (GPU|NET)/0-([0-9a-f]+) :(.*)$", G_REGEX_MULTILINE, 0, NULL);
  GRegex *entry_re = g_regex_new("(GPU|NET|CPU|NVS)/0-([0-9a-f]+) \\(([0-9]+)/([0-9.]+)/([A-Z0-9]+)\\)", 0, 0, NULL);
  GMatchInfo *m;
  g_assert_true(g_regex_match(sys_re, text, 0, &m));
  char *maxbw = g_match_info_fetch(m, 1), *totalbw = g_match_info_fetch(m, 2), ours[32];
  g_snprintf(ours, sizeof ours, "%.1f", sys->max_bw);
  g_assert_cmpstr(ours, ==, maxbw);
  g_snprintf(ours, sizeof ours, "%.1f", sys->total_bw);
  g_assert_cmpstr(ours, ==, totalbw);
  g_free(maxbw), g_free(totalbw);
  g_match_info_free(m);
  int lines = 0;
  g_regex_match(line_re, text, 0, &m);
  while (g_match_info_matches(m)) {
    char *st = g_match_info_fetch(m, 1), *sid = g_match_info_fetch(m, 2), *rest = g_match_info_fetch(m, 3);
    enum topo_node_type stype = type_of(st);
    int src = find_by_id(sys, stype, sid), entries = 0, dis_entries = 0;
    GMatchInfo *e;
    g_regex_match(entry_re, rest, 0, &e);
    while (g_match_info_matches(e)) {
      char *dt = g_match_info_fetch(e, 1), *did = g_match_info_fetch(e, 2), *hops = g_match_info_fetch(e, 3),
           *bw = g_match_info_fetch(e, 4), *type = g_match_info_fetch(e, 5);
      enum topo_node_type dtype = type_of(dt);
      const struct topo_path *p = topo_path_get(sys, stype, src, dtype, find_by_id(sys, dtype, did));
      g_assert_nonnull(p);
      char got[64], want[64];
      g_snprintf(got, sizeof got, "%d/%.1f/%s", p->nhops, p->bw, topo_path_type_name(p->type)); /* NCCL prints %.1f */
      g_snprintf(want, sizeof want, "%s/%s/%s", hops, bw, type);
      if (strcmp(got, want))
        g_error("%s: %s/%s -> %s/%s is %s, NCCL says %s", xml, st, sid, dt, did, got, want);
      entries++;
      dis_entries += !strcmp(type, "DIS");
      g_free(dt), g_free(did), g_free(hops), g_free(bw), g_free(type);
      g_match_info_next(e, NULL);
    }
    g_match_info_free(e);
    /* NCCL lists every reachable GPU, NVS, CPU and NET node: so must we have exactly those reachable. */
    int reachable = 0;
    const enum topo_node_type listed[] = {TOPO_NODE_GPU, TOPO_NODE_NVS, TOPO_NODE_CPU, TOPO_NODE_NET};
    for (size_t i = 0; i < G_N_ELEMENTS(listed); i++)
      for (guint d = 0; d < sys->nodes[listed[i]]->len; d++)
        reachable += topo_path_get(sys, stype, src, listed[i], (int)d)->type != TOPO_PATH_DIS;
    g_assert_cmpint(entries - dis_entries, ==, reachable);
    lines++;
    g_free(st), g_free(sid), g_free(rest);
    g_match_info_next(m, NULL);
  }
  g_match_info_free(m);
  g_assert_cmpint(lines, >, 0);
  g_assert_cmpint(lines % (sys->ngpus + sys->nnics), ==, 0); /* each rank of a log prints them all */
  g_regex_unref(sys_re);
  g_regex_unref(line_re);
  g_regex_unref(entry_re);
  g_free(text);
  topo_free(sys);
}

/* The measured machine, against the log NCCL wrote on it. */
static void test_measured_matches_nccl_log(void) {
  char *xml = data_path("measured/h200x4/topo.xml"), *log = data_path("measured/h200x4/g4_all_reduce_default.log");
  compare_with_nccl_log(xml, log);
  g_free(xml);
  g_free(log);
}

/* Generated and hand-written systems, against the real NCCL run on virtual GPUs built from them
 * (tests/data/topo/nccl-paths/README.md). */
static void test_matches_nccl_on_virtual_gpus(void) {
  const char *cases[][2] = {
    {"scenarios/topologies/dgx-a100.xml", "dgx-a100"},   {"scenarios/topologies/dgx-h100.xml", "dgx-h100"},
    {"scenarios/topologies/dgx-h200.xml", "dgx-h200"},   {"scenarios/topologies/hgx-b200.xml", "hgx-b200"},
    {"scenarios/topologies/pcie-l40s.xml", "pcie-l40s"}, {"tests/data/topo/good/gh200-c2c.xml", "gh200-c2c"},
    {"tests/data/topo/good/nvlink-ring-4gpu.xml", "nvlink-ring-4gpu"},
    {"tests/data/topo/good/no-gdr-dual-port-nic.xml", "no-gdr-dual-port-nic"},
    {"tests/data/topo/good/bcm-gen4-flattened.xml", "bcm-gen4-flattened"},
    {"tests/data/topo/good/dgx-h100-6gpu-3nic.xml", "dgx-h100-6gpu-3nic"},
    {"tests/data/topo/good/amd-2gpu-2socket.xml", "amd-2gpu-2socket"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *xml = g_build_filename(CCSIM_SOURCE_DIR, cases[i][0], NULL);
    char *name = g_strdup_printf("topo/nccl-paths/%s.log", cases[i][1]), *log = data_path(name);
    compare_with_nccl_log(xml, log);
    g_free(xml), g_free(name), g_free(log);
  }
}

static void test_measured_device_view(void) {
  char *xml = scenario_path("topologies/default.xml");
  struct topo_system *sys = load_ok(xml);
  g_assert_cmpint(sys->nnodes, ==, 1);
  g_assert_cmpint(sys->ngpus, ==, 4);
  g_assert_cmpint(sys->nnics, ==, 1);
  g_assert_cmpint(sys->ncpus, ==, 1);
  g_assert_cmpint((int)sys->nodes[TOPO_NODE_NVS]->len, ==, 1);
  for (int g = 0; g < 4; g++) {
    g_assert_cmpint(sys->gpus[g].sm, ==, 90);
    g_assert_cmpint(sys->gpus[g].dev, ==, g);
    g_assert_cmpint(sys->gpus[g].pci.link_width, ==, 0);
    g_assert_cmpint(sys->gpus[g].n_nvlinks, ==, 1);
    g_assert_cmpstr(sys->gpus[g].nvlinks[0].target, ==, "fffffff:ff:ff.0");
    g_assert_cmpint(sys->gpus[g].nvlinks[0].count, ==, 18);
    g_assert_cmpuint(sys->gpus[g].nvlinks[0].tclass, ==, 0x068000);
    g_assert_cmpint(topo_node_of(sys, GPU, g)->device, ==, g);
    for (int p = 0; p < 4; p++)
      if (p != g) check_path(sys, GPU, g, GPU, p, "NVL", 370.8);
    check_path(sys, GPU, g, NET, 0, "PHB", 1.25);
  }
  g_assert_cmpstr(sys->gpus[0].pci.busid, ==, "0000:00:06.0");
  g_assert_cmpuint(sys->gpus[0].pci.device, ==, 0x2335);
  g_assert_cmpstr(sys->nics[0].name, ==, "eth0");
  g_assert_false(sys->nics[0].has_pci);
  g_assert_cmpint(sys->nics[0].speed_mbps, ==, 10000);
  g_assert_cmpuint(sys->cpus[0].host_hash, ==, 0xac523f88f46c7ef7ULL);
  g_free(xml);
  topo_free(sys);
}

static double cpu_link_bw(const struct topo_system *sys) {
  const struct topo_node *c = topo_node_of(sys, TOPO_NODE_CPU, 0);
  for (guint l = 0; l < c->links->len; l++) {
    const struct topo_link *k = &g_array_index(c->links, struct topo_link, l);
    if (k->type == TOPO_LINK_SYS) return k->bw;
  }
  return -1;
}

static void test_dgx_h100(void) {
  char *xml = scenario_path("topologies/dgx-h100.xml");
  struct topo_system *sys = load_ok(xml);
  g_assert_cmpint(sys->ngpus, ==, 8);
  g_assert_cmpint(sys->nnics, ==, 8);
  g_assert_cmpint(sys->ncpus, ==, 2);
  for (int g = 0; g < 8; g++) {
    for (int p = 0; p < 8; p++)
      if (p != g) check_path(sys, GPU, g, GPU, p, "NVL", 370.8);
    check_path(sys, GPU, g, NET, g, "PIX", 48.0);
    check_path(sys, GPU, g, NET, (g + 4) % 8, "PXN", 48.0); /* other socket's NIC, through its own GPU */
    g_assert_cmpint(topo_gpu_net(sys, g, 0), ==, g);
    g_assert_cmpint(sys->gpus[g].cpu, ==, g / 4);
  }
  check_path(sys, NET, 0, GPU, 4, "SYS", 22.0); /* NIC -> GPU is never rerouted through a peer GPU */
  g_assert_cmpfloat_with_epsilon(cpu_link_bw(sys), 22.0, 1e-6); /* Sapphire Rapids UPI */
  g_assert_cmpint(sys->nics[3].speed_mbps, ==, 400000);
  g_assert_cmpstr(sys->nics[3].name, ==, "mlx5_3");
  g_free(xml);
  topo_free(sys);
}

static void test_dgx_a100(void) {
  char *xml = scenario_path("topologies/dgx-a100.xml");
  struct topo_system *sys = load_ok(xml);
  check_path(sys, GPU, 0, GPU, 7, "NVL", 240.0);
  check_path(sys, GPU, 0, NET, 0, "PIX", 24.0);
  check_path(sys, GPU, 0, NET, 1, "PXB", 24.0); /* neighbour's NIC: up and down a two-level switch */
  check_path(sys, NET, 0, GPU, 7, "SYS", 16.0);
  g_assert_cmpfloat_with_epsilon(cpu_link_bw(sys), 16.0, 1e-6); /* AMD */
  g_free(xml);
  topo_free(sys);
}

static void test_hgx_b200(void) {
  char *xml = scenario_path("topologies/hgx-b200.xml");
  struct topo_system *sys = load_ok(xml);
  check_path(sys, GPU, 2, GPU, 5, "NVL", 721.8);
  check_path(sys, GPU, 5, NET, 5, "PIX", 48.0);
  g_assert_cmpfloat_with_epsilon(cpu_link_bw(sys), 40.0, 1e-6); /* Emerald Rapids */
  g_free(xml);
  topo_free(sys);
}

static void test_pcie_l40s(void) {
  char *xml = scenario_path("topologies/pcie-l40s.xml");
  struct topo_system *sys = load_ok(xml);
  g_assert_cmpint(sys->ngpus, ==, 4);
  g_assert_cmpint(sys->nnics, ==, 1);
  check_path(sys, GPU, 0, GPU, 1, "PIX", 24.0);
  check_path(sys, GPU, 2, GPU, 3, "PHB", 24.0);
  check_path(sys, GPU, 0, GPU, 2, "SYS", 22.0);
  check_path(sys, GPU, 3, GPU, 1, "SYS", 22.0);
  check_path(sys, GPU, 1, NET, 0, "PIX", 12.5);
  check_path(sys, GPU, 2, NET, 0, "SYS", 12.5);
  g_free(xml);
  topo_free(sys);
}

static void test_small_systems(void) {
  char *p = data_path("topo/good/nvlink-ring-4gpu.xml");
  struct topo_system *sys = load_ok(p);
  check_path(sys, GPU, 0, GPU, 1, "NVL", 80.0);
  check_path(sys, GPU, 0, GPU, 2, "NVB", 80.0);
  const struct topo_path *nvb = topo_path_get(sys, GPU, 0, GPU, 2);
  g_assert_cmpint(nvb->nhops, ==, 2);
  g_assert_true(nvb->hops[0]->remote->type == TOPO_NODE_GPU);
  g_assert_cmpint((int)sys->nodes[TOPO_NODE_NVS]->len, ==, 0);
  topo_free(sys);
  g_free(p);

  p = data_path("topo/good/gh200-c2c.xml");
  sys = load_ok(p);
  check_path(sys, GPU, 0, TOPO_NODE_CPU, 0, "C2C", 450.0);
  check_path(sys, GPU, 0, NET, 0, "P2C", 48.0);
  g_assert_cmpint(sys->gpus[0].c2c_count, ==, 10);
  g_assert_cmpfloat_with_epsilon(sys->gpus[0].c2c_bw, 45.0, 1e-9);
  topo_free(sys);
  g_free(p);

  p = data_path("topo/good/bcm-gen4-flattened.xml");
  sys = load_ok(p);
  g_assert_cmpint((int)sys->nodes[TOPO_NODE_PCI]->len, ==, 4); /* 4 top switches absorbed their 8 subs */
  check_path(sys, GPU, 0, NET, 1, "PIX", 24.0);                 /* PXB in dgx-a100.xml */
  topo_free(sys);
  g_free(p);

  p = data_path("topo/good/amd-2gpu-2socket.xml");
  sys = load_ok(p);
  check_path(sys, GPU, 0, GPU, 1, "SYS", 16.0); /* P2P allowed: direct across the AMD link */
  g_assert_cmpint(topo_path_get(sys, GPU, 0, GPU, 1)->nhops, ==, 3);
  topo_free(sys);
  g_free(p);

  p = data_path("topo/good/no-gdr-dual-port-nic.xml");
  sys = load_ok(p);
  g_assert_cmpint(sys->nnics, ==, 2);
  g_assert_cmpint((int)sys->nodes[TOPO_NODE_NIC]->len, ==, 1); /* both ports on one NIC */
  check_path(sys, GPU, 0, NET, 0, "PHB", 12.5);                 /* no GDR: through the CPU */
  check_path(sys, GPU, 0, NET, 1, "PHB", 12.5);
  g_assert_cmpint(topo_path_get(sys, GPU, 0, NET, 0)->nhops, ==, 5);
  topo_free(sys);
  g_free(p);
}

static void test_unknown_vendor_warns(void) {
  if (g_test_subprocess()) {
    g_log_set_always_fatal(G_LOG_FATAL_MASK); /* the warning is the point here */
    char *p = data_path("topo/good/unknown-cpu-vendor.xml");
    struct topo_system *sys = load_ok(p);
    check_path(sys, GPU, 0, GPU, 1, "SYS", 24.0);
    g_assert_cmpfloat_with_epsilon(cpu_link_bw(sys), 5000.0, 1e-6);
    topo_free(sys);
    g_free(p);
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stderr("*unknown CPU vendor \"HygonGenuine\"*");
}

/* Each file in the malformed corpus fails to load; its first line says what the message must contain. */
static void test_bad_corpus(void) {
  char *dir = data_path("topo/bad");
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  int n = 0;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (!g_str_has_suffix(name, ".xml")) continue;
    char *path = g_build_filename(dir, name, NULL), *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    GError *err = NULL;
    struct topo_system *sys = topo_load(path, &err);
    if (sys) g_error("%s loaded but must fail", path);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, path));
    const char *expect = strstr(text, "<!-- expect: ");
    if (expect) {
      char *want = g_strndup(expect + 13, (gsize)(strstr(expect, " -->") - expect - 13));
      if (!strstr(err->message, want)) g_error("%s: message \"%s\" lacks \"%s\"", name, err->message, want);
      g_free(want);
    }
    g_error_free(err);
    g_free(text);
    g_free(path);
    n++;
  }
  g_dir_close(d);
  g_assert_cmpint(n, >=, 30);
  g_free(dir);
}

static void test_cluster(void) {
  char *xml = scenario_path("topologies/dgx-h100.xml"), *fab = scenario_path("fabrics/rail-400g.json");
  GError *err = NULL;
  struct topo_system *sys = topo_load_cluster(xml, 2, fab, &err);
  g_assert_no_error(err);
  g_assert_cmpint(sys->nnodes, ==, 2);
  g_assert_cmpint(sys->ngpus, ==, 16);
  g_assert_cmpint(sys->nnics, ==, 16);
  g_assert_cmpint(sys->gpus_per_node, ==, 8);
  g_assert_cmpuint(sys->hosts[0].host_hash, !=, sys->hosts[1].host_hash);
  g_assert_cmpuint(sys->cpus[0].host_hash, ==, sys->hosts[0].host_hash);
  g_assert_cmpuint(sys->cpus[2].host_hash, ==, sys->hosts[1].host_hash);
  g_assert_cmpint(topo_node_of(sys, GPU, 9)->node, ==, 1);
  g_assert_cmpint(topo_node_of(sys, GPU, 9)->host_index, ==, 1);
  check_path(sys, GPU, 9, GPU, 14, "NVL", 370.8);
  check_path(sys, GPU, 9, NET, 9, "PIX", 48.0);
  g_assert_null(topo_path_get(sys, GPU, 0, GPU, 8)); /* different hosts: the fabric joins them */
  g_assert_cmpint(topo_gpu_net(sys, 9, 0), ==, 9);
  struct topo_fabric_route r;
  g_assert_true(topo_fabric_route(sys, 1, 9, &r)); /* same rail */
  g_assert_cmpint(r.switches, ==, 1);
  g_assert_cmpfloat_with_epsilon(r.bw, 50.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(r.latency_us, 0.6, 1e-9);
  g_assert_true(topo_fabric_route(sys, 1, 10, &r)); /* across rails: through a spine */
  g_assert_cmpint(r.switches, ==, 3);
  g_assert_false(topo_fabric_route(sys, 1, 2, &r)); /* same host */
  g_assert_cmpfloat_with_epsilon(sys->max_bw, 48.0, 0.05);
  topo_free(sys);

  /* Default fabric, and 2:1 fat tree of small switches: 64 nodes need several leaves. */
  sys = topo_load_cluster(xml, 64, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpint(sys->ngpus, ==, 512);
  g_assert_true(sys->fabric->kind == TOPO_FABRIC_RAIL);
  g_assert_cmpfloat_with_epsilon(sys->fabric->link_gbps, 400, 1e-9);
  check_path(sys, GPU, 511, NET, 511, "PIX", 48.0);
  topo_free(sys);
  g_free(fab);
  fab = scenario_path("fabrics/fat-tree-200g-2to1.json");
  sys = topo_load_cluster(xml, 8, fab, &err);
  g_assert_no_error(err);
  g_assert_true(topo_fabric_route(sys, 0, 8, &r)); /* node 1 NIC 0: same 26-port leaf */
  g_assert_cmpint(r.switches, ==, 1);
  g_assert_true(topo_fabric_route(sys, 0, 63, &r));
  g_assert_cmpint(r.switches, ==, 3);
  g_assert_cmpfloat_with_epsilon(r.bw, 12.5, 1e-9); /* 200 Gb/s halved by oversubscription */
  topo_free(sys);
  g_free(fab);
  g_free(xml);
}

static void test_bad_fabrics(void) {
  const char *cases[][2] = {
    {"{\"kind\": \"torus\", \"link_gbps\": 400}", "unknown kind"},
    {"{\"kind\": \"fat-tree\"}", "missing \"link_gbps\""},
    {"{\"kind\": \"fat-tree\", \"link_gbps\": -4}", "\"link_gbps\" must be"},
    {"{\"kind\": \"fat-tree\", \"link_gbps\": 100, \"oversubscription\": 0.5}", "\"oversubscription\" must be"},
    {"{\"kind\": \"fat-tree\", \"link_gbps\": 100, \"radix\": 8}", "unknown key \"radix\""},
    {"{\"kind\": \"rail\",\n \"link_gbps\": 100,\n}", ":3: malformed JSON"},
    {"[1, 2]", "must be a JSON object"},
    {"", "malformed JSON"},
  };
  char *dir = g_dir_make_tmp("ccsim-fabric-XXXXXX", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *p = g_build_filename(dir, "f.json", NULL);
    g_assert_true(g_file_set_contents(p, cases[i][0], -1, NULL));
    GError *err = NULL;
    struct topo_fabric *f = topo_fabric_load(p, &err);
    g_assert_null(f);
    if (!strstr(err->message, cases[i][1])) g_error("fabric %zu: \"%s\" lacks \"%s\"", i, err->message, cases[i][1]);
    g_error_free(err);
    g_remove(p);
    g_free(p);
  }
  g_rmdir(dir);
  g_free(dir);
}

static void test_gen_round_trip(void) {
  struct expect {
    const char *kind;
    int gpus, nics, cpus, nvs;
    const char *gg01, *gn00;
  } cases[] = {
    {"dgx-a100", 8, 8, 2, 1, "NVL", "PIX"},  {"dgx-h100", 8, 8, 2, 1, "NVL", "PIX"},
    {"dgx-h200", 8, 8, 2, 1, "NVL", "PIX"},  {"hgx-b200", 8, 8, 2, 1, "NVL", "PIX"},
    {"pcie-l40s", 4, 1, 2, 0, "PIX", "PIX"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *err = NULL;
    char *xml = topo_gen_xml(cases[i].kind, NULL, &err);
    g_assert_no_error(err);
    g_assert_false(g_str_has_prefix(xml, "<?xml")); /* NCCL's reader rejects a declaration */
    struct topo_system *sys = topo_load_buffer(xml, strlen(xml), cases[i].kind, &err);
    g_assert_no_error(err);
    g_assert_cmpint(sys->ngpus, ==, cases[i].gpus);
    g_assert_cmpint(sys->nnics, ==, cases[i].nics);
    g_assert_cmpint(sys->ncpus, ==, cases[i].cpus);
    g_assert_cmpint((int)sys->nodes[TOPO_NODE_NVS]->len, ==, cases[i].nvs);
    g_assert_cmpstr(topo_path_type_name(topo_path_get(sys, GPU, 0, GPU, 1)->type), ==, cases[i].gg01);
    g_assert_cmpstr(topo_path_type_name(topo_path_get(sys, GPU, 0, NET, 0)->type), ==, cases[i].gn00);
    for (int g = 0; g < sys->ngpus; g++) g_assert_cmpint(sys->gpus[g].rank, ==, g);
    /* The bundled copy is exactly what the generator writes. */
    char *name = g_strdup_printf("topologies/%s.xml", cases[i].kind), *path = scenario_path(name), *bundled = NULL;
    g_assert_true(g_file_get_contents(path, &bundled, NULL, NULL));
    g_assert_cmpstr(bundled, ==, xml);
    g_free(bundled), g_free(path), g_free(name);
    topo_free(sys);
    g_free(xml);
  }
  /* Options: fewer GPUs and NICs, other NIC speed, host hash. */
  struct topo_gen_options o = {.gpus = 4, .nics = 2, .nic_gbps = 200, .host_hash = 0xabc};
  GError *err = NULL;
  char *xml = topo_gen_xml("dgx-h100", &o, &err);
  g_assert_no_error(err);
  struct topo_system *sys = topo_load_buffer(xml, strlen(xml), "opts", &err);
  g_assert_no_error(err);
  g_assert_cmpint(sys->ngpus, ==, 4);
  g_assert_cmpint(sys->nnics, ==, 2);
  g_assert_cmpint(sys->nics[1].speed_mbps, ==, 200000);
  g_assert_cmpuint(sys->cpus[0].host_hash, ==, 0xabc);
  check_path(sys, GPU, 1, NET, 1, "PIX", 25.0);
  topo_free(sys);
  g_free(xml);
  o = (struct topo_gen_options){.gpus = 9};
  g_assert_null(topo_gen_xml("dgx-h100", &o, &err));
  g_assert_nonnull(strstr(err->message, "1 to 8 GPUs"));
  g_clear_error(&err);
  g_assert_null(topo_gen_xml("dgx-z9", NULL, &err));
  g_assert_nonnull(strstr(err->message, "unknown system"));
  g_clear_error(&err);
}

static void test_every_bundled_topology_loads(void) {
  char *dir = scenario_path("topologies");
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  int n = 0;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (!g_str_has_suffix(name, ".xml")) continue;
    char *p = g_build_filename(dir, name, NULL);
    struct topo_system *sys = load_ok(p);
    g_assert_cmpint(sys->ngpus, >, 0);
    for (int g = 0; g < sys->ngpus; g++)
      for (int q = 0; q < sys->ngpus; q++) {
        const struct topo_path *path = topo_path_get(sys, GPU, g, GPU, q);
        g_assert_true(path->type != TOPO_PATH_DIS && path->bw > 0);
      }
    topo_free(sys);
    g_free(p);
    n++;
  }
  g_dir_close(d);
  g_assert_cmpint(n, >=, 7);
  g_free(dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/topo/measured-matches-nccl-log", test_measured_matches_nccl_log);
  g_test_add_func("/topo/matches-nccl-on-virtual-gpus", test_matches_nccl_on_virtual_gpus);
  g_test_add_func("/topo/measured-device-view", test_measured_device_view);
  g_test_add_func("/topo/dgx-h100", test_dgx_h100);
  g_test_add_func("/topo/dgx-a100", test_dgx_a100);
  g_test_add_func("/topo/hgx-b200", test_hgx_b200);
  g_test_add_func("/topo/pcie-l40s", test_pcie_l40s);
  g_test_add_func("/topo/small-systems", test_small_systems);
  g_test_add_func("/topo/unknown-vendor-warns", test_unknown_vendor_warns);
  g_test_add_func("/topo/bad-corpus", test_bad_corpus);
  g_test_add_func("/topo/cluster", test_cluster);
  g_test_add_func("/topo/bad-fabrics", test_bad_fabrics);
  g_test_add_func("/topo/gen-round-trip", test_gen_round_trip);
  g_test_add_func("/topo/every-bundled-topology-loads", test_every_bundled_topology_loads);
  return g_test_run();
}
