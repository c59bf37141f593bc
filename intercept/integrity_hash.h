/* integrity_hash.h — the driver's answer to the CUDA runtime's integrity check (private table D4082055).
 *
 * The runtime asks the driver to prove it is genuine: mode 0 and 1 answers are constants, mode 2 is an
 * HMAC over MD2 (RFC 1319, RFC 2104) of a 48-byte header and one 28-byte record per device. The
 * message layout and key are documented publicly by the ZLUDA project; see docs/virtual-platform.md.
 */
#ifndef CCSIM_INTERCEPT_INTEGRITY_HASH_H
#define CCSIM_INTERCEPT_INTEGRITY_HASH_H

#include <stddef.h>
#include <stdint.h>

void md2_digest(const uint8_t *msg, size_t len, uint8_t out[16]);

struct integrity_device {
  uint8_t uuid[16];
  uint32_t pci_domain, pci_bus, pci_device;
};

struct integrity_input {
  uint32_t driver_version;  /* what cuDriverGetVersion reports */
  uint32_t version;         /* the call's version argument (runtime version ×10 + mode digit) */
  uint32_t pid;
  uint32_t tid;             /* low 32 bits of pthread_self() of the calling thread */
  uint64_t cudart_table;    /* address of the 6BD5FB6C table as handed out */
  uint64_t integrity_table; /* address of the D4082055 table as handed out */
  uint64_t integrity_fn;    /* the value stored in its slot 1 */
  uint64_t timestamp;       /* the call's UNIX-seconds argument */
  int ndevices;
  const struct integrity_device *devices;
};

/* The 16 result bytes for the input's mode (version % 10: 0, 1 or 2). */
void integrity_answer(const struct integrity_input *in, uint8_t out[16]);

/* Checks MD2 and the HMAC against published test vectors. 0 when all pass; otherwise the number of
 * the first failing check, and *what names it. */
int integrity_selftest(const char **what);

#endif
