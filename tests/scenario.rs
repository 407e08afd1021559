//! Scenario files: every file in `scenarios/` loads, and each kind of bad input is rejected
//! with a message naming the file, the position and the field.

use physinv::scenario::Scenario;
use physinv::Registry;
use std::path::Path;

const BASE: &str = r#"(
    name: "t",
    simulator: (name: "rotating_sine", params: (xi: 32.0, phi_deg: 45.0)),
    episode: (steps: 1, observe: [Target]),
    data: (scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])), test_count: 10),
    network: Mlp(hidden: [8], activation: relu),
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
    assert_eq!(s.network_architecture().inputs, 2);
    assert_eq!(s.network_architecture().outputs, 2);
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

// ---- Resource limits: integer extremes, memory, file size, byte-order mark ----

use physinv::scenario::limits::{estimate_memory, DEFAULT_MAX_MEMORY, GIB};
use physinv::scenario::{file_stem, ResourceLimits};
use physinv::ScenarioError;

fn parse_within(source: &str, limits: &ResourceLimits) -> physinv::Result<Scenario> {
    Scenario::parse_with_limits(
        source,
        Path::new("bad.ron"),
        &Registry::with_builtins(),
        limits,
    )
}

/// Sizes that overflow an index or a size are rejected at validation, naming the field,
/// instead of panicking (capacity overflow, empty range) or wrapping around.
#[test]
fn integer_extremes_are_rejected_naming_the_field() {
    let max = "18446744073709551615";
    let cases: &[(&str, String, &[&str])] = &[
        (
            "test_count: 10)",
            "test_count: 18446744073709551000)".into(),
            &["data.test_count", "at most 2³²"],
        ),
        // Used to wrap the training pool around onto the test scenes.
        (
            "test_count: 10)",
            "test_count: 10, validation_count: 18446744073709551600, train: Pool(100))".into(),
            &["data.validation_count", "at most 2³²"],
        ),
        (
            "test_count: 10)",
            format!("test_count: 10, train: Pool({max}))"),
            &["data.train", "at most 2³²"],
        ),
        (
            "test_count: 10)",
            "test_count: 10, train: Pool(0))".into(),
            &["data.train", "at least one scene"],
        ),
        (
            "batch: 10,",
            format!("batch: {max},"),
            &["training.batch", "past 2⁶⁴"],
        ),
        (
            "iterations: 5",
            format!("iterations: {max}"),
            &["training.iterations", "budget_s"],
        ),
    ];
    for (from, to, parts) in cases {
        let e = error_of(from, to);
        assert_mentions(&e, &["bad.ron:"]);
        assert_mentions(&e, parts);
    }
    // An open-loop network with `steps × m` outputs that overflow `usize`.
    let source = BASE
        .replace(
            "steps: 1, observe: [Target]",
            &format!("steps: {max}, policy: OpenLoop"),
        )
        .replace("Sip(inverse: Step(Analytic))", "Bptt()");
    let e = parse(&source).expect_err("overflowing network size");
    assert_mentions(&e, &["episode.steps", "overflows"]);
}

/// Sizes that fit into the integers but not into memory are rejected before anything is
/// allocated, with the estimate and its largest part.
#[test]
fn runs_too_large_for_memory_are_rejected_with_the_estimate() {
    let multi_step = |steps: &str| {
        BASE.replace("steps: 1,", &format!("steps: {steps},"))
            .replace("Sip(inverse: Step(Analytic))", "Bptt()")
    };
    let cases: Vec<(String, &str)> = vec![
        (
            BASE.replace("batch: 10,", "batch: 4000000000,"),
            "training episodes",
        ),
        (
            BASE.replace("test_count: 10)", "test_count: 1000000000)"),
            "held-out scenes",
        ),
        (multi_step("4000000000"), "evaluation rollouts"),
        (
            BASE.replace("hidden: [8]", "hidden: [65536, 65536]"),
            "checkpoint being written",
        ),
    ];
    for (source, largest) in cases {
        let e = parse(&source).expect_err("too large for 8 GiB");
        assert_mentions(
            &e,
            &[
                "bad.ron: the run needs about",
                "more than the limit of 8.0 GiB",
                "--max-memory",
            ],
        );
        let parts = e.split("largest parts: ").nth(1).unwrap_or_default();
        assert!(
            parts.starts_with(largest),
            "largest part of {e:?} should be {largest:?}"
        );
    }
    let e = parse_within(
        &BASE.replace("hidden: [8]", "hidden: [65536, 65536]"),
        &ResourceLimits::default(),
    )
    .expect_err("4.3e9 parameters");
    match e {
        physinv::Error::Scenario(boxed) => match *boxed {
            ScenarioError::TooMuchMemory { exceeded, .. } => {
                assert_eq!(exceeded.limit, DEFAULT_MAX_MEMORY);
                // 4.3e9 parameters: 5 copies of 4 bytes alone are 80 GiB.
                assert!(exceeded.estimate > 80 * GIB, "{}", exceeded.estimate);
                assert!(exceeded.largest[0].0.contains("network.hidden"));
            }
            other => panic!("expected TooMuchMemory, got {other}"),
        },
        other => panic!("expected a scenario error, got {other}"),
    }
}

#[test]
fn memory_ceiling_can_be_raised_and_lowered() {
    let big = BASE.replace("hidden: [8]", "hidden: [4096, 4096]");
    assert!(parse(&big).is_ok(), "17 M parameters fit in 8 GiB");
    let tight = ResourceLimits::with_max_memory_gib(0.5).unwrap();
    let e = parse_within(&big, &tight).unwrap_err().to_string();
    assert_mentions(&e, &["more than the limit of 512.0 MiB"]);
    let huge = BASE.replace("hidden: [8]", "hidden: [65536, 65536]");
    let roomy = ResourceLimits::with_max_memory_gib(1024.0).unwrap();
    assert!(parse_within(&huge, &roomy).is_ok(), "fits in 1 TiB");
}

/// The estimate follows its documented formulas.
#[test]
fn memory_estimate_follows_its_formulas() {
    let scenario = parse(BASE).expect("valid");
    let part = |estimate: &physinv::scenario::limits::MemoryEstimate, what: &str| {
        estimate
            .parts
            .iter()
            .find(|p| p.what == what)
            .unwrap_or_else(|| panic!("no part {what}"))
            .bytes
    };
    // Widths [2, 8, 2]: 2·8 + 8 + 8·2 + 2 = 42 parameters, 5 copies of 4 bytes.
    let estimate = scenario.memory_estimate();
    assert_eq!(
        part(&estimate, "network parameters and optimizer state"),
        5 * 42 * 4
    );
    assert_eq!(
        estimate.total(),
        estimate.parts.iter().map(|p| p.bytes).sum::<u64>()
    );
    // A dense episode inversion holds an n×n Gramian per episode of the batch: n = 4.
    let source = BASE
        .replace(
            r#"(name: "rotating_sine", params: (xi: 32.0, phi_deg: 45.0))"#,
            r#"(name: "anisotropic_point_mass", params: (xi: 32.0, phi_deg: 45.0))"#,
        )
        .replace("steps: 1, observe: [Target]", "steps: 5")
        .replace(
            "target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])",
            "target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])",
        )
        .replace(
            "Sip(inverse: Step(Analytic))",
            "Sip(inverse: Episode(solver: Dense))",
        );
    let scenario = parse(&source).expect("valid");
    assert_eq!(
        part(&scenario.memory_estimate(), "inversion Gramians"),
        10 * 4 * 4 * 8
    );
    // Saturates instead of overflowing.
    let mut spec = scenario.spec.clone();
    spec.training.batch = usize::MAX;
    assert_eq!(estimate_memory(&spec, &scenario.physics).total(), u64::MAX);
}

#[cfg(unix)]
#[test]
fn a_device_as_scenario_file_is_refused_before_it_is_read() {
    let e = Scenario::load("/dev/zero").unwrap_err().to_string();
    assert_mentions(&e, &["/dev/zero", "expected a regular file"]);
}

#[test]
fn oversized_scenario_file_is_rejected_and_one_at_the_limit_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let limit = physinv::scenario::limits::MAX_SCENARIO_FILE_BYTES as usize;
    // The base scenario padded with a comment to exactly the limit, then one byte more.
    let padded = |len: usize| {
        let mut text = format!("{BASE}\n//");
        text.push_str(&"x".repeat(len - text.len()));
        text
    };
    let at = dir.path().join("at.ron");
    std::fs::write(&at, padded(limit)).unwrap();
    Scenario::load(&at).expect("a file of exactly the limit is read");
    let over = dir.path().join("over.ron");
    std::fs::write(&over, padded(limit + 1)).unwrap();
    let e = Scenario::load(&over).unwrap_err().to_string();
    assert_mentions(&e, &["over.ron", "larger than 16.0 MiB"]);
}

#[test]
fn byte_order_mark_is_skipped_and_positions_stay_right() {
    let with_bom = format!("\u{feff}{BASE}");
    parse(&with_bom).expect("a leading byte-order mark is not an error");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.ron");
    std::fs::write(&path, &with_bom).unwrap();
    Scenario::load(&path).expect("a file with a byte-order mark loads");
    // Errors in such a file point where they did without the mark.
    let e = parse(&with_bom.replace("batch: 10,", "batch: 0,")).unwrap_err();
    let plain = error_of("batch: 10,", "batch: 0,");
    assert_eq!(e, plain);
    let e = parse(&with_bom.replace("batch: 10,", "bacth: 10,")).unwrap_err();
    assert_mentions(&e, &["bad.ron:10:", "bacth"]);
}

// ---- Method names ----

#[test]
fn duplicate_method_names_are_rejected_naming_both_positions() {
    let two = |a: &str, b: &str| {
        BASE.replace(
            "        (name: \"SIP\", update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-3)),\n",
            &format!(
                "        (name: {a:?}, update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-3)),\n        (name: {b:?}, update: Bptt(), optimizer: Adam(lr: 1e-3)),\n"
            ),
        )
    };
    let e = parse(&two("SIP", "SIP")).unwrap_err();
    assert_mentions(
        &e,
        &[
            "bad.ron:9:",
            "methods[1].name",
            "methods[0] and methods[1]",
            "'SIP'",
        ],
    );
    // Different names that share a checkpoint file.
    let e = parse(&two("a/b", "a_b")).unwrap_err();
    assert_mentions(
        &e,
        &[
            "methods[1].name",
            "methods[0] 'a/b'",
            "methods[1] 'a_b'",
            "checkpoints/a_b.json",
        ],
    );
    parse(&two("a/b", "a-b")).expect("names that differ in the file name are fine");
    // Derived names: two unnamed Bptt+Adam methods are both `bptt+adam`.
    let unnamed = BASE.replace(
        "        (name: \"SIP\", update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: 1e-3)),\n",
        "        (update: Bptt(), optimizer: Adam(lr: 1e-3)),\n        (update: Bptt(), optimizer: Adam(lr: 1e-2)),\n",
    );
    let e = parse(&unnamed).unwrap_err();
    assert_mentions(
        &e,
        &["methods[1]", "methods[0] and methods[1]", "'bptt+adam'"],
    );
}

/// Scenario names (output directories) and method names (checkpoints) are made file-safe by
/// one rule.
#[test]
fn file_stems_follow_the_checkpoint_rule() {
    use physinv::train::checkpoint::checkpoint_file_name;
    for name in [
        "SIP",
        "a/b",
        "../../x",
        "/abs/path",
        "sip+adam",
        "Ünï code",
        "a b\tc",
        "",
    ] {
        assert_eq!(
            format!("{}.json", file_stem(name)),
            checkpoint_file_name(name)
        );
        let stem = file_stem(name);
        assert!(!stem.contains(['/', '\\', '.']), "{name:?} → {stem:?}");
    }
}

/// Pool scenes are kept once drawn: a batch drawn again (by a clone, which shares the kept
/// scenes), in another order and on two threads, is the same scenes, and each is the scene
/// drawn afresh.
#[test]
fn kept_pool_scenes_are_the_drawn_ones() {
    use physinv::scenes::SceneSampler;
    let scenario = physinv::scenario::Scenario::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/burgers.ron"
    ))
    .expect("scenario loads");
    let sampler = SceneSampler::new(
        scenario.physics.clone(),
        scenario.spec.data.clone(),
        scenario.spec.episode.steps,
    );
    let pool = sampler.pool_indices();
    let indices: Vec<u64> = (0..48).map(|i| pool.start + (i * 7) % 40).collect();
    let first = sampler.scenes(&indices).expect("scenes");
    let reversed: Vec<u64> = indices.iter().rev().copied().collect();
    let two_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let again = two_threads.install(|| sampler.clone().scenes(&reversed).expect("scenes"));
    for (k, scene) in indices.iter().zip(&first) {
        assert_eq!(scene, &sampler.scene(*k).expect("scene"), "scene {k}");
    }
    let again: Vec<_> = again.into_iter().rev().collect();
    assert_eq!(first, again);
}
