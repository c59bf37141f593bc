/* trace_jsonl.c — JSON-lines trace writer (see trace_jsonl.h). Owns the open file and its lock. */
#include "trace_jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct trace_jsonl {
  FILE *f;
  GMutex lock;
};

struct trace_jsonl *trace_jsonl_open(const char *path, GError **err) {
  FILE *f = fopen(path, "w");
  if (!f) {
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot write trace %s: %s", path,
                g_strerror(errno));
    return NULL;
  }
  struct trace_jsonl *t = g_new0(struct trace_jsonl, 1);
  t->f = f;
  g_mutex_init(&t->lock);
  return t;
}

void trace_jsonl_put(struct trace_jsonl *t, GString *line) {
  if (!line) return;
  g_string_append_c(line, '}');
  if (t) {
    g_mutex_lock(&t->lock);
    fputs(line->str, t->f);
    fputc('\n', t->f);
    g_mutex_unlock(&t->lock);
  }
  g_string_free(line, TRUE);
}

void trace_jsonl_close(struct trace_jsonl *t) {
  if (!t) return;
  fclose(t->f);
  g_mutex_clear(&t->lock);
  g_free(t);
}

static void add_key(GString *s, const char *key) {
  g_string_append_printf(s, ",\"%s\":", key);
}

static void add_json_string(GString *s, const char *v) {
  g_string_append_c(s, '"');
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if (*p == '"' || *p == '\\') g_string_append_printf(s, "\\%c", *p);
    else if (*p < 0x20) g_string_append_printf(s, "\\u%04x", *p);
    else g_string_append_c(s, (char)*p);
  }
  g_string_append_c(s, '"');
}

GString *trace_line_new(const char *type) {
  GString *s = g_string_new("{\"type\":");
  add_json_string(s, type);
  return s;
}

void trace_add_int(GString *s, const char *key, long long v) {
  add_key(s, key);
  g_string_append_printf(s, "%lld", v);
}

void trace_add_uint(GString *s, const char *key, unsigned long long v) {
  add_key(s, key);
  g_string_append_printf(s, "%llu", v);
}

void trace_add_hex(GString *s, const char *key, unsigned long long v) {
  add_key(s, key);
  g_string_append_printf(s, "\"0x%llx\"", v);
}

void trace_add_str(GString *s, const char *key, const char *v) {
  add_key(s, key);
  if (v) add_json_string(s, v);
  else g_string_append(s, "null");
}

void trace_add_double(GString *s, const char *key, double v) {
  add_key(s, key);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.9g", v));
}

void trace_add_raw(GString *s, const char *key, const char *json) {
  add_key(s, key);
  g_string_append(s, json);
}
