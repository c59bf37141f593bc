#!/bin/sh
# run_test.sh — `ccsim run` end to end on the measured 4x H200 topology:
#   1. nccl_timing_bench (CUDA events and host timer) under `ccsim run` agrees with `ccsim bench` within 2%
#      for every operation and size;
#   2. the run is deterministic and its trace (JSON lines and SQLite) holds every call and kernel;
#   3. bad programs (no NCCL, crash, unimplemented CUDA call, a rank that never joins, a missing program,
#      one that outlives the time limit) end with a clear message and the program's status, without hanging.
# Usage: run_test.sh CCSIM BIN_DIR DATA_DIR NCCL_LIB   (exit 77: skipped)
set -u
CCSIM=$1 BIN=$2 DATA=$3 NCCL=$4
TOPO=$DATA/measured/h200x4/topo.xml
if [ ! -e "$NCCL" ]; then echo "SKIP: no NCCL library at $NCCL"; exit 77; fi
if [ -z "$BIN" ] || [ ! -x "$BIN/nccl_timing_bench" ]; then
  echo "SKIP: test programs not built (CUDA runtime or nccl.h missing)"; exit 77
fi
export NCCL_NVLS_ENABLE=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

# agree LABEL BENCH_OUT RUN_OUT [ROWS]: every size the program timed (CUDA events, column 3, and host
# timer, column 4) is within 2% of ccsim bench's out-of-place time (column 6) for that size; with ROWS,
# the program printed exactly that many sizes (otherwise at least one).
agree() {
  awk -v op="$1" -v rows="${4:-}" '
    FNR == NR { if ($1 ~ /^[0-9]+$/ && $6 + 0 > 0) bench[$1] = $6; next }
    $1 ~ /^[0-9]+$/ {
      n++
      if (!($1 in bench)) { printf "FAIL: %s size %s: no ccsim bench row\n", op, $1; bad = 1; next }
      b = bench[$1]
      for (k = 3; k <= 4; k++) {
        d = ($k - b) / b; if (d < 0) d = -d
        printf "%s %10s %s %9.2f us  bench %9.2f us  %5.2f%%\n", op, $1, k == 3 ? "event" : "host ", $k, b, d * 100
        if (d > 0.02) { printf "FAIL: %s size %s differs by more than 2%%\n", op, $1; bad = 1 }
      }
    }
    END {
      if (rows == "" && n == 0) { printf "FAIL: %s: no rows from the program\n", op; bad = 1 }
      if (rows != "" && n != rows) { printf "FAIL: %s: %d rows, expected %d\n", op, n, rows; bad = 1 }
      exit bad
    }
  ' "$2" "$3" || fail=1
}

# --- 1. agreement with ccsim bench ---
SIZES="-b 64 -e 64M -f 16"
for op in all_reduce all_gather reduce_scatter broadcast reduce sendrecv; do
  "$CCSIM" bench --topo "$TOPO" --op $op $SIZES -q > "$T/bench_$op" 2>"$T/bench_$op.err" || { err "ccsim bench $op"; cat "$T/bench_$op.err"; continue; }
  "$CCSIM" run --topo "$TOPO" --timeout 300 -- "$BIN/nccl_timing_bench" -o $op $SIZES -n 100 -w 5 \
    > "$T/run_$op" 2>"$T/run_$op.err" || { err "ccsim run $op (status $?)"; cat "$T/run_$op.err"; continue; }
  agree "$op" "$T/bench_$op" "$T/run_$op"
done

# One thread per GPU: the ranks' launches meet across threads, each thread enqueuing only its own GPU's
# call, in parallel; the figures agree with ccsim bench --gpus-per-thread 1 within 2%.
for op in all_reduce sendrecv; do
  "$CCSIM" bench --topo "$TOPO" --op $op $SIZES --gpus-per-thread 1 -q > "$T/bencht_$op" 2>"$T/bencht_$op.err" \
    || { err "ccsim bench --gpus-per-thread 1 $op"; cat "$T/bencht_$op.err"; continue; }
  "$CCSIM" run --topo "$TOPO" --timeout 300 -- "$BIN/nccl_timing_bench" -t -o $op $SIZES -n 100 -w 5 \
    > "$T/runt_$op" 2>"$T/runt_$op.err" || { err "ccsim run -t $op"; cat "$T/runt_$op.err"; continue; }
  agree "$op threads" "$T/bencht_$op" "$T/runt_$op"
done

# Two virtual nodes, one process each (ccsim run --nodes 2, nccl_timing_bench -m): collectives across the
# processes are timed by ccsim run's coordinator; they agree with `ccsim bench --nodes 2` within 2%.
MSIZES="-b 64 -e 16M -f 64"
for op in all_reduce sendrecv; do
"$CCSIM" bench --topo "$TOPO" --nodes 2 --op $op $MSIZES -q > "$T/bench_2n" 2>"$T/bench_2n.err" || { err "ccsim bench --nodes 2"; cat "$T/bench_2n.err"; }
"$CCSIM" run --topo "$TOPO" --nodes 2 --timeout 300 --trace "$T/trace2n.jsonl" -- "$BIN/nccl_timing_bench" -m -o $op $MSIZES -n 100 -w 5 \
  > "$T/run_2n" 2>"$T/run_2n.err" || { err "ccsim run --nodes 2 (status $?)"; cat "$T/run_2n.err"; }
agree "$op 2 nodes" "$T/bench_2n" "$T/run_2n" 4
[ "$(grep -c '"type":"header"' "$T/trace2n.jsonl")" -eq 2 ] || err "2-node trace: expected one header per node"
done

# --- 2. determinism and trace ---
ARGS="-o all_reduce -b 8 -e 1M -f 32 -n 10 -w 2"
"$CCSIM" run --topo "$TOPO" --trace "$T/trace.jsonl" -- "$BIN/nccl_timing_bench" $ARGS > "$T/det1" 2>/dev/null || err "traced run"
"$CCSIM" run --topo "$TOPO" -- "$BIN/nccl_timing_bench" $ARGS > "$T/det2" 2>/dev/null || err "second run"
cmp -s "$T/det1" "$T/det2" || { err "two runs of the same program printed different times"; diff "$T/det1" "$T/det2"; }
head -1 "$T/trace.jsonl" | grep -q '"type":"header","format":"ccsim-run-trace"' || err "trace has no header line"
# 4 sizes x (2 warm-up + 10 timed) x 4 ranks
calls=$(grep -c '"type":"call"' "$T/trace.jsonl")
kernels=$(grep -c '"type":"kernel"' "$T/trace.jsonl")
[ "$calls" -eq 192 ] || err "trace has $calls call records, expected 192"
[ "$kernels" -eq 192 ] || err "trace has $kernels kernel records, expected 192"
[ "$(grep '"type":"call"' "$T/trace.jsonl" | grep -c '"algo":"RING"')" -eq 192 ] || err "call records lack NCCL's decision"
grep -c '"type":"group_start"' "$T/trace.jsonl" | grep -qx 48 || err "expected 48 group_start records"
awk -F'"end_ns":' '/"type":"kernel"/ { split($0, a, "\"start_ns\":"); s = a[2] + 0; e = $2 + 0; if (e < s) bad = 1 }
  END { exit bad }' "$T/trace.jsonl" || err "a kernel ends before it starts"
"$CCSIM" run --topo "$TOPO" --trace "$T/trace.db" -- "$BIN/nccl_timing_bench" $ARGS > /dev/null 2>&1 || err "SQLite-traced run"
if command -v sqlite3 > /dev/null; then
  [ "$(sqlite3 "$T/trace.db" 'select count(*) from call where algo is not null')" = 192 ] || err "SQLite trace: call table"
  [ "$(sqlite3 "$T/trace.db" 'select count(*) from kernel where end_ns >= start_ns')" = 192 ] || err "SQLite trace: kernel table"
else
  [ -s "$T/trace.db" ] || err "no SQLite trace written"
fi

# --- 3. bad programs ---
expect() { # mode expected-status message-fragment [env]
  mode=$1 want=$2 msg=$3
  shift 3
  env "$@" "$CCSIM" run --topo "$TOPO" --timeout 120 -- "$BIN/bad_programs" $mode > "$T/bad.out" 2> "$T/bad.err"
  got=$?
  [ "$got" -eq "$want" ] || { err "bad program '$mode' ended with status $got, expected $want"; cat "$T/bad.err"; }
  grep -q "$msg" "$T/bad.err" || { err "bad program '$mode': no message '$msg'"; cat "$T/bad.err"; }
}
expect no-nccl 3 "without ever initialising NCCL"
expect crash 139 "killed by signal 11 (SIGSEGV"
expect unimplemented 2 "called cuArray3DCreate, which the virtual GPU driver does not implement"
# NCCL itself blocks rank 0's launch until rank 1 joins (as on real GPUs): the time limit ends it.
"$CCSIM" run --topo "$TOPO" --timeout 5 -- "$BIN/bad_programs" missing-rank > /dev/null 2> "$T/bad.err"
[ $? -eq 124 ] && grep -q "did not finish within 5 s" "$T/bad.err" || { err "missing rank: no clear message / status 124"; cat "$T/bad.err"; }
"$CCSIM" run --topo "$TOPO" -- /nonexistent/program > /dev/null 2> "$T/bad.err"
[ $? -eq 127 ] && grep -q "cannot start" "$T/bad.err" || err "missing program: no clear message / status 127"
"$CCSIM" run --topo "$TOPO" --timeout 1 -- sleep 30 > /dev/null 2> "$T/bad.err"
[ $? -eq 124 ] && grep -q "did not finish within 1 s" "$T/bad.err" || err "time limit: no clear message / status 124"
"$CCSIM" run -- true > /dev/null 2> "$T/bad.err"
[ $? -eq 2 ] && grep -q -- "--topo FILE is required" "$T/bad.err" || err "missing --topo: no usage error"

[ $fail -eq 0 ] && echo "PASS"
exit $fail
