//! `physinv train`: train the methods of a scenario, with checkpoints and resume.

use super::{note, progress, Global, LimitArgs};
use crate::run::{run_scenario, RunOptions, RunReport};
use crate::scenario::Scenario;
use crate::train::checkpoint::checkpoint_file_name;
use crate::train::Checkpoint;
use anyhow::{bail, Context as _};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `physinv train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Scenario file (RON).
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// Train only the method with this display name (repeat for several); default: every
    /// method of the scenario.
    #[arg(long = "method", value_name = "NAME")]
    pub methods: Vec<String>,
    /// Output directory for metrics.csv, summary.json, checkpoints/ and figures
    /// [default: runs/<scenario name>/<UTC timestamp>/].
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Training length and seed.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Write each method's checkpoint to <out>/checkpoints/<method>.json every N iterations
    /// (a final checkpoint is always written).
    #[arg(long, value_name = "N", value_parser = super::positive_usize)]
    pub checkpoint_every: Option<usize>,
    /// Continue the run in DIR from its checkpoints (DIR/checkpoints/<method>.json) and write
    /// the results there. Give the same scenario; --iterations/--budget may extend the run.
    /// Methods without a checkpoint start from scratch.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

/// Runs `physinv train`.
pub fn run(args: &TrainArgs, global: Global) -> anyhow::Result<()> {
    let scenario = global.load_scenario(&args.scenario, &args.limits)?;
    let methods = selected_methods(&scenario, &args.methods)?;
    if let Some(dir) = &args.resume {
        // Rank 0 reads the checkpoints (and hands them to the others when training starts).
        let checked = if global.is_root() {
            check_resume(dir, &scenario, &methods)
                .map_err(|e| crate::Error::Config(format!("{e:#}")))
        } else {
            Ok(())
        };
        crate::train::agreed(global.processes.as_ref(), checked)?;
    }
    let options = RunOptions {
        out_dir: args.resume.clone().or_else(|| args.out.clone()),
        methods: (!args.methods.is_empty()).then(|| methods.clone()),
        checkpoint_every: args.checkpoint_every,
        resume: args.resume.is_some(),
        stop: Some(crate::interrupt::flag()),
        processes: Some(global.processes.clone()),
    };
    run_and_report(&scenario, &options, global)?;
    Ok(())
}

/// The display names of the methods to run: `requested` (each must exist), or all.
pub fn selected_methods(scenario: &Scenario, requested: &[String]) -> anyhow::Result<Vec<String>> {
    let all: Vec<String> = (0..scenario.spec.methods.len())
        .map(|i| scenario.method_name(i))
        .collect();
    if requested.is_empty() {
        return Ok(all);
    }
    for name in requested {
        if !all.contains(name) {
            bail!(
                "no method '{name}' in scenario '{}'; it lists: {}",
                scenario.spec.name,
                all.join(", ")
            );
        }
    }
    Ok(all.into_iter().filter(|m| requested.contains(m)).collect())
}

/// Checks, before anything is trained or written, that every checkpoint to resume from reads
/// and belongs to this scenario, method and network.
pub fn check_resume(dir: &Path, scenario: &Scenario, methods: &[String]) -> anyhow::Result<()> {
    let checkpoints = dir.join("checkpoints");
    if !checkpoints.is_dir() {
        bail!(
            "cannot resume: {} has no checkpoints/ directory",
            dir.display()
        );
    }
    let mut found = 0;
    for method in methods {
        let path = checkpoints.join(checkpoint_file_name(method));
        if !path.exists() {
            continue;
        }
        let checkpoint = Checkpoint::load(&path).context("cannot resume")?;
        let index = (0..scenario.spec.methods.len())
            .find(|&i| scenario.method_name(i) == *method)
            .unwrap_or_default();
        checkpoint
            .check_matches(
                &scenario.spec.name,
                method,
                &scenario.network_architecture(),
                &scenario.fingerprint(index),
            )
            .with_context(|| format!("cannot resume from {}", path.display()))?;
        found += 1;
    }
    if found == 0 {
        bail!(
            "cannot resume: no checkpoint for {} in {}",
            methods.join(", "),
            checkpoints.display()
        );
    }
    Ok(())
}

/// One line describing the training length of `scenario`.
pub fn limits_text(scenario: &Scenario) -> String {
    let t = &scenario.spec.training;
    match (t.iterations, t.budget_s) {
        (Some(n), Some(b)) => format!("{n} iterations or {b} s"),
        (Some(n), None) => format!("{n} iterations"),
        (None, Some(b)) => format!("{b} s"),
        (None, None) => "no limit".into(),
    }
}

/// Runs `scenario` with progress output, prints the comparison table to standard output,
/// says where the results and figures are.
pub fn run_and_report(
    scenario: &Scenario,
    options: &RunOptions,
    global: Global,
) -> anyhow::Result<RunReport> {
    note(
        global,
        format_args!(
            "scenario '{}' ({}): simulator '{}', {}, seed {}",
            scenario.spec.name,
            scenario.path.display(),
            scenario.physics.name(),
            limits_text(scenario),
            scenario.spec.training.seed
        ),
    );
    let mut observer = progress::observer_for(scenario, global);
    let report = run_scenario(scenario, options, observer.as_mut())?;
    drop(observer);
    if !global.is_root() {
        return Ok(report);
    }
    println!("{}", report.table.trim_end());
    note(
        global,
        format_args!("results written to {}", report.out_dir.display()),
    );
    for f in &report.figures {
        note(global, format_args!("wrote {}", f.display()));
    }
    Ok(report)
}
