/* capture_nccl_abi.h — our own declarations of the NCCL 2.28.9 structures the capture code reads.
 *
 * Two kinds: the official, versioned plugin ABIs (profiler v5, tuner v5, net v8), which are stable by
 * design, and mirrors of NCCL-internal device structures (the kernel argument blob and the device-side
 * communicator with its channels). The internal mirrors are bound to NCCL 2.28.9 exactly: any other
 * version may lay them out differently, so capture refuses to read them unless ncclGetVersion() said
 * 22809 (CAPTURE_NCCL_LAYOUT_VERSION). Sizes and offsets below were checked against that version's
 * device.h; the static assertions keep the mirrors honest on this side.
 */
#ifndef CCSIM_INTERCEPT_CAPTURE_NCCL_ABI_H
#define CCSIM_INTERCEPT_CAPTURE_NCCL_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CAPTURE_NCCL_LAYOUT_VERSION 22809

/* ---- common plugin types ---- */
typedef int nccl_result_t; /* ncclResult_t: 0 success, 3 internal error, ... */
#define NCCL_OK 0
#define NCCL_INTERNAL_ERROR 3
typedef void (*nccl_logger_t)(int level, unsigned long flags, const char *file, int line, const char *fmt, ...);

/* ncclFunc_t */
enum nccl_func { NCCL_FUNC_BROADCAST = 0, NCCL_FUNC_REDUCE = 1, NCCL_FUNC_ALLGATHER = 2,
                 NCCL_FUNC_REDUCESCATTER = 3, NCCL_FUNC_ALLREDUCE = 4, NCCL_FUNC_SENDRECV = 5,
                 NCCL_FUNC_SEND = 6, NCCL_FUNC_RECV = 7 };

/* ---- profiler v5 (ncclProfiler_v5) ---- */
enum { NCCL_PROFILE_GROUP = 1 << 0, NCCL_PROFILE_COLL = 1 << 1, NCCL_PROFILE_P2P = 1 << 2,
       NCCL_PROFILE_KERNEL_CH = 1 << 6, NCCL_PROFILE_KERNEL_LAUNCH = 1 << 11 };

struct nccl_profiler_descr_v5 {
  uint64_t type;
  void *parent_obj;
  int rank;
  union {
    struct { bool graph_captured; int group_depth; } group_api;
    struct { const char *func; size_t count; const char *datatype; int root; void *stream; bool graph_captured; } coll_api;
    struct { const char *func; size_t count; const char *datatype; void *stream; bool graph_captured; } p2p_api;
    struct { void *stream; } kernel_launch;
    struct {
      uint64_t seq_number;
      const char *func;
      const void *send_buff;
      void *recv_buff;
      size_t count;
      int root;
      const char *datatype;
      uint8_t nchannels;
      uint8_t nwarps;
      const char *algo;
      const char *proto;
      void *parent_group;
    } coll;
    struct {
      const char *func;
      void *buff;
      const char *datatype;
      size_t count;
      int peer;
      uint8_t nchannels;
      void *parent_group;
    } p2p;
    struct { pid_t pid; uint8_t channel_id; int peer; int nsteps; int chunk_size; int is_send; } proxy_op;
    struct { int step; } proxy_step;
    struct { uint8_t channel_id; uint64_t ptimer; } kernel_ch;
    struct { int64_t id; void *data; } net_plugin;
  };
};

struct nccl_profiler_v5 {
  const char *name;
  nccl_result_t (*init)(void **context, uint64_t comm_id, int *activation_mask, const char *comm_name, int nnodes,
                        int nranks, int rank, nccl_logger_t logfn);
  nccl_result_t (*start_event)(void *context, void **handle, struct nccl_profiler_descr_v5 *descr);
  nccl_result_t (*stop_event)(void *handle);
  nccl_result_t (*record_event_state)(void *handle, int state, void *state_args);
  nccl_result_t (*finalize)(void *context);
};

/* ---- tuner v5 (ncclTunerPlugin_v5) ---- */
#define NCCL_TUNER_NUM_ALGOS 7
#define NCCL_TUNER_NUM_PROTOS 3
struct nccl_nvl_domain_info_v5 { int n_domains, min_ranks, max_ranks; };
struct nccl_tuner_constants_v5 {
  double base_latencies[7][3];
  double hw_latencies[3][7][3];
  double ll_max_bws[4][3];
  double per_ch_max_ring_ll128_bws[4][3];
  double per_ch_max_tree_ll128_bws[4][3];
  double per_ch_max_tree_bws[4][3];
  double per_ch_max_nvls_tree_bws[4][3];
};
struct nccl_tuner_v5 {
  const char *name;
  nccl_result_t (*init)(void **context, uint64_t comm_id, size_t nranks, size_t nnodes, nccl_logger_t logfn,
                        struct nccl_nvl_domain_info_v5 *nvl, struct nccl_tuner_constants_v5 *constants);
  /* cost_table is really a contiguous float[numAlgo][numProto], passed as float** */
  nccl_result_t (*get_coll_info)(void *context, int coll_type, size_t nbytes, int num_pipe_ops, float **cost_table,
                                 int num_algo, int num_proto, int reg_buff, int *nchannels);
  nccl_result_t (*finalize)(void *context);
};

/* ---- net v8 (ncclNetPlugin_v8) ---- */
#define NCCL_NET_PTR_HOST 0x1
#define NCCL_NET_PTR_CUDA 0x2
#define NCCL_NET_HANDLE_MAXSIZE 128
struct nccl_net_device_handle_v8 { int type; int version; void *handle; size_t size; int needs_proxy_progress; };
struct nccl_net_properties_v8 {
  char *name;
  char *pci_path;
  uint64_t guid;
  int ptr_support;
  int reg_is_global;
  int speed;
  int port;
  float latency;
  int max_comms;
  int max_recvs;
  int net_device_type;
  int net_device_version;
};
struct nccl_net_v8 {
  const char *name;
  nccl_result_t (*init)(nccl_logger_t logfn);
  nccl_result_t (*devices)(int *ndev);
  nccl_result_t (*get_properties)(int dev, struct nccl_net_properties_v8 *props);
  nccl_result_t (*listen)(int dev, void *handle, void **listen_comm);
  nccl_result_t (*connect)(int dev, void *handle, void **send_comm, struct nccl_net_device_handle_v8 **send_dev);
  nccl_result_t (*accept)(void *listen_comm, void **recv_comm, struct nccl_net_device_handle_v8 **recv_dev);
  nccl_result_t (*reg_mr)(void *comm, void *data, size_t size, int type, void **mhandle);
  nccl_result_t (*reg_mr_dmabuf)(void *comm, void *data, size_t size, int type, uint64_t offset, int fd, void **mhandle);
  nccl_result_t (*dereg_mr)(void *comm, void *mhandle);
  nccl_result_t (*isend)(void *send_comm, void *data, int size, int tag, void *mhandle, void **request);
  nccl_result_t (*irecv)(void *recv_comm, int n, void **data, int *sizes, int *tags, void **mhandles, void **request);
  nccl_result_t (*iflush)(void *recv_comm, int n, void **data, int *sizes, void **mhandles, void **request);
  nccl_result_t (*test)(void *request, int *done, int *sizes);
  nccl_result_t (*close_send)(void *send_comm);
  nccl_result_t (*close_recv)(void *recv_comm);
  nccl_result_t (*close_listen)(void *listen_comm);
  nccl_result_t (*get_device_mr)(void *comm, void *mhandle, void **dptr_mhandle);
  nccl_result_t (*irecv_consumed)(void *recv_comm, int n, void *request);
};

/* ---- NCCL 2.28.9 internal device structures (version-bound mirrors) ---- */
#define NCCL_DEV_MAXCHANNELS 64
#define NCCL_DEV_NUM_PROTOCOLS 3
#define NCCL_DEV_PROTO_SIMPLE 2
#define NCCL_DEV_MAX_CONNS 2
#define NCCL_DEV_P2P_CONN 1 /* connection index NCCL uses for send/recv */

struct nccl_dev_conn_info {            /* ncclConnInfo */
  char *buffs[NCCL_DEV_NUM_PROTOCOLS];
  void *mhandles[NCCL_DEV_NUM_PROTOCOLS];
  uint64_t *tail, *head;
  int flags, shared, step_size;
  void **ptr_exchange;
  uint64_t *red_op_arg_exchange;
  void *conn_fifo;
  uint64_t step;
  uint64_t ll_last_cleaning;
  struct { int type; int version; void *handle; size_t size; int needs_proxy_progress; } net_device_handle;
};

struct nccl_dev_channel_peer {         /* ncclDevChannelPeer */
  struct nccl_dev_conn_info send[NCCL_DEV_MAX_CONNS];
  struct nccl_dev_conn_info recv[NCCL_DEV_MAX_CONNS];
};

struct nccl_dev_ring { int prev, next; int *user_ranks; int index; };
struct nccl_dev_tree { int depth; int up; int down[3]; };
struct nccl_dev_direct { int depth, out, nheads, head_rank, shift; int heads[8]; int up[7]; int down[7]; };
struct nccl_dev_nvls { int out, nheads, head_rank; int up[32]; int down; int tree_up; int tree_down[3]; };

struct __attribute__((aligned(16))) nccl_dev_channel { /* ncclDevChannel */
  struct nccl_dev_channel_peer **peers;
  struct nccl_dev_ring ring;
  struct nccl_dev_tree tree;
  struct nccl_dev_tree collnet_chain;
  struct nccl_dev_direct collnet_direct;
  struct nccl_dev_nvls nvls;
  uint32_t *work_fifo_done;
  uint64_t work_counter;
};

struct nccl_dev_comm {                 /* ncclKernelComm */
  int rank, nranks, node, nnodes;
  int buff_sizes[NCCL_DEV_NUM_PROTOCOLS];
  int p2p_chunk_size;
  int is_all_nvlink;
  int *collnet_dense_to_user_rank;
  volatile uint32_t *abort_flag;
  struct nccl_dev_channel *channels;
  int *rank_to_local_rank;
  void *work_started, *work_completed;
};

struct __attribute__((aligned(16))) nccl_dev_kernel_args { /* ncclDevKernelArgs; batches follow */
  struct nccl_dev_comm *comm;
  uint64_t channel_mask;
  uint8_t work_storage_type;           /* 0 args, 1 fifo, 2 persistent */
  uint32_t work_mask;
  void *work_buf;
};

struct __attribute__((aligned(16))) nccl_dev_work_batch { /* ncclDevWorkBatch */
  uint32_t flags;                      /* nextJump:14, nextExtends:1, workType:2, funcId:15 */
  uint32_t offset_base;
  uint64_t offset_bitset;
};
#define NCCL_DEV_BATCH_NEXT_JUMP(f) ((f) & 0x3fffu)
#define NCCL_DEV_BATCH_WORK_TYPE(f) (((f) >> 15) & 0x3u)
#define NCCL_DEV_WORK_TYPE_P2P 0

struct __attribute__((aligned(16))) nccl_dev_work_p2p { /* ncclDevWorkP2p */
  void *send_addr, *recv_addr;
  size_t send_bytes, recv_bytes;
  int send_rank, recv_rank;
  uint8_t n_p2p_channels;
  uint8_t channel_base;
  uint8_t n_send_channels, n_recv_channels;
  uint8_t send_chunk_fp8, recv_chunk_fp8;
  uint8_t proto_bits;                  /* bit0 sendProtoLL, bit1 recvProtoLL, then registration flags */
};

_Static_assert(sizeof(struct nccl_dev_conn_info) == 152, "ncclConnInfo layout (2.28.9)");
_Static_assert(sizeof(struct nccl_dev_channel_peer) == 608, "ncclDevChannelPeer layout (2.28.9)");
_Static_assert(offsetof(struct nccl_dev_channel, tree) == 32, "ncclDevChannel.tree (2.28.9)");
_Static_assert(offsetof(struct nccl_dev_channel, nvls) == 180, "ncclDevChannel.nvls (2.28.9)");
_Static_assert(sizeof(struct nccl_dev_channel) == 368, "ncclDevChannel layout (2.28.9)");
_Static_assert(offsetof(struct nccl_dev_comm, channels) == 56, "ncclKernelComm.channels (2.28.9)");
_Static_assert(sizeof(struct nccl_dev_comm) == 88, "ncclKernelComm layout (2.28.9)");
_Static_assert(sizeof(struct nccl_dev_kernel_args) == 32, "ncclDevKernelArgs layout (2.28.9)");
_Static_assert(sizeof(struct nccl_dev_work_batch) == 16, "ncclDevWorkBatch layout (2.28.9)");
_Static_assert(offsetof(struct nccl_dev_work_p2p, n_p2p_channels) == 40, "ncclDevWorkP2p layout (2.28.9)");
_Static_assert(sizeof(struct nccl_dev_work_p2p) == 48, "ncclDevWorkP2p layout (2.28.9)");

#endif
