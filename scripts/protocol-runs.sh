#!/usr/bin/env bash
# The control comparisons of docs/results.md, re-measured with the comparison
# protocol: 5 seeds per method and learning rate, rates chosen on the validation scenes, equal
# training time per run. Usage: scripts/protocol-runs.sh BIN OUT_DIR [NAME...]
# THREADS=1 runs each training on one thread (two protocols then share the two cores);
# RESUME=1 continues the runs found in OUT (a widened grid trains only its new values).
set -u
BIN=${1:?physinv binary}; OUT=${2:?output directory}; shift 2
NAMES=${*:-"xi10 xi32 phi0 force force6 point_mass pendulum pendulum_mu burgers heat1d oscillators"}
# The grids after extending, with --resume, those whose first choice lay on an edge (every
# chosen rate is inside its grid).
SIP_LR='methods[0].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2'
BPTT_LR='methods[1].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2'
BPTT_LR_WIDE='methods[1].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2,1e-1'
BPTT_LR_LOW='methods[1].optimizer.lr=3e-5,1e-4,3e-4,1e-3,3e-3,1e-2,3e-2'
BPTT2_LR='methods[2].optimizer.lr=3e-4,1e-3,3e-3,1e-2,3e-2,1e-1'
ADAM_LR='3e-4,1e-3,3e-3,1e-2'
BURGERS_SIP_LR='3e-4,1e-3,3e-3,1e-2,3e-2'
OSC_LR='3e-3,1e-2,3e-2'
OSC_SIP_LR='1e-3,3e-3,1e-2,3e-2'
SGD_LR='0.3,1.0,2.0,3.0,5.0,10.0,20.0'
run() {
  local name=$1; shift
  echo "== $name: $BIN compare $*" | tee "$OUT/$name.log"
  /usr/bin/time -f "%e s wall" "$BIN" compare ${THREADS:+--threads $THREADS} "$@" --seeds 5 --out "$OUT/$name" ${RESUME:+--resume} --quiet >>"$OUT/$name.log" 2>&1
  echo "exit $?" >>"$OUT/$name.log"
}
mkdir -p "$OUT"
for name in $NAMES; do
  case $name in
    xi10) run xi10 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR" --set simulator.params.xi=10.0 ;;
    xi32) run xi32 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR" ;;
    phi0) run phi0 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR_WIDE" --set simulator.params.phi_deg=0.0 ;;
    force6) run force6 scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR_LOW" --set objective.force_weight=1e-6 ;;
    force) run force scenarios/conditioning.ron --budget 10 --grid "$SIP_LR" --grid "$BPTT_LR_LOW" --set objective.force_weight=1e-3 ;;
    point_mass) run point_mass scenarios/point_mass.ron --budget 10 --method SIP --method BPTT --grid "$SIP_LR" --grid "$BPTT2_LR" ;;
    pendulum) run pendulum scenarios/pendulum.ron --budget 15 --method SIP --method BPTT --grid "$SIP_LR" --grid "$BPTT2_LR" ;;
    burgers) run burgers scenarios/burgers.ron --budget 30 --method SIP --method BPTT --method HIG --grid "methods[0].optimizer.lr=$BURGERS_SIP_LR" --grid "methods[2].optimizer.lr=$ADAM_LR" --grid 'methods[3].optimizer.lr=0.1,0.3,1.0' ;;
    heat1d) run heat1d scenarios/heat1d.ron --budget 15 --method SIP --method BPTT --grid 'methods[0].update.inverse.damping=0.03,0.1,0.3,1.0' --grid "methods[2].optimizer.lr=$ADAM_LR" ;;
    pendulum_mu) run pendulum_mu scenarios/pendulum.ron --budget 15 --method SIP --grid 'methods[0].optimizer.lr=3e-3,1e-2,3e-2' --grid 'methods[0].update.inverse.mu=0.0,0.01,0.1,1.0' ;;
    oscillators) run oscillators scenarios/oscillators.ron --budget 20 --grid "methods[0].optimizer.lr=$OSC_SIP_LR" --grid "methods[1].optimizer.lr=$OSC_LR" --grid "methods[2].optimizer.lr=$SGD_LR" --grid "methods[3].optimizer.lr=$SGD_LR" ;;
  esac
done
