//! Thread scaling of training: iterations per second of the expensive scenarios (Burgers, the
//! oscillators) at 2 worker threads against 1, in one process.
//!
//! The machine's speed drifts by tens of percent over seconds when other processes share it,
//! so the two pools take turns in blocks of about 50 ms of training each (each pool continuing
//! its own run), and a round's ratio compares the blocks of both pools over the same span of
//! time.
//!
//! `cargo bench --bench threads [-- ROUNDS [SECONDS [SCENARIO]]]` (defaults 3 rounds of 2 s of
//! training per pool and method, both scenarios; `SCENARIO`: `burgers` or `oscillators` only).
//! Prints per round and method the time per iteration at 1 and 2 threads and the throughput
//! ratio; the training loop is the trainer's (scenes, rollout, update, optimizer step), with
//! the `physinv` binary's allocator, without evaluation.

use physinv::net::{enable_flush_to_zero, Network, Optimizer};
use physinv::scenario::{method_name, Scenario};
use physinv::scenes::SceneSampler;
use physinv::train::{batch_update, rule_for, Context, Trainer, UpdateRule};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// The allocator of the `physinv` binary, whose training this bench times.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Training time per block of iterations, about.
const BLOCK: Duration = Duration::from_millis(50);

/// One training run of a method, continued block by block.
struct Run<'a> {
    ctx: Context<'a>,
    rule: Box<dyn UpdateRule>,
    sampler: SceneSampler,
    batch: usize,
    net: Box<dyn Network>,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    iteration: u64,
}

impl<'a> Run<'a> {
    fn new(scenario: &Scenario, trainer: &'a Trainer, index: usize) -> Self {
        // Iterations that are not logged: no costly diagnostics.
        let ctx = Context {
            diagnose: false,
            ..trainer.context()
        };
        let method = &scenario.spec.methods[index];
        let net = trainer.initial_network().expect("net");
        Run {
            rule: rule_for(method, &ctx),
            ctx,
            sampler: SceneSampler::new(
                scenario.physics.clone(),
                scenario.spec.data.clone(),
                scenario.spec.episode.steps,
            ),
            batch: method.batch_size(&scenario.spec.training),
            optimizer: Optimizer::new(&method.optimizer, method.clip_grad_norm, net.as_ref()),
            net,
            rng: ChaCha8Rng::seed_from_u64(0),
            iteration: 0,
        }
    }

    /// One training iteration.
    fn step(&mut self) {
        let indices = self
            .sampler
            .train_indices(self.iteration, self.batch, &mut self.rng);
        self.iteration += 1;
        let ctx = &self.ctx;
        let scenes = self.sampler.scenes(&indices).expect("scenes");
        let update =
            batch_update(self.rule.as_ref(), ctx, self.net.as_ref(), &scenes).expect("update");
        self.optimizer.step(self.net.as_mut(), &update.grads);
    }

    /// Trains for about [`BLOCK`] (at least one iteration): `(seconds, iterations)`.
    fn block(&mut self) -> (f64, u32) {
        enable_flush_to_zero();
        let start = Instant::now();
        let mut count = 0;
        while count == 0 || start.elapsed() < BLOCK {
            self.step();
            count += 1;
        }
        (start.elapsed().as_secs_f64(), count)
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let seconds: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let only = args.get(2).cloned();
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
    };
    let pools = [pool(1), pool(2)];
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
            // HIG on Burgers takes seconds per iteration: not a thread-scaling measurement.
            if path.contains("burgers") && matches!(method.update.name(), "Hig" | "GaussNewton") {
                continue;
            }
            let mut runs = [
                Run::new(&scenario, &trainer, index),
                Run::new(&scenario, &trainer, index),
            ];
            // Warm-up: buffers sized, caches filled.
            for (run, pool) in runs.iter_mut().zip(&pools) {
                pool.install(|| run.block());
            }
            let mut ratios = Vec::new();
            for round in 1..=rounds {
                let mut totals = [(0.0, 0u32); 2];
                while totals.iter().any(|t| t.0 < seconds) {
                    for ((run, pool), total) in runs.iter_mut().zip(&pools).zip(&mut totals) {
                        let (s, n) = pool.install(|| run.block());
                        total.0 += s;
                        total.1 += n;
                    }
                }
                let [t1, t2] = totals.map(|(s, n)| s / f64::from(n));
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
