/* simtime_remote.h — the link from one process of a multi-node `ccsim run` (one process per virtual node)
 * to the coordinator inside `ccsim run`, which times collectives whose ranks live in several processes.
 * Internal to libhacknccl.so. Protocol (text lines over the Unix socket CCSIM_RUN_COORD): see
 * sim/run_coord.h.
 */
#ifndef CCSIM_INTERCEPT_SIMTIME_REMOTE_H
#define CCSIM_INTERCEPT_SIMTIME_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

/* Whether a coordinator was given (CCSIM_RUN_COORD); connects on first use. */
bool simtime_remote_enabled(void);
/* Sends one line (without the newline). False when the coordinator cannot be reached. */
bool simtime_remote_send(const char *line);
/* Called by the receiver thread for each "T key start end" answer (implemented in simtime.c). */
void simtime_remote_resolved(const char *key, int64_t start_ns, int64_t end_ns);

#endif
