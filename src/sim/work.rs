//! The simulator's work: how many steps, JVPs, VJPs, dense Jacobians, control inverses and
//! control Hessians a [`Physics`](super::Physics) has computed, so that methods can be compared
//! at equal simulator work as well as at equal wall time.
//!
//! Every capability a `Physics` holds is wrapped in [`Counted`], which counts each call and
//! forwards it. The counters are striped by rayon worker so that threads do not contend for one
//! cache line; [`WorkCounters::total`] sums the stripes. A dense Jacobian counts once as a
//! Jacobian, whatever the simulator does inside it (by default `n + m` JVPs of its own, which
//! are not counted again).

use super::{ControlHessian, ControlInverse, Jvp, Matrix, Simulator, Vector, Vjp};
use crate::layout::Layout;
use crate::values::NamedValues;
use serde::{Deserialize, Serialize};
use std::ops::{AddAssign, Sub};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What is counted, in the order of a stripe.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Step = 0,
    Jvp,
    Vjp,
    Jacobian,
    Inverse,
    Hessian,
}

const KINDS: usize = 6;
const STRIPES: usize = 16;

/// One stripe of counters on its own cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Stripe([AtomicU64; KINDS]);

/// Call counters shared by the capabilities of one simulator.
#[derive(Debug)]
pub struct WorkCounters {
    stripes: [Stripe; STRIPES],
}

impl Default for WorkCounters {
    fn default() -> Self {
        WorkCounters {
            stripes: std::array::from_fn(|_| Stripe::default()),
        }
    }
}

impl WorkCounters {
    fn add(&self, kind: Kind) {
        let stripe = rayon::current_thread_index().map_or(0, |i| (i + 1) % STRIPES);
        self.stripes[stripe].0[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, summed over the stripes.
    pub fn total(&self) -> Work {
        let sum = |kind: Kind| {
            self.stripes
                .iter()
                .map(|s| s.0[kind as usize].load(Ordering::Relaxed))
                .sum()
        };
        Work {
            steps: sum(Kind::Step),
            jvps: sum(Kind::Jvp),
            vjps: sum(Kind::Vjp),
            jacobians: sum(Kind::Jacobian),
            inverses: sum(Kind::Inverse),
            hessians: sum(Kind::Hessian),
        }
    }
}

/// Counts of simulator calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Forward steps.
    pub steps: u64,
    /// Jacobian-vector products.
    pub jvps: u64,
    /// Vector-Jacobian products.
    pub vjps: u64,
    /// Dense Jacobians `(A, B)`.
    pub jacobians: u64,
    /// Analytic control inverses.
    pub inverses: u64,
    /// Control Hessians.
    pub hessians: u64,
}

impl Work {
    /// The counts as named values (`sim_steps`, `sim_jvps`, …), for tables and files.
    pub fn named(&self) -> NamedValues {
        let mut values = NamedValues::default();
        for (name, count) in [
            ("sim_steps", self.steps),
            ("sim_jvps", self.jvps),
            ("sim_vjps", self.vjps),
            ("sim_jacobians", self.jacobians),
            ("sim_inverses", self.inverses),
            ("sim_hessians", self.hessians),
        ] {
            values.push(name, count as f64);
        }
        values
    }
}

impl Sub for Work {
    type Output = Work;
    /// The work done between two snapshots (`later − earlier`).
    fn sub(self, earlier: Work) -> Work {
        Work {
            steps: self.steps - earlier.steps,
            jvps: self.jvps - earlier.jvps,
            vjps: self.vjps - earlier.vjps,
            jacobians: self.jacobians - earlier.jacobians,
            inverses: self.inverses - earlier.inverses,
            hessians: self.hessians - earlier.hessians,
        }
    }
}

impl AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        self.steps += other.steps;
        self.jvps += other.jvps;
        self.vjps += other.vjps;
        self.jacobians += other.jacobians;
        self.inverses += other.inverses;
        self.hessians += other.hessians;
    }
}

/// A simulator capability that counts its calls into shared [`WorkCounters`].
pub struct Counted<S: ?Sized> {
    inner: Arc<S>,
    counters: Arc<WorkCounters>,
}

impl<S: ?Sized> Counted<S> {
    /// `inner`, counted into `counters`.
    pub fn new(inner: Arc<S>, counters: Arc<WorkCounters>) -> Self {
        Counted { inner, counters }
    }
}

impl<S: Simulator + ?Sized> Simulator for Counted<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn state_dim(&self) -> usize {
        self.inner.state_dim()
    }
    fn control_dim(&self) -> usize {
        self.inner.control_dim()
    }
    fn dt(&self) -> f64 {
        self.inner.dt()
    }
    fn control_scale(&self) -> Option<Vector> {
        self.inner.control_scale()
    }
    fn state_layout(&self) -> Layout {
        self.inner.state_layout()
    }
    fn control_layout(&self) -> Layout {
        self.inner.control_layout()
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.counters.add(Kind::Step);
        self.inner.step(state, control)
    }
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        self.counters.add(Kind::Step);
        self.inner.step_into(state, control, out)
    }
}

impl<S: Jvp + ?Sized> Jvp for Counted<S> {
    fn jvp(&self, state: &Vector, control: &Vector, ds: &Vector, du: &Vector) -> Vector {
        self.counters.add(Kind::Jvp);
        self.inner.jvp(state, control, ds, du)
    }
    fn jvp_into(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector, out: &mut Vector) {
        self.counters.add(Kind::Jvp);
        self.inner.jvp_into(s, u, ds, du, out)
    }
    fn constant_jacobians(&self) -> bool {
        self.inner.constant_jacobians()
    }
    fn jacobians(&self, state: &Vector, control: &Vector) -> (Matrix, Matrix) {
        self.counters.add(Kind::Jacobian);
        self.inner.jacobians(state, control)
    }
}

impl<S: Vjp + ?Sized> Vjp for Counted<S> {
    fn vjp(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        self.counters.add(Kind::Vjp);
        self.inner.vjp(state, control, cotangent)
    }
    fn vjp_into(
        &self,
        state: &Vector,
        control: &Vector,
        cotangent: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        self.counters.add(Kind::Vjp);
        self.inner
            .vjp_into(state, control, cotangent, d_state, d_control)
    }
}

impl<S: ControlInverse + ?Sized> ControlInverse for Counted<S> {
    fn control_inverse(
        &self,
        state: &Vector,
        control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError> {
        self.counters.add(Kind::Inverse);
        self.inner.control_inverse(state, control, target)
    }
}

impl<S: ControlHessian + ?Sized> ControlHessian for Counted<S> {
    fn control_hessian(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> Matrix {
        self.counters.add(Kind::Hessian);
        self.inner.control_hessian(state, control, cotangent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_and_sums_of_snapshots() {
        let counters = WorkCounters::default();
        counters.add(Kind::Step);
        let before = counters.total();
        counters.add(Kind::Step);
        counters.add(Kind::Vjp);
        let mut done = counters.total() - before;
        assert_eq!((done.steps, done.vjps, done.jvps), (1, 1, 0));
        done += done;
        assert_eq!(done.steps, 2);
        assert_eq!(done.named().get("sim_vjps"), Some(2.0));
    }
}
