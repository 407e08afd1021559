//! Derivatives of any step by central finite differences: an explicit adapter whose cost and
//! accuracy are stated, never a silent default.
//!
//! [`FiniteDifference`] wraps a [`Simulator`] that has only its forward step and implements
//! [`Jvp`] and [`Vjp`] from extra steps:
//!
//! - **Step size.** Along a direction `v` (the stacked `(δs, δu)`, or a unit vector for a
//!   Jacobian column) the perturbation is `h v` with
//!   `h = ε^{1/3} · max(1, |x|∞) / |v|∞`, `ε = 2.2·10⁻¹⁶` the `f64` machine epsilon and `x`
//!   the stacked `(s, u)` (for a Jacobian column, `|x|` is that one component): the
//!   largest component moves by [`RELATIVE_STEP`] ≈ 6·10⁻⁶ relative to its magnitude (or
//!   absolutely, below 1). This balances the truncation error `h² |P'''| / 6` against the
//!   round-off `ε |P| / h`.
//! - **Accuracy.** Both errors are then of order `ε^{2/3}` ≈ 4·10⁻¹¹ times the scale of the
//!   step's values and third derivatives, so products are good to about 10 significant
//!   digits on smooth steps — inside `physinv check-grad`'s default tolerance of 10⁻⁶, but
//!   not exact: a Gauss-Newton tolerance far below 10⁻⁸ cannot be reached, and a step with
//!   kinks (`abs`, `max`, contact) gives one-sided averages there. The JVP and the VJP are
//!   separate approximations, so the adjoint identity `⟨w, J v⟩ = ⟨Jᵀ w, v⟩` holds to the same
//!   accuracy, not to round-off.
//! - **Cost.** A JVP is 2 steps. The dense Jacobians `(A, B)` are `2(n + m)` steps, one pair
//!   per column, and every VJP is computed from them (`2(n + m)` steps per VJP).
//!
//! For exact derivatives from a step written over dual numbers, use
//! [`super::autodiff::AutoDiff`] instead.

use super::{Jvp, Matrix, Simulator, Vector, Vjp};

/// `ε^{1/3}` for `f64`: the relative step of the central differences.
pub const RELATIVE_STEP: f64 = 6.055454452393343e-6;

/// A simulator with JVP and VJP by central differences of its step (see the
/// [module](self) for the step size, accuracy and cost).
#[derive(Debug, Clone)]
pub struct FiniteDifference<S> {
    sim: S,
}

impl<S: Simulator> FiniteDifference<S> {
    /// Wraps `sim`.
    pub fn new(sim: S) -> Self {
        FiniteDifference { sim }
    }

    /// The wrapped simulator.
    pub fn inner(&self) -> &S {
        &self.sim
    }

    /// `(P(s + h δs, u + h δu) − P(s − h δs, u − h δu)) / 2h` with `h = ε^{1/3} scale / |(δs, δu)|∞`;
    /// zero for a zero direction.
    fn central(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector, scale: f64) -> Vector {
        let size = ds.amax().max(du.amax());
        if size == 0.0 {
            return Vector::zeros(self.sim.state_dim());
        }
        let h = RELATIVE_STEP * scale.max(1.0) / size;
        let plus = self.sim.step(&(s + ds * h), &(u + du * h));
        let minus = self.sim.step(&(s - ds * h), &(u - du * h));
        (plus - minus) / (2.0 * h)
    }

    /// Column `j` of `[A B]`: the central difference along unit vector `j` of `(s, u)`.
    fn column(&self, s: &Vector, u: &Vector, j: usize) -> Vector {
        let n = self.sim.state_dim();
        let mut ds = Vector::zeros(n);
        let mut du = Vector::zeros(self.sim.control_dim());
        let magnitude = if j < n {
            ds[j] = 1.0;
            s[j].abs()
        } else {
            du[j - n] = 1.0;
            u[j - n].abs()
        };
        self.central(s, u, &ds, &du, magnitude)
    }
}

impl<S: Simulator> Simulator for FiniteDifference<S> {
    fn name(&self) -> &str {
        self.sim.name()
    }
    fn state_dim(&self) -> usize {
        self.sim.state_dim()
    }
    fn control_dim(&self) -> usize {
        self.sim.control_dim()
    }
    fn dt(&self) -> f64 {
        self.sim.dt()
    }
    fn control_scale(&self) -> Option<Vector> {
        self.sim.control_scale()
    }
    fn state_layout(&self) -> crate::layout::Layout {
        self.sim.state_layout()
    }
    fn control_layout(&self) -> crate::layout::Layout {
        self.sim.control_layout()
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.sim.step(state, control)
    }
}

impl<S: Simulator> Jvp for FiniteDifference<S> {
    /// One central difference along `(δs, δu)`: 2 steps.
    fn jvp(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        let magnitude = s.amax().max(u.amax());
        self.central(s, u, ds, du, magnitude)
    }

    /// One central difference per column, each with the step of its own component:
    /// `2(n + m)` steps.
    fn jacobians(&self, s: &Vector, u: &Vector) -> (Matrix, Matrix) {
        let (n, m) = (self.sim.state_dim(), self.sim.control_dim());
        let mut a = Matrix::zeros(n, n);
        let mut b = Matrix::zeros(n, m);
        for j in 0..n {
            a.set_column(j, &self.column(s, u, j));
        }
        for j in 0..m {
            b.set_column(j, &self.column(s, u, n + j));
        }
        (a, b)
    }
}

impl<S: Simulator> Vjp for FiniteDifference<S> {
    /// `(Aᵀ w, Bᵀ w)` from the finite-difference Jacobians: `2(n + m)` steps.
    fn vjp(&self, s: &Vector, u: &Vector, w: &Vector) -> (Vector, Vector) {
        super::vjp_from_jacobians(self, s, u, w)
    }
}
