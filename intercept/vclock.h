/* vclock.h — the virtual clock of a program run under `ccsim run`, and the host clocks it stands behind.
 *
 * One clock per process. Two modes (CCSIM_HOST_TIME):
 *   model (default): G = start + modelled host costs + waits for simulated GPU work. Only NCCL's enqueue
 *     (priced by the network model, whose host costs were fitted to whole benchmark loops on the real
 *     machine) and waiting on the GPU move the clock; the program's own host code takes no time. Runs are
 *     deterministic. Each thread that drives GPUs keeps its own time line (threads enqueue in parallel);
 *     other threads read the latest time of any thread.
 *   real: G = real time - time spent inside ccsim's own calls (NCCL API calls, driver synchronisation) +
 *     modelled host costs + waits: the program's own host code counts at this machine's speed.
 * Either way NCCL's enqueue costs what the model says it costs on the real machine (not what it costs on
 * this fake), and waiting on the GPU moves the clock to the simulated completion time. clock_gettime (CLOCK_MONOTONIC, _RAW, _COARSE, BOOTTIME, REALTIME and
 * REALTIME_COARSE) and gettimeofday are interposed and report real time shifted by G's offset.
 *
 * Active only when CCSIM_RUN=1 (set by `ccsim run`); otherwise every clock is the real one and the
 * calls below are cheap no-ops (vclock_now_ns then returns real monotonic time).
 */
#ifndef CCSIM_INTERCEPT_VCLOCK_H
#define CCSIM_INTERCEPT_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

bool vclock_active(void);
/* Real CLOCK_MONOTONIC, nanoseconds (never interposed). */
int64_t vclock_real_ns(void);
/* Virtual monotonic time G, nanoseconds. */
int64_t vclock_now_ns(void);
/* Brackets a call whose real duration must not count (nested calls on one thread count once). */
void vclock_enter(void);
void vclock_leave(void);
/* The host spent `ns` of modelled time (e.g. NCCL's enqueue on the real machine). */
void vclock_charge_ns(int64_t ns);
/* The host waited until virtual time t (no effect if t is already past). */
void vclock_advance_to(int64_t t_ns);

#endif
