//! Derivative sweeps over a whole open-loop episode `s_{t+1} = P(s_t, u_t)`.
//!
//! With `A_t = ∂P/∂s`, `B_t = ∂P/∂u` at step `t` and `J_t = A_{T−1}···A_{t+1} B_t`, the
//! episode map is linearised as `δs_T = Σ_t J_t δu_t`. A forward JVP sweep applies `J`, a
//! backward VJP sweep applies `Jᵀ` (one VJP per step each).
//!
//! With feedback gains `K_t` (a closed-loop policy linearised around the trajectory, applied
//! control `u_t + K_t δs_t`), the state transition becomes `Ã_t = A_t + B_t K_t` and the sweeps
//! use it; without gains they are the open-loop sweeps.

use crate::sim::{Jvp, Matrix, Vector, Vjp};

/// `δs_T = Σ_t J_t δu_t` by a forward sweep of JVPs along `states[0..T]`, `controls[0..T]`
/// (with `gains`, through `Ã_t = A_t + B_t K_t`).
pub fn jvp_pass<S: Jvp + ?Sized>(
    sim: &S,
    states: &[Vector],
    controls: &[Vector],
    d_controls: &[Vector],
    gains: Option<&[Matrix]>,
) -> Vector {
    let mut ds = Vector::zeros(sim.state_dim());
    for (t, u) in controls.iter().enumerate() {
        ds = jvp_step(sim, t, &states[t], u, &ds, &d_controls[t], gains);
    }
    ds
}

/// Every state deviation `δs_0 = 0, δs_1, …, δs_T` of the forward JVP sweep (the linearised
/// trajectory of control deviations `d_controls`).
pub fn jvp_trajectory<S: Jvp + ?Sized>(
    sim: &S,
    states: &[Vector],
    controls: &[Vector],
    d_controls: &[Vector],
    gains: Option<&[Matrix]>,
) -> Vec<Vector> {
    let mut out = Vec::with_capacity(controls.len() + 1);
    out.push(Vector::zeros(sim.state_dim()));
    for (t, u) in controls.iter().enumerate() {
        let next = jvp_step(sim, t, &states[t], u, &out[t], &d_controls[t], gains);
        out.push(next);
    }
    out
}

/// One step of the forward sweep: `A_t δs + B_t (δu + K_t δs)`.
fn jvp_step<S: Jvp + ?Sized>(
    sim: &S,
    t: usize,
    state: &Vector,
    control: &Vector,
    ds: &Vector,
    du: &Vector,
    gains: Option<&[Matrix]>,
) -> Vector {
    match gains {
        Some(k) => sim.jvp(state, control, ds, &(du + &k[t] * ds)),
        None => sim.jvp(state, control, ds, du),
    }
}

/// `J_tᵀ λ` for every step by a backward sweep of VJPs, for a terminal cotangent `λ`.
/// `extra(t)`, if given, is added to the state adjoint before it is propagated through step
/// `t − 1` (tracking terms). With `gains`, the adjoint runs through `Ã_tᵀ = A_tᵀ + K_tᵀ B_tᵀ`.
/// The state adjoint is carried in two reused buffers ([`Vjp::vjp_into`]).
pub fn vjp_pass<S: Vjp + ?Sized>(
    sim: &S,
    states: &[Vector],
    controls: &[Vector],
    terminal: &Vector,
    extra: Option<&dyn Fn(usize) -> Vector>,
    gains: Option<&[Matrix]>,
) -> Vec<Vector> {
    let steps = controls.len();
    let mut out = vec![Vector::zeros(0); steps];
    let mut lambda = terminal.clone();
    let mut pulled = Vector::zeros(terminal.len());
    for t in (0..steps).rev() {
        sim.vjp_into(&states[t], &controls[t], &lambda, &mut pulled, &mut out[t]);
        match gains {
            Some(k) => lambda = &pulled + k[t].tr_mul(&out[t]),
            None => std::mem::swap(&mut lambda, &mut pulled),
        }
        if let (Some(f), true) = (extra, t > 0) {
            lambda += f(t);
        }
    }
    out
}
