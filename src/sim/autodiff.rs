//! Exact derivatives of a step written once, generically over its scalar type.
//!
//! Write the step `s' = P(s, u)` as [`GenericStep::step`], generic over a [`Scalar`]: plain
//! `f64` or a forward-mode dual number of the [`num_dual`] crate (re-exported as
//! [`crate::num_dual`]). [`AutoDiff`] then implements [`Simulator`] (the step at `f64`),
//! [`Jvp`] and [`Vjp`]:
//!
//! - **JVP** `A δs + B δu`: one step with dual numbers `sᵢ + δsᵢ ε`, `uⱼ + δuⱼ ε`; the `ε`
//!   parts of the result are the product, exact to rounding (no truncation error). Cost: one
//!   dual step, about 2–3 plain steps.
//! - **VJP** `(Aᵀ w, Bᵀ w)`: from the dense Jacobians, assembled column by column from
//!   `n + m` JVPs (forward mode has no cheap transpose). Fine for small `n + m`, as for
//!   mechanical systems; a step of a large field (hundreds of components) is better served
//!   by a hand-written adjoint.
//!
//! ```
//! use physinv::sim::autodiff::{AutoDiff, GenericStep, Scalar};
//! use physinv::sim::Physics;
//!
//! /// `x' = x + Δt v'`, `v' = v + Δt (u − sin x)`: a pendulum, semi-implicit Euler.
//! struct Pendulum;
//!
//! impl GenericStep for Pendulum {
//!     fn name(&self) -> &str { "pendulum_ad" }
//!     fn state_dim(&self) -> usize { 2 }
//!     fn control_dim(&self) -> usize { 1 }
//!     fn step<D: Scalar>(&self, s: &[D], u: &[D]) -> Vec<D> {
//!         let dt = 0.1;
//!         let v = s[1] + (u[0] - s[0].sin()) * dt;
//!         vec![s[0] + v * dt, v]
//!     }
//! }
//!
//! let physics = Physics::differentiable(AutoDiff::new(Pendulum));
//! assert!(physics.jvp().is_some() && physics.vjp().is_some());
//! ```
//!
//! Constants enter as `x * c`, `x + c` (a dual number times an `f64`) or `D::from(c)`; every
//! function of [`num_dual::DualNum`] (`sin`, `exp`, `powi`, `sqrt`, …) is available on `D`.

use super::{Jvp, Simulator, Vector, Vjp};
use num_dual::{Dual64, DualNum};

/// The scalar a [`GenericStep`] is written over: `f64` for the plain step, [`Dual64`] for
/// the JVP. Any `num_dual` number with `f64` parts qualifies.
pub trait Scalar: DualNum<Primitive = f64> + Copy {}

impl<D: DualNum<Primitive = f64> + Copy> Scalar for D {}

/// A simulator step written generically over its scalar type (see the [module](self)).
/// The methods other than `step` mean what they mean on [`Simulator`].
pub trait GenericStep: Send + Sync {
    /// Short name used in logs and error messages.
    fn name(&self) -> &str;
    /// Dimension `n` of the state.
    fn state_dim(&self) -> usize;
    /// Dimension `m` of the control.
    fn control_dim(&self) -> usize;
    /// Time step `Δt` (see [`Simulator::dt`]); default 1.
    fn dt(&self) -> f64 {
        1.0
    }
    /// Typical magnitude of each control component (see [`Simulator::control_scale`]).
    fn control_scale(&self) -> Option<Vector> {
        None
    }
    /// What the state's components are (see [`Simulator::state_layout`]); default
    /// `s0, s1, …` without unit.
    fn state_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::generic("s", self.state_dim())
    }
    /// What the control's components are (see [`Simulator::control_layout`]); default
    /// `u0, u1, …` without unit.
    fn control_layout(&self) -> crate::layout::Layout {
        crate::layout::Layout::generic("u", self.control_dim())
    }
    /// `s' = P(s, u)` for `state` of length `n` and `control` of length `m`; returns `n`
    /// values.
    fn step<D: Scalar>(&self, state: &[D], control: &[D]) -> Vec<D>;
}

/// A [`GenericStep`] with exact JVPs by forward-mode automatic differentiation and VJPs
/// through the dense Jacobian (`n + m` JVPs each; see the [module](self)).
#[derive(Debug, Clone)]
pub struct AutoDiff<S> {
    step: S,
}

impl<S: GenericStep> AutoDiff<S> {
    /// Wraps `step`.
    pub fn new(step: S) -> Self {
        AutoDiff { step }
    }

    /// The wrapped step.
    pub fn inner(&self) -> &S {
        &self.step
    }

    /// The step at dual numbers `(s + δs ε, u + δu ε)`.
    fn dual_step(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector) -> Vec<Dual64> {
        let dual = |x: &Vector, dx: &Vector| -> Vec<Dual64> {
            x.iter()
                .zip(dx.iter())
                .map(|(&v, &d)| Dual64::new(v, d))
                .collect()
        };
        self.step.step(&dual(s, ds), &dual(u, du))
    }
}

impl<S: GenericStep> Simulator for AutoDiff<S> {
    fn name(&self) -> &str {
        self.step.name()
    }
    fn state_dim(&self) -> usize {
        self.step.state_dim()
    }
    fn control_dim(&self) -> usize {
        self.step.control_dim()
    }
    fn dt(&self) -> f64 {
        self.step.dt()
    }
    fn control_scale(&self) -> Option<Vector> {
        self.step.control_scale()
    }
    fn state_layout(&self) -> crate::layout::Layout {
        self.step.state_layout()
    }
    fn control_layout(&self) -> crate::layout::Layout {
        self.step.control_layout()
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        Vector::from_vec(self.step.step(state.as_slice(), control.as_slice()))
    }
}

impl<S: GenericStep> Jvp for AutoDiff<S> {
    /// The `ε` parts of one dual-number step: exact to rounding.
    fn jvp(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        let tangent = self.dual_step(s, u, ds, du).into_iter().map(|d| d.eps);
        Vector::from_vec(tangent.collect())
    }
}

impl<S: GenericStep> Vjp for AutoDiff<S> {
    /// `(Aᵀ w, Bᵀ w)` from the Jacobians of `n + m` dual-number steps.
    fn vjp(&self, s: &Vector, u: &Vector, w: &Vector) -> (Vector, Vector) {
        super::vjp_from_jacobians(self, s, u, w)
    }
}
