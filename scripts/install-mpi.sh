#!/usr/bin/env bash
# Installs what `cargo build --features mpi` and the MPI tests need on a Debian or Ubuntu
# machine: Open MPI (library, headers, mpirun) and libclang, with which the `mpi` crate
# generates its bindings. Run as root (or with sudo). Idempotent.
#
# A cluster with its own MPI (a module system, Intel MPI, MPICH, Cray MPICH) needs none of
# this: load its MPI module so that `mpicc` is on PATH (the `mpi` crate finds the library
# through it, or through pkg-config), install libclang if missing, and build with
# `cargo build --release --features mpi` on a login node.
set -euo pipefail

packages=(libopenmpi-dev openmpi-bin libclang-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
mpirun --version | head -n 1
