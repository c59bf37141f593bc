/* test_graph.c — `ccsim graph` on the virtual machine, checked against measured data and against what NCCL
 * must build on standard systems; and its failure modes.
 *
 *   test_graph xml    CCSIM NCCL TOPO GPUS EXPECTED_XML  NCCL's graph dump equals the measured one, byte for byte
 *   test_graph p2p    CCSIM NCCL TOPO GPUS LOG OP        channel counts and p2p chunk size equal the log's INIT
 *                                                        lines; decide of OP reports sane per-peer choices
 *   test_graph dgx    CCSIM NCCL NODES                   generated DGX H100 × NODES: channels, rings, trees
 *   test_graph errors CCSIM NCCL TOPO DATADIR            bad inputs give clear errors, never a hang
 *   test_graph env    CCSIM NCCL TOPO                    NCCL_* variables reach NCCL and change its decisions
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include "test_capture_util.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

static cJSON *graph_json(char *ccsim, char *nccl, char *topo, char *gpus, char *nodes) {
  char *cmd[] = {ccsim, "graph", "--topo", topo, "--gpus", gpus, "--nodes", nodes, "--format", "json", "--nccl", nccl, NULL};
  struct run_result r;
  run_cmd(cmd, NULL, 600, &r);
  if (!r.exited || r.status != 0) {
    fprintf(stderr, "ccsim graph failed (status %d):\n%s\n", r.status, r.err);
    exit(1);
  }
  cJSON *j = cJSON_Parse(r.out);
  if (!j) {
    fprintf(stderr, "ccsim graph printed no JSON:\n%s\n", r.out);
    exit(1);
  }
  run_result_free(&r);
  return j;
}

static int jint(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItem(o, k);
  if (!cJSON_IsNumber(v)) {
    fprintf(stderr, "graph JSON lacks %s\n", k);
    exit(1);
  }
  return (int)v->valuedouble;
}

static int test_xml(char **a) {
  char *cmd[] = {a[0], "graph", "--topo", a[2], "--gpus", a[3], "--format", "xml", "--nccl", a[1], NULL};
  struct run_result r;
  run_cmd(cmd, NULL, 600, &r);
  CHECK(r.exited && r.status == 0, "ccsim graph failed (status %d): %s", r.status, r.err);
  char *want = NULL;
  gsize len = 0;
  if (!g_file_get_contents(a[4], &want, &len, NULL)) {
    fprintf(stderr, "cannot read %s\n", a[4]);
    return 1;
  }
  CHECK(strlen(r.out) == len && !memcmp(r.out, want, len), "graph dump for %s GPUs differs from %s:\n%s", a[3], a[4], r.out);
  g_free(want);
  run_result_free(&r);
  return failures ? 1 : 0;
}

static int log_value(const char *text, const char *fmt, int nvals, long long *v) {
  gchar **lines = g_strsplit(text, "\n", -1);
  int found = 0;
  for (int i = 0; lines[i] && !found; i++) {
    const char *p = strstr(lines[i], "NCCL INFO ");
    if (!p) continue;
    p += strlen("NCCL INFO ");
    if (nvals == 1) found = sscanf(p, fmt, &v[0]) == 1;
    else found = sscanf(p, fmt, &v[0], &v[1], &v[2], &v[3], &v[4]) == 5;
  }
  g_strfreev(lines);
  return found;
}

static int test_p2p(char **a) {
  char *text = NULL;
  if (!g_file_get_contents(a[4], &text, NULL, NULL)) {
    fprintf(stderr, "cannot read %s\n", a[4]);
    return 1;
  }
  long long chunk, ch[5];
  if (!log_value(text, "P2P Chunksize set to %lld", 1, &chunk) ||
      !log_value(text, "%lld coll channels, %lld collnet channels, %lld nvls channels, %lld p2p channels, %lld p2p channels per peer", 5, ch)) {
    fprintf(stderr, "%s lacks the INIT lines this test compares with\n", a[4]);
    return 1;
  }
  g_free(text);
  cJSON *j = graph_json(a[0], a[1], a[2], a[3], "1");
  CHECK(jint(j, "p2p_chunk_size") == chunk, "p2p chunk size %d, log %lld", jint(j, "p2p_chunk_size"), chunk);
  CHECK(jint(j, "nchannels") == ch[0], "coll channels %d, log %lld", jint(j, "nchannels"), ch[0]);
  CHECK(jint(j, "nvls_channels") == ch[2], "nvls channels %d, log %lld", jint(j, "nvls_channels"), ch[2]);
  CHECK(jint(j, "p2p_nchannels") == ch[3], "p2p channels %d, log %lld", jint(j, "p2p_nchannels"), ch[3]);
  CHECK(jint(j, "p2p_nchannels_per_peer") == ch[4], "p2p channels per peer %d, log %lld",
        jint(j, "p2p_nchannels_per_peer"), ch[4]);
  int per_peer = jint(j, "p2p_nchannels_per_peer");
  cJSON_Delete(j);

  /* Per-peer decisions: every non-empty size goes point to point on 1..per-peer channels; NCCL uses LL only
   * below a size threshold, so once SIMPLE, always SIMPLE. */
  char *cmd[] = {a[0], "decide", "--topo", a[2], "--gpus", a[3], "--op", a[5], "-b", "8", "-e", "8G", "--json",
                 "--nccl", a[1], NULL};
  struct run_result r;
  run_cmd(cmd, NULL, 600, &r);
  CHECK(r.exited && r.status == 0, "ccsim decide failed: %s", r.err);
  cJSON *arr = cJSON_Parse(r.out);
  CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 31, "decide JSON: expected 31 sizes");
  int seen_simple = 0, rows = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) {
    if (jint(e, "bytes") == 0) continue;
    rows++;
    const char *algo = cJSON_GetObjectItem(e, "algorithm")->valuestring;
    const char *proto = cJSON_GetObjectItem(e, "protocol")->valuestring;
    int nch = jint(e, "nchannels");
    CHECK(!strcmp(algo, "P2P"), "%d bytes: algorithm %s, expected P2P", jint(e, "bytes"), algo);
    CHECK(nch >= 1 && nch <= per_peer, "%d bytes: %d channels per peer (allowed 1..%d)", jint(e, "bytes"), nch, per_peer);
    CHECK(!strcmp(proto, "LL") || !strcmp(proto, "SIMPLE"), "%d bytes: protocol %s", jint(e, "bytes"), proto);
    CHECK(!(seen_simple && !strcmp(proto, "LL")), "%d bytes: LL after SIMPLE", jint(e, "bytes"));
    seen_simple |= !strcmp(proto, "SIMPLE");
  }
  CHECK(rows >= 28 && seen_simple, "decide %s: %d non-empty sizes, SIMPLE seen %d", a[5], rows, seen_simple);
  cJSON_Delete(arr);
  run_result_free(&r);
  return failures ? 1 : 0;
}

static int is_permutation(const cJSON *ring, int n) {
  if (cJSON_GetArraySize(ring) != n) return 0;
  char *hit = g_malloc0(n);
  int ok = 1;
  const cJSON *v;
  cJSON_ArrayForEach(v, ring) {
    int r = (int)v->valuedouble;
    if (r < 0 || r >= n || hit[r]) ok = 0;
    else hit[r] = 1;
  }
  g_free(hit);
  return ok;
}

static int test_dgx(char **a) {
  int nodes = atoi(a[2]);
  char *dir = g_dir_make_tmp("ccsim-test-dgx-XXXXXX", NULL);
  char *topo = g_build_filename(dir, "dgx-h100.xml", NULL);
  char *gen[] = {a[0], "topo", "gen", "dgx-h100", "-o", topo, NULL};
  struct run_result r;
  run_cmd(gen, NULL, 60, &r);
  if (!r.exited || r.status != 0) {
    fprintf(stderr, "ccsim topo gen dgx-h100 failed: %s\n", r.err);
    return 1;
  }
  run_result_free(&r);
  cJSON *j = graph_json(a[0], a[1], topo, "0", a[2]);
  int n = jint(j, "nranks");
  CHECK(n == 8 * nodes, "%d ranks, expected %d", n, 8 * nodes);
  CHECK(jint(j, "nnodes") == nodes, "%d nodes, expected %d", jint(j, "nnodes"), nodes);
  int nch = jint(j, "nchannels");
  if (nodes == 1) CHECK(nch == 24, "8x H100: %d coll channels, expected 24", nch);
  else CHECK(nch > 0, "no channels");
  const cJSON *rank_node = cJSON_GetObjectItem(j, "rank_node");
  const cJSON *chs = cJSON_GetObjectItem(j, "channels"), *c;
  CHECK(cJSON_GetArraySize(chs) == nch, "channel list length");
  int crossing_rings = 0, crossing_trees = 0;
  cJSON_ArrayForEach(c, chs) {
    const cJSON *ring = cJSON_GetObjectItem(c, "ring");
    CHECK(is_permutation(ring, n), "channel %d: ring is not over all %d ranks", jint(c, "id"), n);
    for (int i = 0; i < n && nodes > 1; i++) {
      int x = (int)cJSON_GetArrayItem(ring, i)->valuedouble, y = (int)cJSON_GetArrayItem(ring, (i + 1) % n)->valuedouble;
      if (cJSON_GetArrayItem(rank_node, x)->valuedouble != cJSON_GetArrayItem(rank_node, y)->valuedouble) {
        crossing_rings++;
        break;
      }
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "tree")) {
      int r = jint(t, "rank"), up = jint(t, "up");
      if (up >= 0 && cJSON_GetArrayItem(rank_node, r)->valuedouble != cJSON_GetArrayItem(rank_node, up)->valuedouble) {
        crossing_trees++;
        break;
      }
    }
  }
  if (nodes > 1) {
    /* NVLS: every node has the same number of heads, each a distinct rank of that node */
    const cJSON *heads = cJSON_GetObjectItem(j, "nvls_heads"), *hv;
    CHECK(cJSON_GetArraySize(heads) == 8, "%d NVLS heads per node, expected 8", cJSON_GetArraySize(heads));
    char *seen = g_malloc0(n);
    cJSON_ArrayForEach(hv, heads) {
      CHECK(cJSON_GetArraySize(hv) == nodes, "an NVLS head list does not cover the %d nodes", nodes);
      for (int k = 0; k < cJSON_GetArraySize(hv); k++) {
        int r = (int)cJSON_GetArrayItem(hv, k)->valuedouble;
        CHECK(r >= 0 && r < n && !seen[r] && (int)cJSON_GetArrayItem(rank_node, r)->valuedouble == k,
              "NVLS head rank %d on node %d is not a distinct rank of that node", r, k);
        if (r >= 0 && r < n) seen[r] = 1;
      }
    }
    g_free(seen);
    CHECK(crossing_rings == nch, "%d of %d rings cross nodes", crossing_rings, nch);
    CHECK(crossing_trees == nch, "%d of %d trees span nodes", crossing_trees, nch);
  }
  printf("%d node(s): %d ranks, %d channels, %d rings and %d trees cross nodes\n", nodes, n, nch, crossing_rings,
         crossing_trees);
  cJSON_Delete(j);
  g_unlink(topo);
  g_rmdir(dir);
  g_free(topo);
  g_free(dir);
  return failures ? 1 : 0;
}

/* Runs ccsim graph with the given extra arguments/environment and expects a failure whose message holds `want`. */
static void expect_error(char *ccsim, char *nccl, char *topo, char *extra_arg, char *extra_val, char **env,
                         const char *want, double limit) {
  char *cmd[] = {ccsim, "graph", "--topo", topo, "--nccl", nccl, extra_arg, extra_val, NULL};
  struct run_result r;
  run_cmd(cmd, env, limit, &r);
  CHECK(r.status != -1, "[%s] ccsim hung (killed after %.0f s)", want, limit);
  CHECK(r.exited && r.status == 1, "[%s] expected exit status 1, got %s %d", want, r.exited ? "status" : "signal", r.status);
  CHECK(strstr(r.err, want) != NULL, "[%s] message does not say so:\n%s", want, r.err);
  CHECK(r.out[0] == '\0', "[%s] printed output on failure:\n%s", want, r.out);
  run_result_free(&r);
}

static int test_errors(char **a) {
  char *ccsim = a[0], *nccl = a[1], *topo = a[2];
  char *no_gpus = g_build_filename(a[3], "no_gpus.xml", NULL);
  char *garbled = g_build_filename(a[3], "garbled.xml", NULL);
  expect_error(ccsim, "/nonexistent/libnccl.so.2", topo, NULL, NULL, NULL, "NCCL library not found at /nonexistent", 60);
  /* A library that exists but is not NCCL. */
  char *not_nccl = g_strdup("/bin/sh");
  expect_error(ccsim, not_nccl, topo, NULL, NULL, NULL, "cannot load the NCCL library /bin/sh", 60);
  expect_error(ccsim, nccl, no_gpus, NULL, NULL, NULL, "has no GPUs", 60);
  expect_error(ccsim, nccl, garbled, NULL, NULL, NULL, "cannot use topology", 60);
  expect_error(ccsim, nccl, topo, "--gpus", "64", NULL, "asks for more GPUs", 60);
  char *die_env[] = {"CCSIM_PROBE_FAIL=init", NULL};
  expect_error(ccsim, nccl, topo, NULL, NULL, die_env, "died from signal 6", 120);
  expect_error(ccsim, nccl, topo, "--nodes", "2", die_env, "died from signal 6", 120);
  char *hang_env[] = {"CCSIM_PROBE_FAIL=hang", NULL};
  expect_error(ccsim, nccl, topo, "--timeout", "3", hang_env, "time limit", 60);
  g_free(no_gpus);
  g_free(garbled);
  g_free(not_nccl);
  return failures ? 1 : 0;
}

/* decide all_reduce over 8 B..8 GiB with one extra NCCL variable; every non-empty row must satisfy `ok`. */
static void decide_with_env(char **a, char *var, int (*ok)(const cJSON *row), const char *what) {
  char *cmd[] = {a[0], "decide", "--topo", a[2], "--op", "all_reduce", "-b", "8", "-e", "8G", "--json", "--nccl", a[1], NULL};
  char *env[] = {var, NULL};
  struct run_result r;
  run_cmd(cmd, env, 600, &r);
  CHECK(r.exited && r.status == 0, "[%s] ccsim decide failed: %s", var, r.err);
  cJSON *arr = cJSON_Parse(r.out);
  CHECK(cJSON_GetArraySize(arr) == 31, "[%s] expected 31 sizes", var);
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) {
    if (!ok(e)) {
      char *row = cJSON_PrintUnformatted(e);
      CHECK(0, "[%s] %s: %s", var, what, row);
      cJSON_free(row);
    }
  }
  cJSON_Delete(arr);
  run_result_free(&r);
}
static int proto_simple(const cJSON *e) { return !strcmp(cJSON_GetObjectItem(e, "protocol")->valuestring, "SIMPLE"); }
static int algo_tree(const cJSON *e) { return !strcmp(cJSON_GetObjectItem(e, "algorithm")->valuestring, "TREE"); }
static int max4(const cJSON *e) { return jint(e, "nchannels") >= 1 && jint(e, "nchannels") <= 4; }

static int test_env(char **a) {
  decide_with_env(a, "NCCL_PROTO=SIMPLE", proto_simple, "NCCL_PROTO=SIMPLE not honoured");
  decide_with_env(a, "NCCL_ALGO=TREE", algo_tree, "NCCL_ALGO=TREE not honoured");
  decide_with_env(a, "NCCL_MAX_NCHANNELS=4", max4, "more than 4 channels with NCCL_MAX_NCHANNELS=4");
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s xml|p2p|dgx|errors CCSIM NCCL ...\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  char **a = argv + 2;
  if (strcmp(mode, "errors")) skip_without_nccl(argv[3]);
  if (!strcmp(mode, "xml") && argc == 7) return test_xml(a);
  if (!strcmp(mode, "p2p") && argc == 8) return test_p2p(a);
  if (!strcmp(mode, "dgx") && argc == 5) return test_dgx(a);
  if (!strcmp(mode, "env") && argc == 5) return test_env(a);
  if (!strcmp(mode, "errors") && argc == 6) {
    /* Most error cases need no NCCL; the probe-death cases do. */
    if (!g_file_test(argv[3], G_FILE_TEST_EXISTS)) {
      printf("SKIP: the NCCL library %s is not installed\n", argv[3]);
      return TEST_SKIP;
    }
    return test_errors(a);
  }
  fprintf(stderr, "bad arguments for mode %s\n", mode);
  return 2;
}
