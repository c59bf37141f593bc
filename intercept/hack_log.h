/* hack_log.h — diagnostics of the virtual platform: always-on errors/warnings and CCSIM_DEBUG tracing.
 *
 * CCSIM_DEBUG unset or 0: only errors and warnings. 1: each unimplemented/not-found driver or NVML name
 * once, export-table requests, platform set-up. 2: also every kernel launch. Output goes to stderr with
 * the prefix "ccsim-platform:".
 */
#ifndef CCSIM_INTERCEPT_HACK_LOG_H
#define CCSIM_INTERCEPT_HACK_LOG_H

extern int hack_debug_level; /* parsed from CCSIM_DEBUG at load time */

void hack_log_init(void);
void hack_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hack_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define hack_dbg(level, ...) \
  do { if (hack_debug_level >= (level)) hack_dbg_print(__VA_ARGS__); } while (0)
void hack_dbg_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log "<what> <name>" once per distinct (what, name) pair when CCSIM_DEBUG >= 1. */
void hack_dbg_once(const char *what, const char *name);
/* Warn (or report an error) once per distinct key, whatever the debug level. */
void hack_warn_once(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hack_err_once(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
