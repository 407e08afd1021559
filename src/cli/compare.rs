//! `physinv compare`: every method of a scenario, same seed and budget, one table.

use super::train::run_and_report;
use super::{Global, LimitArgs};
use crate::run::RunOptions;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `physinv compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Scenario file (RON).
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// Output directory for metrics.csv, summary.json, checkpoints/ and figures
    /// [default: runs/<scenario name>/<UTC timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Training length and seed (the same for every method).
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Runs `physinv compare`.
pub fn run(args: &CompareArgs, global: Global) -> anyhow::Result<()> {
    let scenario = global.load_scenario(&args.scenario, &args.limits)?;
    let options = RunOptions {
        out_dir: args.out.clone(),
        stop: Some(crate::interrupt::flag()),
        ..RunOptions::default()
    };
    run_and_report(&scenario, &options, global)?;
    Ok(())
}
