#!/bin/sh
# Builds Intel's LMS from its public source, as a peer for `npm run bench -- --peer PATH`.
#   bench/build-intel-lms.sh [OUT]      (default OUT: /tmp/intel-lms; run as root: it installs build packages)
# Sources: github.com/intel/lms (measured: v2506.0.0.0, a62698b7) and github.com/intel/metee (its
# MEI library; measured: 6.2.1, b51ecb02), cloned unless LMS_SRC / METEE_SRC name checkouts.
# Prints the binary's path last. About 6 minutes on 2 cores.
set -eu
OUT=${1:-/tmp/intel-lms}
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq cmake g++ git libace-dev libglib2.0-dev libcurl4-openssl-dev libxerces-c-dev \
  libnl-3-dev libnl-route-3-dev libxml2-dev libidn2-dev >/dev/null
mkdir -p "$OUT"
fetch() { # name url src-override
  if [ -n "$3" ]; then rm -rf "$OUT/$1"; cp -a "$3" "$OUT/$1"
  elif [ ! -d "$OUT/$1" ]; then git clone -q --depth 1 "$2" "$OUT/$1"; fi
}
fetch metee https://github.com/intel/metee "${METEE_SRC:-}"
fetch lms https://github.com/intel/lms "${LMS_SRC:-}"
# metee as a static library in a prefix of ours, so nothing lands in the system.
cmake -S "$OUT/metee" -B "$OUT/metee/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_INSTALL_PREFIX="$OUT/prefix" >"$OUT/metee.log" 2>&1
cmake --build "$OUT/metee/build" -j"$(nproc)" >>"$OUT/metee.log" 2>&1
cmake --install "$OUT/metee/build" >>"$OUT/metee.log" 2>&1
# No NetworkManager and no tests: the peer needs the service alone.
METEE_LIB_PATH=$(ls -d "$OUT"/prefix/lib*/ | head -1) METEE_HEADER_PATH="$OUT/prefix/include" \
  cmake -S "$OUT/lms" -B "$OUT/lms/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=NO -DNETWORK_NM=NO >"$OUT/lms.log" 2>&1
cmake --build "$OUT/lms/build" -j"$(nproc)" >>"$OUT/lms.log" 2>&1
echo "$OUT/lms/build/UNS/lms"
