#!/usr/bin/env bash
# setup.sh — set up ccsim on a fresh machine and run its main job or its tests.
#
#   tools/setup.sh run     install what is missing, build, summarise the bundled default topology and
#                          simulate an all_reduce sweep on it
#   tools/setup.sh test    install what is missing, build, and run the whole test suite (ctest)
#   tools/setup.sh sanitize  the test suite again in an AddressSanitizer + UBSan build
#
# Environment: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
mode=${1:-run}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Debian packages the build needs, with a pkg-config module or program that proves each is there.
need_pkgs=()
check() { # check PKG TEST...
  local pkg=$1; shift
  if ! "$@" >/dev/null 2>&1; then need_pkgs+=("$pkg"); fi
}
check cmake command -v cmake
check gcc command -v gcc
check make command -v make
check pkg-config command -v pkg-config
check libxml2-dev pkg-config --exists libxml-2.0
check libcjson-dev pkg-config --exists libcjson
check libglib2.0-dev pkg-config --exists glib-2.0
check libsqlite3-dev pkg-config --exists sqlite3

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    echo "setup: missing packages: ${need_pkgs[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y ${need_pkgs[*]}" >&2
    exit 1
  fi
fi

build() { # build DIR [cmake args...]; QUIET_BUILD=1 keeps the compiler's output in DIR/build.log
  local dir=$1; shift
  cmake -S . -B "$dir" -DCCSIM_WERROR=ON "$@" >/dev/null
  if [ "${QUIET_BUILD:-0}" = 1 ]; then
    echo "setup: building in $dir (log: $dir/build.log)" >&2
    cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log" >&2; exit 1; }
  else
    cmake --build "$dir" -j "$jobs"
  fi
}

case "$mode" in
  run)
    QUIET_BUILD=1 build "${BUILD_DIR:-build}"
    "${BUILD_DIR:-build}/sim/ccsim" topo scenarios/topologies/default.xml
    echo
    # The default topology is a measured 4x H200 machine that ran with NVLink SHARP off.
    NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0} exec "${BUILD_DIR:-build}/sim/ccsim" bench \
      --topo scenarios/topologies/default.xml --op all_reduce -b 8 -e 1G -f 4
    ;;
  test)
    build "${BUILD_DIR:-build}"
    cd "${BUILD_DIR:-build}"
    exec ctest --output-on-failure -j "$jobs" --timeout 600
    ;;
  sanitize)
    dir=${BUILD_DIR:-build-asan}
    build "$dir" -DCCSIM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    cd "$dir"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      exec ctest --output-on-failure -j "$jobs" --timeout 900 -LE no_sanitize
    ;;
  *)
    echo "usage: tools/setup.sh run|test|sanitize" >&2
    exit 2
    ;;
esac
