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
static int64_t origin;      /* real time at start: model-mode time starts there */
static int64_t realtime_minus_mono; /* CLOCK_REALTIME - CLOCK_MONOTONIC at start */
static _Thread_local int depth;
/* Model mode: each thread that drives GPUs (it was charged host time or waited) has its own time line, so
 * threads driving one GPU each enqueue in parallel, as on the real machine, and their clocks do not depend
 * on how the real threads interleave; g_max is the latest of all of them. A thread that drives nothing (a
 * main thread waiting for workers) reads g_max, so it sees the time the work took. */
static _Thread_local int64_t t_local;
static _Thread_local bool t_local_set, drives;
static int64_t g_max;

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
    real_clock_gettime(CLOCK_REALTIME, &ts);
    realtime_minus_mono = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - origin;
  }
  const char *o = getenv("CCSIM_ORIGIN_NS"); /* multi-node runs: every process's clock starts here */
  if (o && *o) origin = atoll(o);
  g_max = origin;
}

/* This thread's model-mode time; caller holds the lock. */
static int64_t *local_locked(void) {
  if (!t_local_set) {
    t_local = g_max;
    t_local_set = true;
  }
  return &t_local;
}

static void publish_locked(void) {
  drives = true;
  if (t_local > g_max) g_max = t_local;
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
  int64_t ex = excluded + (inside > 0 ? now - inside_since : 0);
  return added - ex;
}

int64_t vclock_now_ns(void) {
  int64_t now = vclock_real_ns();
  if (!active) return now;
  pthread_mutex_lock(&lock);
  int64_t g = host_real ? now + offset_locked(now) : *local_locked();
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
  if (host_real) {
    added += ns;
  } else {
    *local_locked() += ns;
    publish_locked();
  }
  pthread_mutex_unlock(&lock);
}

void vclock_advance_to(int64_t t) {
  if (!vclock_active()) return;
  int64_t now = real_of(CLOCK_MONOTONIC);
  pthread_mutex_lock(&lock);
  if (host_real) {
    int64_t g = now + offset_locked(now);
    if (t > g) added += t - g;
  } else {
    int64_t *l = local_locked();
    if (t > *l) *l = t;
    publish_locked();
  }
  pthread_mutex_unlock(&lock);
}

/* Virtual monotonic time as a clock read by this thread sees it (model mode: no real time in it at all, so
 * readings are deterministic). */
static int64_t read_virtual(void) {
  int64_t now = real_of(CLOCK_MONOTONIC);
  pthread_mutex_lock(&lock);
  int64_t v;
  if (host_real) {
    v = now + offset_locked(now);
  } else {
    int64_t *l = local_locked();
    if (!drives && g_max > *l) *l = g_max;
    v = *l;
  }
  pthread_mutex_unlock(&lock);
  return v;
}

static bool realtime_clock(clockid_t id) { return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE; }

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
  int64_t t = read_virtual() + (realtime_clock(id) ? realtime_minus_mono : 0);
  ts->tv_sec = t / 1000000000;
  ts->tv_nsec = t % 1000000000;
  return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
  pthread_once(&once, init);
  if (!real_gettimeofday) return -1;
  int rc = real_gettimeofday(tv, tz);
  if (rc != 0 || !active) return rc;
  int64_t t = (read_virtual() + realtime_minus_mono) / 1000;
  tv->tv_sec = t / 1000000;
  tv->tv_usec = t % 1000000;
  return 0;
}
