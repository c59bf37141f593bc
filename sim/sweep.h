/* sweep.h — a size sweep end to end: NCCL's decisions from the virtual platform, the op list of each
 * call, the network model and the engine; shared by `ccsim bench` and `ccsim compare`.
 */
#ifndef CCSIM_SIM_SWEEP_H
#define CCSIM_SIM_SWEEP_H

#include <stddef.h>
#include <glib.h>
#include "comm.h"

struct sweep_request {
  const char *topo_path;
  int nodes, gpus;           /* gpus per node; 0 = all in the XML */
  enum comm_op op;
  const size_t *sizes;       /* nccl-tests' size column */
  int nsizes;
  int type_size;             /* bytes per element when dtype is NULL (4: float) */
  const char *dtype;         /* element type as nccl-tests names it ("half", ...); NULL: by type_size */
  const char *redop;         /* reduction operator ("sum", "prod", ...); NULL: sum */
  int root;                  /* root rank of broadcast and reduce */
  const char *params_path;   /* NULL: the parameters of the GPUs' generation */
  const char *nccl_path;     /* NULL: default library */
  const char *timeline_path; /* NULL: none */
  int coarse;                /* plan_options.coarse */
  int gpus_per_thread;       /* GPUs one host thread enqueues to (nccl-tests -g); 0 = all of a node */
  int graph;                 /* the calls are replayed from a CUDA graph (nccl-tests -G): no enqueue per call */
  gboolean verbose;
  gboolean progress;         /* report progress on stderr */
};

struct sweep_point {
  size_t size, count;        /* as nccl-tests prints them */
  struct comm_decision decision;
  double time_us[2];         /* out-of-place, in-place; 0 for an empty call */
  double host_us, device_us[2];
  int host_bound[2];         /* the host's enqueue, not the GPUs, sets the iteration time (out of place, in place) */
  unsigned long long events, ops;
};

struct sweep_result {
  int nranks, nnodes, nlocal;
  int sm;                    /* compute capability of the GPUs (x10) */
  char *params_name;
  char **rank_desc;          /* nranks descriptions for the nccl-tests header */
  struct sweep_point *points;
  int npoints;
  double sim_seconds;        /* wall time spent in the engine */
  unsigned long long events;
};

int sweep_run(const struct sweep_request *req, struct sweep_result *out, GError **err);
void sweep_result_free(struct sweep_result *r);

/* "8", "64K", "1M", "8G" (powers of 1024; optional B/iB suffix). */
gboolean sweep_parse_size(const char *s, size_t *out);

#endif
