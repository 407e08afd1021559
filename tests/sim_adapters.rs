//! Simulators without hand-written derivatives: `AutoDiff` (dual numbers) and
//! `FiniteDifference` (central differences) against the analytic JVP and VJP of the nonlinear
//! spring of `examples/custom_simulator.rs`, and through the `sim::check` helpers.

use physinv::sim::autodiff::{AutoDiff, GenericStep, Scalar};
use physinv::sim::check::{check_adjoint, check_jvp};
use physinv::sim::finite_difference::{FiniteDifference, RELATIVE_STEP};
use physinv::sim::{Jvp, Simulator, Vector, Vjp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// AutoDiff against the analytic derivatives: both exact, only round-off of a few products of
/// numbers of order one remains.
const EXACT_TOL: f64 = 1e-13;
/// FiniteDifference against the analytic derivatives, relative to max(1, |value|): the stated
/// accuracy is ε^{2/3} ≈ 4e-11 times the scale of the values and third derivatives, which for
/// the spring at |x| ≤ 2 (κ = 2, Δt = 0.1) are of order 10, so 1e-8 leaves a margin of 20.
const FD_TOL: f64 = 1e-8;
/// Step of the `check_jvp` helper's own central differences (its truncation error on the
/// spring is ≈ 1e-13, round-off ≈ 1e-10).
const CHECK_STEP: f64 = 1e-6;
/// Random points per check.
const SAMPLES: usize = 8;

/// The hardening spring of `examples/custom_simulator.rs`, with its hand-written derivatives:
/// `v' = v + Δt (u − k x − κ x³)`, `x' = x + Δt v'`.
struct Spring {
    k: f64,
    kappa: f64,
    dt: f64,
}

const SPRING: Spring = Spring {
    k: 1.0,
    kappa: 2.0,
    dt: 0.1,
};

impl Spring {
    fn dv_dx(&self, x: f64) -> f64 {
        -self.dt * (self.k + 3.0 * self.kappa * x * x)
    }
}

impl Simulator for Spring {
    fn name(&self) -> &str {
        "spring"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn step(&self, s: &Vector, u: &Vector) -> Vector {
        let (x, v) = (s[0], s[1]);
        let v_next = v + self.dt * (u[0] - self.k * x - self.kappa * x.powi(3));
        Vector::from_vec(vec![x + self.dt * v_next, v_next])
    }
}

impl Jvp for Spring {
    fn jvp(&self, s: &Vector, _u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        let dv = self.dv_dx(s[0]) * ds[0] + ds[1] + self.dt * du[0];
        Vector::from_vec(vec![ds[0] + self.dt * dv, dv])
    }
}

impl Vjp for Spring {
    fn vjp(&self, s: &Vector, _u: &Vector, w: &Vector) -> (Vector, Vector) {
        let wv = w[1] + self.dt * w[0];
        let ws = Vector::from_vec(vec![w[0] + self.dv_dx(s[0]) * wv, wv]);
        (ws, Vector::from_vec(vec![self.dt * wv]))
    }
}

/// The same spring written once over a generic scalar.
struct GenericSpring;

impl GenericStep for GenericSpring {
    fn name(&self) -> &str {
        "generic_spring"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn dt(&self) -> f64 {
        SPRING.dt
    }
    fn step<D: Scalar>(&self, s: &[D], u: &[D]) -> Vec<D> {
        let Spring { k, kappa, dt } = SPRING;
        let (x, v) = (s[0], s[1]);
        let v_next = v + (u[0] - x * k - x.powi(3) * kappa) * dt;
        vec![x + v_next * dt, v_next]
    }
}

/// A random point `(s, u)`, direction `(δs, δu)` and cotangent `w`, all in `±2`.
struct Point {
    s: Vector,
    u: Vector,
    ds: Vector,
    du: Vector,
    w: Vector,
}

fn points(seed: u64) -> Vec<Point> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = |n: usize| Vector::from_fn(n, |_, _| rng.gen_range(-2.0..2.0));
    (0..SAMPLES)
        .map(|_| Point {
            s: v(2),
            u: v(1),
            ds: v(2),
            du: v(1),
            w: v(2),
        })
        .collect()
}

/// `|a − b|∞ / max(1, |a|∞)`.
fn rel(a: &Vector, b: &Vector) -> f64 {
    assert_eq!(a.len(), b.len());
    (a - b).amax() / a.amax().max(1.0)
}

/// The largest relative deviation of `sim`'s step, JVP and VJP from the analytic spring's.
fn worst_deviation<S: Jvp + Vjp>(sim: &S, seed: u64) -> f64 {
    let mut worst: f64 = 0.0;
    for p in points(seed) {
        let (ws, wu) = SPRING.vjp(&p.s, &p.u, &p.w);
        let (gs, gu) = sim.vjp(&p.s, &p.u, &p.w);
        for (expected, got) in [
            (SPRING.step(&p.s, &p.u), sim.step(&p.s, &p.u)),
            (
                SPRING.jvp(&p.s, &p.u, &p.ds, &p.du),
                sim.jvp(&p.s, &p.u, &p.ds, &p.du),
            ),
            (ws, gs),
            (wu, gu),
        ] {
            worst = worst.max(rel(&expected, &got));
        }
    }
    worst
}

#[test]
fn autodiff_equals_the_analytic_spring_derivatives() {
    let sim = AutoDiff::new(GenericSpring);
    let worst = worst_deviation(&sim, 1);
    assert!(worst < EXACT_TOL, "deviation {worst:e}");
    assert_eq!(sim.name(), "generic_spring");
    assert_eq!(sim.dt(), SPRING.dt);
}

#[test]
fn finite_differences_match_the_analytic_spring_within_the_stated_accuracy() {
    let sim = FiniteDifference::new(Spring { ..SPRING });
    let worst = worst_deviation(&sim, 2);
    assert!(worst < FD_TOL, "deviation {worst:e}");
    assert!(worst > 0.0, "central differences are not exact");
}

#[test]
fn both_adapters_pass_the_check_helpers() {
    let autodiff = AutoDiff::new(GenericSpring);
    let fd = FiniteDifference::new(Spring { ..SPRING });
    for p in points(3) {
        // AutoDiff's VJP is the transpose of its exact Jacobian, so the adjoint identity holds
        // to round-off; FiniteDifference's JVP (one directional difference) and VJP (from the
        // column-wise Jacobian) are separate approximations and agree to their accuracy.
        for (name, jvp, adjoint, adjoint_tol) in [
            (
                "autodiff",
                check_jvp(&autodiff, &p.s, &p.u, &p.ds, &p.du, CHECK_STEP),
                check_adjoint(&autodiff, &p.s, &p.u, &p.ds, &p.du, &p.w),
                EXACT_TOL,
            ),
            (
                "finite differences",
                check_jvp(&fd, &p.s, &p.u, &p.ds, &p.du, CHECK_STEP),
                check_adjoint(&fd, &p.s, &p.u, &p.ds, &p.du, &p.w),
                FD_TOL,
            ),
        ] {
            let (jvp, adjoint) = (jvp.expect("lengths"), adjoint.expect("lengths"));
            assert!(jvp.passes(1e-6), "{name}: JVP {jvp:?}");
            assert!(adjoint.passes(adjoint_tol), "{name}: adjoint {adjoint:?}");
        }
    }
}

#[test]
fn finite_difference_step_is_the_cube_root_of_epsilon() {
    assert!((RELATIVE_STEP - f64::EPSILON.cbrt()).abs() < 1e-20);
    let fd = FiniteDifference::new(Spring { ..SPRING });
    let zero = Vector::zeros(2);
    let jv = fd.jvp(&zero, &Vector::zeros(1), &zero, &Vector::zeros(1));
    assert_eq!(jv, zero, "a zero direction has a zero product");
}
