/* test_capture_json.c — the capture JSON reader (algo/capture_json.c) on small hand-written captures:
 * merging two nodes' files, and clear errors for malformed or incomplete input. Needs no NCCL. */
#include <string.h>
#include <glib.h>
#include "capture_json.h"

/* Two virtual nodes with one GPU each: rank 0 on node 0, rank 1 on node 1, two channels. */
static const char *node0 =
  "{\"format\": \"ccsim-capture\", \"version\": 1, \"nccl_version\": 22809, \"node\": 0, \"nodes\": 2, \"gpus\": 1,"
  " \"nranks\": 2, \"op\": \"all_reduce\", \"type_size\": 4, \"init_seconds\": 1.5, \"run_seconds\": 2,"
  " \"requests\": [{\"index\": 0, \"bytes\": 8, \"nccl_bytes\": 8, \"count\": 2},"
  "                {\"index\": 1, \"bytes\": 0, \"nccl_bytes\": 0, \"count\": 0}],"
  " \"layout_version\": 22809,"
  " \"comms\": [{\"rank\": 0, \"nranks\": 2, \"node\": 0, \"nnodes\": 2, \"dev\": 0, \"buff_sizes\": [524288, 4915200, 4194304],"
  "   \"p2p_chunk_size\": 131072, \"nchannels\": 2, \"nvls_channels\": 0, \"collnet_channels\": 0, \"p2p_nchannels\": 2,"
  "   \"p2p_nchannels_per_peer\": 1, \"nvls_nheads\": 1, \"nvls_head_rank\": 0, \"rings\": [[0,1],[0,1]], \"trees\": [[-1,1,-1,-1],[1,-1,-1,-1]]}],"
  " \"calls\": [{\"index\": 0, \"cost\": {\"rank\": 0, \"func\": 4, \"nbytes\": 8, \"us\": [[10.5,20,30],[9.5,25,28],"
  "   [-1,-1,-1],[-1,-1,-1],[-1,-1,-1],[-1,-1,-1],[-1,-1,-1]]},"
  "   \"ranks\": [{\"rank\": 0, \"colls\": [{\"func\": \"AllReduce\", \"count\": 2, \"datatype\": \"ncclFloat32\", \"root\": 0,"
  "     \"algo\": \"TREE\", \"proto\": \"LL\", \"nchannels\": 1, \"nwarps\": 20}], \"p2ps\": [],"
  "     \"launches\": [{\"device\": 0, \"grid\": 1, \"block\": 640, \"channel_mask\": \"0x1\", \"p2p_works\": []}]}]}]}";
static const char *node1 =
  "{\"format\": \"ccsim-capture\", \"version\": 1, \"nccl_version\": 22809, \"node\": 1, \"nodes\": 2, \"gpus\": 1,"
  " \"nranks\": 2, \"op\": \"all_reduce\", \"type_size\": 4, \"init_seconds\": 1.7,"
  " \"requests\": [{\"index\": 0, \"bytes\": 8, \"nccl_bytes\": 8, \"count\": 2},"
  "                {\"index\": 1, \"bytes\": 0, \"nccl_bytes\": 0, \"count\": 0}],"
  " \"comms\": [{\"rank\": 1, \"nranks\": 2, \"node\": 1, \"nnodes\": 2, \"dev\": 0, \"buff_sizes\": [524288, 4915200, 4194304],"
  "   \"p2p_chunk_size\": 131072, \"nchannels\": 2, \"nvls_channels\": 0, \"collnet_channels\": 0, \"p2p_nchannels\": 2,"
  "   \"p2p_nchannels_per_peer\": 1, \"nvls_nheads\": 1, \"nvls_head_rank\": 0, \"rings\": [[1,0],[1,0]], \"trees\": [[0,-1,-1,-1],[-1,0,-1,-1]]}],"
  " \"calls\": []}";

static void test_merge(void) {
  const char *texts[] = {node1, node0}; /* any order */
  const char *names[] = {"node1.json", "node0.json"};
  struct capture_data d;
  GError *err = NULL;
  g_assert_cmpint(capture_json_parse(texts, names, 2, &d, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_cmpint(d.nccl_version, ==, 22809);
  g_assert_cmpint(d.op, ==, OP_ALL_REDUCE);
  g_assert_cmpint(d.comm.nranks, ==, 2);
  g_assert_cmpint(d.comm.nnodes, ==, 2);
  g_assert_cmpint(d.comm.nchannels, ==, 2);
  g_assert_cmpint(d.comm.p2p_chunk_size, ==, 131072);
  g_assert_cmpint(d.comm.buff_size[PROTO_LL128], ==, 4915200);
  g_assert_cmpint(d.comm.rank_node[1], ==, 1);
  g_assert_cmpint(d.comm.channels[1].ring.order[0], ==, 0);
  g_assert_cmpint(d.comm.channels[1].ring.order[1], ==, 1);
  /* trees come from each rank's own entry */
  g_assert_cmpint(d.comm.channels[0].tree[0].up, ==, -1);
  g_assert_cmpint(d.comm.channels[0].tree[0].down[0], ==, 1);
  g_assert_cmpint(d.comm.channels[0].tree[1].up, ==, 0);
  g_assert_cmpint(d.comm.channels[1].tree[1].down[0], ==, 0);
  g_assert_cmpfloat(d.init_seconds, ==, 1.7);
  /* one NVLS head per node: rank 0 on node 0, rank 1 on node 1 */
  g_assert_cmpint(d.comm.nvls_nheads, ==, 1);
  g_assert_nonnull(d.comm.nvls_heads);
  g_assert_cmpint(d.comm.nvls_heads[0], ==, 0);
  g_assert_cmpint(d.comm.nvls_heads[1], ==, 1);
  g_assert_cmpint(d.ndecisions, ==, 2);
  const struct comm_decision *x = &d.decisions[0];
  g_assert_cmpint(x->algo, ==, ALGO_TREE);
  g_assert_cmpint(x->proto, ==, PROTO_LL);
  g_assert_cmpint(x->nchannels, ==, 1);
  g_assert_cmpint(x->nthreads, ==, 640);
  g_assert_cmpint(x->count, ==, 2);
  g_assert_cmpfloat(x->cost_us[ALGO_RING][PROTO_LL], ==, 9.5f);
  g_assert_cmpfloat(x->cost_us[ALGO_NVLS][PROTO_SIMPLE], ==, -1.0f);
  /* an empty request: nothing ran */
  g_assert_cmpint(d.decisions[1].algo, ==, ALGO_NONE);
  g_assert_cmpint(d.decisions[1].nchannels, ==, 0);
  capture_data_free(&d);
}

/* Replace the first occurrence of `from` in `base` with `to`. */
static char *edit(const char *base, const char *from, const char *to) {
  const char *p = strstr(base, from);
  g_assert_nonnull(p);
  return g_strdup_printf("%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
}

static void expect_error(const char *t0, const char *t1, const char *want) {
  const char *texts[] = {t0, t1};
  const char *names[] = {"node0.json", "node1.json"};
  struct capture_data d;
  GError *err = NULL;
  g_assert_cmpint(capture_json_parse(texts, names, t1 ? 2 : 1, &d, &err), ==, -1);
  g_assert_nonnull(err);
  if (!strstr(err->message, want)) g_error("expected an error about '%s', got: %s", want, err->message);
  g_error_free(err);
  g_assert_null(d.decisions);
  g_assert_null(d.comm.channels);
}

/* Mistakes in one of the two files, each written as an edit of the good one. */
static const struct bad_edit {
  int node;               /* 0: node0.json, 1: node1.json */
  const char *from, *to;
  const char *want;       /* part of the error message */
} bad_edits[] = {
  {0, "ccsim-capture", "other-format", "not a ccsim capture file"},
  {0, "\"version\": 1", "\"version\": 7", "format version 7"},
  {0, "[[0,1],[0,1]]", "[[0,5],[0,1]]", "ring 0 names rank 5 of 2"},
  {1, "\"nranks\": 2, \"op\"", "\"nranks\": 3, \"op\"", "3 ranks, but node0.json has 2"},
  {0, "\"nchannels\": 2", "\"nchannels\": 99", "nchannels 99 out of range"},
  {1, "[[0,-1,-1,-1],[-1,0,-1,-1]]", "[[0,-1,-1,-1]]", "rank 1 has fewer channels than rank 0"},
  {0, "\"p2p_chunk_size\": 131072", "\"p2p_chunk_size\": \"big\"", "non-integer \"p2p_chunk_size\""},
};

static void test_errors(void) {
  expect_error("{not json", node1, "node0.json: not a JSON object");
  expect_error(node0, NULL, "no device-side communicator was captured for rank 1 of 2");
  expect_error(node1, NULL, "for rank 0");
  for (size_t i = 0; i < G_N_ELEMENTS(bad_edits); i++) {
    const struct bad_edit *e = &bad_edits[i];
    char *t = edit(e->node ? node1 : node0, e->from, e->to);
    if (e->node) expect_error(node0, t, e->want);
    else expect_error(t, node1, e->want);
    g_free(t);
  }
  const char *none[] = {NULL};
  struct capture_data d;
  GError *err = NULL;
  g_assert_cmpint(capture_json_read(none, 0, &d, &err), ==, -1);
  g_clear_error(&err);
  const char *missing[] = {"/nonexistent/capture.json"};
  g_assert_cmpint(capture_json_read(missing, 1, &d, &err), ==, -1);
  g_assert_nonnull(strstr(err->message, "cannot read capture /nonexistent/capture.json"));
  g_clear_error(&err);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/capture_json/merge", test_merge);
  g_test_add_func("/capture_json/errors", test_errors);
  return g_test_run();
}
