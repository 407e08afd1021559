//! The `physinv` binary end to end, on tiny scenarios written into temporary directories:
//! help texts, train/resume/compare/sweep/eval/validate/check-grad/plot, and their errors.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Rotating sine at ξ = 4, φ = 10°: one step, two methods, 20 iterations of batch 16.
const SINE: &str = r#"// tiny rotating-sine scenario for the CLI tests
(
    name: "cli_sine",
    simulator: (name: "rotating_sine", params: (xi: 4.0, phi_deg: 10.0)),
    episode: (steps: 1, observe: [Target]),
    data: (
        seed: 1,
        scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])),
        test_count: 32,
    ),
    network: Mlp(hidden: [8], activation: relu),
    methods: [
        (name: "SIP", update: Sip(inverse: Step(SaddleFreeNewton())), optimizer: Adam(lr: 1e-3)),
        (name: "Adam", update: Bptt(), optimizer: Adam(lr: 1e-3)),
    ],
    training: (batch: 16, iterations: 20, log_every: 10, seed: 0),
)
"#;

/// Coupled oscillators, four steps, open loop, a small pool.
const OSCILLATORS: &str = r#"(
    name: "cli_oscillators",
    simulator: (name: "oscillators", params: (dt: 0.5, coupling: 0.2)),
    episode: (steps: 4, policy: OpenLoop),
    data: (
        seed: 4,
        scenes: Sampled(initial: Uniform(low: [0.0, 0.0, 0.0, 0.0], high: [1.0, 1.0, 1.0, 1.0]), target: Initial),
        train: Pool(32),
        test_count: 16,
    ),
    network: Mlp(hidden: [8], activation: tanh),
    methods: [
        (name: "SIP", update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3)),
        (name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3)),
    ],
    training: (batch: 8, iterations: 6, log_every: 3, seed: 0),
)
"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        env.write("sine.ron", SINE);
        env.write("oscillators.ron", OSCILLATORS);
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write scenario");
        path
    }

    /// Runs the binary in the temporary directory (single-threaded: tests run in parallel).
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.dir.path(), &[&["--threads", "1"], args].concat())
    }

    /// Runs the binary in `dir` with exactly `args`.
    fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_physinv"))
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run physinv")
    }

    /// Runs and asserts success; returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "physinv {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and asserts failure with exit code 1; returns standard error.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "physinv {args:?} should fail with code 1; stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// `(method, metrics object)` of every run in a summary.json.
fn final_metrics(summary: &Value) -> Vec<(String, Value)> {
    summary["runs"]
        .as_array()
        .expect("runs array")
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["metrics"].clone(),
            )
        })
        .collect()
}

#[test]
fn help_of_every_subcommand_mentions_its_options() {
    let env = Env::new();
    let cases: &[(&str, &[&str])] = &[
        (
            "train",
            &[
                "--method",
                "--out",
                "--iterations",
                "--budget",
                "--seed",
                "--checkpoint-every",
                "--resume",
                "--quiet",
                "--threads",
                "--max-memory",
            ],
        ),
        (
            "compare",
            &[
                "--out",
                "--iterations",
                "--budget",
                "--seed",
                "--quiet",
                "--max-memory",
            ],
        ),
        (
            "sweep",
            &[
                "--param",
                "--out",
                "--iterations",
                "--budget",
                "--metric",
                "--max-memory",
            ],
        ),
        ("eval", &["--checkpoint"]),
        ("validate", &["SCENARIO.ron"]),
        ("check-grad", &["--samples", "--seed", "--tolerance"]),
        ("plot", &["RUN_DIR"]),
        ("export", &["RUN_DIR|CHECKPOINT", "--scenario", "--out"]),
    ];
    let top = env.ok(&["--help"]);
    for (command, options) in cases {
        assert!(top.contains(command), "top-level help lacks {command}");
        let help = env.ok(&[command, "--help"]);
        for option in *options {
            assert!(
                help.contains(option),
                "`{command} --help` does not mention {option}:\n{help}"
            );
        }
    }
}

#[test]
fn usage_errors_exit_with_code_2() {
    let env = Env::new();
    for args in [
        &["train", "sine.ron", "--iterations", "0"][..],
        &["train", "sine.ron", "--iterations", "5", "--budget", "1"],
        &["frobnicate"],
        &["sweep", "sine.ron"],
    ] {
        assert_eq!(env.run(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn train_writes_metrics_and_summary() {
    let env = Env::new();
    let table = env.ok(&["train", "sine.ron", "--out", "run", "--quiet"]);
    assert!(table.contains("SIP") && table.contains("Adam"), "{table}");
    let csv = std::fs::read_to_string(env.path("run/metrics.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("method,split,iteration,wall_s,loss,final_error"));
    assert!(header.contains("grad_norm"), "{header}");
    let split_rows = |split: &str| {
        csv.lines()
            .skip(1)
            .filter(|l| l.split(',').nth(1) == Some(split))
            .count()
    };
    // Curves on the validation scenes at iterations 0, 10, 20 for both methods; one test row
    // each for the network validation chose, and one for the last network where it differs.
    assert_eq!(split_rows("validation"), 2 * 3);
    assert_eq!(split_rows("test"), 2);
    assert!(split_rows("test_last") <= 2);
    assert_eq!(csv.lines().count(), 1 + 6 + 2 + split_rows("test_last"));
    let summary = read_json(&env.path("run/summary.json"));
    assert_eq!(summary["scenario"], "cli_sine");
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert!(run["method"].is_string());
        assert_eq!(run["iterations"], 20);
        assert!(run["wall_s"].as_f64().unwrap() >= 0.0);
        for key in ["loss", "final_error", "x_dist"] {
            assert!(run["metrics"][key].is_f64(), "metrics lack {key}: {run}");
        }
    }
    // --method selects, --seed overrides.
    env.ok(&[
        "train", "sine.ron", "--out", "one", "--method", "Adam", "--seed", "3", "-q",
    ]);
    let one = read_json(&env.path("one/summary.json"));
    assert_eq!(final_metrics(&one).len(), 1);
    assert_eq!(one["runs"][0]["method"], "Adam");
    let err = env.fails(&["train", "sine.ron", "--out", "x", "--method", "Nope"]);
    assert!(
        err.contains("no method 'Nope'") && err.contains("SIP, Adam"),
        "{err}"
    );
}

#[test]
fn resumed_training_equals_uninterrupted_training() {
    let env = Env::new();
    env.ok(&[
        "train",
        "sine.ron",
        "--out",
        "a",
        "--iterations",
        "40",
        "-q",
    ]);
    env.ok(&[
        "train",
        "sine.ron",
        "--out",
        "b",
        "--iterations",
        "20",
        "--checkpoint-every",
        "10",
        "-q",
    ]);
    assert!(env.path("b/checkpoints/SIP.json").is_file());
    assert!(env.path("b/checkpoints/Adam.json").is_file());
    env.ok(&[
        "train",
        "sine.ron",
        "--resume",
        "b",
        "--iterations",
        "40",
        "-q",
    ]);
    let a = read_json(&env.path("a/summary.json"));
    let b = read_json(&env.path("b/summary.json"));
    for run in b["runs"].as_array().unwrap() {
        assert_eq!(run["iterations"], 40);
    }
    // Exact equality is the point: resuming must reproduce every bit.
    assert_eq!(final_metrics(&a), final_metrics(&b));
    let csv_a = std::fs::read_to_string(env.path("a/metrics.csv")).unwrap();
    let csv_b = std::fs::read_to_string(env.path("b/metrics.csv")).unwrap();
    assert_eq!(csv_a.lines().count(), csv_b.lines().count());
}

#[test]
fn corrupted_checkpoint_fails_resume_and_is_left_alone() {
    let env = Env::new();
    env.ok(&[
        "train",
        "sine.ron",
        "--out",
        "b",
        "--iterations",
        "10",
        "-q",
    ]);
    let path = env.path("b/checkpoints/Adam.json");
    let broken = b"{\"format\": \"physinv-checkpoint-1\", \"parameters\": [1, 2";
    std::fs::write(&path, broken).unwrap();
    let sip_before = std::fs::read(env.path("b/checkpoints/SIP.json")).unwrap();
    let err = env.fails(&["train", "sine.ron", "--resume", "b", "--iterations", "20"]);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("Adam.json") && err.contains("not a valid checkpoint"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), broken);
    // Checked before any training: the intact checkpoint was not advanced either.
    assert_eq!(
        std::fs::read(env.path("b/checkpoints/SIP.json")).unwrap(),
        sip_before
    );
    let err = env.fails(&["train", "sine.ron", "--resume", "nowhere"]);
    assert!(err.contains("no checkpoints/ directory"), "{err}");
}

#[test]
fn validate_reports_bad_files_with_position() {
    let env = Env::new();
    env.write("bad.ron", &SINE.replace("iterations: 20", "iterations: 0"));
    let err = env.fails(&["validate", "bad.ron"]);
    assert!(err.contains("bad.ron:16:"), "{err}");
    assert!(err.contains("training.iterations"), "{err}");
    env.write(
        "typo.ron",
        &SINE.replace("batch: 16", "batch: 16, bacth: 2"),
    );
    let err = env.fails(&["validate", "typo.ron"]);
    assert!(err.contains("typo.ron:16:"), "{err}");
    assert!(err.contains("bacth"), "{err}");
    let err = env.fails(&["validate", "missing.ron"]);
    assert!(err.contains("missing.ron"), "{err}");
}

#[test]
fn validate_prints_the_resolved_configuration() {
    let env = Env::new();
    let out = env.ok(&["validate", "sine.ron"]);
    for expected in [
        "cli_sine",
        "rotating_sine",
        "state dim n = 2, control dim m = 2",
        "jvp, vjp, control inverse",
        "Mlp(hidden:[8],activation:relu,output_activation:identity), 2 inputs → 2 outputs",
        "SIP",
        "Adam",
        "batch 16, 20 iterations",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let out = env.ok(&["validate", "oscillators.ron"]);
    assert!(out.contains("8 inputs → 4 outputs"), "{out}");
    assert!(out.contains("open loop"), "{out}");
}

#[test]
fn check_grad_passes_on_sine_and_oscillators() {
    let env = Env::new();
    for scenario in ["sine.ron", "oscillators.ron"] {
        let out = env.ok(&["check-grad", scenario, "--samples", "4"]);
        assert_eq!(out.matches(" ok").count(), 4, "{out}");
        assert!(!out.contains("FAIL"), "{out}");
    }
    // An impossible tolerance makes it fail with exit code 1.
    let err = env.fails(&[
        "check-grad",
        "sine.ron",
        "--samples",
        "2",
        "--tolerance",
        "1e-300",
    ]);
    assert!(err.contains("gradient check failed"), "{err}");
}

#[test]
fn eval_prints_metrics_of_a_checkpoint() {
    let env = Env::new();
    env.ok(&["train", "sine.ron", "--out", "r", "--method", "SIP", "-q"]);
    let out = env.ok(&["eval", "sine.ron", "--checkpoint", "r/checkpoints/SIP.json"]);
    for metric in ["loss", "final_error", "x_dist"] {
        assert!(out.contains(metric), "{out}");
    }
    // The same numbers as the run's own final evaluation.
    let summary = read_json(&env.path("r/summary.json"));
    let loss = summary["runs"][0]["metrics"]["loss"].as_f64().unwrap();
    assert!(out.contains(&format!("{loss:.6e}")), "{out} vs {loss}");
    let err = env.fails(&["eval", "sine.ron", "--checkpoint", "sine.ron"]);
    assert!(
        err.contains("neither a checkpoint nor a network file"),
        "{err}"
    );
    let err = env.fails(&[
        "eval",
        "oscillators.ron",
        "--checkpoint",
        "r/checkpoints/SIP.json",
    ]);
    assert!(err.contains("trained on simulator"), "{err}");
}

#[test]
fn sweep_writes_one_row_per_value_and_method() {
    let env = Env::new();
    let table = env.ok(&[
        "sweep",
        "sine.ron",
        "--param",
        "simulator.params.xi=2,4",
        "--out",
        "s",
        "--iterations",
        "10",
        "-q",
    ]);
    assert!(table.contains("simulator.params.xi"), "{table}");
    let csv = std::fs::read_to_string(env.path("s/sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("simulator.params.xi,method,loss,final_error"));
    assert_eq!(lines.len(), 1 + 2 * 2, "{csv}");
    for prefix in ["2,SIP,", "2,Adam,", "4,SIP,", "4,Adam,"] {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix)),
            "{prefix} in {csv}"
        );
    }
    assert!(env.path("s/simulator.params.xi=2/summary.json").is_file());
    assert!(env.path("s/simulator.params.xi=4/summary.json").is_file());
    let err = env.fails(&["sweep", "sine.ron", "--param", "simulator.params.gamma=1,2"]);
    assert!(err.contains("simulator.params.gamma"), "{err}");
    let err = env.fails(&["sweep", "sine.ron", "--param", "simulator.params.xi=-1"]);
    assert!(
        err.contains("sine.ron:") && err.contains("simulator.params.xi"),
        "{err}"
    );
}

#[test]
fn compare_runs_every_method_and_plot_redraws() {
    let env = Env::new();
    let table = env.ok(&[
        "compare",
        "oscillators.ron",
        "--out",
        "c",
        "--seed",
        "1",
        "-q",
    ]);
    assert!(table.contains("SIP") && table.contains("BPTT"), "{table}");
    let summary = read_json(&env.path("c/summary.json"));
    assert_eq!(final_metrics(&summary).len(), 2);
    for figure in [
        "loss_vs_time.png",
        "final_error_vs_iteration.svg",
        "episodes_SIP.png",
        "episodes_BPTT.svg",
    ] {
        let path = env.path("c").join(figure);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} missing or empty", path.display());
    }
    env.ok(&["plot", "c"]);
    let err = env.fails(&["plot", "nowhere"]);
    assert!(err.contains("nowhere"), "{err}");
}

/// `validate` and `check-grad` succeed on every scenario shipped in `scenarios/`, and a short
/// `train` (a few iterations, tiny batch) runs on each of them.
/// `--set` edits that shrink a shipped field scenario (64² grids, a 4-level U-Net, batch 128)
/// to a size a debug build trains in seconds; the file itself is what users run.
fn small_grid(stem: &str) -> Vec<&'static str> {
    match stem {
        "heat2d" | "poisson2d" => vec![
            "simulator.params.cells=16",
            "network.levels=2",
            "network.filters=4",
            "training.batch=4",
            "data.test_count=4",
            "data.validation_count=4",
        ],
        "heat2d_control" => vec![
            "simulator.params.cells=8",
            "network.filters=4",
            "training.batch=4",
            "data.test_count=4",
            "data.validation_count=4",
        ],
        _ => vec![],
    }
}

#[test]
fn every_shipped_scenario_validates_checks_and_trains() {
    let env = Env::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(&root).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "ron") {
            continue;
        }
        let file = path.to_str().expect("utf-8 path");
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let small = small_grid(stem);
        let out_dir = format!("short-{stem}");
        for mut args in [
            vec!["validate", file],
            vec!["check-grad", file, "--samples", "2"],
            vec![
                "train",
                file,
                "--iterations",
                "2",
                "--out",
                &out_dir,
                "--quiet",
            ],
        ] {
            args.extend(small.iter().flat_map(|set| ["--set", set]));
            let out = env.run(&args);
            assert!(
                out.status.success(),
                "{args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The figure follows the layout: reconstructions for a single prediction of a 2D
        // field, frames and an animation for 2D episodes.
        let figures: &[&str] = match stem {
            "heat2d" | "poisson2d" => &["reconstructions_SIP.png", "reconstructions_Adam.png"],
            "heat2d_control" => &["frames_SIP_scene0.png", "episode_BPTT_scene2.gif"],
            _ => &[],
        };
        for figure in figures {
            let path = env.dir.path().join(&out_dir).join(figure);
            assert!(path.is_file(), "{stem}: no {}", path.display());
        }
        count += 1;
    }
    assert!(
        count >= 9,
        "expected the nine shipped scenarios, found {count}"
    );
}

#[test]
fn thread_count_beyond_the_cap_is_a_usage_error() {
    let env = Env::new();
    for threads in ["100000000", "1025", "0"] {
        let out = env.run_in(
            env.dir.path(),
            &["--threads", threads, "validate", "sine.ron"],
        );
        assert_eq!(out.status.code(), Some(2), "--threads {threads}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--threads"), "{err}");
    }
    let out = env.run_in(
        env.dir.path(),
        &["--threads", "1024", "validate", "-q", "sine.ron"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--max-memory` sets the ceiling the estimate is checked against, before any training, for
/// every training command.
#[test]
fn max_memory_sets_the_ceiling_of_every_training_command() {
    let env = Env::new();
    let tiny = ["--max-memory", "0.00001"];
    for command in [
        &["train", "sine.ron", "--out", "t"][..],
        &["compare", "sine.ron", "--out", "c"],
        &[
            "sweep",
            "sine.ron",
            "--param",
            "training.batch=4,8",
            "--out",
            "s",
        ],
    ] {
        let err = env.fails(&[command, &tiny].concat());
        assert!(
            err.contains("more than the limit of 10.5 KiB") && err.contains("largest parts"),
            "{command:?}: {err}"
        );
        assert!(
            !env.path(command[command.len() - 1]).exists(),
            "{command:?} wrote output"
        );
    }
    for bad in ["0", "-1", "lots", "1e9"] {
        let out = env.run(&["train", "sine.ron", "--max-memory", bad]);
        assert_eq!(out.status.code(), Some(2), "--max-memory {bad}");
    }
    env.ok(&[
        "train",
        "sine.ron",
        "--out",
        "t",
        "--iterations",
        "1",
        "--max-memory",
        "1",
        "-q",
    ]);
}

#[cfg(unix)]
#[test]
fn a_device_as_scenario_file_is_a_clear_error() {
    let env = Env::new();
    // A device is refused before it is read (tests/scenario.rs: a file over the limit).
    let err = env.fails(&["validate", "/dev/zero"]);
    assert!(
        err.contains("/dev/zero") && err.contains("expected a regular file"),
        "{err}"
    );
}

#[test]
fn scenario_file_with_a_byte_order_mark_trains() {
    let env = Env::new();
    env.write("bom.ron", &format!("\u{feff}{SINE}"));
    env.ok(&["validate", "-q", "bom.ron"]);
    env.ok(&[
        "train",
        "bom.ron",
        "--iterations",
        "1",
        "--out",
        "bom",
        "-q",
    ]);
    assert!(env.path("bom/summary.json").is_file());
}

/// A scenario name that is a relative or absolute path names one directory under `runs/`
/// (made file-safe like method names), never a place outside it.
#[test]
fn default_output_of_a_path_like_scenario_name_stays_inside_runs() {
    let env = Env::new();
    let cwd = env.path("a/b");
    std::fs::create_dir_all(&cwd).unwrap();
    for (name, dir) in [("../../x", "______x"), ("/abs/path", "_abs_path")] {
        let text = SINE.replace("name: \"cli_sine\"", &format!("name: {name:?}"));
        std::fs::write(cwd.join("s.ron"), text).unwrap();
        let out = env.run_in(
            &cwd,
            &[
                "--threads",
                "1",
                "train",
                "s.ron",
                "--iterations",
                "1",
                "-q",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let runs: Vec<PathBuf> = std::fs::read_dir(cwd.join("runs").join(dir))
            .unwrap_or_else(|e| panic!("{name:?} should write into runs/{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert!(runs[0].join("summary.json").is_file());
    }
    assert!(!env.path("x").exists(), "../../x escaped runs/");
}

/// Default directories carry milliseconds, and a run never reuses an existing one.
#[test]
fn default_runs_get_distinct_directories() {
    let env = Env::new();
    for _ in 0..2 {
        env.ok(&[
            "train",
            "sine.ron",
            "--iterations",
            "1",
            "--method",
            "Adam",
            "-q",
        ]);
    }
    let mut dirs: Vec<String> = std::fs::read_dir(env.path("runs/cli_sine"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        // YYYYMMDD-HHMMSS.mmm, possibly with a -N suffix.
        let (stamp, millis) = dir.split_once('.').unwrap_or_else(|| panic!("{dir}"));
        assert_eq!(stamp.len(), 15, "{dir}");
        assert!(millis[..3].chars().all(|c| c.is_ascii_digit()), "{dir}");
        assert!(env
            .path("runs/cli_sine")
            .join(dir)
            .join("summary.json")
            .is_file());
    }
}

/// Writes `long.ron`, the sine scenario training for 60 s, and returns the arguments that
/// train it quietly on one thread into `run/`.
fn long_run(env: &Env) -> [&'static str; 7] {
    let long = SINE.replace(
        "training: (batch: 16, iterations: 20, log_every: 10, seed: 0)",
        "training: (batch: 16, iterations: 100000000, budget_s: 60.0, log_every: 10, seed: 0)",
    );
    env.write("long.ron", &long);
    [
        "--threads",
        "1",
        "--quiet",
        "train",
        "long.ron",
        "--out",
        "run",
    ]
}

/// SIGTERM or SIGINT during training writes a checkpoint and the partial results, and exits
/// non-zero; the log holds only the evaluations an uninterrupted run makes (every
/// `log_every`, none at the stop), so the resumed run can equal an uninterrupted one.
#[test]
fn a_signal_writes_a_checkpoint_and_exits_non_zero() {
    for signal in ["-TERM", "-INT"] {
        let env = Env::new();
        let child = Command::new(env!("CARGO_BIN_EXE_physinv"))
            .current_dir(env.dir.path())
            .args(long_run(&env))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn physinv");
        // Wait until training has certainly started (the run directory's lock exists).
        let lock = env.path("run/.lock");
        for _ in 0..200 {
            if lock.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let killed = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{signal}: {stderr}");
        let checkpoint = read_json(&env.path("run/checkpoints/SIP.json"));
        assert_eq!(checkpoint["finished"], false);
        let table = physinv::plot::MetricsTable::read(&env.path("run/metrics.csv")).expect("csv");
        let curve: Vec<usize> = table
            .rows
            .iter()
            .filter(|r| r.split == "validation")
            .map(|r| r.iteration)
            .collect();
        assert!(
            curve.iter().all(|i| i % 10 == 0),
            "{signal}: an evaluation at the stop iteration: {curve:?}"
        );
    }
}

/// An operating-system error is printed once, not once per level of the error chain.
#[test]
fn os_errors_are_printed_once() {
    let env = Env::new();
    let stderr = env.fails(&["train", "missing.ron"]);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("missing.ron"), "{stderr}");
}

/// Training method subsets one after another into one directory adds up their results.
#[test]
fn method_subsets_into_one_directory_merge() {
    let env = Env::new();
    env.ok(&[
        "train", "sine.ron", "--method", "SIP", "--out", "run", "--quiet",
    ]);
    env.ok(&[
        "train", "sine.ron", "--method", "Adam", "--out", "run", "--quiet",
    ]);
    let table = physinv::plot::MetricsTable::read(&env.path("run/metrics.csv")).expect("csv");
    assert_eq!(table.methods(), ["SIP", "Adam"]);
    let summary = read_json(&env.path("run/summary.json"));
    let methods: Vec<&str> = summary["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["SIP", "Adam"]);
    // Training SIP again replaces its rows instead of adding a second copy.
    env.ok(&[
        "train", "sine.ron", "--method", "SIP", "--out", "run", "--quiet",
    ]);
    let again = physinv::plot::MetricsTable::read(&env.path("run/metrics.csv")).expect("csv");
    assert_eq!(again.rows.len(), table.rows.len());
}

/// Waits up to `seconds` for `child`; kills it and fails if it is still running (a hang).
fn finishes_within(mut child: std::process::Child, seconds: u64, what: &str) -> Output {
    let start = std::time::Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if start.elapsed().as_secs() >= seconds {
            let _ = child.kill();
            panic!("{what} did not finish within {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// GNU `timeout` signals the process and its group: one request arriving as two SIGTERMs is
/// one stop, which writes the checkpoint (the second signal used to exit at once, losing it).
#[test]
fn timeout_stops_a_run_with_a_checkpoint() {
    if Command::new("timeout").arg("--version").output().is_err() {
        eprintln!("no `timeout` command here: not tested");
        return;
    }
    let env = Env::new();
    let child = Command::new("timeout")
        .current_dir(env.dir.path())
        .args(["-s", "TERM", "3"])
        .arg(env!("CARGO_BIN_EXE_physinv"))
        .args(long_run(&env))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn timeout");
    let out = finishes_within(child, 30, "physinv under timeout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "timeout's status: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let checkpoint = read_json(&env.path("run/checkpoints/SIP.json"));
    assert_eq!(checkpoint["finished"], false);
    env.ok(&[
        "train",
        "long.ron",
        "--resume",
        "run",
        "--iterations",
        "30",
        "-q",
    ]);
}

/// Reading a FIFO would block until a writer comes: it is refused at once.
#[test]
fn a_fifo_is_refused_not_waited_for() {
    let env = Env::new();
    let fifo = env.path("pipe.ron");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no `mkfifo` here: not tested");
        return;
    }
    for args in [
        vec!["validate", "pipe.ron"],
        vec!["eval", "sine.ron", "--checkpoint", "pipe.ron"],
    ] {
        let child = Command::new(env!("CARGO_BIN_EXE_physinv"))
            .current_dir(env.dir.path())
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn physinv");
        let out = finishes_within(child, 20, "physinv on a FIFO");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("FIFO"), "{args:?}: {stderr}");
    }
    let err = env.fails(&["eval", "sine.ron", "--checkpoint", "/dev/zero"]);
    assert!(err.contains("regular file"), "{err}");
}

/// Two sweep values whose directory names coincide are refused before anything trains.
#[test]
fn sweep_values_sharing_a_directory_are_refused() {
    let env = Env::new();
    let err = env.fails(&[
        "sweep",
        "sine.ron",
        "--param",
        r#"methods[0].name="a b","a/b""#,
        "--out",
        "s",
    ]);
    assert!(err.contains("one directory"), "{err}");
    assert!(!env.path("s").exists(), "nothing ran");
}

/// A checkpoint proves it is intact: a changed digit, a missing checksum and a missing
/// fingerprint are each refused, naming which.
#[test]
fn a_changed_checkpoint_is_refused() {
    let env = Env::new();
    env.ok(&["train", "sine.ron", "--out", "r", "--method", "SIP", "-q"]);
    let path = env.path("r/checkpoints/SIP.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    let edit = |json: &Value| {
        std::fs::write(&path, serde_json::to_vec(json).unwrap()).unwrap();
        env.fails(&["eval", "sine.ron", "--checkpoint", "r/checkpoints/SIP.json"])
    };
    json["iteration"] = Value::from(1000);
    let err = edit(&json);
    assert!(err.contains("does not match its checksum"), "{err}");
    json["iteration"] = Value::from(20);
    json.as_object_mut().unwrap().remove("checksum");
    let err = edit(&json);
    assert!(err.contains("no checksum"), "{err}");
    // The original file is accepted again.
    std::fs::write(&path, &text).unwrap();
    env.ok(&["eval", "sine.ron", "--checkpoint", "r/checkpoints/SIP.json"]);
}

/// A point mass and the anisotropic one have networks of the same shape: evaluating one's
/// checkpoint on the other is refused, and a changed parameter of the same simulator is
/// evaluated with a warning.
#[test]
fn eval_names_a_checkpoint_of_another_system() {
    let env = Env::new();
    let scenario = |simulator: &str| {
        format!(
            r#"(
    name: "pm",
    simulator: {simulator},
    episode: (steps: 4),
    data: (seed: 1, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])), test_count: 8, validation_count: 0),
    network: Mlp(hidden: [4], activation: tanh),
    methods: [(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 4, iterations: 2, log_every: 1),
)"#
        )
    };
    env.write("pm.ron", &scenario(r#"(name: "point_mass")"#));
    env.write(
        "pm_drag.ron",
        &scenario(r#"(name: "point_mass", params: (drag: 0.9))"#),
    );
    env.write(
        "aniso.ron",
        &scenario(r#"(name: "anisotropic_point_mass")"#),
    );
    env.ok(&["train", "pm.ron", "--out", "r", "-q"]);
    let err = env.fails(&[
        "eval",
        "aniso.ron",
        "--checkpoint",
        "r/checkpoints/BPTT.json",
    ]);
    assert!(err.contains("trained on simulator"), "{err}");
    let out = env.run(&[
        "-q",
        "eval",
        "pm_drag.ron",
        "--checkpoint",
        "r/checkpoints/BPTT.json",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: trained with `simulator`") && stderr.contains("drag"),
        "{stderr}"
    );
}

#[test]
fn set_edits_the_scenario_before_it_is_read() {
    let env = Env::new();
    let dir = env.dir.path();
    let out = env.run_in(
        dir,
        &[
            "validate",
            "sine.ron",
            "--set",
            "training.batch=7",
            "--set",
            "methods[0].optimizer.lr=0.25",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("batch 7"), "{text}");
    assert!(text.contains("lr:0.25"), "{text}");
    for (set, expected) in [
        ("training.nope=1", "no `training.nope`"),
        ("training.batch", "expected PATH=VALUE"),
        ("training.batch=0", "batch"),
    ] {
        let out = env.run_in(dir, &["check-grad", "sine.ron", "--set", set]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} was accepted");
        assert!(err.contains(expected), "--set {set}: {err}");
    }
}
