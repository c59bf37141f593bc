/* comm.c — lifetime of a captured communicator, the transport lookup between two ranks and the threads a
 * decision counts. */
#include "comm.h"

enum comm_transport comm_transport_between(const struct comm_info *c, int a, int b) {
  if (c->transport && a >= 0 && b >= 0 && a < c->nranks && b < c->nranks) {
    int t = c->transport[(size_t)a * (size_t)c->nranks + (size_t)b];
    if (t >= 0) return (enum comm_transport)t;
  }
  if (c->rank_node && a >= 0 && b >= 0 && a < c->nranks && b < c->nranks && c->rank_node[a] != c->rank_node[b])
    return TRANSPORT_NET;
  return TRANSPORT_P2P;
}

void comm_info_free(struct comm_info *c) {
  if (!c) return;
  if (c->channels) {
    for (int i = 0; i < c->nchannels; i++) {
      g_free(c->channels[i].ring.order);
      g_free(c->channels[i].tree);
    }
  }
  g_free(c->channels);
  g_free(c->rank_node);
  g_free(c->rank_dev);
  g_free(c->transport);
  g_free(c->nvls_heads);
  c->nvls_heads = NULL;
  c->channels = NULL;
  c->rank_node = c->rank_dev = NULL;
  c->transport = NULL;
  c->nchannels = 0;
}

int comm_work_threads(int nwarps, int block) { return nwarps > 0 ? nwarps * 32 : block > 0 ? block : 128; }
