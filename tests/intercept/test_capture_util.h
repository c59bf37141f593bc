/* test_capture_util.h — helpers shared by the capture tests: run a ccsim command with a time limit and
 * collect its exit status and output; skip (exit 77) where the NCCL library is absent. */
#ifndef CCSIM_TEST_CAPTURE_UTIL_H
#define CCSIM_TEST_CAPTURE_UTIL_H

#include <glib.h>

#define TEST_SKIP 77

struct run_result {
  int exited;    /* 1 if it exited normally */
  int status;    /* exit status, or the signal */
  char *out, *err;
};

/* Runs argv (NULL-terminated) with extra environment entries "K=V" (NULL-terminated, may be NULL), killing
 * it after limit_s seconds (then status = -1). */
void run_cmd(char **argv, char **extra_env, double limit_s, struct run_result *r);
void run_result_free(struct run_result *r);
/* Exits 77 with a message when the NCCL library at path does not exist. */
void skip_without_nccl(const char *path);

#endif
