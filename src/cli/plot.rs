//! `physinv plot`: redraw the figures of a finished run, or of several runs together.

use super::{note, Global};
use anyhow::bail;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `physinv plot`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Directories of finished runs (each holding metrics.csv). Several runs of different
    /// methods (e.g. trained at the same time with `train --method`) are drawn in one figure.
    #[arg(value_name = "RUN_DIR", required = true)]
    pub run_dirs: Vec<PathBuf>,
    /// Metric plotted besides the loss [default: the plotting module's choice].
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// Where the figures (and, for several runs, their merged metrics.csv) go [default: the
    /// run directory; required for several runs].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `physinv plot`.
pub fn run(args: &PlotArgs, global: Global) -> anyhow::Result<()> {
    for dir in &args.run_dirs {
        if !dir.is_dir() {
            bail!("{}: not a directory", dir.display());
        }
        if !dir.join("metrics.csv").is_file() {
            bail!(
                "{}: no metrics.csv here; give the directory of a finished run",
                dir.display()
            );
        }
    }
    let metric = args.metric.as_deref();
    let files = match (args.run_dirs.as_slice(), &args.out) {
        ([dir], None) => crate::plot::plot_run(dir, metric)?,
        ([dir], Some(out)) if out == dir => crate::plot::plot_run(dir, metric)?,
        (_, Some(out)) => crate::plot::plot_runs(&args.run_dirs, out, metric)?,
        (_, None) => bail!("several run directories: give --out DIR for the joint figures"),
    };
    for f in &files {
        note(global, format_args!("wrote {}", f.display()));
    }
    if files.is_empty() {
        note(global, "no figures written");
    }
    Ok(())
}
