/* tuner.c — NCCL tuner plugin (ABI v5) inside libhacknccl.so: records NCCL's own cost table (µs per
 * algorithm and protocol) for every collective it tunes, and leaves NCCL's choice untouched (no constant
 * edits, nChannels left as given).
 */
#include <stdlib.h>
#include "capture.h"
#include "capture_nccl_abi.h"

struct tuner_ctx { int rank; size_t nranks, nnodes; };

static nccl_result_t tuner_init(void **context, uint64_t comm_id, size_t nranks, size_t nnodes, nccl_logger_t logfn,
                                struct nccl_nvl_domain_info_v5 *nvl, struct nccl_tuner_constants_v5 *constants) {
  (void)comm_id;
  (void)logfn;
  (void)nvl;
  (void)constants;
  struct tuner_ctx *c = calloc(1, sizeof(*c));
  if (!c) return NCCL_INTERNAL_ERROR;
  /* The tuner is not told its rank; the profiler init of the same communicator ran just before on this
   * thread and noted it. */
  c->rank = capture_last_init_rank();
  c->nranks = nranks;
  c->nnodes = nnodes;
  *context = c;
  return NCCL_OK;
}

static nccl_result_t tuner_get_coll_info(void *context, int coll_type, size_t nbytes, int num_pipe_ops,
                                         float **cost_table, int num_algo, int num_proto, int reg_buff,
                                         int *nchannels) {
  (void)num_pipe_ops;
  (void)reg_buff;
  (void)nchannels;
  struct tuner_ctx *c = context;
  /* A contiguous float[num_algo][num_proto] passed as float**. */
  if (cost_table && num_algo > 0 && num_proto > 0)
    capture_record_costs(c ? c->rank : -1, coll_type, nbytes, (const float *)cost_table, num_algo, num_proto);
  return NCCL_OK;
}

static nccl_result_t tuner_finalize(void *context) {
  free(context);
  return NCCL_OK;
}

__attribute__((visibility("default"))) const struct nccl_tuner_v5 ncclTunerPlugin_v5 = {
  .name = "ccsim-capture",
  .init = tuner_init,
  .get_coll_info = tuner_get_coll_info,
  .finalize = tuner_finalize,
};
