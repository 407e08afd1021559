//! `physinv eval`: evaluate a trained network on a scenario's test scenes.

use super::{note, Global, LimitArgs};
use crate::net::{io, Network};
use crate::scenario::Scenario;
use crate::train::checkpoint::difference;
use crate::train::evaluate::Evaluation;
use crate::train::{Checkpoint, Trainer};
use anyhow::{bail, Context as _};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `physinv eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Scenario file (RON) whose test scenes are used; its network shape must match.
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// The trained network: a checkpoint (<run>/checkpoints/<method>.json) or a network file
    /// written by `physinv::net::io::save`.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
}

/// Where a network came from.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkSource {
    /// A training checkpoint of `method` after `iteration` iterations.
    Checkpoint {
        /// Scenario name stored in the checkpoint.
        scenario: String,
        /// Method display name.
        method: String,
        /// Iterations completed.
        iteration: usize,
        /// The simulator and the episode it was trained with, where they differ from the
        /// scenario's: `(section, in the checkpoint, in the scenario)`.
        differences: Vec<(String, String, String)>,
    },
    /// A network file.
    NetworkFile,
}

/// Loads the network in `file` for `scenario`: a checkpoint if it reads as one, else a
/// network file. Either way its shape must be the scenario's.
pub fn load_network(
    file: &Path,
    scenario: &Scenario,
) -> anyhow::Result<(Box<dyn Network>, NetworkSource)> {
    let expected = scenario.network_architecture();
    let checkpoint_error = match Checkpoint::load(file) {
        Ok(checkpoint) => {
            let differences = trained_elsewhere(&checkpoint, scenario);
            if let Some((_, found, wanted)) = differences.iter().find(|(section, found, wanted)| {
                section == "simulator" && simulator_name(found) != simulator_name(wanted)
            }) {
                let (found, wanted) = difference(found, wanted);
                bail!(
                    "{}: the checkpoint was trained on simulator {found}; scenario '{}' \
                     simulates {wanted}: its network would be evaluated on another system",
                    file.display(),
                    scenario.spec.name,
                );
            }
            if checkpoint.network != expected {
                bail!(
                    "{}: the checkpoint's network {} does not fit scenario '{}', which needs {expected}",
                    file.display(),
                    checkpoint.network,
                    scenario.spec.name,
                );
            }
            let mut net = scenario.build_network(0)?;
            net.set_parameters(&checkpoint.parameters)
                .with_context(|| format!("{}: bad parameters", file.display()))?;
            return Ok((
                net,
                NetworkSource::Checkpoint {
                    scenario: checkpoint.scenario,
                    method: checkpoint.method,
                    iteration: checkpoint.iteration,
                    differences,
                },
            ));
        }
        Err(crate::Error::Io { path, source }) => {
            bail!("{}: {source}", path.display())
        }
        Err(e) => e,
    };
    let mut net = scenario.build_network(0)?;
    match io::load_into(file, net.as_mut()) {
        Ok(()) => Ok((net, NetworkSource::NetworkFile)),
        Err(net_error) => bail!(
            "{} is neither a checkpoint nor a network file for this scenario ({checkpoint_error}; {net_error})",
            file.display()
        ),
    }
}

/// The sections of the checkpoint's fingerprint that say what system the network controls
/// (the simulator and the episode) and differ from `scenario`'s, as
/// `(section, in the checkpoint, in the scenario)`.
fn trained_elsewhere(
    checkpoint: &Checkpoint,
    scenario: &Scenario,
) -> Vec<(String, String, String)> {
    let here = scenario.fingerprint(0);
    ["simulator", "episode"]
        .iter()
        .filter_map(|section| {
            let find = |sections: &[(String, String)]| {
                sections
                    .iter()
                    .find(|(s, _)| s == section)
                    .map(|(_, text)| text.clone())
            };
            let (found, wanted) = (find(&checkpoint.fingerprint)?, find(&here)?);
            (found != wanted).then(|| (section.to_string(), found, wanted))
        })
        .collect()
}

/// The simulator's name in a fingerprint's `simulator` text (`(name:"point_mass",…)`).
fn simulator_name(text: &str) -> Option<String> {
    ron::from_str::<crate::scenario::schema::SimulatorSpec>(text)
        .ok()
        .map(|s| s.name)
}

/// The metrics as a two-column table.
pub fn metrics_table(evaluation: &Evaluation) -> String {
    let width = evaluation
        .names
        .iter()
        .map(|n| n.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!("{:<width$}  {:>13}\n", "metric", "value");
    for (name, value) in evaluation.names.iter().zip(&evaluation.values) {
        out.push_str(&format!("{name:<width$}  {value:>13.6e}\n"));
    }
    out
}

/// Runs `physinv eval`.
pub fn run(args: &EvalArgs, global: Global) -> anyhow::Result<()> {
    let scenario = global.load_scenario(&args.scenario, &LimitArgs::default())?;
    let (net, source) = load_network(&args.checkpoint, &scenario)?;
    match &source {
        NetworkSource::Checkpoint {
            scenario: trained_on,
            method,
            iteration,
            differences,
        } => {
            // Printed even with --quiet: the numbers below are then about another system.
            for (section, found, wanted) in differences {
                let (found, wanted) = difference(found, wanted);
                eprintln!("warning: trained with `{section}` {found}, evaluated with {wanted}");
            }
            note(
                global,
                format_args!(
                    "checkpoint of '{method}' after {iteration} iterations on scenario '{trained_on}'"
                ),
            );
            if trained_on != &scenario.spec.name {
                note(
                    global,
                    format_args!(
                        "note: evaluated on scenario '{}', not the one it was trained on",
                        scenario.spec.name
                    ),
                );
            }
        }
        NetworkSource::NetworkFile => note(global, "network file"),
    }
    let trainer = Trainer::new(&scenario)?;
    let evaluation = trainer.evaluate(net.as_ref())?;
    note(
        global,
        format_args!(
            "{} test scenes of scenario '{}'",
            trainer.test_scenes().len(),
            scenario.spec.name
        ),
    );
    println!("{}", metrics_table(&evaluation).trim_end());
    Ok(())
}
