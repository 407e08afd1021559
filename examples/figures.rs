//! Example 5: regenerate the seed's comparison figures (docs/method.md §3).
//!
//! ```text
//! cargo run --release --example figures [-- --out DIR] [--only JOB]...
//! ```
//!
//! Runs, in order: the rotating sine at ξ = 1 and ξ = 32 (φ = 45°, every method's loss and
//! `x_dist` over time), the ξ sweep at φ = 0 (`x_dist/ξ`), the φ sweep at ξ = 32 (`x_dist`),
//! the control conditioning study (ξ and φ sweeps of `scenarios/conditioning.ron`, the best
//! learning rate of each method chosen on the validation scenes, ≈25 minutes), the closed-loop
//! point mass, pendulum and `heat1d`, the oscillators and Burgers (SIP against BPTT, plus the
//! episode plots and Burgers space-time heatmaps every run draws). Each run's files go to
//! `DIR/<job>/` (default `runs/figures/`); the figures shown in docs/results.md are copied to
//! `examples/figures/`. `--only` (repeatable) runs just the named jobs: `sine`, `sweeps`,
//! `conditioning`, `control`, `oscillators`, `burgers`.

use anyhow::Context as _;
use physinv::output::ConsoleObserver;
use physinv::plot::{plot_sweep, SweepPoint};
use physinv::run::{run_scenario, RunOptions, RunReport};
use physinv::scenario::ron_path::replace_value;
use physinv::scenario::Scenario;
use physinv::Registry;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the figures of docs/results.md live.
const README_FIGURES: &str = "examples/figures";
/// Iterations per method and value in the sweeps.
const SWEEP_ITERATIONS: &str = "3000";

fn load(path: &str, edits: &[(&str, String)]) -> anyhow::Result<Scenario> {
    let mut source = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    for (field, value) in edits {
        source =
            replace_value(&source, field, value).with_context(|| format!("{path}: {field}"))?;
    }
    Ok(Scenario::parse(
        &source,
        Path::new(path),
        &Registry::with_builtins(),
    )?)
}

fn run(scenario: &Scenario, dir: &Path) -> anyhow::Result<RunReport> {
    let mut observer = ConsoleObserver {
        main_metric: Some(scenario.main_metric()),
    };
    let options = RunOptions {
        out_dir: Some(dir.to_path_buf()),
        ..RunOptions::default()
    };
    let report = run_scenario(scenario, &options, &mut observer)?;
    println!("{}", report.table);
    Ok(report)
}

fn publish(from: &Path, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(README_FIGURES)?;
    let to = Path::new(README_FIGURES).join(name);
    std::fs::copy(from, &to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// One swept parameter of a scenario file.
struct Sweep<'a> {
    /// Scenario file.
    file: &'a str,
    /// Job name: output sub-directory and figure name in docs/results.md.
    job: &'a str,
    /// Dotted path of the swept field.
    field: &'a str,
    /// Its values.
    values: &'a [f64],
    /// Metric plotted (test value of the chosen network).
    metric: &'a str,
    /// Edits applied at every value.
    fixed: Vec<(&'a str, String)>,
    /// Further edits per value.
    per_value: &'a dyn Fn(f64) -> Vec<(&'a str, String)>,
    /// Plot only the best of each family of methods (name up to the first `-`, e.g. the
    /// learning-rate arms `BPTT-1e-3`, `BPTT-1e-2`), chosen on the validation scenes.
    best_of_family: bool,
}

/// The method to plot for each family: the lowest validation `metric`.
fn best_of_families(report: &RunReport, metric: &str) -> Vec<(String, f64)> {
    let mut best: Vec<(String, f64, f64)> = Vec::new();
    for o in &report.outcomes {
        let family = o.method.split('-').next().unwrap_or(&o.method).to_string();
        let chosen_on = o
            .validation
            .as_ref()
            .and_then(|v| v.get(metric))
            .unwrap_or(f64::INFINITY);
        let test = o.metrics.get(metric).unwrap_or(f64::NAN);
        match best.iter_mut().find(|(f, _, _)| *f == family) {
            Some(entry) if chosen_on < entry.1 => *entry = (family, chosen_on, test),
            Some(_) => {}
            None => best.push((family, chosen_on, test)),
        }
    }
    best.into_iter().map(|(f, _, t)| (f, t)).collect()
}

/// Runs one comparison per value of the sweep; plots the metric per method (or family).
fn sweep(out: &Path, spec: &Sweep<'_>) -> anyhow::Result<()> {
    let mut points = Vec::new();
    for &value in spec.values {
        let mut edits = spec.fixed.clone();
        edits.push((spec.field, format!("{value:?}")));
        edits.extend((spec.per_value)(value));
        let scenario = load(spec.file, &edits)?;
        let report = run(&scenario, &out.join(spec.job).join(format!("{value}")))?;
        let values: Vec<(String, f64)> = if spec.best_of_family {
            best_of_families(&report, spec.metric)
        } else {
            report
                .outcomes
                .iter()
                .map(|o| {
                    (
                        o.method.clone(),
                        o.metrics.get(spec.metric).unwrap_or(f64::NAN),
                    )
                })
                .collect()
        };
        for (method, metric) in values {
            points.push(SweepPoint {
                value,
                method,
                metric,
            });
        }
    }
    let name = spec.field.rsplit('.').next().unwrap_or(spec.field);
    let stem = out
        .join(spec.job)
        .join(format!("{}_vs_{name}", spec.metric));
    plot_sweep(&stem, name, spec.metric, &points, false)?;
    publish(&stem.with_extension("png"), &format!("{}.png", spec.job))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = PathBuf::from("runs/figures");
    let mut only: Vec<String> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(args.next().context("--out needs a directory")?),
            "--only" => only.push(args.next().context("--only needs a job name")?),
            other => anyhow::bail!(
                "unknown argument '{other}'; usage: figures [--out DIR] [--only JOB]..."
            ),
        }
    }
    const JOBS: [&str; 6] = [
        "sine",
        "sweeps",
        "conditioning",
        "control",
        "oscillators",
        "burgers",
    ];
    if let Some(bad) = only.iter().find(|j| !JOBS.contains(&j.as_str())) {
        anyhow::bail!("unknown job '{bad}'; jobs: {}", JOBS.join(", "));
    }
    let wanted = |job: &str| only.is_empty() || only.iter().any(|j| j == job);
    let start = Instant::now();

    let sine_jobs = [
        ("sine_xi1", "scenarios/sine_xi1.ron"),
        ("sine_xi32", "scenarios/sine.ron"),
    ];
    for (job, file) in sine_jobs.into_iter().filter(|_| wanted("sine")) {
        let scenario = load(file, &[])?;
        run(&scenario, &out.join(job))?;
        publish(
            &out.join(job).join("x_dist_vs_time.png"),
            &format!("{job}_x_dist_vs_time.png"),
        )?;
    }
    if wanted("sweeps") {
        let iterations = ("training.iterations", SWEEP_ITERATIONS.to_string());
        let sgd_lr = |xi: f64| vec![("methods[2].optimizer.lr", format!("{:e}", 1e-2 / (xi * xi)))];
        sweep(
            &out,
            &Sweep {
                file: "scenarios/sine.ron",
                job: "sweep_xi_phi0",
                field: "simulator.params.xi",
                values: &[1.0, 3.0, 5.0, 10.0, 20.0, 32.0, 48.0, 64.0],
                metric: "x_dist_over_xi",
                fixed: vec![
                    ("simulator.params.phi_deg", "0.0".into()),
                    iterations.clone(),
                ],
                per_value: &sgd_lr,
                best_of_family: false,
            },
        )?;
        sweep(
            &out,
            &Sweep {
                file: "scenarios/sine.ron",
                job: "sweep_phi_xi32",
                field: "simulator.params.phi_deg",
                values: &[0.0, 1.0, 3.0, 5.0, 10.0, 23.0, 35.0, 40.0, 45.0],
                metric: "x_dist",
                fixed: vec![iterations],
                per_value: &|_| Vec::new(),
                best_of_family: false,
            },
        )?;
    }

    if wanted("conditioning") {
        for (job, field, values) in [
            (
                "conditioning_sweep_xi",
                "simulator.params.xi",
                &[1.0, 3.0, 10.0, 32.0, 100.0][..],
            ),
            (
                "conditioning_sweep_phi",
                "simulator.params.phi_deg",
                &[0.0, 10.0, 23.0, 35.0, 45.0][..],
            ),
        ] {
            sweep(
                &out,
                &Sweep {
                    file: "scenarios/conditioning.ron",
                    job,
                    field,
                    values,
                    metric: "position_error",
                    fixed: Vec::new(),
                    per_value: &|_| Vec::new(),
                    best_of_family: true,
                },
            )?;
        }
    }

    for job in ["point_mass", "pendulum", "heat1d"]
        .into_iter()
        .filter(|_| wanted("control"))
    {
        let scenario = load(&format!("scenarios/{job}.ron"), &[])?;
        let dir = out.join(job);
        run(&scenario, &dir)?;
        publish(
            &dir.join("final_error_vs_time.png"),
            &format!("{job}_final_error_vs_time.png"),
        )?;
    }

    if wanted("oscillators") {
        let oscillators = load("scenarios/oscillators.ron", &[])?;
        let dir = out.join("oscillators");
        run(&oscillators, &dir)?;
        publish(
            &dir.join("final_error_vs_time.png"),
            "oscillators_final_error_vs_time.png",
        )?;
        publish(&dir.join("episodes_SIP.png"), "oscillators_episodes.png")?;
    }

    if wanted("burgers") {
        let burgers = load("scenarios/burgers.ron", &[])?;
        let dir = out.join("burgers");
        run(&burgers, &dir)?;
        publish(
            &dir.join("final_error_vs_time.png"),
            "burgers_final_error_vs_time.png",
        )?;
        publish(&dir.join("heatmaps_SIP.png"), "burgers_heatmaps_sip.png")?;
        publish(&dir.join("heatmaps_BPTT.png"), "burgers_heatmaps_bptt.png")?;
    }

    println!(
        "figures regenerated in {:.0} s; figures of docs/results.md in {README_FIGURES}/",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
