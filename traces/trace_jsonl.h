/* trace_jsonl.h — writer of ccsim's run trace as JSON lines (one object per line; schema in
 * docs/trace-format.md), and the helpers that build one line. Thread-safe: lines from several threads
 * never interleave. Used inside libhacknccl.so while a program runs under `ccsim run`.
 */
#ifndef CCSIM_TRACES_TRACE_JSONL_H
#define CCSIM_TRACES_TRACE_JSONL_H

#include <stdint.h>
#include <glib.h>

#define TRACE_FORMAT_VERSION 1

struct trace_jsonl;

/* Opens (truncates) path; NULL with err set when it cannot be written. */
struct trace_jsonl *trace_jsonl_open(const char *path, GError **err);
/* Appends one finished line (an object built with the helpers below) and frees it. */
void trace_jsonl_put(struct trace_jsonl *t, GString *line);
void trace_jsonl_close(struct trace_jsonl *t);

/* Line building: begin with the record type, add fields, then put. */
GString *trace_line_new(const char *type);
void trace_add_int(GString *s, const char *key, long long v);
void trace_add_uint(GString *s, const char *key, unsigned long long v);
void trace_add_hex(GString *s, const char *key, unsigned long long v); /* "0x..." string: ids, pointers */
void trace_add_str(GString *s, const char *key, const char *v);         /* NULL: null */
void trace_add_double(GString *s, const char *key, double v);
void trace_add_raw(GString *s, const char *key, const char *json);     /* already-valid JSON value */

#endif
