/* simtime_internal.h — what simtime.c and the NCCL API wrappers (simtime_nccl.c) share inside
 * libhacknccl.so (not a public interface). */
#ifndef CCSIM_INTERCEPT_SIMTIME_INTERNAL_H
#define CCSIM_INTERCEPT_SIMTIME_INTERNAL_H

#include <stdbool.h>
#include <glib.h>
#include "trace_jsonl.h"

/* Appends one finished trace line (and frees it); dropped when no trace was asked for (CCSIM_TRACE). */
void simtime_trace_put(GString *line);
/* Whether this thread is inside an NCCL API call. */
bool simtime_in_nccl(void);
/* Whether this thread has ever called the NCCL API (NCCL's own threads never do). */
bool simtime_calls_nccl(void);
/* Small process-unique id of the calling thread (from 1). */
unsigned long long simtime_thread_id(void);

#endif
