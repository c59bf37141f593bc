/* trace_sqlite.h — the run trace (JSON lines, docs/trace-format.md) as an SQLite database: one table per
 * record type with a column per field, for queries over a run.
 */
#ifndef CCSIM_TRACES_TRACE_SQLITE_H
#define CCSIM_TRACES_TRACE_SQLITE_H

#include <glib.h>

/* Converts the JSON-lines trace at jsonl_path into a new database at db_path (replaced if present).
 * Returns the number of records, or -1 with err set (naming the file and line of a malformed record). */
long trace_jsonl_to_sqlite(const char *jsonl_path, const char *db_path, GError **err);

#endif
