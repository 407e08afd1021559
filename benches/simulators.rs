//! Cost of one step, JVP, VJP and local inverse of every built-in simulator.
//!
//! `cargo bench --bench simulators`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use physinv::inverse::{solve, InverseMethod};
use physinv::sim::{Physics, Vector};
use physinv::Registry;
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench_simulators
}
criterion_main!(benches);
