/* simtime.h — simulated GPU time for programs run under `ccsim run`: streams and events complete at
 * simulated times, NCCL kernel launches take the time the simulator (algo/ + netmodel/ + sim/ engine)
 * computes for the whole collective, other kernels take none.
 *
 * The fake driver (cu_exec.c, cu_device.c) calls these when simtime_active(); the profiler plugin feeds
 * each launch's NCCL tasks (simtime_note_*), and the NCCL API wrappers (simtime_nccl.c) mark the end of
 * each API call so the launches it made are matched across ranks.
 *
 * A collective's launches arrive once per rank, possibly from several threads. The launches of one
 * collective (same communicator, function and sequence number) form an instance; once every rank of the
 * communicator that lives in this process has launched, the instance is simulated once and starts at the
 * latest of (each rank's stream ready time, each rank's launch time). Synchronising on work that cannot
 * complete yet (some rank has not launched) waits for the other threads.
 */
#ifndef CCSIM_INTERCEPT_SIMTIME_H
#define CCSIM_INTERCEPT_SIMTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform_hooks.h"

bool simtime_active(void); /* CCSIM_RUN=1 */

/* ---- driver side (handles are the driver's CUstream / CUevent; NULL stream = device's default) ---- */
void simtime_on_launch(const struct hack_launch *l);
int simtime_stream_sync(void *stream, int dev);           /* returns a CUresult */
int simtime_stream_query(void *stream, int dev);
void simtime_stream_wait_event(void *stream, int dev, void *event);
void simtime_stream_forget(void *stream);
void simtime_event_record(void *event, void *stream, int dev);
int simtime_event_query(void *event);
int simtime_event_sync(void *event);
int simtime_event_elapsed(float *ms, void *start, void *end);
void simtime_event_forget(void *event);
int simtime_device_sync(int dev);
/* A synchronous memcpy by the program: waits for the device's work (every stream of it: the legacy default
 * stream's implicit synchronisation, taken broadly). Only on threads that call NCCL and not inside NCCL:
 * NCCL's own copies must not wait for collectives still being launched. */
void simtime_host_copy_wait(int dev);

/* ---- profiler side ---- */
void simtime_note_comm(uint64_t comm_id, int rank, int nranks, int nnodes);
void simtime_note_comm_gone(uint64_t comm_id, int rank);
struct simtime_task {
  uint64_t comm_id;
  int rank, nranks;
  bool p2p;
  char func[24];            /* "AllReduce", "Send", ... as NCCL names them */
  char datatype[20];
  size_t count;
  int root;                 /* collective root, or p2p peer */
  uint64_t seq;             /* collectives: per-communicator, per-function sequence number */
  char algo[16], proto[8];
  int nchannels, nwarps;
  const void *sendbuff, *recvbuff;
};
void simtime_note_task(const struct simtime_task *t);

/* ---- NCCL API side ---- */
/* One NCCL API call as the program made it (recorded by the wrappers in simtime_nccl.c). */
struct simtime_call {
  const char *func;         /* "AllReduce", "Send", ... (NCCL's names) */
  unsigned long long comm;  /* process-unique ordinal of the ncclComm_t (from 1) */
  int rank, nranks, dev;
  size_t count;
  const char *datatype, *redop; /* redop NULL where the call has none */
  int root, peer;           /* -1 where the call has none */
  void *stream;
  const void *sendbuff, *recvbuff;
  unsigned long long group; /* ncclGroupStart/End group id, 0 for an ungrouped call */
  int64_t t_ns;             /* virtual host time of the call */
  int rc;                   /* what NCCL returned */
};
/* The outermost NCCL API call (or group) of this thread returned: its launches are complete. `calls` are
 * the calls it made; each is written to the trace with NCCL's decision for it. */
void simtime_api_done(const struct simtime_call *calls, int ncalls);
/* Appends a line to the run report ccsim run reads (CCSIM_RUN_REPORT): "nccl-init", "unimplemented NAME". */
void simtime_report(const char *what, const char *name);

#endif
