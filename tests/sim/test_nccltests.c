/* test_nccltests.c — the nccl-tests format: the log parser on every measured fixture (rows split by
 * interleaved NCCL INFO lines included), busbw factors checked against the measured columns, and the
 * row writer reproducing measured rows byte for byte.
 */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "nccltests.h"

static const char *data_dir;

struct expect {
  const char *file;
  int op, nranks;
  size_t size0, count0;      /* first row */
  double oop0, ip0;          /* its times */
};

/* First rows read by eye from the fixtures (the g4 all_reduce one is split by INFO lines: its
 * out-of-place columns continue on a later line than the size). */
static const struct expect expects[] = {
  {"h200x4/g4_all_reduce_default.log", OP_ALL_REDUCE, 4, 8, 2, 28.16, 28.34},
  {"h200x4/g2_all_reduce_default.log", OP_ALL_REDUCE, 2, 8, 2, 22.67, 22.20},
  {"h200x4/g3_all_reduce_default.log", OP_ALL_REDUCE, 3, 8, 2, 35.02, 30.27},
  {"h200x4/g2_sendrecv_default.log", OP_SENDRECV, 2, 8, 2, 14.58, 14.07},
  {"h200x4/g3_sendrecv_default.log", OP_SENDRECV, 3, 8, 2, 21.22, 22.35},
  {"h200x4/g4_sendrecv_default.log", OP_SENDRECV, 4, 8, 2, 41.59, 37.95},
  {"h200x4/g4_all_gather_default.log", OP_ALL_GATHER, 4, 0, 0, 1.33, 1.27},
  {"h200x4/g4_reduce_scatter_default.log", OP_REDUCE_SCATTER, 4, 0, 0, 0.90, 0.93},
  {"h200x4/g4_alltoall_default.log", OP_ALLTOALL, 4, 0, 0, 0.93, 0.89},
  {"h200x4/g4_broadcast_default.log", OP_BROADCAST, 4, 8, 2, 44.11, 42.30},
  {"h200x4/g4_reduce_default.log", OP_REDUCE, 4, 8, 2, 32.34, 30.29},
};

/* A measured fixture (path under data_dir/measured), read without error. */
static void load_fixture(const char *file, struct nt_log *log) {
  char *path = g_build_filename(data_dir, "measured", file, NULL);
  GError *err = NULL;
  g_assert_cmpint(nt_load_log(path, log, &err), ==, 0);
  g_assert_no_error(err);
  g_free(path);
}

/* The -m (agg iters) of the header: 1 in the default sweeps, 8 in the grouped-launch fixture. */
static void test_agg_iters(void) {
  const char *files[] = {"h200x4/g4_all_reduce_default.log", "h200x4-launch/all_gather_agg1.log",
                         "h200x4-launch/all_gather_agg8.log"};
  const int want[] = {1, 1, 8};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    struct nt_log log;
    load_fixture(files[i], &log);
    g_assert_cmpint(log.agg_iters, ==, want[i]);
    g_assert_cmpuint(log.rows->len, ==, i == 0 ? 31 : 5); /* -b 8 -e 8G -f 2; -b 16M -e 4G -f 4 */
    nt_log_free(&log);
  }
}

/* The timing mode of the header: CUDA-graph replays (-G) and blocking loops (-z) measure other things
 * than calls issued back to back, so the reader must tell them apart. */
static void test_timing_modes(void) {
  const char *files[] = {"h200x4/g4_all_reduce_default.log", "h200x4-calibrate/all_reduce_graph.log",
                         "h200x2-blocking/sendrecv_graph.log", "h200x2-blocking/all_reduce_z3.log",
                         "h200x2-blocking/all_reduce_z2.log", "h200x2-periter/all_gather_z3.log"};
  const int want_graph[] = {0, 1, 1, 0, 0, 0};
  const int want_blocking[] = {0, 0, 0, 3, 2, 3};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    struct nt_log log;
    load_fixture(files[i], &log);
    g_assert_cmpint(log.graph_launches, ==, want_graph[i]);
    g_assert_cmpint(log.blocking, ==, want_blocking[i]);
    g_assert_cmpuint(log.rows->len, >, 0);
    nt_log_free(&log);
  }
}

static void test_parse_fixtures(void) {
  for (size_t i = 0; i < G_N_ELEMENTS(expects); i++) {
    const struct expect *e = &expects[i];
    char *path = g_build_filename(data_dir, "measured", e->file, NULL);
    struct nt_log log;
    GError *err = NULL;
    int rc = nt_load_log(path, &log, &err);
    g_assert_no_error(err);
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpint(log.op, ==, e->op);
    g_assert_cmpint(log.nranks, ==, e->nranks);
    g_assert_cmpint(log.nhosts, ==, 1); /* every rank line says "on vm": one node */
    /* -b 8 -e 8G -f 2: 31 rows, every one extracted */
    g_assert_cmpuint(log.rows->len, ==, 31);
    const struct nt_row *r0 = &g_array_index(log.rows, struct nt_row, 0);
    g_assert_cmpuint(r0->size, ==, e->size0);
    g_assert_cmpuint(r0->count, ==, e->count0);
    g_assert_cmpfloat_with_epsilon(r0->time_us[0], e->oop0, 1e-9);
    g_assert_cmpfloat_with_epsilon(r0->time_us[1], e->ip0, 1e-9);
    const struct nt_row *last = &g_array_index(log.rows, struct nt_row, 30);
    g_assert_cmpuint(last->size, ==, 8589934592ull);
    double factor = nt_busbw_factor(e->op, e->nranks);
    for (guint k = 0; k < log.rows->len; k++) {
      const struct nt_row *r = &g_array_index(log.rows, struct nt_row, k);
      /* sizes double from row to row once non-empty */
      if (k > 0 && r->size && g_array_index(log.rows, struct nt_row, k - 1).size)
        g_assert_cmpuint(r->size, ==, 2 * g_array_index(log.rows, struct nt_row, k - 1).size);
      /* nccl-tests' own algbw and busbw agree with size/time and our factor (2-decimal rounding) */
      for (int ip = 0; ip < 2; ip++) {
        double algbw = r->size / 1e3 / r->time_us[ip];
        g_assert_cmpfloat(fabs(algbw - r->algbw[ip]), <=, 0.005 + 0.002 * algbw);
        g_assert_cmpfloat(fabs(r->algbw[ip] * factor - r->busbw[ip]), <=, 0.011 + 0.002 * r->busbw[ip]);
      }
      /* the element count is what nt_size_count derives from the size */
      if (r->size) {
        size_t count, size;
        nt_size_count(e->op, r->size, e->nranks, 4, &count, &size);
        g_assert_cmpuint(count, ==, r->count);
        g_assert_cmpuint(size, ==, r->size);
      }
    }
    /* the settings the run reported (SUBSYS ENV / INIT): NVLS was off on that machine, and the logs
     * with INIT lines say NCCL set up no NVLS channels; the 2- and 3-GPU send/recv logs carry no INIT lines */
    g_assert_cmpint(log.nvls_channels, ==, e->op == OP_SENDRECV && e->nranks < 4 ? -1 : 0);
    if (i == 0) {
      gboolean nvls = FALSE;
      for (guint k = 0; k < log.env->len; k++) nvls |= !strcmp(g_ptr_array_index(log.env, k), "NCCL_NVLS_ENABLE=0");
      g_assert_true(nvls);
    }
    nt_log_free(&log);
    g_free(path);
  }
}

/* The 2.28.3 fixtures end with a wrapper's "exit 0" after the table: not a row. */
static void test_trailing_output(void) {
  char *path = g_build_filename(data_dir, "measured", "h200x4-nccl2283", "all_reduce_ch1.log", NULL);
  struct nt_log log;
  GError *err = NULL;
  g_assert_cmpint(nt_load_log(path, &log, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_cmpuint(log.rows->len, ==, 28); /* 8 B .. 1 GiB */
  nt_log_free(&log);
  g_free(path);
}

/* nccl-tests -I 1 adds i_min i_max i_p99 i_cv% to each half: a measured log with them (rows split by
 * INFO lines as usual) reads with the same times and bandwidths as the table shows. */
static void test_per_iter_columns(void) {
  char *path = g_build_filename(data_dir, "measured", "h200x4-periter", "all_gather_n20.log", NULL);
  struct nt_log log;
  GError *err = NULL;
  g_assert_cmpint(nt_load_log(path, &log, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_true(log.per_iter);
  g_assert_false(log.cpu_time);
  g_assert_cmpint(log.op, ==, OP_ALL_GATHER);
  g_assert_cmpuint(log.rows->len, ==, 9); /* -b 4M -e 1G -f 2 */
  const struct nt_row *r0 = &g_array_index(log.rows, struct nt_row, 0);
  g_assert_cmpuint(r0->size, ==, 4194304);
  g_assert_cmpfloat_with_epsilon(r0->time_us[0], 41.03, 1e-9);
  g_assert_cmpfloat_with_epsilon(r0->time_us[1], 40.40, 1e-9);
  for (guint k = 0; k < log.rows->len; k++) {
    const struct nt_row *r = &g_array_index(log.rows, struct nt_row, k);
    g_assert_cmpuint(r->size, ==, (size_t)4194304 << k);
    for (int ip = 0; ip < 2; ip++) /* the busbw column, not a per-iteration one, sits where busbw is read */
      g_assert_cmpfloat(fabs(r->algbw[ip] * 0.75 - r->busbw[ip]), <=, 0.011 + 0.002 * r->busbw[ip]);
  }
  nt_log_free(&log);
  g_free(path);
}

/* The column-name line decides the row layout: -S 1 appends a timestamp (a date and a time), -C 1
 * reports host time as "cputime" (flagged, so compare can refuse it). Header lines as nccl-tests prints
 * them; the rows are one measured row of h200x4/g2_sendrecv_default.log. */
static void test_header_variants(void) {
  const char *ts =
    "# Collective test starting: sendrecv_perf\n"
    "#       size         count      type   redop    root     time   algbw   busbw  #wrong     time   algbw   busbw  #wrong           timestamp\n"
    "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)          %Y-%m-%d %H:%M:%S\n"
    "           8             2     float     sum      -1    14.58    0.00    0.00    N/A    14.07    0.00    0.00    N/A  2026-11-21 19:02:04\n"
    "          16             4     float     sum      -1    14.43    0.00    0.00    N/A    14.20    0.00    0.00    N/A  2026-11-21 19:02:04\n";
  struct nt_log log;
  GError *err = NULL;
  g_assert_cmpint(nt_parse_log(ts, "ts.log", &log, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_cmpuint(log.rows->len, ==, 2);
  g_assert_cmpuint(g_array_index(log.rows, struct nt_row, 1).size, ==, 16);
  g_assert_cmpfloat(g_array_index(log.rows, struct nt_row, 1).time_us[1], ==, 14.20);
  g_assert_false(log.cpu_time);
  nt_log_free(&log);
  const char *cpu =
    "# Collective test starting: sendrecv_perf\n"
    "#       size         count      type   redop    root  cputime   algbw   busbw  #wrong  cputime   algbw   busbw  #wrong \n"
    "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)         \n"
    "           8             2     float     sum      -1    14.58    0.00    0.00    N/A    14.07    0.00    0.00    N/A\n";
  g_assert_cmpint(nt_parse_log(cpu, "cpu.log", &log, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_true(log.cpu_time);
  g_assert_cmpuint(log.rows->len, ==, 1);
  nt_log_free(&log);
}

/* An MPI run over two nodes lists each rank with its host; compare takes the host count as the node count.
 * Host names are free-form (dashes, digits) and padded to a column. */
static void test_rank_hosts(void) {
  GString *text = g_string_new("# nThread 1 nGpus 1 minBytes 8 maxBytes 8 step: 2(factor) warmup iters: 1 iters: 20 "
                               "agg iters: 1 validation: 1 graph: 0\n#\n# Using devices\n");
  for (int r = 0; r < 16; r++)
    g_string_append_printf(text, "#  Rank %2d Group  0 Pid %6d on %10s device  %d [0000:%02x:00] NVIDIA H200\n", r,
                           4000 + r, r < 8 ? "gpu-node-7" : "gpu-node-12", r % 8, 0x18 + r % 8);
  g_string_append(text, "#       size         count      type   redop    root     time   algbw   busbw #wrong     "
                        "time   algbw   busbw #wrong\n"
                        "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            "
                        "(us)  (GB/s)  (GB/s)\n"
                        "           8             2     float     sum      -1    31.02    0.00    0.00      0    "
                        "30.11    0.00    0.00      0\n");
  struct nt_log log;
  GError *err = NULL;
  g_assert_cmpint(nt_parse_log(text->str, "mpi.log", &log, &err), ==, 0);
  g_assert_no_error(err);
  g_assert_cmpint(log.nranks, ==, 16);
  g_assert_cmpint(log.nhosts, ==, 2);
  g_assert_cmpint(log.gpus_per_thread, ==, 1);
  nt_log_free(&log);
  g_string_free(text, TRUE);
}

static void test_bad_logs(void) {
  struct nt_log log;
  GError *err = NULL;
  const char *cut = "# Collective test starting: all_reduce_perf\n"
                    "#       size         count      type   redop    root     time   algbw   busbw  #wrong\n"
                    "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)\n"
                    "           8             2     float     sum      -1    28.16    0.00\n";
  g_assert_cmpint(nt_parse_log(cut, "cut.log", &log, &err), ==, -1);
  g_assert_nonnull(strstr(err->message, "cut.log:4"));
  g_clear_error(&err);
  g_assert_cmpint(nt_parse_log("hello\n", "empty.log", &log, &err), ==, -1);
  g_assert_nonnull(strstr(err->message, "no nccl-tests result rows"));
  g_clear_error(&err);
  const char *garbage = "#        (B)    (elements)\n 8 2 float sum -1 x 0 0 N/A 1 0 0 N/A\n";
  g_assert_cmpint(nt_parse_log(garbage, "g.log", &log, &err), ==, -1);
  g_assert_nonnull(strstr(err->message, "g.log:2"));
  g_clear_error(&err);
}

/* The writer reproduces measured rows byte for byte from their size and times. */
static void test_row_format(void) {
  struct {
    int op, n;
    size_t size, count;
    double t0, t1;
    const char *line;
  } rows[] = {
    {OP_SENDRECV, 4, 8, 2, 41.59, 37.95,
     "           8             2     float     sum      -1    41.59    0.00    0.00    N/A    37.95    0.00    0.00    N/A\n"},
    {OP_SENDRECV, 4, 8589934592ull, 2147483648ull, 23509.5, 23498.4,
     "  8589934592    2147483648     float     sum      -1  23509.5  365.38  365.38    N/A  23498.4  365.55  365.55    N/A\n"},
    {OP_ALLTOALL, 4, 268435456, 16777216, 639.71, 623.96,
     "   268435456      16777216     float    none      -1   639.71  419.62  314.72    N/A   623.96  430.21  322.66    N/A\n"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    nt_print_row(f, rows[i].op, rows[i].n, rows[i].size, rows[i].count, "float", NULL, 0, rows[i].t0, rows[i].t1);
    fclose(f);
    g_assert_cmpstr(buf, ==, rows[i].line);
    free(buf);
  }
}

static void test_factors(void) {
  g_assert_cmpfloat(nt_busbw_factor(OP_ALL_REDUCE, 4), ==, 1.5);
  g_assert_cmpfloat(nt_busbw_factor(OP_ALL_REDUCE, 8), ==, 1.75);
  g_assert_cmpfloat(nt_busbw_factor(OP_ALL_GATHER, 4), ==, 0.75);
  g_assert_cmpfloat(nt_busbw_factor(OP_REDUCE_SCATTER, 2), ==, 0.5);
  g_assert_cmpfloat(nt_busbw_factor(OP_ALLTOALL, 8), ==, 0.875);
  g_assert_cmpfloat(nt_busbw_factor(OP_BROADCAST, 8), ==, 1.0);
  g_assert_cmpfloat(nt_busbw_factor(OP_REDUCE, 8), ==, 1.0);
  g_assert_cmpfloat(nt_busbw_factor(OP_SENDRECV, 8), ==, 1.0);
  size_t count, size;
  nt_size_count(OP_ALL_GATHER, 100, 4, 4, &count, &size); /* 25 bytes per rank, kept to 16 */
  g_assert_cmpuint(count, ==, 4);
  g_assert_cmpuint(size, ==, 64);
  nt_size_count(OP_ALL_REDUCE, 100, 4, 4, &count, &size);
  g_assert_cmpuint(count, ==, 25);
  g_assert_cmpuint(size, ==, 100);
}

/* Header and footer: the lines tools key on. */
static void test_header_footer(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  struct nt_header h = {.op = OP_ALL_REDUCE, .nranks = 2, .min_bytes = 8, .max_bytes = 1024, .step_factor = 2,
                        .warmup_iters = 1, .iters = 20};
  nt_print_header(f, &h);
  nt_print_footer(f, OP_ALL_REDUCE, 12.5);
  fclose(f);
  g_assert_nonnull(strstr(buf, "# Collective test starting: all_reduce_perf\n"));
  g_assert_nonnull(strstr(buf, "# nThread 1 nGpus 2 minBytes 8 maxBytes 1024 step: 2(factor) warmup iters: 1 iters: 20"));
  g_assert_nonnull(strstr(buf, "#       size         count      type   redop    root     time   algbw   busbw  #wrong     time   algbw   busbw  #wrong \n"));
  g_assert_nonnull(strstr(buf, "# Avg bus bandwidth    : 12.5 \n"));
  g_assert_nonnull(strstr(buf, "# Collective test concluded: all_reduce_perf\n"));
  /* and the parser reads what the writer wrote */
  struct nt_log log;
  GError *err = NULL;
  GString *s = g_string_new(buf);
  char *row = NULL;
  size_t rl = 0;
  FILE *rf = open_memstream(&row, &rl);
  nt_print_row(rf, OP_ALL_REDUCE, 2, 1024, 256, "float", NULL, 0, 20.5, 21.25);
  fclose(rf);
  g_string_insert(s, strstr(s->str, "# Out of bounds") - s->str, row);
  g_assert_cmpint(nt_parse_log(s->str, "mem", &log, &err), ==, 0);
  g_assert_cmpint(log.op, ==, OP_ALL_REDUCE);
  g_assert_cmpint(log.nranks, ==, 2);
  g_assert_cmpuint(log.rows->len, ==, 1);
  g_assert_cmpfloat(g_array_index(log.rows, struct nt_row, 0).time_us[1], ==, 21.25);
  nt_log_free(&log);
  g_string_free(s, TRUE);
  free(row);
  free(buf);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  data_dir = g_getenv("CCSIM_TEST_DATA");
  if (!data_dir) data_dir = CCSIM_TEST_DATA;
  g_test_add_func("/nccltests/parse_fixtures", test_parse_fixtures);
  g_test_add_func("/nccltests/trailing_output", test_trailing_output);
  g_test_add_func("/nccltests/agg_iters", test_agg_iters);
  g_test_add_func("/nccltests/timing_modes", test_timing_modes);
  g_test_add_func("/nccltests/per_iter_columns", test_per_iter_columns);
  g_test_add_func("/nccltests/header_variants", test_header_variants);
  g_test_add_func("/nccltests/rank_hosts", test_rank_hosts);
  g_test_add_func("/nccltests/bad_logs", test_bad_logs);
  g_test_add_func("/nccltests/row_format", test_row_format);
  g_test_add_func("/nccltests/factors", test_factors);
  g_test_add_func("/nccltests/header_footer", test_header_footer);
  return g_test_run();
}
