/* simtime_remote.c — this process's connection to the `ccsim run` coordinator (see simtime_remote.h). Owns
 * the socket and the thread that reads the coordinator's answers. */
#include "simtime_remote.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hack_log.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static int fd = -1;

static void *reader(void *arg) {
  (void)arg;
  FILE *in = fdopen(dup(fd), "r");
  if (!in) return NULL;
  char line[512];
  while (fgets(line, sizeof line, in)) {
    char key[256];
    long long start, end;
    if (sscanf(line, "T %255s %lld %lld", key, &start, &end) == 3) simtime_remote_resolved(key, start, end);
  }
  fclose(in);
  return NULL;
}

static void connect_once(void) {
  const char *path = getenv("CCSIM_RUN_COORD");
  if (!path || !*path) return;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    hack_err("ccsim run: cannot reach the coordinator at %s: collectives across processes take no time", path);
    if (s >= 0) close(s);
    return;
  }
  fd = s;
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_create(&t, &at, reader, NULL);
  pthread_attr_destroy(&at);
}

bool simtime_remote_enabled(void) {
  const char *path = getenv("CCSIM_RUN_COORD");
  return path && *path;
}

bool simtime_remote_send(const char *line) {
  pthread_once(&once, connect_once);
  if (fd < 0) return false;
  pthread_mutex_lock(&send_lock);
  size_t n = strlen(line);
  bool ok = write(fd, line, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
  pthread_mutex_unlock(&send_lock);
  return ok;
}
