/* timeline.c — Chrome trace event JSON writer (see timeline.h). Owns the output file. */
#include "timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* The track of whole calls: a process id no rank uses, named once at open. */
#define TIMELINE_CALLS_PID 1000000

struct timeline {
  FILE *f;
  char *path;
  int first;
};

G_DEFINE_QUARK(ccsim-timeline-error-quark, timeline_error)

struct timeline *timeline_open(const char *path, GError **err) {
  FILE *f = fopen(path, "w");
  if (!f) {
    g_set_error(err, timeline_error_quark(), 1, "cannot write timeline %s: %s", path, strerror(errno));
    return NULL;
  }
  struct timeline *t = g_new0(struct timeline, 1);
  t->f = f;
  t->path = g_strdup(path);
  t->first = 1;
  fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", f);
  timeline_name_rank(t, TIMELINE_CALLS_PID, "calls");
  return t;
}

static void sep(struct timeline *t) {
  if (!t->first) fputs(",\n", t->f);
  t->first = 0;
}

void timeline_name_rank(struct timeline *t, int rank, const char *name) {
  sep(t);
  fprintf(t->f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"%s\"}}", rank,
          name);
}

/* Trace timestamps are µs; print picoseconds exactly as µs with 6 decimals. */
static void us(FILE *f, uint64_t ps) { fprintf(f, "%" PRIu64 ".%06" PRIu64, ps / 1000000, ps % 1000000); }

void timeline_call(struct timeline *t, const char *label, uint64_t start_ps, uint64_t end_ps) {
  sep(t);
  fprintf(t->f, "{\"name\":\"%s\",\"cat\":\"call\",\"ph\":\"X\",\"pid\":%d,\"tid\":0,\"ts\":", label, TIMELINE_CALLS_PID);
  us(t->f, start_ps);
  fputs(",\"dur\":", t->f);
  us(t->f, end_ps - start_ps);
  fputs("}", t->f);
}

void timeline_op(struct timeline *t, const struct op *op, uint64_t ready_ps, uint64_t data_ps, uint64_t end_ps) {
  static const char *proto[] = {"LL", "LL128", "SIMPLE"};
  sep(t);
  fprintf(t->f, "{\"name\":\"%s %d->%d\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":",
          op_kind_name((enum op_kind)op->kind), op->rank_src, op->rank_dst, op->protocol < 3 ? proto[op->protocol] : "?",
          op->rank_src, op->channel);
  us(t->f, ready_ps);
  fputs(",\"dur\":", t->f);
  us(t->f, end_ps - ready_ps);
  fprintf(t->f, ",\"args\":{\"op\":%u,\"step\":%d,\"payload\":%" PRIu64 ",\"wire\":%" PRIu64 ",\"data_start_us\":",
          op->id, op->step, op->payload_bytes, op->wire_bytes);
  us(t->f, data_ps);
  fputs("}}", t->f);
}

int timeline_close(struct timeline *t, GError **err) {
  if (!t) return 0;
  fputs("\n]}\n", t->f);
  int bad = ferror(t->f);
  if (fclose(t->f) != 0) bad = 1;
  if (bad) g_set_error(err, timeline_error_quark(), 1, "error writing timeline %s", t->path);
  g_free(t->path);
  g_free(t);
  return bad ? -1 : 0;
}
