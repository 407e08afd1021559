//! Sweep figures: a metric against a swept scenario parameter.

use super::lines::{LineChart, Series};
use super::{render, Axis};
use std::path::{Path, PathBuf};

/// One result of a sweep: `metric` reached by `method` at parameter `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Value of the swept parameter (e.g. `ξ`, or `φ` in degrees).
    pub value: f64,
    /// Training method.
    pub method: String,
    /// Metric reached (e.g. mean `x_dist` over the last 10 % of steps).
    pub metric: f64,
}

/// Draws `metric` against the swept `parameter`, one line with markers per method (colours in
/// order of first appearance, points sorted by parameter value), logarithmic y axis, linear x
/// axis unless `log_x`. `parameter` and `metric` label the axes, so include units there
/// (e.g. `"φ [°]"`). Writes `<path_stem>.png` and `<path_stem>.svg`; returns the paths.
///
/// Non-finite points and non-positive values on a log axis are skipped; with no point left the
/// figure carries the note "no plottable data".
///
/// # Errors
/// I/O and backend errors from writing the figure.
pub fn plot_sweep(
    path_stem: &Path,
    parameter: &str,
    metric: &str,
    points: &[SweepPoint],
    log_x: bool,
) -> crate::Result<Vec<PathBuf>> {
    let mut methods: Vec<&str> = Vec::new();
    for p in points {
        if !methods.contains(&p.method.as_str()) {
            methods.push(&p.method);
        }
    }
    let series = methods
        .iter()
        .enumerate()
        .map(|(k, method)| {
            let mut pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.method == *method)
                .map(|p| (p.value, p.metric))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: method.to_string(),
                colour_index: k,
                points: pts,
            }
        })
        .collect();
    let chart = LineChart {
        title: format!("{metric} against {parameter}"),
        x_label: if log_x {
            format!("{parameter} (log scale)")
        } else {
            parameter.to_string()
        },
        y_label: format!("{metric} (log scale)"),
        x_axis: Axis { log: log_x },
        y_axis: Axis { log: true },
        series,
        markers: true,
    };
    render(path_stem, &chart)
}
