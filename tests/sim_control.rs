//! Control simulators (`point_mass`, `anisotropic_point_mass`, `oscillators`, `pendulum`,
//! `burgers`) through the public API: derivatives against finite differences and the adjoint
//! identity, closed-form Jacobians, inverses, scene generation, physics sanity checks and
//! registry construction.

use physinv::sim::anisotropic_point_mass::{AnisotropicPointMass, AnisotropicPointMassParams};
use physinv::sim::burgers::{Burgers, BurgersParams, GAUSSIAN_CLASH};
use physinv::sim::check::{check_adjoint, check_jvp};
use physinv::sim::oscillators::{Oscillators, OscillatorsParams};
use physinv::sim::pendulum::{Pendulum, PendulumParams};
use physinv::sim::point_mass::{PointMass, PointMassParams};
use physinv::sim::registry::BuildError;
use physinv::sim::{
    ControlInverse, Jvp, Matrix, Physics, Registry, SceneGenerator, Simulator, Vector, Vjp,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Central-difference step. Truncation error ~h²·|P'''| ≈ 1e-12 and round-off
/// ~ε·|P|/h ≈ 1e-10 for states of size ~10, so h = 1e-6 balances the two.
const FD_STEP: f64 = 1e-6;
/// JVP vs central differences, relative to max(1, |Jv|): a few orders above the ~1e-9
/// FD noise floor, far below any real derivative error (which would be O(1)).
const JVP_TOL: f64 = 1e-6;
/// `⟨w, Jv⟩ = ⟨Jᵀw, v⟩` is an exact identity; only round-off of O(n) products remains.
const ADJOINT_TOL: f64 = 1e-11;
/// Closed-form Jacobians vs JVP-assembled ones, and linear-map identities: round-off only.
const ROUNDOFF_TOL: f64 = 1e-12;
/// Random points per simulator in the derivative checks.
const SAMPLES: usize = 6;

fn random_vector(rng: &mut ChaCha8Rng, len: usize, scale: f64) -> Vector {
    Vector::from_fn(len, |_, _| scale * rng.gen_range(-1.0..1.0))
}

fn max_abs_diff(a: &Vector, b: &Vector) -> f64 {
    assert_eq!(a.len(), b.len());
    (a - b).amax()
}

/// JVP vs finite differences and VJP vs JVP at `SAMPLES` random points.
fn check_derivatives<S: Jvp + Vjp>(sim: &S, seed: u64, state_scale: f64, control_scale: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n, m) = (sim.state_dim(), sim.control_dim());
    for k in 0..SAMPLES {
        let s = random_vector(&mut rng, n, state_scale);
        let u = random_vector(&mut rng, m, control_scale);
        let ds = random_vector(&mut rng, n, 1.0);
        let du = random_vector(&mut rng, m, 1.0);
        let w = random_vector(&mut rng, n, 1.0);
        let jvp = check_jvp(sim, &s, &u, &ds, &du, FD_STEP);
        assert!(
            jvp.passes(JVP_TOL),
            "{} sample {k}: JVP vs FD {jvp:?}",
            sim.name()
        );
        let adj = check_adjoint(sim, &s, &u, &ds, &du, &w);
        assert!(
            adj.passes(ADJOINT_TOL),
            "{} sample {k}: adjoint identity {adj:?}",
            sim.name()
        );
        // Each part separately (state-only and control-only directions).
        let zs = Vector::zeros(n);
        let zu = Vector::zeros(m);
        assert!(check_jvp(sim, &s, &u, &ds, &zu, FD_STEP).passes(JVP_TOL));
        assert!(check_jvp(sim, &s, &u, &zs, &du, FD_STEP).passes(JVP_TOL));
    }
}

/// The `Jvp::jacobians` default: columns from `n + m` JVPs.
fn assembled_jacobians<S: Jvp>(sim: &S, s: &Vector, u: &Vector) -> (Matrix, Matrix) {
    let (n, m) = (sim.state_dim(), sim.control_dim());
    let mut a = Matrix::zeros(n, n);
    let mut b = Matrix::zeros(n, m);
    for j in 0..n {
        let mut e = Vector::zeros(n);
        e[j] = 1.0;
        a.set_column(j, &sim.jvp(s, u, &e, &Vector::zeros(m)));
    }
    for j in 0..m {
        let mut e = Vector::zeros(m);
        e[j] = 1.0;
        b.set_column(j, &sim.jvp(s, u, &Vector::zeros(n), &e));
    }
    (a, b)
}

fn check_jacobians<S: Jvp>(sim: &S, seed: u64, state_scale: f64, control_scale: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..SAMPLES {
        let s = random_vector(&mut rng, sim.state_dim(), state_scale);
        let u = random_vector(&mut rng, sim.control_dim(), control_scale);
        let (a, b) = sim.jacobians(&s, &u);
        let (a0, b0) = assembled_jacobians(sim, &s, &u);
        let scale = a0.amax().max(b0.amax()).max(1.0);
        assert!(
            (&a - &a0).amax() <= ROUNDOFF_TOL * scale,
            "{}: A override differs from assembled",
            sim.name()
        );
        assert!(
            (&b - &b0).amax() <= ROUNDOFF_TOL * scale,
            "{}: B override differs from assembled",
            sim.name()
        );
    }
}

fn point_mass() -> PointMass {
    PointMass::new(PointMassParams::default()).unwrap()
}
fn anisotropic(xi: f64, phi_deg: f64) -> AnisotropicPointMass {
    AnisotropicPointMass::new(AnisotropicPointMassParams {
        xi,
        phi_deg,
        ..Default::default()
    })
    .unwrap()
}
fn oscillators() -> Oscillators {
    Oscillators::new(OscillatorsParams::default()).unwrap()
}
fn pendulum() -> Pendulum {
    Pendulum::new(PendulumParams::default()).unwrap()
}
fn burgers() -> Burgers {
    Burgers::new(BurgersParams::default()).unwrap()
}

// ---------------------------------------------------------------- derivatives

#[test]
fn point_mass_derivatives() {
    check_derivatives(&point_mass(), 1, 2.0, 5.0);
    check_jacobians(&point_mass(), 2, 2.0, 5.0);
    // Zero drag takes the series branch of the discretisation coefficients.
    let frictionless = PointMass::new(PointMassParams {
        drag: 0.0,
        ..Default::default()
    })
    .unwrap();
    check_derivatives(&frictionless, 3, 2.0, 5.0);
}

#[test]
fn anisotropic_point_mass_derivatives() {
    // Defaults (ξ = 1, φ = 45°), the conditioning study's set-up, and the series branch of the
    // discretisation coefficients with a non-trivial angle and mass.
    let frictionless = AnisotropicPointMass::new(AnisotropicPointMassParams {
        xi: 5.0,
        phi_deg: -30.0,
        mass: 2.0,
        drag: 0.0,
        dt: 0.2,
    })
    .unwrap();
    for (k, sim) in [
        AnisotropicPointMass::new(AnisotropicPointMassParams::default()).unwrap(),
        anisotropic(32.0, 45.0),
        frictionless,
    ]
    .iter()
    .enumerate()
    {
        let seed = 40 + 2 * k as u64;
        check_derivatives(sim, seed, 2.0, 5.0);
        check_jacobians(sim, seed + 1, 2.0, 5.0);
    }
}

#[test]
fn oscillators_derivatives() {
    check_derivatives(&oscillators(), 4, 1.0, 1.0);
    check_jacobians(&oscillators(), 5, 1.0, 1.0);
}

#[test]
fn pendulum_derivatives() {
    // Angles over several turns and large torques exercise the nonlinearity.
    check_derivatives(&pendulum(), 6, 6.0, 20.0);
    check_jacobians(&pendulum(), 7, 6.0, 20.0);
    let substepped = Pendulum::new(PendulumParams {
        substeps: 4,
        dt: 0.2,
        ..Default::default()
    })
    .unwrap();
    check_derivatives(&substepped, 8, 6.0, 20.0);
    check_jacobians(&substepped, 9, 6.0, 20.0);
}

#[test]
fn burgers_derivatives() {
    check_derivatives(&burgers(), 10, 3.0, 5.0);
    check_jacobians(&burgers(), 11, 3.0, 5.0);
    // More diffusion substeps (ν Δt/Δx² > ¼) and a finer grid.
    let viscous = Burgers::new(BurgersParams {
        cells: 64,
        viscosity: 0.01,
        ..Default::default()
    })
    .unwrap();
    assert!(viscous.diffusion_substeps() > 1);
    check_derivatives(&viscous, 12, 3.0, 5.0);
    check_jacobians(&viscous, 13, 3.0, 5.0);
}

// ---------------------------------------------------------------- point mass

#[test]
fn point_mass_is_linear() {
    let sim = point_mass();
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let zs = Vector::zeros(4);
    let zu = Vector::zeros(2);
    let (a, b) = sim.jacobians(&zs, &zu);
    for _ in 0..SAMPLES {
        let s = random_vector(&mut rng, 4, 3.0);
        let u = random_vector(&mut rng, 2, 3.0);
        let expected = &a * &s + &b * &u;
        assert!(max_abs_diff(&sim.step(&s, &u), &expected) <= ROUNDOFF_TOL * 10.0);
        // Same A, B wherever they are evaluated.
        let (a2, b2) = sim.jacobians(&s, &u);
        assert!((&a2 - &a).amax() <= ROUNDOFF_TOL && (&b2 - &b).amax() <= ROUNDOFF_TOL);
    }
}

/// RK4 with many small substeps of the continuous ODE `ẋ = v, v̇ = −k v + f/m` per axis,
/// force `f` and masses `(m_x, m_y)`; its error (~1e-14 here) is far below
/// `EXACT_DISCRETISATION_TOL`.
fn linear_point_mass_fine(masses: [f64; 2], drag: f64, dt: f64, s: &Vector, f: [f64; 2]) -> Vector {
    let rhs = |y: &Vector| {
        Vector::from_column_slice(&[
            y[2],
            y[3],
            -drag * y[2] + f[0] / masses[0],
            -drag * y[3] + f[1] / masses[1],
        ])
    };
    let substeps = 1000;
    let h = dt / substeps as f64;
    let mut y = s.clone();
    for _ in 0..substeps {
        let k1 = rhs(&y);
        let k2 = rhs(&(&y + &k1 * (h / 2.0)));
        let k3 = rhs(&(&y + &k2 * (h / 2.0)));
        let k4 = rhs(&(&y + &k3 * h));
        y += (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (h / 6.0);
    }
    y
}

fn point_mass_fine(p: &PointMassParams, s: &Vector, u: &Vector) -> Vector {
    linear_point_mass_fine([p.mass, p.mass], p.drag, p.dt, s, [u[0], u[1]])
}

/// The anisotropic point mass written out independently: `f = R_φ u`, masses `(m, m ξ²)`.
fn anisotropic_fine(p: &AnisotropicPointMassParams, s: &Vector, u: &Vector) -> Vector {
    let phi = p.phi_deg * std::f64::consts::PI / 180.0;
    let f = [
        phi.cos() * u[0] - phi.sin() * u[1],
        phi.sin() * u[0] + phi.cos() * u[1],
    ];
    let masses = [p.mass, p.mass * p.xi * p.xi];
    linear_point_mass_fine(masses, p.drag, p.dt, s, f)
}

/// The step is the exact solution of the ODE over Δt, so it matches a converged fine
/// integration to near round-off.
const EXACT_DISCRETISATION_TOL: f64 = 1e-11;

#[test]
fn point_mass_step_is_exact_discretisation() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for params in [
        PointMassParams::default(),
        PointMassParams {
            mass: 2.5,
            drag: 3.0,
            dt: 0.4,
        },
        PointMassParams {
            drag: 1e-5,
            ..Default::default()
        },
    ] {
        let sim = PointMass::new(params.clone()).unwrap();
        let s = random_vector(&mut rng, 4, 2.0);
        let u = random_vector(&mut rng, 2, 2.0);
        let err = max_abs_diff(&sim.step(&s, &u), &point_mass_fine(&params, &s, &u));
        assert!(err <= EXACT_DISCRETISATION_TOL, "{params:?}: {err}");
    }
}

#[test]
fn point_mass_inverse_round_trip() {
    let sim = point_mass();
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    for _ in 0..SAMPLES {
        let s = random_vector(&mut rng, 4, 3.0);
        let u = random_vector(&mut rng, 2, 3.0);
        let u2 = random_vector(&mut rng, 2, 3.0);
        let target = sim.step(&s, &u2);
        let u_inv = sim.control_inverse(&s, &u, &target).unwrap();
        assert!(max_abs_diff(&sim.step(&s, &u_inv), &target) <= ROUNDOFF_TOL * 10.0);
        // B has full column rank, so the force itself is recovered.
        assert!(max_abs_diff(&u_inv, &u2) <= 1e-9);
    }
}

#[test]
fn point_mass_inverse_is_least_squares_for_unreachable_targets() {
    let sim = point_mass();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let s = random_vector(&mut rng, 4, 1.0);
    let u = Vector::zeros(2);
    let target = random_vector(&mut rng, 4, 1.0);
    let u_inv = sim.control_inverse(&s, &u, &target).unwrap();
    // Normal equations: Bᵀ (P(s, ũ) − s̃') = 0.
    let (_, b) = sim.jacobians(&s, &u);
    let residual = sim.step(&s, &u_inv) - &target;
    assert!((b.transpose() * residual).amax() <= ROUNDOFF_TOL);
}

// ---------------------------------------------------------------- anisotropic point mass

#[test]
fn anisotropic_point_mass_step_is_exact_discretisation() {
    let mut rng = ChaCha8Rng::seed_from_u64(50);
    for params in [
        AnisotropicPointMassParams::default(),
        AnisotropicPointMassParams {
            xi: 32.0,
            ..Default::default()
        },
        AnisotropicPointMassParams {
            xi: 3.0,
            phi_deg: 120.0,
            mass: 2.5,
            drag: 3.0,
            dt: 0.4,
        },
        AnisotropicPointMassParams {
            xi: 0.25,
            phi_deg: -10.0,
            drag: 1e-5,
            ..Default::default()
        },
    ] {
        let sim = AnisotropicPointMass::new(params.clone()).unwrap();
        for _ in 0..3 {
            let s = random_vector(&mut rng, 4, 2.0);
            let u = random_vector(&mut rng, 2, 2.0);
            let err = max_abs_diff(&sim.step(&s, &u), &anisotropic_fine(&params, &s, &u));
            assert!(err <= EXACT_DISCRETISATION_TOL, "{params:?}: {err}");
        }
    }
}

#[test]
fn anisotropic_point_mass_is_linear() {
    let sim = anisotropic(32.0, 45.0);
    let mut rng = ChaCha8Rng::seed_from_u64(51);
    let (a, b) = (sim.a_matrix(), sim.b_matrix());
    for _ in 0..SAMPLES {
        let s = random_vector(&mut rng, 4, 3.0);
        let u = random_vector(&mut rng, 2, 3.0);
        let expected = &a * &s + &b * &u;
        assert!(max_abs_diff(&sim.step(&s, &u), &expected) <= ROUNDOFF_TOL * 10.0);
        let (a2, b2) = sim.jacobians(&s, &u);
        assert!((&a2 - &a).amax() <= ROUNDOFF_TOL && (&b2 - &b).amax() <= ROUNDOFF_TOL);
    }
}

#[test]
fn anisotropic_point_mass_inverse_round_trip() {
    let mut rng = ChaCha8Rng::seed_from_u64(52);
    for (xi, phi_deg) in [(1.0, 45.0), (32.0, 45.0), (32.0, 0.0), (7.0, -75.0)] {
        let sim = anisotropic(xi, phi_deg);
        for _ in 0..SAMPLES {
            let s = random_vector(&mut rng, 4, 3.0);
            let u = random_vector(&mut rng, 2, 3.0);
            let u2 = random_vector(&mut rng, 2, 3.0);
            let target = sim.step(&s, &u2);
            let u_inv = sim.control_inverse(&s, &u, &target).unwrap();
            let reached = max_abs_diff(&sim.step(&s, &u_inv), &target);
            assert!(
                reached <= ROUNDOFF_TOL * 10.0,
                "ξ = {xi}, φ = {phi_deg}: {reached}"
            );
            // B has full column rank, so the force is recovered; the y-axis amplifies the
            // round-off of the target by up to ξ²/φ₁ ≈ 1e4.
            let recovered = max_abs_diff(&u_inv, &u2);
            assert!(recovered <= 1e-9, "ξ = {xi}, φ = {phi_deg}: {recovered}");
        }
    }
}

#[test]
fn anisotropic_point_mass_inverse_solves_the_normal_equations() {
    let mut rng = ChaCha8Rng::seed_from_u64(53);
    for (xi, phi_deg) in [(1.0, 45.0), (32.0, 45.0), (7.0, -75.0)] {
        let sim = anisotropic(xi, phi_deg);
        let s = random_vector(&mut rng, 4, 1.0);
        let u = Vector::zeros(2);
        // A random target is not reachable (4 conditions, 2 controls).
        let target = random_vector(&mut rng, 4, 1.0);
        let u_inv = sim.control_inverse(&s, &u, &target).unwrap();
        let (a, b) = sim.jacobians(&s, &u);
        // Bᵀ (P(s, ũ) − s̃') = 0 ...
        let residual = sim.step(&s, &u_inv) - &target;
        assert!((b.transpose() * residual).amax() <= ROUNDOFF_TOL);
        // ... and ũ is the solution of BᵀB ũ = Bᵀ(s̃' − A s), here solved by SVD. BᵀB has
        // condition number ~ξ⁴, so the reference itself is only accurate to ~ξ⁴·ε relative.
        let rhs = b.transpose() * (&target - &a * &s);
        let reference = (b.transpose() * &b)
            .svd(true, true)
            .solve(&rhs, 0.0)
            .unwrap();
        let err = max_abs_diff(&u_inv, &reference) / reference.amax().max(1.0);
        assert!(err <= 1e-9, "ξ = {xi}, φ = {phi_deg}: {err}");
    }
}

#[test]
fn anisotropic_point_mass_y_response_is_one_over_xi_squared() {
    let zero = Vector::zeros(4);
    let response =
        |sim: &AnisotropicPointMass, u: [f64; 2]| sim.step(&zero, &Vector::from_column_slice(&u));
    // ξ a power of two: the division by ξ² is exact, so the ratio is exact.
    let sim = anisotropic(32.0, 0.0);
    let rx = response(&sim, [1.0, 0.0]);
    let ry = response(&sim, [0.0, 1.0]);
    assert!(rx[0] > 0.0 && rx[2] > 0.0);
    assert_eq!(rx[1], 0.0);
    assert_eq!(rx[3], 0.0);
    assert_eq!(ry[0], 0.0);
    assert_eq!(ry[2], 0.0);
    assert_eq!(ry[1], rx[0] / 1024.0);
    assert_eq!(ry[3], rx[2] / 1024.0);
    let b = sim.b_matrix();
    assert_eq!(b[(1, 1)] * 1024.0, b[(0, 0)]);
    assert_eq!(b[(3, 1)] * 1024.0, b[(2, 0)]);
    // Any ξ: to round-off.
    let xi: f64 = 3.7;
    let sim = anisotropic(xi, 0.0);
    let rx = response(&sim, [1.0, 0.0]);
    let ry = response(&sim, [0.0, 1.0]);
    for (y, x) in [(ry[1], rx[0]), (ry[3], rx[2])] {
        assert!(
            (y * xi * xi - x).abs() <= 1e-15 * x.abs(),
            "{y} · ξ² vs {x}"
        );
    }
    // Rotation: at φ = 90° the first control pushes +y and the second −x.
    let sim = anisotropic(2.0, 90.0);
    let r1 = response(&sim, [1.0, 0.0]);
    let r2 = response(&sim, [0.0, 1.0]);
    assert!(r1[0].abs() <= 1e-16 && r1[1] > 0.0);
    assert!(r2[1].abs() <= 1e-16 && r2[0] < 0.0);
    assert!((r1[1] * 4.0 + r2[0]).abs() <= 1e-16);
}

#[test]
fn anisotropic_point_mass_at_xi_1_phi_0_is_point_mass() {
    let tol = 1e-14;
    let close = |a: &Vector, b: &Vector| max_abs_diff(a, b) <= tol * b.amax().max(1.0);
    let mut rng = ChaCha8Rng::seed_from_u64(54);
    for (mass, drag, dt) in [(1.0, 0.5, 0.1), (2.5, 3.0, 0.4), (0.3, 0.0, 0.05)] {
        let reference = PointMass::new(PointMassParams { mass, drag, dt }).unwrap();
        let sim = AnisotropicPointMass::new(AnisotropicPointMassParams {
            xi: 1.0,
            phi_deg: 0.0,
            mass,
            drag,
            dt,
        })
        .unwrap();
        assert_eq!(sim.name(), "anisotropic_point_mass");
        assert_eq!(reference.name(), "point_mass");
        assert_eq!(sim.dt(), reference.dt());
        assert!((sim.a_matrix() - reference.a_matrix()).amax() <= tol);
        assert!((sim.b_matrix() - reference.b_matrix()).amax() <= tol);
        for _ in 0..SAMPLES {
            let s = random_vector(&mut rng, 4, 3.0);
            let u = random_vector(&mut rng, 2, 3.0);
            let w = random_vector(&mut rng, 4, 1.0);
            let target = random_vector(&mut rng, 4, 1.0);
            assert!(close(&sim.step(&s, &u), &reference.step(&s, &u)));
            let (ws, wu) = sim.vjp(&s, &u, &w);
            let (ws0, wu0) = reference.vjp(&s, &u, &w);
            assert!(close(&ws, &ws0) && close(&wu, &wu0));
            let inv = sim.control_inverse(&s, &u, &target).unwrap();
            let inv0 = reference.control_inverse(&s, &u, &target).unwrap();
            assert!(close(&inv, &inv0), "{inv} vs {inv0}");
        }
    }
}

// ---------------------------------------------------------------- oscillators

/// Exact solution of the uncontrolled linear ODE via its normal modes:
/// `q₁ + q₂` with ω = 1 and `q₁ − q₂` with ω = √(1 + 2c).
fn oscillators_exact(c: f64, s0: &Vector, t: f64) -> Vector {
    let mode = |q: f64, p: f64, w: f64| {
        (
            q * (w * t).cos() + p / w * (w * t).sin(),
            -q * w * (w * t).sin() + p * (w * t).cos(),
        )
    };
    let (qs, ps) = mode(s0[0] + s0[1], s0[2] + s0[3], 1.0);
    let (qd, pd) = mode(s0[0] - s0[1], s0[2] - s0[3], (1.0 + 2.0 * c).sqrt());
    Vector::from_column_slice(&[
        (qs + qd) / 2.0,
        (qs - qd) / 2.0,
        (ps + pd) / 2.0,
        (ps - pd) / 2.0,
    ])
}

fn oscillators_error(dt: f64, s0: &Vector, t_end: f64) -> f64 {
    let sim = Oscillators::new(OscillatorsParams {
        dt,
        ..Default::default()
    })
    .unwrap();
    let steps = (t_end / dt).round() as usize;
    let u = Vector::zeros(1);
    let mut s = s0.clone();
    for _ in 0..steps {
        s = sim.step(&s, &u);
    }
    max_abs_diff(&s, &oscillators_exact(0.2, s0, t_end))
}

/// RK4 at the reference Δt = 0.5 over 4 steps: local error ~(ωΔt)⁵/120 per step.
const OSC_REFERENCE_DT_TOL: f64 = 5e-3;

#[test]
fn oscillators_match_analytic_solution_to_rk4_order() {
    let s0 = Vector::from_column_slice(&[0.3, 0.8, 0.5, 0.1]);
    let coarse = oscillators_error(0.5, &s0, 2.0);
    assert!(
        coarse <= OSC_REFERENCE_DT_TOL,
        "error at Δt = 0.5: {coarse}"
    );
    // Fourth order: halving Δt divides the error by ≈ 16.
    let e1 = oscillators_error(0.1, &s0, 2.0);
    let e2 = oscillators_error(0.05, &s0, 2.0);
    let ratio = e1 / e2;
    assert!((12.0..20.0).contains(&ratio), "convergence ratio {ratio}");
}

#[test]
fn oscillators_energy_stays_bounded() {
    // E = ½|p|² + ½ qᵀ(I − c·Lap)q. RK4 is slightly dissipative for ωΔt < 2.8, so the
    // energy must never grow over many periods.
    let sim = oscillators();
    let c = 0.2;
    let energy = |s: &Vector| {
        0.5 * (s[2] * s[2] + s[3] * s[3])
            + 0.5 * ((1.0 + c) * (s[0] * s[0] + s[1] * s[1]) - 2.0 * c * s[0] * s[1])
    };
    let mut s = Vector::from_column_slice(&[0.9, 0.1, 0.4, 0.7]);
    let e0 = energy(&s);
    let u = Vector::zeros(1);
    for _ in 0..400 {
        s = sim.step(&s, &u);
        assert!(energy(&s) <= e0 * (1.0 + 1e-12));
    }
    // ...and does not collapse either: RK4's damping at ωΔt ≈ 0.6 is ~1e-4 per step.
    assert!(energy(&s) >= 0.8 * e0);
}

#[test]
fn oscillators_control_acts_on_p2() {
    let sim = oscillators();
    let (_, b) = sim.jacobians(&Vector::zeros(4), &Vector::zeros(1));
    // Over one step the force changes p₂ by ≈ Δt and q₂ by ≈ Δt²/2.
    assert!((b[(3, 0)] - 0.5).abs() < 0.05);
    assert!((b[(1, 0)] - 0.125).abs() < 0.02);
}

// ---------------------------------------------------------------- pendulum

/// Period from zero crossings with linear interpolation, RK4 phase error ~(ωΔt)⁴ and the
/// finite-amplitude correction θ₀²/16 ≈ 6e-6 are all below this.
const PERIOD_TOL: f64 = 1e-4;

#[test]
fn pendulum_small_angle_period() {
    let params = PendulumParams {
        damping: 0.0,
        ..Default::default()
    };
    let sim = Pendulum::new(params.clone()).unwrap();
    let dt = params.dt;
    let mut s = Vector::from_column_slice(&[0.01, 0.0]);
    let u = Vector::zeros(1);
    // Times of downward (θ: + → −) zero crossings.
    let mut crossings = Vec::new();
    let mut t = 0.0;
    while crossings.len() < 4 {
        let next = sim.step(&s, &u);
        if s[0] > 0.0 && next[0] <= 0.0 {
            crossings.push(t + dt * s[0] / (s[0] - next[0]));
        }
        s = next;
        t += dt;
        assert!(t < 100.0, "no oscillation");
    }
    let period = (crossings[3] - crossings[0]) / 3.0;
    let expected = 2.0 * std::f64::consts::PI * (params.length / params.gravity).sqrt();
    assert!(
        ((period - expected) / expected).abs() <= PERIOD_TOL,
        "period {period}, expected {expected}"
    );
}

#[test]
fn pendulum_upright_is_equilibrium_and_torque_balances_gravity() {
    let sim = pendulum();
    let upright = Vector::from_column_slice(&[std::f64::consts::PI, 0.0]);
    let next = sim.step(&upright, &Vector::zeros(1));
    assert!(max_abs_diff(&next, &upright) <= 1e-12);
    // Holding at 90°: τ = m g l sin θ.
    let side = Vector::from_column_slice(&[std::f64::consts::FRAC_PI_2, 0.0]);
    let next = sim.step(&side, &Vector::from_element(1, 9.81));
    assert!(max_abs_diff(&next, &side) <= 1e-12);
}

#[test]
fn pendulum_damping_dissipates_energy() {
    let sim = pendulum();
    let energy = |s: &Vector| 0.5 * s[1] * s[1] + 9.81 * (1.0 - s[0].cos());
    let mut s = Vector::from_column_slice(&[2.0, 0.0]);
    let e0 = energy(&s);
    let u = Vector::zeros(1);
    for _ in 0..400 {
        s = sim.step(&s, &u);
    }
    // Damping b = 0.1/s over 20 s: energy ~ e^{−b t} ≈ 0.14 of the start.
    assert!(energy(&s) < 0.3 * e0);
}

// ---------------------------------------------------------------- burgers

#[test]
fn burgers_inverse_round_trip() {
    let sim = burgers();
    let mut rng = ChaCha8Rng::seed_from_u64(30);
    for _ in 0..SAMPLES {
        let s = random_vector(&mut rng, 32, 3.0);
        let u = random_vector(&mut rng, 32, 5.0);
        let u2 = random_vector(&mut rng, 32, 5.0);
        let target = sim.step(&s, &u2);
        let u_inv = sim.control_inverse(&s, &u, &target).unwrap();
        assert!(max_abs_diff(&sim.step(&s, &u_inv), &target) <= 1e-12);
        // Division by Δt amplifies the round-off of N(s) by 1/Δt ≈ 33.
        assert!(max_abs_diff(&u_inv, &u2) <= 1e-11);
    }
}

#[test]
fn burgers_scenes_are_deterministic_and_consistent() {
    let sim = burgers();
    let steps = 32;
    let a = sim
        .generate(GAUSSIAN_CLASH, steps, &mut ChaCha8Rng::seed_from_u64(7))
        .unwrap();
    let b = sim
        .generate(GAUSSIAN_CLASH, steps, &mut ChaCha8Rng::seed_from_u64(7))
        .unwrap();
    assert_eq!(a, b);
    let c = sim
        .generate(GAUSSIAN_CLASH, steps, &mut ChaCha8Rng::seed_from_u64(8))
        .unwrap();
    assert_ne!(a, c);

    // Target = simulating the reference controls from the initial state.
    let controls = a.reference_controls.as_ref().unwrap();
    assert_eq!(controls.len(), steps);
    let mut s = a.initial.clone();
    for f in controls {
        s = sim.step(&s, f);
    }
    assert!(max_abs_diff(&s, &a.target) <= 1e-12);
    // Constant force, within the documented ranges: |a| ≤ 1.6.
    assert!(controls.windows(2).all(|w| w[0] == w[1]));
    assert!(controls[0].amax() <= 1.6);
}

#[test]
fn burgers_initial_state_is_a_gaussian_clash() {
    let sim = burgers();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..20 {
        let scene = sim.generate(GAUSSIAN_CLASH, 1, &mut rng).unwrap();
        let s = &scene.initial;
        // Left bump positive (a_l ≥ 0, centre 0.2–0.4), right bump negative.
        let left_max = (6..13).map(|i| s[i]).fold(f64::MIN, f64::max);
        let right_min = (19..26).map(|i| s[i]).fold(f64::MAX, f64::min);
        assert!(left_max >= -1e-3 && right_min <= 1e-3);
        assert!(s.amax() <= 3.0);
    }
}

#[test]
fn burgers_unknown_generator_lists_known_names() {
    let err = burgers()
        .generate("nope", 3, &mut ChaCha8Rng::seed_from_u64(0))
        .unwrap_err();
    match err {
        physinv::Error::Config(msg) => assert!(msg.contains(GAUSSIAN_CLASH), "{msg}"),
        other => panic!("expected Config, got {other:?}"),
    }
}

#[test]
fn burgers_obeys_maximum_principle() {
    // Diffusion (r ≤ ¼) and linear-interpolation advection are both convex combinations, so
    // without forcing max|s| never grows; with viscosity a clash decays.
    let sim = burgers();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let zero = Vector::zeros(32);
    let mut s = sim.generate(GAUSSIAN_CLASH, 0, &mut rng).unwrap().initial;
    let m0 = s.amax();
    let e0 = s.norm_squared();
    let mut prev = m0;
    for _ in 0..200 {
        s = sim.step(&s, &zero);
        let m = s.amax();
        assert!(m <= prev * (1.0 + 1e-14));
        prev = m;
    }
    assert!(
        s.norm_squared() < 0.5 * e0,
        "kinetic energy should dissipate"
    );
}

#[test]
fn burgers_uniform_flow_is_steady() {
    // A uniform velocity is an exact solution of Burgers; the scheme reproduces it.
    let sim = burgers();
    let s = Vector::from_element(32, 0.7);
    let next = sim.step(&s, &Vector::zeros(32));
    assert!(max_abs_diff(&next, &s) <= 1e-14);
}

// ---------------------------------------------------------------- registry

fn registry() -> Registry {
    let mut r = Registry::new();
    physinv::sim::point_mass::register(&mut r);
    physinv::sim::anisotropic_point_mass::register(&mut r);
    physinv::sim::oscillators::register(&mut r);
    physinv::sim::pendulum::register(&mut r);
    physinv::sim::burgers::register(&mut r);
    r
}

fn build(name: &str, params: &str) -> Result<Physics, BuildError> {
    registry().build(name, ron::from_str::<ron::Value>(params).unwrap())
}

#[test]
fn registry_builds_defaults() {
    let expected = [
        ("point_mass", 4, 2, 0.1),
        ("anisotropic_point_mass", 4, 2, 0.1),
        ("oscillators", 4, 1, 0.5),
        ("pendulum", 2, 1, 0.05),
        ("burgers", 32, 32, 0.03),
    ];
    for (name, n, m, dt) in expected {
        let p = build(name, "()").unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(p.name(), name);
        assert_eq!(p.sim().state_dim(), n);
        assert_eq!(p.sim().control_dim(), m);
        assert!((p.sim().dt() - dt).abs() < 1e-15);
        assert!(p.jvp().is_some() && p.vjp().is_some(), "{name}");
        assert!(registry().description(name).is_some());
    }
    assert!(build("point_mass", "()").unwrap().inverse().is_some());
    assert!(build("anisotropic_point_mass", "()")
        .unwrap()
        .inverse()
        .is_some());
    let b = build("burgers", "()").unwrap();
    assert!(b.inverse().is_some());
    assert_eq!(
        b.scenes().unwrap().generator_names(),
        vec![GAUSSIAN_CLASH.to_string()]
    );
    // Builtins contain the same names.
    let builtins = Registry::with_builtins().names();
    for (name, ..) in expected {
        assert!(builtins.contains(&name.to_string()), "{name}");
    }
}

#[test]
fn registry_reads_params() {
    let p = build("burgers", "(cells: 16, dt: 0.01)").unwrap();
    assert_eq!(p.sim().state_dim(), 16);
    assert!((p.sim().dt() - 0.01).abs() < 1e-15);
    let p = build("pendulum", "(substeps: 3)").unwrap();
    assert!((p.sim().dt() - 0.05).abs() < 1e-15);
    let p = build(
        "anisotropic_point_mass",
        "(xi: 32.0, phi_deg: 45.0, drag: 0.5, dt: 0.2)",
    )
    .unwrap();
    assert_eq!(p.name(), "anisotropic_point_mass");
    assert!((p.sim().dt() - 0.2).abs() < 1e-15);
}

#[test]
fn registry_rejects_bad_params() {
    let cases = [
        ("point_mass", "(dt: -1.0)", "dt"),
        ("point_mass", "(mass: 0.0)", "mass"),
        ("point_mass", "(drag: -0.5)", "drag"),
        ("anisotropic_point_mass", "(xi: 0.0)", "xi"),
        ("anisotropic_point_mass", "(xi: -2.0)", "xi"),
        ("anisotropic_point_mass", "(xi: 1e200)", "xi"),
        ("anisotropic_point_mass", "(mass: -1.0)", "mass"),
        ("anisotropic_point_mass", "(drag: -0.5)", "drag"),
        ("anisotropic_point_mass", "(dt: 0.0)", "dt"),
        ("oscillators", "(dt: -1.0)", "dt"),
        ("oscillators", "(coupling: -0.2)", "coupling"),
        ("pendulum", "(dt: -1.0)", "dt"),
        ("pendulum", "(length: -1.0)", "length"),
        ("pendulum", "(substeps: 0)", "substeps"),
        ("burgers", "(dt: -1.0)", "dt"),
        ("burgers", "(cells: 2)", "cells"),
        ("burgers", "(viscosity: -0.1)", "viscosity"),
    ];
    for (name, params, field) in cases {
        match build(name, params) {
            Err(BuildError::Param(e)) => {
                assert_eq!(e.field, field, "{name} {params}");
                assert!(e.message.contains("must be"), "{}", e.message);
            }
            other => panic!("{name} {params}: expected Param error, got {other:?}"),
        }
    }
    // Typos are schema errors (deny_unknown_fields).
    assert!(matches!(
        build("pendulum", "(lenght: 1.0)"),
        Err(BuildError::Schema(_))
    ));
    assert!(matches!(
        build("anisotropic_point_mass", "(phi: 45.0)"),
        Err(BuildError::Schema(_))
    ));
}
