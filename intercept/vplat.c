/* vplat.c — builds the virtual machine from the topology XML and the CCSIM_* environment, points NCCL
 * at the topology (NCCL_TOPO_FILE), and writes/removes the filtered XML copy CCSIM_GPUS needs. */
#include "vplat.h"
#include "gpu_parts.h"

#include <dlfcn.h>
#include <errno.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hack_log.h"
#include "platform_hooks.h"

static struct vplat plat;
static pthread_once_t plat_once = PTHREAD_ONCE_INIT;
static pid_t filtered_owner;
static char self_path[PATH_MAX];

const char *hack_self_path(void) {
  if (!self_path[0]) {
    Dl_info info;
    if (dladdr((void *)&hack_self_path, &info) && info.dli_fname) {
      if (!realpath(info.dli_fname, self_path)) g_strlcpy(self_path, info.dli_fname, sizeof self_path);
    }
  }
  return self_path;
}

int hack_node_count(void) { return vplat_get()->nodes; }
int hack_node_index(void) { return vplat_get()->node; }
const struct topo_system *hack_topology(void) { return vplat_get()->ok ? vplat_get()->sys : NULL; }
int hack_gpu_count(void) { return vplat_get()->ngpus; }

/* Reads a non-negative integer variable; -1 when unset, -2 when malformed. */
static int env_int(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) return -1;
  char *end;
  long x = strtol(v, &end, 10);
  if (*end || x < 0 || x > INT_MAX) return -2;
  return (int)x;
}

/* Marketing name and memory size of common parts by PCI device id, so logs look like the real machine. */
static void describe(struct vgpu *g) {
  const struct topo_gpu_part *part = topo_gpu_part(g->pci_device);
  if (part) {
    g_strlcpy(g->name, part->name, sizeof g->name);
    g->total_mem = (size_t)part->mem_gib << 30;
    return;
  }
  snprintf(g->name, sizeof g->name, "NVIDIA virtual GPU sm_%d%d", g->cc_major, g->cc_minor);
  g->total_mem = (size_t)80 << 30;
}

static int sm_count_for(int sm) {
  switch (sm / 10) {
  case 7: return 80;
  case 8: return sm == 89 ? 142 : 108;
  case 9: return 132;
  case 10: return 148;
  default: return 132;
  }
}

static int parse_busid(const char *s, struct vgpu *g) {
  unsigned d, b, dv, f;
  if (sscanf(s, "%x:%x:%x.%x", &d, &b, &dv, &f) != 4) return -1;
  g->domain = d;
  g->bus = b;
  g->device = dv;
  g->function = f;
  /* NCCL turns the id into an integer and back, so present the canonical lower-case spelling. */
  snprintf(g->busid, sizeof g->busid, "%04x:%02x:%02x.%x", d, b, dv, f);
  return 0;
}

/* Writes a copy of the topology with every GPU after the first `keep` removed (its PCI subtree), so
 * NCCL's topology holds exactly the presented GPUs. Returns the temp path or NULL with plat.error set. */
static char *write_filtered(const char *path, int keep) {
  xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
  if (!doc) {
    snprintf(plat.error, sizeof plat.error, "cannot parse %s to restrict it to %d GPUs", path, keep);
    return NULL;
  }
  GPtrArray *gpus = g_ptr_array_new();
  GPtrArray *stack = g_ptr_array_new();
  g_ptr_array_add(stack, xmlDocGetRootElement(doc));
  /* Document order, depth first, matching the order topo/ numbers GPUs in. */
  while (stack->len) {
    xmlNodePtr n = g_ptr_array_steal_index(stack, stack->len - 1);
    if (!n) continue;
    if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST "gpu")) g_ptr_array_add(gpus, n);
    GPtrArray *kids = g_ptr_array_new();
    for (xmlNodePtr c = n->children; c; c = c->next)
      if (c->type == XML_ELEMENT_NODE) g_ptr_array_add(kids, c);
    for (guint i = kids->len; i-- > 0;) g_ptr_array_add(stack, kids->pdata[i]);
    g_ptr_array_free(kids, TRUE);
  }
  for (guint i = (guint)keep; i < gpus->len; i++) {
    xmlNodePtr gpu = gpus->pdata[i];
    xmlNodePtr victim = gpu->parent && !xmlStrcmp(gpu->parent->name, BAD_CAST "pci") ? gpu->parent : gpu;
    xmlUnlinkNode(victim);
    xmlFreeNode(victim);
  }
  g_ptr_array_free(gpus, TRUE);
  g_ptr_array_free(stack, TRUE);

  GError *err = NULL;
  char *tmp = NULL;
  int fd = g_file_open_tmp("ccsim-topo-XXXXXX.xml", &tmp, &err);
  if (fd < 0) {
    snprintf(plat.error, sizeof plat.error, "cannot create a temporary topology file: %s", err->message);
    g_error_free(err);
    xmlFreeDoc(doc);
    return NULL;
  }
  close(fd);
  /* NCCL's XML reader does not accept an <?xml ...?> declaration. */
  xmlSaveCtxtPtr save = xmlSaveToFilename(tmp, NULL, XML_SAVE_NO_DECL | XML_SAVE_FORMAT);
  long written = save ? xmlSaveDoc(save, doc) : -1;
  if (save && xmlSaveClose(save) < 0) written = -1;
  if (written < 0) {
    snprintf(plat.error, sizeof plat.error, "cannot write %s", tmp);
    unlink(tmp);
    g_free(tmp);
    tmp = NULL;
  }
  xmlFreeDoc(doc);
  return tmp;
}

/* CUDA_VISIBLE_DEVICES as the real driver reads it: indices (or GPU-<uuid> prefixes, as NVML prints them)
 * up to the first invalid entry; NVML keeps seeing every GPU of the node. */
static int set_cuda_devices(void) {
  const char *v = getenv("CUDA_VISIBLE_DEVICES");
  if (!v) {
    plat.ncuda = plat.ngpus;
    for (int i = 0; i < plat.ngpus; i++) plat.cuda_gpu[i] = i;
    return 0;
  }
  plat.ncuda = 0;
  gchar **items = g_strsplit(v, ",", -1);
  for (gchar **it = items; *it && plat.ncuda < VPLAT_MAX_GPUS; it++) {
    char *item = g_strstrip(*it);
    int found = -1;
    if (g_ascii_isdigit(item[0])) {
      char *end;
      long x = strtol(item, &end, 10);
      if (!*end && x < plat.ngpus) found = (int)x;
    } else if (g_str_has_prefix(item, "GPU-") && strlen(item) > 4) {
      for (int i = 0; i < plat.ngpus && found < 0; i++) {
        char uuid[64];
        const uint8_t *u = plat.gpus[i].uuid;
        snprintf(uuid, sizeof uuid, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        if (g_str_has_prefix(uuid, item)) found = i;
      }
    }
    if (found < 0) break;
    for (int j = 0; j < plat.ncuda; j++)
      if (plat.cuda_gpu[j] == found) found = -1;
    if (found < 0) break;
    plat.cuda_gpu[plat.ncuda++] = found;
  }
  g_strfreev(items);
  if (plat.ncuda == 0) {
    snprintf(plat.error, sizeof plat.error, "CUDA_VISIBLE_DEVICES=%s selects none of the %d virtual GPUs", v,
             plat.ngpus);
    return -1;
  }
  return 0;
}

/* A destructor rather than atexit: it also runs if the library is ever unloaded before exit. Forked
 * children inherit the path but not the ownership. */
__attribute__((destructor)) static void remove_filtered(void) {
  if (plat.filtered_path && getpid() == filtered_owner) unlink(plat.filtered_path);
}

static void setup(void) {
  hack_log_init();
  hack_self_path();
  plat.nodes = 1;
  plat.node = 0;
  int v = env_int("CCSIM_NODES");
  if (v == -2 || v == 0) {
    snprintf(plat.error, sizeof plat.error, "CCSIM_NODES=%s is not a positive integer", getenv("CCSIM_NODES"));
    return;
  }
  if (v > 0) plat.nodes = v;
  v = env_int("CCSIM_NODE");
  if (v == -2 || v >= plat.nodes) {
    snprintf(plat.error, sizeof plat.error, "CCSIM_NODE=%s is not a node index below CCSIM_NODES=%d",
             getenv("CCSIM_NODE"), plat.nodes);
    return;
  }
  if (v > 0) plat.node = v;
  int want = env_int("CCSIM_GPUS");
  if (want == -2 || want == 0) {
    snprintf(plat.error, sizeof plat.error, "CCSIM_GPUS=%s is not a positive integer", getenv("CCSIM_GPUS"));
    return;
  }

  const char *user_topo = getenv("NCCL_TOPO_FILE");
  plat.topo_path = getenv("CCSIM_TOPO");
  if (!plat.topo_path || !*plat.topo_path) plat.topo_path = (user_topo && *user_topo) ? user_topo : NULL;
  if (!plat.topo_path) {
    snprintf(plat.error, sizeof plat.error,
             "no topology: set CCSIM_TOPO to an NCCL topology XML describing one node");
    return;
  }
  GError *err = NULL;
  plat.sys = topo_load(plat.topo_path, &err);
  if (!plat.sys) {
    snprintf(plat.error, sizeof plat.error, "cannot load topology %s: %s", plat.topo_path,
             err ? err->message : "unknown error");
    if (err) g_error_free(err);
    return;
  }
  int have = plat.sys->gpus_per_node > 0 ? plat.sys->gpus_per_node : plat.sys->ngpus;
  if (have <= 0) {
    snprintf(plat.error, sizeof plat.error, "topology %s has no GPUs", plat.topo_path);
    return;
  }
  if (want > have) {
    snprintf(plat.error, sizeof plat.error, "CCSIM_GPUS=%d but topology %s has only %d GPUs per node", want,
             plat.topo_path, have);
    return;
  }
  int n = want > 0 ? want : have;
  if (n > VPLAT_MAX_GPUS) {
    snprintf(plat.error, sizeof plat.error,
             "topology %s has %d GPUs per node; NCCL handles at most %d per process (set CCSIM_GPUS)",
             plat.topo_path, n, VPLAT_MAX_GPUS);
    return;
  }
  for (int i = 0; i < n; i++) {
    const struct topo_gpu *t = &plat.sys->gpus[i];
    struct vgpu *g = &plat.gpus[i];
    g->ordinal = i;
    g->topo = t;
    if (parse_busid(t->pci.busid, g)) {
      snprintf(plat.error, sizeof plat.error, "topology %s: GPU %d has an unreadable busid '%s'", plat.topo_path, i,
               t->pci.busid);
      return;
    }
    g->pci_vendor = t->pci.vendor ? t->pci.vendor : 0x10de;
    g->pci_device = t->pci.device;
    g->subsys_vendor = t->pci.subsystem_vendor;
    g->subsys_device = t->pci.subsystem_device;
    int sm = t->sm > 0 ? t->sm : 90;
    g->cc_major = sm / 10;
    g->cc_minor = sm % 10;
    g->sm_count = sm_count_for(sm);
    g->numa = 0;
    if (t->cpu >= 0 && t->cpu < plat.sys->ncpus)
      g->numa = plat.sys->cpus[t->cpu].numaid >= 0 ? plat.sys->cpus[t->cpu].numaid : t->cpu;
    /* Stable, distinct per node and GPU: feeds the runtime's integrity hash and NVML. */
    memset(g->uuid, 0, sizeof g->uuid);
    g->uuid[0] = 0x42;
    g->uuid[1] = 0xcc;
    g->uuid[12] = (uint8_t)(plat.node >> 8);
    g->uuid[13] = (uint8_t)plat.node;
    g->uuid[14] = (uint8_t)(i >> 8);
    g->uuid[15] = (uint8_t)i;
    describe(g);
  }
  plat.ngpus = n;
  if (set_cuda_devices()) {
    plat.ngpus = 0;
    return;
  }

  /* NCCL reads NCCL_TOPO_FILE when it builds its topology, long after this constructor ran. */
  if (!user_topo || !*user_topo) {
    const char *nccl_topo = plat.topo_path;
    if (n < have) {
      plat.filtered_path = write_filtered(plat.topo_path, n);
      if (!plat.filtered_path) {
        plat.ngpus = 0;
        return;
      }
      filtered_owner = getpid();
      nccl_topo = plat.filtered_path;
    }
    setenv("NCCL_TOPO_FILE", nccl_topo, 1);
  } else if (n < have && strcmp(user_topo, plat.topo_path) == 0) {
    hack_warn("CCSIM_GPUS=%d but NCCL_TOPO_FILE is set by the user: NCCL drops the unused GPUs itself", n);
  }
  plat.ok = 1;
  hack_dbg(1, "virtual node %d/%d: %d GPUs from %s (NCCL_TOPO_FILE=%s)", plat.node, plat.nodes, plat.ngpus,
           plat.topo_path, getenv("NCCL_TOPO_FILE"));
}

void vplat_init(void) { pthread_once(&plat_once, setup); }

const struct vplat *vplat_require(void) {
  pthread_once(&plat_once, setup);
  if (!plat.ok) hack_err_once("vplat", "no virtual GPUs: %s", plat.error);
  return &plat;
}

const struct vplat *vplat_get(void) {
  pthread_once(&plat_once, setup);
  return &plat;
}
