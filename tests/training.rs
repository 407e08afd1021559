//! End-to-end training: determinism, and real learning progress of every method.

mod common;

use physinv::train::trainer::Silent;
use physinv::train::{Context, Trainer};

fn final_metric(scenario: &physinv::scenario::Scenario, method: usize, name: &str) -> f64 {
    let trainer = Trainer::new(scenario).expect("trainer");
    let outcome = trainer.train(method, &mut Silent).expect("training runs");
    outcome.metrics.get(name).expect("metric is reported")
}

/// The metrics and weights of every method of `scenario`, trained on `threads` worker threads.
fn train_all(scenario: &physinv::scenario::Scenario, threads: usize) -> Vec<(Vec<f64>, Vec<f32>)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| {
        let trainer = Trainer::new(scenario).expect("trainer");
        (0..scenario.spec.methods.len())
            .map(|i| {
                let o = trainer.train(i, &mut Silent).expect("train");
                (o.metrics.values.clone(), o.net.parameters())
            })
            .collect()
    })
}

/// Same seed ⇒ identical metrics and weights, with one or two rayon threads.
#[test]
fn training_is_deterministic_across_thread_counts() {
    let scenario = common::sine(
        32.0,
        45.0,
        r#"(update: Sip(inverse: Step(SaddleFreeNewton())), optimizer: Adam(lr: 1e-3)),
           (update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        30,
    );
    let run = |threads: usize| train_all(&scenario, threads);
    let one = run(1);
    assert_eq!(one, run(1), "same seed, same thread count");
    assert_eq!(one, run(2), "same seed, two threads");
}

/// Burgers (16 cells × `steps` steps, closed loop) with SIP and BPTT, a batch of 40 episodes
/// and 40 test scenes: several rollout chunks and update groups.
fn burgers_batch_of_40(steps: usize) -> physinv::scenario::Scenario {
    common::scenario(&format!(
        r#"(
    name: "burgers_groups",
    simulator: (name: "burgers", params: (cells: 16)),
    episode: (steps: {steps}, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 0, scenes: Generator("gaussian_clash"), train: Pool(800), test_count: 40, validation_count: 10),
    network: Mlp(hidden: [16], activation: relu),
    methods: [
        (update: Sip(inverse: Episode(alpha: 0.0, max_iterations: 1)), optimizer: Adam(lr: 1e-3)),
        (update: Bptt(), optimizer: Adam(lr: 1e-3)),
    ],
    training: (batch: 40, iterations: 3, log_every: 3, seed: 0),
)"#
    ))
}

/// A closed-loop batch large enough for the rollout to run in parallel chunks of episodes
/// (Burgers, 16 cells × 64 steps: chunks of 16, so a batch of 40 makes three, the last short)
/// and the updates in parallel groups (SIP: five groups of 8 episodes; BPTT: 32 and 8):
/// identical metrics and weights with one or two threads.
#[test]
fn chunked_rollouts_train_identically_across_thread_counts() {
    assert!(
        physinv::episode::rollout_chunk(16, 64) < 40,
        "the batch spans several chunks"
    );
    let scenario = burgers_batch_of_40(64);
    let run = |threads: usize| train_all(&scenario, threads);
    assert_eq!(run(1), run(2));
}

/// The updates of SIP and BPTT are means over episodes, computed in groups of episodes
/// (`train::groups`): over a batch of several groups, the update equals the mean of the
/// single-episode updates (each its own group) to the rounding of the `f32` sums.
#[test]
fn grouped_updates_are_the_mean_of_the_episodes_updates() {
    use physinv::episode::rollout;
    use physinv::train::rule_for;
    let scenario = burgers_batch_of_40(64);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let scenes = trainer.test_scenes();
    assert_eq!(scenes.len(), 40);
    let r = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
    for method in &scenario.spec.methods {
        let rule = rule_for(method, &ctx);
        let whole = rule.update(&ctx, &net, scenes, &r).expect("update").grads;
        let mut mean = rule
            .update(&ctx, &net, &scenes[..1], &r.episodes(0..1))
            .expect("update")
            .grads;
        for b in 1..scenes.len() {
            let one = rule
                .update(&ctx, &net, &scenes[b..=b], &r.episodes(b..b + 1))
                .expect("update")
                .grads;
            mean.add_assign(&one);
        }
        mean.scale(1.0 / scenes.len() as f32);
        let (whole, mean) = (whole.to_vec(), mean.to_vec());
        let largest = mean.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(largest > 0.0, "a gradient to compare");
        for (a, b) in whole.iter().zip(&mean) {
            assert!(
                (a - b).abs() <= 1e-4 * largest,
                "{}: {a} against the episodes' mean {b} (largest {largest})",
                physinv::scenario::method_name(method)
            );
        }
    }
}

/// docs/method.md §3.1: at ξ = 32, φ = 45° SIP reaches a far lower x_dist than Adam in the same budget.
#[test]
fn sip_beats_adam_on_the_ill_conditioned_rotating_sine() {
    let scenario = common::sine(
        32.0,
        45.0,
        r#"(update: Sip(inverse: Step(SaddleFreeNewton())), optimizer: Adam(lr: 1e-3)),
           (update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        600,
    );
    let sip = final_metric(&scenario, 0, "x_dist");
    let adam = final_metric(&scenario, 1, "x_dist");
    assert!(
        sip * 10.0 < adam,
        "SIP x_dist {sip:.3e} should be 10x below Adam's {adam:.3e}"
    );
}

/// docs/method.md §3.2: on y = exp(x), SIP with the analytic inverse is accurate where SGD is not.
#[test]
fn sip_inverts_the_exponential_where_sgd_fails() {
    let scenario = common::scenario(
        r#"(
    name: "exp_test",
    simulator: (name: "exponential"),
    episode: (steps: 1, observe: [Target]),
    data: (seed: 2, scenes: Sampled(initial: Zeros, target: ReachedBy(low: [-12.0], high: [0.0])), test_count: 200),
    network: Mlp(hidden: [16, 64, 16], activation: sigmoid),
    methods: [
        (update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-2)),
        (update: Bptt(), optimizer: Sgd(lr: 1e-2)),
    ],
    training: (batch: 100, iterations: 1500, log_every: 1500, seed: 0),
)"#,
    );
    let sip = final_metric(&scenario, 0, "x_dist");
    let sgd = final_metric(&scenario, 1, "x_dist");
    assert!(sip < 1.2, "SIP x_dist {sip:.3}");
    assert!(
        sgd > 2.0 * sip,
        "DP+SGD x_dist {sgd:.3} should be far worse than SIP's {sip:.3}"
    );
}

/// SIP (inversion across time) and BPTT both cut the oscillator loss by orders of magnitude.
#[test]
fn sip_and_bptt_make_real_progress_on_the_oscillators() {
    let scenario = common::oscillators(
        r#"(update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3)),
           (update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        400,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    for method in 0..2 {
        let o = trainer.train(method, &mut Silent).expect("train");
        let first = o
            .log
            .first()
            .and_then(|r| r.metrics.get("loss"))
            .expect("initial loss");
        let last = o.metrics.get("loss").expect("final loss");
        assert!(
            last * 100.0 < first,
            "{}: loss {first:.3e} → {last:.3e} is not two orders of magnitude",
            o.method
        );
        assert_eq!(
            o.stats.inverse_failures, 0,
            "{}: the linear inverse never fails",
            o.method
        );
    }
}

/// Supervised training on ground-truth controls learns the exponential's inverse.
#[test]
fn supervised_training_makes_progress() {
    let scenario = common::scenario(
        r#"(
    name: "exp_supervised",
    simulator: (name: "exponential"),
    episode: (steps: 1, observe: [Target]),
    data: (seed: 2, scenes: Sampled(initial: Zeros, target: ReachedBy(low: [-4.0], high: [0.0])), test_count: 100),
    network: Mlp(hidden: [16, 16], activation: tanh),
    methods: [(update: Supervised, optimizer: Adam(lr: 1e-2))],
    training: (batch: 64, iterations: 300, log_every: 300, seed: 0),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let o = trainer.train(0, &mut Silent).expect("train");
    let first = o.log[0].metrics.get("x_dist").expect("x_dist");
    let last = o.metrics.get("x_dist").expect("x_dist");
    assert!(last * 5.0 < first, "x_dist {first:.3} → {last:.3}");
}

/// A learning-rate schedule is applied: with the rate cut to ~0 after the first iteration,
/// four more iterations leave the weights where the first one put them.
#[test]
fn learning_rate_decay_is_applied() {
    let train = |iterations: usize, decay: &str| {
        let scenario = common::sine(
            32.0,
            45.0,
            &format!("(update: Bptt(), optimizer: Adam(lr: 1e-2){decay})"),
            iterations,
        );
        let trainer = Trainer::new(&scenario).expect("trainer");
        trainer
            .train(0, &mut Silent)
            .expect("train")
            .net
            .parameters()
    };
    let cut = ", lr_decay: Step(every: 1, factor: 1e-12)";
    let after_one = train(1, cut);
    let after_five = train(5, cut);
    let largest = after_one
        .iter()
        .zip(&after_five)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        largest < 1e-8,
        "weights moved by {largest:e} after the rate was cut"
    );
    let undecayed = train(5, "");
    assert_ne!(
        after_five, undecayed,
        "without decay the extra iterations move the weights"
    );
}

#[test]
fn learning_rate_schedules_follow_their_formulas() {
    use physinv::scenario::LrDecay;
    let step = LrDecay::Step {
        every: 100,
        factor: 0.5,
    };
    assert_eq!(step.lr(1e-3, 0), 1e-3);
    assert_eq!(step.lr(1e-3, 99), 1e-3);
    assert_eq!(step.lr(1e-3, 250), 2.5e-4);
    let exponential = LrDecay::Exponential { half_life: 1000.0 };
    assert!((exponential.lr(1e-2, 1000) - 5e-3).abs() < 1e-15);
    assert!((exponential.lr(1e-2, 3000) - 1.25e-3).abs() < 1e-15);
}

/// A closed-loop point-mass scenario (reach a target at rest) with the given methods.
fn point_mass(methods: &str, iterations: usize) -> physinv::scenario::Scenario {
    common::scenario(&format!(
        r#"(
    name: "pm_test",
    simulator: (name: "point_mass"),
    episode: (steps: 20, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 5, scenes: Sampled(
        initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
        target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])),
        test_count: 64, validation_count: 64),
    network: Mlp(hidden: [32, 32], activation: tanh),
    methods: [{methods}],
    training: (batch: 32, iterations: {iterations}, log_every: {iterations}, seed: 0),
)"#
    ))
}

/// Loss of the initial network (first validation row) and the chosen network's test loss.
fn first_and_final_loss(outcome: &physinv::train::TrainOutcome) -> (f64, f64) {
    let first = outcome.log[0].metrics.get("loss").expect("initial loss");
    (first, outcome.metrics.get("loss").expect("final loss"))
}

/// Closed-loop SIP with the proxy on the corrected trajectory (μ = 0, default η), the per-step
/// chain, and SIP with the feedback-linearised inversion each cut the point-mass loss by at
/// least 10× in 300 iterations.
#[test]
fn closed_loop_sip_and_the_chain_make_real_progress() {
    let scenario = point_mass(
        r#"(name: "corrected", update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3)),
           (name: "chain", update: Sip(inverse: Chain()), optimizer: Adam(lr: 1e-3)),
           (name: "feedback", update: Sip(inverse: Episode(feedback: true)), optimizer: Adam(lr: 1e-3))"#,
        300,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    for method in 0..3 {
        let o = trainer.train(method, &mut Silent).expect("train");
        let (first, last) = first_and_final_loss(&o);
        assert!(
            last * 10.0 < first,
            "{}: loss {first:.3e} → {last:.3e} is not 10× lower",
            o.method
        );
        assert_eq!(o.stats.inverse_failures, 0, "{}", o.method);
        let ratio = o.log[o.log.len() - 2]
            .diagnostics
            .get("residual_ratio")
            .expect("SIP reports its residual ratio");
        assert!(
            ratio < 1e-6,
            "{}: the linear inverse is exact ({ratio:e})",
            o.method
        );
    }
}

/// A learning rate that blows the network up stops the method with an error naming the method
/// and the iteration, instead of reporting garbage.
#[test]
fn a_diverging_method_stops_with_an_error_naming_it() {
    let scenario = point_mass(
        r#"(name: "wild", update: Bptt(), optimizer: Sgd(lr: 1e30))"#,
        50,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let err = trainer.train(0, &mut Silent).expect_err("diverges");
    match &err {
        physinv::Error::Diverged {
            method, iteration, ..
        } => {
            assert_eq!(method, "wild");
            assert!(*iteration >= 1 && *iteration <= 50, "{err}");
        }
        other => panic!("expected Diverged, got {other}"),
    }
    assert!(err.to_string().contains("wild"), "{err}");
}

/// With `cosine_every`, the logged diagnostics carry the cosine between the method's gradient
/// and the BPTT gradient of the same rollout: on the one-dimensional exponential the SIP
/// direction and the gradient agree in sign for every sample, so the cosine is positive; BPTT
/// itself logs none.
#[test]
fn cosine_with_bptt_is_logged_every_n_iterations() {
    let scenario = common::scenario(
        r#"(
    name: "cosine",
    simulator: (name: "exponential"),
    episode: (steps: 1, observe: [Target]),
    data: (seed: 2, scenes: Sampled(initial: Zeros, target: ReachedBy(low: [-4.0], high: [0.0])), test_count: 50, validation_count: 50),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [(update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-3)), (update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 32, iterations: 20, log_every: 10, seed: 0, cosine_every: 5),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let sip = trainer.train(0, &mut Silent).expect("train");
    let logged: Vec<f64> = sip
        .log
        .iter()
        .filter_map(|r| r.diagnostics.get("cosine_bptt"))
        .collect();
    assert_eq!(logged.len(), 2, "iterations 10 and 20 are multiples of 5");
    for c in logged {
        assert!(c > 0.0 && c <= 1.0 + 1e-9, "cosine {c}");
    }
    let bptt = trainer.train(1, &mut Silent).expect("train");
    assert!(bptt
        .log
        .iter()
        .all(|r| r.diagnostics.get("cosine_bptt").is_none()));
    assert!(bptt.log[1].diagnostics.get("grad_norm").is_some());
}

/// A checkpoint whose log holds a non-finite metric or diagnostic still saves, loads and
/// resumes (JSON has no NaN: such values are written as text).
#[test]
fn checkpoints_with_non_finite_log_values_stay_loadable() {
    use physinv::train::{Checkpoint, TrainControl};
    let scenario = point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        4,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BPTT.json");
    let control = TrainControl {
        checkpoint_path: Some(path.clone()),
        ..TrainControl::default()
    };
    trainer.train_with(0, &mut Silent, &control).expect("train");
    let mut checkpoint = Checkpoint::load(&path).expect("load");
    checkpoint.log[0].metrics.values[0] = f64::NAN;
    checkpoint.log[0]
        .diagnostics
        .push("cosine_bptt", f64::INFINITY);
    checkpoint.save(&path).expect("save");
    let back = Checkpoint::load(&path).expect("reload");
    assert!(back.log[0].metrics.values[0].is_nan());
    assert_eq!(
        back.log[0].diagnostics.get("cosine_bptt"),
        Some(f64::INFINITY)
    );
    let resumed = TrainControl {
        resume: Some(back),
        ..TrainControl::default()
    };
    trainer
        .train_with(0, &mut Silent, &resumed)
        .expect("resume");
}

/// Method names with commas, quotes or line breaks are quoted in `metrics.csv` and read back
/// intact by the plot reader (they used to corrupt the file).
#[test]
fn metrics_csv_quotes_awkward_method_names() {
    use physinv::output::ConsoleObserver;
    use physinv::plot::MetricsTable;
    use physinv::run::{run_scenario, RunOptions};
    // (Control characters such as a line break are refused in names: tests/hostile.rs.)
    let name = "BPTT, \\\"fast\\\" variant";
    let scenario = point_mass(
        &format!(r#"(name: "{name}", update: Bptt(), optimizer: Adam(lr: 1e-3))"#),
        2,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        out_dir: Some(dir.path().to_path_buf()),
        ..RunOptions::default()
    };
    let mut observer = ConsoleObserver::default();
    run_scenario(&scenario, &options, &mut observer).expect("run");
    let table = MetricsTable::read(&dir.path().join("metrics.csv")).expect("parses");
    assert_eq!(table.methods(), ["BPTT, \"fast\" variant"]);
    assert!(table.rows.len() >= 2);
}

/// An output directory that cannot be written is an error before any method trains, and the
/// results of methods that finished survive a later method's failure.
#[test]
fn runs_check_their_output_first_and_keep_finished_methods() {
    use physinv::run::{run_scenario, RunOptions};
    use physinv::train::Observer;
    #[derive(Default)]
    struct Starts(usize);
    impl Observer for Starts {
        fn on_start(&mut self, _: &str, _: Option<usize>, _: Option<f64>) {
            self.0 += 1;
        }
    }
    let scenario = point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3)),
           (name: "wild", update: Bptt(), optimizer: Sgd(lr: 1e30))"#,
        20,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").expect("file");
    let mut starts = Starts::default();
    let bad = RunOptions {
        out_dir: Some(file.join("run")),
        ..RunOptions::default()
    };
    let err = run_scenario(&scenario, &bad, &mut starts).expect_err("not writable");
    assert!(matches!(err, physinv::Error::Io { .. }), "{err}");
    assert_eq!(starts.0, 0, "nothing trained before the check");

    let good = RunOptions {
        out_dir: Some(dir.path().join("run")),
        ..RunOptions::default()
    };
    let err = run_scenario(&scenario, &good, &mut starts).expect_err("wild diverges");
    assert!(matches!(err, physinv::Error::Diverged { .. }), "{err}");
    let csv = std::fs::read_to_string(dir.path().join("run/metrics.csv")).expect("kept");
    assert!(csv.lines().skip(1).all(|l| l.starts_with("BPTT,")), "{csv}");
    assert!(dir.path().join("run/summary.json").is_file());
}

/// Resuming checks the scenario's fingerprint: a changed simulator parameter or batch size is
/// refused, naming what differs; the unchanged scenario resumes.
#[test]
fn resume_refuses_a_changed_scenario_naming_the_difference() {
    use physinv::train::{Checkpoint, TrainControl};
    let scenario = |drag: f64, batch: usize| {
        common::scenario(&format!(
            r#"(
    name: "fp",
    simulator: (name: "point_mass", params: (drag: {drag:?})),
    episode: (steps: 5),
    data: (seed: 1, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])), test_count: 8, validation_count: 8),
    network: Mlp(hidden: [8], activation: tanh),
    methods: [(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: {batch}, iterations: 3, log_every: 3),
)"#
        ))
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BPTT.json");
    let original = scenario(0.5, 4);
    let control = TrainControl {
        checkpoint_path: Some(path.clone()),
        ..TrainControl::default()
    };
    Trainer::new(&original)
        .expect("trainer")
        .train_with(0, &mut Silent, &control)
        .expect("train");
    let resume = || TrainControl {
        resume: Some(Checkpoint::load(&path).expect("load")),
        ..TrainControl::default()
    };
    for (changed, section) in [
        (scenario(0.7, 4), "`simulator`"),
        (scenario(0.5, 8), "`training.batch`"),
    ] {
        let err = Trainer::new(&changed)
            .expect("trainer")
            .train_with(0, &mut Silent, &resume())
            .expect_err("refused");
        assert!(err.to_string().contains(section), "{err}");
    }
    Trainer::new(&original)
        .expect("trainer")
        .train_with(0, &mut Silent, &resume())
        .expect("the unchanged scenario resumes");
}

/// A run directory another run holds is refused at once; once released it can be used.
#[test]
fn a_locked_run_directory_is_refused() {
    use physinv::lock::RunLock;
    use physinv::run::{run_scenario, RunOptions};
    let scenario = point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        2,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        out_dir: Some(dir.path().to_path_buf()),
        ..RunOptions::default()
    };
    let held = RunLock::acquire(dir.path()).expect("first lock");
    let err = run_scenario(&scenario, &options, &mut Silent).expect_err("locked");
    assert!(err.to_string().contains("another physinv run"), "{err}");
    assert!(!dir.path().join("metrics.csv").exists());
    drop(held);
    run_scenario(&scenario, &options, &mut Silent).expect("free again");
}

/// A stop request (what SIGINT/SIGTERM set) ends the run between iterations with
/// `Interrupted`, after writing a non-final checkpoint and the partial results; resuming
/// finishes the run.
#[test]
fn a_stop_request_checkpoints_and_the_run_resumes() {
    use common::StopAt;
    use physinv::run::{run_scenario, RunOptions};
    use physinv::train::Checkpoint;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let scenario = point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        10,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = Arc::new(AtomicBool::new(false));
    let options = RunOptions {
        out_dir: Some(dir.path().to_path_buf()),
        stop: Some(stop.clone()),
        ..RunOptions::default()
    };
    let err =
        run_scenario(&scenario, &options, &mut StopAt(3, stop.clone())).expect_err("interrupted");
    match &err {
        physinv::Error::Interrupted { method, iteration } => {
            assert_eq!((method.as_str(), *iteration), ("BPTT", 3));
        }
        other => panic!("expected Interrupted, got {other}"),
    }
    assert!(dir.path().join("metrics.csv").is_file());
    let checkpoint = Checkpoint::load(&dir.path().join("checkpoints/BPTT.json")).expect("ckpt");
    assert_eq!(checkpoint.iteration, 3);
    assert!(!checkpoint.finished);
    stop.store(false, Ordering::SeqCst);
    let resume = RunOptions {
        resume: true,
        ..options
    };
    let report = run_scenario(&scenario, &resume, &mut Silent).expect("resumes");
    assert_eq!(report.outcomes[0].iterations, 10);
}

/// A tiny point-mass scenario logging every 5 of 40 iterations, with `training` extras.
fn logged_point_mass(
    methods: &str,
    training: &str,
) -> physinv::Result<physinv::scenario::Scenario> {
    let source = format!(
        r#"(
    name: "pm_divergence",
    simulator: (name: "point_mass"),
    episode: (steps: 10, policy: ClosedLoop, observe: [State, Target]),
    data: (seed: 5, scenes: Sampled(
        initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
        target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])),
        test_count: 16, validation_count: 16),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [{methods}],
    training: (batch: 16, iterations: 40, log_every: 5, seed: 0{training}),
)"#
    );
    physinv::scenario::Scenario::parse(
        &source,
        std::path::Path::new("<test>"),
        &physinv::Registry::with_builtins(),
    )
}

/// Adam at lr 1e6 keeps every number finite while the validation loss grows by many orders of
/// magnitude: the divergence rule stops the method, naming the split and the values, and the
/// method that finished before it keeps its results.
#[test]
fn a_huge_learning_rate_stops_at_the_divergence_factor() {
    use physinv::run::{run_scenario, RunOptions};
    let scenario = logged_point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3)),
           (name: "wild", update: Bptt(), optimizer: Adam(lr: 1e6))"#,
        "",
    )
    .expect("valid");
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        out_dir: Some(dir.path().to_path_buf()),
        ..RunOptions::default()
    };
    let err = run_scenario(&scenario, &options, &mut Silent).expect_err("wild diverges");
    let physinv::Error::Diverged {
        method,
        iteration,
        what,
    } = &err
    else {
        panic!("expected Diverged, got {err}");
    };
    assert_eq!(method, "wild");
    assert!(
        *iteration >= 5 && iteration % 5 == 0,
        "at a logged iteration: {err}"
    );
    assert!(what.starts_with("validation "), "{err}");
    assert!(
        what.contains("training.divergence_factor = 1e6 times its initial"),
        "{err}"
    );
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).expect("kept");
    assert!(csv.lines().skip(1).all(|l| l.starts_with("BPTT,")), "{csv}");
    let summary = std::fs::read_to_string(dir.path().join("summary.json")).expect("kept");
    assert!(
        summary.contains("\"BPTT\"") && !summary.contains("\"wild\""),
        "{summary}"
    );
}

/// `training.divergence_factor` must be > 1; a larger factor lets the same run go further.
#[test]
fn divergence_factor_is_validated_and_moves_the_stop() {
    let wild = r#"(name: "wild", update: Bptt(), optimizer: Adam(lr: 1e6))"#;
    let message = logged_point_mass(wild, ", divergence_factor: 1.0")
        .expect_err("factor 1")
        .to_string();
    assert!(
        message.contains("training.divergence_factor") && message.contains("must be > 1"),
        "{message}"
    );
    let stop = |training: &str| {
        let scenario = logged_point_mass(wild, training).expect("valid");
        let trainer = Trainer::new(&scenario).expect("trainer");
        match trainer.train(0, &mut Silent) {
            Err(physinv::Error::Diverged { iteration, .. }) => iteration,
            Ok(outcome) => outcome.iterations + 1,
            Err(other) => panic!("{other}"),
        }
    };
    let default = stop("");
    assert!(default <= 40, "the default factor stops it");
    assert!(stop(", divergence_factor: 1e300") > default);
}

/// Training unrolls and updates each group of a grouped rule in one task
/// (`groups::rollout_and_update`): the same gradient, counters and diagnostics, bit for bit, as
/// the rollout of the whole batch followed by the rule's update; on one thread and on two.
fn assert_fused_equals_apart(scenario: &physinv::scenario::Scenario, group: usize) {
    use physinv::episode::rollout;
    use physinv::train::{batch_update, groups, rule_for};
    let trainer = Trainer::new(scenario).expect("trainer");
    let ctx = Context {
        diagnose: true,
        ..trainer.context()
    };
    let net = trainer.initial_network().expect("net");
    let scenes = trainer.test_scenes();
    assert!(scenes.len() > group, "several groups");
    for method in &scenario.spec.methods {
        let rule = rule_for(method, &ctx);
        let grouped = rule.grouped().expect("SIP and BPTT are grouped");
        assert_eq!(grouped.group_size(&ctx), group, "groups of whole chunks");
        let r = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
        let apart = rule.update(&ctx, &net, scenes, &r).expect("update");
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let fused = pool.install(|| {
                groups::rollout_and_update(grouped, &ctx, &net, scenes)
                    .expect("groups of whole chunks: fused")
                    .expect("update")
            });
            assert_eq!(fused.grads.to_vec(), apart.grads.to_vec());
            assert_eq!(fused.stats, apart.stats);
            assert_eq!(fused.diagnostics, apart.diagnostics);
            let via_trainer = pool.install(|| batch_update(rule.as_ref(), &ctx, &net, scenes));
            assert_eq!(
                via_trainer.expect("update").grads.to_vec(),
                apart.grads.to_vec()
            );
        }
    }
}

/// Closed loop (16 cells × 32 steps): chunks and groups of 16 episodes for both rules.
#[test]
fn fused_rollout_and_update_equals_rollout_then_update_closed_loop() {
    assert_fused_equals_apart(&burgers_batch_of_40(32), 16);
}

/// Open loop (the oscillators, 4 components × 24 steps): chunks and groups of 43 episodes.
#[test]
fn fused_rollout_and_update_equals_rollout_then_update_open_loop() {
    let scenario = common::oscillators(
        r#"(update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-2)),
           (update: Bptt(), optimizer: Adam(lr: 1e-2))"#,
        1,
    );
    assert_fused_equals_apart(&scenario, 43);
}

/// Groups that are not made of whole rollout chunks are not fused (the rollout, then the
/// update): SIP on 16 cells × 64 steps has groups of 8 episodes and chunks of 16.
#[test]
fn groups_smaller_than_a_chunk_are_not_fused() {
    use physinv::train::{groups, rule_for};
    let scenario = burgers_batch_of_40(64);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let sip = rule_for(&scenario.spec.methods[0], &ctx);
    let grouped = sip.grouped().expect("grouped");
    assert_eq!(grouped.group_size(&ctx), 8);
    assert!(groups::rollout_and_update(grouped, &ctx, &net, trainer.test_scenes()).is_none());
}

/// A part of a batch unrolled on its own reports a non-finite state with the episode's number
/// in the batch.
#[test]
fn a_rollout_part_numbers_its_episodes_from_its_first() {
    let scenario = burgers_batch_of_40(32);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let mut scenes = trainer.test_scenes()[..4].to_vec();
    scenes[1].initial[0] = f64::NAN;
    match physinv::episode::rollout_part(ctx.physics, ctx.policy, &net, &scenes, 32) {
        Err(physinv::Error::NonFinite { episode, step }) => assert_eq!((episode, step), (33, 1)),
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

/// A point mass with a force penalty, validation scenes and `select`.
fn penalised_point_mass(select: &str) -> physinv::scenario::Scenario {
    common::scenario(&format!(
        r#"(
    name: "select",
    simulator: (name: "point_mass"),
    episode: (steps: 10, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 2, scenes: Sampled(initial: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]), target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])), train: Pool(64), test_count: 16, validation_count: 16),
    objective: (force_weight: 1.0),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [(update: Bptt(), optimizer: Adam(lr: 1e-2))],
    training: (batch: 16, iterations: 60, log_every: 5, seed: 0{select}),
)"#
    ))
}

/// The kept network is the one of least validation loss by default (the objective every
/// method lowers), or of least named metric with `select: Metric(…)`; the outcome says which.
#[test]
fn the_kept_network_is_chosen_on_the_validation_loss_by_default() {
    let mut chosen = Vec::new();
    for (select, metric) in [
        ("", "loss"),
        (r#", select: Metric("final_error")"#, "final_error"),
    ] {
        let scenario = penalised_point_mass(select);
        let trainer = Trainer::new(&scenario).expect("trainer");
        let outcome = trainer.train(0, &mut Silent).expect("training");
        assert_eq!(outcome.selected_on.as_deref(), Some(metric));
        let validation: Vec<_> = outcome
            .log
            .iter()
            .filter(|r| r.split == "validation")
            .collect();
        let best = validation
            .iter()
            .min_by(|a, b| {
                let (a, b) = (a.metrics.get(metric), b.metrics.get(metric));
                a.partial_cmp(&b).expect("finite")
            })
            .expect("validation rows");
        assert_eq!(
            outcome.selected_iteration, best.iteration,
            "select {metric}"
        );
        chosen.push(best.iteration);
    }
    assert_ne!(
        chosen[0], chosen[1],
        "the force penalty makes the choices differ"
    );
}

/// `select` must name a metric the run reports.
#[test]
fn selecting_on_an_unknown_metric_is_an_error() {
    let source = r#"(
    name: "select",
    simulator: (name: "point_mass"),
    episode: (steps: 10),
    data: (seed: 2, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])), test_count: 4),
    network: Mlp(hidden: [4], activation: tanh),
    methods: [(update: Bptt(), optimizer: Adam(lr: 1e-2))],
    training: (batch: 4, iterations: 1, select: Metric("x_dist")),
)"#;
    let error = physinv::scenario::Scenario::parse(
        source,
        std::path::Path::new("<select>"),
        &physinv::Registry::with_builtins(),
    )
    .map(|_| ())
    .expect_err("an error")
    .to_string();
    assert!(
        error.contains("training.select")
            && error.contains("x_dist")
            && error.contains("final_error"),
        "{error}"
    );
}
