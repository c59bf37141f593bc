/* simtime.c — simulated time of streams, events and kernel launches (see simtime.h). Owns the timing
 * state of every stream and event the program uses, the launch records, the collective instances being
 * assembled across ranks, and the trace's "kernel" lines. One lock guards it all; waiters sleep on one
 * condition variable.
 */
#include "simtime.h"

#include <dlfcn.h>
#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>

#include "capture_nccl_abi.h"
#include "hack_log.h"
#include "simtime_internal.h"
#include "simtime_model.h"
#include "simtime_remote.h"
#include "vclock.h"

struct st_launch {
  int refs;
  bool closed, resolved, nccl;
  int64_t host_ns, start_ns, end_ns;
  int64_t lead_ns;                 /* NCCL: the next call of its communicator on the stream may start this
                                    * much before end_ns (simtime_outcome.lead_ns) */
  int64_t not_before_ns;           /* from resolved dependencies (previous work, waited events) */
  GPtrArray *deps;                 /* unresolved launches this one waits for (refs held) */
  bool prev_in_deps;               /* deps[0] is the previous launch on the stream */
  void *stream;
  int dev, grid, block;
  const void *devcomm;
  int rank;
  GArray *tasks;                   /* struct simtime_task */
  unsigned long long thread;
  char *inst_key;                  /* instance it joined (for the trace) */
  uint64_t comm_id;
};

struct st_instance {
  char *key;
  uint64_t comm_id;
  int nranks, expected;
  GPtrArray *members;              /* struct st_launch*, refs held */
  bool sent;                       /* handed to the coordinator (ranks in other processes) */
};

struct st_stream {
  int dev;
  int64_t ready_ns;                /* completion of resolved work */
  int64_t handoff_ns;              /* when the next launch of handoff_comm may start, if the last resolved
                                    * launch was an NCCL kernel of that communicator */
  const void *handoff_comm;
  struct st_launch *last;          /* unresolved last launch (ref), or NULL */
  GPtrArray *waits;                /* unresolved launches the next work must wait for (events waited on) */
  int64_t wait_ns;                 /* resolved event times the next work must wait for */
};

struct st_event {
  bool recorded;
  int64_t host_ns, base_ns;
  struct st_launch *after;         /* unresolved work the event follows (ref), or NULL */
};

struct st_comm {
  int nranks, local;
  int *p2p_launches;               /* per rank: p2p-only launches so far */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool active;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed; /* on CLOCK_MONOTONIC: the realtime clock is interposed */
static GHashTable *streams, *events, *instances, *comms;
static GPtrArray *pending;         /* complete or incomplete instances not yet resolved */
static GHashTable *described;      /* comm ids whose local ranks the coordinator knows */
static int nccl_layout_ok = -1;
static double sync_wait_s = 30.0;
static _Thread_local struct st_launch *open_launch;
static _Thread_local GPtrArray *recent; /* this thread's NCCL launches since its last API call ended (refs) */
static atomic_ullong next_thread_id = 1;
static _Thread_local unsigned long long thread_id;

static void init(void) {
  const char *e = getenv("CCSIM_RUN");
  active = e && strcmp(e, "1") == 0;
  const char *w = getenv("CCSIM_SYNC_WAIT");
  if (w && atof(w) > 0) sync_wait_s = atof(w);
  streams = g_hash_table_new(g_direct_hash, g_direct_equal);
  events = g_hash_table_new(g_direct_hash, g_direct_equal);
  instances = g_hash_table_new(g_str_hash, g_str_equal);
  comms = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  pending = g_ptr_array_new();
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&changed, &ca);
  pthread_condattr_destroy(&ca);
}

bool simtime_active(void) {
  pthread_once(&once, init);
  return active;
}

unsigned long long simtime_thread_id(void) {
  if (!thread_id) thread_id = atomic_fetch_add(&next_thread_id, 1);
  return thread_id;
}

/* ---- launches ---- */

static struct st_launch *launch_ref(struct st_launch *l) {
  if (l) l->refs++;
  return l;
}

static void launch_unref(struct st_launch *l) {
  if (!l || --l->refs > 0) return;
  if (l->deps) {
    for (guint i = 0; i < l->deps->len; i++) launch_unref(g_ptr_array_index(l->deps, i));
    g_ptr_array_free(l->deps, TRUE);
  }
  if (l->tasks) g_array_free(l->tasks, TRUE);
  g_free(l->inst_key);
  g_free(l);
}

/* Stream state; the legacy and per-thread default streams are one default stream per device. */
static struct st_stream *stream_state(void *stream, int dev) {
  void *key = stream;
  if (!stream || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD) key = GINT_TO_POINTER(-(dev + 16));
  struct st_stream *s = g_hash_table_lookup(streams, key);
  if (!s) {
    s = g_new0(struct st_stream, 1);
    s->dev = dev;
    g_hash_table_insert(streams, key, s);
  }
  return s;
}

/* When launch l may start as far as its dependency d is concerned: d's end, except that consecutive
 * calls of one communicator on a stream overlap by the earlier one's lead (its first ranks are done
 * before its last). */
static int64_t dep_ready_ns(const struct st_launch *l, const struct st_launch *d, bool stream_prev) {
  if (stream_prev && l->nccl && d->nccl && l->devcomm && d->devcomm == l->devcomm) return d->end_ns - d->lead_ns;
  return d->end_ns;
}

/* Drops references to launches that have resolved, keeping their completion times as numbers. */
static void stream_collapse(struct st_stream *s) {
  if (s->last && s->last->resolved) {
    if (s->last->end_ns > s->ready_ns) s->ready_ns = s->last->end_ns;
    s->handoff_comm = s->last->nccl ? s->last->devcomm : NULL;
    s->handoff_ns = s->last->end_ns - s->last->lead_ns;
    launch_unref(s->last);
    s->last = NULL;
  }
  if (s->waits) {
    for (guint i = 0; i < s->waits->len;) {
      struct st_launch *w = g_ptr_array_index(s->waits, i);
      if (w->resolved) {
        if (w->end_ns > s->wait_ns) s->wait_ns = w->end_ns;
        launch_unref(w);
        g_ptr_array_remove_index_fast(s->waits, i);
      } else {
        i++;
      }
    }
  }
}

static struct st_comm *comm_state(uint64_t comm_id, int nranks) {
  gint64 key = (gint64)comm_id;
  struct st_comm *c = g_hash_table_lookup(comms, &key);
  if (!c) {
    c = g_new0(struct st_comm, 1);
    c->nranks = nranks;
    c->p2p_launches = g_new0(int, nranks > 0 ? nranks : 1);
    gint64 *k = g_new(gint64, 1);
    *k = key;
    g_hash_table_insert(comms, k, c);
  }
  return c;
}

static bool layout_ok(void) {
  if (nccl_layout_ok < 0) {
    typedef int (*get_version_fn)(int *);
    get_version_fn fn = (get_version_fn)dlsym(RTLD_DEFAULT, "ncclGetVersion");
    int v = 0;
    nccl_layout_ok = fn && fn(&v) == 0 && v == CAPTURE_NCCL_LAYOUT_VERSION;
    if (!nccl_layout_ok)
      hack_warn("ccsim run: NCCL version %d is not 2.28.9: its kernel arguments cannot be read, collectives take "
                "no simulated time", v);
  }
  return nccl_layout_ok;
}

static void trace_kernel(const struct st_instance *in, const struct st_launch *l, const struct simtime_outcome *o) {
  GString *s = trace_line_new("kernel");
  trace_add_hex(s, "comm", in->comm_id);
  trace_add_int(s, "rank", l->rank);
  trace_add_int(s, "nranks", in->nranks);
  trace_add_int(s, "device", l->dev);
  trace_add_hex(s, "stream", (unsigned long long)(uintptr_t)l->stream);
  trace_add_uint(s, "thread", l->thread);
  trace_add_str(s, "instance", in->key);
  GString *tasks = g_string_new("[");
  for (guint i = 0; l->tasks && i < l->tasks->len; i++) {
    const struct simtime_task *t = &g_array_index(l->tasks, struct simtime_task, i);
    GString *o2 = g_string_new("{\"func\":");
    g_string_append_printf(o2, "\"%s\"", t->func);
    trace_add_str(o2, "datatype", t->datatype);
    trace_add_uint(o2, "count", t->count);
    trace_add_int(o2, t->p2p ? "peer" : "root", t->root);
    if (!t->p2p) {
      trace_add_uint(o2, "seq", t->seq);
      trace_add_str(o2, "algo", t->algo);
      trace_add_str(o2, "proto", t->proto);
      trace_add_int(o2, "nwarps", t->nwarps);
    }
    trace_add_int(o2, "nchannels", t->nchannels);
    g_string_append_printf(tasks, "%s%s}", i ? "," : "", o2->str);
    g_string_free(o2, TRUE);
  }
  g_string_append_c(tasks, ']');
  trace_add_raw(s, "tasks", tasks->str);
  g_string_free(tasks, TRUE);
  trace_add_str(s, "model_op", o->op);
  trace_add_str(s, "model_algo", o->algo);
  trace_add_str(s, "model_proto", o->proto);
  trace_add_int(s, "model_nchannels", o->nchannels);
  trace_add_uint(s, "bytes", o->bytes);
  trace_add_int(s, "launch_ns", l->host_ns);
  trace_add_int(s, "start_ns", l->start_ns);
  trace_add_int(s, "end_ns", l->end_ns);
  if (!o->modelled) trace_add_str(s, "unmodelled", o->why);
  simtime_trace_put(s);
}

static int member_cmp(const void *a, const void *b) {
  const struct simtime_member *x = a, *y = b;
  return (x->rank > y->rank) - (x->rank < y->rank);
}

static bool launch_ready(const struct st_launch *l) {
  for (guint i = 0; l->deps && i < l->deps->len; i++)
    if (!((struct st_launch *)g_ptr_array_index(l->deps, i))->resolved) return false;
  return true;
}

/* The earliest start of an instance's kernels (NCCL's ranks start a call together): the latest of
 * every member's launch time and dependencies. */
static int64_t instance_earliest_ns(const struct st_instance *in) {
  int64_t start = 0;
  for (guint i = 0; i < in->members->len; i++) {
    const struct st_launch *l = g_ptr_array_index(in->members, i);
    int64_t t = l->host_ns > l->not_before_ns ? l->host_ns : l->not_before_ns;
    for (guint k = 0; l->deps && k < l->deps->len; k++) {
      int64_t r = dep_ready_ns(l, g_ptr_array_index(l->deps, k), k == 0 && l->prev_in_deps);
      if (r > t) t = r;
    }
    if (t > start) start = t;
  }
  return start;
}

/* The most of an instance's launches one host thread made: the GPUs one thread drives (nccl-tests -g). */
static int members_per_thread(const struct st_instance *in) {
  int most = 1;
  for (guint i = 0; i < in->members->len; i++) {
    const struct st_launch *a = g_ptr_array_index(in->members, i);
    int same = 0;
    for (guint k = 0; k < in->members->len; k++)
      same += ((const struct st_launch *)g_ptr_array_index(in->members, k))->thread == a->thread;
    if (same > most) most = same;
  }
  return most;
}

static void resolve_instance(struct st_instance *in) {
  struct simtime_outcome o;
  memset(&o, 0, sizeof o);
  int n = (int)in->members->len;
  bool nccl = n > 0 && ((struct st_launch *)g_ptr_array_index(in->members, 0))->nccl;
  if (nccl) {
    struct simtime_member *m = g_new0(struct simtime_member, n);
    for (int i = 0; i < n; i++) {
      struct st_launch *l = g_ptr_array_index(in->members, i);
      m[i] = (struct simtime_member){.rank = l->rank, .dev = l->dev, .block = l->block, .devcomm = l->devcomm,
                                     .tasks = l->tasks ? (const struct simtime_task *)(void *)l->tasks->data : NULL,
                                     .ntasks = l->tasks ? (int)l->tasks->len : 0};
    }
    qsort(m, n, sizeof *m, member_cmp);
    simtime_model_instance(in->comm_id, in->nranks, m, n, members_per_thread(in), &o);
    g_free(m);
    if (!o.modelled) hack_warn_once(o.why, "ccsim run: %s: timed as zero", o.why);
  } else {
    g_strlcpy(o.op, "none", sizeof o.op);
    o.modelled = true;
  }
  int64_t start = instance_earliest_ns(in);
  for (int i = 0; i < n; i++) {
    struct st_launch *l = g_ptr_array_index(in->members, i);
    l->start_ns = start;
    l->end_ns = start + o.duration_ns;
    l->lead_ns = o.lead_ns;
    l->resolved = true;
    if (l->deps) {
      for (guint k = 0; k < l->deps->len; k++) launch_unref(g_ptr_array_index(l->deps, k));
      g_ptr_array_set_size(l->deps, 0);
    }
    if (nccl) trace_kernel(in, l, &o);
  }
}

static GArray *members_of(struct st_instance *in); /* struct simtime_member, sorted by rank */

/* An instance with ranks in other processes: the coordinator times it (false: no coordinator). */
static bool send_instance(struct st_instance *in) {
  GArray *ma = members_of(in);
  const struct simtime_member *m = (const struct simtime_member *)(void *)ma->data;
  int n = (int)ma->len;
  GString *s = g_string_new(NULL);
  if (!described) described = g_hash_table_new(g_int64_hash, g_int64_equal);
  gint64 key = (gint64)in->comm_id;
  if (!g_hash_table_contains(described, &key)) {
    simtime_model_describe(in->comm_id, in->nranks, m, n, s);
    gint64 *k = g_new(gint64, 1);
    *k = key;
    g_hash_table_add(described, k);
  }
  int64_t lower = instance_earliest_ns(in);
  g_string_append_printf(s, "I %s %llx %d %d %lld", in->key, (unsigned long long)in->comm_id, in->nranks, n,
                         (long long)lower);
  simtime_model_describe_tasks(m, n, s);
  gchar **lines = g_strsplit(s->str, "\n", -1);
  bool ok = true;
  for (int i = 0; lines[i] && ok; i++)
    if (*lines[i]) ok = simtime_remote_send(lines[i]);
  g_strfreev(lines);
  g_string_free(s, TRUE);
  g_array_free(ma, TRUE);
  return ok;
}

static GArray *members_of(struct st_instance *in) {
  GArray *a = g_array_new(FALSE, TRUE, sizeof(struct simtime_member));
  for (guint i = 0; i < in->members->len; i++) {
    struct st_launch *l = g_ptr_array_index(in->members, i);
    struct simtime_member mm = {.rank = l->rank, .dev = l->dev, .block = l->block, .devcomm = l->devcomm,
                                .tasks = l->tasks ? (const struct simtime_task *)(void *)l->tasks->data : NULL,
                                .ntasks = l->tasks ? (int)l->tasks->len : 0};
    g_array_append_val(a, mm);
  }
  g_array_sort(a, member_cmp);
  return a;
}

static void instance_free(struct st_instance *in) {
  for (guint i = 0; i < in->members->len; i++) launch_unref(g_ptr_array_index(in->members, i));
  g_ptr_array_free(in->members, TRUE);
  g_free(in->key);
  g_free(in);
}

/* Resolves every instance whose ranks have all launched and whose earlier work is resolved. */
static void resolve_ready(void) {
  bool progress = true, any = false;
  while (progress) {
    progress = false;
    for (guint i = 0; i < pending->len; i++) {
      struct st_instance *in = g_ptr_array_index(pending, i);
      if ((int)in->members->len < in->expected) continue;
      bool ready = true;
      for (guint k = 0; k < in->members->len && ready; k++) ready = launch_ready(g_ptr_array_index(in->members, k));
      if (!ready) continue;
      bool nccl = in->members->len && ((struct st_launch *)g_ptr_array_index(in->members, 0))->nccl;
      if (nccl && in->expected < in->nranks && simtime_remote_enabled()) {
        if (in->sent) continue;            /* the coordinator's answer resolves it */
        if ((in->sent = send_instance(in))) continue;
      }
      resolve_instance(in);
      g_ptr_array_remove_index(pending, i);
      if (in->key) g_hash_table_remove(instances, in->key);
      instance_free(in);
      progress = any = true;
      break;
    }
  }
  if (any) pthread_cond_broadcast(&changed);
}

static void add_to_instance(struct st_launch *l, const char *key, uint64_t comm_id, int nranks, int expected) {
  struct st_instance *in = key ? g_hash_table_lookup(instances, key) : NULL;
  if (!in) {
    in = g_new0(struct st_instance, 1);
    in->key = g_strdup(key ? key : "solo");
    in->comm_id = comm_id;
    in->nranks = nranks;
    in->expected = expected > 0 ? expected : 1;
    in->members = g_ptr_array_new();
    if (key) g_hash_table_insert(instances, in->key, in);
    else {
      g_free(in->key);
      in->key = NULL;
    }
    g_ptr_array_add(pending, in);
  }
  g_ptr_array_add(in->members, launch_ref(l));
}

/* Matches a finished launch to its collective instance (caller holds the lock). */
static void close_launch(struct st_launch *l) {
  l->closed = true;
  const struct simtime_task *t = l->tasks && l->tasks->len ? &g_array_index(l->tasks, struct simtime_task, 0) : NULL;
  if (!l->nccl || !t) {
    if (l->nccl)
      hack_warn_once("simtime-notasks", "ccsim run: an NCCL kernel launch came without the profiler's task "
                     "events (is NCCL_PROFILER_PLUGIN overridden?): such launches take no simulated time");
    l->nccl = l->nccl && t;
    add_to_instance(l, NULL, 0, 1, 1);
    resolve_ready();
    return;
  }
  struct st_comm *c = comm_state(t->comm_id, t->nranks);
  char key[96];
  if (!t->p2p) {
    snprintf(key, sizeof key, "%llx:%s:%llu", (unsigned long long)t->comm_id, t->func, (unsigned long long)t->seq);
  } else {
    int n = t->rank >= 0 && t->rank < c->nranks ? c->p2p_launches[t->rank]++ : 0;
    snprintf(key, sizeof key, "%llx:p2p:%d", (unsigned long long)t->comm_id, n);
  }
  l->rank = t->rank;
  l->comm_id = t->comm_id;
  l->inst_key = g_strdup(key);
  if (!recent) recent = g_ptr_array_new();
  if (recent->len >= 4096) { /* launches outside any wrapped API call (NCCL reached directly): keep a window */
    launch_unref(g_ptr_array_index(recent, 0));
    g_ptr_array_remove_index(recent, 0);
  }
  g_ptr_array_add(recent, launch_ref(l));
  add_to_instance(l, key, t->comm_id, t->nranks, c->local > 0 ? c->local : t->nranks);
  resolve_ready();
}

static void close_open_launch_locked(void) {
  if (!open_launch) return;
  struct st_launch *l = open_launch;
  open_launch = NULL;
  close_launch(l);
  launch_unref(l);
}

void simtime_on_launch(const struct hack_launch *hl) {
  if (!simtime_active() || !hl) return;
  int64_t now = vclock_now_ns();
  bool nccl = hl->func_name && strstr(hl->func_name, "ncclDevKernel");
  const struct nccl_dev_kernel_args *args = hl->args;
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  struct st_launch *l = g_new0(struct st_launch, 1);
  l->refs = 1;
  l->host_ns = now;
  l->stream = hl->stream;
  l->dev = hl->device;
  l->grid = (int)hl->grid[0];
  l->block = (int)hl->block[0];
  l->thread = simtime_thread_id();
  l->nccl = nccl;
  l->rank = -1;
  if (nccl && args && hl->args_size >= sizeof *args && layout_ok() && args->comm) {
    l->devcomm = args->comm;
    l->rank = args->comm->rank;
  }
  struct st_stream *s = stream_state(hl->stream, hl->device);
  stream_collapse(s);
  int64_t ready = nccl && l->devcomm && !s->last && s->handoff_comm == l->devcomm ? s->handoff_ns : s->ready_ns;
  l->not_before_ns = ready > s->wait_ns ? ready : s->wait_ns;
  l->deps = g_ptr_array_new();
  l->prev_in_deps = s->last != NULL;
  if (s->last) g_ptr_array_add(l->deps, s->last); /* the stream's reference moves to the new launch */
  s->last = launch_ref(l);
  if (s->waits) {
    for (guint i = 0; i < s->waits->len; i++) g_ptr_array_add(l->deps, g_ptr_array_index(s->waits, i));
    g_ptr_array_set_size(s->waits, 0);
  }
  s->wait_ns = 0;
  if (nccl) {
    open_launch = l; /* the profiler's task events for it follow on this thread */
  } else {
    close_launch(l);
    launch_unref(l);
  }
  pthread_mutex_unlock(&lock);
}

void simtime_note_task(const struct simtime_task *t) {
  if (!simtime_active() || !t) return;
  /* NCCL reports the task while the enqueuing thread builds its per-channel work: charge that now (a
   * send/recv pair once, on its send, as ccsim bench prices one p2p call per GPU) */
  if (!t->p2p || strcmp(t->func, "Send") == 0) vclock_charge_ns(simtime_model_host_channel_ns(t->nchannels));
  pthread_mutex_lock(&lock);
  if (open_launch) {
    if (!open_launch->tasks) open_launch->tasks = g_array_new(FALSE, TRUE, sizeof(struct simtime_task));
    g_array_append_val(open_launch->tasks, *t);
  }
  pthread_mutex_unlock(&lock);
}

void simtime_note_comm(uint64_t comm_id, int rank, int nranks, int nnodes) {
  (void)rank;
  (void)nnodes;
  if (!simtime_active()) return;
  simtime_report("nccl-init", NULL); /* also when the program reaches NCCL without our API wrappers */
  pthread_mutex_lock(&lock);
  comm_state(comm_id, nranks)->local++;
  pthread_mutex_unlock(&lock);
}

void simtime_note_comm_gone(uint64_t comm_id, int rank) {
  (void)rank;
  if (!simtime_active()) return;
  pthread_mutex_lock(&lock);
  gint64 key = (gint64)comm_id;
  struct st_comm *c = g_hash_table_lookup(comms, &key);
  if (c && --c->local <= 0) {
    g_free(c->p2p_launches);
    g_hash_table_remove(comms, &key);
    g_free(c);
    simtime_model_forget_comm(comm_id);
  }
  pthread_mutex_unlock(&lock);
}

/* The launch task of this thread's recent launches that carried call c. */
static const struct simtime_task *task_of_call(const struct simtime_call *c, const struct st_launch **in) {
  for (guint i = 0; recent && i < recent->len; i++) {
    const struct st_launch *l = g_ptr_array_index(recent, i);
    if (l->rank != c->rank || !l->tasks) continue;
    for (guint k = 0; k < l->tasks->len; k++) {
      const struct simtime_task *t = &g_array_index(l->tasks, struct simtime_task, k);
      if (strcmp(t->func, c->func) || t->count != c->count) continue;
      if (t->p2p && t->root != c->peer) continue;
      *in = l;
      return t;
    }
  }
  return NULL;
}

static void trace_call(const struct simtime_call *c) {
  const struct st_launch *l = NULL;
  const struct simtime_task *t = task_of_call(c, &l);
  GString *s = trace_line_new("call");
  trace_add_int(s, "t_ns", c->t_ns);
  trace_add_uint(s, "thread", simtime_thread_id());
  trace_add_str(s, "func", c->func);
  trace_add_uint(s, "comm_ordinal", c->comm);
  if (l) trace_add_hex(s, "comm", l->comm_id);
  trace_add_int(s, "rank", c->rank);
  trace_add_int(s, "nranks", c->nranks);
  trace_add_int(s, "device", c->dev);
  trace_add_uint(s, "count", c->count);
  trace_add_str(s, "datatype", c->datatype);
  if (c->redop) trace_add_str(s, "redop", c->redop);
  if (c->root >= 0) trace_add_int(s, "root", c->root);
  if (c->peer >= 0) trace_add_int(s, "peer", c->peer);
  trace_add_hex(s, "stream", (unsigned long long)(uintptr_t)c->stream);
  trace_add_hex(s, "sendbuff", (unsigned long long)(uintptr_t)c->sendbuff);
  trace_add_hex(s, "recvbuff", (unsigned long long)(uintptr_t)c->recvbuff);
  trace_add_uint(s, "group", c->group);
  trace_add_int(s, "rc", c->rc);
  if (t) {
    if (!t->p2p) {
      trace_add_uint(s, "seq", t->seq);
      trace_add_str(s, "algo", t->algo);
      trace_add_str(s, "proto", t->proto);
      trace_add_int(s, "nwarps", t->nwarps);
    }
    trace_add_int(s, "nchannels", t->nchannels);
    trace_add_str(s, "instance", l->inst_key);
    if (l->resolved) { /* already timed (all ranks launched): the simulated span here too */
      trace_add_int(s, "start_ns", l->start_ns);
      trace_add_int(s, "end_ns", l->end_ns);
    }
  }
  simtime_trace_put(s);
}

void simtime_api_done(const struct simtime_call *calls, int ncalls) {
  if (!simtime_active()) return;
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  for (int i = 0; i < ncalls; i++) trace_call(&calls[i]);
  if (recent) {
    for (guint i = 0; i < recent->len; i++) launch_unref(g_ptr_array_index(recent, i));
    g_ptr_array_set_size(recent, 0);
  }
  pthread_mutex_unlock(&lock);
}

/* ---- waiting ---- */

/* Gives up waiting for ranks that never launch: resolves every incomplete instance with the ranks present. */
static void force_incomplete(void) {
  for (guint i = 0; i < pending->len; i++) {
    struct st_instance *in = g_ptr_array_index(pending, i);
    if ((int)in->members->len >= in->expected) continue;
    hack_warn("ccsim run: waited %.0f s for the other ranks of collective %s (%u of %d launched): timing it with "
              "the ranks present", sync_wait_s, in->key ? in->key : "?", in->members->len, in->expected);
    in->expected = (int)in->members->len;
  }
  resolve_ready();
}

/* Blocks until l is resolved (caller holds the lock). */
static void wait_resolved(struct st_launch *l) {
  int64_t start = vclock_real_ns();
  while (!l->resolved) {
    int64_t until = vclock_real_ns() + 1000000000;
    struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
    pthread_cond_timedwait(&changed, &lock, &ts);
    if (!l->resolved && (vclock_real_ns() - start) / 1e9 > sync_wait_s) {
      force_incomplete();
      start = vclock_real_ns();
    }
  }
}

static int64_t stream_end_locked(struct st_stream *s, bool wait, bool *pending_out) {
  stream_collapse(s);
  if (s->last) {
    if (!wait) {
      *pending_out = true;
      return 0;
    }
    wait_resolved(s->last);
    stream_collapse(s);
  }
  *pending_out = false;
  return s->ready_ns;
}

int simtime_stream_sync(void *stream, int dev) {
  vclock_enter();
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  bool p;
  int64_t end = stream_end_locked(stream_state(stream, dev), true, &p);
  pthread_mutex_unlock(&lock);
  vclock_advance_to(end);
  vclock_leave();
  return CUDA_SUCCESS;
}

int simtime_stream_query(void *stream, int dev) {
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  bool p;
  int64_t end = stream_end_locked(stream_state(stream, dev), false, &p);
  pthread_mutex_unlock(&lock);
  if (p) return CUDA_ERROR_NOT_READY;
  if (end <= vclock_now_ns()) return CUDA_SUCCESS;
  /* A host polling the stream finds it done at its completion time: move there (not while inside NCCL, which
   * only polls to reclaim resources). */
  if (!simtime_in_nccl()) vclock_advance_to(end);
  return CUDA_ERROR_NOT_READY;
}

int simtime_device_sync(int dev) {
  vclock_enter();
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  int64_t end = 0;
  GHashTableIter it;
  gpointer k, v;
  bool again = true;
  while (again) { /* waiting releases the lock: rescan until every stream of the device is resolved */
    again = false;
    g_hash_table_iter_init(&it, streams);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      struct st_stream *s = v;
      if (dev >= 0 && s->dev != dev) continue;
      stream_collapse(s);
      if (s->last) {
        struct st_launch *l = launch_ref(s->last);
        wait_resolved(l);
        launch_unref(l);
        again = true;
        break;
      }
      if (s->ready_ns > end) end = s->ready_ns;
    }
  }
  pthread_mutex_unlock(&lock);
  vclock_advance_to(end);
  vclock_leave();
  return CUDA_SUCCESS;
}

void simtime_host_copy_wait(int dev) {
  if (simtime_in_nccl() || !simtime_calls_nccl()) return;
  simtime_device_sync(dev);
}

void simtime_stream_forget(void *stream) {
  if (!stream) return;
  pthread_mutex_lock(&lock);
  struct st_stream *s = g_hash_table_lookup(streams, stream);
  if (s) {
    g_hash_table_remove(streams, stream);
    launch_unref(s->last);
    if (s->waits) {
      for (guint i = 0; i < s->waits->len; i++) launch_unref(g_ptr_array_index(s->waits, i));
      g_ptr_array_free(s->waits, TRUE);
    }
    g_free(s);
  }
  pthread_mutex_unlock(&lock);
}

/* ---- events ---- */

static struct st_event *event_state(void *event) {
  struct st_event *e = g_hash_table_lookup(events, event);
  if (!e) {
    e = g_new0(struct st_event, 1);
    g_hash_table_insert(events, event, e);
  }
  return e;
}

static void event_collapse(struct st_event *e) {
  if (e->after && e->after->resolved) {
    if (e->after->end_ns > e->base_ns) e->base_ns = e->after->end_ns;
    launch_unref(e->after);
    e->after = NULL;
  }
}

static int64_t event_time(const struct st_event *e) {
  return e->host_ns > e->base_ns ? e->host_ns : e->base_ns;
}

void simtime_event_record(void *event, void *stream, int dev) {
  int64_t now = vclock_now_ns();
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  struct st_event *e = event_state(event);
  struct st_stream *s = stream_state(stream, dev);
  stream_collapse(s);
  launch_unref(e->after);
  e->after = launch_ref(s->last);
  e->base_ns = s->ready_ns;
  e->host_ns = now;
  e->recorded = true;
  pthread_mutex_unlock(&lock);
}

void simtime_stream_wait_event(void *stream, int dev, void *event) {
  pthread_mutex_lock(&lock);
  struct st_event *e = g_hash_table_lookup(events, event);
  if (e && e->recorded) {
    event_collapse(e);
    struct st_stream *s = stream_state(stream, dev);
    if (e->after) {
      if (!s->waits) s->waits = g_ptr_array_new();
      g_ptr_array_add(s->waits, launch_ref(e->after));
    }
    if (event_time(e) > s->wait_ns) s->wait_ns = event_time(e);
  }
  pthread_mutex_unlock(&lock);
}

int simtime_event_query(void *event) {
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  struct st_event *e = g_hash_table_lookup(events, event);
  if (!e || !e->recorded) {
    pthread_mutex_unlock(&lock);
    return CUDA_SUCCESS;
  }
  event_collapse(e);
  bool pend = e->after != NULL;
  int64_t t = event_time(e);
  pthread_mutex_unlock(&lock);
  if (pend) return CUDA_ERROR_NOT_READY;
  if (t <= vclock_now_ns()) return CUDA_SUCCESS;
  if (!simtime_in_nccl()) vclock_advance_to(t);
  return CUDA_ERROR_NOT_READY;
}

int simtime_event_sync(void *event) {
  vclock_enter();
  pthread_mutex_lock(&lock);
  close_open_launch_locked();
  struct st_event *e = g_hash_table_lookup(events, event);
  int64_t t = 0;
  if (e && e->recorded) {
    if (e->after) wait_resolved(e->after);
    event_collapse(e);
    t = event_time(e);
  }
  pthread_mutex_unlock(&lock);
  vclock_advance_to(t);
  vclock_leave();
  return CUDA_SUCCESS;
}

int simtime_event_elapsed(float *ms, void *start, void *end) {
  pthread_mutex_lock(&lock);
  struct st_event *a = g_hash_table_lookup(events, start), *b = g_hash_table_lookup(events, end);
  int rc = CUDA_SUCCESS;
  if (!a || !b || !a->recorded || !b->recorded) {
    rc = CUDA_ERROR_INVALID_HANDLE;
  } else {
    event_collapse(a);
    event_collapse(b);
    if (a->after || b->after) rc = CUDA_ERROR_NOT_READY;
    else *ms = (float)((event_time(b) - event_time(a)) / 1e6);
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

void simtime_event_forget(void *event) {
  pthread_mutex_lock(&lock);
  struct st_event *e = g_hash_table_lookup(events, event);
  if (e) {
    g_hash_table_remove(events, event);
    launch_unref(e->after);
    g_free(e);
  }
  pthread_mutex_unlock(&lock);
}

void simtime_remote_resolved(const char *key, int64_t start_ns, int64_t end_ns) {
  pthread_mutex_lock(&lock);
  struct st_instance *in = g_hash_table_lookup(instances, key);
  if (in && in->sent) {
    struct simtime_outcome o;
    memset(&o, 0, sizeof o);
    g_strlcpy(o.op, "coordinator", sizeof o.op);
    o.modelled = true;
    for (guint i = 0; i < in->members->len; i++) {
      struct st_launch *l = g_ptr_array_index(in->members, i);
      l->start_ns = start_ns;
      l->end_ns = end_ns;
      l->resolved = true;
      if (l->deps) {
        for (guint k = 0; k < l->deps->len; k++) launch_unref(g_ptr_array_index(l->deps, k));
        g_ptr_array_set_size(l->deps, 0);
      }
      trace_kernel(in, l, &o);
    }
    g_ptr_array_remove(pending, in);
    g_hash_table_remove(instances, in->key);
    instance_free(in);
    resolve_ready();
    pthread_cond_broadcast(&changed);
  }
  pthread_mutex_unlock(&lock);
}
