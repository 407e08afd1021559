//! Users' own simulators: wrong output lengths are errors naming the simulator, the call and
//! the lengths; `Physics` with only a JVP or only a VJP is refused by the methods that need
//! the other, naming it; the whole command line runs with a user's registry (`run_with`).

use clap::Parser as _;
use physinv::cli::{run_with, Cli};
use physinv::episode::simulate;
use physinv::scenario::Scenario;
use physinv::sim::autodiff::{AutoDiff, GenericStep, Scalar};
use physinv::sim::check::check_jvp;
use physinv::sim::{Jvp, ParamError, Physics, Simulator, Vector, Vjp};
use physinv::Registry;
use std::path::Path;

/// Which call of [`Faulty`] returns one value too many.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Step,
    StepAfterFirst,
    Jvp,
    VjpControl,
}

/// `s' = s + u` in one dimension, with a chosen call returning a vector of length 2.
struct Faulty(Fault);

impl Faulty {
    fn sized(&self, fault: Fault, value: f64) -> Vector {
        let len = if self.0 == fault { 2 } else { 1 };
        Vector::from_element(len, value)
    }
}

impl Simulator for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }
    fn state_dim(&self) -> usize {
        1
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn step(&self, s: &Vector, u: &Vector) -> Vector {
        let next = s[0] + u[0];
        if self.0 == Fault::StepAfterFirst && s[0] != 0.0 {
            return Vector::from_element(3, next);
        }
        self.sized(Fault::Step, next)
    }
}

impl Jvp for Faulty {
    fn jvp(&self, _s: &Vector, _u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        self.sized(Fault::Jvp, ds[0] + du[0])
    }
}

impl Vjp for Faulty {
    fn vjp(&self, _s: &Vector, _u: &Vector, w: &Vector) -> (Vector, Vector) {
        (w.clone(), self.sized(Fault::VjpControl, w[0]))
    }
}

fn simulator_output(error: &physinv::Error) -> (String, String, usize, usize) {
    match error {
        physinv::Error::SimulatorOutput {
            simulator,
            call,
            expected,
            got,
        } => (simulator.clone(), call.clone(), *expected, *got),
        other => panic!("expected SimulatorOutput, got {other}"),
    }
}

#[test]
fn wrong_lengths_are_found_when_the_physics_is_checked() {
    for (fault, call) in [
        (Fault::Step, "step"),
        (Fault::Jvp, "jvp"),
        (Fault::VjpControl, "vjp (control cotangent Bᵀw)"),
    ] {
        let error = Physics::differentiable(Faulty(fault))
            .check_dimensions()
            .expect_err("one length is wrong");
        assert_eq!(
            simulator_output(&error),
            ("faulty".into(), call.into(), 1, 2),
            "{fault:?}"
        );
        assert!(
            error.to_string().contains("simulator 'faulty': "),
            "{error}"
        );
    }
    Physics::differentiable(Faulty(Fault::None))
        .check_dimensions()
        .expect("consistent lengths");
}

#[test]
fn a_step_of_the_wrong_length_in_a_rollout_is_an_error() {
    let physics = Physics::new(Faulty(Fault::StepAfterFirst));
    physics.check_dimensions().expect("fine at the zero state");
    let controls = vec![Vector::from_element(1, 1.0); 3];
    let error = simulate(&physics, &Vector::zeros(1), &controls, 0).expect_err("second step");
    assert_eq!(
        simulator_output(&error),
        ("faulty".into(), "step".into(), 1, 3)
    );
}

#[test]
fn check_helpers_report_wrong_lengths() {
    let sim = Faulty(Fault::Jvp);
    let one = Vector::from_element(1, 1.0);
    let error = check_jvp(&sim, &one, &one, &one, &one, 1e-6).expect_err("jvp too long");
    assert_eq!(simulator_output(&error).1, "jvp");
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// A scenario for a one-dimensional simulator named `name` with the given method.
fn scenario_text(name: &str, method: &str) -> String {
    format!(
        r#"(
    name: "user",
    simulator: (name: "{name}"),
    episode: (steps: 3, observe: [State, Target]),
    data: (seed: 1, scenes: Sampled(initial: Uniform(low: [-1.0], high: [1.0]), target: Uniform(low: [-1.0], high: [1.0])), test_count: 8, validation_count: 8),
    network: Mlp(hidden: [8], activation: tanh),
    methods: [{method}],
    training: (batch: 8, iterations: 20, log_every: 10, seed: 0),
)"#
    )
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register("faulty_step", "step too long", |_: NoParams| {
        Ok(Physics::differentiable(Faulty(Fault::Step)))
    });
    registry.register("jvp_only", "no VJP", |_: NoParams| {
        Ok(Physics::jvp_only(Faulty(Fault::None)))
    });
    registry.register("vjp_only", "no JVP", |_: NoParams| {
        Ok(Physics::vjp_only(Faulty(Fault::None)))
    });
    registry.register(
        "generic",
        "AutoDiff",
        |_: NoParams| -> Result<_, ParamError> { Ok(Physics::differentiable(AutoDiff::new(Drag))) },
    );
    registry
}

fn parse(name: &str, method: &str) -> physinv::Result<Scenario> {
    Scenario::parse(
        &scenario_text(name, method),
        Path::new("user.ron"),
        &registry(),
    )
}

const BPTT: &str = "(update: Bptt(), optimizer: Adam(lr: 1e-2))";
const SIP: &str = "(update: Sip(inverse: Episode(mu: 1e-3)), optimizer: Adam(lr: 1e-2))";

#[test]
fn scenario_validation_checks_the_simulator_output_lengths() {
    let error = parse("faulty_step", BPTT).expect_err("step too long");
    assert_eq!(
        simulator_output(&error),
        ("faulty".into(), "step".into(), 1, 2)
    );
}

#[test]
fn physics_with_one_derivative_serves_the_methods_that_need_only_it() {
    let vjp_only = parse("vjp_only", BPTT).expect("BPTT needs only the VJP");
    assert!(vjp_only.physics.jvp().is_none() && vjp_only.physics.vjp().is_some());
    let jvp_only = Physics::jvp_only(Faulty(Fault::None));
    assert!(jvp_only.jvp().is_some() && jvp_only.vjp().is_none());
    let cases = [
        (
            "jvp_only",
            BPTT,
            "needs a VJP; simulator 'faulty' provides no VJP",
        ),
        (
            "vjp_only",
            SIP,
            "needs a JVP and a VJP; simulator 'faulty' provides no JVP",
        ),
        (
            "jvp_only",
            SIP,
            "needs a JVP and a VJP; simulator 'faulty' provides no VJP",
        ),
    ];
    for (simulator, method, expected) in cases {
        let message = parse(simulator, method).expect_err("refused").to_string();
        assert!(message.contains(expected), "{simulator}: {message}");
        assert!(message.contains("field `methods[0].update`"), "{message}");
    }
}

/// `s' = s + Δt (u − s|s|)`: quadratic drag, written once over a generic scalar.
struct Drag;

impl GenericStep for Drag {
    fn name(&self) -> &str {
        "drag"
    }
    fn state_dim(&self) -> usize {
        1
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn step<D: Scalar>(&self, s: &[D], u: &[D]) -> Vec<D> {
        vec![s[0] + (u[0] - s[0] * s[0].abs()) * 0.1]
    }
}

#[test]
fn the_command_line_runs_with_a_users_registry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("generic.ron");
    std::fs::write(&file, scenario_text("generic", BPTT)).expect("write");
    let file = file.to_str().expect("utf-8 path");
    let out = dir.path().join("run");
    let out = out.to_str().expect("utf-8 path");
    let registry = registry();
    for args in [
        vec!["physinv", "--quiet", "validate", file],
        vec!["physinv", "--quiet", "check-grad", file],
        vec![
            "physinv",
            "--quiet",
            "--threads",
            "1",
            "train",
            file,
            "--out",
            out,
        ],
    ] {
        let cli = Cli::try_parse_from(&args).expect("arguments parse");
        run_with(cli, &registry).unwrap_or_else(|e| panic!("{args:?}: {e:#}"));
    }
    assert!(dir.path().join("run/summary.json").is_file());
    let cli = Cli::try_parse_from(["physinv", "validate", file]).expect("parse");
    let error = physinv::cli::run(cli).expect_err("not a built-in simulator");
    assert!(
        physinv::cli::error_text(&error).contains("unknown simulator 'generic'"),
        "{error:#}"
    );
    assert!(physinv::cli::is_subcommand("check-grad"));
    assert!(!physinv::cli::is_subcommand("examples/generic_step.ron"));
    for (args, expected) in [
        (&["check-grad", "x.ron"][..], true),
        (&["--quiet", "--threads", "2", "train", "x.ron"][..], true),
        (&["-q", "--threads=2", "validate"][..], true),
        (&["--threads", "train"][..], false),
        (&["examples/custom_simulator.ron", "--out", "d"][..], false),
        (&["--out", "d"][..], false),
        (&[][..], false),
    ] {
        assert_eq!(physinv::cli::starts_subcommand(args), expected, "{args:?}");
    }
}
