//! Tests of [`Heat2d`]: the step against plane waves, the mean shift, derivatives (finite
//! differences, adjoint identity, self-adjointness), the damped inverse's round trip, scenes
//! and the metric.

use super::*;
use crate::sim::check::{check_adjoint, check_jvp};
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

/// Round-off of a few FFTs of `O(1)` fields of up to `64²` cells, with margin.
const FFT_TOL: f64 = 1e-12;
/// Central differences of a linear map are exact up to round-off of `step / h`.
const FD_TOL: f64 = 1e-8;

fn heat(cells: usize, mean_from_state: bool) -> Heat2d {
    Heat2d::new(Heat2dParams {
        cells,
        mean_from_state,
        ..Default::default()
    })
    .expect("valid parameters")
}

/// `cos(2π (a x + b y)/N + φ)` on the `N × N` grid.
fn wave(n: usize, a: usize, b: usize, phase: f64) -> Vector {
    Vector::from_fn(n * n, |i, _| {
        let (y, x) = ((i / n) as f64, (i % n) as f64);
        (2.0 * PI * (a as f64 * x + b as f64 * y) / n as f64 + phase).cos()
    })
}

fn random_field(n: usize, seed: u64) -> Vector {
    let mut rng = SceneRng::seed_from_u64(seed);
    Vector::from_fn(n * n, |_, _| rng.gen_range(-1.0..1.0))
}

fn max_abs(v: &Vector) -> f64 {
    v.amax()
}

/// Each plane wave is damped by `exp(−4π²|k|² ν t)` with `k` in cycles per cell, the
/// Nyquist wave included; without the shift the state is ignored.
#[test]
fn plane_waves_decay_by_the_fourier_kernel() {
    let n = 16;
    let sim = Heat2d::new(Heat2dParams {
        cells: n,
        amount: 0.7,
        mean_from_state: false,
    })
    .unwrap();
    for (a, b) in [(0, 0), (1, 0), (0, 1), (2, 3), (8, 0), (8, 8), (5, 13)] {
        let x = wave(n, a, b, 0.3);
        let fa = if 2 * a > n {
            a as f64 - n as f64
        } else {
            a as f64
        } / n as f64;
        let fb = if 2 * b > n {
            b as f64 - n as f64
        } else {
            b as f64
        } / n as f64;
        let decay = (-4.0 * PI * PI * (fa * fa + fb * fb) * 0.7).exp();
        let y = sim.step(&random_field(n, 9), &x);
        assert!(
            max_abs(&(&y - &x * decay)) < FFT_TOL,
            "wave ({a}, {b}): {}",
            max_abs(&(&y - &x * decay))
        );
    }
}

/// With the shift the output's mean is the state's whatever the prediction's, and the rest is
/// the diffused prediction: `P(s, x) = D(x) + mean(s) − mean(x)`.
#[test]
fn the_shift_takes_the_mean_from_the_state() {
    let n = 12;
    let (plain, shifted) = (heat(n, false), heat(n, true));
    let x = random_field(n, 1);
    let s = random_field(n, 2).add_scalar(0.7);
    let y = shifted.step(&s, &x);
    assert!((y.mean() - s.mean()).abs() < FFT_TOL);
    let expected = plain.step(&s, &x).add_scalar(s.mean() - x.mean());
    assert!(max_abs(&(&y - expected)) < FFT_TOL);
    let moved = shifted.step(&s, &x.add_scalar(5.0));
    assert!(max_abs(&(&y - moved)) < FFT_TOL);
    // Without the shift diffusion keeps the prediction's mean.
    assert!((plain.step(&s, &x).mean() - x.mean()).abs() < FFT_TOL);
}

/// JVPs against central differences and VJPs against JVPs, with and without the shift, on
/// an even and an odd grid.
#[test]
fn derivatives_pass_the_finite_difference_and_adjoint_checks() {
    for (n, shift) in [(8, true), (8, false), (9, true), (9, false)] {
        let sim = heat(n, shift);
        let (s, x) = (random_field(n, 3), random_field(n, 4));
        let (ds, dx, w) = (random_field(n, 5), random_field(n, 6), random_field(n, 7));
        let fd = check_jvp(&sim, &s, &x, &ds, &dx, 1e-3).unwrap();
        assert!(fd.passes(FD_TOL), "n = {n}, shift {shift}: {fd:?}");
        let adjoint = check_adjoint(&sim, &s, &x, &ds, &dx, &w).unwrap();
        assert!(
            adjoint.passes(FFT_TOL),
            "n = {n}, shift {shift}: {adjoint:?}"
        );
    }
}

/// The map is self-adjoint in the prediction: `Bᵀ w = B w`, and `Aᵀ w = A w` (the mean).
#[test]
fn the_jacobians_are_symmetric() {
    for shift in [true, false] {
        let n = 10;
        let sim = heat(n, shift);
        let (s, x, w) = (random_field(n, 1), random_field(n, 2), random_field(n, 3));
        let zero = Vector::zeros(n * n);
        let (a_t_w, b_t_w) = sim.vjp(&s, &x, &w);
        let b_w = sim.jvp(&s, &x, &zero, &w);
        let a_w = sim.jvp(&s, &x, &w, &zero);
        assert!(max_abs(&(&b_t_w - b_w)) < FFT_TOL, "shift {shift}");
        assert!(max_abs(&(&a_t_w - a_w)) < FFT_TOL, "shift {shift}");
    }
}

/// A smooth change of the prediction is recovered from the change it makes: the kernel at its
/// frequencies is at most `e^{4π²·8·(2/64)²·2} ≈ 1.5`… `e^{2.5}`, far from negligible, and the
/// damped inverse sharpens them fully.
#[test]
fn the_inverse_recovers_a_smooth_change() {
    let n = 64;
    for shift in [true, false] {
        let sim = heat(n, shift);
        let s = random_field(n, 11).add_scalar(0.4);
        let x = random_field(n, 12);
        let mut dx = wave(n, 1, 0, 0.2) * 0.3 + wave(n, 2, 1, 1.1) * 0.2 + wave(n, 0, 3, 2.0) * 0.1;
        if !shift {
            dx.add_scalar_mut(0.25);
        }
        let target = sim.step(&s, &(&x + &dx));
        let recovered = sim.control_inverse(&s, &x, &target).unwrap() - &x;
        let error = max_abs(&(&recovered - &dx));
        assert!(error < 1e-9, "shift {shift}: error {error:.2e}");
        let reached = sim.step(&s, &(&x + recovered));
        assert!(max_abs(&(reached - &target)) < 1e-9, "shift {shift}");
    }
}

/// Where the kernel is negligible the inverse does not amplify: a change made only of the
/// finest waves (damped by `e⁻¹⁵⁸` at the corner) is taken as noise, and the correction stays
/// far below the size of the change.
#[test]
fn the_inverse_does_not_amplify_what_diffusion_erased() {
    let n = 64;
    let sim = heat(n, false);
    let (s, x) = (Vector::zeros(n * n), Vector::zeros(n * n));
    let target = wave(n, 32, 32, 0.0) * 1e-3 + wave(n, 31, 20, 0.5) * 1e-3;
    let dx = sim.control_inverse(&s, &x, &target).unwrap();
    assert!(max_abs(&dx) <= 1e-3, "correction {:.2e}", max_abs(&dx));
    // No change asked, none made.
    let y = sim.step(&s, &x);
    assert_eq!(sim.control_inverse(&s, &x, &y).unwrap(), x);
}

/// On the paper's scenes one inverse step from the mean brings the prediction much closer to
/// the ground truth and the simulated field almost onto the target (measured on these four
/// scenes: x_mae 451–711 → 65–105, the miss `|P(x) − y*|` by a factor of about 6·10⁶).
#[test]
fn one_inverse_step_improves_a_box_scene() {
    let sim = heat(64, true);
    let mut rng = SceneRng::seed_from_u64(5);
    for _ in 0..4 {
        let scene = sim.boxes_scene(&mut rng);
        let x0 = Vector::zeros(64 * 64);
        let x1 = sim
            .control_inverse(&scene.initial, &x0, &scene.target)
            .unwrap();
        let mae = |x: &Vector| sim.evaluate(&scene, std::slice::from_ref(x), &[])[0];
        let miss = |x: &Vector| (sim.step(&scene.initial, x) - &scene.target).norm();
        assert!(mae(&x1) < 0.25 * mae(&x0), "{} → {}", mae(&x0), mae(&x1));
        assert!(
            miss(&x1) < 1e-5 * miss(&x0),
            "{} → {}",
            miss(&x0),
            miss(&x1)
        );
    }
}

/// A box scene: the target is the diffused ground truth, the initial state the target, the
/// ground truth the reference control, which reaches the target and scores `x_mae = 0`;
/// the same stream gives the same scene.
#[test]
fn box_scenes_carry_their_ground_truth() {
    let sim = heat(32, true);
    let scene = sim
        .generate(BOXES, 1, &mut SceneRng::seed_from_u64(8))
        .unwrap();
    let again = sim
        .generate(BOXES, 1, &mut SceneRng::seed_from_u64(8))
        .unwrap();
    assert_eq!(scene, again);
    let truth = field2d::ground_truth(&scene).unwrap().clone();
    assert_eq!(scene.initial, scene.target);
    assert!(max_abs(&(sim.step(&scene.initial, &truth) - &scene.target)) < FFT_TOL);
    assert!(sim.evaluate(&scene, std::slice::from_ref(&truth), &[])[0] < 1e-9);
    // The metric scores the shifted prediction: a constant has the target's mean.
    let constant = Vector::from_element(32 * 32, -3.0);
    let expected: f64 = truth.iter().map(|t| (scene.target.mean() - t).abs()).sum();
    let got = sim.evaluate(&scene, &[constant], &[])[0];
    assert!((got - expected).abs() < 1e-9 * expected);
    assert!(sim
        .generate("nope", 1, &mut SceneRng::seed_from_u64(0))
        .is_err());
}

#[test]
fn parameters_out_of_range_are_refused() {
    let bad = |params: Heat2dParams| Heat2d::new(params).unwrap_err().field;
    let cells = |cells| Heat2dParams {
        cells,
        ..Default::default()
    };
    assert_eq!(bad(cells(3)), "cells");
    assert_eq!(bad(cells(1025)), "cells");
    for amount in [-1.0, f64::NAN, f64::INFINITY] {
        let params = Heat2dParams {
            amount,
            ..Default::default()
        };
        assert_eq!(bad(params), "amount");
    }
}
