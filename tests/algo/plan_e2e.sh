#!/bin/sh
# plan_e2e.sh — end to end: `ccsim plan` on the virtual platform (real NCCL) must print exactly the
# golden op list. Usage: plan_e2e.sh CCSIM NCCL_LIB TOPO GOLDEN BYTES [VAR=VALUE ...]
# Exit 77 (skipped) where the NCCL library is absent.
set -u
ccsim=$1 nccl=$2 topo=$3 golden=$4 bytes=$5
shift 5
if [ ! -e "$nccl" ]; then
  echo "SKIP: NCCL library $nccl not found"
  exit 77
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
# the measured machine ran with NVLS off
if ! env NCCL_NVLS_ENABLE=0 "$@" "$ccsim" plan --topo "$topo" --nccl "$nccl" --bytes "$bytes" --format csv -o "$out"; then
  echo "FAIL: ccsim plan failed"
  exit 1
fi
if ! cmp -s "$out" "$golden"; then
  echo "FAIL: op list differs from $golden:"
  diff "$out" "$golden" | head -20
  exit 1
fi
echo "ok: $(($(wc -l < "$out") - 1)) ops as in $golden"
