//! Dimension checks of simulator output: user code that returns a vector of the wrong length
//! is an error naming the simulator, the call and the lengths, never a panic deep inside
//! nalgebra.
//!
//! [`check_physics`] calls every capability of a [`Physics`] once, at the zero state and zero
//! control, and compares the lengths returned, and those the state and control layouts
//! describe ([`check_layouts`]), with `state_dim` and `control_dim`; scenario
//! validation runs it, so everything that trains on a scenario sees consistent sizes. The
//! rollouts, which consume the step at every time step, also check each step's length with
//! [`checked_step`] (one comparison per step).

use super::{Matrix, Physics, Simulator, Vector};

/// [`crate::Error::SimulatorOutput`] for simulator `name` unless `got == expected`.
pub fn check_len(name: &str, call: &str, expected: usize, got: usize) -> crate::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(output_error(name, call.to_string(), expected, got))
    }
}

/// `sim.step(state, control)`, or an error if the result's length is not `state_dim`.
pub fn checked_step(
    sim: &dyn Simulator,
    state: &Vector,
    control: &Vector,
) -> crate::Result<Vector> {
    let next = sim.step(state, control);
    check_len(sim.name(), "step", sim.state_dim(), next.len())?;
    Ok(next)
}

/// `out ← sim.step(state, control)` ([`Simulator::step_into`]), or an error if the result's
/// length is not `state_dim`.
pub fn checked_step_into(
    sim: &dyn Simulator,
    state: &Vector,
    control: &Vector,
    out: &mut Vector,
) -> crate::Result<()> {
    sim.step_into(state, control, out);
    check_len(sim.name(), "step", sim.state_dim(), out.len())
}

/// Checks the two parts `(Aᵀ w, Bᵀ w)` a VJP returned against the lengths `n` and `m`.
pub fn check_vjp_lengths(
    name: &str,
    (n, m): (usize, usize),
    (state_part, control_part): (&Vector, &Vector),
) -> crate::Result<()> {
    check_len(name, "vjp (state cotangent Aᵀw)", n, state_part.len())?;
    check_len(name, "vjp (control cotangent Bᵀw)", m, control_part.len())
}

/// Checks that a matrix returned by `call` is `rows × cols`; the error counts elements and
/// gives both shapes in the call's description.
fn check_shape(
    sim: &dyn Simulator,
    call: &str,
    matrix: &Matrix,
    rows: usize,
    cols: usize,
) -> crate::Result<()> {
    if matrix.shape() == (rows, cols) {
        return Ok(());
    }
    let (r, c) = matrix.shape();
    let call = format!("{call} ({r}×{c} instead of {rows}×{cols})");
    Err(output_error(sim.name(), call, rows * cols, matrix.len()))
}

fn output_error(name: &str, call: String, expected: usize, got: usize) -> crate::Error {
    crate::Error::SimulatorOutput {
        simulator: name.to_string(),
        call,
        expected,
        got,
    }
}

/// Most entries `n·(n + m)` of the dense Jacobians `(A, B)` [`check_physics`] forms to check
/// their shapes (32 MiB of `f64`): a field's are `N² × N²` (256 MiB for `64 × 64` cells), too
/// big to form at every validation only to look at their shape. Bigger Jacobians are not
/// checked here (the JVP and VJP, whose lengths are, are what field methods use).
pub const MAX_CHECKED_JACOBIAN_ENTRIES: usize = 1 << 22;

/// Calls the step, the JVP (and the dense Jacobians it offers, when they have at most
/// [`MAX_CHECKED_JACOBIAN_ENTRIES`] entries), the VJP, the control Hessian and the control
/// scale of `physics` at the zero state and control, in that order, and checks every returned
/// length. Values are not checked: a simulator may be undefined at zero.
pub fn check_physics(physics: &Physics) -> crate::Result<()> {
    let sim = physics.sim();
    let (n, m) = (sim.state_dim(), sim.control_dim());
    check_layouts(sim)?;
    let (s, u) = (Vector::zeros(n), Vector::zeros(m));
    checked_step(sim, &s, &u)?;
    let mut out = Vector::zeros(n);
    checked_step_into(sim, &s, &u, &mut out)?;
    if let Some(jvp) = physics.jvp() {
        check_len(sim.name(), "jvp", n, jvp.jvp(&s, &u, &s, &u).len())?;
        jvp.jvp_into(&s, &u, &s, &u, &mut out);
        check_len(sim.name(), "jvp_into", n, out.len())?;
        if n.saturating_mul(n.saturating_add(m)) <= MAX_CHECKED_JACOBIAN_ENTRIES {
            let (a, b) = jvp.jacobians(&s, &u);
            check_shape(sim, "jacobians: A = ∂P/∂s", &a, n, n)?;
            check_shape(sim, "jacobians: B = ∂P/∂u", &b, n, m)?;
        }
    }
    if let Some(vjp) = physics.vjp() {
        let (ws, wu) = vjp.vjp(&s, &u, &s);
        check_vjp_lengths(sim.name(), (n, m), (&ws, &wu))?;
        let (mut ws, mut wu) = (Vector::zeros(n), Vector::zeros(m));
        vjp.vjp_into(&s, &u, &s, &mut ws, &mut wu);
        check_vjp_lengths(sim.name(), (n, m), (&ws, &wu))?;
    }
    if let Some(hessian) = physics.hessian() {
        let h = hessian.control_hessian(&s, &u, &s);
        check_shape(sim, "control_hessian", &h, m, m)?;
    }
    if let Some(scale) = sim.control_scale() {
        check_len(sim.name(), "control_scale", m, scale.len())?;
    }
    Ok(())
}

/// Checks that the state and control layouts describe `state_dim` and `control_dim` entries
/// and that their grids can be ([`crate::layout::Layout::check_grids`]): a
/// [`crate::Error::Layout`] naming the simulator and which layout otherwise.
pub fn check_layouts(sim: &dyn Simulator) -> crate::Result<()> {
    let layouts = [
        ("state", sim.state_layout(), sim.state_dim()),
        ("control", sim.control_layout(), sim.control_dim()),
    ];
    for (which, layout, dim) in layouts {
        layout
            .check_len(dim)
            .and_then(|()| layout.check_grids())
            .map_err(|source| crate::Error::Layout {
                simulator: sim.name().to_string(),
                which,
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Simulators;
    use super::*;

    fn point(n: usize, phase: f64) -> Vector {
        Vector::from_fn(n, |i, _| 0.3 * ((i as f64) * 0.7 + phase).sin())
    }

    /// The in-place step, JVP and VJP of every built-in simulator give exactly (bit for bit)
    /// what the allocating ones give, also into buffers of the wrong length.
    #[test]
    fn in_place_calls_match_the_allocating_ones_exactly() {
        let registry = Simulators::with_builtins();
        for name in registry.names() {
            let params = ron::Value::Map(ron::Map::new());
            let physics = registry.build(&name, params).expect("builds with defaults");
            let sim = physics.sim();
            let (n, m) = (sim.state_dim(), sim.control_dim());
            let (s, u) = (point(n, 0.1), point(m, 0.4));
            let (ds, du, w) = (point(n, 1.0), point(m, 2.0), point(n, 3.0));
            for start in [0, n] {
                let mut out = Vector::zeros(start);
                sim.step_into(&s, &u, &mut out);
                assert_eq!(out, sim.step(&s, &u), "{name}: step_into");
                if let Some(jvp) = physics.jvp() {
                    let mut out = Vector::zeros(start);
                    jvp.jvp_into(&s, &u, &ds, &du, &mut out);
                    assert_eq!(out, jvp.jvp(&s, &u, &ds, &du), "{name}: jvp_into");
                }
                if let Some(vjp) = physics.vjp() {
                    let (mut a, mut b) = (Vector::zeros(start), Vector::zeros(0));
                    vjp.vjp_into(&s, &u, &w, &mut a, &mut b);
                    assert_eq!((a, b), vjp.vjp(&s, &u, &w), "{name}: vjp_into");
                }
            }
        }
    }

    /// Every built-in simulator declares a layout of its own (no generic `s0`, `u0` names)
    /// whose length is its state or control dimension, and passes the layout check.
    #[test]
    fn builtin_layouts_describe_their_dimensions() {
        let registry = Simulators::with_builtins();
        for name in registry.names() {
            let params = ron::Value::Map(ron::Map::new());
            let physics = registry.build(&name, params).expect("builds with defaults");
            let sim = physics.sim();
            let state = sim.state_layout();
            let control = sim.control_layout();
            assert_eq!(state.len(), sim.state_dim(), "{name}: state layout");
            assert_eq!(control.len(), sim.control_dim(), "{name}: control layout");
            assert_ne!(state.label(0), "s0", "{name}: declares its state layout");
            assert_ne!(
                control.label(0),
                "u0",
                "{name}: declares its control layout"
            );
            check_layouts(sim).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
