/* topo_fuzz.c — libFuzzer target for the topology loader: any input must load or fail with an error,
 * never crash, leak or hang. Build: cmake -DCCSIM_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 * topo_fuzz topo/fuzz/corpus (seeds: the bundled topologies and the malformed corpus). */
#include <stddef.h>
#include <stdint.h>
#include "topo.h"

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {
  (void)domain, (void)level, (void)msg, (void)data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    g_log_set_handler("ccsim-topo", G_LOG_LEVEL_WARNING, quiet, NULL);
    init = 1;
  }
  GError *err = NULL;
  struct topo_system *sys = topo_load_buffer((const char *)data, size, "fuzz", &err);
  if (sys) {
    /* Touch every path so a dangling hop pointer would show. */
    for (int g = 0; g < sys->ngpus; g++)
      for (int n = 0; n < sys->nnics; n++) {
        const struct topo_path *p = topo_path_get(sys, TOPO_NODE_GPU, g, TOPO_NODE_NET, n);
        if (p)
          for (int h = 0; h < p->nhops; h++) (void)p->hops[h]->remote->type;
      }
    topo_free(sys);
  }
  g_clear_error(&err);
  return 0;
}
