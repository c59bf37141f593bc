/* platform.h — runs the real NCCL library on virtual GPUs and returns what it decided.
 *
 * The launcher starts the probe program (intercept/) under libhacknccl.so, one process per virtual
 * node, with time limits, and reads back the capture JSON (docs/capture-format.md): the
 * communicator's channels and NCCL's decision for each requested size. Used by graph, decide,
 * plan and bench.
 */
#ifndef CCSIM_SIM_PLATFORM_H
#define CCSIM_SIM_PLATFORM_H

#include <stddef.h>
#include <glib.h>
#include "comm.h"

struct platform_request {
  const char *topo_path;     /* node topology XML */
  int nodes;                 /* virtual nodes (>= 1) */
  int gpus;                  /* GPUs per node to use; 0 = all in the XML */
  const char *nccl_path;     /* NULL: CCSIM_NCCL or the CUDA toolkit's libnccl.so.2 */
  enum comm_op op;
  const size_t *sizes;       /* call sizes in nccl-tests' convention (size column) */
  int nsizes;                /* 0: init only (channels, no decisions) */
  int type_size;             /* bytes per element; 4 (float) by default; used when dtype is NULL */
  const char *dtype;         /* element type as nccl-tests names it ("half", ...); NULL: by type_size */
  const char *redop;         /* reduction operator ("sum", "prod", ...); NULL: sum */
  int root;                  /* root rank of broadcast and reduce */
  double timeout_s;          /* whole-run limit; <= 0 picks a default scaled by rank count */
  const char *graph_dump_path; /* non-NULL: NCCL_GRAPH_DUMP_FILE written there */
  gboolean verbose;          /* pass NCCL's INFO output and probe progress through to stderr */
};

struct platform_result {
  struct comm_info comm;
  struct comm_decision *decisions; /* nsizes, in request order */
  int ndecisions;
  int nccl_version;          /* ncclGetVersion() of the library that ran */
};

/* 0 on success; on failure fills err with what went wrong and how to fix it. */
int platform_capture(const struct platform_request *req, struct platform_result *out, GError **err);
void platform_result_free(struct platform_result *r);

#endif
