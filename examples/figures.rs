//! Example 4: regenerate the seed's comparison figures (METHOD §3).
//!
//! ```text
//! cargo run --release --example figures [-- --out DIR] [--only JOB]...
//! ```
//!
//! Runs, in order: the rotating sine at ξ = 1 and ξ = 32 (φ = 45°, every method's loss and
//! `x_dist` over time), the ξ sweep at φ = 0 (`x_dist/ξ`), the φ sweep at ξ = 32 (`x_dist`),
//! the oscillators and Burgers (SIP against BPTT over time, plus the episode plots and Burgers
//! space-time heatmaps every run draws). Each run's files go to `DIR/<job>/` (default `runs/figures/`); the
//! figures shown in the README are copied to `examples/figures/`. `--only` (repeatable) runs
//! just the named jobs: `sine`, `sweeps`, `oscillators`, `burgers`.

use anyhow::Context as _;
use physinv::output::ConsoleObserver;
use physinv::plot::{plot_sweep, SweepPoint};
use physinv::run::{run_scenario, RunOptions, RunReport};
use physinv::scenario::ron_path::replace_value;
use physinv::scenario::Scenario;
use physinv::sim::Registry;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the README's figures live.
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

/// Sweeps `field` over `values`, one comparison per value; plots `metric` per method.
fn sweep(
    out: &Path,
    job: &str,
    field: &str,
    values: &[f64],
    metric: &str,
    fixed: &[(&str, String)],
    sgd_lr: impl Fn(f64) -> Option<f64>,
) -> anyhow::Result<()> {
    let mut points = Vec::new();
    for &value in values {
        let mut edits = fixed.to_vec();
        edits.push((field, format!("{value:?}")));
        edits.push(("training.iterations", SWEEP_ITERATIONS.to_string()));
        if let Some(lr) = sgd_lr(value) {
            edits.push(("methods[2].optimizer.lr", format!("{lr:e}")));
        }
        let scenario = load("scenarios/sine.ron", &edits)?;
        let report = run(&scenario, &out.join(job).join(format!("{value}")))?;
        for o in &report.outcomes {
            points.push(SweepPoint {
                value,
                method: o.method.clone(),
                metric: o.metrics.get(metric).unwrap_or(f64::NAN),
            });
        }
    }
    let stem = out.join(job).join(format!(
        "{metric}_vs_{}",
        field.rsplit('.').next().unwrap_or(field)
    ));
    plot_sweep(
        &stem,
        field.rsplit('.').next().unwrap_or(field),
        metric,
        &points,
        false,
    )?;
    publish(&stem.with_extension("png"), &format!("{job}.png"))
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
    const JOBS: [&str; 4] = ["sine", "sweeps", "oscillators", "burgers"];
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
        let xis = [1.0, 3.0, 5.0, 10.0, 20.0, 32.0, 48.0, 64.0];
        sweep(
            &out,
            "sweep_xi_phi0",
            "simulator.params.xi",
            &xis,
            "x_dist_over_xi",
            &[("simulator.params.phi_deg", "0.0".into())],
            |xi| Some(1e-2 / (xi * xi)),
        )?;
        let phis = [0.0, 1.0, 3.0, 5.0, 10.0, 23.0, 35.0, 40.0, 45.0];
        sweep(
            &out,
            "sweep_phi_xi32",
            "simulator.params.phi_deg",
            &phis,
            "x_dist",
            &[],
            |_| None,
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
        "figures regenerated in {:.0} s; README figures in {README_FIGURES}/",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
