//! Hostile input: every scenario is either refused at validation, naming the field, or trains
//! with finite results, or stops with an error naming the method, the iteration and the split;
//! never a panic, a hang or a silent non-finite result. One test per class of input that once
//! got through, and a property test over the numeric fields of a scenario.

mod common;

use physinv::run::{run_scenario, RunOptions};
use physinv::scenario::Scenario;
use physinv::train::{Observer, Trainer};
use physinv::Registry;
use proptest::prelude::*;
use std::path::Path;

struct Silent;
impl Observer for Silent {}

fn parse(source: &str) -> physinv::Result<Scenario> {
    Scenario::parse(source, Path::new("<test>"), &Registry::with_builtins())
}

/// A small point-mass scenario with `{name}`-style holes filled from `fields`.
fn point_mass(fields: &[(&str, &str)]) -> String {
    let mut text = r#"(
    name: {scenario_name},
    simulator: (name: "point_mass", params: (mass: {mass}, drag: {drag}, dt: {dt})),
    episode: (steps: {steps}, policy: ClosedLoop, observe: [State, Target], control_scale: {control_scale}),
    data: (seed: 3, scenes: Sampled(
        initial: Uniform(low: [{initial_low}, -1.0, 0.0, 0.0], high: [{initial_high}, 1.0, 0.0, 0.0]),
        target: Uniform(low: [{target_low}, -1.0, 0.0, 0.0], high: [{target_high}, 1.0, 0.0, 0.0])),
        test_count: {test_count}, validation_count: 4),
    objective: (force_weight: {force_weight}, terminal_weight: [{weight}, 1.0, 1.0, 1.0]),
    network: Mlp(hidden: [{hidden}], activation: tanh),
    methods: [
        (name: {sip_name}, update: Sip(eta: {eta}, inverse: Episode(mu: {mu}, damping: {damping}, tolerance: {tolerance}, max_iterations: {max_iterations})), optimizer: Adam(lr: {lr})),
        (name: "BPTT", update: Bptt(), optimizer: Adam(lr: {lr}), clip_grad_norm: {clip}, batch: {method_batch}),
    ],
    training: (batch: {batch}, iterations: 2, log_every: 1, seed: 0, divergence_factor: {divergence}),
)"#
    .to_string();
    let defaults = [
        ("scenario_name", "\"hostile\""),
        ("mass", "1.0"),
        ("drag", "0.5"),
        ("dt", "0.1"),
        ("steps", "5"),
        ("control_scale", "1.0"),
        ("initial_low", "-1.0"),
        ("initial_high", "1.0"),
        ("target_low", "-1.0"),
        ("target_high", "1.0"),
        ("test_count", "4"),
        ("force_weight", "0.0"),
        ("weight", "1.0"),
        ("hidden", "4"),
        ("sip_name", "\"SIP\""),
        ("eta", "0.5"),
        ("mu", "0.0"),
        ("damping", "0.0"),
        ("tolerance", "1e-8"),
        ("max_iterations", "3"),
        ("lr", "1e-3"),
        ("clip", "10.0"),
        ("method_batch", "4"),
        ("batch", "4"),
        ("divergence", "1e6"),
    ];
    for (key, default) in defaults {
        let value = fields
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(default, |(_, v)| *v);
        text = text.replace(&format!("{{{key}}}"), value);
    }
    text
}

/// The message of a validation error, which must name `field`.
fn refused(fields: &[(&str, &str)], field: &str) -> String {
    let message = match parse(&point_mass(fields)) {
        Ok(_) => panic!("{fields:?} was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains(field), "{fields:?}: {message}");
    message
}

/// Trains every method of `scenario` (no files) and returns the first error, if any; every
/// result of a method that finishes is finite.
fn train_all(scenario: &Scenario) -> Option<physinv::Error> {
    let trainer = match Trainer::new(scenario) {
        Ok(t) => t,
        Err(e) => return Some(e),
    };
    for i in 0..scenario.spec.methods.len() {
        match trainer.train(i, &mut Silent) {
            Ok(outcome) => {
                for (name, value) in outcome.metrics.names.iter().zip(&outcome.metrics.values) {
                    assert!(value.is_finite(), "{}: {name} = {value}", outcome.method);
                }
            }
            Err(e) => return Some(e),
        }
    }
    None
}

#[test]
fn zero_terminal_weights_are_refused_for_the_inversion() {
    let text = point_mass(&[]).replace(
        "terminal_weight: [1.0, 1.0, 1.0, 1.0]",
        "terminal_weight: [0.0, 0.0, 0.0, 0.0]",
    );
    let message = parse(&text).expect_err("refused").to_string();
    assert!(message.contains("methods[0].update.inverse"), "{message}");
    assert!(message.contains("terminal_weight"), "{message}");
    refused(&[("weight", "-1.0")], "objective.terminal_weight");
}

#[test]
fn ranges_too_wide_to_sample_are_refused() {
    refused(
        &[("initial_low", "-1e308"), ("initial_high", "1e308")],
        "data.scenes.initial.high",
    );
    refused(
        &[("target_low", "-1e308"), ("target_high", "1e308")],
        "data.scenes.target.high",
    );
}

#[test]
fn names_are_checked_before_anything_runs() {
    refused(&[("sip_name", "\"\"")], "methods[0].name");
    refused(&[("sip_name", "\"   \"")], "methods[0].name");
    let long = format!("\"{}\"", "x".repeat(10_000));
    let message = refused(&[("sip_name", &long)], "methods[0].name");
    assert!(message.contains("at most"), "{message}");
    let message = refused(&[("sip_name", "\"SIP\\u{7}\"")], "methods[0].name");
    assert!(message.contains("control character"), "{message}");
    refused(&[("scenario_name", "\"a\\nb\"")], "`name`");
}

#[test]
fn a_method_batch_error_points_at_the_method() {
    let text = point_mass(&[("method_batch", "18446744073709551615")])
        .replace("iterations: 2,", "iterations: 3,");
    let message = parse(&text).expect_err("refused").to_string();
    assert!(message.contains("methods[1].batch"), "{message}");
}

/// A state that overflows names the method, the iteration, the split and where to look.
#[test]
fn a_non_finite_state_names_method_iteration_and_split() {
    let scenario = common::sine(
        1e308,
        45.0,
        r#"(name: "Adam", update: Bptt(), optimizer: Adam(lr: 1e-3))"#,
        2,
    );
    let error = train_all(&scenario).expect("stops").to_string();
    for part in ["'Adam'", "iteration 0", "test episode", "simulator.params"] {
        assert!(error.contains(part), "{part}: {error}");
    }
}

/// Targets the simulator cannot reach (exp(x) > 0) make an infinite metric: an error at the
/// untrained network, not a table with `inf`.
#[test]
fn unreachable_targets_are_an_error_not_a_result() {
    let text = r#"(
    name: "exp_unreachable",
    simulator: (name: "exponential"),
    episode: (steps: 1, observe: [Target]),
    data: (seed: 2, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0], high: [1.0])), test_count: 16, validation_count: 16),
    network: Mlp(hidden: [4], activation: sigmoid),
    methods: [(name: "SIP", update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-2))],
    training: (batch: 8, iterations: 2, log_every: 1, seed: 0),
)"#;
    let error = train_all(&parse(text).expect("valid"))
        .expect("stops")
        .to_string();
    assert!(error.contains("x_dist is inf"), "{error}");
    assert!(error.contains("untrained network"), "{error}");
}

/// A force weight so large that the loss overflows is an error naming the method, not a result.
#[test]
fn an_overflowing_loss_is_an_error() {
    let scenario = parse(&point_mass(&[
        ("force_weight", "1e300"),
        ("control_scale", "1e30"),
    ]))
    .expect("valid");
    let error = train_all(&scenario).expect("stops").to_string();
    assert!(error.contains("method 'SIP'"), "{error}");
    assert!(error.contains("loss is inf"), "{error}");
}

/// Values that stress every numeric field: ordinary, zero, negative, tiny, huge, infinite.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3.0f64..3.0).prop_map(|x| format!("{x:e}")),
        (0.001f64..10.0).prop_map(|x| format!("{x:e}")),
        Just("0.0".to_string()),
        Just("-1.0".to_string()),
        Just("1e-300".to_string()),
        Just("1e300".to_string()),
        Just("-1e300".to_string()),
        Just("1.7e308".to_string()),
        Just("inf".to_string()),
        Just("NaN".to_string()),
    ]
}

/// Counts: ordinary, zero, and far beyond what memory allows.
fn count() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u64..6).prop_map(|x| x.to_string()),
        Just("0".to_string()),
        Just("1000000000000".to_string()),
        Just("18446744073709551615".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random and extreme values in the numeric fields: validation refuses naming a field, or
    /// the methods train with finite results, or stop naming the method. A panic fails.
    #[test]
    fn numeric_fields_are_refused_or_train_safely(
        mass in number(), drag in number(), dt in number(), control_scale in number(),
        initial_high in number(), target_low in number(), force_weight in number(),
        weight in number(), eta in number(), mu in number(), damping in number(),
        tolerance in number(), lr in number(), clip in number(), divergence in number(),
        steps in count(), test_count in count(), hidden in count(), max_iterations in count(),
        method_batch in count(), batch in count(),
    ) {
        let fields = [
            ("mass", mass.as_str()), ("drag", &drag), ("dt", &dt),
            ("control_scale", &control_scale), ("initial_high", &initial_high),
            ("target_low", &target_low), ("force_weight", &force_weight), ("weight", &weight),
            ("eta", &eta), ("mu", &mu), ("damping", &damping), ("tolerance", &tolerance),
            ("lr", &lr), ("clip", &clip), ("divergence", &divergence), ("steps", &steps),
            ("test_count", &test_count), ("hidden", &hidden),
            ("max_iterations", &max_iterations), ("method_batch", &method_batch),
            ("batch", &batch),
        ];
        match parse(&point_mass(&fields)) {
            Err(e) => {
                let message = e.to_string();
                prop_assert!(
                    message.contains("field `") || message.contains("<test>:"),
                    "a refusal names the field: {}", message
                );
            }
            Ok(scenario) => {
                if let Some(e) = train_all(&scenario) {
                    let message = e.to_string();
                    prop_assert!(
                        message.contains("method '") ,
                        "a stop names the method: {}", message
                    );
                }
            }
        }
    }
}

/// An interrupted and resumed run ends with exactly the log, the chosen network and the
/// metrics of an uninterrupted one (the stop request lands between two logged iterations).
#[test]
fn an_interrupted_and_resumed_run_equals_an_uninterrupted_one() {
    use common::StopAt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let text = point_mass(&[("lr", "3e-2")]).replace(
        "iterations: 2, log_every: 1",
        "iterations: 12, log_every: 4",
    );
    let scenario = parse(&text).expect("valid");
    let whole = tempfile::tempdir().expect("tempdir");
    let uninterrupted = run_scenario(
        &scenario,
        &RunOptions {
            out_dir: Some(whole.path().to_path_buf()),
            ..RunOptions::default()
        },
        &mut Silent,
    )
    .expect("trains");
    let split = tempfile::tempdir().expect("tempdir");
    let stop = Arc::new(AtomicBool::new(false));
    let options = RunOptions {
        out_dir: Some(split.path().to_path_buf()),
        stop: Some(stop.clone()),
        ..RunOptions::default()
    };
    run_scenario(&scenario, &options, &mut StopAt(6, stop.clone())).expect_err("interrupted");
    stop.store(false, Ordering::SeqCst);
    let resumed = run_scenario(
        &scenario,
        &RunOptions {
            resume: true,
            ..options
        },
        &mut Silent,
    )
    .expect("resumes");
    let rows = |dir: &Path| {
        let table = physinv::plot::MetricsTable::read(&dir.join("metrics.csv")).expect("csv");
        table
            .rows
            .iter()
            .map(|r| (r.method.clone(), r.split.clone(), r.iteration))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(whole.path()), rows(split.path()));
    for (a, b) in uninterrupted.outcomes.iter().zip(&resumed.outcomes) {
        assert_eq!(a.selected_iteration, b.selected_iteration, "{}", a.method);
        assert_eq!(a.metrics, b.metrics, "{}", a.method);
        assert_eq!(
            a.net.parameters(),
            b.net.parameters(),
            "{}: the chosen network",
            a.method
        );
    }
}

/// The parameters of a simulator that has none (`params: ()`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// A double integrator that raises a stop flag at its `at`-th VJP: a stop request arriving
/// while HIG computes its residual Jacobian, inside an iteration.
struct StopInside {
    vjps: std::sync::atomic::AtomicUsize,
    at: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

mod stop_inside {
    use super::StopInside;
    use physinv::sim::{Jvp, Simulator, Vector, Vjp};
    use std::sync::atomic::Ordering;

    const DT: f64 = 0.1;

    impl Simulator for StopInside {
        fn name(&self) -> &str {
            "stop_inside"
        }
        fn state_dim(&self) -> usize {
            2
        }
        fn control_dim(&self) -> usize {
            1
        }
        fn step(&self, s: &Vector, u: &Vector) -> Vector {
            Vector::from_column_slice(&[s[0] + DT * s[1], s[1] + DT * u[0]])
        }
    }

    impl Jvp for StopInside {
        fn jvp(&self, _: &Vector, _: &Vector, ds: &Vector, du: &Vector) -> Vector {
            Vector::from_column_slice(&[ds[0] + DT * ds[1], ds[1] + DT * du[0]])
        }
    }

    impl Vjp for StopInside {
        fn vjp(&self, _: &Vector, _: &Vector, c: &Vector) -> (Vector, Vector) {
            if self.vjps.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
                self.stop.store(true, Ordering::SeqCst);
            }
            (
                Vector::from_column_slice(&[c[0], DT * c[0] + c[1]]),
                Vector::from_column_slice(&[DT * c[1]]),
            )
        }
    }
}

/// A stop request inside a Gauss-Newton update abandons that iteration: the run ends after the
/// previous one, its checkpoint is that state, and resuming ends exactly where an uninterrupted
/// run does.
#[test]
fn a_stop_inside_an_update_ends_the_run_after_the_previous_iteration() {
    use physinv::train::{Checkpoint, TrainControl};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let at = Arc::new(AtomicUsize::new(usize::MAX));
    let mut registry = Registry::with_builtins();
    let (flag, trigger) = (stop.clone(), at.clone());
    registry.register(
        "stop_inside",
        "a double integrator that raises a stop flag at a given VJP",
        move |_: NoParams| {
            Ok(physinv::sim::Physics::differentiable(StopInside {
                vjps: AtomicUsize::new(0),
                at: trigger.load(Ordering::SeqCst),
                stop: flag.clone(),
            }))
        },
    );
    let text = r#"(
    name: "stop_inside",
    simulator: (name: "stop_inside"),
    episode: (steps: 4, policy: OpenLoop),
    data: (seed: 1, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])), test_count: 4, validation_count: 4),
    network: Mlp(hidden: [6], activation: tanh),
    methods: [(name: "GN", update: GaussNewton(), optimizer: Sgd(lr: 0.5), batch: 4)],
    training: (batch: 4, iterations: 6, log_every: 2, seed: 0),
)"#;
    let load = || Scenario::parse(text, Path::new("<test>"), &registry).expect("valid");
    let whole = Trainer::new(&load())
        .expect("trainer")
        .train(0, &mut Silent)
        .expect("trains");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("GN.json");
    // Each iteration takes the same number of VJPs: stop in the middle of the fifth.
    let vjps_per_iteration = {
        let mut short = load();
        short.spec.training.iterations = Some(1);
        let before = short.physics.work();
        Trainer::new(&short)
            .expect("trainer")
            .train(0, &mut Silent)
            .expect("one iteration");
        (short.physics.work() - before).vjps
    };
    assert!(vjps_per_iteration > 1, "{vjps_per_iteration}");
    at.store(
        4 * vjps_per_iteration as usize + vjps_per_iteration as usize / 2,
        Ordering::SeqCst,
    );
    let stopped = Trainer::new(&load())
        .expect("trainer")
        .train_with(
            0,
            &mut Silent,
            &TrainControl {
                checkpoint_path: Some(path.clone()),
                stop: Some(stop.clone()),
                ..TrainControl::default()
            },
        )
        .expect("stops cleanly");
    assert!(stopped.interrupted);
    assert_eq!(stopped.iterations, 4, "the fifth iteration is abandoned");
    let checkpoint = Checkpoint::load(&path).expect("checkpoint");
    assert_eq!(checkpoint.iteration, 4);
    stop.store(false, Ordering::SeqCst);
    at.store(usize::MAX, Ordering::SeqCst);
    let resumed = Trainer::new(&load())
        .expect("trainer")
        .train_with(
            0,
            &mut Silent,
            &TrainControl {
                resume: Some(checkpoint),
                ..TrainControl::default()
            },
        )
        .expect("resumes");
    assert_eq!(resumed.iterations, 6);
    assert_eq!(resumed.net.parameters(), whole.net.parameters());
    assert_eq!(resumed.metrics, whole.metrics);
}

/// A point mass of 1e-150 kg (its control scale following the mass) trains like one of 1 kg:
/// SIP's inversion measures its steps in the network's output units. In control units its
/// first step looked stationary and the network never moved.
#[test]
fn sip_trains_alike_at_any_mass() {
    let train = |mass: &str| {
        let text = point_mass(&[("mass", mass)])
            .replace(", control_scale: 1.0", "")
            .replace(
                "iterations: 2, log_every: 1",
                "iterations: 10, log_every: 5",
            );
        let scenario = parse(&text).expect("valid");
        Trainer::new(&scenario)
            .expect("trainer")
            .train(0, &mut Silent)
            .expect("trains")
    };
    let (unit, tiny) = (train("1.0"), train("1e-150"));
    assert_eq!(tiny.stats.inverse_failures, 0);
    let initial = Trainer::new(&parse(&point_mass(&[])).expect("valid"))
        .expect("trainer")
        .initial_network()
        .expect("network")
        .parameters();
    let moved = tiny
        .net
        .parameters()
        .iter()
        .zip(&initial)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-4, "the network moved by {moved}");
    for (a, b) in unit.net.parameters().iter().zip(tiny.net.parameters()) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }
}
