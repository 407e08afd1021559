//! `physinv export`: the trained networks of a run (or of one checkpoint) as safetensors and,
//! given the scenario, their test episodes as `.npz` (see [`crate::export`]).

use super::{note, Global, LimitArgs};
use crate::export::{export_network, ExportedNetwork};
use crate::train::Checkpoint;
use anyhow::{bail, Context as _};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `physinv export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A run directory (every checkpoint in <RUN_DIR>/checkpoints/ is exported) or one
    /// checkpoint file.
    #[arg(value_name = "RUN_DIR|CHECKPOINT")]
    pub from: PathBuf,
    /// The scenario the run trained on: adds the episode wiring (observation, state and
    /// control scales) to the metadata and writes the test episodes as <method>_episodes.npz.
    /// The run directory does not store it.
    #[arg(long, value_name = "SCENARIO.ron")]
    pub scenario: Option<PathBuf>,
    /// Output directory [default: <run dir>/export/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The checkpoint files to export and the run directory they belong to: every `.json` in
/// `<from>/checkpoints/` (sorted), or `from` itself if it is a file.
pub fn checkpoint_files(from: &Path) -> anyhow::Result<(Vec<PathBuf>, PathBuf)> {
    if from.is_file() {
        let dir = from.parent().unwrap_or(Path::new("."));
        let run = match dir.file_name() {
            Some(name) if name == "checkpoints" => dir.parent().unwrap_or(dir),
            _ => dir,
        };
        return Ok((vec![from.to_path_buf()], run.to_path_buf()));
    }
    let dir = from.join("checkpoints");
    let entries = std::fs::read_dir(&dir).with_context(|| {
        format!(
            "{}: not a checkpoint file, nor a run directory with checkpoints/",
            from.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("{}: no checkpoints (*.json) to export", dir.display());
    }
    Ok((files, from.to_path_buf()))
}

/// Runs `physinv export`.
pub fn run(args: &ExportArgs, global: Global) -> anyhow::Result<()> {
    let scenario = match &args.scenario {
        Some(path) => Some(global.load_scenario(path, &LimitArgs::default())?),
        None => None,
    };
    let (files, run_dir) = checkpoint_files(&args.from)?;
    let out = args.out.clone().unwrap_or_else(|| run_dir.join("export"));
    for file in &files {
        let checkpoint = Checkpoint::load(file)?;
        if let Some(s) = &scenario {
            if s.spec.name != checkpoint.scenario {
                note(
                    global,
                    format_args!(
                        "note: {} was trained on scenario '{}', its episodes are of '{}'",
                        file.display(),
                        checkpoint.scenario,
                        s.spec.name
                    ),
                );
            }
        }
        let stem = file
            .file_stem()
            .map_or_else(|| "network".into(), |s| s.to_string_lossy().into_owned());
        let exported = ExportedNetwork::chosen(&checkpoint);
        let written = global
            .registry
            .networks()
            .activate(|| export_network(&exported, scenario.as_ref(), &out, &stem))
            .with_context(|| format!("cannot export {}", file.display()))?;
        for path in written {
            note(global, format_args!("wrote {}", path.display()));
        }
    }
    if scenario.is_none() {
        note(
            global,
            "note: networks only; give --scenario to add the episode wiring and the test episodes",
        );
    }
    Ok(())
}
