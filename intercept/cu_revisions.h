/* cu_revisions.h — the driver ABI revision table (generated into cu_revisions.c from cudaTypedefs.h). */
#ifndef CCSIM_INTERCEPT_CU_REVISIONS_H
#define CCSIM_INTERCEPT_CU_REVISIONS_H

#include <stddef.h>

struct cu_revision {
  const char *name;    /* public name, e.g. "cuCtxGetDevice" */
  int version;         /* first CUDA version with this ABI, e.g. 13000 */
  const char *impl;    /* the symbol implementing it, e.g. "cuCtxGetDevice_v2" */
  void (*fn)(void);    /* that symbol in this library, or NULL when not implemented */
  void (*stub)(void);  /* names the call and fails with CUDA_ERROR_NOT_SUPPORTED (for unimplemented names) */
};

/* Called by every stub: reports the unimplemented entry point `name`; returns CUDA_ERROR_NOT_SUPPORTED. */
int cu_unimplemented(const char *name);

extern const struct cu_revision cu_revisions[];
extern const size_t cu_revision_count;

#endif
