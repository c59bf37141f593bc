/* netmodel.h — public interface of the network model: what each point-to-point op costs.
 *
 * Two parts:
 *   - parameters of one hardware generation (struct netmodel_params), read from a JSON file such as
 *     params/sm90.json, every value carrying its source; see docs/netmodel.md;
 *   - a model instance (struct netmodel) for one communicator on one machine: the bandwidth resources
 *     (one per direction of every link the ranks' paths cross, taken from topo/'s paths, then per
 *     NVLink link the shares that send/recv channels writing in step get), the route
 *     between every pair of ranks, and the cost of an op (step latency, bytes on the wire, per-channel
 *     rate cap) that the engine (sim/engine.h) executes.
 * Everything is per instance; nothing global.
 */
#ifndef CCSIM_NETMODEL_H
#define CCSIM_NETMODEL_H

#include <stdint.h>
#include <glib.h>
#include "comm.h"
#include "oplist.h"
#include "topo.h"

#define NETMODEL_ERROR netmodel_error_quark()
GQuark netmodel_error_quark(void);

/* Kind of route between two ranks: picks the per-step latency row. */
/* ROUTE_SHM: two GPUs of a node through host memory (NCCL's SHM transport), over their PCIe paths. */
enum netmodel_route_kind { ROUTE_NVLINK = 0, ROUTE_PCI = 1, ROUTE_NET = 2, ROUTE_SHM = 3, ROUTE_KINDS = 4 };

/* Per hardware generation. Rates are GB/s (1e9 bytes/s), times µs. */
struct netmodel_params {
  char *name;                       /* e.g. "sm90" */
  char *path;                       /* file it was read from */
  /* Per protocol (index enum comm_proto). */
  double wire_factor[PROTO_COUNT];  /* bytes on the wire per payload byte */
  double chan_bw[PROTO_COUNT];      /* payload rate one channel (one thread block) of a collective sustains */
  /* Simple rings and chains: one thread block runs each primitive over a slice, and what it does with
   * each byte adds up (GB/s, 0 = not given: every step at chan_bw[SIMPLE]). */
  double ring_send_bw;              /* load the byte (received or local) and store it to the next rank */
  double ring_store_bw;             /* also store it to the rank's own output (copySend, recvCopySend) */
  double ring_recv_copy_bw;         /* a receive-only step: copy from the receive buffer to the output */
  /* LL and LL128 rings, chains and trees: one thread block runs the primitives of a channel in turn
   * and each costs what its loads and stores cost ([proto][enum op_kind], payload GB/s at
   * chan_threads[proto]; a row of 0 = not given: every sending step at chan_bw[proto] and
   * receive-only steps free). The SIMPLE row is unused (simple_ring_step_gbs). */
  double flag_step_bw[PROTO_COUNT][OPK_COUNT];
  /* LL128 trees measured whole (0 = not given: a rank's two groups cost their flag_step_bw primitives one
   * after the other, as LL trees do): per channel, payload GB/s of the ops of a chain's ends (the leaf's
   * send, the root's recvReduceCopySend) and of its middle ranks (recvReduceSend up, recvCopySend down),
   * each divided by 1 + ll128_tree_chan_loss * sqrt(s - 1), s being the tree streams (one per parent
   * or child, per channel) the sending rank keeps up over the call's channels. */
  double ll128_tree_end_bw, ll128_tree_mid_bw, ll128_tree_chan_loss;
  double chan_spread;               /* channel c of k runs its ring steps (1 + spread * c/(k-1)) x faster */
  double p2p_chan_bw[PROTO_COUNT];  /* same for a send/recv channel (its threads are split between the two) */
  /* Simple send/recv over NVLink (0 = not given: step_lat, no first-chunk resource). The sender writes
   * each chunk straight into the receiver's buffer and the two hand over every chunk with a flag. */
  double p2p_step_lat;              /* µs per chunk */
  double p2p_first_lat;             /* µs before a channel's first chunk (buffer exchange, set-up) */
  double p2p_first_share;           /* fraction of its link that the first chunks of a rank's channels share */
  double p2p_lockstep_loss;         /* per other channel in step: slowdown of a channel's first chunk */
  int chan_threads[PROTO_COUNT];    /* thread count chan_bw was measured at; fewer threads scale it down */
  double simple_full_threads;       /* a Simple block's rate grows with its threads up to this many, then
                                     * stays (0 = not given: in proportion up to chan_threads) */
  double ll_recv_thread_knee;       /* an LL primitive that only takes lines from its receive FIFO (recv,
                                     * recvCopySend) on t threads runs at t (knee + full) / (full (knee + t))
                                     * of its full-block rate; those that load their input, in proportion
                                     * to t (0 = not given: all in proportion) */
  double step_lat[ROUTE_KINDS][PROTO_COUNT]; /* synchronisation cost of one step over one route kind */
  double tree_step_lat[PROTO_COUNT]; /* the same for a tree hop over NVLink (0 = step_lat) */
  double simple_empty_slice_lat;    /* µs for a Simple slice that carries no data (0 = step_lat) */
  double ring_first_step_wait;      /* µs after its receiver's kernel start before a ring collective's first
                                     * Simple step may start (0 = none) */
  double forward_frac[PROTO_COUNT]; /* fraction of a step that must arrive before the receiver forwards it */
  double link_eff;                  /* fraction of a link's nominal (topology) bandwidth data can use */
  double shm_read_eff;              /* share of that a GPU gets reading SHM data out of host memory across
                                     * its PCI path (0 = not given: no such limit) */
  double shm_chan_bw[PROTO_COUNT];  /* payload rate one channel reaches through host memory, a cap on its
                                     * rate otherwise (0 = not given: no cap) */
  double nvls_eff;                  /* NVLink SHARP (multimem) traffic: the fraction of that a payload byte
                                     * gets, so each takes 1/nvls_eff bytes of the link; 0 = no NVLS */
  /* Fixed costs of one collective call. */
  double kernel_start;              /* launch of the kernel to its first step, on the device */
  double kernel_end;                /* last step to completion seen by the stream */
  double host_call;                 /* host time to enqueue one call on one GPU (per rank, per call) */
  double host_group;                /* host time per group of calls (one iteration), independent of rank count */
  double p2p_host_call;             /* same for send/recv/alltoall (two calls per rank per peer set) */
  double p2p_host_group;
  double host_channel;              /* extra host time per channel the call runs on, per GPU (the work
                                     * NCCL's enqueue builds per channel) */
  double graph_call;                /* a call replayed from a CUDA graph that one thread captured on
                                     * several GPUs: time per call per GPU (0 = not given: graph-replayed
                                     * calls cannot be timed) */
  /* A communicator of one rank runs no algorithm and no NCCL kernel of its own (0 = not given: its copy
   * runs at ring_recv_copy_bw after the usual kernel start and end). Each copy is latency + bytes/rate. */
  double one_copy_bw, one_copy_lat;     /* cudaMemcpyAsync of the buffer (out of place) */
  double one_kernel_bw, one_kernel_lat; /* NCCL's one-rank kernel for a pre-multiplied sum */
  double one_self_bw, one_self_lat;     /* send/recv to itself through NCCL's p2p kernel */
  double one_copy_host;                 /* host time of a collective that only copies (out of place) */
  double one_noop_host;                 /* host time of a collective that launches nothing (in place) */
  double one_noop_p2p_host;             /* the same for send/recv to itself in place */
  double one_kernel_host;               /* host time of a call that launches only the one-rank kernel */
  double one_ref_mem;                   /* memory bandwidth (TB/s) of the part these rates were taken on: a
                                         * GPU the topology names (PCI device id) scales them by its own */
};

struct netmodel_params *netmodel_params_load(const char *path, GError **err);
struct netmodel_params *netmodel_params_parse(const char *json, const char *name, GError **err);
void netmodel_params_free(struct netmodel_params *p);
/* The parameter file for GPUs of compute capability sm (90, 100, ...): CCSIM_PARAMS if set, else the
 * installed data directory, else the source tree. Newly allocated path, or NULL with err set. */
char *netmodel_params_find(int sm, GError **err);

struct netmodel;

/* Model for one communicator on a topology: rank r lives on the GPU with rank_node[r]/rank_dev[r]. */
struct netmodel *netmodel_new(const struct netmodel_params *p, const struct topo_system *sys,
                              const struct comm_info *comm, GError **err);
/* An empty model for nranks ranks; resources and routes are added by hand (tests, what-if studies). */
struct netmodel *netmodel_new_empty(const struct netmodel_params *p, int nranks);
void netmodel_free(struct netmodel *m);

/* Adds a resource of capacity gbs GB/s (before link_eff); returns its index. */
int netmodel_add_resource(struct netmodel *m, const char *name, double gbs);
void netmodel_set_route(struct netmodel *m, int src, int dst, enum netmodel_route_kind kind, int nres,
                        const int *res);

int netmodel_nresources(const struct netmodel *m);
const double *netmodel_capacities(const struct netmodel *m); /* bytes per ps, link_eff applied */
const char *netmodel_resource_name(const struct netmodel *m, int i);
const struct netmodel_params *netmodel_get_params(const struct netmodel *m);
int netmodel_nranks(const struct netmodel *m);

#define NETMODEL_MAX_HOPS 16

/* What one op costs: the engine waits latency_ps, moves bytes over res[] at no more than cap, then
 * waits tail_ps before dependants may start. */
struct netmodel_cost {
  uint64_t latency_ps;
  double bytes;
  double cap;                       /* bytes per ps */
  int nres;
  int res[NETMODEL_MAX_HOPS];
  uint64_t tail_ps;
  double release_frac;              /* dependants fed by this op may start once this fraction has moved */
  int needs_receiver;               /* the receiver's kernel must be running (calls back to back) */
  uint64_t after_receiver_start_ps; /* and must have run this long (its hand-over at the call's start) */
};

/* Cost of one op of a call decided as d (protocol from the op, threads from d). */
void netmodel_op_cost(const struct netmodel *m, const struct comm_decision *d, const struct op *op,
                      struct netmodel_cost *out);

/* Whether consumer is fed by producer's data (the producer delivers to the consumer's rank), so that it
 * may start forwarding once forward_frac of the producer's step has arrived (LL and LL128 carry a flag
 * in every line; Simple signals per step, see docs/netmodel.md). */
int netmodel_streams(const struct netmodel *m, const struct op *producer, const struct op *consumer);

/* Host time for one iteration of a benchmark loop issuing a call decided as d on nlocal GPUs from one
 * thread, ps; nops: the ops the call runs (a one-rank call with none launches nothing). */
uint64_t netmodel_host_ps(const struct netmodel *m, const struct comm_decision *d, int nlocal, size_t nops);

/* The same when the benchmark's calls were captured into a CUDA graph on nlocal GPUs from one thread and
 * replayed (nccl-tests -G): nothing is enqueued per call, yet each replayed call costs graph_call per GPU
 * the capture spans. 0 when the parameters do not give graph_call. */
uint64_t netmodel_graph_host_ps(const struct netmodel *m, int nlocal);
/* Whether calls on this model run NCCL kernels (kernel_start/kernel_end apply): not on one rank. */
int netmodel_runs_kernels(const struct netmodel *m);

static inline uint64_t netmodel_us_to_ps(double us) { return (uint64_t)(us * 1e6 + 0.5); }

#endif
