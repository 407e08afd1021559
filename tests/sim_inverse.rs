//! Derivative checks, analytic inverses, metrics and registry entries of the single-prediction
//! simulators `rotating_sine` and `exponential`.

use physinv::sim::check::{check_adjoint, check_jvp};
use physinv::sim::exponential::{self, Exponential, ExponentialParams};
use physinv::sim::rotating_sine::{self, RotatingSine, RotatingSineParams};
use physinv::sim::BuildError;
use physinv::sim::{ControlHessian, ControlInverse, Jvp, Matrix, Scene, Simulator, Vector, Vjp};
use physinv::InverseError;
use physinv::Registry;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// Central-difference step: balances truncation error `O(h² P''')` against round-off
/// `O(ε |P| / h)`; with `γ/ξ ≤ 10` and `|P| ≤ 320` both stay below ~1e-7.
const FD_STEP: f64 = 1e-6;
/// JVP vs central differences (relative): the FD error budget above with a safety margin.
const JVP_TOL: f64 = 1e-6;
/// Adjoint identity `⟨w, Jv⟩ = ⟨Jᵀw, v⟩` (relative): both sides use the same Jacobian, so
/// only round-off of two 2-term dot products remains.
const ADJOINT_TOL: f64 = 1e-12;
/// Closed-form vs JVP-assembled Jacobians (relative): identical formulas, round-off only.
const JACOBIAN_TOL: f64 = 1e-12;
/// Hessian vs central differences of the gradient `Bᵀw` (relative): same budget as the JVP.
const HESSIAN_TOL: f64 = 1e-6;
/// Analytic inverse round trip and distances (relative to the size of the quantities):
/// `asin`/`ln` and the rotation lose a few ulps times the magnification `ξ/γ`.
const ROUND_TRIP_TOL: f64 = 1e-10;

/// Points per check.
const SAMPLES: usize = 20;

fn sine_params() -> Vec<RotatingSineParams> {
    vec![
        RotatingSineParams::default(),
        RotatingSineParams {
            xi: 32.0,
            phi_deg: 45.0,
            gamma: 10.0,
        },
        RotatingSineParams {
            xi: 5.0,
            phi_deg: 10.0,
            gamma: 3.0,
        },
        RotatingSineParams {
            xi: 0.5,
            phi_deg: -23.0,
            gamma: 10.0,
        },
    ]
}

fn sine(params: RotatingSineParams) -> RotatingSine {
    RotatingSine::new(params).expect("valid parameters")
}

fn uniform(rng: &mut ChaCha8Rng, len: usize, half_width: f64) -> Vector {
    Vector::from_fn(len, |_, _| rng.gen_range(-half_width..half_width))
}

/// `max |a − b| / max(max |a|, max |b|, 1)`.
fn rel_diff(a: &Matrix, b: &Matrix) -> f64 {
    (a - b).amax() / a.amax().max(b.amax()).max(1.0)
}

/// Wraps a simulator so that `jacobians` is the trait's default column-by-column assembly.
struct DefaultAssembly<S>(S);

impl<S: Simulator> Simulator for DefaultAssembly<S> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn state_dim(&self) -> usize {
        self.0.state_dim()
    }
    fn control_dim(&self) -> usize {
        self.0.control_dim()
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.0.step(state, control)
    }
}

impl<S: Jvp> Jvp for DefaultAssembly<S> {
    fn jvp(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        self.0.jvp(s, u, ds, du)
    }
}

fn check_derivatives<S: Jvp + Vjp + ControlHessian + Clone>(sim: &S, half_width: f64, seed: u64) {
    let (n, m) = (sim.state_dim(), sim.control_dim());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let reference = DefaultAssembly(sim.clone());
    for _ in 0..SAMPLES {
        let s = uniform(&mut rng, n, 1.0);
        let u = uniform(&mut rng, m, half_width);
        let ds = uniform(&mut rng, n, 1.0);
        let du = uniform(&mut rng, m, 1.0);
        let w = uniform(&mut rng, n, 1.0);

        let jvp = check_jvp(sim, &s, &u, &ds, &du, FD_STEP).expect("lengths match");
        assert!(
            jvp.passes(JVP_TOL),
            "{}: JVP {jvp:?} at u = {u}",
            sim.name()
        );
        let adj = check_adjoint(sim, &s, &u, &ds, &du, &w).expect("lengths match");
        assert!(adj.passes(ADJOINT_TOL), "{}: adjoint {adj:?}", sim.name());

        let (a, b) = sim.jacobians(&s, &u);
        let (a0, b0) = reference.jacobians(&s, &u);
        assert!(rel_diff(&a, &a0) <= JACOBIAN_TOL, "A: {a} vs {a0}");
        assert!(rel_diff(&b, &b0) <= JACOBIAN_TOL, "B: {b} vs {b0}");
        assert_eq!(a.amax(), 0.0, "the incoming state is ignored");

        // Hessian against central differences of the gradient Bᵀw.
        let h = sim.control_hessian(&s, &u, &w);
        let mut fd = Matrix::zeros(m, m);
        for j in 0..m {
            let mut e = Vector::zeros(m);
            e[j] = FD_STEP;
            let gp = sim.vjp(&s, &(&u + &e), &w).1;
            let gm = sim.vjp(&s, &(&u - &e), &w).1;
            fd.set_column(j, &((gp - gm) / (2.0 * FD_STEP)));
        }
        assert!(rel_diff(&h, &fd) <= HESSIAN_TOL, "Hessian {h} vs FD {fd}");
        assert!(
            rel_diff(&h, &h.transpose()) <= JACOBIAN_TOL,
            "Hessian not symmetric"
        );
    }
}

#[test]
fn rotating_sine_derivatives_match_finite_differences() {
    for (k, p) in sine_params().into_iter().enumerate() {
        check_derivatives(&sine(p), 2.0, 100 + k as u64);
    }
}

#[test]
fn exponential_derivatives_match_finite_differences() {
    check_derivatives(&Exponential, 3.0, 7);
}

/// A solution `x'` of the rotating sine whose sine argument `a'` is at least 0.45 away from
/// the other branches (|sin a'| ≤ 0.9), on a random branch `k ∈ −2..=2`.
fn well_separated_solution(sim: &RotatingSine, rng: &mut ChaCha8Rng) -> Vector {
    let base = rng.gen_range(-0.9f64..0.9).asin();
    let a =
        if rng.gen_bool(0.5) { base } else { PI - base } + 2.0 * PI * rng.gen_range(-2..=2) as f64;
    let h0 = a * sim.xi() / sim.gamma();
    let h1 = rng.gen_range(-1.0..1.0) / (sim.gamma() * sim.xi());
    let phi = sim.phi_deg().to_radians();
    // x = R_φᵀ x̂.
    Vector::from_vec(vec![
        phi.cos() * h0 + phi.sin() * h1,
        -phi.sin() * h0 + phi.cos() * h1,
    ])
}

#[test]
fn rotating_sine_inverse_round_trip_nearest_branch() {
    let zero = Vector::zeros(2);
    for (k, p) in sine_params().into_iter().enumerate() {
        let sim = sine(p);
        let scale = sim.xi() / sim.gamma();
        let mut rng = ChaCha8Rng::seed_from_u64(200 + k as u64);
        for _ in 0..SAMPLES {
            // From an arbitrary start: lands on the target, no farther than a known solution.
            let x_true = uniform(&mut rng, 2, 3.0 * scale);
            let y = sim.step(&zero, &x_true);
            let x = uniform(&mut rng, 2, 3.0 * scale);
            let x_inv = sim.control_inverse(&zero, &x, &y).expect("in range");
            let y_inv = sim.step(&zero, &x_inv);
            assert!(
                (&y_inv - &y).amax() <= ROUND_TRIP_TOL * y.amax().max(1.0),
                "{y_inv} vs {y}"
            );
            let d = (&x_inv - &x).norm();
            assert!(d <= (&x_true - &x).norm() * (1.0 + ROUND_TRIP_TOL) + ROUND_TRIP_TOL);
            // x_dist is the distance to that nearest solution.
            let dist = sim.x_dist(&x, &y);
            assert!((dist - d).abs() <= ROUND_TRIP_TOL * d.max(scale));

            // From a start near a well-separated solution: returns that solution.
            let x_true = well_separated_solution(&sim, &mut rng);
            let y = sim.step(&zero, &x_true);
            let offset = uniform(&mut rng, 2, 0.15 * scale);
            let x_inv = sim.control_inverse(&zero, &(&x_true + offset), &y).unwrap();
            assert!(
                (&x_inv - &x_true).norm() <= ROUND_TRIP_TOL * x_true.norm().max(scale),
                "{x_inv} vs {x_true}"
            );
        }
    }
}

#[test]
fn rotating_sine_inverse_picks_other_branches() {
    let sim = sine(RotatingSineParams {
        xi: 32.0,
        phi_deg: 45.0,
        gamma: 10.0,
    });
    let zero = Vector::zeros(2);
    let phi = 45f64.to_radians();
    // x̂ = (ξ/γ) (0.3, 0) + x̂₂ e₂, start at the branch shifted by one period and by the mirror.
    let to_x = |h0: f64, h1: f64| {
        Vector::from_vec(vec![
            phi.cos() * h0 + phi.sin() * h1,
            -phi.sin() * h0 + phi.cos() * h1,
        ])
    };
    let s = sim.xi() / sim.gamma();
    let x_true = to_x(0.3 * s, 0.002);
    let y = sim.step(&zero, &x_true);
    let shifted = to_x((0.3 + 2.0 * PI) * s, 0.002);
    let got = sim
        .control_inverse(&zero, &to_x((0.35 + 2.0 * PI) * s, 0.01), &y)
        .unwrap();
    assert!((&got - &shifted).norm() <= ROUND_TRIP_TOL * shifted.norm());
    let mirrored = to_x((PI - 0.3) * s, 0.002);
    let got = sim
        .control_inverse(&zero, &to_x((PI - 0.4) * s, -0.01), &y)
        .unwrap();
    assert!((&got - &mirrored).norm() <= ROUND_TRIP_TOL * mirrored.norm());
}

#[test]
fn inverse_out_of_range_is_an_error() {
    let sim = sine(RotatingSineParams::default());
    let zero = Vector::zeros(2);
    for y0 in [1.5, -1.0001, f64::INFINITY, f64::NAN] {
        let r = sim.control_inverse(&zero, &zero, &Vector::from_vec(vec![y0, 0.0]));
        assert!(
            matches!(r, Err(InverseError::OutOfRange { .. })),
            "y₁ = {y0}: {r:?}"
        );
    }
    let one = Vector::zeros(1);
    for y in [0.0, -1.0, f64::NAN] {
        let r = Exponential.control_inverse(&one, &one, &Vector::from_element(1, y));
        assert!(
            matches!(r, Err(InverseError::OutOfRange { .. })),
            "y = {y}: {r:?}"
        );
    }
}

#[test]
fn exponential_inverse_round_trip() {
    let zero = Vector::zeros(1);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..SAMPLES {
        let x_true = Vector::from_element(1, rng.gen_range(-12.0..2.0));
        let y = Exponential.step(&zero, &x_true);
        let x = Vector::from_element(1, rng.gen_range(-12.0..2.0));
        let x_inv = Exponential.control_inverse(&zero, &x, &y).unwrap();
        assert!((x_inv[0] - x_true[0]).abs() <= ROUND_TRIP_TOL * x_true[0].abs().max(1.0));
        assert!(
            (Exponential.x_dist(&x, &y) - (x[0] - x_true[0]).abs()).abs() <= ROUND_TRIP_TOL * 12.0
        );
    }
}

#[test]
fn x_dist_zero_at_solution_and_known_offsets() {
    let sim = sine(RotatingSineParams {
        xi: 32.0,
        phi_deg: 45.0,
        gamma: 10.0,
    });
    let zero = Vector::zeros(2);
    let s = sim.xi() / sim.gamma();
    let phi = 45f64.to_radians();
    let to_x = |h0: f64, h1: f64| {
        Vector::from_vec(vec![
            phi.cos() * h0 + phi.sin() * h1,
            -phi.sin() * h0 + phi.cos() * h1,
        ])
    };
    let x_true = to_x(0.3 * s, 0.002);
    let y = sim.step(&zero, &x_true);
    assert!(sim.x_dist(&x_true, &y) <= ROUND_TRIP_TOL * s);
    // Offset along x̂₂ (any size): only x̂₂ is wrong.
    let x = to_x(0.3 * s, 0.502);
    assert!((sim.x_dist(&x, &y) - 0.5).abs() <= ROUND_TRIP_TOL);
    // Small offset along x̂₁ (nearest branch unchanged).
    let x = to_x(0.4 * s, 0.002);
    assert!((sim.x_dist(&x, &y) - 0.1 * s).abs() <= ROUND_TRIP_TOL * s);
    // Metrics through the trait: x_dist and x_dist / ξ.
    let physics = rotating_sine::physics(RotatingSineParams {
        xi: 32.0,
        phi_deg: 45.0,
        gamma: 10.0,
    })
    .unwrap();
    let metrics = physics.metrics().expect("rotating_sine has metrics");
    assert_eq!(metrics.metric_names(), ["x_dist", "x_dist_over_xi"]);
    let scene = Scene {
        initial: zero.clone(),
        target: y.clone(),
        reference_controls: None,
    };
    let values = metrics.evaluate(&scene, &[x], &[zero.clone(), y.clone()]);
    assert!((values[0] - 0.1 * s).abs() <= ROUND_TRIP_TOL * s);
    assert!((values[1] - 0.1 * s / 32.0).abs() <= ROUND_TRIP_TOL);
    // |y*₁| > 1: distance to the closest achievable set sin a = 1, here a = π/2.
    let y_out = Vector::from_vec(vec![1.5, y[1]]);
    let x = to_x((PI / 2.0 + 0.1) * s, 0.002);
    assert!((sim.x_dist(&x, &y_out) - 0.1 * s).abs() <= ROUND_TRIP_TOL * s);

    // Exponential: |x − ln y*|.
    let y = Vector::from_element(1, 2f64.exp());
    assert!(Exponential.x_dist(&Vector::from_element(1, 2.0), &y) <= ROUND_TRIP_TOL);
    assert!((Exponential.x_dist(&Vector::from_element(1, -1.5), &y) - 3.5).abs() <= ROUND_TRIP_TOL);
    assert_eq!(
        Exponential.x_dist(
            &Vector::from_element(1, 0.0),
            &Vector::from_element(1, -1.0)
        ),
        f64::INFINITY
    );
    let physics = exponential::physics(ExponentialParams {}).unwrap();
    let metrics = physics.metrics().unwrap();
    assert_eq!(metrics.metric_names(), ["x_dist"]);
    let scene = Scene {
        initial: Vector::zeros(1),
        target: y,
        reference_controls: None,
    };
    let v = metrics.evaluate(&scene, &[Vector::from_element(1, 1.0)], &[]);
    assert!((v[0] - 1.0).abs() <= ROUND_TRIP_TOL);
}

fn ron_value(text: &str) -> ron::Value {
    ron::from_str::<ron::Value>(text).expect("valid RON")
}

#[test]
fn registry_builds_rotating_sine() {
    let registry = Registry::with_builtins();
    let physics = registry
        .build("rotating_sine", ron_value("(xi: 32.0, phi_deg: 45.0)"))
        .expect("builds");
    assert_eq!(physics.name(), "rotating_sine");
    assert_eq!(physics.sim().state_dim(), 2);
    assert_eq!(physics.sim().control_dim(), 2);
    assert!(physics.jvp().is_some() && physics.vjp().is_some());
    assert!(physics.inverse().is_some() && physics.hessian().is_some());
    let direct = sine(RotatingSineParams {
        xi: 32.0,
        phi_deg: 45.0,
        gamma: 10.0,
    });
    let x = Vector::from_vec(vec![0.3, -0.2]);
    let zero = Vector::zeros(2);
    assert!((physics.sim().step(&zero, &x) - direct.step(&zero, &x)).amax() <= ROUND_TRIP_TOL);
    // Defaults: xi 1, phi 0, gamma 10.
    let physics = registry
        .build("rotating_sine", ron_value("()"))
        .expect("defaults");
    let y = physics.sim().step(&zero, &x);
    assert!((y[0] - 3f64.sin()).abs() <= ROUND_TRIP_TOL && (y[1] + 2.0).abs() <= ROUND_TRIP_TOL);
}

#[test]
fn registry_rejects_bad_rotating_sine_params() {
    let registry = Registry::with_builtins();
    let r = registry.build("rotating_sine", ron_value("(xi: 32.0, phi: 45.0)"));
    assert!(matches!(r, Err(BuildError::Schema(_))), "{r:?}");
    for text in ["(xi: -1.0)", "(xi: 0.0)"] {
        match registry.build("rotating_sine", ron_value(text)) {
            Err(BuildError::Param(e)) => assert_eq!(e.field, "xi", "{text}: {e:?}"),
            other => panic!("{text}: expected a parameter error, got {other:?}"),
        }
    }
    match registry.build("rotating_sine", ron_value("(gamma: 0.0)")) {
        Err(BuildError::Param(e)) => assert_eq!(e.field, "gamma"),
        other => panic!("expected a parameter error, got {other:?}"),
    }
}

#[test]
fn registry_builds_exponential() {
    let registry = Registry::with_builtins();
    let physics = registry
        .build("exponential", ron_value("()"))
        .expect("builds");
    assert_eq!(physics.name(), "exponential");
    assert!(physics.inverse().is_some() && physics.hessian().is_some());
    let y = physics
        .sim()
        .step(&Vector::zeros(1), &Vector::from_element(1, 1.0));
    assert!((y[0] - 1f64.exp()).abs() <= ROUND_TRIP_TOL);
    let r = registry.build("exponential", ron_value("(scale: 2.0)"));
    assert!(matches!(r, Err(BuildError::Schema(_))), "{r:?}");
}
