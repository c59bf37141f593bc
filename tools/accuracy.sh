#!/usr/bin/env bash
# accuracy.sh — run `ccsim compare` on every measured nccl-tests log of a fixture directory and print
# the median and maximum |error| of each, then over all of them.
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

printf '%-36s %-15s %5s %8s %8s %7s\n' log op ranks median max points
status=0
all=$(mktemp)
trap 'rm -f "$all"' EXIT
for log in "$dir"/*.log; do
  # NCCL settings a measurement ran with but its log does not report: LOG.env beside it, one
  # NAME=VALUE per line (e.g. NCCL_PROTO=LL), applied to that comparison only.
  # Grouped calls (nccl-tests -m N > 1) and blocking loops (-z) are measurements compare does not
  # model: say so, skip them.
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
  printf '%-36s %-15s %5s %7s%% %7s%% %7s\n' "$(basename "$log")" "$op" "$ranks" "$med" "$max" "$n"
  echo "$out" | grep -E '^  +[0-9]' | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /%$/) { v = $i; sub(/%/, "", v); v = v + 0; print (v < 0 ? -v : v) } }' >>"$all"
done
sort -g "$all" | awk '{ a[NR] = $1 } END { if (NR) { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%-36s %-15s %5s %7.1f%% %7.1f%% %7d\n", "ALL", "", "", m, a[NR], NR } }'
exit $status
