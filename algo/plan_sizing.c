/* plan_sizing.c — NCCL 2.28's host-side sizing of a collective: how many elements each channel
 * gets (the "cbd" split of enqueue.cc scheduleCollTasksToPlan), each channel's chunk size
 * (calcCollChunking), protocol grain sizes and wire overhead. */
#include <string.h>
#include <math.h>
#include "plan.h"
#include "plan_internal.h"

GQuark plan_error_quark(void) { return g_quark_from_static_string("ccsim-plan"); }

#define MIN_TRAFFIC_PER_CHANNEL ((size_t)16 << 10)
#define LL128_LINEELEMS 16       /* 8-byte words per 128-byte line */
#define LL128_DATAELEMS 15       /* of which carry data */
#define LL128_SHMEM_ELEMS_PER_THREAD 8
#define WARP_SIZE 32

static size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

size_t plan_grain_size(enum comm_proto proto) {
  switch (proto) {
  case PROTO_LL: return 16;
  case PROTO_LL128:
    return WARP_SIZE * LL128_SHMEM_ELEMS_PER_THREAD / LL128_LINEELEMS * LL128_DATAELEMS * 8; /* 1920 */
  default: return 512;
  }
}

/* LL: every 8-byte line carries 4 bytes of data and a 4-byte flag, stored as 16-byte lines of two
 * such halves, so a step of n data bytes occupies ceil(n/8) lines of 16 bytes. LL128: each warp
 * writes whole 2048-byte slices of 16 lines, 15 of every 16 words data; a step of n data bytes
 * occupies ceil(n/1920) such slices. Simple moves the data as is. */
uint64_t plan_wire_bytes(enum comm_proto proto, uint64_t payload) {
  switch (proto) {
  case PROTO_LL: return div_up(payload, 8) * 16;
  case PROTO_LL128: return div_up(payload, 1920) * 2048;
  default: return payload;
  }
}

void plan_func_steps(enum comm_op op, int *chunk_steps, int *slice_steps) {
  /* collectives.h: ALLREDUCE/ALLGATHER/REDUCESCATTER chunk = NCCL_STEPS/2, slice = NCCL_STEPS/4;
   * BROADCAST and REDUCE 1/1. */
  switch (op) {
  case OP_ALL_REDUCE: case OP_ALL_GATHER: case OP_REDUCE_SCATTER:
    *chunk_steps = PLAN_NCCL_STEPS / 2; *slice_steps = PLAN_NCCL_STEPS / 4; break;
  default:
    *chunk_steps = 1; *slice_steps = 1; break;
  }
}

size_t plan_buff_size(const struct comm_info *c, enum comm_proto p) {
  static const size_t defaults[PROTO_COUNT] = {
    8 * 512 * PLAN_NCCL_STEPS * 16,  /* LL: lines/thread * max threads * steps * 16-byte line */
    120 * 640 * PLAN_NCCL_STEPS * 8, /* LL128: elems/thread * max threads * steps * 8 bytes */
    (size_t)1 << 22,                 /* SIMPLE: 4 MiB */
  };
  return c->buff_size[p] ? c->buff_size[p] : defaults[p];
}

static int log2i(int n) { int l = 0; while (n >>= 1) l++; return l; }

/* calcCollChunking() for one channel's bytes: the chunk size in bytes. */
static size_t coll_chunk_size(const struct comm_info *c, const struct comm_decision *d, size_t nbytes) {
  int chunk_steps, slice_steps;
  plan_func_steps(d->op, &chunk_steps, &slice_steps);
  size_t step_size = plan_buff_size(c, d->proto) / PLAN_NCCL_STEPS;
  if (!(d->proto == PROTO_SIMPLE && d->algo == ALGO_RING)) chunk_steps = 1;
  size_t chunk = step_size * chunk_steps;
  if (d->proto == PROTO_LL) chunk /= 2;
  if (d->proto == PROTO_LL128) chunk = chunk / LL128_LINEELEMS * LL128_DATAELEMS;
  const size_t nch = 1;
  if (d->algo == ALGO_NVLS) {
    size_t max_chunk = c->nvls_chunk_size ? c->nvls_chunk_size : 128 * 1024;
    if (chunk > max_chunk) chunk = max_chunk;
    uint64_t concurrent = nch * (uint64_t)plan_nvls_heads(c);
    if (nbytes < 64 * concurrent * chunk && chunk > 65536) chunk = 65536;
    if (nbytes < 8 * concurrent * chunk && chunk > 32768) chunk = 32768;
    if (nbytes < 2 * concurrent * chunk && chunk > 16384) chunk = 16384;
  } else if (d->algo == ALGO_NVLS_TREE) {
    uint64_t concurrent = nch * (uint64_t)plan_nvls_heads(c);
    chunk = c->nvls_chunk_size ? c->nvls_chunk_size : 128 * 1024;
    size_t max_chunk = c->nnodes >= 4 ? 65536 : chunk; /* NCCL_NVLSTREE_MAX_CHUNKSIZE default */
    if (chunk > max_chunk) chunk = max_chunk;
    if (nbytes < 32 * concurrent * chunk && chunk > 262144) chunk = 262144;
    if (nbytes < 16 * concurrent * chunk && chunk > 131072) chunk = 131072;
    if (nbytes < 4 * concurrent * chunk && chunk > 65536) chunk = 65536;
    if (nbytes < 1 * concurrent * chunk && chunk > 32768) chunk = 32768;
  } else if (d->algo == ALGO_TREE && d->proto == PROTO_LL128) {
    int nnodes = c->nnodes > 0 ? c->nnodes : 1;
    float ppn = c->nranks / (float)nnodes;
    float nsteps = 1 + log2i(nnodes) + 0.1f * ppn;
    while (nbytes / (nch * chunk) < nsteps * 64 / ppn && chunk > 131072) chunk /= 2;
    while (nbytes / (nch * chunk) < nsteps * 16 / ppn && chunk > 32768) chunk /= 2;
  } else if (d->op == OP_ALL_GATHER && d->algo == ALGO_PAT) {
    while (chunk * nch * 32 > nbytes && chunk > 65536) chunk /= 2;
  } else if (d->op == OP_REDUCE_SCATTER && d->algo == ALGO_PAT) {
    while (chunk * nch * 16 > nbytes && chunk > 65536) chunk /= 2;
  }
  size_t grain = plan_grain_size(d->proto);
  return chunk / grain * grain;
}

int plan_nvls_heads(const struct comm_info *c) {
  if (c->nvls_nheads > 0) return c->nvls_nheads;
  /* without the captured heads: every local rank is a head (single node: always so) */
  return c->nranks / (c->nnodes > 0 ? c->nnodes : 1);
}

void plan_kernel_count(const struct comm_info *c, const struct comm_decision *d, int *elem_size, size_t *count) {
  int t = d->type_size > 0 ? d->type_size : 4;
  int n = c->nranks;
  switch (d->op) {
  case OP_ALL_GATHER:      /* enqueue.cc: AllGather and Broadcast run on bytes (int8) */
    *elem_size = 1; *count = d->bytes / (size_t)t / (size_t)n * (size_t)t; break;
  case OP_BROADCAST:
    *elem_size = 1; *count = d->bytes / (size_t)t * (size_t)t; break;
  case OP_REDUCE_SCATTER:
    *elem_size = t; *count = d->bytes / (size_t)t / (size_t)n; break;
  default:
    *elem_size = t; *count = d->bytes / (size_t)t; break;
  }
}

static int traffic_per_byte(enum comm_op op, int nranks) {
  switch (op) {
  case OP_ALL_REDUCE: return 2;
  case OP_ALL_GATHER: case OP_REDUCE_SCATTER: return nranks;
  default: return 1;
  }
}

static int split_with(const struct comm_info *c, const struct comm_decision *d, int task_max, struct plan_split *out,
                      GError **err) {
  memset(out, 0, sizeof(*out));
  out->channel_lo = 0;
  out->channel_hi = -1;
  int T;
  size_t count;
  plan_kernel_count(c, d, &T, &count);
  out->elem_size = T;
  out->count = count;
  gboolean nvls = d->algo == ALGO_NVLS || d->algo == ALGO_NVLS_TREE;
  int kind_max = nvls ? c->nvls_channels : c->nchannels;
  if (kind_max <= 0) {
    g_set_error(err, PLAN_ERROR, 1, "communicator has no %s channels", nvls ? "NVLS" : "collective");
    return -1;
  }
  if (kind_max > COMM_MAX_CHANNELS) kind_max = COMM_MAX_CHANNELS;
  if (count == 0) return 0; /* NCCL discards empty collectives before scheduling them */
  int nch = task_max < kind_max ? task_max : kind_max;

  size_t tpb = (size_t)traffic_per_byte(d->op, c->nranks);
  /* enqueue.cc: a task's traffic is count*size*trafficPerByte, times 4 once LL is chosen */
  size_t task_traffic = count * T * tpb * (d->proto == PROTO_LL ? 4 : 1);
  size_t traffic = task_traffic > MIN_TRAFFIC_PER_CHANNEL ? task_traffic : MIN_TRAFFIC_PER_CHANNEL;
  size_t traffic_per_channel = traffic / nch > MIN_TRAFFIC_PER_CHANNEL ? traffic / nch : MIN_TRAFFIC_PER_CHANNEL;

  size_t cell_tpb = tpb * (d->proto == PROTO_LL ? 4 : 1);
  size_t cell_size = div_up(div_up(MIN_TRAFFIC_PER_CHANNEL, cell_tpb), 16) * 16;
  size_t elems_per_cell = cell_size / T;
  size_t cells = div_up(count * T, cell_size);
  size_t traffic_per_cell = cell_size * cell_tpb;
  size_t cells_per_channel = div_up(traffic_per_channel, traffic_per_cell);
  if (cells < cells_per_channel) cells_per_channel = cells;
  int channel_id = 0;
  size_t cells_lo;
  if (channel_id + 1 == kind_max) cells_lo = cells;
  else {
    cells_lo = div_up(traffic_per_channel, traffic_per_cell);
    if (cells < cells_lo) cells_lo = cells;
  }
  long n_mid = (long)((cells - cells_lo) / cells_per_channel);
  size_t cells_hi = (cells - cells_lo) % cells_per_channel;
  long used = (cells_lo != 0) + n_mid + (cells_hi != 0);
  if (kind_max < channel_id + used) {
    n_mid = kind_max - channel_id - 2;
    cells_per_channel = (cells - cells_lo) / (size_t)(n_mid + 1);
    cells_hi = cells_per_channel + (cells - cells_lo) % (size_t)(n_mid + 1);
  }
  if (cells_hi == 0 && n_mid != 0) {
    cells_hi = cells_per_channel;
    n_mid -= 1;
  }
  if (cells_lo == 0) {
    channel_id += 1;
    if (n_mid == 0) { cells_lo = cells_hi; cells_hi = 0; }
    else { cells_lo = cells_per_channel; n_mid -= 1; }
  }
  size_t count_mid = n_mid != 0 ? cells_per_channel * elems_per_cell : 0;
  size_t count_lo = cells_lo * elems_per_cell;
  size_t count_hi = cells_hi * elems_per_cell;
  size_t excess = cells * elems_per_cell - count;
  if (count_hi != 0) count_hi -= excess; else count_lo -= excess;
  used = (count_lo != 0) + n_mid + (cells_hi != 0);

  out->channel_lo = channel_id;
  out->channel_hi = channel_id + (int)used - 1;
  out->count_lo = count_lo;
  out->count_mid = count_mid;
  out->count_hi = count_hi;

  /* calcCollChunking sees the global bytes of each part: count * elem * (nranks for AG/RS). */
  size_t global_per_elem = (size_t)T * ((d->op == OP_ALL_GATHER || d->op == OP_REDUCE_SCATTER) ? c->nranks : 1);
  if (count_lo) out->chunk_bytes_lo = coll_chunk_size(c, d, global_per_elem * count_lo);
  if (count_hi) out->chunk_bytes_hi = coll_chunk_size(c, d, global_per_elem * count_hi);
  if (n_mid) out->chunk_bytes_mid = coll_chunk_size(c, d, global_per_elem * count_mid);

  size_t grain = plan_grain_size(d->proto);
  size_t elt_per_grain = grain / T;
  for (int ch = out->channel_lo; ch <= out->channel_hi; ch++) {
    struct plan_channel_part *p = &out->parts[out->nparts++];
    p->channel = ch;
    if (ch == out->channel_lo) {
      p->offset = 0; p->count = count_lo; p->chunk_count = out->chunk_bytes_lo / grain * elt_per_grain;
    } else if (ch == out->channel_hi) {
      p->offset = count_lo + (size_t)n_mid * count_mid; p->count = count_hi;
      p->chunk_count = out->chunk_bytes_hi / grain * elt_per_grain;
    } else {
      p->offset = count_lo + (size_t)(ch - out->channel_lo - 1) * count_mid; p->count = count_mid;
      p->chunk_count = out->chunk_bytes_mid / grain * elt_per_grain;
    }
    if (p->count && p->chunk_count == 0) {
      g_set_error(err, PLAN_ERROR, 1, "channel %d: chunk size rounds to 0 elements (buffer size too small "
                  "for protocol %s)", ch, comm_proto_name(d->proto));
      return -1;
    }
  }
  return 0;
}

/* The decision names the channels used; NCCL's split depends on the per-task limit before the split.
 * Where the limit is unknown, take the largest limit that reproduces the used channel count (NCCL's
 * tuner lowers the limit step by step from the communicator's channel count for small calls). */
int plan_collective_split(const struct comm_info *c, const struct comm_decision *d, struct plan_split *out,
                          GError **err) {
  gboolean nvls = d->algo == ALGO_NVLS || d->algo == ALGO_NVLS_TREE;
  int kind_max = nvls ? c->nvls_channels : c->nchannels;
  if (kind_max > COMM_MAX_CHANNELS) kind_max = COMM_MAX_CHANNELS;
  if (d->max_channels > 0) return split_with(c, d, d->max_channels, out, err);
  if (d->nchannels <= 0 || kind_max <= 0) return split_with(c, d, kind_max, out, err);
  for (int m = kind_max; m >= 1; m--) {
    if (split_with(c, d, m, out, err)) return -1;
    if (out->nparts == 0 || out->nparts == d->nchannels) return 0;
  }
  return split_with(c, d, d->nchannels < kind_max ? d->nchannels : kind_max, out, err);
}

/* Elements one device loop of a channel part covers: the unit plan_options.trim_loops removes. */
size_t plan_loop_elems(const struct comm_info *c, const struct comm_decision *d, const struct plan_channel_part *p) {
  switch (d->algo) {
  case ALGO_RING: return d->op == OP_ALL_REDUCE ? (size_t)c->nranks * p->chunk_count : p->chunk_count;
  case ALGO_TREE: return p->chunk_count;
  case ALGO_NVLS: case ALGO_NVLS_TREE: return (size_t)plan_nvls_heads(c) * p->chunk_count;
  default: return 0;
  }
}

/* Whole loops of the shortest channel part of a split; 0 where an algorithm has no loop unit. */
static size_t split_whole_loops(const struct comm_info *c, const struct comm_decision *d, const struct plan_split *sp) {
  size_t fewest = 0;
  for (int k = 0; k < sp->nparts; k++) {
    size_t unit = plan_loop_elems(c, d, &sp->parts[k]);
    if (unit == 0) return 0;
    size_t loops = sp->parts[k].count / unit;
    if (k == 0 || loops < fewest) fewest = loops;
  }
  return fewest;
}

size_t plan_whole_loops(const struct comm_info *c, const struct comm_decision *d) {
  if (c->nranks < 2 || d->op == OP_SENDRECV || d->op == OP_ALLTOALL) return 0;
  if (d->algo != ALGO_RING && d->algo != ALGO_TREE && d->algo != ALGO_NVLS && d->algo != ALGO_NVLS_TREE) return 0;
  struct plan_split sp;
  GError *err = NULL;
  if (plan_collective_split(c, d, &sp, &err)) {
    g_clear_error(&err);
    return 0;
  }
  return split_whole_loops(c, d, &sp);
}

int plan_split_trim(const struct comm_info *c, const struct comm_decision *d, struct plan_split *sp, size_t loops,
                    GError **err) {
  size_t have = split_whole_loops(c, d, sp);
  if (have <= loops) {
    g_set_error(err, PLAN_ERROR, 1, "cannot run %zu fewer loops: the call's shortest channel has %zu", loops, have);
    return -1;
  }
  size_t off = 0;
  for (int k = 0; k < sp->nparts; k++) {
    sp->parts[k].count -= loops * plan_loop_elems(c, d, &sp->parts[k]);
    sp->parts[k].offset = off;
    off += sp->parts[k].count;
  }
  return 0;
}
