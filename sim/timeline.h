/* timeline.h — Chrome trace event JSON (opens in Perfetto / chrome://tracing).
 *
 * One process per rank, one thread per channel; each op is a complete ("X") event from the moment
 * its dependencies were met to the moment its data arrived, with the data phase as its arguments.
 */
#ifndef CCSIM_SIM_TIMELINE_H
#define CCSIM_SIM_TIMELINE_H

#include <stdint.h>
#include <stdio.h>
#include <glib.h>
#include "oplist.h"

struct timeline;

struct timeline *timeline_open(const char *path, GError **err);
/* Names process `rank` (once per rank). */
void timeline_name_rank(struct timeline *t, int rank, const char *name);
/* A labelled span on the "calls" track (its own process): one simulated call. */
void timeline_call(struct timeline *t, const char *label, uint64_t start_ps, uint64_t end_ps);
void timeline_op(struct timeline *t, const struct op *op, uint64_t ready_ps, uint64_t data_ps, uint64_t end_ps);
/* Finishes the JSON and closes the file; 0 or -1 with err when writing failed. */
int timeline_close(struct timeline *t, GError **err);

#endif
