/* nccltests.h — the nccl-tests text format: writing result tables and reading measured logs.
 *
 * Writing reproduces nccl-tests' header, column layout, bus-bandwidth factors and footer, so tools
 * that read nccl-tests output read ccsim's. Reading accepts real logs, where NCCL's INFO lines are
 * interleaved with the table, even in the middle of a row.
 */
#ifndef CCSIM_SIM_NCCLTESTS_H
#define CCSIM_SIM_NCCLTESTS_H

#include <stdio.h>
#include <stddef.h>
#include <glib.h>
#include "comm.h"

/* nccl-tests' bus bandwidth factor: busbw = algbw * factor. */
double nt_busbw_factor(enum comm_op op, int nranks);
/* Element count and printed size of a sweep point of `bytes` (nccl-tests' rounding per op). */
void nt_size_count(enum comm_op op, size_t bytes, int nranks, int type_size, size_t *count, size_t *size);
const char *nt_redop(enum comm_op op);      /* "sum" or "none" as nccl-tests prints it by default */
int nt_root(enum comm_op op);               /* 0 for broadcast/reduce, -1 otherwise */
const char *nt_test_name(enum comm_op op);  /* "all_reduce_perf", ... */

struct nt_header {
  enum comm_op op;
  int nranks;
  int gpus_per_thread;          /* printed as nGpus; 0: nranks */
  size_t min_bytes, max_bytes;
  int step_factor;
  int warmup_iters, iters;
  int graph_launches;           /* printed as "graph:" (nccl-tests -G) */
  const char *const *rank_desc; /* nranks lines "host device N [busid] name" or NULL */
};
void nt_print_header(FILE *f, const struct nt_header *h);
/* One row; times in µs (out-of-place and in-place). `redop` (NULL: sum) is printed for the reducing
 * operations and send/recv, "none" for the others; `root` for broadcast and reduce, -1 for the others. */
void nt_print_row(FILE *f, enum comm_op op, int nranks, size_t size, size_t count, const char *type,
                  const char *redop, int root, double time_oop_us, double time_ip_us);
void nt_print_footer(FILE *f, enum comm_op op, double avg_busbw);

/* A measured log. */
struct nt_row {
  size_t size, count;
  char type[16], redop[16];
  int root;
  double time_us[2];  /* out-of-place, in-place */
  double algbw[2], busbw[2];
  int line;           /* line where the row starts */
};
struct nt_log {
  int op;             /* enum comm_op, -1 when the log does not say */
  int nranks;         /* "# Rank" lines, or nThread*nGpus; 0 when unknown */
  int nhosts;         /* distinct host names of the "# Rank ... on HOST device" lines; 0 when none */
  int nvls_channels;  /* NVLS channels NCCL set up ("N nvls channels" INIT lines, the largest); -1 when not logged */
  int gpus_per_thread; /* nGpus of the header (-g): GPUs one host thread drives; 0 when unknown */
  int agg_iters;      /* "agg iters" of the header (-m): calls grouped into one launch; 1 when not printed */
  int cpu_time;       /* the table's time columns are "cputime" (-C 1: host time per call), not device time */
  int per_iter;       /* the table carries per-iteration columns (-I 1: i_min i_max i_p99 i_cv% per half) */
  int graph_launches; /* "graph:" of the header (-G N): the timed calls were captured into a CUDA graph and
                       * replayed N times; 0 when launched call by call */
  int blocking;       /* -z mode from the "# Blocking Enabled" line: 1 or 2, a stream sync after every call
                       * (1: and a barrier), 3: a sync and an untimed barrier after every iteration; 0: none */
  GArray *rows;       /* struct nt_row */
  GPtrArray *env;     /* "NCCL_X=value" from "NCCL_X set by environment to value" INFO lines, in order;
                       * "NCCL_NVLS_ENABLE=0" added when nvls_channels is 0 and the log does not set it */
};

#define NT_ERROR nt_error_quark()
GQuark nt_error_quark(void);

int nt_parse_log(const char *text, const char *name, struct nt_log *out, GError **err);
int nt_load_log(const char *path, struct nt_log *out, GError **err);
void nt_log_free(struct nt_log *l);

#endif
