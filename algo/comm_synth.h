/* comm_synth.h — a communicator shaped the way NCCL builds one, made without running NCCL.
 *
 * For tests and benchmarks at scales the virtual platform cannot run, and for hosts without NCCL:
 * rings visit the GPUs of each node in order and the nodes in order; trees are chains inside a node
 * joined across nodes by NCCL's double binary tree (graph/trees.cc: the first half of the channels
 * use the first tree, the second half the mirrored/shifted one); p2p channels and buffer sizes take
 * NCCL's defaults. It is NOT what NCCL would pick on a given topology: production paths take the
 * communicator from the platform capture.
 */
#ifndef CCSIM_ALGO_COMM_SYNTH_H
#define CCSIM_ALGO_COMM_SYNTH_H

#include "comm.h"

/* NCCL's double binary tree over n members (graph/trees.cc ncclGetDtree): `which` 0 or 1 picks the
 * tree; -1 where there is no parent or child. */
void comm_dtree(int n, int member, int which, int *up, int *down0, int *down1);

/* Fills c (free with comm_info_free). nchannels <= COMM_MAX_CHANNELS. */
void comm_synth_build(struct comm_info *c, int nnodes, int gpus_per_node, int nchannels);

#endif
