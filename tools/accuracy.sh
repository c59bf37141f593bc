#!/usr/bin/env bash
# accuracy.sh — run `ccsim compare` on every measured nccl-tests log of a fixture directory and print
# the median and maximum |error| of each, then over all of them; the last three columns count only the
# points the model has bound by the GPUs (not by the host's enqueue, whose speed changes from run to run).
#
#   tools/accuracy.sh [DIR] [-- extra compare options]
#
# DIR defaults to tests/data/measured/h200x4 (its topo.xml is the machine). A log's NCCL settings that
# the log itself does not show (NCCL_ALGO, NCCL_PROTO, channel limits, ...) come from LOG.env beside
# it. CCSIM (default: the first of build*/sim/ccsim) picks the program. Exit status 0 when every log was compared.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$here/tests/data/measured/h200x4}
shift || true
[ "${1:-}" = "--" ] && shift
ccsim=${CCSIM:-}
if [ -z "$ccsim" ]; then
  for c in "$here"/build/sim/ccsim "$here"/build-*/sim/ccsim; do
    [ -x "$c" ] && { ccsim=$c; break; }
  done
fi
[ -x "${ccsim:-}" ] || { echo "accuracy: no ccsim program found; build first or set CCSIM" >&2; exit 2; }
[ -f "$dir/topo.xml" ] || { echo "accuracy: $dir has no topo.xml" >&2; exit 2; }

printf '%-36s %-15s %5s %8s %8s %7s %8s %8s %7s\n' log op ranks median max points gpu_med gpu_max gpu_pts
status=0
all=$(mktemp)
gpu=$(mktemp)
trap 'rm -f "$all" "$gpu"' EXIT
summary() { # summary < |errors|: median, max and count
  sort -g | awk '{ a[NR] = $1 } END { if (NR) { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%7.1f%% %7.1f%% %7d", m, a[NR], NR } else printf "%8s %8s %7d", "-", "-", 0 }'
}
for log in "$dir"/*.log; do
  # NCCL settings a measurement ran with but its log does not report: LOG.env beside it, one
  # NAME=VALUE per line (e.g. NCCL_PROTO=LL), applied to that comparison only.
  # Grouped calls (nccl-tests -m N > 1) and blocking loops (-z) are measurements compare does not
  # model: say so, skip them.
  # other .log files beside the measurements (a benchmark's build log) are not compared
  if ! grep -qE '^# +size +count ' "$log"; then
    printf '%-36s skipped: no nccl-tests table (its "# size count ..." line)\n' "$(basename "$log")"
    continue
  fi
  if grep -qE '^# nThread .* agg iters: *([2-9]|[1-9][0-9]+) ' "$log"; then
    printf '%-36s skipped: grouped calls (nccl-tests -m), not modelled by compare\n' "$(basename "$log")"
    continue
  fi
  if grep -q '^# Blocking Enabled' "$log"; then
    printf '%-36s skipped: a stream sync after every call (nccl-tests -z), not modelled by compare\n' "$(basename "$log")"
    continue
  fi
  envs=()
  [ -f "${log%.log}.env" ] && mapfile -t envs < <(grep -E '^NCCL_[A-Z0-9_]+=' "${log%.log}.env")
  out=$(env "${envs[@]}" "$ccsim" compare --quiet --topo "$dir/topo.xml" "$@" "$log" 2>&1)
  if [ $? -ne 0 ]; then
    printf '%-36s FAILED: %s\n' "$(basename "$log")" "$(echo "$out" | tail -1)"
    status=1
    continue
  fi
  head=$(echo "$out" | grep -m1 '^# ccsim compare:')
  op=$(echo "$head" | sed -E 's/^[^,]*, ([a-z_]+), ([0-9]+) ranks.*/\1/')
  ranks=$(echo "$head" | sed -E 's/^[^,]*, ([a-z_]+), ([0-9]+) ranks.*/\2/')
  tail=$(echo "$out" | grep '^# compared')
  n=$(echo "$tail" | sed -E 's/# compared ([0-9]+) points.*/\1/')
  med=$(echo "$tail" | sed -E 's/.*median \|error\| ([0-9.]+)%.*/\1/')
  max=$(echo "$tail" | sed -E 's/.*max \|error\| ([0-9.]+)%.*/\1/')
  rows=$(echo "$out" | grep -E '^  +[0-9]')
  echo "$rows" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /%$/) { v = $i; sub(/%/, "", v); v = v + 0; print (v < 0 ? -v : v) } }' >>"$all"
  # the last column says what bounds the out-of-place and in-place points ("dev", "host", "host,dev")
  gpu_rows=$(echo "$rows" | awk '{ nb = split($NF, b, ","); k = 0
      for (i = 1; i <= NF; i++) if ($i ~ /%$/) { k++; v = $i; sub(/%/, "", v); v = v + 0
        if (b[nb == 1 ? 1 : k] == "dev") print (v < 0 ? -v : v) } }')
  [ -n "$gpu_rows" ] && echo "$gpu_rows" >>"$gpu"
  printf '%-36s %-15s %5s %7s%% %7s%% %7s %s\n' "$(basename "$log")" "$op" "$ranks" "$med" "$max" "$n" \
    "$( [ -n "$gpu_rows" ] && echo "$gpu_rows" | summary || summary </dev/null)"
done
[ -s "$all" ] && printf '%-36s %-15s %5s %s %s\n' ALL "" "" "$(summary <"$all")" "$(summary <"$gpu")"
exit $status
