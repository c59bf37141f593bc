/* hack_log.c — stderr diagnostics of the virtual platform, with once-only suppression per name. */
#include "hack_log.h"

#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int hack_debug_level = 0;

static pthread_mutex_t once_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *once_seen; /* "what\tname" -> present */

void hack_log_init(void) {
  const char *v = getenv("CCSIM_DEBUG");
  hack_debug_level = (v && *v) ? atoi(v) : 0;
  if (hack_debug_level < 0) hack_debug_level = 0;
}

static void vprint(const char *kind, const char *fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  /* One write per message so lines from NCCL's many threads do not interleave mid-line. */
  fprintf(stderr, "ccsim-platform: %s%s\n", kind, buf);
}

void hack_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("error: ", fmt, ap);
  va_end(ap);
}

void hack_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("warning: ", fmt, ap);
  va_end(ap);
}

void hack_dbg_print(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("", fmt, ap);
  va_end(ap);
}

/* TRUE the first time the key is seen. */
static gboolean first_time(char *key) {
  gboolean fresh;
  pthread_mutex_lock(&once_lock);
  if (!once_seen) once_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  fresh = !g_hash_table_contains(once_seen, key);
  if (fresh) g_hash_table_add(once_seen, key);
  pthread_mutex_unlock(&once_lock);
  if (!fresh) g_free(key);
  return fresh;
}

void hack_dbg_once(const char *what, const char *name) {
  if (hack_debug_level < 1) return;
  if (first_time(g_strdup_printf("%s\t%s", what, name ? name : "(null)")))
    hack_dbg_print("%s %s", what, name ? name : "(null)");
}

void hack_warn_once(const char *key, const char *fmt, ...) {
  if (!first_time(g_strdup_printf("warn\t%s", key))) return;
  va_list ap;
  va_start(ap, fmt);
  vprint("warning: ", fmt, ap);
  va_end(ap);
}

void hack_err_once(const char *key, const char *fmt, ...) {
  if (!first_time(g_strdup_printf("err\t%s", key))) return;
  va_list ap;
  va_start(ap, fmt);
  vprint("error: ", fmt, ap);
  va_end(ap);
}
