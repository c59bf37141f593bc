/* test_decide.c — `ccsim decide` against NCCL's own TUNING lines measured on real hardware.
 *
 * Usage: test_decide CCSIM NCCL_LIB TOPO GPUS OP LOG
 * Parses every "<Func>: <bytes> Bytes -> Algo <A> proto <P> channel{Lo..Hi}={lo..hi}" line of the measured
 * nccl-tests log (INFO lines may be glued to table rows), runs the same sweep (-b 8 -e 8G -f 2) on the
 * virtual machine, and requires, for every size the log shows, the same algorithm, protocol and number of
 * channels. Sizes the log shows but decide does not report fail the test too. Also checks that the captured
 * cost table agrees with the captured choice: NCCL picks the cheapest available algorithm/protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "test_capture_util.h"

struct tuning { char algo[16], proto[16]; int nch; };

static GHashTable *parse_log(const char *path, const char *func) {
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  GHashTable *t = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  gchar **lines = g_strsplit(text, "\n", -1);
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "NCCL INFO %s: ", func);
  for (int i = 0; lines[i]; i++) {
    const char *p = strstr(lines[i], prefix);
    if (!p) continue;
    long long bytes;
    int lo, hi;
    struct tuning tu;
    if (sscanf(p + strlen(prefix), "%lld Bytes -> Algo %15s proto %15s channel{Lo..Hi}={%d..%d}", &bytes, tu.algo,
               tu.proto, &lo, &hi) != 5) {
      fprintf(stderr, "%s:%d: unparsable TUNING line: %s\n", path, i + 1, lines[i]);
      exit(1);
    }
    tu.nch = hi - lo + 1;
    struct tuning *old = g_hash_table_lookup(t, &bytes);
    if (old) {
      if (strcmp(old->algo, tu.algo) || strcmp(old->proto, tu.proto) || old->nch != tu.nch) {
        fprintf(stderr, "%s:%d: NCCL changed its mind for %lld bytes\n", path, i + 1, bytes);
        exit(1);
      }
      continue;
    }
    gint64 *k = g_new(gint64, 1);
    *k = bytes;
    g_hash_table_insert(t, k, g_memdup2(&tu, sizeof(tu)));
  }
  g_strfreev(lines);
  g_free(text);
  return t;
}

static const char *func_of(const char *op) {
  if (!strcmp(op, "all_reduce")) return "AllReduce";
  if (!strcmp(op, "all_gather")) return "AllGather";
  if (!strcmp(op, "reduce_scatter")) return "ReduceScatter";
  if (!strcmp(op, "broadcast")) return "Broadcast";
  if (!strcmp(op, "reduce")) return "Reduce";
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s CCSIM NCCL_LIB TOPO GPUS OP LOG\n", argv[0]);
    return 2;
  }
  skip_without_nccl(argv[2]);
  const char *func = func_of(argv[5]);
  if (!func) {
    fprintf(stderr, "unsupported op %s\n", argv[5]);
    return 2;
  }
  GHashTable *want = parse_log(argv[6], func);
  if (g_hash_table_size(want) < 10) {
    fprintf(stderr, "%s: only %u TUNING sizes for %s\n", argv[6], g_hash_table_size(want), func);
    return 1;
  }
  char *cmd[] = {argv[1], "decide", "--topo", argv[3], "--gpus", argv[4], "--op", argv[5], "-b", "8", "-e", "8G",
                 "-f", "2", "--json", "--costs", "--nccl", argv[2], NULL};
  struct run_result r;
  run_cmd(cmd, NULL, 600, &r);
  if (!r.exited || r.status != 0) {
    fprintf(stderr, "ccsim decide failed (status %d):\n%s\n", r.status, r.err);
    return 1;
  }
  cJSON *a = cJSON_Parse(r.out);
  if (!cJSON_IsArray(a)) {
    fprintf(stderr, "ccsim decide printed no JSON array:\n%s\n", r.out);
    return 1;
  }
  int failures = 0, matched = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, a) {
    gint64 nb = (gint64)cJSON_GetObjectItem(e, "nccl_bytes")->valuedouble;
    const struct tuning *tu = g_hash_table_lookup(want, &nb);
    if (!tu) continue;
    const char *algo = cJSON_GetObjectItem(e, "algorithm")->valuestring;
    const char *proto = cJSON_GetObjectItem(e, "protocol")->valuestring;
    int nch = (int)cJSON_GetObjectItem(e, "nchannels")->valuedouble;
    /* NCCL's rule: the first strictly cheapest entry, algorithms in NCCL's order, then protocols */
    static const char *algos[] = {"TREE", "RING", "COLLNET_DIRECT", "COLLNET_CHAIN", "NVLS", "NVLS_TREE", "PAT"};
    static const char *protos[] = {"LL", "LL128", "SIMPLE"};
    const cJSON *cost = cJSON_GetObjectItem(e, "cost_us");
    double best = -1;
    const char *ba = "", *bp = "";
    for (int ai = 0; ai < 7; ai++)
      for (int pi = 0; pi < 3; pi++) {
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(cost, algos[ai]), protos[pi]);
        if (cJSON_IsNumber(v) && (best < 0 || v->valuedouble < best)) {
          best = v->valuedouble;
          ba = algos[ai];
          bp = protos[pi];
        }
      }
    if (best < 0 || strcmp(ba, algo) || strcmp(bp, proto)) {
      fprintf(stderr, "%s %lld bytes: cheapest in NCCL's cost table is %s/%s, but it chose %s/%s\n", func,
              (long long)nb, ba, bp, algo, proto);
      failures++;
    }
    matched++;
    if (strcmp(algo, tu->algo) || strcmp(proto, tu->proto) || nch != tu->nch) {
      fprintf(stderr, "%s %lld bytes: decide says %s/%s/%d channels, NCCL on hardware chose %s/%s/%d\n", func,
              (long long)nb, algo, proto, nch, tu->algo, tu->proto, tu->nch);
      failures++;
    }
  }
  if (matched != (int)g_hash_table_size(want)) {
    fprintf(stderr, "decide reported %d of the %u sizes in %s\n", matched, g_hash_table_size(want), argv[6]);
    failures++;
  }
  printf("%s on %s GPUs: %d sizes compared, %d mismatches\n", func, argv[4], matched, failures);
  cJSON_Delete(a);
  run_result_free(&r);
  g_hash_table_destroy(want);
  return failures ? 1 : 0;
}
