/* platform.c — the launcher of the virtual GPU platform (implements platform.h).
 *
 * Starts one ccsim-probe process per virtual node under LD_PRELOAD=libhacknccl.so, in a process group of
 * their own, with the node's identity (CCSIM_TOPO/CCSIM_NODES/CCSIM_NODE/CCSIM_GPUS, NCCL_HOSTID) and the
 * user's NCCL_* variables passed through; bounds the run with a timeout (the whole group is killed); reads
 * the nodes' capture JSON back through algo/capture_json.c; and turns every failure into a message that
 * says what went wrong and what to do about it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "capture_json.h"
#include "platform.h"
#include "topo.h"

#ifndef CCSIM_NCCL_LIB
#define CCSIM_NCCL_LIB "/usr/local/cuda/lib64/libnccl.so.2"
#endif
#ifndef CCSIM_LIBDIR
#define CCSIM_LIBDIR "/usr/local/lib/ccsim"
#endif
#ifndef CCSIM_REL_LIBDIR
#define CCSIM_REL_LIBDIR "lib/ccsim"
#endif

#define PLATFORM_ERROR g_quark_from_static_string("ccsim-platform-error")
#define PROBE_EXIT_VERSION 3
#define PROBE_EXIT_TIMEOUT 124

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* libhacknccl.so and ccsim-probe: $CCSIM_LIBHACKNCCL / $CCSIM_PROBE, next to this program in the build tree
 * (sim/ccsim -> intercept/), or in the install libdir. */
static char *find_component(const char *env, const char *name) {
  const char *e = getenv(env);
  if (e && *e) return g_file_test(e, G_FILE_TEST_EXISTS) ? g_strdup(e) : NULL;
  char *self = g_file_read_link("/proc/self/exe", NULL);
  char *found = NULL;
  if (self) {
    char *dir = g_path_get_dirname(self);
    /* build tree (sim/ccsim next to intercept/), then an installed tree moved as a whole (bin/ next to
     * the install libdir) */
    const char *cands[] = {"../intercept", "../" CCSIM_REL_LIBDIR, ".", "../lib/ccsim", "../lib64/ccsim"};
    for (size_t i = 0; i < G_N_ELEMENTS(cands) && !found; i++) {
      char *p = g_build_filename(dir, cands[i], name, NULL);
      if (g_file_test(p, G_FILE_TEST_EXISTS)) found = p; else g_free(p);
    }
    g_free(dir);
    g_free(self);
  }
  if (!found) {
    char *p = g_build_filename(CCSIM_LIBDIR, name, NULL);
    if (g_file_test(p, G_FILE_TEST_EXISTS)) found = p; else g_free(p);
  }
  return found;
}

/* The lines of a probe log worth showing: the probe's own messages and NCCL warnings (last few). */
static char *log_excerpt(const char *path) {
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) return g_strdup("");
  gchar **lines = g_strsplit(text, "\n", -1);
  GPtrArray *keep = g_ptr_array_new();
  for (int i = 0; lines[i]; i++)
    if (strstr(lines[i], "ccsim-probe:") || strstr(lines[i], "NCCL WARN") || strstr(lines[i], "ccsim-platform:") ||
        strstr(lines[i], "error"))
      g_ptr_array_add(keep, lines[i]);
  GString *s = g_string_new(NULL);
  guint from = keep->len > 6 ? keep->len - 6 : 0;
  for (guint i = from; i < keep->len; i++) g_string_append_printf(s, "\n  %s", (char *)keep->pdata[i]);
  g_ptr_array_free(keep, TRUE);
  g_strfreev(lines);
  g_free(text);
  return g_string_free(s, FALSE);
}

static gboolean check_topology(const struct platform_request *req, GError **err) {
  GError *e = NULL;
  struct topo_system *t = topo_load(req->topo_path, &e);
  if (!t) {
    g_set_error(err, PLATFORM_ERROR, 1, "cannot use topology %s: %s", req->topo_path, e ? e->message : "unknown error");
    g_clear_error(&e);
    return FALSE;
  }
  int ngpus = t->ngpus;
  topo_free(t);
  if (ngpus == 0) {
    g_set_error(err, PLATFORM_ERROR, 1, "topology %s has no GPUs: NCCL needs at least one <gpu> per node",
                req->topo_path);
    return FALSE;
  }
  if (req->gpus > ngpus) {
    g_set_error(err, PLATFORM_ERROR, 1, "--gpus %d asks for more GPUs than topology %s has (%d)", req->gpus,
                req->topo_path, ngpus);
    return FALSE;
  }
  return TRUE;
}

static char *sizes_arg(const struct platform_request *req) {
  GString *s = g_string_new(NULL);
  for (int i = 0; i < req->nsizes; i++) g_string_append_printf(s, "%s%zu", i ? "," : "", req->sizes[i]);
  return g_string_free(s, FALSE);
}

static gchar **node_environ(const struct platform_request *req, int node, const char *lib, const char *nccl,
                            const char *tmpdir) {
  gchar **env = g_get_environ();
  const char *pre = g_environ_getenv(env, "LD_PRELOAD");
  /* The caller's own preloads go first: a sanitizer runtime, for one, must be the first library loaded. */
  char *preload = pre && *pre ? g_strdup_printf("%s:%s", pre, lib) : g_strdup(lib);
  env = g_environ_setenv(env, "LD_PRELOAD", preload, TRUE);
  g_free(preload);
  char buf[64];
  env = g_environ_setenv(env, "CCSIM_TOPO", req->topo_path, TRUE);
  snprintf(buf, sizeof(buf), "%d", req->nodes);
  env = g_environ_setenv(env, "CCSIM_NODES", buf, TRUE);
  snprintf(buf, sizeof(buf), "%d", node);
  env = g_environ_setenv(env, "CCSIM_NODE", buf, TRUE);
  if (req->gpus > 0) {
    snprintf(buf, sizeof(buf), "%d", req->gpus);
    env = g_environ_setenv(env, "CCSIM_GPUS", buf, TRUE);
  }
  env = g_environ_setenv(env, "CCSIM_NCCL", nccl, TRUE);
  snprintf(buf, sizeof(buf), "ccsim-node-%d", node);
  env = g_environ_setenv(env, "NCCL_HOSTID", buf, TRUE);
  /* The user's NCCL_* settings pass through; these defaults only fill what is unset. */
  env = g_environ_setenv(env, "NCCL_TOPO_FILE", req->topo_path, FALSE);
  env = g_environ_setenv(env, "NCCL_IB_DISABLE", "1", FALSE);
  /* NCCL's warnings land in the node's log, which a failure report quotes; --verbose shows NCCL's INFO. */
  env = g_environ_setenv(env, "NCCL_DEBUG", req->verbose ? "INFO" : "WARN", FALSE);
  /* Capture depends on our plugins: they are always the ones loaded. */
  env = g_environ_setenv(env, "NCCL_NET_PLUGIN", lib, TRUE);
  env = g_environ_setenv(env, "NCCL_PROFILER_PLUGIN", lib, TRUE);
  env = g_environ_setenv(env, "NCCL_TUNER_PLUGIN", lib, TRUE);
  if (req->graph_dump_path && node == 0) env = g_environ_setenv(env, "NCCL_GRAPH_DUMP_FILE", req->graph_dump_path, TRUE);
  env = g_environ_setenv(env, "TMPDIR", tmpdir, FALSE);
  return env;
}

struct node_proc {
  pid_t pid;
  int status;
  gboolean done;
  char *log, *out;
};

static void kill_group(pid_t pgid, struct node_proc *p, int n) {
  if (pgid > 0) kill(-pgid, SIGKILL);
  for (int i = 0; i < n; i++) {
    if (p[i].pid > 0 && !p[i].done) {
      kill(p[i].pid, SIGKILL);
      waitpid(p[i].pid, &p[i].status, 0);
      p[i].done = TRUE;
    }
  }
}

static void remove_tree(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, name, NULL);
    g_unlink(p);
    g_free(p);
  }
  g_dir_close(d);
  g_rmdir(dir);
}

static char *describe_failure(const struct node_proc *p, int node, const char *nccl) {
  char *excerpt = log_excerpt(p->log);
  char *msg;
  if (WIFSIGNALED(p->status)) {
    int sig = WTERMSIG(p->status);
    msg = g_strdup_printf("NCCL on virtual node %d died from signal %d (%s)%s%s", node, sig, g_strsignal(sig),
                          *excerpt ? "; last messages:" : "", excerpt);
  } else {
    int code = WEXITSTATUS(p->status);
    if (code == PROBE_EXIT_VERSION)
      msg = g_strdup_printf("cannot run NCCL from %s:%s", nccl, excerpt);
    else if (code == PROBE_EXIT_TIMEOUT)
      msg = g_strdup_printf("NCCL on virtual node %d hit its time limit:%s", node, excerpt);
    else
      msg = g_strdup_printf("NCCL on virtual node %d failed (exit status %d)%s%s", node, code,
                            *excerpt ? "; last messages:" : " with no message", excerpt);
  }
  g_free(excerpt);
  return msg;
}

int platform_capture(const struct platform_request *req, struct platform_result *out, GError **err) {
  memset(out, 0, sizeof(*out));
  if (!req->topo_path || req->nodes < 1 || req->gpus < 0) {
    g_set_error(err, PLATFORM_ERROR, 1, "invalid request: a topology, >= 1 node and >= 0 GPUs are needed");
    return -1;
  }
  const char *nccl = req->nccl_path ? req->nccl_path : getenv("CCSIM_NCCL");
  if (!nccl || !*nccl) nccl = CCSIM_NCCL_LIB;
  if (!g_file_test(nccl, G_FILE_TEST_EXISTS)) {
    g_set_error(err, PLATFORM_ERROR, 1,
                "NCCL library not found at %s (install NCCL 2.28.9, or point --nccl / CCSIM_NCCL at libnccl.so.2)", nccl);
    return -1;
  }
  if (!check_topology(req, err)) return -1;
  char *lib = find_component("CCSIM_LIBHACKNCCL", "libhacknccl.so");
  char *probe = find_component("CCSIM_PROBE", "ccsim-probe");
  if (!lib || !probe) {
    g_set_error(err, PLATFORM_ERROR, 1, "cannot find %s next to ccsim or in %s (build the intercept/ targets, or set %s)",
                !lib ? "libhacknccl.so" : "ccsim-probe", CCSIM_LIBDIR, !lib ? "CCSIM_LIBHACKNCCL" : "CCSIM_PROBE");
    g_free(lib);
    g_free(probe);
    return -1;
  }
  GError *e = NULL;
  char *tmpdir = g_dir_make_tmp("ccsim-capture-XXXXXX", &e);
  if (!tmpdir) {
    g_set_error(err, PLATFORM_ERROR, 1, "cannot create a temporary directory: %s", e->message);
    g_error_free(e);
    g_free(lib);
    g_free(probe);
    return -1;
  }
  int nodes = req->nodes;
  double timeout = req->timeout_s > 0 ? req->timeout_s : 120.0 + 8.0 * nodes * (req->gpus > 0 ? req->gpus : 8);
  char *sizes = sizes_arg(req);
  char *id_file = g_build_filename(tmpdir, "nccl-unique-id", NULL);
  char *tbuf = g_strdup_printf("%.0f", timeout);
  char ts_buf[16];
  snprintf(ts_buf, sizeof(ts_buf), "%d", req->type_size > 0 ? req->type_size : 4);
  char root_buf[16];
  snprintf(root_buf, sizeof(root_buf), "%d", req->root);
  struct node_proc *procs = g_new0(struct node_proc, nodes);
  pid_t pgid = 0;
  int rc = -1;
  fflush(NULL);
  for (int i = 0; i < nodes; i++) {
    procs[i].log = g_strdup_printf("%s/node-%d.log", tmpdir, i);
    procs[i].out = g_strdup_printf("%s/node-%d.json", tmpdir, i);
    char node_s[16], nodes_s[16], gpus_s[16];
    snprintf(node_s, sizeof(node_s), "%d", i);
    snprintf(nodes_s, sizeof(nodes_s), "%d", nodes);
    snprintf(gpus_s, sizeof(gpus_s), "%d", req->gpus);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, probe);
    g_ptr_array_add(argv, "--nccl");
    g_ptr_array_add(argv, (char *)nccl);
    g_ptr_array_add(argv, "--op");
    g_ptr_array_add(argv, (char *)comm_op_name(req->op));
    if (req->nsizes > 0) {
      g_ptr_array_add(argv, "--sizes");
      g_ptr_array_add(argv, sizes);
    }
    if (req->dtype) {
      g_ptr_array_add(argv, "--type");
      g_ptr_array_add(argv, (char *)req->dtype);
    } else {
      g_ptr_array_add(argv, "--type-size");
      g_ptr_array_add(argv, ts_buf);
    }
    if (req->redop) {
      g_ptr_array_add(argv, "--redop");
      g_ptr_array_add(argv, (char *)req->redop);
    }
    if (req->root) {
      g_ptr_array_add(argv, "--root");
      g_ptr_array_add(argv, root_buf);
    }
    g_ptr_array_add(argv, "--nodes");
    g_ptr_array_add(argv, nodes_s);
    g_ptr_array_add(argv, "--node");
    g_ptr_array_add(argv, node_s);
    if (req->gpus > 0) {
      g_ptr_array_add(argv, "--gpus");
      g_ptr_array_add(argv, gpus_s);
    }
    g_ptr_array_add(argv, "--id-file");
    g_ptr_array_add(argv, id_file);
    g_ptr_array_add(argv, "--init-timeout");
    g_ptr_array_add(argv, tbuf);
    g_ptr_array_add(argv, "--call-timeout");
    g_ptr_array_add(argv, tbuf);
    g_ptr_array_add(argv, "--out");
    g_ptr_array_add(argv, procs[i].out);
    g_ptr_array_add(argv, NULL);
    gchar **envp = node_environ(req, i, lib, nccl, tmpdir);
    int logfd = open(procs[i].log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, pgid);
      /* If ccsim dies (killed, interrupted), its probes go with it: no stray NCCL processes. */
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      /* NCCL logs to stdout; ccsim's stdout is for results, so probe output goes to the node's log, or to
       * ccsim's stderr with --verbose. */
      if (req->verbose) {
        dup2(2, 1);
      } else if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
      }
      execve(probe, (char **)argv->pdata, envp);
      fprintf(stderr, "ccsim-probe: cannot start %s: %s\n", probe, strerror(errno));
      _exit(127);
    }
    if (logfd >= 0) close(logfd);
    g_strfreev(envp);
    g_ptr_array_free(argv, TRUE);
    if (pid < 0) {
      g_set_error(err, PLATFORM_ERROR, 1, "cannot start the probe: %s", g_strerror(errno));
      kill_group(pgid, procs, nodes);
      goto out;
    }
    procs[i].pid = pid;
    if (i == 0) pgid = pid;
    setpgid(pid, pgid); /* also from here: whichever runs first */
  }

  /* Wait for all nodes; the first failure or the deadline ends the whole group. */
  double deadline = mono_now() + timeout + 10.0;
  int remaining = nodes;
  while (remaining > 0) {
    gboolean progressed = FALSE;
    for (int i = 0; i < nodes; i++) {
      if (procs[i].done) continue;
      pid_t w = waitpid(procs[i].pid, &procs[i].status, WNOHANG);
      if (w == procs[i].pid) {
        procs[i].done = TRUE;
        remaining--;
        progressed = TRUE;
        if (!WIFEXITED(procs[i].status) || WEXITSTATUS(procs[i].status) != 0) {
          kill_group(pgid, procs, nodes);
          char *msg = describe_failure(&procs[i], i, nccl);
          g_set_error(err, PLATFORM_ERROR, 1, "%s", msg);
          g_free(msg);
          goto out;
        }
      }
    }
    if (remaining > 0 && mono_now() > deadline) {
      kill_group(pgid, procs, nodes);
      char *excerpt = log_excerpt(procs[0].log);
      g_set_error(err, PLATFORM_ERROR, 1,
                  "NCCL on the virtual platform did not finish within %.0f s (%d node(s) still running; killed)%s", timeout,
                  remaining, excerpt);
      g_free(excerpt);
      goto out;
    }
    if (!progressed) g_usleep(10000);
  }
  /* Stray grandchildren (there should be none) go with the group. */
  kill(-pgid, SIGKILL);

  {
    const char **paths = g_new0(const char *, nodes);
    for (int i = 0; i < nodes; i++) paths[i] = procs[i].out;
    struct capture_data cd;
    GError *ce = NULL;
    int r = capture_json_read(paths, nodes, &cd, &ce);
    g_free(paths);
    if (r != 0) {
      g_set_error(err, PLATFORM_ERROR, 1, "NCCL ran but its capture is unusable: %s", ce->message);
      g_error_free(ce);
      goto out;
    }
    out->comm = cd.comm;
    out->decisions = cd.decisions;
    out->ndecisions = cd.ndecisions;
    out->nccl_version = cd.nccl_version;
  }
  rc = 0;
out:
  if (getenv("CCSIM_KEEP_CAPTURE")) {
    fprintf(stderr, "ccsim: capture files kept in %s\n", tmpdir);
  } else {
    remove_tree(tmpdir);
  }
  for (int i = 0; i < nodes; i++) {
    g_free(procs[i].log);
    g_free(procs[i].out);
  }
  g_free(procs);
  g_free(tbuf);
  g_free(id_file);
  g_free(sizes);
  g_free(tmpdir);
  g_free(lib);
  g_free(probe);
  return rc;
}

void platform_result_free(struct platform_result *r) {
  if (!r) return;
  comm_info_free(&r->comm);
  g_free(r->decisions);
  r->decisions = NULL;
  r->ndecisions = 0;
}
