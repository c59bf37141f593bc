/* vclock.c — the process's virtual clock and the interposed host clocks (see vclock.h). Owns the clock
 * state: the real time excluded while threads are inside ccsim's calls and the virtual time added. */
#include "vclock.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);

static clock_gettime_fn real_clock_gettime;
static gettimeofday_fn real_gettimeofday;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool active;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int inside;          /* threads inside excluded calls */
static int64_t inside_since; /* real time the current excluded stretch began */
static int64_t excluded;    /* real time of finished excluded stretches */
static int64_t added;       /* modelled host time and waits */
static bool host_real;      /* CCSIM_HOST_TIME=real: the program's own host time counts */
static int64_t origin;      /* real time at start (CCSIM_HOST_TIME=model) */
static _Thread_local int depth;

static void init(void) {
  real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
  real_gettimeofday = (gettimeofday_fn)dlsym(RTLD_NEXT, "gettimeofday");
  const char *e = getenv("CCSIM_RUN");
  active = e && strcmp(e, "1") == 0 && real_clock_gettime;
  const char *h = getenv("CCSIM_HOST_TIME");
  host_real = h && strcmp(h, "real") == 0;
  if (real_clock_gettime) {
    struct timespec ts;
    real_clock_gettime(CLOCK_MONOTONIC, &ts);
    origin = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
}

bool vclock_active(void) {
  pthread_once(&once, init);
  return active;
}

static int64_t real_of(clockid_t id) {
  struct timespec ts;
  if (real_clock_gettime) real_clock_gettime(id, &ts);
  else clock_gettime(id, &ts); /* only before init: never interposed then */
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t vclock_real_ns(void) {
  pthread_once(&once, init);
  return real_of(CLOCK_MONOTONIC);
}

/* G - real monotonic time at real time `now`; caller holds the lock. */
static int64_t offset_locked(int64_t now) {
  if (!host_real) return origin + added - now; /* only modelled costs and waits move the clock */
  int64_t ex = excluded + (inside > 0 ? now - inside_since : 0);
  return added - ex;
}

int64_t vclock_now_ns(void) {
  int64_t now = vclock_real_ns();
  if (!active) return now;
  pthread_mutex_lock(&lock);
  int64_t g = now + offset_locked(now);
  pthread_mutex_unlock(&lock);
  return g;
}

void vclock_enter(void) {
  if (!vclock_active() || depth++ > 0) return;
  int64_t now = real_of(CLOCK_MONOTONIC);
  pthread_mutex_lock(&lock);
  if (inside++ == 0) inside_since = now;
  pthread_mutex_unlock(&lock);
}

void vclock_leave(void) {
  if (!active || depth == 0 || --depth > 0) return;
  int64_t now = real_of(CLOCK_MONOTONIC);
  pthread_mutex_lock(&lock);
  if (--inside == 0) excluded += now - inside_since;
  pthread_mutex_unlock(&lock);
}

void vclock_charge_ns(int64_t ns) {
  if (!vclock_active() || ns <= 0) return;
  pthread_mutex_lock(&lock);
  added += ns;
  pthread_mutex_unlock(&lock);
}

void vclock_advance_to(int64_t t) {
  if (!vclock_active()) return;
  int64_t now = real_of(CLOCK_MONOTONIC);
  pthread_mutex_lock(&lock);
  int64_t g = now + offset_locked(now);
  if (t > g) added += t - g;
  pthread_mutex_unlock(&lock);
}

static int64_t offset_now(void) {
  int64_t now = real_of(CLOCK_MONOTONIC);
  pthread_mutex_lock(&lock);
  int64_t off = offset_locked(now);
  pthread_mutex_unlock(&lock);
  return off;
}

static bool shifted_clock(clockid_t id) {
  return id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_RAW || id == CLOCK_MONOTONIC_COARSE ||
         id == CLOCK_BOOTTIME || id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE;
}

/* Interposed C library clocks: the program (and NCCL) see the virtual clock. */
int clock_gettime(clockid_t id, struct timespec *ts) {
  pthread_once(&once, init);
  if (!real_clock_gettime) return -1;
  int rc = real_clock_gettime(id, ts);
  if (rc != 0 || !active || !shifted_clock(id)) return rc;
  int64_t t = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + offset_now();
  ts->tv_sec = t / 1000000000;
  ts->tv_nsec = t % 1000000000;
  return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
  pthread_once(&once, init);
  if (!real_gettimeofday) return -1;
  int rc = real_gettimeofday(tv, tz);
  if (rc != 0 || !active) return rc;
  int64_t t = (int64_t)tv->tv_sec * 1000000 + tv->tv_usec + offset_now() / 1000;
  tv->tv_sec = t / 1000000;
  tv->tv_usec = t % 1000000;
  return 0;
}
