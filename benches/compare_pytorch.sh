#!/usr/bin/env bash
# Standing speed comparison with PyTorch on the rotating sine (benches/pytorch/sine_analytic.ron):
# SIP with the analytic inverse and Adam, batch 100, the same network, one thread each, run
# interleaved (physinv SIP, torch SIP, physinv Adam, torch Adam, repeated) so that load from other
# processes hits both alike. Prints every run's time per iteration, the medians, the ratios
# torch/physinv and physinv's SIP/Adam ratio. Not part of `cargo test` or CI.
#
# Usage: benches/compare_pytorch.sh [--setup] [--venv DIR] [--rounds K] [--iterations N]
#   --setup          create the virtualenv DIR and pip-install torch (CPU wheel from
#                    download.pytorch.org, falling back to plain PyPI) before running
#   --venv DIR       virtualenv with torch (default: $PHYSINV_TORCH_VENV or benches/pytorch/.venv)
#   --rounds K       interleaved rounds (default 5)
#   --iterations N   training iterations per run (default 3000)
# physinv is built with `cargo build --release --bin physinv` (honours CARGO_TARGET_DIR and
# CARGO_BUILD_JOBS); per-iteration time is summary.json's training wall_s / iterations, which
# excludes evaluation; the torch program times its training loop after 100 warm-up iterations.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PHYSINV_TORCH_VENV:-$repo/benches/pytorch/.venv}"
rounds=5
iterations=3000
setup=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --setup) setup=1; shift ;;
        --venv) venv="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --iterations) iterations="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [[ $setup -eq 1 ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    if ! "$venv/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu; then
        echo "CPU wheel index not reachable; installing torch from PyPI" >&2
        "$venv/bin/pip" install --quiet torch
    fi
fi
python="$venv/bin/python"
if ! "$python" -c "import torch" 2>/dev/null; then
    echo "no torch in $venv: run with --setup (or --venv DIR)" >&2
    exit 1
fi

cd "$repo"
cargo build --release --bin physinv --quiet
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
physinv="$target_dir/release/physinv"
scenario="benches/pytorch/sine_analytic.ron"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

physinv_us() { # method -> µs per iteration
    local out="$work/run"
    rm -rf "$out"
    "$physinv" --threads 1 -q train "$scenario" --method "$1" --iterations "$iterations" \
        --out "$out" >/dev/null
    "$python" -c "import json,sys; r=json.load(open(sys.argv[1]))['runs'][0]; print(1e6*r['wall_s']/r['iterations'])" "$out/summary.json"
}
torch_us() { # method -> µs per iteration
    "$python" benches/pytorch/sine_train.py --method "$1" --iterations "$iterations" --threads 1 |
        "$python" -c "import json,sys; print(json.load(sys.stdin)['per_iter_us'])"
}

echo "load before: $(uptime)"
declare -A times
for round in $(seq 1 "$rounds"); do
    for method in SIP Adam; do
        lower="$(echo "$method" | tr '[:upper:]' '[:lower:]')"
        p="$(physinv_us "$method")"
        t="$(torch_us "$lower")"
        times[physinv_$method]+="$p "
        times[torch_$method]+="$t "
        printf 'round %d  %-4s  physinv %8.1f us/iter   torch %8.1f us/iter   torch/physinv %5.2f\n' \
            "$round" "$method" "$p" "$t" "$("$python" -c "print($t/$p)")"
    done
done
echo "load after: $(uptime)"
"$python" - "${times[physinv_SIP]}" "${times[torch_SIP]}" "${times[physinv_Adam]}" "${times[torch_Adam]}" <<'PY'
import statistics, sys
ps, ts, pa, ta = ([float(x) for x in a.split()] for a in sys.argv[1:5])
ratio = lambda t, p: statistics.median(t[i] / p[i] for i in range(len(p)))
m = statistics.median
print(f"median  SIP   physinv {m(ps):8.1f} us  torch {m(ts):8.1f} us  torch/physinv {ratio(ts, ps):5.2f} (same-round ratios)")
print(f"median  Adam  physinv {m(pa):8.1f} us  torch {m(ta):8.1f} us  torch/physinv {ratio(ta, pa):5.2f}")
print(f"physinv SIP/Adam {ratio(ps, pa):5.2f}   torch SIP/Adam {ratio(ts, ta):5.2f}")
PY
