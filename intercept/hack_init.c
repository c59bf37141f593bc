/* hack_init.c — loading libhacknccl.so: the load-time self-test and set-up (constructor), and the dlopen
 * interposer that makes NCCL's dlopen("libcuda.so.1") / dlopen("libnvidia-ml.so.1") return this library,
 * and lets the plugin code in this library take NCCL's plugin dlopens (platform_hooks.h). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hack_log.h"
#include "integrity_hash.h"
#include "platform_hooks.h"
#include "vplat.h"

typedef void *(*dlopen_fn)(const char *, int);
static dlopen_fn real_dlopen;

static int is_driver_library(const char *base) {
  static const char *const names[] = {"libcuda.so.1", "libcuda.so", "libnvidia-ml.so.1", "libnvidia-ml.so"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(base, names[i]) == 0) return 1;
  return 0;
}

/* Interposes the C library's dlopen when this library is preloaded (LD_PRELOAD); otherwise (found
 * through the libcuda.so.1 symlink on LD_LIBRARY_PATH) NCCL's dlopens never come here and the symlinks
 * do the same job. */
void *dlopen(const char *file, int mode) {
  if (!real_dlopen) real_dlopen = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
  if (file) {
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    if (is_driver_library(base)) {
      hack_dbg(1, "dlopen(%s) -> %s", file, hack_self_path());
      return real_dlopen(hack_self_path(), mode);
    }
    if (strncmp(base, "libnccl-", 8) == 0 && hack_plugin_dlopen_redirect) {
      const char *to = hack_plugin_dlopen_redirect(file);
      if (to) {
        hack_dbg(1, "dlopen(%s) -> %s", file, to);
        return real_dlopen(to, mode);
      }
    }
  }
  return real_dlopen(file, mode);
}

__attribute__((constructor)) static void hack_load(void) {
  hack_log_init();
  const char *what = NULL;
  if (integrity_selftest(&what)) {
    hack_err("self-test of the CUDA runtime integrity hash failed (%s): this build of libhacknccl.so is broken",
             what);
    abort();
  }
  /* Every cuMem allocation is a memfd; an 8-GPU NCCL init holds well over a thousand. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  vplat_init();
}
