/* cmd_graph.c — `ccsim graph`: the channel graphs (rings, trees, channel counts) the real NCCL library
 * builds on the virtual machine, as NCCL-style text, JSON, or NCCL's own graph dump XML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include "cmd.h"
#include "platform.h"

static void print_text(const struct comm_info *c, int nccl_version) {
  printf("# NCCL %d.%d.%d: nRanks %d nNodes %d\n", nccl_version / 10000, (nccl_version / 100) % 100, nccl_version % 100,
         c->nranks, c->nnodes);
  for (int ch = 0; ch < c->nchannels; ch++) {
    printf("Channel %02d/%02d :", ch, c->nchannels);
    for (int r = 0; r < c->nranks; r++) printf(" %d", c->channels[ch].ring.order[r]);
    printf("\n");
  }
  /* NCCL prints one Trees line per rank: [channel] down0/down1/down2->rank->up */
  for (int r = 0; r < c->nranks; r++) {
    printf("[%d] Trees", r);
    for (int ch = 0; ch < c->nchannels; ch++) {
      const struct comm_tree_node *t = &c->channels[ch].tree[r];
      printf(" [%d] %d/%d/%d->%d->%d", ch, t->down[0], t->down[1], t->down[2], r, t->up);
    }
    printf("\n");
  }
  /* NCCL names the NVLS heads of each node when there are several nodes */
  for (int h = 0; c->nvls_heads && c->nnodes > 1 && h < c->nvls_nheads; h++) {
    printf("NVLS Head %2d:", h);
    for (int k = 0; k < c->nnodes; k++) printf(" %2d", c->nvls_heads[h * c->nnodes + k]);
    printf("\n");
  }
  /* NCCL's summary line reports the collective channel count for collnet too; so do we. */
  printf("%d coll channels, %d collnet channels, %d nvls channels, %d p2p channels, %d p2p channels per peer\n",
         c->nchannels, c->nchannels, c->nvls_channels, c->p2p_nchannels, c->p2p_nchannels_per_peer);
  printf("P2P Chunksize set to %zu\n", c->p2p_chunk_size);
  printf("Buffer sizes: LL %zu, LL128 %zu, SIMPLE %zu\n", c->buff_size[PROTO_LL], c->buff_size[PROTO_LL128],
         c->buff_size[PROTO_SIMPLE]);
}

static void print_json(const struct comm_info *c, int nccl_version) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "nccl_version", nccl_version);
  cJSON_AddNumberToObject(o, "nranks", c->nranks);
  cJSON_AddNumberToObject(o, "nnodes", c->nnodes);
  cJSON_AddNumberToObject(o, "nchannels", c->nchannels);
  cJSON_AddNumberToObject(o, "nvls_channels", c->nvls_channels);
  cJSON_AddNumberToObject(o, "collnet_channels", c->collnet_channels);
  cJSON_AddNumberToObject(o, "p2p_nchannels", c->p2p_nchannels);
  cJSON_AddNumberToObject(o, "p2p_nchannels_per_peer", c->p2p_nchannels_per_peer);
  cJSON_AddNumberToObject(o, "p2p_chunk_size", (double)c->p2p_chunk_size);
  cJSON *bs = cJSON_AddObjectToObject(o, "buff_sizes");
  for (int p = 0; p < PROTO_COUNT; p++) cJSON_AddNumberToObject(bs, comm_proto_name(p), (double)c->buff_size[p]);
  if (c->nvls_heads) {
    cJSON *heads = cJSON_AddArrayToObject(o, "nvls_heads"); /* [head][node] -> rank */
    for (int h = 0; h < c->nvls_nheads; h++)
      cJSON_AddItemToArray(heads, cJSON_CreateIntArray(c->nvls_heads + h * c->nnodes, c->nnodes));
  }
  cJSON_AddItemToObject(o, "rank_node", cJSON_CreateIntArray(c->rank_node, c->nranks));
  cJSON_AddItemToObject(o, "rank_dev", cJSON_CreateIntArray(c->rank_dev, c->nranks));
  cJSON *chs = cJSON_AddArrayToObject(o, "channels");
  for (int ch = 0; ch < c->nchannels; ch++) {
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "id", ch);
    cJSON_AddItemToObject(x, "ring", cJSON_CreateIntArray(c->channels[ch].ring.order, c->nranks));
    cJSON *tree = cJSON_AddArrayToObject(x, "tree");
    for (int r = 0; r < c->nranks; r++) {
      const struct comm_tree_node *t = &c->channels[ch].tree[r];
      cJSON *n = cJSON_CreateObject();
      cJSON_AddNumberToObject(n, "rank", r);
      cJSON_AddNumberToObject(n, "up", t->up);
      cJSON_AddItemToObject(n, "down", cJSON_CreateIntArray(t->down, COMM_MAX_TREE_ARITY));
      cJSON_AddItemToArray(tree, n);
    }
    cJSON_AddItemToArray(chs, x);
  }
  char *s = cJSON_Print(o);
  printf("%s\n", s);
  cJSON_free(s);
  cJSON_Delete(o);
}

int cmd_graph(int argc, char **argv) {
  char *topo = NULL, *format = NULL, *nccl = NULL;
  int nodes = 1, gpus = 0;
  double timeout = 0;
  gboolean verbose = FALSE;
  GOptionEntry entries[] = {
    {"topo", 't', 0, G_OPTION_ARG_FILENAME, &topo, "node topology XML (NCCL format)", "FILE"},
    {"nodes", 'n', 0, G_OPTION_ARG_INT, &nodes, "virtual nodes (default 1)", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &gpus, "GPUs per node to use (default: all in the XML)", "G"},
    {"format", 'F', 0, G_OPTION_ARG_STRING, &format, "text (NCCL-style lines, default), json, or xml (NCCL's graph dump)", "FMT"},
    {"nccl", 0, 0, G_OPTION_ARG_FILENAME, &nccl, "NCCL library to run (default: $CCSIM_NCCL or the CUDA toolkit's)", "PATH"},
    {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, "seconds before the run is abandoned (default scales with ranks)", "S"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "show NCCL's and the platform's messages", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("- channel graphs NCCL builds on a virtual machine");
  g_option_context_set_summary(ctx, "Runs the real NCCL library on virtual GPUs described by the topology and prints\n"
                                    "its rings and trees per channel. NCCL_* variables pass through to NCCL.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  if (!topo) {
    fprintf(stderr, "%s: --topo FILE is required (see --help)\n", argv[0]);
    goto out;
  }
  if (!format) format = g_strdup("text");
  if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "xml")) {
    fprintf(stderr, "%s: unknown --format '%s' (text, json or xml)\n", argv[0], format);
    goto out;
  }
  if (nodes < 1 || gpus < 0) {
    fprintf(stderr, "%s: --nodes must be >= 1 and --gpus >= 0\n", argv[0]);
    goto out;
  }
  char *dump = NULL;
  if (!strcmp(format, "xml")) {
    char *dir = g_dir_make_tmp("ccsim-graph-XXXXXX", NULL);
    if (!dir) {
      fprintf(stderr, "%s: cannot create a temporary directory\n", argv[0]);
      rc = 1;
      goto out;
    }
    dump = g_build_filename(dir, "graph.xml", NULL);
    g_free(dir);
  }
  struct platform_request req = {.topo_path = topo, .nodes = nodes, .gpus = gpus, .nccl_path = nccl,
                                 .op = OP_ALL_REDUCE, .type_size = 4, .timeout_s = timeout,
                                 .graph_dump_path = dump, .verbose = verbose};
  struct platform_result res;
  rc = 1;
  if (platform_capture(&req, &res, &err) != 0) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
  } else {
    if (dump) {
      char *xml = NULL;
      gsize len = 0;
      if (!g_file_get_contents(dump, &xml, &len, NULL)) {
        fprintf(stderr, "%s: NCCL wrote no graph dump\n", argv[0]);
      } else {
        fwrite(xml, 1, len, stdout);
        g_free(xml);
        rc = 0;
      }
    } else {
      if (!strcmp(format, "json")) print_json(&res.comm, res.nccl_version);
      else print_text(&res.comm, res.nccl_version);
      rc = 0;
    }
    platform_result_free(&res);
  }
  if (dump) {
    char *dir = g_path_get_dirname(dump);
    g_unlink(dump);
    g_rmdir(dir);
    g_free(dir);
    g_free(dump);
  }
out:
  g_clear_error(&err);
  g_option_context_free(ctx);
  g_free(topo);
  g_free(format);
  g_free(nccl);
  return rc;
}
