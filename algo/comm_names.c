/* comm_names.c — names of algorithms, protocols, operations, element types and reduction operators as
 * NCCL and nccl-tests spell them. */
#include <string.h>
#include "comm.h"

static const char *algo_names[ALGO_COUNT] = {"TREE", "RING", "COLLNET_DIRECT", "COLLNET_CHAIN", "NVLS", "NVLS_TREE", "PAT"};
static const char *proto_names[PROTO_COUNT] = {"LL", "LL128", "SIMPLE"};
static const char *op_names[OP_COUNT] = {"all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce",
                                          "alltoall", "sendrecv"};
static const char *dtype_names[DTYPE_COUNT] = {"int8", "uint8", "int32", "uint32", "int64", "uint64",
                                               "half", "float", "double", "bfloat16", "f8e4m3", "f8e5m2"};
static const int dtype_sizes[DTYPE_COUNT] = {1, 1, 4, 4, 8, 8, 2, 4, 8, 2, 1, 1};
static const char *redop_names[REDOP_COUNT] = {"sum", "prod", "max", "min", "avg", "mulsum"};

const char *comm_algo_name(enum comm_algo a) { return (unsigned)a < ALGO_COUNT ? algo_names[a] : "NONE"; }
const char *comm_proto_name(enum comm_proto p) { return (unsigned)p < PROTO_COUNT ? proto_names[p] : "?"; }
const char *comm_op_name(enum comm_op op) { return (unsigned)op < OP_COUNT ? op_names[op] : "?"; }
const char *comm_dtype_name(enum comm_dtype t) { return (unsigned)t < DTYPE_COUNT ? dtype_names[t] : "?"; }
int comm_dtype_size(enum comm_dtype t) { return (unsigned)t < DTYPE_COUNT ? dtype_sizes[t] : 4; }
const char *comm_redop_name(enum comm_redop r) { return (unsigned)r < REDOP_COUNT ? redop_names[r] : "?"; }

static int lookup(const char *s, const char **names, int n) {
  for (int i = 0; s && i < n; i++)
    if (!g_ascii_strcasecmp(s, names[i])) return i;
  return -1;
}
int comm_algo_parse(const char *s) { return lookup(s, algo_names, ALGO_COUNT); }
int comm_proto_parse(const char *s) { return lookup(s, proto_names, PROTO_COUNT); }
int comm_op_parse(const char *s) { return lookup(s, op_names, OP_COUNT); }
int comm_dtype_parse(const char *s) { return lookup(s, dtype_names, DTYPE_COUNT); }
int comm_redop_parse(const char *s) { return lookup(s, redop_names, REDOP_COUNT); }

char *comm_names_problem(const char *dtype, const char *redop) {
  if (dtype && comm_dtype_parse(dtype) < 0)
    return g_strdup_printf("unknown element type '%s' (nccl-tests' names: " COMM_DTYPE_NAMES ")", dtype);
  if (redop && comm_redop_parse(redop) < 0)
    return g_strdup_printf("unknown reduction operator '%s' (" COMM_REDOP_NAMES ")", redop);
  return NULL;
}

gboolean comm_op_reduces(enum comm_op op) {
  return op == OP_ALL_REDUCE || op == OP_REDUCE || op == OP_REDUCE_SCATTER;
}

gboolean comm_redop_is_premul_sum(enum comm_redop r, enum comm_dtype t) {
  gboolean floating = t == DTYPE_HALF || t == DTYPE_FLOAT || t == DTYPE_DOUBLE || t == DTYPE_BFLOAT16 ||
                      t == DTYPE_F8E4M3 || t == DTYPE_F8E5M2;
  return r == REDOP_MULSUM || (r == REDOP_AVG && floating);
}

gboolean comm_premul_reduction(const struct comm_decision *d) { return d->premul_sum && comm_op_reduces(d->op); }

int comm_op_from_nccl_func(const char *func) {
  static const struct { const char *name; enum comm_op op; } map[] = {
    {"AllReduce", OP_ALL_REDUCE}, {"AllGather", OP_ALL_GATHER}, {"ReduceScatter", OP_REDUCE_SCATTER},
    {"Broadcast", OP_BROADCAST}, {"Reduce", OP_REDUCE}};
  for (size_t i = 0; func && i < G_N_ELEMENTS(map); i++)
    if (!strcmp(func, map[i].name)) return map[i].op;
  return -1;
}
