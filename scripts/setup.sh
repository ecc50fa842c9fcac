#!/usr/bin/env bash
# Installs what iterop needs on Debian 12 (as root), and nothing that is already there.
# Idempotent: a second run only checks and returns.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build ccache pkg-config git
  libeigen3-dev libboost-dev libfftw3-dev libmuparser-dev
  libsundials-dev libceres-dev liblemon-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libtomlplusplus-dev
  gnuplot-nox
  libopenblas0-pthread libtorch-dev
  libgloo-dev  # Gloo headers: torch's ProcessGroupGloo for data-parallel training (operators/src/data_parallel.cpp)
  clang libclang-rt-14-dev  # libFuzzer + sanitizers for fuzz/ (scripts/fuzz.sh, preset fuzz)
  # MPI (iterop::mpi): OpenMPI; SUNDIALS' NVECTOR_PARALLEL comes with libsundials-dev (libsundials-nvecparallel-mpi6).
  openmpi-bin libopenmpi-dev libsundials-nvecparallel-mpi6
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "iterop setup: installing ${missing[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Prefer OpenBLAS (threaded) for libblas.so.3 / liblapack.so.3: about 3x faster than the reference BLAS.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  target="/usr/lib/${arch}/openblas-pthread/${lib}"
  if [ -e "$target" ] && [ "$(readlink -f "/usr/lib/${arch}/${lib}")" != "$(readlink -f "$target")" ]; then
    if [ "$(id -u)" -eq 0 ]; then update-alternatives --set "${lib}-${arch}" "$target" >/dev/null || true; fi
  fi
done
