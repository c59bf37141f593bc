#!/usr/bin/env bash
# cli_test.sh CCSIM DATA NCCL_LIB — end-to-end checks of `ccsim bench` and `ccsim compare`:
# nccl-tests layout, byte-identical output for identical input, every measured row compared,
# clear errors on bad input. Exits 77 (skipped) where the NCCL library is missing.
set -uo pipefail
ccsim=$1 data=$2 nccl=$3
[ -e "${CCSIM_NCCL:-$nccl}" ] || { echo "skipped: NCCL library ${CCSIM_NCCL:-$nccl} not found"; exit 77; }
topo=$data/measured/h200x4/topo.xml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$ccsim" bench --help | grep -q -- '--timeline' || fail "bench --help lacks --timeline"
"$ccsim" bench --quiet --topo "$topo" --op all_reduce -b 8 -e 64M -f 4 --timeline "$tmp/t1.json" >"$tmp/a" || fail "bench failed"
"$ccsim" bench --quiet --topo "$topo" --op all_reduce -b 8 -e 64M -f 4 --timeline "$tmp/t2.json" >"$tmp/b" || fail "bench failed (2)"
cmp -s "$tmp/a" "$tmp/b" || fail "bench output differs between identical runs"
cmp -s "$tmp/t1.json" "$tmp/t2.json" || fail "timeline differs between identical runs"
grep -q '"traceEvents"' "$tmp/t1.json" || fail "timeline is not a Chrome trace"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/t1.json" 2>/dev/null || \
  { command -v python3 >/dev/null && fail "timeline is not valid JSON"; }
grep -q '^# Collective test starting: all_reduce_perf' "$tmp/a" || fail "no nccl-tests header"
grep -q '^# Avg bus bandwidth    : ' "$tmp/a" || fail "no nccl-tests footer"
rows=$(grep -cE '^ +[0-9]+ +[0-9]+ +float +sum +-1 ' "$tmp/a")
[ "$rows" = 12 ] || fail "expected 12 rows (8 B .. 32 MiB by 4), got $rows"
# busbw = algbw * 2(n-1)/n for all_reduce on 4 ranks
awk '/^ +[0-9]+ +[0-9]+ +float/ { if ($7 > 1 && ($8 / $7 < 1.49 || $8 / $7 > 1.51)) bad = 1 } END { exit bad }' "$tmp/a" || \
  fail "all_reduce busbw is not 1.5 x algbw"

for op in all_gather reduce_scatter broadcast reduce alltoall sendrecv; do
  "$ccsim" bench --quiet --topo "$topo" --op $op -b 1K -e 1M -f 32 >"$tmp/$op" || fail "bench --op $op failed"
  grep -q "^# Collective test starting: ${op}_perf" "$tmp/$op" || fail "$op: wrong header"
done

"$ccsim" compare --quiet --topo "$topo" "$data/measured/h200x4/g2_sendrecv_default.log" >"$tmp/c" || fail "compare failed"
n=$(grep -cE '^  +[0-9]' "$tmp/c")
[ "$n" = 31 ] || fail "compare: expected 31 compared sizes, got $n"
grep -qE '^# compared 62 points: median \|error\| [0-9.]+%, max \|error\| [0-9.]+%' "$tmp/c" || fail "compare: no summary"
grep -q '2 ranks' "$tmp/c" || fail "compare: did not take the GPU count from the log"
# each point says what the model has setting its time; the two parts add up to every point. A 4-GPU
# all_gather driven by one thread is host-bound at 8 B (the enqueue on 4 GPUs outlasts the kernel) and
# GPU-bound at 8 GiB (seconds of NVLink traffic), and its GPU-bound points keep within 5% median.
"$ccsim" compare --quiet --topo "$topo" "$data/measured/h200x4/g4_all_gather_default.log" >"$tmp/c" || fail "compare failed"
awk '$1 == 64 { print $NF }' "$tmp/c" | grep -qx host || fail "compare: 64 B all_gather not marked host-bound"
awk '$1 == 8589934592 { print $NF }' "$tmp/c" | grep -qx dev || fail "compare: 8 GiB all_gather not marked GPU-bound"
awk '/^# compared/ { n = $3 } /^# bound by the GPUs:/ { gsub(/[%,;]/, ""); d = $6; dm = $10; h = $17 }
     END { exit !(n > 0 && d > 0 && h > 0 && d + h == n && dm <= 5) }' "$tmp/c" || \
  fail "compare: the host/GPU split does not add up or GPU-bound median over 5%: $(tail -2 "$tmp/c")"
# tools/host-plateau.sh reads the same host-bound times as compare, from rows that this log's per-call
# INFO lines cut into pieces
tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools" && pwd)
got=$("$tools/host-plateau.sh" "$data/measured/h200x4/g4_all_gather_default.log" | awk 'NR == 2 { print $2, $3 }')
want=$(awk '$1 ~ /^[0-9]+$/ && $1 <= 4096 { print $5; print $8 }' "$tmp/c" | sort -g |
       awk '{ a[NR] = $1 } END { printf "%.2f %d", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, NR }')
[ -n "$got" ] && [ "$got" = "$want" ] || fail "host-plateau.sh: '$got', compare's rows give '$want'"
# tools/accuracy.sh over a directory: a measured log is compared (all points and the GPU-bound ones, the
# same counts as compare's summary), a build log beside it is skipped, and the run succeeds
mkdir -p "$tmp/acc"
cp "$topo" "$tmp/acc/topo.xml"
cp "$data/measured/h200x4/g4_all_gather_default.log" "$tmp/acc/"
echo "make: building all_reduce_perf" >"$tmp/acc/build.log"
CCSIM=$ccsim "$tools/accuracy.sh" "$tmp/acc" >"$tmp/acc.out" 2>&1 || fail "accuracy.sh failed: $(tail -2 "$tmp/acc.out")"
grep -q '^build.log .*skipped' "$tmp/acc.out" || fail "accuracy.sh did not skip a build log"
n_all=$(awk '/^# compared/ { print $3 }' "$tmp/c")
n_gpu=$(awk '/^# bound by the GPUs:/ { print $6 }' "$tmp/c")
awk -v a="$n_all" -v g="$n_gpu" '$1 == "ALL" { found = 1; if ($4 != a || $7 != g) bad = 1 } END { exit !found || bad }' \
  "$tmp/acc.out" || fail "accuracy.sh totals differ from compare's ($n_all, $n_gpu): $(tail -1 "$tmp/acc.out")"
"$tools/host-plateau.sh" "$tmp/none.log" 2>"$tmp/e" && fail "host-plateau.sh: a missing log did not fail"
grep -q "cannot read" "$tmp/e" || fail "host-plateau.sh: no clear error for a missing log"

# send/recv over NVLink against the 2x H200 device-time measurements (tests/data/measured/h200x2-p2p):
# one channel (per-chunk hand-over and first-chunk latency) and 16 channels per peer (the first chunks
# of a GPU's channels share part of its link); before that model they were at 6.8% and 8.6% / 31.1%
within() { # within DIR/LOG MEDIAN MAX [NCCL settings...]: compare's median and max |error| at most these
  local log=$data/measured/$1 med=$2 max=$3; shift 3
  env "$@" "$ccsim" compare --quiet --topo "$(dirname "$log")/topo.xml" "$log" >"$tmp/c" || fail "compare failed on $log"
  awk -v med="$med" -v max="$max" '/^# compared/ { gsub(/[%,]/, ""); found = 1; if ($7 > med || $10 > max) bad = 1 }
       END { exit !found || bad }' "$tmp/c" || fail "$1: $(tail -1 "$tmp/c"), wanted median <= $med%, max <= $max%"
}
within h200x2-p2p/sendrecv_ch1.log 3 7 NCCL_MAX_P2P_NCHANNELS=1
within h200x2-p2p/sendrecv_default.log 6 12
# a forced Simple tree on one node (a chain of 4 GPUs): split thread groups, whole-chunk forwarding and the
# tree hop latency; before those it was at 27.9% / 63.7%
within h200x4-devicefit/all_reduce_TREE_SIMPLE.log 5 15 NCCL_ALGO=TREE NCCL_PROTO=SIMPLE
# small forced-Simple rings: an empty second slice only posts its step, and the first step waits for the
# receiver's hand-over at the call's start; charged two full slice steps each these were 18.7% / 48.7%
within h200x4-devicefit/all_reduce_SIMPLE_ch1.log 3 13 NCCL_PROTO=SIMPLE NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1
# fewer threads per channel (NCCL_NTHREADS): a Simple block keeps its rate down to about 184 threads;
# scaled in proportion to 544, these were 89% and 166% slow
within h200x2-nthreads/all_gather_ch1_t256.log 6 15 NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=256
within h200x2-nthreads/broadcast_ch1_t128.log 9 15 NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=128
# LL and LL128 steps cost what their primitive does with each byte, receive-only steps included, and a tree
# rank's two groups share its block: with one rate per protocol these were 36% slow, 22% and 26% fast
within h200x4-llsteps/reduce_LL128_ch1.log 3 25 NCCL_PROTO=LL128 NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1
within h200x2-nccl2283/all_reduce_RING_LL.log 6 25 NCCL_ALGO=RING NCCL_PROTO=LL
within h200x4-llsteps/g3_all_reduce_TREE_LL_ch1.log 6 8 NCCL_ALGO=TREE NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1
# LL128 trees take the rates measured on whole trees and lose rate with the streams a rank keeps up; timed by
# their LL128 primitives one after the other these were 11.8% / 14.8% and 29.3% / 37.6% fast
within h200x4-llsteps/g4_all_reduce_TREE_LL128_ch1.log 3 9 NCCL_ALGO=TREE NCCL_PROTO=LL128 NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1
within h200x2-treech/all_reduce_TREE_LL128_ch8.log 12 22 NCCL_ALGO=TREE NCCL_PROTO=LL128 NCCL_MIN_NCHANNELS=8 NCCL_MAX_NCHANNELS=8
# an LL block on fewer threads: primitives that only take FIFO lines lose less than those loading their
# input; with every primitive in proportion to the threads these were 50% and 19% slow
within h200x4-llthreads/all_gather_LL_ch1_t128.log 5 10 NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=128
within h200x4-llthreads/all_reduce_LL_ch1_t128.log 6 8 NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=128

# element type, reduction operator and root reach NCCL: nccl-tests' columns, counts per type, and NCCL's own
# restriction (NVLS reduces sum/min/max only: a prod all_reduce on the NVSwitch DGX H100 runs as a ring)
"$ccsim" bench --quiet --topo "$topo" -d half --redop prod -b 1M -e 1M >"$tmp/h" || fail "bench -d half failed"
grep -qE '^ +1048576 +524288 +half +prod +-1 ' "$tmp/h" || fail "bench -d half --redop prod: wrong row: $(grep -E '^ +1048576' "$tmp/h")"
"$ccsim" bench --quiet --topo "$topo" --op reduce -r 2 -d int8 -b 1K -e 1K >"$tmp/h" || fail "bench --root 2 failed"
grep -qE '^ +1024 +1024 +int8 +sum +2 ' "$tmp/h" || fail "bench --op reduce -r 2 -d int8: wrong row"
"$ccsim" bench --quiet --topo "$topo" -d bfloat16 --redop mulsum -b 64K -e 64K >"$tmp/h" || fail "bench --redop mulsum failed"
grep -qE '^ +65536 +32768 +bfloat16 +mulsum +-1 ' "$tmp/h" || fail "bench --redop mulsum: wrong row"
dgx=$data/../../scenarios/topologies/dgx-h100.xml
for o in sum prod; do
  "$ccsim" decide --topo "$dgx" --op all_reduce -b 1G --redop $o | tail -1 | awk '{print $3}' >"$tmp/algo_$o"
done
[ "$(cat "$tmp/algo_sum")" = NVLS ] && [ "$(cat "$tmp/algo_prod")" = RING ] || \
  fail "1 GiB all_reduce on DGX H100: sum $(cat "$tmp/algo_sum"), prod $(cat "$tmp/algo_prod"); wanted NVLS and RING"
"$ccsim" bench --topo "$topo" -d float17 2>"$tmp/e" && fail "bench accepted an unknown element type"
grep -q "float17" "$tmp/e" || fail "bench error does not name the element type"
# NCCL refuses FP8 reductions below sm_90 with a bare "invalid argument": ccsim says why
"$ccsim" bench --topo "$data/../../scenarios/topologies/dgx-a100.xml" -d f8e4m3 -b 1M -e 1M 2>"$tmp/e" &&
  fail "bench accepted an FP8 all_reduce on sm_80"
grep -q "sm_90" "$tmp/e" || fail "FP8 on sm_80: $(cat "$tmp/e")"
# compare runs the log's type (the dtypes set: 4x H200, one thread per GPU, device time); a log holding two
# sweeps (nccl-tests -d all) is compared sweep by sweep
within h200x4-dtypes/reduce_scatter_half_sum.log 6 30
grep -q '^# type half, redop sum, root 0' "$tmp/c" || fail "compare did not run the log's element type"
{ cat "$data/measured/h200x4-dtypes/all_reduce_half_sum.log"; grep -v "^#  Rank" "$data/measured/h200x4-dtypes/all_reduce_int8_sum.log"; } >"$tmp/two.log"
"$ccsim" compare --quiet --topo "$topo" "$tmp/two.log" >"$tmp/c" || fail "compare failed on a two-type log"
grep -q '^# compared 124 points' "$tmp/c" && grep -q '^# type int8' "$tmp/c" || fail "two-type log: $(tail -1 "$tmp/c")"
sed 's/  half  /  half9  /' "$data/measured/h200x4-dtypes/all_reduce_half_sum.log" >"$tmp/badtype.log"
"$ccsim" compare --topo "$topo" "$tmp/badtype.log" 2>"$tmp/e" && fail "compare accepted an unknown element type"
grep -qE "badtype.log:[0-9]+: unknown element type 'half9'" "$tmp/e" || fail "compare: $(cat "$tmp/e")"

# one GPU: NCCL copies the buffer (out of place) or does nothing (in place) instead of running an algorithm;
# the copy's rate follows the GPU's memory (the H100 log's topology names the part by PCI id). Before this
# model every one-rank call took 7.5 us whatever its size (441% median error)
within h200x1-onegpu/all_reduce_default.log 8 100
awk '$1 == 1073741824 { gsub(/[%+-]/, "", $7); found = 1; if ($2 != "LOCAL" || $7 + 0 > 3) bad = 1 } END { exit !found || bad }' "$tmp/c" ||
  fail "one H200: 1 GiB copy: $(grep -E '^ +1073741824' "$tmp/c")"
within h100x1-onegpu/all_reduce_default.log 20 100
awk '$1 == 134217728 { gsub(/[%+-]/, "", $7); found = 1; if ($7 + 0 > 6) bad = 1 } END { exit !found || bad }' "$tmp/c" ||
  fail "one H100: 128 MiB copy: $(grep -E '^ +134217728' "$tmp/c")"

# NCCL_P2P_DISABLE=1 (read from the log): GPUs exchange data through host memory (NCCL's SHM transport),
# which the capture sees in where the connections' buffers live; over PCIe, not NVLink (was 75% fast at 1 GiB)
within h200x4-shm/all_reduce_shm.log 14 40
awk '$1 == 1073741824 { gsub(/[%+-]/, "", $7); found = 1; if ($7 + 0 > 10) bad = 1 } END { exit !found || bad }' "$tmp/c" ||
  fail "SHM all_reduce 1 GiB: $(grep -E '^ +1073741824' "$tmp/c")"

# with P2P disabled on 8 GPUs NCCL routes some ring connections of one node through the NICs; their proxy
# operations wait for kernels that never run, so the probe must abort its communicators, not destroy them
# (it hung in teardown until its time limit)
NCCL_P2P_DISABLE=1 NCCL_NVLS_ENABLE=0 "$ccsim" decide --topo "$dgx" --op all_reduce -b 1M --timeout 60 >"$tmp/d" 2>&1 ||
  fail "decide with NCCL_P2P_DISABLE=1 on 8 GPUs: $(tail -2 "$tmp/d")"

# a run whose NCCL set up no NVLS channels is simulated without NVLS: forced Simple on one channel makes
# the virtual NVSwitch machine choose NVLS for small sizes otherwise, where the hardware ran a ring
log=$data/measured/h200x4-devicefit/all_reduce_SIMPLE_ch1.log
env -u NCCL_NVLS_ENABLE NCCL_PROTO=SIMPLE NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 \
  "$ccsim" compare --topo "$topo" "$log" >"$tmp/c" 2>"$tmp/e" || fail "compare failed on $log"
grep -q 'NCCL_NVLS_ENABLE=0' "$tmp/e" || fail "compare did not say it turned NVLS off"
grep -qE '^ +8 +RING +SIMPLE +1 ' "$tmp/c" || fail "compare: 8 B not simulated as the ring the log ran"

# bad input: clear message, non-zero status, no crash
"$ccsim" bench --topo /nonexistent.xml 2>"$tmp/e" && fail "bench accepted a missing topology"
grep -q 'nonexistent' "$tmp/e" || fail "bench error does not name the file"
"$ccsim" bench --topo "$topo" --op nosuchop 2>"$tmp/e" && fail "bench accepted an unknown op"
grep -q "nosuchop" "$tmp/e" || fail "bench error does not name the op"
printf 'not a log\n' >"$tmp/bad.log"
"$ccsim" compare --topo "$topo" "$tmp/bad.log" 2>"$tmp/e" && fail "compare accepted garbage"
grep -q 'bad.log' "$tmp/e" || fail "compare error does not name the file"
"$ccsim" compare --topo "$topo" "$data/measured/h200x4-launch/all_gather_agg8.log" 2>"$tmp/e" &&
  fail "compare accepted grouped calls (agg iters 8) it does not model"
grep -q 'agg iters 8' "$tmp/e" || fail "compare error does not say the log grouped its calls"
# a blocking loop (nccl-tests -z: a stream sync after every call) is another measurement: refused, saying so
"$ccsim" compare --topo "$data/measured/h200x2-blocking/topo.xml" "$data/measured/h200x2-blocking/all_reduce_z3.log" 2>"$tmp/e"
[ $? = 2 ] || fail "compare did not refuse a blocking (-z 3) log with status 2"
grep -q 'nccl-tests -z 3' "$tmp/e" || fail "compare error does not say the log synced every call: $(cat "$tmp/e")"
# calls replayed from a CUDA graph (-G 1) on 4 GPUs from one thread: no enqueue per call, the replay's
# cost per GPU (before the graph mode: 15.0% / 33.0% and 47.0% / 73.2%, timed as launched calls)
within h200x4-calibrate/all_reduce_graph.log 12 45
within h200x4-calibrate/broadcast_graph.log 12 55
"$ccsim" compare --topo "$data/measured/h200x4-calibrate/topo.xml" "$data/measured/h200x4-calibrate/sendrecv_graph.log" \
  >/dev/null 2>"$tmp/e" || fail "compare failed on a graph log"
grep -q 'NCCL_GRAPH_REGISTER' "$tmp/e" || fail "compare did not warn that graph capture registers buffers"
"$ccsim" bench --quiet --topo "$data/measured/h200x4/topo.xml" --op all_reduce -b 8 -e 8 -G 1 >"$tmp/g" ||
  fail "bench -G 1 failed"
grep -q 'graph: 1 ' "$tmp/g" || fail "bench -G 1 header does not say graph: 1"
awk '$1 == 8 && $3 == "float" { t = $6 } END { exit !(t > 20 && t < 23) }' "$tmp/g" ||
  fail "bench -G 1: 4-GPU 8 B all_reduce not the replay's 4 x 5.3 us: $(grep -E '^ +8 ' "$tmp/g")"
# a time that is not a number (strtod would read "nan") is refused with its line, not turned into nan errors
sed '0,/^ *1024 /s/^\( *1024 .*float *sum *-1 *\)[0-9.]*/\1nan/' "$data/measured/h200x4/g2_sendrecv_default.log" >"$tmp/nan.log"
grep -qE '^ *1024 .* -1 +nan ' "$tmp/nan.log" || fail "test setup: no nan row written"
"$ccsim" compare --topo "$topo" "$tmp/nan.log" 2>"$tmp/e" && fail "compare accepted a nan time"
grep -qE "nan.log:[0-9]+: out-of-place time 'nan'" "$tmp/e" || fail "compare nan error: $(cat "$tmp/e")"
# a GPU count other than the log's would compare two different measurements
"$ccsim" compare --topo "$topo" --gpus 3 "$data/measured/h200x4/g2_sendrecv_default.log" 2>"$tmp/e"
[ $? = 2 ] || fail "compare ran a 2-rank log on 3 GPUs"
grep -q 'measured 2 ranks' "$tmp/e" || fail "compare rank-count error: $(cat "$tmp/e")"
# a log whose time columns are host time (nccl-tests -C 1): the measured g2 sendrecv with "cputime" headers
sed 's/ time / cputime /g' "$data/measured/h200x4/g2_sendrecv_default.log" >"$tmp/cpu.log"
"$ccsim" compare --topo "$topo" "$tmp/cpu.log" 2>"$tmp/e"
[ $? = 2 ] || fail "compare did not refuse a table of cputime with status 2"
grep -q 'cputime' "$tmp/e" || fail "compare error does not say the log reports cputime"
echo "ok"
