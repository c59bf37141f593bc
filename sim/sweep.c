/* sweep.c — size sweep: platform capture -> plan -> network model -> engine (see sweep.h). */
#include "sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nccltests.h"
#include "netmodel.h"
#include "plan.h"
#include "platform.h"
#include "simulate.h"
#include "timeline.h"
#include "topo.h"

/* Resolved at link time once the platform launcher is part of the program; until then the sweep says
 * so instead of inventing decisions. */
#pragma weak platform_capture
#pragma weak platform_result_free

#define SWEEP_ERROR g_quark_from_static_string("ccsim-sweep-error")

gboolean sweep_parse_size(const char *s, size_t *out) {
  char *end = NULL;
  errno = 0;
  if (!s || !*s || *s == '-') return FALSE;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return FALSE;
  unsigned long long mul = 1;
  if (*end) {
    switch (g_ascii_toupper(*end)) {
    case 'K': mul = 1ull << 10; break;
    case 'M': mul = 1ull << 20; break;
    case 'G': mul = 1ull << 30; break;
    case 'T': mul = 1ull << 40; break;
    case 'B': mul = 1; end--; break;
    default: return FALSE;
    }
    end++;
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return FALSE;
  }
  if (mul > 1 && v > ~0ull / mul) return FALSE;
  *out = (size_t)(v * mul);
  return TRUE;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int sweep_run(const struct sweep_request *req, struct sweep_result *out, GError **err) {
  memset(out, 0, sizeof *out);
  if (!platform_capture) {
    g_set_error(err, SWEEP_ERROR, 1, "this ccsim was built without the virtual GPU platform (intercept/): "
                "it cannot ask NCCL for its decisions");
    return -1;
  }
  int nodes = req->nodes > 0 ? req->nodes : 1;
  struct topo_system *sys = nodes > 1 ? topo_load_cluster(req->topo_path, nodes, NULL, err)
                                      : topo_load(req->topo_path, err);
  if (!sys) return -1;
  int rc = -1;
  struct platform_result pr;
  memset(&pr, 0, sizeof pr);
  struct netmodel_params *params = NULL;
  struct netmodel *model = NULL;
  struct timeline *tl = NULL;
  char *params_path = NULL;

  struct platform_request preq = {
    .topo_path = req->topo_path,
    .nodes = nodes,
    .gpus = req->gpus,
    .nccl_path = req->nccl_path,
    .op = req->op,
    .sizes = req->sizes,
    .nsizes = req->nsizes,
    .type_size = req->type_size > 0 ? req->type_size : 4,
    .dtype = req->dtype,
    .redop = req->redop,
    .root = req->root,
    .verbose = req->verbose,
  };
  char *bad = comm_names_problem(req->dtype, req->redop);
  if (bad) {
    g_set_error(err, SWEEP_ERROR, 1, "%s", bad);
    g_free(bad);
    goto out;
  }
  int dt = req->dtype ? comm_dtype_parse(req->dtype) : DTYPE_FLOAT;
  int rop = req->redop ? comm_redop_parse(req->redop) : REDOP_SUM;
  if (req->dtype) preq.type_size = comm_dtype_size((enum comm_dtype)dt);
  if ((dt == DTYPE_F8E4M3 || dt == DTYPE_F8E5M2) && sys->ngpus > 0 && sys->gpus[0].sm < 90 &&
      comm_op_reduces(req->op)) {
    /* NCCL refuses these calls with a bare "invalid argument" */
    g_set_error(err, SWEEP_ERROR, 1, "NCCL reduces %s only on sm_90 and newer GPUs; the GPUs of %s are sm_%d "
                "(use another element type, or a copy operation: all_gather, broadcast, alltoall, sendrecv)",
                req->dtype, req->topo_path, sys->gpus[0].sm);
    goto out;
  }
  int premul_sum = comm_redop_is_premul_sum((enum comm_redop)rop, (enum comm_dtype)dt);
  /* the parameters come from the topology alone: a bad file or a missing value is reported before NCCL runs */
  out->sm = sys->ngpus > 0 ? sys->gpus[0].sm : 90;
  if (req->params_path) params_path = g_strdup(req->params_path);
  else if (!(params_path = netmodel_params_find(out->sm, err))) goto out;
  if (!(params = netmodel_params_load(params_path, err))) goto out;
  out->params_name = g_strdup(params->name);
  if (req->graph && !(params->graph_call > 0)) {
    g_set_error(err, SWEEP_ERROR, 1, "%s gives no graph_call_us: calls replayed from a CUDA graph cannot be timed "
                "with these parameters", params_path);
    goto out;
  }
  if (req->progress) fprintf(stderr, "ccsim: running NCCL on %d virtual node(s) for %d sizes...\n", nodes, req->nsizes);
  if (platform_capture(&preq, &pr, err) != 0) goto out;
  if (pr.ndecisions != req->nsizes) {
    g_set_error(err, SWEEP_ERROR, 1, "the platform returned %d decisions for %d sizes", pr.ndecisions, req->nsizes);
    goto out;
  }
  out->nranks = pr.comm.nranks;
  out->nnodes = pr.comm.nnodes > 0 ? pr.comm.nnodes : nodes;
  out->nlocal = out->nranks / (out->nnodes > 0 ? out->nnodes : 1);
  if (out->nlocal < 1) out->nlocal = 1;
  if (req->gpus_per_thread > 0 && req->gpus_per_thread < out->nlocal) out->nlocal = req->gpus_per_thread;
  if (!(model = netmodel_new(params, sys, &pr.comm, err))) goto out;
  out->rank_desc = g_new0(char *, out->nranks + 1);
  for (int r = 0; r < out->nranks; r++) {
    int dev = pr.comm.rank_dev ? pr.comm.rank_dev[r] : r;
    int node = pr.comm.rank_node ? pr.comm.rank_node[r] : 0;
    const char *bus = "";
    for (int g = 0; g < sys->ngpus; g++)
      if (sys->gpus[g].dev == dev && g / (sys->gpus_per_node > 0 ? sys->gpus_per_node : 1) == node)
        bus = sys->gpus[g].pci.busid;
    out->rank_desc[r] = g_strdup_printf("node %d device %2d [%s] sm_%d (simulated)", node, dev, bus, out->sm);
  }
  if (req->timeline_path) {
    if (!(tl = timeline_open(req->timeline_path, err))) goto out;
    for (int r = 0; r < out->nranks; r++) {
      char *nm = g_strdup_printf("rank %d", r);
      timeline_name_rank(tl, r, nm);
      g_free(nm);
    }
  }
  uint64_t graph_host_ps = req->graph ? netmodel_graph_host_ps(model, out->nlocal) : 0;
  out->npoints = req->nsizes;
  out->points = g_new0(struct sweep_point, req->nsizes);
  uint64_t tl_off = 0;
  double t0 = now_s(), last_report = t0;
  for (int i = 0; i < req->nsizes; i++) {
    struct sweep_point *pt = &out->points[i];
    pt->decision = pr.decisions[i];
    pt->decision.premul_sum = premul_sum;
    nt_size_count(req->op, req->sizes[i], out->nranks, preq.type_size, &pt->count, &pt->size);
    if (pt->count == 0) continue; /* NCCL returns at once for an empty call: nothing to time */
    for (int ip = 0; ip < 2; ip++) {
      if (ip == 1 && !plan_in_place_differs(&pr.comm, &pt->decision)) {
        /* the same op list as out of place (plan_in_place_differs): the same time */
        pt->time_us[1] = pt->time_us[0];
        pt->device_us[1] = pt->device_us[0];
        pt->host_bound[1] = pt->host_bound[0];
        continue;
      }
      struct plan_options po = {.coarse = req->coarse, .in_place = ip};
      struct sim_call sc;
      struct timeline *t = ip == 0 ? tl : NULL;
      /* the timeline needs every op; otherwise long calls are extrapolated from their steady state */
      int src = t ? sim_decision_run(model, &pr.comm, &pt->decision, &po, out->nlocal, t, tl_off, &sc, err)
                  : sim_decision_estimate(model, &pr.comm, &pt->decision, &po, out->nlocal, &sc, err);
      if (src) {
        g_prefix_error(err, "size %zu: ", pt->size);
        goto out;
      }
      /* replayed from a graph: the per-call enqueue is gone, the replay's own cost per GPU is not */
      if (req->graph) sim_call_set_host(&sc, graph_host_ps);
      pt->time_us[ip] = sc.iter_ps / 1e6;
      pt->device_us[ip] = sc.device_ps / 1e6;
      pt->host_us = sc.host_ps / 1e6;
      pt->host_bound[ip] = sc.host_ps >= sc.period_ps;
      pt->events += sc.events;
      pt->ops += sc.ops;
      out->events += sc.events;
      if (t) {
        char *label = g_strdup_printf("%s %zu B %s/%s x%d", comm_op_name(req->op), pt->size,
                                      pt->decision.algo >= 0 ? comm_algo_name(pt->decision.algo) : "P2P",
                                      comm_proto_name(pt->decision.proto), pt->decision.nchannels);
        timeline_call(t, label, tl_off, tl_off + sc.device_ps);
        g_free(label);
        tl_off += sc.iter_ps;
      }
    }
    double now = now_s();
    if (req->progress && now - last_report > 1.0) {
      fprintf(stderr, "ccsim: simulated %d/%d sizes (%zu bytes), %.1f s\n", i + 1, req->nsizes, pt->size, now - t0);
      last_report = now;
    }
  }
  out->sim_seconds = now_s() - t0;
  if (tl) {
    int trc = timeline_close(tl, err);
    tl = NULL;
    if (trc) goto out;
  }
  rc = 0;
out:
  if (tl) timeline_close(tl, NULL);
  netmodel_free(model);
  netmodel_params_free(params);
  g_free(params_path);
  if (pr.decisions || pr.comm.channels) platform_result_free(&pr);
  topo_free(sys);
  if (rc) sweep_result_free(out);
  return rc;
}

void sweep_result_free(struct sweep_result *r) {
  if (r->rank_desc) g_strfreev(r->rank_desc);
  g_free(r->points);
  g_free(r->params_name);
  memset(r, 0, sizeof *r);
}
