/* test_capture_util.c — process running for the capture tests (see test_capture_util.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_capture_util.h"

static char *slurp_fd(int fd) {
  GString *s = g_string_new(NULL);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) g_string_append_len(s, buf, n);
  return g_string_free(s, FALSE);
}

void run_cmd(char **argv, char **extra_env, double limit_s, struct run_result *r) {
  memset(r, 0, sizeof(*r));
  char out_tmpl[] = "/tmp/ccsim-test-out-XXXXXX", err_tmpl[] = "/tmp/ccsim-test-err-XXXXXX";
  int ofd = mkstemp(out_tmpl), efd = mkstemp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  gchar **env = g_get_environ();
  for (int i = 0; extra_env && extra_env[i]; i++) {
    char *eq = strchr(extra_env[i], '=');
    char *k = g_strndup(extra_env[i], eq - extra_env[i]);
    env = g_environ_setenv(env, k, eq + 1, TRUE);
    g_free(k);
  }
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(ofd, 1);
    dup2(efd, 2);
    execve(argv[0], argv, env);
    _exit(127);
  }
  g_strfreev(env);
  int st = 0;
  gint64 deadline = g_get_monotonic_time() + (gint64)(limit_s * 1e6);
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (g_get_monotonic_time() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r->status = -1;
      break;
    }
    g_usleep(20000);
  }
  if (r->status != -1) {
    r->exited = WIFEXITED(st);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
  }
  lseek(ofd, 0, SEEK_SET);
  lseek(efd, 0, SEEK_SET);
  r->out = slurp_fd(ofd);
  r->err = slurp_fd(efd);
  close(ofd);
  close(efd);
}

void run_result_free(struct run_result *r) {
  g_free(r->out);
  g_free(r->err);
}

void skip_without_nccl(const char *path) {
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    printf("SKIP: the NCCL library %s is not installed; these tests run the real NCCL\n", path);
    exit(TEST_SKIP);
  }
}
