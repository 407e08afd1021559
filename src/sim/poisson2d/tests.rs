//! Tests of [`Poisson2d`]: the solve against the assembled Laplacian, derivatives, the
//! exact inverse's round trip, scenes and the metric.

use super::*;
use crate::sim::check::{check_adjoint, check_jvp};
use crate::sim::Matrix;
use rand::{Rng, SeedableRng};

/// Round-off of a solve: the solution is up to `1/|μ_min| ≈ (N/π)²/2` times the source.
const SOLVE_TOL: f64 = 1e-10;

fn poisson(cells: usize) -> Poisson2d {
    Poisson2d::new(Poisson2dParams { cells }).expect("valid parameters")
}

fn random_field(n: usize, seed: u64) -> Vector {
    let mut rng = SceneRng::seed_from_u64(seed);
    Vector::from_fn(n * n, |_, _| rng.gen_range(-1.0..1.0))
}

/// The 5-point Laplacian assembled column by column from the stencil.
fn assembled_laplacian(sim: &Poisson2d) -> Matrix {
    let cells = sim.state_dim();
    let mut l = Matrix::zeros(cells, cells);
    for j in 0..cells {
        let mut e = Vector::zeros(cells);
        e[j] = 1.0;
        l.set_column(j, &sim.laplacian(&e));
    }
    l
}

/// The DST solve is the dense solve of the assembled 5-point system, on an even and an odd
/// grid, and the stencil undoes it.
#[test]
fn the_solve_is_the_dense_solve_of_the_stencil() {
    for n in [6, 7] {
        let sim = poisson(n);
        let l = assembled_laplacian(&sim);
        assert_eq!(l, l.transpose(), "the stencil is symmetric");
        assert_eq!(l[(0, 0)], -4.0);
        assert_eq!(l[(0, 1)], 1.0);
        assert_eq!(l[(0, n)], 1.0);
        let x = random_field(n, 1);
        let y = sim.step(&Vector::zeros(n * n), &x);
        let dense = l.lu().solve(&x).expect("invertible");
        assert!((&y - dense).amax() < SOLVE_TOL, "n = {n}");
        assert!((sim.laplacian(&y) - &x).amax() < SOLVE_TOL, "n = {n}");
    }
}

#[test]
fn derivatives_pass_the_finite_difference_and_adjoint_checks() {
    let n = 9;
    let sim = poisson(n);
    let (s, x) = (random_field(n, 2), random_field(n, 3));
    let (ds, dx, w) = (random_field(n, 4), random_field(n, 5), random_field(n, 6));
    let fd = check_jvp(&sim, &s, &x, &ds, &dx, 1e-3).unwrap();
    assert!(fd.passes(1e-8), "{fd:?}");
    let adjoint = check_adjoint(&sim, &s, &x, &ds, &dx, &w).unwrap();
    assert!(adjoint.passes(SOLVE_TOL), "{adjoint:?}");
    // Self-adjoint: Bᵀ w = B w, and A = 0.
    let (a_t_w, b_t_w) = sim.vjp(&s, &x, &w);
    assert_eq!(a_t_w, Vector::zeros(n * n));
    assert!((b_t_w - sim.jvp(&s, &x, &ds, &w)).amax() < SOLVE_TOL);
}

/// The inverse reaches any target exactly, and is the paper's `x − ∇²(y − y*)`.
#[test]
fn the_inverse_reaches_the_target() {
    let n = 16;
    let sim = poisson(n);
    let (s, x) = (Vector::zeros(n * n), random_field(n, 7));
    let target = random_field(n, 8) * 30.0;
    let inverted = sim.control_inverse(&s, &x, &target).unwrap();
    let reached = sim.step(&s, &inverted);
    assert!((&reached - &target).amax() < SOLVE_TOL * 30.0);
    let paper = &x - sim.laplacian(&(sim.step(&s, &x) - &target));
    assert!((inverted - paper).amax() < SOLVE_TOL);
    let mut bad = target.clone();
    bad[3] = f64::NAN;
    assert!(sim.control_inverse(&s, &x, &bad).is_err());
}

/// A noise scene: the ground truth is the reference control, reaches the target and scores
/// `x_mae = 0`; the same stream gives the same scene.
#[test]
fn noise_scenes_carry_their_ground_truth() {
    let sim = poisson(32);
    let scene = sim
        .generate(NOISE, 1, &mut SceneRng::seed_from_u64(4))
        .unwrap();
    assert_eq!(
        scene,
        sim.generate(NOISE, 1, &mut SceneRng::seed_from_u64(4))
            .unwrap()
    );
    let truth = field2d::ground_truth(&scene).unwrap().clone();
    assert!((sim.step(&scene.initial, &truth) - &scene.target).amax() < SOLVE_TOL);
    assert!(sim.evaluate(&scene, std::slice::from_ref(&truth), &[])[0] < 1e-12);
    let zero = Vector::zeros(32 * 32);
    let mae = sim.evaluate(&scene, &[zero], &[])[0];
    assert!((mae - truth.lp_norm(1)).abs() < 1e-9);
    assert!(sim
        .generate("boxes", 1, &mut SceneRng::seed_from_u64(0))
        .is_err());
}

#[test]
fn parameters_out_of_range_are_refused() {
    for cells in [0, 3, 1025] {
        let e = Poisson2d::new(Poisson2dParams { cells }).unwrap_err();
        assert_eq!(e.field, "cells");
    }
}
