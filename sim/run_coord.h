/* run_coord.h — the coordinator of a multi-node `ccsim run`: one process per virtual node, each running
 * the program with libhacknccl.so; collectives whose ranks span processes are timed here, once, for all
 * ranks, on the cluster's network model, and each process is told the simulated start and end.
 *
 * Protocol: text lines over a Unix stream socket, one connection per process.
 *   process -> coordinator, once per communicator and process (before its first I line):
 *     R <comm> <rank> <node> <dev> <nch> (<up> <down0> <down1> <down2>) x nch      every local rank
 *     C <comm> <nranks> <nnodes> <nch> <nvls> <collnet> <p2p> <perpeer> <chunk> <buffLL> <buffLL128> <buffSimple>
 *     G <comm> <channel> <rank in ring order> x nranks                            (from rank 0's process)
 *   process -> coordinator, per collective instance once its local ranks have launched:
 *     I <key> <comm> <nranks> <nlocal> <earliest start ns> <ntasks>
 *       (<func> <type size> <count> <root> <algo> <proto> <nchannels> <nthreads> <in place>) x ntasks
 *       send/recv instances list every local rank's sends instead:
 *       (Send <type size> <count> <peer> P2P SIMPLE <nchannels> <nthreads> <sending rank>) x nsends
 *   coordinator -> process:
 *     T <key> <start ns> <end ns>
 * Times are the processes' shared virtual clock (they start from one origin, CCSIM_ORIGIN_NS).
 */
#ifndef CCSIM_SIM_RUN_COORD_H
#define CCSIM_SIM_RUN_COORD_H

#include <glib.h>

struct run_coord;

/* Listens at socket_path; the cluster is `nodes` copies of the node topology. NULL with err set. */
struct run_coord *run_coord_new(const char *socket_path, const char *topo_path, int nodes, const char *params_path,
                                GError **err);
/* Serves connections for up to timeout_ms. */
void run_coord_poll(struct run_coord *c, int timeout_ms);
/* Instances timed so far. */
unsigned run_coord_instances(const struct run_coord *c);
void run_coord_free(struct run_coord *c);

#endif
