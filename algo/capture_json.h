/* capture_json.h — reader of the capture JSON the probe writes (docs/capture-format.md).
 *
 * One file per virtual node; together they hold every rank's device-side communicator and every rank's
 * record of each call. The reader merges them into one struct comm_info (channel counts, buffer sizes,
 * rank 0's ring of each channel, every rank's tree node) and one struct comm_decision per requested size
 * (rank 0's algorithm, protocol, channels and threads; NCCL's cost table). Errors name the file and what is
 * missing or malformed.
 */
#ifndef CCSIM_ALGO_CAPTURE_JSON_H
#define CCSIM_ALGO_CAPTURE_JSON_H

#include <glib.h>
#include "comm.h"

struct capture_data {
  int nccl_version;
  enum comm_op op;
  int nodes, gpus;               /* virtual nodes and GPUs per node of the run */
  double init_seconds;           /* NCCL init time of the slowest node */
  struct comm_info comm;
  struct comm_decision *decisions; /* one per request, in request order */
  int ndecisions;
};

#define CAPTURE_JSON_ERROR capture_json_error_quark()
GQuark capture_json_error_quark(void);
enum capture_json_error_code { CAPTURE_JSON_ERROR_IO, CAPTURE_JSON_ERROR_PARSE, CAPTURE_JSON_ERROR_INCOMPLETE };

/* Merge the capture files of all nodes (any order). 0 on success, -1 with err set. */
int capture_json_read(const char *const *paths, int npaths, struct capture_data *out, GError **err);
/* The same from JSON texts already in memory; names are used in messages. */
int capture_json_parse(const char *const *texts, const char *const *names, int n, struct capture_data *out, GError **err);
void capture_data_free(struct capture_data *d);

#endif
