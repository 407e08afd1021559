//! Cost of one step, JVP, VJP and local inverse of every built-in simulator, and of a batch of
//! 128 of each (and of 128 scenes) for the 2D field simulators at 64² and 128² cells, spread
//! over the rayon pool as a training batch is.
//!
//! `cargo bench --bench simulators` (`-- heat2d_` or `-- poisson2d_` for the field batches)

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use physinv::inverse::{solve, InverseMethod};
use physinv::sim::{Physics, SceneRng, Vector};
use physinv::Registry;
use rand::SeedableRng;
use rayon::prelude::*;
use std::time::Duration;

fn build(name: &str, params: &str) -> Physics {
    let value: ron::Value = ron::from_str(params).expect("RON");
    let value = match value {
        ron::Value::Unit => ron::Value::Map(ron::Map::new()),
        v => v,
    };
    Registry::with_builtins()
        .build(name, value)
        .expect("simulator builds")
}

fn point(n: usize, phase: f64) -> Vector {
    Vector::from_fn(n, |i, _| 0.3 * ((i as f64) * 0.7 + phase).sin())
}

fn bench_simulators(c: &mut Criterion) {
    let cases = [
        ("rotating_sine", "(xi: 32.0, phi_deg: 45.0)"),
        ("exponential", "()"),
        ("point_mass", "()"),
        ("anisotropic_point_mass", "(xi: 32.0, phi_deg: 45.0)"),
        ("oscillators", "()"),
        ("pendulum", "()"),
        ("burgers", "()"),
        ("heat1d", "()"),
        ("heat2d", "()"),
        ("heat2d_control", "()"),
        ("poisson2d", "()"),
    ];
    for (name, params) in cases {
        let physics = build(name, params);
        let sim = physics.sim();
        let (n, m) = (sim.state_dim(), sim.control_dim());
        let (s, u) = (point(n, 0.1), point(m, 0.4));
        let (ds, du, w) = (point(n, 1.0), point(m, 2.0), point(n, 3.0));
        let mut group = c.benchmark_group(name);
        group.bench_function("step", |b| {
            b.iter(|| sim.step(black_box(&s), black_box(&u)))
        });
        if let Some(jvp) = physics.jvp() {
            group.bench_function("jvp", |b| {
                b.iter(|| jvp.jvp(black_box(&s), black_box(&u), black_box(&ds), black_box(&du)))
            });
        }
        if let Some(vjp) = physics.vjp() {
            group.bench_function("vjp", |b| {
                b.iter(|| vjp.vjp(black_box(&s), black_box(&u), black_box(&w)))
            });
        }
        if physics.inverse().is_some() {
            let target = sim.step(&s, &point(m, 0.5));
            group.bench_function("inverse_analytic", |b| {
                b.iter(|| {
                    solve(
                        &InverseMethod::Analytic,
                        &physics,
                        &s,
                        &u,
                        black_box(&target),
                    )
                })
            });
        }
        if physics.hessian().is_some() {
            let target = sim.step(&s, &point(m, 0.5));
            let method: InverseMethod = ron::from_str("SaddleFreeNewton()").expect("RON");
            group.bench_function("inverse_saddle_free_newton", |b| {
                b.iter(|| solve(&method, &physics, &s, &u, black_box(&target)))
            });
        }
        group.finish();
    }
}

/// Batches of 128 calls, one per episode of a training batch, in parallel over the pool into
/// reused output buffers (as rollouts and update rules call them).
fn bench_field_batches(c: &mut Criterion) {
    const BATCH: usize = 128;
    for name in ["heat2d", "poisson2d"] {
        for cells in [64, 128] {
            let physics = build(name, &format!("(cells: {cells})"));
            let sim = physics.sim();
            let (jvp, vjp) = (physics.jvp().expect("JVP"), physics.vjp().expect("VJP"));
            let inverse = physics.inverse().expect("inverse");
            let generator = physics.scenes().expect("scenes");
            let scene_name = &generator.generator_names()[0];
            let n = sim.state_dim();
            let inputs: Vec<(Vector, Vector, Vector)> = (0..BATCH)
                .map(|k| {
                    (
                        point(n, k as f64),
                        point(n, 0.3 * k as f64),
                        point(n, 1.0 + k as f64),
                    )
                })
                .collect();
            let mut outputs = vec![(Vector::zeros(n), Vector::zeros(n)); BATCH];
            let mut group = c.benchmark_group(format!("{name}_{cells}"));
            group.bench_function("batch128_step", |b| {
                b.iter(|| {
                    outputs
                        .par_iter_mut()
                        .zip(&inputs)
                        .for_each(|(out, (s, u, _))| {
                            sim.step_into(s, u, &mut out.0);
                        })
                })
            });
            group.bench_function("batch128_jvp", |b| {
                b.iter(|| {
                    outputs
                        .par_iter_mut()
                        .zip(&inputs)
                        .for_each(|(out, (s, u, d))| {
                            jvp.jvp_into(s, u, d, d, &mut out.0);
                        })
                })
            });
            group.bench_function("batch128_vjp", |b| {
                b.iter(|| {
                    outputs
                        .par_iter_mut()
                        .zip(&inputs)
                        .for_each(|(out, (s, u, w))| {
                            let (ds, du) = out;
                            vjp.vjp_into(s, u, w, ds, du);
                        })
                })
            });
            group.bench_function("batch128_inverse", |b| {
                b.iter(|| {
                    outputs
                        .par_iter_mut()
                        .zip(&inputs)
                        .for_each(|(out, (s, u, t))| {
                            out.0 = inverse.control_inverse(s, u, t).expect("inverse");
                        })
                })
            });
            group.bench_function("batch128_scenes", |b| {
                b.iter(|| {
                    (0..BATCH as u64).into_par_iter().for_each(|k| {
                        let mut rng = SceneRng::seed_from_u64(k);
                        black_box(generator.generate(scene_name, 1, &mut rng).expect("scene"));
                    })
                })
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench_simulators, bench_field_batches
}
criterion_main!(benches);
