//! Tests of [`Heat2dControl`]: the exact zero-order-hold step on Fourier modes, derivatives,
//! the exact inverse and the scenes.

use super::*;
use crate::sim::check::{check_adjoint, check_jvp};
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

/// Round-off of a few FFTs of `O(1)` fields, with margin.
const FFT_TOL: f64 = 1e-12;

fn sim(cells: usize) -> Heat2dControl {
    Heat2dControl::new(Heat2dControlParams {
        cells,
        ..Default::default()
    })
    .expect("valid parameters")
}

fn random_field(n: usize, seed: u64) -> Vector {
    let mut rng = SceneRng::seed_from_u64(seed);
    Vector::from_fn(n * n, |_, _| rng.gen_range(-1.0..1.0))
}

/// `cos(2π (a x + b y))` at the cell centres of the unit square (`x = (i + ½)/N`).
fn wave(n: usize, a: usize, b: usize) -> Vector {
    Vector::from_fn(n * n, |i, _| {
        let (y, x) = ((i / n) as f64 + 0.5, (i % n) as f64 + 0.5);
        (2.0 * PI * (a as f64 * x + b as f64 * y) / n as f64).cos()
    })
}

/// A temperature wave decays by `e^{z}` and a heating wave adds `Δt expm1(z)/z` of itself,
/// `z = −4π²|k|²κΔt` (`k` in cycles per m), as the ODE's exact solution over one step says;
/// a uniform heating raises every cell by `q Δt`.
#[test]
fn modes_follow_the_exact_zero_order_hold_solution() {
    let n = 16;
    let sim = sim(n);
    let p = sim.params().clone();
    for (a, b) in [(1, 0), (0, 3), (2, 5), (8, 8)] {
        let z = -4.0 * PI * PI * ((a * a + b * b) as f64) * p.kappa * p.dt;
        let (s, q) = (wave(n, a, b), wave(n, a, b) * 2.0);
        let expected = &s * z.exp() + &q * (p.dt * z.exp_m1() / z);
        assert!((sim.step(&s, &q) - expected).amax() < FFT_TOL, "({a}, {b})");
    }
    let uniform = Vector::from_element(n * n, 3.0);
    let heated = sim.step(&Vector::zeros(n * n), &uniform);
    assert!((heated.add_scalar(-3.0 * p.dt)).amax() < FFT_TOL);
}

#[test]
fn derivatives_pass_the_finite_difference_and_adjoint_checks() {
    for n in [8, 9] {
        let sim = sim(n);
        let (s, q) = (random_field(n, 1), random_field(n, 2));
        let (ds, dq, w) = (random_field(n, 3), random_field(n, 4), random_field(n, 5));
        let fd = check_jvp(&sim, &s, &q, &ds, &dq, 1e-3).unwrap();
        assert!(fd.passes(1e-8), "n = {n}: {fd:?}");
        let adjoint = check_adjoint(&sim, &s, &q, &ds, &dq, &w).unwrap();
        assert!(adjoint.passes(FFT_TOL), "n = {n}: {adjoint:?}");
        // E and F are symmetric: the VJP's parts are the JVP's of the cotangent.
        let zero = Vector::zeros(n * n);
        let (e_w, f_w) = sim.vjp(&s, &q, &w);
        assert!((e_w - sim.jvp(&s, &q, &w, &zero)).amax() < FFT_TOL);
        assert!((f_w - sim.jvp(&s, &q, &zero, &w)).amax() < FFT_TOL);
    }
}

/// The inverse gives the heating that reaches any target in one step, and recovers a heating
/// from the state it made.
#[test]
fn the_inverse_reaches_any_target() {
    let n = 32;
    let sim = sim(n);
    let s = random_field(n, 6);
    let q = random_field(n, 7) * 3.0;
    let target = sim.step(&s, &q);
    let recovered = sim
        .control_inverse(&s, &Vector::zeros(n * n), &target)
        .unwrap();
    assert!((&recovered - &q).amax() < 1e-9);
    let anywhere = random_field(n, 8);
    let heating = sim.control_inverse(&s, &q, &anywhere).unwrap();
    assert!((sim.step(&s, &heating) - anywhere).amax() < 1e-11);
}

/// The conditioning the module docs state: `φ` runs from `Δt` (the mean) down to about
/// `0.1 Δt` at the corner frequency of the defaults, and no lower.
#[test]
fn every_mode_is_reachable_within_a_step() {
    let sim = sim(32);
    let dt = sim.params().dt;
    let gains = sim.modal_gains();
    let (low, high) = gains
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), &g| (l.min(g), h.max(g)));
    assert_eq!(high, dt);
    assert!((0.09 * dt..0.11 * dt).contains(&low), "smallest gain {low}");
}

/// A scene's reference heating, held over the episode, reaches its target from its initial
/// state; the same stream gives the same scene.
#[test]
fn box_scenes_are_reached_by_their_heating() {
    let sim = sim(16);
    let scene = sim
        .generate(BOXES, 5, &mut SceneRng::seed_from_u64(2))
        .unwrap();
    assert_eq!(
        scene,
        sim.generate(BOXES, 5, &mut SceneRng::seed_from_u64(2))
            .unwrap()
    );
    let controls = scene.reference_controls.as_deref().unwrap();
    assert_eq!(controls.len(), 5);
    let end = controls
        .iter()
        .fold(scene.initial.clone(), |s, q| sim.step(&s, q));
    assert_eq!(end, scene.target);
    assert!((&scene.target - &scene.initial).amax() > 0.1);
    assert!(sim
        .generate("noise", 5, &mut SceneRng::seed_from_u64(2))
        .is_err());
}

#[test]
fn parameters_out_of_range_are_refused() {
    let bad = |params: Heat2dControlParams| Heat2dControl::new(params).unwrap_err().field;
    let d = Heat2dControlParams::default;
    assert_eq!(bad(Heat2dControlParams { cells: 2, ..d() }), "cells");
    assert_eq!(bad(Heat2dControlParams { kappa: 0.0, ..d() }), "kappa");
    assert_eq!(
        bad(Heat2dControlParams {
            dt: f64::NAN,
            ..d()
        }),
        "dt"
    );
}
