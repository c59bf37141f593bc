#!/usr/bin/env bash
# host-plateau.sh — how far apart repeated measurements of the same command are where the host's enqueue
# sets the time: for each nccl-tests log, the median time (out-of-place and in-place) over its sizes up
# to a limit, then the least, median and largest of those medians and their ratio.
#
#   tools/host-plateau.sh [-s MAX_BYTES] LOG...
#
# MAX_BYTES (default 4096) bounds the sizes taken: below a few KiB a call driven by one host thread is
# host-bound on NVLink machines (`ccsim compare` marks each point). The logs may carry NCCL INFO lines,
# also inside table rows. A log's last line "# main thread on cpus: ..." (tools/measure-nccl.sh hostcpu)
# is summarised as the CPUs the thread was seen on most.
set -uo pipefail
max=4096
if [ "${1:-}" = -s ]; then max=${2:?-s needs a byte count}; shift 2; fi
case $max in '' | *[!0-9]*) echo "host-plateau: -s wants a byte count, got '$max'" >&2; exit 2 ;; esac
[ $# -gt 0 ] || { echo "usage: tools/host-plateau.sh [-s MAX_BYTES] LOG..." >&2; exit 2; }

for log in "$@"; do [ -r "$log" ] || { echo "host-plateau: cannot read $log" >&2; exit 2; }; done
printf '%-28s %8s %6s  %s\n' log plateau points cpus
plateaus=$(mktemp)
trap 'rm -f "$plateaus"' EXIT
for log in "$@"; do
  awk -v max="$max" -v name="$(basename "$log" .log)" -v out="$plateaus" '
    # NCCL prints "host:pid:tid [dev] NCCL INFO ..." to the end of a line, also in the middle of a table
    # row (even of one of its numbers): the row goes on where the INFO line ends, so the text before an
    # INFO line joins the next line as it is
    { $0 = pend $0; pend = "" }
    match($0, /[A-Za-z][A-Za-z0-9_.-]*:[0-9]+:[0-9]+ \[[0-9]+\] NCCL (INFO|WARN)/) { pend = substr($0, 1, RSTART - 1); next }
    /^# main thread on cpus:/ { for (i = 7; i <= NF; i++) seen[$i]++; next }
    # the column-name line: which fields hold the two times
    /^# +size +count / { nt = 0; for (i = 2; i <= NF; i++) if ($i == "time") tcol[++nt] = i - 1; next }
    /^#/ || NF == 0 { next }
    # rows of calls with data (nccl-tests prints empty calls as count 0)
    nt && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $2 + 0 > 0 && $1 + 0 <= max { for (k = 1; k <= nt; k++) t[++n] = $(tcol[k]) }
    END {
      if (!n) { printf "%-28s %8s %6d\n", name, "-", 0; exit }
      # insertion sort: a few dozen points
      for (i = 2; i <= n; i++) { v = t[i]; for (j = i - 1; j >= 1 && t[j] > v; j--) t[j + 1] = t[j]; t[j + 1] = v }
      m = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
      cpus = ""
      for (k = 0; k < 3; k++) {
        best = ""; for (c in seen) if (best == "" || seen[c] > seen[best] || (seen[c] == seen[best] && c + 0 < best + 0)) best = c
        if (best == "") break
        cpus = cpus (cpus == "" ? "" : " ") best "(" seen[best] ")"; delete seen[best]
      }
      printf "%-28s %8.2f %6d  %s\n", name, m, n, cpus
      printf "%.2f\n", m >>out
    }' "$log"
done
sort -g "$plateaus" | awk 'NF { a[++n] = $1 } END {
  if (n < 2) exit
  m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  printf "# %d logs: least %.2f us, median %.2f us, largest %.2f us; largest / least %.2f\n", n, a[1], m, a[n], a[n] / a[1]
}'
