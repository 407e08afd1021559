//! Cost of one training iteration per method, of an episode rollout and of one SIP
//! inversion across time.
//!
//! `cargo bench --bench training`. The seed's claim to compare against: a SIP iteration costs
//! ≈3× an Adam iteration (sine, batch 100). The field experiments (`-- heat2d`, `-- poisson2d`,
//! `-- heat2d_control`) time one iteration of each of their methods at their shipped batch.

use criterion::{criterion_group, criterion_main, Criterion};
use physinv::episode::{rollout, Policy};
use physinv::inverse::episode::{invert_episode, EpisodeInverseSettings};
use physinv::net::Optimizer;
use physinv::scenario::{method_name, LinearSolver, Scenario};
use physinv::scenes::SceneSampler;
use physinv::train::{batch_update, rule_for, Context, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Benchmarks one full training iteration (scenes, rollout, update, optimizer step) of every
/// method of `scenario`, with batch `batch`.
fn bench_iterations(c: &mut Criterion, label: &str, path: &str, batch: usize) {
    let mut scenario = Scenario::load(path).expect("scenario loads");
    scenario.spec.training.batch = batch;
    let trainer = Trainer::new(&scenario).expect("trainer");
    // An iteration that is not logged: no costly diagnostics.
    let ctx = Context {
        diagnose: false,
        ..trainer.context()
    };
    let sampler = SceneSampler::new(
        scenario.physics.clone(),
        scenario.spec.data.clone(),
        scenario.spec.episode.steps,
    );
    let mut group = c.benchmark_group(format!("{label}_iteration_batch{batch}"));
    for method in &scenario.spec.methods {
        // HIG and Gauss-Newton on Burgers take seconds per iteration (a Jacobian of
        // batch × 1 056 rows × 29 088 parameters): `benches/hig.rs` times their parts.
        if label == "burgers" && matches!(method.update.name(), "Hig" | "GaussNewton") {
            continue;
        }
        let rule = rule_for(method, &ctx);
        let mut net = trainer.initial_network().expect("net");
        let mut optimizer = Optimizer::new(&method.optimizer, method.clip_grad_norm, &net);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut iteration = 0u64;
        group.bench_function(method_name(method), |b| {
            b.iter(|| {
                let indices = sampler.train_indices(iteration, batch, &mut rng);
                iteration += 1;
                let scenes = sampler.scenes(&indices).expect("scenes");
                let update = batch_update(rule.as_ref(), &ctx, &net, &scenes).expect("update");
                optimizer.step(&mut net, &update.grads)
            })
        });
    }
    group.finish();
}

/// Benchmarks one rollout of `batch` episodes and one SIP inversion of a single episode.
fn bench_episode(c: &mut Criterion, label: &str, path: &str, batch: usize) {
    let scenario = Scenario::load(path).expect("scenario loads");
    let trainer = Trainer::new(&scenario).expect("trainer");
    let net = trainer.initial_network().expect("net");
    let n = scenario.physics.sim().state_dim();
    let policy = Policy::new(&scenario.spec.episode, n, scenario.control_scale());
    let scenes = &trainer.test_scenes()[..batch.min(trainer.test_scenes().len())];
    let mut group = c.benchmark_group(label);
    group.bench_function(format!("rollout_batch{}", scenes.len()), |b| {
        b.iter(|| rollout(&scenario.physics, &policy, &net, scenes).expect("rollout"))
    });
    let r = rollout(&scenario.physics, &policy, &net, &scenes[..1]).expect("rollout");
    let target = &scenes[0].target;
    for (name, solver) in [
        ("dense", LinearSolver::Dense),
        (
            "cg",
            LinearSolver::Cg {
                tolerance: 1e-10,
                max_iterations: 4 * n,
            },
        ),
    ] {
        let settings = EpisodeInverseSettings {
            gramian: None,
            weight: None,
            damping: 0.0,
            force_anchor: 0.0,
            alpha: 0.0,
            mu: 0.0,
            tolerance: 1e-6,
            max_iterations: 5,
            solver,
            spectrum: true,
            control_scale: None,
        };
        group.bench_function(format!("sip_inversion_{name}"), |b| {
            b.iter(|| {
                invert_episode(
                    &scenario.physics,
                    &scenes[0].initial,
                    &r.controls[0],
                    target,
                    &settings,
                )
                .expect("inverse")
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_iterations(c, "sine_xi32_phi45", "scenarios/sine.ron", 100);
    bench_iterations(c, "exponential", "scenarios/exponential.ron", 100);
    bench_iterations(c, "oscillators", "scenarios/oscillators.ron", 100);
    bench_iterations(c, "burgers", "scenarios/burgers.ron", 100);
    // The batch the scenario ships with.
    bench_iterations(c, "burgers", "scenarios/burgers.ron", 32);
    bench_episode(c, "oscillators", "scenarios/oscillators.ron", 100);
    bench_episode(c, "burgers", "scenarios/burgers.ron", 100);
    // The field experiments at the batches they ship with (`-- heat2d`, `-- poisson2d`): an
    // iteration takes seconds (the U-Net at batch 128), so these dominate the run.
    bench_iterations(c, "heat2d", "scenarios/heat2d.ron", 128);
    bench_iterations(c, "poisson2d", "scenarios/poisson2d.ron", 128);
    bench_iterations(c, "heat2d_control", "scenarios/heat2d_control.ron", 16);
}

criterion_group! {
    name = training;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(training);
