//! Thread scaling of training: iterations per second of the expensive scenarios (Burgers, the
//! oscillators) at 2 worker threads against 1, in one process, the two pools alternating so that
//! load from other processes hits both alike.
//!
//! `cargo bench --bench threads [-- ROUNDS [SECONDS [SCENARIO]]]` (defaults 3 rounds of 2 s per
//! pool and method, both scenarios; `SCENARIO`: `burgers` or `oscillators` only). Prints per round and method the time per iteration at 1 and 2 threads and the
//! throughput ratio; the training loop is the trainer's (scenes, rollout, update, optimizer
//! step), without evaluation.

use physinv::episode::rollout;
use physinv::net::{enable_flush_to_zero, Mlp, Optimizer};
use physinv::pool::run_in_pool;
use physinv::scenario::{method_name, Scenario};
use physinv::scenes::SceneSampler;
use physinv::train::{rule_for, Context, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// Seconds per iteration of method `index` of `scenario`, over at least `budget` of training
/// (after two warm-up iterations), continuing from `net`/`optimizer`.
fn time_iterations(
    scenario: &Scenario,
    trainer: &Trainer<'_>,
    index: usize,
    state: &mut (Mlp, Optimizer, ChaCha8Rng, u64),
    budget: Duration,
) -> f64 {
    enable_flush_to_zero();
    // An iteration that is not logged: no costly diagnostics.
    let ctx = Context {
        diagnose: false,
        ..trainer.context()
    };
    let method = &scenario.spec.methods[index];
    let rule = rule_for(method, &ctx);
    let batch = method.batch_size(&scenario.spec.training);
    let sampler = SceneSampler::new(
        scenario.physics.clone(),
        scenario.spec.data.clone(),
        scenario.spec.episode.steps,
    );
    let (net, optimizer, rng, iteration) = state;
    let mut step = || {
        let indices = sampler.train_indices(*iteration, batch, rng);
        *iteration += 1;
        let scenes = sampler.scenes(&indices).expect("scenes");
        let episodes = rollout(ctx.physics, ctx.policy, net, &scenes).expect("rollout");
        let update = rule.update(&ctx, net, &scenes, &episodes).expect("update");
        optimizer.step(net, &update.grads);
    };
    step();
    step();
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < budget {
        step();
        count += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(count)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let seconds: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);
    let only = args.get(2).cloned();
    for path in ["scenarios/burgers.ron", "scenarios/oscillators.ron"] {
        if only
            .as_ref()
            .is_some_and(|name| !path.contains(name.as_str()))
        {
            continue;
        }
        let scenario = Scenario::load(path).expect("scenario loads");
        let trainer = Trainer::new(&scenario).expect("trainer");
        for (index, method) in scenario.spec.methods.iter().enumerate() {
            let fresh = || {
                let net = trainer.initial_network().expect("net");
                let optimizer = Optimizer::new(&method.optimizer, method.clip_grad_norm, &net);
                (net, optimizer, ChaCha8Rng::seed_from_u64(0), 0u64)
            };
            let (mut one, mut two) = (fresh(), fresh());
            let mut ratios = Vec::new();
            for round in 1..=rounds {
                let t1 = run_in_pool(Some(1), || {
                    time_iterations(&scenario, &trainer, index, &mut one, budget)
                })
                .expect("pool");
                let t2 = run_in_pool(Some(2), || {
                    time_iterations(&scenario, &trainer, index, &mut two, budget)
                })
                .expect("pool");
                ratios.push(t1 / t2);
                println!(
                    "{} {:<10} round {round}: 1 thread {:8.3} ms/iter, 2 threads {:8.3} ms/iter, throughput ratio {:.2}",
                    scenario.spec.name,
                    method_name(method),
                    1e3 * t1,
                    1e3 * t2,
                    t1 / t2
                );
            }
            ratios.sort_by(f64::total_cmp);
            println!(
                "{} {:<10} median throughput ratio 2 threads / 1 thread: {:.2}",
                scenario.spec.name,
                method_name(method),
                ratios[ratios.len() / 2]
            );
        }
    }
}
