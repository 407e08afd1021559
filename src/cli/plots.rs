//! The command line's only door to plotting: every figure the commands draw goes through
//! these two functions.

use std::path::{Path, PathBuf};

/// One point of a parameter sweep: a parameter value, a method and that method's final value
/// of the plotted metric.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Parameter value (x axis).
    pub value: f64,
    /// Method display name (one line per method).
    pub method: String,
    /// Final metric value (y axis).
    pub metric: f64,
}

/// Redraws the figures of the finished run in `dir` (from its `metrics.csv` and
/// `summary.json`); `main_metric` picks the metric plotted besides the loss. Returns the
/// files written.
pub fn redraw_run(dir: &Path, main_metric: Option<&str>) -> crate::Result<Vec<PathBuf>> {
    // TODO: wired to physinv::plot at merge — `crate::plot::plot_run(dir, main_metric)`.
    let _ = (dir, main_metric);
    Ok(vec![])
}

/// Draws `metric` against `parameter` for every method to `<path_stem>.<ext>`; `log_x` for
/// a logarithmic parameter axis. Returns the files written.
pub fn draw_sweep(
    path_stem: &Path,
    parameter: &str,
    metric: &str,
    points: &[SweepPoint],
    log_x: bool,
) -> crate::Result<Vec<PathBuf>> {
    // TODO: wired to physinv::plot at merge — `crate::plot::plot_sweep(path_stem, parameter,
    // metric, points, log_x)` (with `SweepPoint` replaced by `crate::plot::SweepPoint`).
    let _ = (path_stem, parameter, metric, points, log_x);
    Ok(vec![])
}
