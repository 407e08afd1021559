//! Scenario files: every file in `scenarios/` loads, and each kind of bad input is rejected
//! with a message naming the file, the position and the field.

use physinv::scenario::Scenario;
use physinv::sim::Registry;
use std::path::Path;

const BASE: &str = r#"(
    name: "t",
    simulator: (name: "rotating_sine", params: (xi: 32.0, phi_deg: 45.0)),
    episode: (steps: 1, observe: [Target]),
    data: (scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])), test_count: 10),
    network: (hidden: [8], activation: relu),
    methods: [
        (name: "SIP", update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-3)),
    ],
    training: (batch: 10, iterations: 5),
)"#;

fn parse(source: &str) -> Result<Scenario, String> {
    Scenario::parse(source, Path::new("bad.ron"), &Registry::with_builtins())
        .map_err(|e| e.to_string())
}

fn error_of(from: &str, to: &str) -> String {
    assert!(
        BASE.contains(from),
        "test edit `{from}` not found in the base scenario"
    );
    match parse(&BASE.replace(from, to)) {
        Ok(_) => panic!("scenario with `{to}` was accepted"),
        Err(e) => e,
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(
            message.contains(p),
            "message {message:?} does not mention {p:?}"
        );
    }
}

#[test]
fn base_scenario_is_valid() {
    let s = parse(BASE).expect("base scenario must load");
    assert_eq!(s.network_config().inputs, 2);
    assert_eq!(s.network_config().outputs, 2);
}

#[test]
fn every_scenario_file_loads() {
    let mut count = 0;
    for entry in std::fs::read_dir("scenarios").expect("scenarios/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "ron") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            count += 1;
        }
    }
    assert!(
        count >= 3,
        "expected at least three scenarios, found {count}"
    );
}

#[test]
fn unknown_field_names_file_position_and_field() {
    let e = error_of("batch: 10,", "batch: 10, bacth: 3,");
    assert_mentions(&e, &["bad.ron:10:", "bacth"]);
}

#[test]
fn wrong_type_is_rejected_with_position() {
    let e = error_of("batch: 10,", "batch: \"ten\",");
    assert_mentions(&e, &["bad.ron:10:", "field `batch`", "Expected integer"]);
}

#[test]
fn negative_batch_is_rejected() {
    let e = error_of("batch: 10,", "batch: -10,");
    assert_mentions(&e, &["bad.ron:10:", "field `batch`"]);
}

#[test]
fn zero_batch_is_rejected_naming_the_field() {
    let e = error_of("batch: 10,", "batch: 0,");
    assert_mentions(&e, &["bad.ron:10:", "training.batch", "≥ 1"]);
}

#[test]
fn non_positive_xi_is_rejected_naming_the_parameter() {
    let e = error_of("xi: 32.0", "xi: -1.0");
    assert_mentions(&e, &["bad.ron:3:", "simulator.params.xi"]);
}

#[test]
fn unknown_simulator_parameter_is_rejected() {
    let e = error_of("xi: 32.0", "xii: 32.0");
    assert_mentions(&e, &["bad.ron:3:", "xii"]);
}

#[test]
fn unknown_simulator_lists_the_known_ones() {
    let e = error_of("\"rotating_sine\"", "\"rotating_cosine\"");
    assert_mentions(
        &e,
        &[
            "bad.ron:3:",
            "rotating_cosine",
            "rotating_sine",
            "exponential",
        ],
    );
}

#[test]
fn unknown_optimizer_is_rejected() {
    let e = error_of("Adam(lr: 1e-3)", "Adamax(lr: 1e-3)");
    assert_mentions(&e, &["bad.ron:8:", "Adamax"]);
}

#[test]
fn non_positive_learning_rate_is_rejected() {
    let e = error_of("Adam(lr: 1e-3)", "Adam(lr: -1e-3)");
    assert_mentions(&e, &["bad.ron:8:", "methods[0].optimizer", "lr"]);
}

#[test]
fn zero_width_hidden_layer_is_rejected() {
    let e = error_of("hidden: [8]", "hidden: [8, 0]");
    assert_mentions(&e, &["bad.ron:6:", "network.hidden"]);
}

#[test]
fn wrong_length_bounds_are_rejected() {
    let e = error_of("low: [-1.0, -1.0]", "low: [-1.0]");
    assert_mentions(
        &e,
        &["bad.ron:5:", "data.scenes.target.low", "expected 2 values"],
    );
}

#[test]
fn step_inverse_on_a_multi_step_episode_is_rejected() {
    let e = error_of("steps: 1,", "steps: 4,");
    assert_mentions(&e, &["methods[0].update.inverse", "Episode"]);
}

#[test]
fn missing_budget_is_rejected() {
    let e = error_of("iterations: 5", "log_every: 5");
    assert_mentions(&e, &["training", "budget_s"]);
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let e = Scenario::load("scenarios/does_not_exist.ron")
        .unwrap_err()
        .to_string();
    assert_mentions(&e, &["does_not_exist.ron", "cannot read"]);
}

#[test]
fn sip_with_tracking_terms_is_rejected() {
    let e = error_of(
        "    network:",
        "    objective: (tracking_weight: 0.1),\n    network:",
    );
    assert_mentions(&e, &["methods[0].update", "tracking"]);
}

#[test]
fn feedback_inversion_on_an_open_loop_episode_is_rejected() {
    let source = BASE
        .replace("steps: 1, observe: [Target]", "steps: 3, policy: OpenLoop")
        .replace("Step(Analytic)", "Episode(feedback: true)");
    let e = parse(&source).expect_err("open loop has no feedback to linearise");
    assert_mentions(&e, &["methods[0].update.inverse.feedback", "closed-loop"]);
}

#[test]
fn control_scale_is_one_number_or_one_per_component() {
    let uniform =
        parse(&BASE.replace("steps: 1,", "steps: 1, control_scale: 3.0,")).expect("uniform");
    assert_eq!(uniform.control_scale().as_slice(), &[3.0, 3.0]);
    let per = parse(&BASE.replace("steps: 1,", "steps: 1, control_scale: [2.0, 5.0],"))
        .expect("per component");
    assert_eq!(per.control_scale().as_slice(), &[2.0, 5.0]);
    let wrong = error_of("steps: 1,", "steps: 1, control_scale: [2.0],");
    assert_mentions(&wrong, &["episode.control_scale"]);
    let negative = error_of("steps: 1,", "steps: 1, control_scale: [2.0, -1.0],");
    assert_mentions(&negative, &["episode.control_scale", "> 0"]);
}

/// Without `control_scale` the simulator's typical control magnitudes apply: for the
/// anisotropic point mass at φ = 45° both actuators need about `ξ²/√2` per unit acceleration.
#[test]
fn control_scale_defaults_to_the_simulator_hint() {
    let source = BASE
        .replace(
            r#"(name: "rotating_sine", params: (xi: 32.0, phi_deg: 45.0))"#,
            r#"(name: "anisotropic_point_mass", params: (xi: 32.0, phi_deg: 45.0))"#,
        )
        .replace("steps: 1, observe: [Target]", "steps: 5")
        .replace(
            "initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])",
            "initial: Zeros, target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])",
        )
        .replace("Sip(inverse: Step(Analytic))", "Sip(inverse: Episode())");
    let scenario = parse(&source).expect("valid");
    let expected = (0.5f64 + 0.5 * 32f64.powi(4)).sqrt();
    for c in scenario.control_scale().iter() {
        assert!((c - expected).abs() < 1e-9 * expected, "{c} vs {expected}");
    }
    let isotropic = parse(&source.replace("xi: 32.0", "xi: 1.0")).expect("valid");
    for c in isotropic.control_scale().iter() {
        assert!((c - 1.0).abs() < 1e-12);
    }
}
