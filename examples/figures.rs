//! Example 4: regenerate the seed's comparison figures (METHOD §3).
//!
//! ```text
//! cargo run --release --example figures [-- --out DIR] [--only JOB]...
//! ```
//!
//! Runs, in order: the rotating sine at ξ = 1 and ξ = 32 (φ = 45°, every method's loss and
//! `x_dist` over time), the ξ sweep at φ = 0 (`x_dist/ξ`), the φ sweep at ξ = 32 (`x_dist`),
//! the oscillators and Burgers (SIP against BPTT over time, plus episode plots and Burgers
//! space-time heatmaps). Each run's files go to `DIR/<job>/` (default `runs/figures/`); the
//! figures shown in the README are copied to `examples/figures/`. `--only` (repeatable) runs
//! just the named jobs: `sine`, `sweeps`, `oscillators`, `burgers`.

use anyhow::Context as _;
use physinv::episode::{rollout, simulate};
use physinv::output::ConsoleObserver;
use physinv::plot::{plot_episodes, plot_heatmaps, plot_run, plot_sweep, SweepPoint};
use physinv::run::{run_scenario, RunOptions, RunReport};
use physinv::scenario::ron_path::replace_value;
use physinv::scenario::Scenario;
use physinv::sim::Registry;
use physinv::train::Trainer;
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
    plot_run(dir, Some(&scenario.main_metric()))?;
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

/// Episode figure for a few test scenes with the trained network of method `method`.
fn episodes(
    scenario: &Scenario,
    report: &RunReport,
    method: usize,
    stem: &Path,
    count: usize,
) -> anyhow::Result<()> {
    let trainer = Trainer::new(scenario)?;
    let ctx = trainer.context();
    let scenes = &trainer.test_scenes()[..count];
    let r = rollout(
        ctx.physics,
        ctx.policy,
        &report.outcomes[method].net,
        scenes,
    )?;
    let data: Vec<_> = scenes
        .iter()
        .enumerate()
        .map(|(b, s)| {
            (
                r.states[b].iter().map(|v| v.as_slice().to_vec()).collect(),
                r.controls[b]
                    .iter()
                    .map(|v| v.as_slice().to_vec())
                    .collect(),
                s.target.as_slice().to_vec(),
            )
        })
        .collect();
    let title = format!(
        "{}: {} on test scenes",
        scenario.spec.name, report.outcomes[method].method
    );
    plot_episodes(stem, &title, scenario.physics.sim().dt(), &data)?;
    Ok(())
}

/// Burgers space-time heatmaps of test scene 0: uncontrolled, controlled, target, force.
fn heatmaps(
    scenario: &Scenario,
    report: &RunReport,
    method: usize,
    stem: &Path,
) -> anyhow::Result<()> {
    let trainer = Trainer::new(scenario)?;
    let ctx = trainer.context();
    let scene = &trainer.test_scenes()[..1];
    let r = rollout(ctx.physics, ctx.policy, &report.outcomes[method].net, scene)?;
    let steps = scenario.spec.episode.steps;
    let zero = vec![physinv::sim::Vector::zeros(scenario.physics.sim().control_dim()); steps];
    let free = simulate(ctx.physics, &scene[0].initial, &zero, 0)?;
    let rows =
        |v: &[physinv::sim::Vector]| v.iter().map(|x| x.as_slice().to_vec()).collect::<Vec<_>>();
    let panels = vec![
        ("uncontrolled", rows(&free)),
        ("controlled", rows(&r.states[0])),
        ("target", vec![scene[0].target.as_slice().to_vec()]),
        ("force", rows(&r.controls[0])),
    ];
    let title = format!("Burgers test scene 0, {}", report.outcomes[method].method);
    plot_heatmaps(stem, &title, scenario.physics.sim().dt(), &panels)?;
    Ok(())
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
        let report = run(&oscillators, &out.join("oscillators"))?;
        publish(
            &out.join("oscillators").join("final_error_vs_time.png"),
            "oscillators_final_error_vs_time.png",
        )?;
        let stem = out.join("oscillators").join("episodes");
        episodes(&oscillators, &report, 0, &stem, 3)?;
        publish(&stem.with_extension("png"), "oscillators_episodes.png")?;
    }

    if wanted("burgers") {
        let burgers = load("scenarios/burgers.ron", &[])?;
        let report = run(&burgers, &out.join("burgers"))?;
        publish(
            &out.join("burgers").join("final_error_vs_time.png"),
            "burgers_final_error_vs_time.png",
        )?;
        let stem = out.join("burgers").join("heatmaps");
        heatmaps(&burgers, &report, 0, &stem)?;
        publish(&stem.with_extension("png"), "burgers_heatmaps_sip.png")?;
    }

    println!(
        "figures regenerated in {:.0} s; README figures in {README_FIGURES}/",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
