/* test_capture_json_fuzz.c — libFuzzer target for the capture JSON reader (algo/capture_json.c).
 * The input is one or more capture files separated by a line "--" (the reader merges nodes' files). */
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include "capture_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = g_strndup((const char *)data, size);
  gchar **parts = g_strsplit(text, "\n--\n", 4);
  int n = (int)g_strv_length(parts);
  if (n > 0) {
    const char *names[4] = {"node0.json", "node1.json", "node2.json", "node3.json"};
    struct capture_data d;
    GError *err = NULL;
    if (capture_json_parse((const char *const *)parts, names, n, &d, &err) == 0) capture_data_free(&d);
    g_clear_error(&err);
  }
  g_strfreev(parts);
  g_free(text);
  return 0;
}
