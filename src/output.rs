//! Results on disk and on the console: `metrics.csv`, `summary.json`, the comparison table,
//! and a console progress observer.

use crate::train::trainer::{LogRow, Observer, TrainOutcome};
use crate::values::NamedValues;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> crate::Error + '_ {
    move |source| crate::Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Default output directory `runs/<scenario>/<UTC timestamp>/`.
pub fn default_out_dir(scenario: &str) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("runs")
        .join(scenario)
        .join(utc_timestamp(secs))
}

/// `YYYYMMDD-HHMMSS` (UTC) of a Unix time.
pub fn utc_timestamp(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Writes `metrics.csv`: one row per logged evaluation of every method.
///
/// Columns: `method`, `split` (`validation` for the training curves, `test` for the final
/// evaluation of the network chosen by validation, `test_last` for the last network when it
/// differs; `test` throughout without validation scenes), `iteration`, `wall_s`, the metrics,
/// the counters, then the union of every row's diagnostics (empty where a row has none).
pub fn write_metrics_csv(
    path: &Path,
    metric_names: &[String],
    outcomes: &[TrainOutcome],
) -> crate::Result<()> {
    let rows: Vec<&LogRow> = outcomes.iter().flat_map(|o| &o.log).collect();
    let mut diagnostic_names: Vec<&str> = Vec::new();
    for (name, _) in rows.iter().flat_map(|r| r.diagnostics.iter()) {
        if !diagnostic_names.contains(&name) {
            diagnostic_names.push(name);
        }
    }
    let mut text = String::from("method,split,iteration,wall_s");
    for name in metric_names {
        text.push(',');
        text.push_str(name);
    }
    text.push_str(",inverse_failures,inverse_unconverged,line_search_failures");
    for name in &diagnostic_names {
        text.push(',');
        text.push_str(name);
    }
    text.push('\n');
    for row in rows {
        text.push_str(&format!(
            "{},{},{},{:.6}",
            row.method, row.split, row.iteration, row.wall_s
        ));
        for v in &row.metrics.values {
            text.push_str(&format!(",{v:.9e}"));
        }
        let stats = &row.stats;
        text.push_str(&format!(
            ",{},{},{}",
            stats.inverse_failures, stats.inverse_unconverged, stats.line_search_failures
        ));
        for name in &diagnostic_names {
            text.push(',');
            if let Some(v) = row.diagnostics.get(name) {
                text.push_str(&format!("{v:.6e}"));
            }
        }
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// The `summary.json` document.
pub fn summary_json(scenario: &str, outcomes: &[TrainOutcome]) -> serde_json::Value {
    let runs: Vec<_> = outcomes
        .iter()
        .map(|o| {
            let metrics = named_map(&o.metrics);
            let mut run = json!({
                "method": o.method,
                "iterations": o.iterations,
                "wall_s": o.wall_s,
                "metrics": metrics,
                "selected_iteration": o.selected_iteration,
                "inverse_failures": o.stats.inverse_failures,
                "inverse_unconverged": o.stats.inverse_unconverged,
                "line_search_failures": o.stats.line_search_failures,
            });
            if let Some(last) = &o.last_metrics {
                run["last_metrics"] = json!(named_map(last));
            }
            if let Some(v) = &o.validation {
                run["validation_metrics"] = json!(named_map(v));
            }
            run
        })
        .collect();
    json!({ "scenario": scenario, "runs": runs })
}

/// Named values as a JSON object.
fn named_map(values: &NamedValues) -> serde_json::Map<String, serde_json::Value> {
    values
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect()
}

/// Writes `summary.json`.
pub fn write_summary(path: &Path, scenario: &str, outcomes: &[TrainOutcome]) -> crate::Result<()> {
    let text = serde_json::to_string_pretty(&summary_json(scenario, outcomes))
        .map_err(|e| crate::Error::Config(format!("cannot serialise summary: {e}")))?;
    write_atomic(path, text.as_bytes())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// The comparison table: one row per method, final test metrics.
pub fn comparison_table(outcomes: &[TrainOutcome]) -> String {
    let Some(first) = outcomes.first() else {
        return String::new();
    };
    let names = &first.metrics.names;
    let width = outcomes
        .iter()
        .map(|o| o.method.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!(
        "{:<width$}  {:>10}  {:>9}",
        "method", "iterations", "wall_s"
    );
    for n in names {
        out.push_str(&format!("  {n:>13}"));
    }
    out.push('\n');
    for o in outcomes {
        out.push_str(&format!(
            "{:<width$}  {:>10}  {:>9.2}",
            o.method, o.iterations, o.wall_s
        ));
        for v in &o.metrics.values {
            out.push_str(&format!("  {v:>13.4e}"));
        }
        if o.stats.inverse_failures > 0 {
            out.push_str(&format!(
                "  ({} inverse fallbacks)",
                o.stats.inverse_failures
            ));
        }
        out.push('\n');
    }
    out
}

/// Diagnostics as `  name value` pairs for a console line (empty without diagnostics).
pub fn diagnostics_text(diagnostics: &NamedValues) -> String {
    diagnostics
        .iter()
        .map(|(n, v)| format!("  {n} {v:.3e}"))
        .collect()
}

/// Prints one line per logged evaluation to standard error.
#[derive(Debug, Default)]
pub struct ConsoleObserver {
    /// Metric shown besides the loss (default: the last metric).
    pub main_metric: Option<String>,
}

impl Observer for ConsoleObserver {
    fn on_start(&mut self, method: &str, iterations: Option<usize>, budget_s: Option<f64>) {
        let limit = match (iterations, budget_s) {
            (Some(n), Some(b)) => format!("{n} iterations or {b} s"),
            (Some(n), None) => format!("{n} iterations"),
            (None, Some(b)) => format!("{b} s"),
            (None, None) => String::from("no limit"),
        };
        eprintln!("== {method}: training for {limit}");
    }

    fn on_log(&mut self, row: &LogRow) {
        let m = &row.metrics;
        let main = self
            .main_metric
            .as_ref()
            .and_then(|name| m.get(name).map(|v| (name.clone(), v)))
            .or_else(|| m.names.last().cloned().zip(m.values.last().copied()));
        let mut line = format!(
            "{:>12} it {:>7}  {:>8.2}s  loss {:.4e}",
            row.method,
            row.iteration,
            row.wall_s,
            m.get("loss").unwrap_or(f64::NAN)
        );
        if let Some((name, v)) = main {
            line.push_str(&format!("  {name} {v:.4e}"));
        }
        if row.stats.inverse_failures > 0 {
            line.push_str(&format!("  fallbacks {}", row.stats.inverse_failures));
        }
        line.push_str(&diagnostics_text(&row.diagnostics));
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "19700101-000000");
        assert_eq!(utc_timestamp(1_700_000_000), "20231114-221320");
        assert_eq!(utc_timestamp(951_782_400), "20000229-000000");
    }
}
