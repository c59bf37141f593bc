/* cmd_run.c — `ccsim run`: runs an unmodified NCCL program on virtual GPUs with simulated time.
 *
 * Starts PROGRAM in its own process group with libhacknccl.so preloaded and CCSIM_RUN=1 (virtual clock,
 * simulated stream/event times, NCCL API wrappers: intercept/simtime.h, intercept/vclock.h), bounds it with a
 * time limit, then explains how it ended: never initialised NCCL, called a CUDA function the virtual driver
 * lacks (named), died from a signal, or timed out. Exits with the program's status. The trace the library
 * writes (JSON lines) is kept as OUT or converted to SQLite when OUT ends in .db/.sqlite.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cmd.h"
#include "run_coord.h"
#include "trace_sqlite.h"

#ifndef CCSIM_LIBDIR
#define CCSIM_LIBDIR "/usr/local/lib/ccsim"
#endif

#define RUN_EXIT_TIMEOUT 124
#define RUN_EXIT_NO_NCCL 3

static volatile sig_atomic_t forwarded_signal;

static void on_signal(int sig) { forwarded_signal = sig; }

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* libhacknccl.so: $CCSIM_LIBHACKNCCL, next to this program in the build tree (sim/ccsim -> intercept/), or the
 * install libdir. */
static char *find_library(void) {
  const char *e = getenv("CCSIM_LIBHACKNCCL");
  if (e && *e) return g_file_test(e, G_FILE_TEST_EXISTS) ? g_canonicalize_filename(e, NULL) : NULL;
  char *self = g_file_read_link("/proc/self/exe", NULL);
  char *found = NULL;
  if (self) {
    char *dir = g_path_get_dirname(self);
    const char *cands[] = {"../intercept", ".", "../lib/ccsim", "../lib64/ccsim"};
    for (size_t i = 0; i < G_N_ELEMENTS(cands) && !found; i++) {
      char *p = g_build_filename(dir, cands[i], "libhacknccl.so", NULL);
      if (g_file_test(p, G_FILE_TEST_EXISTS)) found = g_canonicalize_filename(p, NULL);
      g_free(p);
    }
    g_free(dir);
    g_free(self);
  }
  if (!found) {
    char *p = g_build_filename(CCSIM_LIBDIR, "libhacknccl.so", NULL);
    if (g_file_test(p, G_FILE_TEST_EXISTS)) found = p; else g_free(p);
  }
  return found;
}

struct run_opts {
  char *topo, *trace, *host_time, *params;
  int gpus;
  double timeout;
};

static gchar **child_environ(const struct run_opts *o, const char *lib, const char *topo, const char *trace_tmp,
                             const char *report) {
  gchar **env = g_get_environ();
  const char *pre = g_environ_getenv(env, "LD_PRELOAD");
  char *preload = pre && *pre ? g_strdup_printf("%s:%s", lib, pre) : g_strdup(lib);
  env = g_environ_setenv(env, "LD_PRELOAD", preload, TRUE);
  g_free(preload);
  env = g_environ_setenv(env, "CCSIM_RUN", "1", TRUE);
  env = g_environ_setenv(env, "CCSIM_TOPO", topo, TRUE);
  env = g_environ_setenv(env, "CCSIM_NODES", "1", TRUE);
  env = g_environ_setenv(env, "CCSIM_NODE", "0", TRUE);
  env = g_environ_setenv(env, "CCSIM_RUN_REPORT", report, TRUE);
  env = g_environ_setenv(env, "CCSIM_HOST_TIME", o->host_time ? o->host_time : "model", TRUE);
  if (trace_tmp) env = g_environ_setenv(env, "CCSIM_TRACE", trace_tmp, TRUE);
  else env = g_environ_unsetenv(env, "CCSIM_TRACE");
  if (o->params) env = g_environ_setenv(env, "CCSIM_PARAMS", o->params, TRUE);
  if (o->gpus > 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", o->gpus);
    env = g_environ_setenv(env, "CCSIM_GPUS", buf, TRUE);
  }
  /* NCCL's own settings pass through; these fill what is unset. The plugins must be ours: simulated time
   * depends on the profiler's view of every launch. */
  env = g_environ_setenv(env, "NCCL_IB_DISABLE", "1", FALSE);
  env = g_environ_setenv(env, "NCCL_HOSTID", "ccsim-node-0", FALSE);
  const char *plugins[] = {"NCCL_NET_PLUGIN", "NCCL_PROFILER_PLUGIN", "NCCL_TUNER_PLUGIN"};
  for (size_t i = 0; i < G_N_ELEMENTS(plugins); i++) {
    const char *v = g_environ_getenv(env, plugins[i]);
    if (v && *v && strcmp(v, lib))
      fprintf(stderr, "ccsim run: %s=%s is replaced by ccsim's own plugin\n", plugins[i], v);
    env = g_environ_setenv(env, plugins[i], lib, TRUE);
  }
  return env;
}

static void kill_group(pid_t pid) {
  kill(-pid, SIGTERM);
  for (int i = 0; i < 40; i++) {
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      kill(-pid, SIGKILL); /* anything the program left behind in its group */
      return;
    }
    g_usleep(50000);
  }
  kill(-pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* Reads the run report the library wrote: whether NCCL was initialised, the unimplemented calls made. */
static void read_report(const char *path, gboolean *nccl_init, GPtrArray *unimplemented) {
  char *text = NULL;
  *nccl_init = FALSE;
  if (!g_file_get_contents(path, &text, NULL, NULL)) return;
  gchar **lines = g_strsplit(text, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    if (!strcmp(lines[i], "nccl-init")) *nccl_init = TRUE;
    else if (g_str_has_prefix(lines[i], "unimplemented ")) g_ptr_array_add(unimplemented, g_strdup(lines[i] + 14));
  }
  g_strfreev(lines);
  g_free(text);
}

static gboolean is_sqlite_name(const char *p) {
  return g_str_has_suffix(p, ".db") || g_str_has_suffix(p, ".sqlite") || g_str_has_suffix(p, ".sqlite3");
}

int cmd_run(int argc, char **argv) {
  struct run_opts o = {.timeout = 3600};
  gint nodes = 1;
  GOptionEntry entries[] = {
    {"topo", 't', 0, G_OPTION_ARG_FILENAME, &o.topo, "node topology XML (NCCL format), required", "FILE"},
    {"nodes", 'N', 0, G_OPTION_ARG_INT, &nodes, "virtual nodes (default 1). N > 1 starts one copy of PROGRAM per "
     "node (CCSIM_NODE=0..N-1, CCSIM_NODES=N; the copies find each other through files in $CCSIM_RUN_SHARED) and "
     "times collectives across them in ccsim", "N"},
    {"gpus", 'g', 0, G_OPTION_ARG_INT, &o.gpus, "GPUs to present (default: all in the topology)", "G"},
    {"trace", 'o', 0, G_OPTION_ARG_FILENAME, &o.trace, "record every NCCL call, NCCL's decision and its simulated "
     "start/end to FILE: JSON lines, or SQLite when FILE ends in .db/.sqlite (docs/trace-format.md)", "FILE"},
    {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.timeout, "kill the program after S seconds of real time (default "
     "3600)", "S"},
    {"host-time", 0, 0, G_OPTION_ARG_STRING, &o.host_time, "model (default): only NCCL's modelled enqueue cost and "
     "waits on the GPU move the host clocks; real: the program's own host code counts too", "MODE"},
    {"params", 0, 0, G_OPTION_ARG_FILENAME, &o.params, "network model parameters (default: the GPUs' generation)",
     "FILE"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new("-- PROGRAM [ARGS...]");
  g_option_context_set_summary(ctx,
    "Runs PROGRAM unmodified on virtual GPUs built from the topology. Its CUDA calls and NCCL run on\n"
    "ccsim's virtual driver; its own kernels take no time, NCCL's kernels take the time the simulator\n"
    "computes for the whole collective. CUDA events, stream/event synchronisation and the host clocks\n"
    "(clock_gettime, gettimeofday) follow simulated time, so the program prints predicted timings.\n"
    "One process per virtual node (one thread for all its GPUs, or one thread per GPU); --nodes N starts N\n"
    "copies and times the collectives between them in ccsim.\n"
    "NCCL_* variables pass through to NCCL. Exit status: the program's (128+N after signal N, 124 after\n"
    "the time limit, 3 when it exited 0 without ever initialising NCCL).");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_strict_posix(ctx, TRUE); /* options after PROGRAM are the program's, even without -- */
  GError *err = NULL;
  int rc = 2;
  char *lib = NULL, *topo = NULL, *tmpdir = NULL, *report = NULL, *trace_tmp = NULL;
  gchar **env = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  int first = 1;
  if (first < argc && !strcmp(argv[first], "--")) first++;
  if (first >= argc) {
    fprintf(stderr, "%s: no program given (usage: ccsim run --topo FILE -- PROGRAM ARGS...)\n", argv[0]);
    goto out;
  }
  if (!o.topo) {
    fprintf(stderr, "%s: --topo FILE is required (a topology XML, e.g. from `ccsim topo gen dgx-h100 -o F`)\n", argv[0]);
    goto out;
  }
  if (nodes < 1 || nodes > 64) {
    fprintf(stderr, "%s: --nodes %d: need 1 to 64 virtual nodes\n", argv[0], nodes);
    goto out;
  }
  if (o.timeout <= 0 || o.gpus < 0 || (o.host_time && strcmp(o.host_time, "model") && strcmp(o.host_time, "real"))) {
    fprintf(stderr, "%s: need --timeout > 0, --gpus >= 0, --host-time model|real\n", argv[0]);
    goto out;
  }
  rc = 1;
  if (!g_file_test(o.topo, G_FILE_TEST_IS_REGULAR)) {
    fprintf(stderr, "%s: topology %s: no such file\n", argv[0], o.topo);
    goto out;
  }
  topo = g_canonicalize_filename(o.topo, NULL);
  if (!(lib = find_library())) {
    fprintf(stderr, "%s: libhacknccl.so (the virtual GPU driver) not found next to ccsim or in %s; set "
                    "CCSIM_LIBHACKNCCL\n", argv[0], CCSIM_LIBDIR);
    goto out;
  }
  if (!(tmpdir = g_dir_make_tmp("ccsim-run-XXXXXX", &err))) {
    fprintf(stderr, "%s: %s\n", argv[0], err->message);
    goto out;
  }
  report = g_build_filename(tmpdir, "report", NULL);
  if (o.trace) {
    FILE *probe = fopen(o.trace, "w"); /* fail now, not after the run */
    if (!probe) {
      fprintf(stderr, "%s: cannot write trace %s: %s\n", argv[0], o.trace, g_strerror(errno));
      goto out;
    }
    fclose(probe);
    trace_tmp = is_sqlite_name(o.trace) ? g_build_filename(tmpdir, "trace.jsonl", NULL)
                                        : g_canonicalize_filename(o.trace, NULL);
  }
  env = child_environ(&o, lib, topo, trace_tmp, report);

  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  fflush(NULL);
  /* Several nodes: one process each, a coordinator for the collectives that span them, one virtual clock
   * origin for all, per-node traces merged afterwards. */
  struct run_coord *coord = NULL;
  char **node_traces = g_new0(char *, nodes + 1);
  if (nodes > 1) {
    char *sock = g_build_filename(tmpdir, "coord", NULL);
    coord = run_coord_new(sock, topo, nodes, o.params, &err);
    if (!coord) {
      fprintf(stderr, "%s: %s\n", argv[0], err->message);
      g_free(sock);
      g_strfreev(node_traces);
      goto out;
    }
    char buf[64];
    env = g_environ_setenv(env, "CCSIM_RUN_COORD", sock, TRUE);
    env = g_environ_setenv(env, "CCSIM_RUN_SHARED", tmpdir, TRUE);
    snprintf(buf, sizeof buf, "%d", nodes);
    env = g_environ_setenv(env, "CCSIM_NODES", buf, TRUE);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(buf, sizeof buf, "%lld", (long long)ts.tv_sec * 1000000000 + ts.tv_nsec);
    env = g_environ_setenv(env, "CCSIM_ORIGIN_NS", buf, TRUE);
    g_free(sock);
  }
  pid_t *pids = g_new0(pid_t, nodes);
  int *statuses = g_new0(int, nodes);
  gboolean *done = g_new0(gboolean, nodes);
  pid_t pgid = 0;
  for (int i = 0; i < nodes; i++) {
    gchar **nenv = g_strdupv(env);
    if (nodes > 1) {
      char buf[64];
      snprintf(buf, sizeof buf, "%d", i);
      nenv = g_environ_setenv(nenv, "CCSIM_NODE", buf, TRUE);
      snprintf(buf, sizeof buf, "ccsim-node-%d", i);
      nenv = g_environ_setenv(nenv, "NCCL_HOSTID", buf, TRUE);
      if (trace_tmp) {
        node_traces[i] = g_strdup_printf("%s/trace.node%d.jsonl", tmpdir, i);
        nenv = g_environ_setenv(nenv, "CCSIM_TRACE", node_traces[i], TRUE);
      }
    }
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "%s: fork: %s\n", argv[0], g_strerror(errno));
      g_strfreev(nenv);
      break;
    }
    if (pid == 0) {
      setpgid(0, pgid);
      sigaction(SIGINT, &old_int, NULL);
      sigaction(SIGTERM, &old_term, NULL);
      execvpe(argv[first], argv + first, nenv);
      fprintf(stderr, "ccsim run: cannot start %s: %s\n", argv[first], g_strerror(errno));
      _exit(127);
    }
    setpgid(pid, pgid);
    if (!pgid) pgid = pid;
    pids[i] = pid;
    g_strfreev(nenv);
  }
  pid_t pid = pgid;
  double t0 = mono_s();
  int status = 0;
  gboolean timed_out = FALSE;
  double failed_at = 0; /* a node that failed leaves its peers waiting for it: they get a few seconds */
  for (int left = nodes; left > 0 && pid > 0;) {
    for (int i = 0; i < nodes; i++) {
      if (done[i] || pids[i] <= 0) {
        if (!done[i]) { done[i] = TRUE; left--; }
        continue;
      }
      pid_t w = waitpid(pids[i], &statuses[i], WNOHANG);
      if (w == pids[i] || (w < 0 && errno != EINTR)) {
        done[i] = TRUE;
        left--;
        /* the node whose ending decides the run: the first that failed, else node 0 */
        if ((statuses[i] != 0 && status == 0) || (i == 0 && status == 0)) status = statuses[i];
        if (statuses[i] != 0 && failed_at == 0) failed_at = mono_s();
      }
    }
    if (left == 0) break;
    if (failed_at > 0 && mono_s() - failed_at > 5) {
      fprintf(stderr, "ccsim run: a node's process failed; stopping the other %d\n", left);
      kill_group(pid);
      for (int i = 0; i < nodes; i++) if (!done[i] && pids[i] > 0) waitpid(pids[i], NULL, 0);
      break;
    }
    if (forwarded_signal) {
      kill(-pid, forwarded_signal);
      forwarded_signal = 0;
    }
    if (mono_s() - t0 > o.timeout) {
      timed_out = TRUE;
      kill_group(pid);
      for (int i = 0; i < nodes; i++) if (!done[i] && pids[i] > 0) waitpid(pids[i], NULL, 0);
      break;
    }
    if (coord) run_coord_poll(coord, 20);
    else g_usleep(20000);
  }
  if (pid > 0) kill(-pid, SIGKILL); /* helpers the program forked into its group must not outlive it */
  if (coord && getenv("CCSIM_RUN_VERBOSE"))
    fprintf(stderr, "ccsim run: coordinator timed %u collectives across nodes\n", run_coord_instances(coord));
  run_coord_free(coord);
  if (nodes > 1 && trace_tmp) { /* one trace: the nodes' records one after another */
    FILE *outf = fopen(trace_tmp, "w");
    for (int i = 0; outf && i < nodes; i++) {
      char *text = NULL;
      gsize len = 0;
      if (node_traces[i] && g_file_get_contents(node_traces[i], &text, &len, NULL)) fwrite(text, 1, len, outf);
      g_free(text);
      if (node_traces[i]) g_unlink(node_traces[i]);
    }
    if (outf) fclose(outf);
  }
  g_strfreev(node_traces);
  g_free(pids);
  g_free(statuses);
  g_free(done);
  double wall = mono_s() - t0;
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);

  gboolean nccl_init = FALSE;
  GPtrArray *unimpl = g_ptr_array_new_with_free_func(g_free);
  read_report(report, &nccl_init, unimpl);
  for (guint i = 0; i < unimpl->len; i++)
    fprintf(stderr, "ccsim run: the program called %s, which the virtual GPU driver does not implement (the call "
                    "failed with CUDA_ERROR_NOT_SUPPORTED)\n", (const char *)g_ptr_array_index(unimpl, i));
  if (timed_out) {
    fprintf(stderr, "ccsim run: %s did not finish within %.0f s and was killed (raise --timeout, or look for a "
                    "rank that never joins a collective)\n", argv[first], o.timeout);
    rc = RUN_EXIT_TIMEOUT;
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    fprintf(stderr, "ccsim run: %s was killed by signal %d (SIG%s: %s)%s\n", argv[first], sig, sigabbrev_np(sig) ?
            sigabbrev_np(sig) : "?", g_strsignal(sig), nccl_init ? "" : " before it initialised NCCL");
    rc = 128 + sig;
  } else {
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (rc == 127 && !nccl_init)
      fprintf(stderr, "ccsim run: %s could not be started\n", argv[first]);
    else if (!nccl_init)
      fprintf(stderr, "ccsim run: %s exited with status %d without ever initialising NCCL (no communicator was "
                      "created, nothing was simulated)\n", argv[first], rc);
    else if (rc != 0)
      fprintf(stderr, "ccsim run: %s exited with status %d\n", argv[first], rc);
    if (rc == 0 && !nccl_init) rc = RUN_EXIT_NO_NCCL;
  }
  g_ptr_array_free(unimpl, TRUE);
  if (o.trace && is_sqlite_name(o.trace)) {
    long n = g_file_test(trace_tmp, G_FILE_TEST_EXISTS) ? trace_jsonl_to_sqlite(trace_tmp, o.trace, &err) : 0;
    if (n < 0) {
      fprintf(stderr, "ccsim run: %s\n", err->message);
      g_clear_error(&err);
      if (rc == 0) rc = 1;
    }
  }
  if (getenv("CCSIM_RUN_VERBOSE")) fprintf(stderr, "ccsim run: wall time %.3f s\n", wall);
out:
  if (tmpdir) {
    if (report) g_unlink(report);
    if (trace_tmp && o.trace && is_sqlite_name(o.trace)) g_unlink(trace_tmp);
    GDir *d = g_dir_open(tmpdir, 0, NULL); /* files the program's copies shared (multi-node runs) */
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
      char *p = g_build_filename(tmpdir, name, NULL);
      g_unlink(p);
      g_free(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(tmpdir);
  }
  if (err) g_error_free(err);
  g_strfreev(env);
  g_option_context_free(ctx);
  g_free(lib);
  g_free(topo);
  g_free(tmpdir);
  g_free(report);
  g_free(trace_tmp);
  g_free(o.topo);
  g_free(o.trace);
  g_free(o.host_time);
  g_free(o.params);
  return rc;
}
