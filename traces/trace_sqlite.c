/* trace_sqlite.c — JSON-lines run trace -> SQLite (see trace_sqlite.h). Owns nothing beyond one conversion. */
#include "trace_sqlite.h"

#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#define TRACE_SQLITE_ERROR g_quark_from_static_string("ccsim-trace-sqlite-error")

/* Columns of each table, in the order of the record's fields (docs/trace-format.md). Fields a record lacks
 * are NULL; nested values (a kernel's task list) are stored as JSON text. */
struct table { const char *type; const char *const *cols; };
static const char *const header_cols[] = {"format", "version", "pid", "topo", NULL};
static const char *const comm_cols[] = {"t_ns", "thread", "comm_ordinal", "rank", "nranks", "device", "rc", NULL};
static const char *const group_cols[] = {"t_ns", "thread", "grp", NULL};
static const char *const call_cols[] = {"t_ns", "thread", "func", "comm_ordinal", "comm", "rank", "nranks", "device",
                                        "count", "datatype", "redop", "root", "peer", "stream", "sendbuff", "recvbuff",
                                        "grp", "rc", "seq", "algo", "proto", "nwarps", "nchannels", "instance", "start_ns",
                                        "end_ns", NULL};
static const char *const kernel_cols[] = {"comm", "rank", "nranks", "device", "stream", "thread", "instance", "tasks",
                                          "model_op", "model_algo", "model_proto", "model_nchannels", "bytes",
                                          "launch_ns", "start_ns", "end_ns", "unmodelled", NULL};
static const struct table tables[] = {
  {"header", header_cols},      {"comm_init", comm_cols},  {"comm_destroy", comm_cols}, {"comm_abort", comm_cols},
  {"group_start", group_cols},  {"group_end", group_cols}, {"call", call_cols},         {"kernel", kernel_cols},
};

/* JSON field name for a column ("group" is an SQL keyword, stored as grp). */
static const char *field_of(const char *col) { return strcmp(col, "grp") ? col : "group"; }

static int exec(sqlite3 *db, const char *sql, GError **err) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    g_set_error(err, TRACE_SQLITE_ERROR, 1, "sqlite: %s", msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

long trace_jsonl_to_sqlite(const char *jsonl_path, const char *db_path, GError **err) {
  FILE *in = fopen(jsonl_path, "r");
  if (!in) {
    g_set_error(err, TRACE_SQLITE_ERROR, 1, "cannot read trace %s", jsonl_path);
    return -1;
  }
  remove(db_path);
  sqlite3 *db = NULL;
  if (sqlite3_open(db_path, &db) != SQLITE_OK) {
    g_set_error(err, TRACE_SQLITE_ERROR, 1, "cannot create %s: %s", db_path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
    fclose(in);
    return -1;
  }
  long n = -1, lineno = 0;
  sqlite3_stmt *ins[G_N_ELEMENTS(tables)] = {0};
  if (exec(db, "BEGIN", err)) goto out;
  for (size_t t = 0; t < G_N_ELEMENTS(tables); t++) {
    GString *c = g_string_new(NULL), *q = g_string_new(NULL);
    g_string_printf(c, "CREATE TABLE %s (line INTEGER", tables[t].type);
    g_string_printf(q, "INSERT INTO %s VALUES (?", tables[t].type);
    for (int k = 0; tables[t].cols[k]; k++) {
      g_string_append_printf(c, ", %s", tables[t].cols[k]);
      g_string_append(q, ", ?");
    }
    g_string_append(c, ")");
    g_string_append(q, ")");
    int rc = exec(db, c->str, err);
    if (!rc && sqlite3_prepare_v2(db, q->str, -1, &ins[t], NULL) != SQLITE_OK) {
      g_set_error(err, TRACE_SQLITE_ERROR, 1, "sqlite: %s", sqlite3_errmsg(db));
      rc = -1;
    }
    g_string_free(c, TRUE);
    g_string_free(q, TRUE);
    if (rc) goto out;
  }
  char *line = NULL;
  size_t cap = 0;
  long count = 0;
  while (getline(&line, &cap, in) > 0) {
    lineno++;
    cJSON *o = cJSON_Parse(line);
    const cJSON *type = o ? cJSON_GetObjectItemCaseSensitive(o, "type") : NULL;
    if (!cJSON_IsString(type)) {
      g_set_error(err, TRACE_SQLITE_ERROR, 1, "%s:%ld: not a trace record", jsonl_path, lineno);
      cJSON_Delete(o);
      free(line);
      goto out;
    }
    for (size_t t = 0; t < G_N_ELEMENTS(tables); t++) {
      if (strcmp(type->valuestring, tables[t].type)) continue;
      sqlite3_stmt *s = ins[t];
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, lineno);
      for (int k = 0; tables[t].cols[k]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field_of(tables[t].cols[k]));
        if (cJSON_IsNumber(v)) {
          if (v->valuedouble == (double)(sqlite3_int64)v->valuedouble) sqlite3_bind_int64(s, k + 2, (sqlite3_int64)v->valuedouble);
          else sqlite3_bind_double(s, k + 2, v->valuedouble);
        } else if (cJSON_IsString(v)) {
          sqlite3_bind_text(s, k + 2, v->valuestring, -1, SQLITE_TRANSIENT);
        } else if (v && !cJSON_IsNull(v)) {
          char *txt = cJSON_PrintUnformatted(v);
          sqlite3_bind_text(s, k + 2, txt, -1, SQLITE_TRANSIENT);
          cJSON_free(txt);
        } else {
          sqlite3_bind_null(s, k + 2);
        }
      }
      if (sqlite3_step(s) != SQLITE_DONE) {
        g_set_error(err, TRACE_SQLITE_ERROR, 1, "sqlite: %s", sqlite3_errmsg(db));
        cJSON_Delete(o);
        free(line);
        goto out;
      }
      count++;
    }
    cJSON_Delete(o);
  }
  free(line);
  if (exec(db, "COMMIT", err)) goto out;
  n = count;
out:
  for (size_t t = 0; t < G_N_ELEMENTS(tables); t++) sqlite3_finalize(ins[t]);
  sqlite3_close(db);
  fclose(in);
  return n;
}
