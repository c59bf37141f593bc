/* comm.h — NCCL's decisions as data: a communicator's channels and the per-call choice.
 *
 * These structs are what the virtual GPU platform captures from the real NCCL library (written as
 * the capture JSON documented in docs/capture-format.md) and what the decomposition (plan.h)
 * consumes. They carry facts NCCL decided; nothing here re-derives them.
 */
#ifndef CCSIM_ALGO_COMM_H
#define CCSIM_ALGO_COMM_H

#include <stdint.h>
#include <stddef.h>
#include <glib.h>

#define COMM_MAX_TREE_ARITY 3
#define COMM_MAX_CHANNELS 64

enum comm_proto { PROTO_LL = 0, PROTO_LL128 = 1, PROTO_SIMPLE = 2, PROTO_COUNT = 3 };
/* NCCL's algorithm numbering (NCCL_ALGO_*): also the row order of the tuner's cost table. */
enum comm_algo {
  ALGO_TREE = 0, ALGO_RING = 1, ALGO_COLLNET_DIRECT = 2, ALGO_COLLNET_CHAIN = 3,
  ALGO_NVLS = 4, ALGO_NVLS_TREE = 5, ALGO_PAT = 6, ALGO_COUNT = 7,
  ALGO_NONE = -1 /* send/recv: no collective algorithm */
};
enum comm_op {
  OP_ALL_REDUCE, OP_ALL_GATHER, OP_REDUCE_SCATTER, OP_BROADCAST, OP_REDUCE, OP_ALLTOALL, OP_SENDRECV,
  OP_COUNT
};
/* Element types in NCCL's numbering (ncclDataType_t), named as nccl-tests names them (-d). */
enum comm_dtype {
  DTYPE_INT8, DTYPE_UINT8, DTYPE_INT32, DTYPE_UINT32, DTYPE_INT64, DTYPE_UINT64, DTYPE_HALF, DTYPE_FLOAT,
  DTYPE_DOUBLE, DTYPE_BFLOAT16, DTYPE_F8E4M3, DTYPE_F8E5M2, DTYPE_COUNT
};
/* Reduction operators in NCCL's numbering (ncclRedOp_t) up to avg; REDOP_MULSUM is nccl-tests' name for
 * an operator made with ncclRedOpCreatePreMulSum (NCCL numbers those per communicator). */
enum comm_redop { REDOP_SUM, REDOP_PROD, REDOP_MAX, REDOP_MIN, REDOP_AVG, REDOP_MULSUM, REDOP_COUNT };
/* How two ranks of a channel are connected, as NCCL set it up. */
enum comm_transport { TRANSPORT_P2P = 0, TRANSPORT_SHM = 1, TRANSPORT_NET = 2, TRANSPORT_COLLNET = 3,
                      TRANSPORT_NVLS = 4,
                      TRANSPORT_LOCAL = 5 /* an op within one rank's memory (rank_src == rank_dst): a
                                           * receive step copying from its buffer to the output */ };

struct comm_ring {
  int *order;              /* nranks ranks in ring order, starting at rank 0's position as NCCL lists it */
};

struct comm_tree_node {
  int up;                  /* -1 at the root */
  int down[COMM_MAX_TREE_ARITY]; /* -1 where unused */
};

struct comm_channel {
  struct comm_ring ring;
  struct comm_tree_node *tree; /* nranks entries, indexed by rank */
};

/* One communicator as NCCL built it. */
struct comm_info {
  int nranks, nnodes;
  int *rank_node;          /* nranks: which cluster node each rank lives on */
  int *rank_dev;           /* nranks: local CUDA device of each rank */
  int nchannels;           /* collective channels (rings/trees) */
  int nvls_channels, collnet_channels;
  int p2p_nchannels, p2p_nchannels_per_peer;
  size_t p2p_chunk_size;
  size_t buff_size[PROTO_COUNT]; /* per-connection buffer size for LL, LL128, SIMPLE */
  struct comm_channel *channels; /* nchannels */
  /* transport[a*nranks+b]: how a sends to b where they are neighbours; -1 where not connected/known */
  int8_t *transport;
  size_t nvls_chunk_size;  /* NCCL_NVLS_CHUNKSIZE as NCCL used it; 0 = NCCL's default (128 KiB) */
  int nvls_nheads;         /* NVLS heads per node where known (0: one per local rank) */
  int *nvls_heads;         /* nvls_nheads x nnodes: rank of head h on node k at [h*nnodes+k]; NULL: the
                            * h-th rank of each node (by rank id) */
};

/* How `a` reaches `b`: the captured transport where known, else P2P inside a node and NET across. */
enum comm_transport comm_transport_between(const struct comm_info *c, int a, int b);

/* NCCL's choice for one call, as its profiler/tuner interfaces report it. */
struct comm_decision {
  enum comm_op op;
  size_t bytes;            /* size as nccl-tests reports it (AllGather: gathered total) */
  size_t nccl_bytes;       /* size NCCL's tuning sees (AllGather/ReduceScatter: per rank) */
  size_t count;            /* elements */
  int type_size;           /* bytes per element */
  int root;                /* broadcast/reduce root, send/recv peer offset; 0 otherwise */
  enum comm_algo algo;
  enum comm_proto proto;
  int nchannels;            /* channels the call ran on (channelHi - channelLo + 1, as NCCL's TUNING
                            * line and profiler report it) */
  int nthreads;             /* threads that run the call's work (NCCL's nWarps x 32; the launch pads its
                            * block to at least 128), or the block where the warps are not known */
  int premul_sum;           /* NCCL reduces with a pre-multiplied sum (ncclAvg of a floating-point type, or an
                            * operator from ncclRedOpCreatePreMulSum): on one rank a kernel runs even in
                            * place, where other one-rank calls copy the buffer or do nothing */
  int max_channels;         /* NCCL's per-task channel limit (nMaxChannels after tuning) where known,
                            * 0 otherwise: the decomposition then finds the limit that yields
                            * `nchannels` used channels */
  /* NCCL's own time estimate (µs) per algorithm/protocol, -1 where unavailable or unknown */
  float cost_us[ALGO_COUNT][PROTO_COUNT];
};

const char *comm_algo_name(enum comm_algo a);   /* "RING", "TREE", ... as NCCL spells them */
const char *comm_proto_name(enum comm_proto p); /* "LL", "LL128", "SIMPLE" */
const char *comm_op_name(enum comm_op op);      /* "all_reduce", ... (nccl-tests names) */
int comm_algo_parse(const char *s);             /* -1 when unknown */
int comm_proto_parse(const char *s);
int comm_op_parse(const char *s);
/* The accepted names, for messages. */
#define COMM_DTYPE_NAMES "int8, uint8, int32, uint32, int64, uint64, half, float, double, bfloat16, f8e4m3, f8e5m2"
#define COMM_REDOP_NAMES "sum, prod, max, min, avg, mulsum"
const char *comm_dtype_name(enum comm_dtype t);  /* "float", "bfloat16", "f8e4m3", ... */
int comm_dtype_size(enum comm_dtype t);          /* bytes per element */
int comm_dtype_parse(const char *s);             /* -1 when unknown */
const char *comm_redop_name(enum comm_redop r);  /* "sum", "prod", "max", "min", "avg", "mulsum" */
int comm_redop_parse(const char *s);             /* -1 when unknown */
/* What is wrong with an element type and reduction operator given by name (NULL: not given), naming the
 * accepted ones, as a message to g_free; NULL when both are known. */
char *comm_names_problem(const char *dtype, const char *redop);
/* Whether the operation reduces (all_reduce, reduce, reduce_scatter): the ones a redop applies to. */
gboolean comm_op_reduces(enum comm_op op);
/* Whether NCCL runs `r` on elements of `t` as a pre-multiplied sum (hostToDevRedOp: avg of floating-point
 * types multiplies by 1/nranks first; integer avg divides after the sum instead). */
gboolean comm_redop_is_premul_sum(enum comm_redop r, enum comm_dtype t);
/* Whether the call reduces with a pre-multiplied sum (d->premul_sum on a reducing operation): on one rank
 * NCCL then runs its one-rank kernel, in place too, where other one-rank calls copy or do nothing. */
gboolean comm_premul_reduction(const struct comm_decision *d);
/* NCCL's own function name of a collective ("AllReduce", "ReduceScatter", ...), as its profiler and
 * trace events spell it; -1 for names that are not one of the five collectives. */
int comm_op_from_nccl_func(const char *func);

/* A decision's nthreads from what a capture recorded of a collective: the threads that run the work
 * (NCCL's nWarps x 32) when the warps are known, else the launch's block (padded by NCCL to at least
 * 128), else 128. */
int comm_work_threads(int nwarps, int block);

void comm_info_free(struct comm_info *c);

#endif
