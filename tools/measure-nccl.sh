#!/usr/bin/env bash
# measure-nccl.sh — take reference measurements of NCCL on a real multi-GPU machine.
#
# Builds the public nccl-tests benchmark from a source tree given on the command line (its code is
# not part of ccsim), then records, for G GPUs in one process:
#   - NCCL_TOPO_DUMP_FILE and NCCL_GRAPH_DUMP_FILE of the machine,
#   - default sweeps (8 B .. 8 GiB, factor 2) of the seven operations with INIT,GRAPH,TUNING logging,
#   - all_reduce under each NCCL_ALGO x NCCL_PROTO and with 1, 4 and 16 channels,
#   - nvidia-smi, topo -m, nvlink status, the NCCL library's version.
# Everything goes into one tarball, OUTDIR/measure-gG.tar.gz, with a README of how it was taken.
#
# Usage: tools/measure-nccl.sh NCCL_TESTS_SRC GPUS OUTDIR [quick|calibrate|direct|launch|threads|periter|devicefit|p2p|nthreads|dtypes|onegpu|shm|shmstep|llsteps|llthreads|llsize|blocking|treech|hostcpu|hostloop|chainthreads|shmload]
#   quick: -e 1G instead of 8G for the variant sweeps (to fit a short lease).
#   calibrate: instead of the sets above, the sets that separate the model's causes: repeated default
#     sweeps in fresh processes (run-to-run spread), CUDA-graph launches (-G 1) and one thread per GPU
#     (-t G -g 1) (host enqueue time), copy/reduce operations on 1, 2 and 4 channels per protocol
#     (per-channel rates), and NCCL_BUFFSIZE 1 MiB / 16 MiB (pipeline-fill granularity).
#   direct: 1 MiB - 2 GiB sweeps that separate how the peers' buffers are reached: every collective with
#     NCCL's default (one process: P2P/direct pointer, kernels write into the peer's user buffer where the
#     algorithm allows) and with NCCL_P2P_DIRECT_DISABLE=1 (P2P through IPC handles, as separate processes
#     get), and ring all_gather on 8 and 16 channels (does a mid-size rate loss scale with channels?).
#   launch: 16 MiB - 4 GiB sweeps of all_gather, all_reduce (also on 2 GPUs) and broadcast with one call
#     per launch and with 8 calls grouped into one launch (-m 8), and ring all_gather on 18-32 channels
#     (is the mid-size rate loss of link-bound rings a cost of each launch, and where does it start?).
#   threads: 8 B - 8 GiB sweeps of all seven operations with one host thread per GPU (-t GPUS -g 1), and
#     all_reduce/sendrecv on the first 2 and 3 GPUs the same way: device times that the single-thread
#     host enqueue does not hide (for fitting step latencies and kernel costs).
#   periter: 4 MiB - 1 GiB sweeps with per-iteration GPU event times (-I 1, JSON via -J) of ring
#     collectives and a chain, with 20 and 100 iterations, back to back (-z 0) and with a stream sync
#     between iterations (-z 3), and ring all_gather on 16 channels (below link saturation), with LL128,
#     with P2P read and with 256 threads per channel: is the mid-size rate loss of link-bound rings paid
#     by every launch or once per burst of launches, and does it follow the protocol or the transport?
#   devicefit: the protocol and algorithm variants with one host thread per GPU (-t GPUS -g 1), so that
#     small and mid sizes give device time: all_reduce under each NCCL_ALGO x NCCL_PROTO, the other ring
#     collectives under each NCCL_PROTO, one-channel sweeps per protocol, the same on the first 2 GPUs,
#     a repeat of the default all_reduce/sendrecv in a fresh process, and CUDA-graph launches (-G 1).
#   p2p: 256 KiB - 1 GiB send/recv sweeps with one host thread per GPU (-t GPUS -g 1, device time) on
#     at most 1, 2, 4, 8 and 16 p2p channels (NCCL_MAX_P2P_NCHANNELS) and by default, with 128 KiB and 2 MiB
#     chunks (NCCL_P2P_NVL_CHUNKSIZE, NCCL_BUFFSIZE raised to hold 8 of them), with the receiver reading
#     (NCCL_P2P_READ_ENABLE=1) and with 256 threads per channel; and alltoall by default: does the
#     mid-size rate loss of many-channel send/recv follow the channel count, the chunk or the transport?
#   nthreads: how a channel's rate follows its thread count (NCCL_NTHREADS 64-512), one host thread per
#     GPU: ring all_gather on 1 and on NCCL's default channels, the broadcast chain on 1 channel.
#   dtypes: how the element type and reduction operator change a reducing collective, one host thread per
#     GPU (device time): all_reduce with half, bfloat16, double, int8 and f8e4m3 (sum) and with float
#     prod, max and avg; reduce_scatter with half, double and int8; reduce with half and int8; a float sum
#     control in the same session; a forced-tree all_reduce in half; and one default single-process
#     all_reduce in half (the way most users run it).
#   onegpu: a communicator of one GPU (GPUS=1), where NCCL copies the buffer (out of place) or does nothing
#     (in place) instead of running a kernel: the seven operations 8 B - 8 GiB, all_reduce with avg (a
#     pre-multiplying kernel), and one-rank copies 1 MiB - 8 GiB repeated (the copy rate).
#   shm: NCCL_P2P_DISABLE=1, so GPUs of one node exchange data through host memory (the SHM transport):
#     the seven operations 8 B - 1 GiB in one process, all_reduce and sendrecv on the first 2 GPUs, and
#     all_reduce and sendrecv with one host thread per GPU (device time).
#   llsteps: LL and LL128 per-primitive costs: one host thread per GPU, NCCL_PROTO forced on 1 and 4
#     channels, every ring and chain operation on all GPUs, ring and tree all_reduce on 2 and 3 too.
#   llthreads: how an LL block's time follows its thread count, one host thread per GPU, 100 iterations:
#     LL all_reduce and all_gather on one channel at NCCL_NTHREADS 64-512 (4-64 MiB: the rate), LL
#     all_reduce on one channel 8 B - 1 MiB at NCCL's threads and capped at 128 (small calls, where NCCL
#     halves the threads itself), on all GPUs and on the first 2 and 3, and NCCL's defaults 8 B - 4 MiB.
#   llsize: where the per-byte cost of a one-channel LL ring changes with the call size, one host thread
#     per GPU, with the SM clocks sampled every 50 ms (clocks.csv): LL all_reduce and all_gather 256 KiB -
#     16 MiB by factors of 2, all_reduce at 1 MiB for 2000 iterations (does a long run at one size drift?),
#     and Simple all_reduce on one channel over the same sizes.
#   shmstep: NCCL_P2P_DISABLE=1 with one host thread per GPU: ring all_reduce and all_gather on one channel
#     with Simple at NCCL's default buffer and at NCCL_BUFFSIZE 1 MiB (4x the steps), with LL128 and LL,
#     and send/recv on one channel at 128 KiB and 512 KiB chunks: what a step costs through host memory.
#   treech: how a tree's per-channel rate follows the channel count, one host thread per GPU: tree
#     all_reduce with LL128 on 1, 2, 4, 8, 12, 16 channels and NCCL's default, with NCCL_LL128_NTHREADS
#     320 and 480 on 1 channel and the default, LL and Simple trees on 1, 4 and the default channels, and
#     the LL128 ring on 1, 4 and the default for contrast; 16 MiB - 1 GiB by factors of 4.
#   hostcpu: is the host enqueue time of the single-thread loop set by the core the thread runs on? The
#     default all_reduce 8 B - 64 KiB (-w 20 -n 100) in fresh processes: unpinned, then pinned to each
#     online CPU in turn (taskset -c K), then the pinned pass again in reverse order, as long as the time
#     allows (HOSTCPU_SECONDS, default 420); every run samples the CPU its main thread is on (last line).
#   hostloop: does the single-thread small-size time follow NCCL's per-call TUNING log line or the
#     iteration count? all_reduce 8 B - 64 KiB on all GPUs (and the first 2 and 3) with INIT,TUNING and
#     with INIT only, each at -w 1 -n 20 and -w 20 -n 100, fresh processes interleaved.
#   chainthreads: do consecutive calls overlap with one host thread as with one thread per GPU? broadcast,
#     reduce (chains) and all_gather (a ring, the control) 4 - 256 MiB on 3 and all GPUs, one thread (-g G)
#     against one thread per GPU (-t G -g 1), twice each in fresh processes.
#   shmload: what bounds GPUs exchanging data through host memory (NCCL_P2P_DISABLE=1), one host thread per
#     GPU, 64 MiB - 1 GiB: chains and rings of every kind on 2 GPUs, all_reduce on other pairs (0,2 and
#     0,3), chains and rings on 3 GPUs, and on all GPUs broadcast and all_gather on 2, 8 and NCCL's channels.
#   blocking: nccl-tests' other timing modes next to its default loop, 8 B - 256 MiB in one process: a
#     stream sync after every call (-z 3, barrier not timed; -z 2), also with one host thread per GPU and
#     on the first 2 GPUs, and CUDA-graph launches (-G 1) with and without NCCL_GRAPH_REGISTER=0 (does
#     the graph's speed-up of send/recv come from registering the user buffers under capture?).
# Environment: NCCL_NVLS_ENABLE is forced to 0 (NVLink SHARP multicast off, as on the machines the
# bundled fixtures were measured on).
set -uo pipefail

src=${1:?nccl-tests source dir}
gpus=${2:?number of GPUs}
outdir=${3:?output dir}
quick=${4:-}
export NCCL_NVLS_ENABLE=0
work=$(mktemp -d)
logs=$work/g${gpus}
mkdir -p "$logs"

# Find the NCCL library the benchmarks will use: the CUDA toolkit's first, then a Python wheel's.
nccl_lib=""
for d in /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu $(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__)+"/lib")' 2>/dev/null); do
  if [ -e "$d/libnccl.so.2" ] || [ -e "$d/libnccl.so" ]; then nccl_lib=$d; break; fi
done
nccl_inc=""
for d in /usr/local/cuda/include /usr/include "${nccl_lib%/lib}/include"; do
  [ -e "$d/nccl.h" ] && { nccl_inc=$d; break; }
done
echo "NCCL library dir: ${nccl_lib:-none}; header dir: ${nccl_inc:-none}" | tee "$logs/nccl-location.txt"
[ -n "$nccl_lib" ] && [ -n "$nccl_inc" ] || { echo "no NCCL found" >&2; exit 1; }

# nccl-tests links -lnccl: give it a directory with the soname link if only libnccl.so.2 exists.
linkdir=$work/ncclink
mkdir -p "$linkdir/lib" "$linkdir/include"
ln -sf "$nccl_lib"/libnccl.so.2 "$linkdir/lib/libnccl.so"
cp "$nccl_inc"/nccl*.h "$linkdir/include/" 2>/dev/null
cp -r "$src" "$work/nccl-tests"
( cd "$work/nccl-tests/src" && make -j16 NCCL_HOME="$linkdir" CUDA_HOME=/usr/local/cuda \
    NVCC_GENCODE="-gencode=arch=compute_90,code=sm_90" BUILDDIR="$work/bin" ) >"$logs/build.log" 2>&1 \
  || { tail -30 "$logs/build.log"; exit 1; }
export LD_LIBRARY_PATH=$nccl_lib:${LD_LIBRARY_PATH:-}

{
  date -u
  nvidia-smi
  nvidia-smi topo -m
  nvidia-smi nvlink -s
  lscpu
  nproc
} >"$logs/env.txt" 2>&1

pack() { # pack NAME: the logs into OUTDIR/NAME-gGPUS.tar.gz, then stop
  mkdir -p "$outdir"
  tar -C "$work" -czf "$outdir/$1-g$gpus.tar.gz" "g$gpus"
  ls -la "$outdir"
  exit 0
}

finish() { # finish MODE TITLE SETUP: README.md (title, how taken, then the file list read from stdin), pack
  {
    echo "# Measured: $gpus GPUs, $2 (tools/measure-nccl.sh ... $1)"
    echo
    echo "Taken on $(date -u +%Y-%m-%d). nccl-tests built for sm_90 from its public source; $3"
    echo "NCCL_NVLS_ENABLE=0, NCCL_DEBUG=INFO with ${NCCL_DEBUG_SUBSYS:-no subsystem filter}. NCCL library: nccl-location.txt."
    cat
  } >"$logs/README.md"
  pack "$1"
}

run() { # run NAME BINARY ARGS... (environment set by caller; -g GPUS unless ARGS give -g)
  local name=$1; shift
  local bin=$1; shift
  local g=(-g "$gpus")
  case " $* " in *" -g "*) g=() ;; esac
  echo "== $name" >&2
  timeout 300 "$work/bin/$bin" "${g[@]}" "$@" >"$logs/$name.log" 2>&1
  echo "exit $?" >>"$logs/$name.log"
}

if [ "$quick" = calibrate ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  cs="-b 8 -e 1G -f 2"
  for rep in 1 2; do
    for op in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv; do
      c=(-c 0); [ $op = all_reduce ] && c=()
      run ${op}_rep$rep ${op}_perf $cs "${c[@]}"
    done
  done
  for op in all_reduce all_gather broadcast sendrecv; do
    run ${op}_graph ${op}_perf $cs -c 0 -G 1
    run ${op}_threads ${op}_perf $cs -c 0 -t "$gpus" -g 1
  done
  for op in all_gather broadcast reduce sendrecv; do
    for ch in 1 2 4; do
      for proto in SIMPLE LL; do
        e=1G; [ $proto = LL ] && e=128M
        NCCL_PROTO=$proto NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch \
          run ${op}_${proto}_ch$ch ${op}_perf -b 64K -e $e -f 4 -c 0
      done
    done
  done
  for op in all_gather broadcast; do
    for bs in 1048576 16777216; do
      NCCL_BUFFSIZE=$bs run ${op}_buff$bs ${op}_perf -b 1M -e 256M -f 2 -c 0
    done
  done
  finish calibrate "calibration sets" \
    "float, sum, default warmup/iterations, -c 0 except the all_reduce repeats; each log also has its 'NCCL version' line." <<EOF
- <op>_rep1/2.log: default sweeps -b 8 -e 1G -f 2, each in a fresh process (run-to-run spread).
- <op>_graph.log: the same launched through CUDA graphs (-G 1); <op>_threads.log: one thread per GPU
  (-t $gpus -g 1). With the repeats they separate host enqueue time from device time.
- <op>_<PROTO>_ch<N>.log: NCCL_PROTO, NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N, -b 64K -e 1G (LL: 128M) -f 4.
- <op>_buff<BYTES>.log: NCCL_BUFFSIZE=BYTES, -b 1M -e 256M -f 2.
EOF
fi

if [ "$quick" = direct ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  ds="-b 1M -e 2G -f 2 -c 0"
  for op in all_gather reduce_scatter all_reduce broadcast reduce alltoall sendrecv; do
    run ${op}_direct ${op}_perf $ds
    NCCL_P2P_DIRECT_DISABLE=1 run ${op}_ipc ${op}_perf $ds
  done
  for ch in 8 16; do
    NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch run all_gather_ch$ch all_gather_perf $ds
  done
  finish direct "direct pointers against IPC" \
    "one process, -g $gpus; float, sum, default warmup/iterations, -b 1M -e 2G -f 2 -c 0; the INIT lines show each connection's transport." <<EOF
- <op>_direct.log: NCCL's default in one process (P2P/direct pointer).
- <op>_ipc.log: NCCL_P2P_DIRECT_DISABLE=1 (P2P through IPC handles, what separate processes get).
- all_gather_ch<N>.log: NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N.
EOF
fi

if [ "$quick" = threads ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  for op in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv; do
    c=(-c 0); [ $op = all_reduce ] && c=()
    run ${op}_threads ${op}_perf -b 8 -e 8G -f 2 -t "$gpus" -g 1 "${c[@]}"
  done
  for g in 2 3; do
    [ "$g" -lt "$gpus" ] || continue
    for op in all_reduce sendrecv; do
      c=(-c 0); [ $op = all_reduce ] && c=()
      CUDA_VISIBLE_DEVICES=$(seq -s, 0 $((g - 1))) run g${g}_${op}_threads ${op}_perf -b 8 -e 8G -f 2 -t $g -g 1 "${c[@]}"
    done
  done
  finish threads "device time without the single host thread" \
    "one process with one host thread per GPU (-t N -g 1), so no thread enqueues on more than one GPU; float, sum, default warmup/iterations, -b 8 -e 8G -f 2, -c 0 except all_reduce." <<EOF
- <op>_threads.log: all $gpus GPUs. g<N>_<op>_threads.log: the first N GPUs (CUDA_VISIBLE_DEVICES).
EOF
fi

if [ "$quick" = devicefit ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  fs="-b 8 -e 1G -f 4"
  t=(-t "$gpus" -g 1)
  for algo in RING TREE; do
    for proto in LL LL128 SIMPLE; do
      NCCL_ALGO=$algo NCCL_PROTO=$proto run all_reduce_${algo}_${proto} all_reduce_perf $fs "${t[@]}"
    done
  done
  for op in all_gather reduce_scatter broadcast reduce; do
    for proto in LL LL128 SIMPLE; do
      NCCL_PROTO=$proto run ${op}_${proto} ${op}_perf $fs -c 0 "${t[@]}"
    done
  done
  for proto in LL LL128 SIMPLE; do
    NCCL_PROTO=$proto NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 run all_reduce_${proto}_ch1 all_reduce_perf $fs "${t[@]}"
  done
  for op in all_reduce sendrecv; do
    run ${op}_rep ${op}_perf -b 8 -e 1G -f 2 "${t[@]}"
    run ${op}_graph ${op}_perf -b 8 -e 1G -f 2 -G 1 "${t[@]}"
  done
  if [ "$gpus" -gt 2 ]; then
    for proto in LL LL128 SIMPLE; do
      NCCL_PROTO=$proto CUDA_VISIBLE_DEVICES=0,1 run g2_all_reduce_${proto} all_reduce_perf $fs -t 2 -g 1
    done
    for op in all_gather reduce_scatter broadcast alltoall; do
      CUDA_VISIBLE_DEVICES=0,1 run g2_${op} ${op}_perf $fs -c 0 -t 2 -g 1
    done
  fi
  finish devicefit "protocol variants timed on the device (one thread per GPU)" \
    "one process with one host thread per GPU (-t N -g 1); float, sum, default warmup/iterations, -b 8 -e 1G -f 4 unless said, -c 0 except all_reduce." <<EOF
- all_reduce_<ALGO>_<PROTO>.log: NCCL_ALGO and NCCL_PROTO forced. <op>_<PROTO>.log: NCCL_PROTO forced.
- all_reduce_<PROTO>_ch1.log: NCCL_PROTO and NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=1.
- <op>_rep.log: NCCL's defaults, -b 8 -e 1G -f 2, a fresh process (compare with ../h200x4-threads).
- <op>_graph.log: the same launched through CUDA graphs (-G 1).
- g2_*.log: the first 2 GPUs (CUDA_VISIBLE_DEVICES=0,1, -t 2 -g 1); g2_all_reduce_<PROTO>: NCCL_PROTO forced.
EOF
fi

if [ "$quick" = periter ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  ps_="-b 4M -e 1G -f 2 -c 0 -I 1"
  iter_run() { # iter_run NAME BINARY ARGS...: run with the per-iteration JSON beside the log
    local name=$1; shift
    ( cd "$logs" && run "$name" "$@" -J "$name.json" )
    # keep the results and the test's configuration; the JSON also lists the whole process environment
    python3 - "$logs/$name.json" <<'PY' || true
import json, os, sys
p = sys.argv[1]
d = json.load(open(p))
keep = {k: d[k] for k in ("version", "nccl_version", "config", "results") if k in d}
keep["args"] = [os.path.basename(a) for a in d.get("args", [])]
json.dump(keep, open(p, "w"), indent=1)
PY
  }
  iter_run all_gather_n20 all_gather_perf $ps_ -n 20
  iter_run all_gather_n100 all_gather_perf $ps_ -n 100
  iter_run all_gather_z3 all_gather_perf $ps_ -n 20 -z 3
  iter_run all_reduce_g2_n20 all_reduce_perf -g 2 $ps_ -n 20
  iter_run all_reduce_g2_n100 all_reduce_perf -g 2 $ps_ -n 100
  iter_run all_reduce_g2_z3 all_reduce_perf -g 2 $ps_ -n 20 -z 3
  iter_run reduce_scatter_n20 reduce_scatter_perf $ps_ -n 20
  iter_run all_reduce_n20 all_reduce_perf $ps_ -n 20
  iter_run broadcast_n20 broadcast_perf $ps_ -n 20
  iter_run broadcast_n100 broadcast_perf $ps_ -n 100
  iter_run sendrecv_n20 sendrecv_perf $ps_ -n 20
  NCCL_MIN_NCHANNELS=16 NCCL_MAX_NCHANNELS=16 iter_run all_gather_ch16_n20 all_gather_perf $ps_ -n 20
  # the same rings with per-line flags instead of per-step ones, with the receiver reading instead of
  # the sender writing, and with half the threads per channel (less load per channel, same link)
  NCCL_PROTO=LL128 iter_run all_gather_ll128 all_gather_perf $ps_ -n 20
  NCCL_PROTO=LL128 iter_run all_reduce_g2_ll128 all_reduce_perf -g 2 $ps_ -n 20
  NCCL_P2P_READ_ENABLE=1 iter_run all_gather_read all_gather_perf $ps_ -n 20
  NCCL_P2P_READ_ENABLE=1 iter_run all_reduce_g2_read all_reduce_perf -g 2 $ps_ -n 20
  NCCL_NTHREADS=256 iter_run all_gather_t256 all_gather_perf $ps_ -n 20
  finish periter "per-iteration times" \
    "one process, -g $gpus unless the name says g2; float, sum, -b 4M -e 1G -f 2 -c 0, -I 1 (CUDA events around every iteration; the log's table gains min/max/p99/cv columns, <name>.json lists every iteration's time, the slowest GPU's)." <<EOF
- <op>_n20 / _n100: -n 20 / -n 100 iterations launched back to back (-z 0).
- <op>_z3: -z 3, a stream sync and barrier after every iteration (the GPU idles between calls).
- all_gather_ch16_n20: NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=16.
- <op>_ll128: NCCL_PROTO=LL128; <op>_read: NCCL_P2P_READ_ENABLE=1; all_gather_t256: NCCL_NTHREADS=256.
EOF
fi

if [ "$quick" = launch ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  ls_="-b 16M -e 4G -f 4 -c 0"
  for op in all_gather all_reduce broadcast; do
    for agg in 1 8; do
      run ${op}_agg$agg ${op}_perf $ls_ -m $agg
    done
  done
  run all_reduce_g2_agg1 all_reduce_perf -g 2 $ls_ -m 1
  run all_reduce_g2_agg8 all_reduce_perf -g 2 $ls_ -m 8
  for ch in 18 20 22 28 32; do
    NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch run all_gather_ch$ch all_gather_perf $ls_
  done
  finish launch "one launch for several calls, and channel counts" \
    "one process, -g $gpus unless the name says g2; float, sum, default warmup/iterations, -b 16M -e 4G -f 4 -c 0." <<EOF
- <op>_agg<M>.log: nccl-tests -m M (M calls grouped, so NCCL runs them in one kernel launch; the table
  gives the time per call).
- all_gather_ch<N>.log: NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N.
EOF
fi

if [ "$quick" = p2p ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  p2s="-b 256K -e 1G -f 2 -c 0 -t $gpus -g 1"
  run sendrecv_default sendrecv_perf $p2s
  for ch in 1 2 4 8 16; do
    NCCL_MAX_P2P_NCHANNELS=$ch run sendrecv_ch$ch sendrecv_perf $p2s
  done
  NCCL_P2P_NVL_CHUNKSIZE=131072 run sendrecv_chunk128K sendrecv_perf $p2s
  NCCL_P2P_NVL_CHUNKSIZE=2097152 NCCL_BUFFSIZE=16777216 run sendrecv_chunk2M sendrecv_perf $p2s
  NCCL_P2P_READ_ENABLE=1 run sendrecv_read sendrecv_perf $p2s
  NCCL_NTHREADS=256 run sendrecv_t256 sendrecv_perf $p2s
  NCCL_MAX_P2P_NCHANNELS=1 NCCL_P2P_NVL_CHUNKSIZE=131072 run sendrecv_ch1_chunk128K sendrecv_perf $p2s
  run alltoall_default alltoall_perf $p2s
  run sendrecv_repeat sendrecv_perf $p2s
  finish p2p "send/recv channel, chunk and transport variants" \
    "-t $gpus -g 1 (one host thread per GPU), float, sum, -b 256K -e 1G -f 2 -c 0." <<EOF
- sendrecv_default, sendrecv_repeat: NCCL's defaults, twice (run-to-run spread).
- sendrecv_ch<N>: NCCL_MAX_P2P_NCHANNELS=N (NCCL's p2p channels capped at N; how many a peer gets also depends on the rank count and the size, the `ch` column of `ccsim compare`).
- sendrecv_chunk128K / _chunk2M: NCCL_P2P_NVL_CHUNKSIZE=131072 / 2097152 (with NCCL_BUFFSIZE=16777216 so
  that 8 steps of 2 MiB fit); sendrecv_ch1_chunk128K: both on one channel.
- sendrecv_read: NCCL_P2P_READ_ENABLE=1; sendrecv_t256: NCCL_NTHREADS=256.
- alltoall_default: alltoall with NCCL's defaults.
EOF
fi

if [ "$quick" = nthreads ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  nts="-b 1M -e 1G -f 4 -c 0 -t $gpus -g 1"
  for nt in 64 128 256 512; do
    NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=$nt \
      run all_gather_ch1_t$nt all_gather_perf $nts
    NCCL_PROTO=Simple NCCL_NTHREADS=$nt run all_gather_t$nt all_gather_perf $nts
    NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=$nt \
      run broadcast_ch1_t$nt broadcast_perf $nts
  done
  finish nthreads "channel rate against thread count" \
    "-t $gpus -g 1 (one host thread per GPU), float, sum, -b 1M -e 1G -f 4 -c 0, NCCL_PROTO=Simple." <<EOF
- all_gather_ch1_t<N>, broadcast_ch1_t<N>: NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=1, NCCL_NTHREADS=N.
- all_gather_t<N>: NCCL's default channel count, NCCL_NTHREADS=N.
EOF
fi

if [ "$quick" = dtypes ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  dts="-b 8 -e 8G -f 2 -c 0 -t $gpus -g 1"
  run all_reduce_float_sum all_reduce_perf $dts
  for t in half bfloat16 double int8 f8e4m3; do
    run all_reduce_${t}_sum all_reduce_perf $dts -d $t
  done
  for o in prod max avg; do
    run all_reduce_float_$o all_reduce_perf $dts -o $o
  done
  for t in half double int8; do
    run reduce_scatter_${t}_sum reduce_scatter_perf $dts -d $t
  done
  for t in half int8; do
    run reduce_${t}_sum reduce_perf $dts -d $t
  done
  NCCL_ALGO=TREE run all_reduce_half_sum_TREE all_reduce_perf $dts -d half
  run all_reduce_half_sum_1proc all_reduce_perf -b 8 -e 8G -f 2 -c 0 -d half
  finish dtypes "element types and reduction operators" \
    "-t $gpus -g 1 (one host thread per GPU) unless the name ends in _1proc (-g $gpus), -b 8 -e 8G -f 2 -c 0." <<EOF
- <op>_<type>_<redop>.log: nccl-tests -d <type> -o <redop> (float sum: the control, same session).
- all_reduce_half_sum_TREE.log: NCCL_ALGO=TREE.
- all_reduce_half_sum_1proc.log: one process, one thread driving all GPUs (nccl-tests' default).
EOF
fi

if [ "$quick" = onegpu ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  for op in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv; do
    run ${op}_default ${op}_perf -b 8 -e 8G -f 2 -c 0
  done
  run all_reduce_avg all_reduce_perf -b 8 -e 8G -f 2 -c 0 -o avg
  run all_reduce_repeat all_reduce_perf -b 1M -e 8G -f 2 -c 0
  nvidia-smi -q -d CLOCK,MEMORY >>"$logs/env.txt" 2>&1
  finish onegpu "a one-GPU communicator" "-g 1, float, sum unless named, -b 8 -e 8G -f 2 -c 0." <<EOF
- <op>_default.log: each operation on one GPU.
- all_reduce_avg.log: -o avg (NCCL runs a kernel that scales the copy; sum only copies).
- all_reduce_repeat.log: 1 MiB - 8 GiB again, in a fresh process (run-to-run spread of the copy rate).
EOF
fi

if [ "$quick" = shm ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV NCCL_P2P_DISABLE=1
  NCCL_TOPO_DUMP_FILE="$logs/topo.xml" NCCL_GRAPH_DUMP_FILE="$logs/graph.xml" \
    run all_reduce_shm all_reduce_perf -b 8 -e 1G -f 2
  for op in all_gather reduce_scatter broadcast reduce alltoall sendrecv; do
    run ${op}_shm ${op}_perf -b 8 -e 1G -f 2 -c 0
  done
  run g2_all_reduce_shm all_reduce_perf -g 2 -b 8 -e 1G -f 2 -c 0
  run g2_sendrecv_shm sendrecv_perf -g 2 -b 8 -e 1G -f 2 -c 0
  run all_reduce_shm_threads all_reduce_perf -b 8 -e 1G -f 2 -c 0 -t "$gpus" -g 1
  run sendrecv_shm_threads sendrecv_perf -b 8 -e 1G -f 2 -c 0 -t "$gpus" -g 1
  finish shm "GPUs through host memory (NCCL_P2P_DISABLE=1, SHM transport)" \
    "NCCL_P2P_DISABLE=1; one process, -g $gpus unless named g2 (-g 2) or _threads (-t $gpus -g 1), -b 8 -e 1G -f 2." <<EOF
- <op>_shm.log: each operation with P2P disabled (INFO with INIT,TUNING,ENV: the logs show the setting).
- topo.xml, graph.xml: NCCL's topology and graph dumps of this run.
EOF
fi

if [ "$quick" = shmstep ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV NCCL_P2P_DISABLE=1
  ss="-b 64K -e 512M -f 4 -c 0 -t $gpus -g 1"
  for op in all_reduce all_gather; do
    NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_PROTO=Simple run ${op}_ch1_simple ${op}_perf $ss
    NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_PROTO=Simple NCCL_BUFFSIZE=1048576 \
      run ${op}_ch1_simple_buff1M ${op}_perf $ss
  done
  NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_PROTO=LL128 run all_reduce_ch1_ll128 all_reduce_perf $ss
  NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_PROTO=LL run all_reduce_ch1_ll all_reduce_perf $ss
  NCCL_MAX_P2P_NCHANNELS=1 run sendrecv_ch1 sendrecv_perf $ss
  NCCL_MAX_P2P_NCHANNELS=1 NCCL_P2P_NET_CHUNKSIZE=524288 NCCL_P2P_PCI_CHUNKSIZE=524288 \
    run sendrecv_ch1_chunk512K sendrecv_perf $ss
  finish shmstep "steps through host memory (NCCL_P2P_DISABLE=1, one channel)" \
    "NCCL_P2P_DISABLE=1; -t $gpus -g 1 (one host thread per GPU), -b 64K -e 512M -f 4 -c 0." <<EOF
- <op>_ch1_simple[_buff1M].log: NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=1, NCCL_PROTO=Simple (NCCL_BUFFSIZE=1048576).
- all_reduce_ch1_ll128 / _ll: the same with NCCL_PROTO=LL128 / LL.
- sendrecv_ch1[_chunk512K]: NCCL_MAX_P2P_NCHANNELS=1 (NCCL_P2P_NET_CHUNKSIZE=NCCL_P2P_PCI_CHUNKSIZE=524288).
EOF
fi

if [ "$quick" = llsteps ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV
  for proto in LL128 LL; do
    e=1G; [ $proto = LL ] && e=256M
    for ch in 1 4; do
      for op in all_reduce all_gather reduce_scatter broadcast reduce; do
        [ $proto = LL ] && [ $op != all_reduce ] && continue # LL's chains and rings: h200x4-calibrate
        NCCL_PROTO=$proto NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch \
          run ${op}_${proto}_ch$ch ${op}_perf -b 64K -e $e -f 4 -c 0 -t "$gpus" -g 1
      done
    done
    for g in 2 3; do
      [ "$g" -lt "$gpus" ] || continue
      NCCL_PROTO=$proto NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 \
        run g${g}_all_reduce_${proto}_ch1 all_reduce_perf -b 64K -e $e -f 4 -c 0 -t "$g" -g 1
    done
    for g in 2 3 "$gpus"; do
      [ "$g" -le "$gpus" ] || continue
      NCCL_ALGO=TREE NCCL_PROTO=$proto NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 \
        run g${g}_all_reduce_TREE_${proto}_ch1 all_reduce_perf -b 64K -e $e -f 4 -c 0 -t "$g" -g 1
    done
  done
  finish llsteps "LL and LL128 steps on 1 and 4 channels" \
    "NCCL_PROTO forced, NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N, one host thread per GPU (-t G -g 1), -b 64K -e 1G (LL: 256M) -f 4 -c 0." <<EOF
- <op>_<PROTO>_ch<N>.log: all GPUs, NCCL_PROTO=PROTO, N channels (LL: all_reduce only; its other
  operations are in ../h200x4-calibrate).
- g<G>_all_reduce_<PROTO>_ch1.log: the first G GPUs, one channel.
- g<G>_all_reduce_TREE_<PROTO>_ch1.log: the same with NCCL_ALGO=TREE.
EOF
fi

if [ "$quick" = shmload ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV NCCL_P2P_DISABLE=1
  sl=(-b 64M -e 1G -f 4 -c 0)
  for op in broadcast reduce all_gather reduce_scatter all_reduce; do
    run g2_${op} ${op}_perf "${sl[@]}" -t 2 -g 1
  done
  for pair in 0,2 0,3; do
    CUDA_VISIBLE_DEVICES=$pair run pair${pair/,/}_all_reduce all_reduce_perf "${sl[@]}" -t 2 -g 1
  done
  CUDA_VISIBLE_DEVICES=0,2 run pair02_broadcast broadcast_perf "${sl[@]}" -t 2 -g 1
  if [ "$gpus" -ge 3 ]; then
    for op in broadcast all_gather all_reduce; do
      run g3_${op} ${op}_perf "${sl[@]}" -t 3 -g 1
    done
  fi
  NCCL_GRAPH_DUMP_FILE="$logs/graph.xml" run g${gpus}_all_gather all_gather_perf "${sl[@]}" -t "$gpus" -g 1
  run g${gpus}_broadcast broadcast_perf "${sl[@]}" -t "$gpus" -g 1
  for ch in 2 8; do
    for op in broadcast all_gather; do
      NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch run g${gpus}_${op}_ch$ch ${op}_perf "${sl[@]}" -t "$gpus" -g 1
    done
  done
  finish shmload "what bounds GPUs exchanging data through host memory (NCCL_P2P_DISABLE=1)" \
    "NCCL_P2P_DISABLE=1, one host thread per GPU (-t G -g 1, device time), float, sum, -b 64M -e 1G -f 4 -c 0." <<EOF
- g<G>_<op>.log: the first G GPUs, NCCL's channels; g<G>_<op>_ch<N>.log: NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N.
- pair<AB>_<op>.log: CUDA_VISIBLE_DEVICES=A,B (is a pair of GPUs bound differently from another pair?).
- graph.xml: NCCL_GRAPH_DUMP_FILE of the all-GPU all_gather run (the rings' order).
EOF
fi

if [ "$quick" = chainthreads ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  ct=(-b 4M -e 256M -f 2 -c 0)
  for rep in 1 2; do
    for g in 3 "$gpus"; do
      [ "$g" -le "$gpus" ] || continue
      for op in broadcast reduce all_gather; do
        run g${g}_${op}_onethread_rep$rep ${op}_perf "${ct[@]}" -g "$g"
        run g${g}_${op}_threads_rep$rep ${op}_perf "${ct[@]}" -t "$g" -g 1
      done
    done
  done
  finish chainthreads "chains with one host thread against one thread per GPU" \
    "float, sum, default warmup/iterations, -b 4M -e 256M -f 2 -c 0, each run a fresh process." <<EOF
- g<G>_<op>_onethread_rep<R>.log: the first G GPUs driven by one thread (-g G).
- g<G>_<op>_threads_rep<R>.log: the same with one thread per GPU (-t G -g 1).
EOF
fi

if [ "$quick" = hostloop ]; then
  hl=(-b 8 -e 64K -f 2 -c 0)
  for rep in 1 2 3 4 5 6; do
    for g in "$gpus" 2 3; do
      [ "$g" -le "$gpus" ] || continue
      [ "$g" != "$gpus" ] && [ "$rep" -gt 3 ] && continue
      NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING run g${g}_tuning_n20_rep$rep all_reduce_perf "${hl[@]}" -g "$g"
      NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING run g${g}_tuning_n100_rep$rep all_reduce_perf "${hl[@]}" -g "$g" -w 20 -n 100
      NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT run g${g}_init_n20_rep$rep all_reduce_perf "${hl[@]}" -g "$g"
      NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT run g${g}_init_n100_rep$rep all_reduce_perf "${hl[@]}" -g "$g" -w 20 -n 100
    done
  done
  finish hostloop "host enqueue time against logging and iteration count" \
    "one process, float, sum, -b 8 -e 64K -f 2 -c 0, each run a fresh process, the variants interleaved." <<EOF
- g<G>_tuning_n<N>_rep<R>.log: the first G GPUs, NCCL_DEBUG_SUBSYS=INIT,TUNING (NCCL prints a line per
  call), nccl-tests' default -w 1 -n 20 (n20) or -w 20 -n 100 (n100).
- g<G>_init_n<N>_rep<R>.log: the same with NCCL_DEBUG_SUBSYS=INIT (no line per call).
EOF
fi

if [ "$quick" = hostcpu ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
  hs=(-b 8 -e 64K -f 2 -c 0 -w 20 -n 100)
  stop=$((SECONDS + ${HOSTCPU_SECONDS:-420}))
  watch() { # watch NAME [CPU]: one sweep, pinned to CPU if given, the main thread's CPU sampled every 50 ms
    local name=$1 cpu=${2:-} pin=() pid samples=""
    [ -n "$cpu" ] && pin=(taskset -c "$cpu")
    echo "== $name" >&2
    "${pin[@]}" timeout 120 "$work/bin/all_reduce_perf" -g "$gpus" "${hs[@]}" >"$logs/$name.log" 2>&1 &
    pid=$!
    local bench=""
    while kill -0 "$pid" 2>/dev/null; do
      [ -z "$bench" ] && bench=$(pgrep -P "$pid" -f all_reduce_perf | head -1)
      [ -n "$bench" ] && samples+="$(awk '{print $39}' "/proc/$bench/stat" 2>/dev/null) "
      sleep 0.05
    done
    wait "$pid"
    echo "exit $?" >>"$logs/$name.log"
    echo "# main thread on cpus: $samples" >>"$logs/$name.log"
  }
  ncpu=$(nproc)
  for rep in 1 2 3 4 5 6 7 8; do watch free_rep$rep; done
  for ((k = 0; k < ncpu && SECONDS < stop; k++)); do watch pin_cpu${k}_a "$k"; done
  for ((k = ncpu - 1; k >= 0 && SECONDS < stop; k--)); do watch pin_cpu${k}_b "$k"; done
  for rep in 9 10 11 12 13 14 15 16; do [ $SECONDS -lt $stop ] && watch free_rep$rep; done
  lscpu -e >"$logs/lscpu-e.txt" 2>&1
  grep MHz /proc/cpuinfo >"$logs/cpu-mhz.txt" 2>&1
  finish hostcpu "host enqueue time against the host CPU" \
    "one process (-g $gpus), float, sum, -b 8 -e 64K -f 2 -c 0 -w 20 -n 100." <<EOF
- free_rep<N>.log: unpinned, each in a fresh process; the last line lists the CPU the main thread was
  on, sampled every 50 ms from start to exit.
- pin_cpu<K>_a.log / pin_cpu<K>_b.log: the process pinned to CPU K (taskset -c K), first pass in CPU
  order, second in reverse order (runs not taken when the time ran out are missing).
- lscpu-e.txt, cpu-mhz.txt: the CPUs as the guest sees them.
EOF
fi

if [ "$quick" = treech ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV
  tc="-b 16M -e 1G -f 4 -t $gpus -g 1"
  chans() { # chans ALGO PROTO LIST...: the sweep on each channel count (0: NCCL's default)
    local algo=$1 proto=$2; shift 2
    for ch in "$@"; do
      if [ "$ch" = 0 ]; then
        NCCL_ALGO=$algo NCCL_PROTO=$proto run all_reduce_${algo}_${proto}_default all_reduce_perf $tc
      else
        NCCL_ALGO=$algo NCCL_PROTO=$proto NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch \
          run all_reduce_${algo}_${proto}_ch$ch all_reduce_perf $tc
      fi
    done
  }
  chans TREE LL128 1 2 4 8 12 16 0
  for nt in 320 480; do
    NCCL_ALGO=TREE NCCL_PROTO=LL128 NCCL_LL128_NTHREADS=$nt NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 \
      run all_reduce_TREE_LL128_ch1_t$nt all_reduce_perf $tc
    NCCL_ALGO=TREE NCCL_PROTO=LL128 NCCL_LL128_NTHREADS=$nt run all_reduce_TREE_LL128_default_t$nt all_reduce_perf $tc
  done
  chans TREE LL 1 4 0
  chans TREE SIMPLE 1 4 0
  chans RING LL128 1 4 0
  finish treech "tree all_reduce per channel count" \
    "one host thread per GPU (-t $gpus -g 1), float, sum, default warmup/iterations, -b 16M -e 1G -f 4." <<EOF
- all_reduce_<ALGO>_<PROTO>_ch<N>.log: NCCL_ALGO, NCCL_PROTO, NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N.
- all_reduce_<ALGO>_<PROTO>_default.log: NCCL_ALGO and NCCL_PROTO, NCCL's channels.
- all_reduce_TREE_LL128_*_t<T>.log: the same with NCCL_LL128_NTHREADS=T.
EOF
fi

if [ "$quick" = llthreads ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV
  big="-b 4M -e 64M -f 4 -c 0 -t $gpus -g 1 -w 5 -n 20"
  for nt in 64 128 256 512; do
    for op in all_reduce all_gather; do
      NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=$nt \
        run ${op}_LL_ch1_t$nt ${op}_perf $big
    done
  done
  for g in 2 3 "$gpus"; do
    [ "$g" -le "$gpus" ] || continue
    small="-b 8 -e 1M -f 2 -c 0 -t $g -g 1 -w 20 -n 100"
    NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 run g${g}_all_reduce_LL_ch1 all_reduce_perf $small
    NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 NCCL_NTHREADS=128 \
      run g${g}_all_reduce_LL_ch1_t128 all_reduce_perf $small
    run g${g}_all_reduce_default all_reduce_perf -b 8 -e 4M -f 2 -c 0 -t "$g" -g 1 -w 20 -n 100
  done
  finish llthreads "LL blocks against their thread count" \
    "one host thread per GPU (-t G -g 1), float, sum, -c 0; 4-64 MiB sweeps -w 5 -n 20, the others -w 20 -n 100." <<EOF
- <op>_LL_ch1_t<N>.log: all GPUs, NCCL_PROTO=LL, NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=1, NCCL_NTHREADS=N, 4-64 MiB.
- g<G>_all_reduce_LL_ch1.log: the first G GPUs, LL on one channel, 8 B - 1 MiB (NCCL picks the threads:
  it halves them for small calls); _t128: the same with NCCL_NTHREADS=128.
- g<G>_all_reduce_default.log: the first G GPUs, NCCL's defaults, 8 B - 4 MiB.
EOF
fi

if [ "$quick" = blocking ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV
  b="-b 8 -e 256M -f 2 -c 0"
  for op in all_reduce all_gather broadcast sendrecv; do
    run ${op}_default ${op}_perf $b
    run ${op}_z3 ${op}_perf $b -z 3
    run ${op}_graph ${op}_perf $b -G 1
  done
  run all_reduce_z2 all_reduce_perf $b -z 2
  run all_reduce_z3_threads all_reduce_perf $b -z 3 -t "$gpus" -g 1
  run all_reduce_threads all_reduce_perf $b -t "$gpus" -g 1
  if [ "$gpus" -gt 2 ]; then
    for op in all_reduce sendrecv; do
      run g2_${op}_default ${op}_perf $b -g 2
      run g2_${op}_z3 ${op}_perf $b -g 2 -z 3
    done
  fi
  for op in sendrecv broadcast all_reduce; do
    NCCL_GRAPH_REGISTER=0 run ${op}_graph_noreg ${op}_perf $b -G 1
  done
  finish blocking "nccl-tests timing modes: blocking calls and CUDA graphs" \
    "one process, float, sum, $b, default warmup/iterations." <<EOF

| file | what |
| --- | --- |
| \`<op>_default.log\` | the default loop: calls back to back, one host thread enqueuing on every GPU |
| \`<op>_z3.log\` | -z 3: a stream sync after every call (timed) and a barrier (not timed) |
| \`all_reduce_z2.log\` | -z 2: a stream sync after every call, no barrier |
| \`all_reduce_z3_threads.log\`, \`all_reduce_threads.log\` | one host thread per GPU (-t $gpus -g 1), with and without -z 3 |
| \`g2_<op>_*.log\` | the first 2 GPUs (when there are more) |
| \`<op>_graph.log\` | -G 1: the timed calls captured into one CUDA graph per GPU and launched once |
| \`<op>_graph_noreg.log\` | the same with NCCL_GRAPH_REGISTER=0 (NCCL does not register the user buffers under capture) |
EOF
fi

if [ "$quick" = llsize ]; then
  export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING,ENV
  nvidia-smi --query-gpu=timestamp,index,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv \
    -lms 50 >"$logs/clocks.csv" 2>&1 &
  smi=$!
  one="-c 0 -t $gpus -g 1 -w 20 -n 100"
  for op in all_reduce all_gather; do
    NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 run ${op}_LL_ch1 ${op}_perf -b 256K -e 16M -f 2 $one
  done
  NCCL_PROTO=LL NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 \
    run all_reduce_LL_ch1_1M_n2000 all_reduce_perf -b 1M -e 1M -c 0 -t "$gpus" -g 1 -w 20 -n 2000
  NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1 \
    run all_reduce_SIMPLE_ch1 all_reduce_perf -b 256K -e 16M -f 2 $one
  kill "$smi" 2>/dev/null
  finish llsize "one-channel LL rings from 256 KiB to 16 MiB" \
    "one host thread per GPU (-t G -g 1), float, sum, -c 0, -w 20 -n 100 unless named." <<EOF
- <op>_LL_ch1.log: NCCL_PROTO=LL, NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=1, 256 KiB - 16 MiB.
- all_reduce_LL_ch1_1M_n2000.log: the same at 1 MiB only, 2000 iterations.
- all_reduce_SIMPLE_ch1.log: NCCL_PROTO=Simple on one channel, 256 KiB - 16 MiB.
- clocks.csv: nvidia-smi every 50 ms during all of the above (SM and memory clock, power, temperature).
EOF
fi

sweep="-b 8 -e 8G -f 2"
vsweep=$sweep
[ "$quick" = quick ] && vsweep="-b 8 -e 1G -f 2"

# Topology and graph dumps come from the first all_reduce run.
NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,GRAPH,TUNING,ENV NCCL_TOPO_DUMP_FILE="$logs/topo.xml" \
  NCCL_GRAPH_DUMP_FILE="$logs/graph.xml" run all_reduce_default all_reduce_perf $sweep
for op in all_gather reduce_scatter broadcast reduce alltoall sendrecv; do
  NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,GRAPH,TUNING run ${op}_default ${op}_perf $sweep -c 0
done
for algo in RING TREE; do
  for proto in LL LL128 SIMPLE; do
    NCCL_ALGO=$algo NCCL_PROTO=$proto NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING \
      run all_reduce_${algo}_${proto} all_reduce_perf $vsweep
  done
done
for ch in 1 4 16; do
  NCCL_MIN_NCHANNELS=$ch NCCL_MAX_NCHANNELS=$ch NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING \
    run all_reduce_ch$ch all_reduce_perf $vsweep
done

cat >"$logs/README.md" <<EOF
# Measured: $gpus GPUs, one process (nccl-tests -g $gpus)

Taken with tools/measure-nccl.sh on $(date -u +%Y-%m-%d). nccl-tests built for sm_90 from its public
source; float, sum, default warmup/iterations; collectives other than all_reduce ran with -c 0.
NCCL_NVLS_ENABLE=0. NCCL library: see nccl-location.txt and the "NCCL version" line of each log.
Files: env.txt (nvidia-smi, topo -m, nvlink -s), topo.xml (NCCL_TOPO_DUMP_FILE), graph.xml
(NCCL_GRAPH_DUMP_FILE), <op>_default.log (-b 8 -e 8G -f 2, INFO with INIT,GRAPH,TUNING),
all_reduce_<ALGO>_<PROTO>.log (NCCL_ALGO/NCCL_PROTO forced; sweep: $vsweep),
all_reduce_ch<N>.log (NCCL_MIN_NCHANNELS=NCCL_MAX_NCHANNELS=N; sweep: $vsweep).
EOF
mkdir -p "$outdir"
tar -C "$work" -czf "$outdir/measure-g$gpus.tar.gz" "g$gpus"
ls -la "$outdir"
grep -h "Avg bus bandwidth" "$logs"/*.log | head -20
