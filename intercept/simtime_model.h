/* simtime_model.h — the simulator inside libhacknccl.so (internal to simtime): NCCL's device-side
 * communicator -> struct comm_info, each launch's profiler tasks -> struct comm_decision, and the device
 * time of one collective instance from the network model and the engine (cached).
 */
#ifndef CCSIM_INTERCEPT_SIMTIME_MODEL_H
#define CCSIM_INTERCEPT_SIMTIME_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "simtime.h"

/* One rank's launch of a collective instance. */
struct simtime_member {
  int rank, dev, block;
  const void *devcomm;          /* NCCL's ncclKernelComm (device pointer = host memory here) */
  const struct simtime_task *tasks;
  int ntasks;
};

/* What the model decided for an instance (for the trace). */
struct simtime_outcome {
  int64_t duration_ns;
  int64_t lead_ns;              /* the next launch of the same communicator on a stream may start this
                                 * much before duration_ns is over (its first ranks are done sooner) */
  char op[24];                  /* comm_op_name, or "none" */
  char algo[16], proto[8];
  int nchannels, nthreads;
  size_t bytes;                 /* nccl-tests' size of the call(s) */
  bool modelled;                /* false: timed as zero; `why` says why */
  char why[160];
};

/* Members sorted by rank; n of the communicator's nranks are present; nlocal: the most of them one host
 * thread launched (consecutive calls overlap only at 1, as in sim_call_run). Called with simtime's lock
 * held. */
void simtime_model_instance(uint64_t comm_id, int nranks, const struct simtime_member *m, int n, int nlocal,
                            struct simtime_outcome *out);
/* Modelled host time of one NCCL group of `ncalls` calls issued by one thread (netmodel host costs). */
int64_t simtime_model_host_ns(bool p2p, int ncalls);
/* The part of it that grows with the channels NCCL spreads one GPU's call over (netmodel host_channel_us),
 * charged once NCCL has chosen them. */
int64_t simtime_model_host_channel_ns(int nchannels);
void simtime_model_forget_comm(uint64_t comm_id);
/* Multi-process runs: the local ranks' part of the communicator, and the tasks of one launch, as the
 * coordinator's text lines (sim/run_coord.h). */
#include <glib.h>
void simtime_model_describe(uint64_t comm_id, int nranks, const struct simtime_member *m, int n, GString *out);
void simtime_model_describe_tasks(const struct simtime_member *m, int n, GString *out);

#endif
