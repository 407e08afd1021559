//! The comparison protocol: seeds, grids chosen on validation, intervals, resume; and the
//! simulator work counted per method.

mod common;

use physinv::protocol::{run_protocol, Grid, Interval, Protocol, ProtocolOptions};
use physinv::scenario::Scenario;
use physinv::train::trainer::Silent;
use physinv::train::{Observer, Trainer};
use physinv::Registry;
use std::path::Path;

const SOURCE: &str = r#"(
    name: "protocol",
    simulator: (name: "point_mass"),
    episode: (steps: 5, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 2, scenes: Sampled(initial: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]), target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])), train: Pool(64), test_count: 8, validation_count: 8),
    objective: (force_weight: 0.001),
    network: Mlp(hidden: [8], activation: tanh),
    methods: [
        (name: "SIP", update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3)),
        (name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3)),
    ],
    training: (batch: 8, iterations: 12, log_every: 4, seed: 10),
)"#;

fn parse(text: &str) -> physinv::Result<Scenario> {
    Scenario::parse(text, Path::new("<protocol>"), &Registry::with_builtins())
}

fn run(out: &Path, resume: bool) -> physinv::protocol::ProtocolReport {
    let protocol = Protocol {
        seeds: 3,
        grids: vec![Grid {
            path: "methods[1].optimizer.lr".into(),
            values: vec!["1e-4".into(), "1e-2".into(), "1e-1".into()],
        }],
        methods: None,
    };
    let mut observer = |_: &Scenario| -> Box<dyn Observer> { Box::new(Silent) };
    let mut announce = |_: &str, _: Option<&str>, _: u64| {};
    run_protocol(
        SOURCE,
        &parse,
        &protocol,
        ProtocolOptions {
            out_dir: out.to_path_buf(),
            resume,
            stop: None,
            observer: &mut observer,
            announce: &mut announce,
        },
    )
    .expect("protocol")
}

/// Every (method, value, seed) runs once with seeds training.seed + k; each method's value is
/// the one of least geometric-mean validation loss; its test metrics are summarised over its
/// seeds; resuming reads the finished runs back with the same numbers and work.
#[test]
fn protocol_chooses_on_validation_and_summarises_over_seeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = run(dir.path(), false);
    assert_eq!(
        report.runs.len(),
        3 + 3 * 3,
        "SIP: 3 seeds; BPTT: 3 values × 3 seeds"
    );
    let seeds: Vec<u64> = report.runs[..3].iter().map(|r| r.seed).collect();
    assert_eq!(seeds, vec![10, 11, 12]);
    let bptt = &report.choices[1];
    let best = bptt
        .grid
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("grid");
    assert_eq!(bptt.value.as_deref(), Some(best.0.as_str()));
    assert_eq!(bptt.on_edge, bptt.value.as_deref() != Some("1e-2"));
    let chosen: Vec<f64> = report
        .runs
        .iter()
        .filter(|r| r.method == "BPTT" && r.value == bptt.value)
        .map(|r| r.test.get("loss").expect("loss"))
        .collect();
    let loss = &bptt.test.iter().find(|(n, _)| n == "loss").expect("loss").1;
    assert_eq!(*loss, Interval::of(&chosen));
    assert!(loss.low < loss.mean && loss.mean < loss.high);
    assert!(dir.path().join("protocol.json").exists());
    assert!(dir.path().join("protocol.csv").exists());
    assert!(report.choices[0]
        .work
        .iter()
        .any(|(n, v)| n == "sim_jvps" && *v > 0.0));

    let again = run(dir.path(), true);
    for (a, b) in report.runs.iter().zip(&again.runs) {
        assert_eq!(a.test, b.test, "{} {:?} {}", a.method, a.value, a.seed);
        assert_eq!(a.work, b.work);
        assert_eq!(a.iterations, b.iterations);
    }
}

/// Two grids of one method run as their product, each combination labelled by its values;
/// a choice on the edge of either grid is reported, naming that grid.
#[test]
fn grids_of_one_method_run_as_their_product() {
    let dir = tempfile::tempdir().expect("tempdir");
    let protocol = Protocol {
        seeds: 1,
        grids: vec![
            Grid {
                path: "methods[0].optimizer.lr".into(),
                values: vec!["1e-3".into(), "1e-2".into()],
            },
            Grid {
                path: "methods[0].update.inverse.damping".into(),
                values: vec!["0.0".into(), "0.1".into(), "1.0".into()],
            },
        ],
        methods: Some(vec!["SIP".into()]),
    };
    let mut observer = |_: &Scenario| -> Box<dyn Observer> { Box::new(Silent) };
    let mut announce = |_: &str, _: Option<&str>, _: u64| {};
    // A grid's field must be written in the file.
    let source = SOURCE.replace("Episode()", "Episode(damping: 0.0)");
    let report = run_protocol(
        &source,
        &parse,
        &protocol,
        ProtocolOptions {
            out_dir: dir.path().to_path_buf(),
            resume: false,
            stop: None,
            observer: &mut observer,
            announce: &mut announce,
        },
    )
    .expect("protocol");
    let values: Vec<&str> = report
        .runs
        .iter()
        .map(|r| r.value.as_deref().expect("a value"))
        .collect();
    assert_eq!(
        values,
        [
            "1e-3 | 0.0",
            "1e-3 | 0.1",
            "1e-3 | 1.0",
            "1e-2 | 0.0",
            "1e-2 | 0.1",
            "1e-2 | 1.0"
        ]
    );
    let choice = &report.choices[0];
    assert_eq!(
        choice.path.as_deref(),
        Some("methods[0].optimizer.lr × methods[0].update.inverse.damping")
    );
    assert_eq!(choice.grid.len(), 6);
    // The learning-rate grid has two values, so any choice lies on its edge.
    assert!(choice.on_edge);
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("methods[0].optimizer.lr")));
    // Different combinations train differently.
    let losses: Vec<f64> = report
        .runs
        .iter()
        .map(|r| r.test.get("loss").expect("loss"))
        .collect();
    assert!(losses.windows(2).any(|w| w[0] != w[1]), "{losses:?}");
}

/// BPTT's work is counted exactly: per iteration a rollout of `batch × T` steps and an adjoint
/// sweep of as many VJPs, nothing else; evaluations are not counted.
#[test]
fn simulator_work_is_counted_per_method() {
    let scenario = parse(SOURCE).expect("scenario");
    let trainer = Trainer::new(&scenario).expect("trainer");
    let outcome = trainer.train(1, &mut Silent).expect("training");
    let per_run = (12 * 8 * 5) as f64;
    assert_eq!(outcome.work.get("sim_steps"), Some(per_run));
    assert_eq!(outcome.work.get("sim_vjps"), Some(per_run));
    assert_eq!(outcome.work.get("sim_jvps"), Some(0.0));
    let sip = trainer.train(0, &mut Silent).expect("training");
    assert!(
        sip.work.get("sim_jvps").expect("jvps") > 0.0,
        "SIP's inversions use JVPs"
    );
}
