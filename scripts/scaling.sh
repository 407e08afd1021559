#!/usr/bin/env bash
# The scaling table of docs/running.md: training seconds of one process with one thread, one
# process with two, and two MPI ranks with one thread each, for a scenario and method.
# usage: scripts/scaling.sh BINARY SCENARIO METHOD ITERATIONS   (BINARY built with --features mpi)
set -euo pipefail
binary=$1 scenario=$2 method=$3 iterations=$4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {
    rm -rf "$out/run"
    "$@" -q train "$scenario" --method "$method" --iterations "$iterations" --out "$out/run" |
        awk -v m="$method" '$1 == m { print $3 }'
}
one=$(run "$binary" --threads 1)
two_threads=$(run "$binary" --threads 2)
two_ranks=$(run mpirun -np 2 "$binary" --threads 1)
echo "$scenario $method $iterations iterations: 1x1 ${one} s, 1x2 ${two_threads} s, 2 ranks ${two_ranks} s"
