/* capture.h — what libhacknccl.so records about NCCL's decisions, and how it hands them out.
 *
 * Three sources feed one in-memory store: the profiler plugin (per-call algorithm, protocol, channels,
 * warps of every Coll/P2p task), the tuner plugin (NCCL's cost table per call), and the fake driver's
 * kernel-launch hook (grid/block, and the device-side communicator the argument blob points to: rings,
 * trees, channel counts, buffer sizes, p2p work). The probe program marks which of its calls is running
 * on each thread and finally asks for the store as JSON (docs/capture-format.md).
 *
 * The probe is not linked against libhacknccl.so (it is preloaded), so it reaches the functions marked
 * "probe API" through dlsym(RTLD_DEFAULT, name); their names are CAPTURE_SYM_* below.
 */
#ifndef CCSIM_INTERCEPT_CAPTURE_H
#define CCSIM_INTERCEPT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAPTURE_FORMAT_VERSION 1

/* ---- probe API (exported, default visibility) ---- */
/* The NCCL version the probe found; internal structures are read only for CAPTURE_NCCL_LAYOUT_VERSION. */
void ccsim_capture_set_nccl_version(int version);
/* Calls made by this thread from now on belong to probe call `index` (-1: none, e.g. warm-up). */
void ccsim_capture_begin_call(int index);
/* Writes `"comms": [...], "calls": [...]` (no enclosing braces) for everything recorded so far.
 * Must run before the communicators are destroyed: it reads their device-side state. 0 on success. */
int ccsim_capture_write_json(FILE *f);

typedef void (*capture_set_nccl_version_fn)(int);
typedef void (*capture_begin_call_fn)(int);
typedef int (*capture_write_json_fn)(FILE *);
#define CAPTURE_SYM_SET_VERSION "ccsim_capture_set_nccl_version"
#define CAPTURE_SYM_BEGIN_CALL "ccsim_capture_begin_call"
#define CAPTURE_SYM_WRITE_JSON "ccsim_capture_write_json"

/* ---- plugin-side recording (internal to libhacknccl.so) ---- */
int capture_current_call(void);

struct capture_coll_rec {
  int rank;
  char func[24], datatype[16], algo[16], proto[8];
  size_t count;
  int root;
  int nchannels, nwarps;
};
struct capture_p2p_rec {
  int rank;
  char func[24], datatype[16];
  size_t count;
  int peer;
  int nchannels;
};
void capture_record_coll(const struct capture_coll_rec *r);
void capture_record_p2p(const struct capture_p2p_rec *r);
/* NCCL's cost estimates (µs), table[algo*nproto + proto], -1 = unavailable. rank -1 when unknown. */
void capture_record_costs(int rank, int coll_type, size_t nbytes, const float *table, int nalgo, int nproto);

/* Rank of the communicator whose profiler init ran last on this thread (tuner contexts are tagged with it:
 * NCCL initialises both plugins for one communicator on that communicator's init thread). */
void capture_note_init_rank(int rank);
int capture_last_init_rank(void);

#endif
