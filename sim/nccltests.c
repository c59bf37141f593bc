/* nccltests.c — nccl-tests table writer and measured-log reader (see nccltests.h). */
#include "nccltests.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ccsim-nccltests-error-quark, nt_error)

double nt_busbw_factor(enum comm_op op, int n) {
  switch (op) {
  case OP_ALL_REDUCE: return n > 0 ? 2.0 * (n - 1) / n : 0;
  case OP_ALL_GATHER:
  case OP_REDUCE_SCATTER:
  case OP_ALLTOALL: return n > 0 ? (double)(n - 1) / n : 0;
  default: return 1.0;
  }
}

void nt_size_count(enum comm_op op, size_t bytes, int nranks, int type_size, size_t *count, size_t *size) {
  size_t ts = type_size > 0 ? (size_t)type_size : 4;
  if (op == OP_ALL_GATHER || op == OP_REDUCE_SCATTER || op == OP_ALLTOALL) {
    /* nccl-tests keeps each rank's part a multiple of 16 bytes (8-32 byte all_gather on 4 ranks print 0) */
    size_t per = bytes / (size_t)(nranks > 0 ? nranks : 1) / 16 * 16 / ts;
    *count = per;
    *size = per * ts * (size_t)nranks;
  } else {
    *count = bytes / ts;
    *size = *count * ts;
  }
}

const char *nt_redop(enum comm_op op) {
  return comm_op_reduces(op) || op == OP_SENDRECV ? "sum" : "none";
}

int nt_root(enum comm_op op) { return op == OP_BROADCAST || op == OP_REDUCE ? 0 : -1; }

const char *nt_test_name(enum comm_op op) {
  static const char *names[OP_COUNT] = {"all_reduce_perf", "all_gather_perf", "reduce_scatter_perf",
                                        "broadcast_perf",  "reduce_perf",     "alltoall_perf",
                                        "sendrecv_perf"};
  return op >= 0 && op < OP_COUNT ? names[op] : "unknown_perf";
}

void nt_print_header(FILE *f, const struct nt_header *h) {
  fprintf(f, "# nccl-tests version 2.19.6 (ccsim %s simulation)\n", CCSIM_VERSION);
  fprintf(f, "# Collective test starting: %s\n", nt_test_name(h->op));
  fprintf(f,
          "# nThread 1 nGpus %d minBytes %zu maxBytes %zu step: %d(factor) warmup iters: %d iters: %d agg iters: 1 "
          "validation: 0 graph: %d unalign: 0\n",
          h->gpus_per_thread > 0 ? h->gpus_per_thread : h->nranks, h->min_bytes, h->max_bytes, h->step_factor,
          h->warmup_iters, h->iters, h->graph_launches);
  fprintf(f, "#\n# Using devices\n");
  for (int r = 0; r < h->nranks; r++)
    fprintf(f, "#  Rank %2d Group  0 Pid %6d on %10s %s\n", r, 0, "ccsim",
            h->rank_desc && h->rank_desc[r] ? h->rank_desc[r] : "simulated GPU");
  fprintf(f, "#\n");
  fprintf(f, "#                                                              out-of-place                       "
             "in-place          \n");
  fprintf(f, "#       size         count      type   redop    root     time   algbw   busbw  #wrong     time   "
             "algbw   busbw  #wrong \n");
  fprintf(f, "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)             (us)  "
             "(GB/s)  (GB/s)         \n");
}

static void fmt_time(char *buf, size_t n, double us) {
  if (us < 10000.0) snprintf(buf, n, "%7.2f", us);
  else if (us < 100000.0) snprintf(buf, n, "%7.1f", us);
  else snprintf(buf, n, "%7.0f", us);
}

void nt_print_row(FILE *f, enum comm_op op, int nranks, size_t size, size_t count, const char *type,
                  const char *redop, int root, double t_oop, double t_ip) {
  double factor = nt_busbw_factor(op, nranks);
  const char *op_redop = nt_redop(op);
  fprintf(f, "%12zu  %12zu  %8s  %6s  %6d", size, count, type ? type : "float",
          strcmp(op_redop, "none") && redop ? redop : op_redop, nt_root(op) < 0 ? -1 : root);
  double t[2] = {t_oop, t_ip};
  for (int i = 0; i < 2; i++) {
    char ts[32];
    fmt_time(ts, sizeof ts, t[i]);
    double algbw = t[i] > 0 ? (double)size / 1e3 / t[i] : 0; /* bytes/µs /1e3 = GB/s */
    fprintf(f, "  %7s  %6.2f  %6.2f  %5s", ts, algbw, algbw * factor, "N/A");
  }
  fputc('\n', f);
}

void nt_print_footer(FILE *f, enum comm_op op, double avg_busbw) {
  fprintf(f, "# Out of bounds values : 0 OK\n");
  fprintf(f, "# Avg bus bandwidth    : %g \n", avg_busbw);
  fprintf(f, "#\n# Collective test concluded: %s\n#\n\n", nt_test_name(op));
}

/* ---- reading ---- */

/* Start of an NCCL log message inside a line ("host:pid:tid [dev] NCCL INFO ..."), or NULL. */
static const char *nccl_msg_start(const char *line) {
  const char *p = line;
  while ((p = strstr(p, " NCCL ")) != NULL) {
    /* Walk back over "[dev]" and "host:pid:tid". */
    const char *q = p;
    if (q > line && q[-1] == ']') {
      q--;
      while (q > line && q[-1] != '[') q--;
      if (q > line) q--; /* at '[' */
      while (q > line && q[-1] == ' ') q--;
      const char *end = q;
      while (q > line && !isspace((unsigned char)q[-1])) q--;
      /* host:pid:tid must hold two ':' */
      int colons = 0;
      for (const char *c = q; c < end; c++) colons += *c == ':';
      if (colons >= 2) {
        /* The host name may be glued to the previous table column ("-1vm:921:921"): the prefix starts
         * after the last digit run that belongs to the table, i.e. at the first letter. */
        const char *h = q;
        if (!strncmp(h, "N/A", 3)) h += 3;
        else
          while (h < end && (isdigit((unsigned char)*h) || *h == '-' || *h == '.')) h++;
        if (h < end && *h != ':') return h;
        return q;
      }
    }
    p += 6;
  }
  return NULL;
}

static int parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || s[0] == '-') return -1;
  *out = (size_t)v;
  return 0;
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}

static int op_from_test(const char *name) {
  char buf[64];
  g_strlcpy(buf, name, sizeof buf);
  char *suf = strstr(buf, "_perf");
  if (suf) *suf = 0;
  return comm_op_parse(buf);
}

/* Where a row's fields sit. nccl-tests' column set depends on its options: -I 1 adds four per-iteration
 * columns to each half, -S 1 appends a timestamp (two words), -C 1 renames "time" to "cputime". The
 * column-name line of the header says which; without one, the plain 13-column layout is assumed. */
struct nt_layout {
  int nwords;                /* words per row */
  int time[2], algbw[2], busbw[2];
  int timestamp;             /* rows end with a date and a time (-S 1) */
};

static void layout_plain(struct nt_layout *l) {
  *l = (struct nt_layout){.nwords = 13, .time = {5, 9}, .algbw = {6, 10}, .busbw = {7, 11}};
}

/* The column-name line ("#  size  count  type  redop  root  time  algbw  busbw  #wrong ..."), after the
 * '#'. Returns 0 and fills *l (and the log's flags) when the line is one, -1 otherwise. */
static int layout_from_names(const char *names, struct nt_layout *l, struct nt_log *log) {
  char **w = g_strsplit_set(names, " \t", -1);
  int n = 0, halves = 0, ts = 0, iter = 0, cpu = 0;
  struct nt_layout x = {0};
  for (int k = 0; w[k]; k++) {
    if (!w[k][0]) continue;
    if (n == 0 && strcmp(w[k], "size")) break;
    if (n == 1 && strcmp(w[k], "count")) break;
    if (!strcmp(w[k], "time") || !strcmp(w[k], "cputime")) {
      if (halves < 2) {
        x.time[halves] = n; x.algbw[halves] = n + 1; x.busbw[halves] = n + 2;
      }
      halves++;
      cpu |= !strcmp(w[k], "cputime");
    }
    if (!strcmp(w[k], "i_min")) iter = 1;
    if (!strcmp(w[k], "timestamp")) ts = 1;
    n++;
  }
  g_strfreev(w);
  if (halves != 2 || n < 13) return -1;
  x.nwords = n + ts; /* the timestamp value is a date and a time */
  x.timestamp = ts;
  *l = x;
  log->cpu_time = cpu;
  log->per_iter = iter;
  return 0;
}

/* "... NCCL INFO NCCL_ALGO set by environment to Ring" (SUBSYS ENV): one of the measurement's settings,
 * added to env as "NCCL_ALGO=Ring" unless already there. Other lines are ignored. */
static void note_env_setting(const char *line, GPtrArray *env) {
  static const char marker[] = " set by environment to ";
  const char *at = strstr(line, marker);
  if (!at) return;
  const char *nm = at;
  while (nm > line && nm[-1] != ' ') nm--;
  const char *val = at + strlen(marker);
  size_t vl = strcspn(val, " \t\r");
  while (vl > 0 && val[vl - 1] == '.') vl--;
  if (!g_str_has_prefix(nm, "NCCL_") || vl == 0) return;
  char *entry = g_strdup_printf("%.*s=%.*s", (int)(at - nm), nm, (int)vl, val);
  for (guint k = 0; k < env->len; k++)
    if (!strcmp(g_ptr_array_index(env, k), entry)) {
      g_free(entry);
      return;
    }
  g_ptr_array_add(env, entry);
}

/* A rank line names the host its process ran on: "#  Rank  0 Group  0 Pid   1042 on   node17 device  0 [...]".
 * Ranks on one host share its NVLink domain; the count of hosts is the count of nodes. */
static void note_rank_host(const char *line, GHashTable *hosts) {
  const char *on = strstr(line, " on ");
  if (!on) return;
  on += 4;
  while (*on == ' ') on++;
  const char *end = on;
  while (*end && *end != ' ' && *end != '\t') end++;
  const char *next = end;
  while (*next == ' ') next++;
  if (end == on || !g_str_has_prefix(next, "device")) return;
  g_hash_table_add(hosts, g_strndup(on, (gsize)(end - on))); /* a repeated name replaces (and frees) the old key */
}

/* "... NCCL INFO 24 coll channels, 24 collnet channels, 0 nvls channels, 32 p2p channels, ..." (INIT): how many
 * NVLink SHARP channels the run had; 0 means NVLS was off or unsupported there. */
static void note_nvls_channels(const char *line, int *nvls) {
  const char *at = strstr(line, " nvls channels");
  if (!at) return;
  const char *num = at;
  while (num > line && g_ascii_isdigit(num[-1])) num--;
  if (num == at) return;
  int n = atoi(num);
  if (n > *nvls) *nvls = n;
}

/* A run whose NCCL set up no NVLS channels had NVLink SHARP off (disabled, or no multicast on that system),
 * whether or not the log shows the variable: record it as one of the run's settings, so that compare
 * applies it like the others (the virtual NVSwitch platform would otherwise offer NVLS). */
static void note_nvls_off(GPtrArray *env) {
  for (guint k = 0; k < env->len; k++)
    if (g_str_has_prefix(g_ptr_array_index(env, k), "NCCL_NVLS_ENABLE=")) return;
  g_ptr_array_add(env, g_strdup("NCCL_NVLS_ENABLE=0"));
}

int nt_parse_log(const char *text, const char *name, struct nt_log *out, GError **err) {
  memset(out, 0, sizeof *out);
  out->op = -1;
  out->nvls_channels = -1;
  out->agg_iters = 1;
  out->rows = g_array_new(FALSE, TRUE, sizeof(struct nt_row));
  out->env = g_ptr_array_new_with_free_func(g_free);
  int nthread = 0, ngpus = 0, rank_lines = 0;
  GHashTable *hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char **lines = g_strsplit(text, "\n", -1);
  GPtrArray *tok = g_ptr_array_new_with_free_func(g_free);
  int row_line = 0, in_table = 0;
  int rc = 0;
  struct nt_layout lay;
  layout_plain(&lay);
  for (int li = 0; lines[li]; li++) {
    char *line = lines[li];
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r') line[--len] = 0;
    note_env_setting(line, out->env);
    note_nvls_channels(line, &out->nvls_channels);
    const char *cut = nccl_msg_start(line);
    char *body = g_strndup(line, cut ? (size_t)(cut - line) : len);
    g_strstrip(body);
    if (body[0] == '#') {
      const char *s;
      if ((s = strstr(body, "Collective test starting:")) != NULL) {
        char nm[64] = "";
        if (sscanf(s, "Collective test starting: %63s", nm) == 1) out->op = op_from_test(nm);
      }
      if ((s = strstr(body, "nThread")) != NULL) {
        sscanf(s, "nThread %d nGpus %d", &nthread, &ngpus);
        if ((s = strstr(s, " graph:")) != NULL && sscanf(s, " graph: %d", &out->graph_launches) != 1)
          out->graph_launches = 0;
      }
      if ((s = strstr(body, "agg iters:")) != NULL && sscanf(s, "agg iters: %d", &out->agg_iters) != 1)
        out->agg_iters = 1;
      if (strstr(body, "Blocking Enabled"))
        out->blocking = strstr(body, "outer iteration") ? 3 : strstr(body, "no barrier") ? 2 : 1;
      if (g_str_has_prefix(body, "#  Rank") || g_str_has_prefix(body, "# Rank")) {
        rank_lines++;
        note_rank_host(body, hosts);
      }
      if (!in_table) layout_from_names(body + 1, &lay, out);
      if (strstr(body, "(B)") && strstr(body, "(elements)")) in_table = 1;
      if (strstr(body, "Out of bounds values") || strstr(body, "Avg bus bandwidth") ||
          strstr(body, "Collective test concluded"))
        in_table = 0; /* whatever follows the table (wrapper output) is not a row */
      if (tok->len) {
        g_set_error(err, NT_ERROR, 1, "%s:%d: table row cut short (%u of %d words) before a comment line", name,
                    row_line, tok->len, lay.nwords);
        rc = -1;
      }
      g_free(body);
      if (rc) break;
      continue;
    }
    if (!in_table || !body[0]) {
      g_free(body);
      continue;
    }
    char **w = g_strsplit_set(body, " \t", -1);
    for (int k = 0; w[k]; k++) {
      if (!w[k][0]) continue;
      if (!tok->len) row_line = li + 1;
      g_ptr_array_add(tok, g_strdup(w[k]));
      if ((int)tok->len == lay.nwords) {
        struct nt_row r;
        memset(&r, 0, sizeof r);
        r.line = row_line;
        char **t = (char **)tok->pdata;
        double root;
        int bad = parse_size(t[0], &r.size) || parse_size(t[1], &r.count) || parse_double(t[4], &root);
        for (int h = 0; h < 2 && !bad; h++)
          bad = parse_double(t[lay.time[h]], &r.time_us[h]) || parse_double(t[lay.algbw[h]], &r.algbw[h]) ||
                parse_double(t[lay.busbw[h]], &r.busbw[h]);
        /* strtod takes "nan" and "inf"; a time like that would turn every error figure into nan */
        int odd = -1;
        for (int h = 1; h >= 0 && !bad; h--)
          if (!isfinite(r.time_us[h]) || r.time_us[h] < 0) odd = h;
        if (odd >= 0) {
          g_set_error(err, NT_ERROR, 1, "%s:%d: %s time '%s' is not a finite, non-negative number of microseconds",
                      name, row_line, odd ? "in-place" : "out-of-place", t[lay.time[odd]]);
          rc = -1;
          break;
        }
        if (bad) {
          g_set_error(err, NT_ERROR, 1,
                      "%s:%d: not an nccl-tests row (expected %d words: size count type redop root, then time "
                      "algbw busbw #wrong%s for out-of-place and in-place%s): '%s %s %s %s %s %s ...'",
                      name, row_line, lay.nwords, out->per_iter ? " i_min i_max i_p99 i_cv%" : "",
                      lay.timestamp ? ", timestamp" : "", t[0], t[1], t[2], t[3], t[4], t[5]);
          rc = -1;
          break;
        }
        r.root = (int)root;
        g_strlcpy(r.type, t[2], sizeof r.type);
        g_strlcpy(r.redop, t[3], sizeof r.redop);
        g_array_append_val(out->rows, r);
        g_ptr_array_set_size(tok, 0);
      }
    }
    g_strfreev(w);
    g_free(body);
    if (rc) break;
  }
  if (!rc && tok->len) {
    g_set_error(err, NT_ERROR, 1, "%s:%d: last table row is incomplete (%u of %d words)", name, row_line, tok->len,
                lay.nwords);
    rc = -1;
  }
  if (!rc && out->rows->len == 0) {
    g_set_error(err, NT_ERROR, 1, "%s: no nccl-tests result rows found", name);
    rc = -1;
  }
  out->nranks = rank_lines ? rank_lines : nthread * ngpus;
  out->gpus_per_thread = ngpus;
  out->nhosts = (int)g_hash_table_size(hosts);
  if (out->nvls_channels == 0) note_nvls_off(out->env);
  g_hash_table_destroy(hosts);
  g_ptr_array_free(tok, TRUE);
  g_strfreev(lines);
  if (rc) nt_log_free(out);
  return rc;
}

int nt_load_log(const char *path, struct nt_log *out, GError **err) {
  char *text = NULL;
  GError *e = NULL;
  if (!g_file_get_contents(path, &text, NULL, &e)) {
    g_set_error(err, NT_ERROR, 1, "cannot read %s: %s", path, e->message);
    g_error_free(e);
    return -1;
  }
  int rc = nt_parse_log(text, path, out, err);
  g_free(text);
  return rc;
}

void nt_log_free(struct nt_log *l) {
  if (l->rows) g_array_free(l->rows, TRUE);
  if (l->env) g_ptr_array_free(l->env, TRUE);
  l->rows = NULL;
  l->env = NULL;
}
