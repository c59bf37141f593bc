/* poll_yield.c — cooperative socket polling for NCCL's threads on an oversubscribed host.
 *
 * NCCL waits for bootstrap and proxy messages by calling recv() on non-blocking sockets in a tight loop:
 * on real hardware every such thread has a core of its own. On the virtual platform all ranks of a node,
 * and their proxy threads, share the few cores of the simulating machine, so a thread spinning on an
 * empty socket burns the time slice the peer needs to send the message it waits for (an 8-GPU init spent
 * most of its CPU time in empty recv calls). When recv finds nothing to read, this interposer gives the
 * core away (sched_yield) before returning EAGAIN, so the waiting costs nothing and the answer comes
 * sooner. NCCL's listening sockets are polled the same way with accept(). Blocking sockets and successful
 * calls are untouched. Active only when the library is preloaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);
static recv_fn real_recv;
static accept_fn real_accept;
static accept4_fn real_accept4;

/* After a non-blocking call found nothing: let the peer run, keep errno. */
static void yield_if_empty(long rc) {
  if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    int saved = errno;
    sched_yield();
    errno = saved;
  }
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  if (!real_recv) real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
  ssize_t n = real_recv(fd, buf, len, flags);
  yield_if_empty((long)n);
  return n;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  if (!real_accept) real_accept = (accept_fn)dlsym(RTLD_NEXT, "accept");
  int rc = real_accept(fd, addr, len);
  yield_if_empty(rc);
  return rc;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  if (!real_accept4) real_accept4 = (accept4_fn)dlsym(RTLD_NEXT, "accept4");
  int rc = real_accept4(fd, addr, len, flags);
  yield_if_empty(rc);
  return rc;
}
