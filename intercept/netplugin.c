/* netplugin.c — NCCL network plugin (ABI v8) inside libhacknccl.so: exposes this virtual node's NICs as
 * the topology XML describes them (name, speed, latency, port, guid, maxconn, GPUDirect), so NCCL matches
 * them to the XML's <net> elements. There is no data path: listen/connect/accept/regMr succeed at once
 * with placeholder objects (one process per virtual node, no bytes ever cross). Transfers are accepted and
 * never complete, which is the truth here: the sending side's kernel never runs. Enough for multi-node init
 * and for enqueueing cross-node work; callers end such communicators with ncclCommAbort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "capture_nccl_abi.h"
#include "netplugin.h"
#include "platform_hooks.h"
#include "topo.h"

#define NET_DEFAULT_GUID_BASE 0xa088c20300000000ull
#define NET_DEFAULT_MAXCOMMS 65536
#define NET_MAGIC 0x63637369u /* "ccsi": marks handles this plugin wrote */

struct net_obj { uint32_t magic; int dev; int kind; };
enum { OBJ_LISTEN, OBJ_SEND, OBJ_RECV, OBJ_MR, OBJ_REQ };

static const struct topo_system *net_topo(void) { return hack_topology(); }

int netplugin_device_count(void) {
  const struct topo_system *t = net_topo();
  return t ? t->nnics : 0;
}

static struct net_obj *new_obj(int dev, int kind) {
  struct net_obj *o = calloc(1, sizeof(*o));
  if (o) { o->magic = NET_MAGIC; o->dev = dev; o->kind = kind; }
  return o;
}

static nccl_result_t net_init(nccl_logger_t logfn) {
  (void)logfn;
  return NCCL_OK;
}

static nccl_result_t net_devices(int *ndev) {
  *ndev = netplugin_device_count();
  return NCCL_OK;
}

static nccl_result_t net_get_properties(int dev, struct nccl_net_properties_v8 *p) {
  const struct topo_system *t = net_topo();
  if (!t || dev < 0 || dev >= t->nnics) return NCCL_INTERNAL_ERROR;
  const struct topo_nic *n = &t->nics[dev];
  memset(p, 0, sizeof(*p));
  p->name = (char *)n->name;
  p->pci_path = NULL; /* NCCL places a NIC matched by name where the XML puts it */
  p->guid = n->guid ? n->guid : NET_DEFAULT_GUID_BASE + (uint64_t)dev;
  p->ptr_support = NCCL_NET_PTR_HOST | (n->gdr ? NCCL_NET_PTR_CUDA : 0);
  p->reg_is_global = 0;
  p->speed = n->speed_mbps > 0 ? n->speed_mbps : 400000;
  p->port = n->port;
  p->latency = (float)n->latency;
  p->max_comms = n->maxconn > 0 ? n->maxconn : NET_DEFAULT_MAXCOMMS;
  p->max_recvs = 1;
  p->net_device_type = 0;
  p->net_device_version = 0;
  return NCCL_OK;
}

static nccl_result_t net_listen(int dev, void *handle, void **listen_comm) {
  memset(handle, 0, NCCL_NET_HANDLE_MAXSIZE);
  struct net_obj tag = {NET_MAGIC, dev, OBJ_LISTEN};
  memcpy(handle, &tag, sizeof(tag));
  *listen_comm = new_obj(dev, OBJ_LISTEN);
  return *listen_comm ? NCCL_OK : NCCL_INTERNAL_ERROR;
}

static nccl_result_t net_connect(int dev, void *handle, void **send_comm, struct nccl_net_device_handle_v8 **send_dev) {
  struct net_obj tag;
  memcpy(&tag, handle, sizeof(tag));
  if (tag.magic != NET_MAGIC) return NCCL_INTERNAL_ERROR; /* a handle from some other network */
  *send_comm = new_obj(dev, OBJ_SEND);
  if (send_dev) *send_dev = NULL;
  return *send_comm ? NCCL_OK : NCCL_INTERNAL_ERROR;
}

static nccl_result_t net_accept(void *listen_comm, void **recv_comm, struct nccl_net_device_handle_v8 **recv_dev) {
  struct net_obj *l = listen_comm;
  *recv_comm = new_obj(l ? l->dev : 0, OBJ_RECV);
  if (recv_dev) *recv_dev = NULL;
  return *recv_comm ? NCCL_OK : NCCL_INTERNAL_ERROR;
}

static nccl_result_t net_reg_mr(void *comm, void *data, size_t size, int type, void **mhandle) {
  (void)data;
  (void)size;
  (void)type;
  struct net_obj *c = comm;
  *mhandle = new_obj(c ? c->dev : 0, OBJ_MR);
  return *mhandle ? NCCL_OK : NCCL_INTERNAL_ERROR;
}

static nccl_result_t net_dereg_mr(void *comm, void *mhandle) {
  (void)comm;
  free(mhandle);
  return NCCL_OK;
}

/* Outstanding transfers. NCCL's proxy thread polls them in a loop; each poll of an unfinished request
 * sleeps a little so that stuck proxies do not eat the CPU the other virtual nodes need. */
#define NET_POLL_SLEEP_NS 500000

struct net_req { struct net_obj o; };

static nccl_result_t new_request(void **request) {
  struct net_req *r = calloc(1, sizeof(*r));
  if (!r) return NCCL_INTERNAL_ERROR;
  r->o.magic = NET_MAGIC;
  r->o.kind = OBJ_REQ;
  *request = r;
  return NCCL_OK;
}

static nccl_result_t net_isend(void *send_comm, void *data, int size, int tag, void *mhandle, void **request) {
  (void)send_comm;
  (void)data;
  (void)size;
  (void)tag;
  (void)mhandle;
  return new_request(request);
}

static nccl_result_t net_irecv(void *recv_comm, int n, void **data, int *sizes, int *tags, void **mhandles,
                               void **request) {
  (void)recv_comm;
  (void)n;
  (void)data;
  (void)sizes;
  (void)tags;
  (void)mhandles;
  return new_request(request);
}

static nccl_result_t net_iflush(void *recv_comm, int n, void **data, int *sizes, void **mhandles, void **request) {
  (void)recv_comm;
  (void)n;
  (void)data;
  (void)sizes;
  (void)mhandles;
  *request = NULL; /* nothing to flush */
  return NCCL_OK;
}

static nccl_result_t net_test(void *request, int *done, int *sizes) {
  (void)request;
  (void)sizes;
  *done = 0;
  struct timespec ts = {0, NET_POLL_SLEEP_NS};
  nanosleep(&ts, NULL);
  return NCCL_OK;
}

static nccl_result_t net_close(void *comm) {
  free(comm);
  return NCCL_OK;
}

__attribute__((visibility("default"))) const struct nccl_net_v8 ncclNetPlugin_v8 = {
  .name = "ccsim",
  .init = net_init,
  .devices = net_devices,
  .get_properties = net_get_properties,
  .listen = net_listen,
  .connect = net_connect,
  .accept = net_accept,
  .reg_mr = net_reg_mr,
  .reg_mr_dmabuf = NULL,
  .dereg_mr = net_dereg_mr,
  .isend = net_isend,
  .irecv = net_irecv,
  .iflush = net_iflush,
  .test = net_test,
  .close_send = net_close,
  .close_recv = net_close,
  .close_listen = net_close,
  .get_device_mr = NULL,
  .irecv_consumed = NULL,
};

/* NCCL dlopens its plugins by name; all three of ours live in this library. */
__attribute__((visibility("default"))) const char *hack_plugin_dlopen_redirect(const char *name) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (!strcmp(base, "libnccl-net.so") || !strcmp(base, "libnccl-profiler.so") || !strcmp(base, "libnccl-tuner.so") ||
      !strcmp(base, "libnccl-net-ccsim.so") || !strcmp(base, "libnccl-profiler-ccsim.so") ||
      !strcmp(base, "libnccl-tuner-ccsim.so"))
    return hack_self_path();
  return NULL;
}
