//! `physinv plot`: redraw the figures of a finished run.

use super::{note, Global};
use anyhow::bail;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `physinv plot`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Directory of a finished run (holding metrics.csv and summary.json).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Metric plotted besides the loss [default: the plotting module's choice].
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
}

/// Runs `physinv plot`.
pub fn run(args: &PlotArgs, global: Global) -> anyhow::Result<()> {
    let dir = &args.run_dir;
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    if !dir.join("metrics.csv").is_file() {
        bail!(
            "{}: no metrics.csv here; give the directory of a finished run",
            dir.display()
        );
    }
    let files = crate::plot::plot_run(dir, args.metric.as_deref())?;
    for f in &files {
        note(global, format_args!("wrote {}", f.display()));
    }
    if files.is_empty() {
        note(global, "no figures written");
    }
    Ok(())
}
