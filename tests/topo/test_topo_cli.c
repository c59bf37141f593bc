/* test_topo_cli.c — `ccsim topo` as a user runs it: the done-criteria outputs, JSON that parses, the
 * malformed corpus giving a message and exit status 1 (never a signal), clusters, and `topo gen`. */
#include <string.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>

static const char *ccsim;

struct run {
  int status; /* exit status, or 128 + signal */
  char *out, *err;
};

static struct run run_ccsim(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
                            const char *a6) {
  const char *argv[] = {ccsim, "topo", a1, a2, a3, a4, a5, a6, NULL};
  struct run r = {0};
  int wait_status = 0;
  GError *err = NULL;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &wait_status, &err))
    g_error("cannot run %s: %s", ccsim, err->message);
  r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return r;
}
static void run_free(struct run *r) {
  g_free(r->out);
  g_free(r->err);
}

static char *src(const char *rel) {
  return g_build_filename(CCSIM_SOURCE_DIR, rel, NULL);
}

static void test_measured_h200(void) {
  char *p = src("scenarios/topologies/h200x4-measured.xml");
  struct run r = run_ccsim(p, NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  g_assert_nonnull(strstr(r.out, "1 CPU, 4 GPUs, 1 NIC, 1 NVSwitch"));
  g_assert_nonnull(strstr(r.out, "GPU0    X           NVL 370.8   NVL 370.8   NVL 370.8"));
  g_assert_nonnull(strstr(r.out, "GPU3    NVL 370.8   NVL 370.8   NVL 370.8   X"));
  g_assert_nonnull(strstr(r.out, "eth0"));
  g_assert_cmpstr(r.err, ==, "");
  run_free(&r);
  g_free(p);
}

static void test_json(void) {
  char *p = src("scenarios/topologies/dgx-h100.xml");
  struct run r = run_ccsim(p, "--json", NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  cJSON *j = cJSON_Parse(r.out);
  g_assert_nonnull(j);
  g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItem(j, "gpus")), ==, 8);
  g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItem(j, "nics")), ==, 8);
  cJSON *gg = cJSON_GetObjectItem(j, "gpu_gpu"), *gn = cJSON_GetObjectItem(j, "gpu_nic");
  g_assert_cmpint(cJSON_GetArraySize(gg), ==, 8);
  for (int i = 0; i < 8; i++) {
    cJSON *row = cJSON_GetArrayItem(gg, i);
    for (int k = 0; k < 8; k++)
      g_assert_cmpstr(cJSON_GetObjectItem(cJSON_GetArrayItem(row, k), "type")->valuestring, ==, i == k ? "LOC" : "NVL");
    cJSON *pix = cJSON_GetArrayItem(cJSON_GetArrayItem(gn, i), i);
    g_assert_cmpstr(cJSON_GetObjectItem(pix, "type")->valuestring, ==, "PIX");
    g_assert_cmpfloat_with_epsilon(cJSON_GetObjectItem(pix, "bw")->valuedouble, 48.0, 1e-6);
  }
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "fabric")));
  cJSON_Delete(j);
  run_free(&r);

  r = run_ccsim(p, "--nodes", "2", "--json", NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  j = cJSON_Parse(r.out);
  g_assert_nonnull(j);
  g_assert_cmpint(cJSON_GetObjectItem(j, "nodes")->valueint, ==, 2);
  g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItem(j, "gpus")), ==, 16);
  g_assert_cmpstr(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "fabric"), "kind")->valuestring, ==, "rail-optimized");
  g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItem(j, "inter_node")), ==, 8);
  cJSON_Delete(j);
  run_free(&r);
  g_free(p);
}

static void test_gen_then_load(void) {
  char *dir = g_dir_make_tmp("ccsim-topo-XXXXXX", NULL), *xml = g_build_filename(dir, "t.xml", NULL);
  struct run r = run_ccsim("gen", "dgx-h100", "-o", xml, NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  run_free(&r);
  r = run_ccsim(xml, NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  g_assert_nonnull(strstr(r.out, "2 CPUs, 8 GPUs, 8 NICs, 1 NVSwitch, 8 PCI switches"));
  g_assert_nonnull(strstr(r.out, "GPU0    PIX 48.0    PXN 48.0"));
  g_assert_nonnull(strstr(r.out, "GPU7    PXN 48.0    PXN 48.0    PXN 48.0    PXN 48.0    PXN 48.0    PXN 48.0    PXN 48.0    PIX 48.0"));
  run_free(&r);
  r = run_ccsim("gen", "dgx-h100", NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 2);
  g_assert_nonnull(strstr(r.err, "missing -o FILE"));
  run_free(&r);
  r = run_ccsim("gen", "cray-1", "-o", xml, NULL, NULL);
  g_assert_cmpint(r.status, ==, 2);
  g_assert_nonnull(strstr(r.err, "unknown system 'cray-1'"));
  run_free(&r);
  r = run_ccsim("gen", "--help", NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  g_assert_nonnull(strstr(r.out, "pcie-l40s"));
  run_free(&r);
  g_remove(xml);
  g_rmdir(dir);
  g_free(xml);
  g_free(dir);
}

static void test_bad_corpus(void) {
  char *dir = g_build_filename(CCSIM_TEST_DATA, "topo", "bad", NULL);
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  const char *name;
  int n = 0;
  while ((name = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, name, NULL);
    struct run r = run_ccsim(p, NULL, NULL, NULL, NULL, NULL);
    if (r.status != 1) g_error("%s: exit status %d, expected 1; stderr: %s", name, r.status, r.err);
    char *prefix = g_strdup_printf("ccsim topo: %s", p);
    if (!g_str_has_prefix(r.err, prefix)) g_error("%s: stderr does not name the file: %s", name, r.err);
    g_assert_cmpstr(r.out, ==, "");
    g_free(prefix);
    run_free(&r);
    g_free(p);
    n++;
  }
  g_dir_close(d);
  g_assert_cmpint(n, >=, 30);
  g_free(dir);
}

static void test_usage_errors(void) {
  char *p = src("scenarios/topologies/default.xml");
  struct run r = run_ccsim(NULL, NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 2);
  g_assert_nonnull(strstr(r.err, "expected one topology FILE"));
  run_free(&r);
  r = run_ccsim(p, "--nodes", "0", NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 2);
  run_free(&r);
  r = run_ccsim(p, "--nodes", "2", "--fabric", "/nonexistent/fabric.json", NULL);
  g_assert_cmpint(r.status, ==, 1);
  g_assert_nonnull(strstr(r.err, "/nonexistent/fabric.json"));
  run_free(&r);
  r = run_ccsim("/nonexistent/topo.xml", NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 1);
  g_assert_nonnull(strstr(r.err, "/nonexistent/topo.xml"));
  run_free(&r);
  r = run_ccsim("--help", NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpint(r.status, ==, 0);
  g_assert_nonnull(strstr(r.out, "--nodes"));
  run_free(&r);
  g_free(p);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  if (argc != 2) g_error("usage: test_topo_cli PATH-TO-CCSIM");
  ccsim = argv[1];
  g_test_add_func("/topo-cli/measured-h200", test_measured_h200);
  g_test_add_func("/topo-cli/json", test_json);
  g_test_add_func("/topo-cli/gen-then-load", test_gen_then_load);
  g_test_add_func("/topo-cli/bad-corpus", test_bad_corpus);
  g_test_add_func("/topo-cli/usage-errors", test_usage_errors);
  return g_test_run();
}
