#!/usr/bin/env bash
# The control comparisons of README "Control results", re-measured with the comparison
# protocol: 5 seeds per method and learning rate, rates chosen on the validation scenes, equal
# training time per run. Usage: scripts/protocol-runs.sh BIN OUT_DIR [NAME...]
set -u
BIN=${1:?physinv binary}; OUT=${2:?output directory}; shift 2
NAMES=${*:-"xi10 xi32 phi0 force point_mass pendulum"}
# The grids after extending, with --resume, those whose first choice lay on an edge (every
# chosen rate is inside its grid).
SIP_LR='methods[0].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2'
BPTT_LR='methods[1].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2'
BPTT_LR_WIDE='methods[1].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2,1e-1'
BPTT_LR_LOW='methods[1].optimizer.lr=3e-5,1e-4,3e-4,1e-3,3e-3,1e-2,3e-2'
BPTT2_LR='methods[2].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2,1e-1'
run() {
  local name=$1; shift
  echo "== $name: $BIN compare $*" | tee "$OUT/$name.log"
  /usr/bin/time -f "%e s wall" "$BIN" compare "$@" --seeds 5 --out "$OUT/$name" --quiet >>"$OUT/$name.log" 2>&1
  echo "exit $?" >>"$OUT/$name.log"
}
mkdir -p "$OUT"
for name in $NAMES; do
  case $name in
    xi10) run xi10 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR" --set simulator.params.xi=10.0 ;;
    xi32) run xi32 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR" ;;
    phi0) run phi0 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR_WIDE" --set simulator.params.phi_deg=0.0 ;;
    force) run force scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR_LOW" --set objective.force_weight=1e-3 ;;
    point_mass) run point_mass scenarios/point_mass.ron --budget 10 --method SIP --method BPTT --grid "$SIP_LR" --grid "$BPTT2_LR" ;;
    pendulum) run pendulum scenarios/pendulum.ron --budget 15 --method SIP --method BPTT --grid "$SIP_LR" --grid "$BPTT2_LR" ;;
  esac
done
