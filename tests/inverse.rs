//! Step-level local inverse solvers on the rotating sine and the exponential.

use physinv::inverse::{solve, InverseMethod, InverseOutcome};
use physinv::sim::exponential::{self, ExponentialParams};
use physinv::sim::rotating_sine::{self, RotatingSineParams};
use physinv::sim::{Jvp, Physics, Simulator, Vector, Vjp};
use physinv::InverseError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Residual tolerance requested from the iterative solvers (state units).
const TOLERANCE: f64 = 1e-10;
/// Agreement of iterative and analytic inverses (control units, relative to `ξ/γ`): a residual
/// of `TOLERANCE` maps back through `B⁻¹`, whose norm is at most `ξ/γ / |cos a|` with
/// `|cos a| ≥ 0.4` at the well-separated starts used here.
const AGREEMENT_TOL: f64 = 1e-8;
/// Round-off allowance when comparing two evaluations of the same formula.
const ROUND_OFF: f64 = 1e-12;
/// Points per test.
const SAMPLES: usize = 20;

fn newton() -> InverseMethod {
    InverseMethod::Newton {
        tolerance: TOLERANCE,
        max_iterations: 50,
    }
}

fn saddle_free() -> InverseMethod {
    InverseMethod::SaddleFreeNewton {
        tolerance: TOLERANCE,
        max_iterations: 50,
        min_curvature: 1e-8,
        max_step: None,
    }
}

fn sine_params() -> RotatingSineParams {
    RotatingSineParams {
        xi: 32.0,
        phi_deg: 45.0,
        gamma: 10.0,
    }
}

fn sine() -> Physics {
    rotating_sine::physics(sine_params()).unwrap()
}

fn exp() -> Physics {
    exponential::physics(ExponentialParams {}).unwrap()
}

/// A solution `x'` of the rotating sine (ξ = 32, φ = 45°) with `|sin a'| ≤ 0.9`, and a start
/// `x` within `0.1 ξ/γ` of it, so `x'` is the nearest solution of `P(x̃) = P(x')`.
fn sine_problem(rng: &mut ChaCha8Rng) -> (Vector, Vector) {
    let p = sine_params();
    let scale = p.xi / p.gamma;
    let base = rng.gen_range(-0.9f64..0.9).asin();
    let a = if rng.gen_bool(0.5) {
        base
    } else {
        std::f64::consts::PI - base
    };
    let h0 = a * scale;
    let h1 = rng.gen_range(-1.0..1.0) / (p.gamma * p.xi);
    let phi = p.phi_deg.to_radians();
    let x_true = Vector::from_vec(vec![
        phi.cos() * h0 + phi.sin() * h1,
        -phi.sin() * h0 + phi.cos() * h1,
    ]);
    let offset = Vector::from_fn(2, |_, _| rng.gen_range(-0.07..0.07) * scale);
    (x_true.clone(), x_true + offset)
}

fn residual(physics: &Physics, state: &Vector, control: &Vector, target: &Vector) -> f64 {
    (physics.sim().step(state, control) - target).norm()
}

#[test]
fn every_method_reaches_the_target_on_the_rotating_sine() {
    let physics = sine();
    let zero = Vector::zeros(2);
    let scale = 32.0 / 10.0;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..SAMPLES {
        let (x_true, x) = sine_problem(&mut rng);
        let y = physics.sim().step(&zero, &x_true);
        let start = residual(&physics, &zero, &x, &y);

        let exact = solve(&InverseMethod::Analytic, &physics, &zero, &x, &y).unwrap();
        assert_eq!(exact.iterations, 0);
        assert!(exact.residual <= TOLERANCE);
        assert!((&exact.control - &x_true).norm() <= AGREEMENT_TOL * scale);

        for method in [newton(), saddle_free()] {
            let out = solve(&method, &physics, &zero, &x, &y)
                .unwrap_or_else(|e| panic!("{}: {e}", method.name()));
            assert!(out.residual <= TOLERANCE, "{}: {out:?}", method.name());
            assert!(
                (out.residual - residual(&physics, &zero, &out.control, &y)).abs() <= ROUND_OFF
            );
            assert!(out.iterations >= 1 && out.iterations <= 50);
            assert!(
                (&out.control - &exact.control).norm() <= AGREEMENT_TOL * scale,
                "{}: {} vs analytic {}",
                method.name(),
                out.control,
                exact.control
            );
        }

        // One pseudo-inverse step: second-order accurate, not exact.
        let step = solve(&InverseMethod::PseudoInverseStep, &physics, &zero, &x, &y).unwrap();
        assert_eq!(step.iterations, 1);
        assert!(
            step.residual < 0.2 * start,
            "{} vs start {start}",
            step.residual
        );
    }
}

#[test]
fn every_method_reaches_the_target_on_the_exponential() {
    let physics = exp();
    let zero = Vector::zeros(1);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for _ in 0..SAMPLES {
        let x_true = rng.gen_range(-12.0..0.0);
        let y = Vector::from_element(1, f64::exp(x_true));
        let x = Vector::from_element(1, x_true + rng.gen_range(-0.5..0.5));
        let exact = solve(&InverseMethod::Analytic, &physics, &zero, &x, &y).unwrap();
        assert!((exact.control[0] - x_true).abs() <= ROUND_OFF * 12.0);
        // Relative residual target: y spans e⁻¹², so scale the tolerance with y.
        let tolerance = TOLERANCE * y[0];
        for method in [
            InverseMethod::Newton {
                tolerance,
                max_iterations: 50,
            },
            InverseMethod::SaddleFreeNewton {
                tolerance,
                max_iterations: 50,
                min_curvature: 1e-300,
                max_step: None,
            },
        ] {
            let out = solve(&method, &physics, &zero, &x, &y)
                .unwrap_or_else(|e| panic!("{}: {e}", method.name()));
            assert!(out.residual <= tolerance, "{}: {out:?}", method.name());
            // |δx| ≈ |δy| / y ≤ TOLERANCE.
            assert!(
                (out.control[0] - x_true).abs() <= AGREEMENT_TOL,
                "{}: {out:?}",
                method.name()
            );
        }
        let step = solve(&InverseMethod::PseudoInverseStep, &physics, &zero, &x, &y).unwrap();
        let start = residual(&physics, &zero, &x, &y);
        assert!(step.residual < 0.5 * start);
    }
}

#[test]
fn pseudo_inverse_step_is_u_plus_b_pinv_r() {
    let physics = sine();
    let zero = Vector::zeros(2);
    let u = Vector::from_vec(vec![0.7, -1.3]);
    let y = Vector::from_vec(vec![0.25, 40.0]);
    let (_, b) = physics.jvp().unwrap().jacobians(&zero, &u);
    let r = &y - physics.sim().step(&zero, &u);
    let expected = &u + b.pseudo_inverse(1e-14).unwrap() * r;
    let out = solve(&InverseMethod::PseudoInverseStep, &physics, &zero, &u, &y).unwrap();
    assert!((&out.control - &expected).amax() <= ROUND_OFF * expected.amax().max(1.0));
    assert!((out.residual - residual(&physics, &zero, &expected, &y)).abs() <= 1e-9);
}

#[test]
fn iteration_limit_gives_not_converged() {
    let physics = exp();
    let zero = Vector::zeros(1);
    let x = Vector::from_element(1, 0.0);
    // ln y = −10: Newton on exp moves by about −1 per step from x = 0.
    let y = Vector::from_element(1, (-10f64).exp());
    for method in [
        InverseMethod::Newton {
            tolerance: 1e-9,
            max_iterations: 1,
        },
        InverseMethod::SaddleFreeNewton {
            tolerance: 1e-9,
            max_iterations: 1,
            min_curvature: 1e-8,
            max_step: None,
        },
    ] {
        match solve(&method, &physics, &zero, &x, &y) {
            Err(InverseError::NotConverged {
                iterations,
                residual,
                tolerance,
            }) => {
                assert_eq!(iterations, 1);
                assert!(residual > tolerance);
            }
            other => panic!("{}: expected NotConverged, got {other:?}", method.name()),
        }
    }
}

#[test]
fn unreachable_targets_are_errors_not_panics() {
    let physics = sine();
    let zero = Vector::zeros(2);
    let u = Vector::from_vec(vec![0.1, 0.2]);
    let y = Vector::from_vec(vec![1.5, 0.0]);
    let r = solve(&InverseMethod::Analytic, &physics, &zero, &u, &y);
    assert!(matches!(r, Err(InverseError::OutOfRange { .. })), "{r:?}");
    for method in [newton(), saddle_free()] {
        let r = solve(&method, &physics, &zero, &u, &y);
        assert!(
            matches!(r, Err(InverseError::NotConverged { .. })),
            "{}: {r:?}",
            method.name()
        );
    }
    // Wrong lengths and non-finite numbers.
    let r = solve(&newton(), &physics, &zero, &u, &Vector::zeros(3));
    assert!(matches!(r, Err(InverseError::OutOfRange { .. })), "{r:?}");
    let r = solve(
        &newton(),
        &physics,
        &zero,
        &Vector::from_vec(vec![f64::NAN, 0.0]),
        &y,
    );
    assert!(matches!(r, Err(InverseError::Singular { .. })), "{r:?}");
    let r = solve(
        &InverseMethod::Analytic,
        &exp(),
        &Vector::zeros(1),
        &Vector::zeros(1),
        &Vector::from_element(1, -1.0),
    );
    assert!(matches!(r, Err(InverseError::OutOfRange { .. })), "{r:?}");
}

#[test]
fn saddle_free_with_step_limit_converges_from_afar() {
    let physics = sine();
    let zero = Vector::zeros(2);
    let y = Vector::from_vec(vec![0.3, -50.0]);
    let method = InverseMethod::SaddleFreeNewton {
        tolerance: TOLERANCE,
        max_iterations: 200,
        min_curvature: 1e-8,
        max_step: Some(0.5),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for _ in 0..SAMPLES {
        let u = Vector::from_fn(2, |_, _| rng.gen_range(-3.0..3.0));
        let out = solve(&method, &physics, &zero, &u, &y).unwrap();
        assert!(out.residual <= TOLERANCE, "{out:?}");
    }
}

/// `P(s, u) = s + u²` (component-wise): JVP and VJP only.
struct Square;

impl Simulator for Square {
    fn name(&self) -> &str {
        "square"
    }
    fn state_dim(&self) -> usize {
        1
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        state + control.component_mul(control)
    }
}

impl Jvp for Square {
    fn jvp(&self, _s: &Vector, u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        ds + (u * 2.0).component_mul(du)
    }
}

impl Vjp for Square {
    fn vjp(&self, _s: &Vector, u: &Vector, w: &Vector) -> (Vector, Vector) {
        (w.clone(), (u * 2.0).component_mul(w))
    }
}

#[test]
fn missing_capabilities_are_reported() {
    let physics = Physics::differentiable(Square);
    assert!(newton().check_capabilities(&physics).is_ok());
    assert!(InverseMethod::PseudoInverseStep
        .check_capabilities(&physics)
        .is_ok());
    for (method, what) in [
        (InverseMethod::Analytic, "analytic local inverse"),
        (saddle_free(), "control Hessian"),
    ] {
        let expected = InverseError::MissingCapability {
            simulator: "square".to_string(),
            capability: what,
        };
        assert_eq!(method.check_capabilities(&physics), Err(expected.clone()));
        let r = solve(
            &method,
            &physics,
            &Vector::zeros(1),
            &Vector::from_element(1, 1.0),
            &Vector::from_element(1, 4.0),
        );
        assert_eq!(r, Err(expected));
    }
    // Newton works on it: from u = 1 to s + u² = 4 with s = 0 gives u = 2, the nearer root.
    let out: InverseOutcome = solve(
        &newton(),
        &physics,
        &Vector::zeros(1),
        &Vector::from_element(1, 1.0),
        &Vector::from_element(1, 4.0),
    )
    .unwrap();
    assert!((out.control[0] - 2.0).abs() <= AGREEMENT_TOL);
    // Without a JVP nothing iterative is possible.
    let bare = Physics::new(Square);
    for method in [newton(), InverseMethod::PseudoInverseStep, saddle_free()] {
        assert!(matches!(
            method.check_capabilities(&bare),
            Err(InverseError::MissingCapability {
                capability: "JVP",
                ..
            })
        ));
    }
}

#[test]
fn methods_read_from_ron_with_defaults() {
    let m: InverseMethod = ron::from_str("Newton(tolerance: 1e-6)").unwrap();
    assert_eq!(
        m,
        InverseMethod::Newton {
            tolerance: 1e-6,
            max_iterations: 50
        }
    );
    let m: InverseMethod = ron::from_str("Newton()").unwrap();
    assert_eq!(
        m,
        InverseMethod::Newton {
            tolerance: 1e-9,
            max_iterations: 50
        }
    );
    let m: InverseMethod = ron::from_str("SaddleFreeNewton(max_step: Some(0.5))").unwrap();
    assert_eq!(
        m,
        InverseMethod::SaddleFreeNewton {
            tolerance: 1e-9,
            max_iterations: 50,
            min_curvature: 1e-8,
            max_step: Some(0.5)
        }
    );
    assert_eq!(
        ron::from_str::<InverseMethod>("Analytic").unwrap(),
        InverseMethod::Analytic
    );
    assert_eq!(
        ron::from_str::<InverseMethod>("PseudoInverseStep").unwrap(),
        InverseMethod::PseudoInverseStep
    );
    // Unknown fields are rejected.
    for (text, field) in [
        ("Newton(tol: 1e-6)", "tol"),
        ("SaddleFreeNewton(max_steps: Some(1.0))", "max_steps"),
    ] {
        let err = ron::from_str::<InverseMethod>(text).unwrap_err();
        assert!(err.to_string().contains(field), "{text}: {err}");
    }
    assert!(ron::from_str::<InverseMethod>("Bisection").is_err());
    // Round trip.
    for m in [
        InverseMethod::Analytic,
        newton(),
        saddle_free(),
        InverseMethod::PseudoInverseStep,
    ] {
        let text = ron::to_string(&m).unwrap();
        assert_eq!(ron::from_str::<InverseMethod>(&text).unwrap(), m, "{text}");
    }
}

#[test]
fn names_and_validation() {
    assert_eq!(InverseMethod::Analytic.name(), "analytic");
    assert_eq!(newton().name(), "newton");
    assert_eq!(saddle_free().name(), "saddle_free_newton");
    assert_eq!(
        InverseMethod::PseudoInverseStep.name(),
        "pseudo_inverse_step"
    );
    for m in [
        InverseMethod::Analytic,
        newton(),
        saddle_free(),
        InverseMethod::PseudoInverseStep,
    ] {
        assert_eq!(m.validate(), Ok(()));
    }
    let bad = [
        (
            InverseMethod::Newton {
                tolerance: 0.0,
                max_iterations: 5,
            },
            "tolerance",
        ),
        (
            InverseMethod::Newton {
                tolerance: f64::NAN,
                max_iterations: 5,
            },
            "tolerance",
        ),
        (
            InverseMethod::Newton {
                tolerance: 1e-9,
                max_iterations: 0,
            },
            "max_iterations",
        ),
        (
            InverseMethod::SaddleFreeNewton {
                tolerance: 1e-9,
                max_iterations: 5,
                min_curvature: -1.0,
                max_step: None,
            },
            "min_curvature",
        ),
        (
            InverseMethod::SaddleFreeNewton {
                tolerance: 1e-9,
                max_iterations: 5,
                min_curvature: 1e-8,
                max_step: Some(0.0),
            },
            "max_step",
        ),
    ];
    for (m, field) in bad {
        let err = m.validate().unwrap_err();
        assert!(err.contains(field), "{m:?}: {err}");
    }
}
