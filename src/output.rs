//! Results on disk and on the console: `metrics.csv`, `summary.json`, the comparison table,
//! and a console progress observer.

pub use crate::files::write_atomic;
use crate::train::trainer::{LogRow, Observer, TrainOutcome};
use crate::values::NamedValues;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> crate::Error + '_ {
    move |source| crate::Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Default output directory `runs/<scenario>/<UTC timestamp>/`, e.g.
/// `runs/point_mass/20231114-221320.123/` (milliseconds after the point).
///
/// The scenario name is made file-safe first ([`crate::files::file_stem`], as method names
/// are for checkpoints): `../../x` and `/abs/path` become single entries under `runs/`, so a
/// default directory never resolves outside `runs/`. The directory is not created; use
/// [`create_unique_dir`] to claim it, so that runs started in the same millisecond do not
/// share it.
pub fn default_out_dir(scenario: &str) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    PathBuf::from("runs")
        .join(scenario_dir_name(scenario))
        .join(format!(
            "{}.{:03}",
            utc_timestamp(now.as_secs()),
            now.subsec_millis()
        ))
}

/// The directory name of a scenario under `runs/`: its file-safe name, `unnamed` if empty.
fn scenario_dir_name(scenario: &str) -> String {
    let stem = crate::files::file_stem(scenario);
    if stem.is_empty() {
        "unnamed".into()
    } else {
        stem
    }
}

/// How many numbered variants [`create_unique_dir`] tries before giving up.
const UNIQUE_DIR_ATTEMPTS: usize = 1000;

/// Creates a new, empty directory at `base`, or at `base-2`, `base-3`, … if that exists
/// (its parents are created as needed), and returns it. The creation itself is the claim,
/// so two processes asking for the same `base` at once get different directories.
pub fn create_unique_dir(base: &Path) -> crate::Result<PathBuf> {
    if let Some(parent) = base.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for attempt in 1..=UNIQUE_DIR_ATTEMPTS {
        let dir = if attempt == 1 {
            base.to_path_buf()
        } else {
            base.with_file_name(format!("{name}-{attempt}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(&dir)(e)),
        }
    }
    Err(crate::Error::Io {
        path: base.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{UNIQUE_DIR_ATTEMPTS} directories of this name exist already"),
        ),
    })
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
///
/// If `path` already holds a `metrics.csv` with the same metric columns, the rows of methods
/// not in `outcomes` are kept (so runs of method subsets into one directory add up).
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
    let csv_error = |e: csv::Error| crate::Error::Config(format!("cannot write metrics.csv: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["method", "split", "iteration", "wall_s"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(metric_names.iter().cloned());
    header.extend(
        [
            "inverse_failures",
            "inverse_unconverged",
            "line_search_failures",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    header.extend(diagnostic_names.iter().map(|s| s.to_string()));
    writer.write_record(&header).map_err(csv_error)?;
    for row in rows {
        let stats = &row.stats;
        let mut record = vec![
            row.method.clone(),
            row.split.clone(),
            row.iteration.to_string(),
            format!("{:.6}", row.wall_s),
        ];
        record.extend(row.metrics.values.iter().map(|v| format!("{v:.9e}")));
        record.extend([
            stats.inverse_failures.to_string(),
            stats.inverse_unconverged.to_string(),
            stats.line_search_failures.to_string(),
        ]);
        record.extend(diagnostic_names.iter().map(|name| {
            row.diagnostics
                .get(name)
                .map_or_else(String::new, |v| format!("{v:.6e}"))
        }));
        writer.write_record(&record).map_err(csv_error)?;
    }
    let text = writer
        .into_inner()
        .map_err(|e| crate::Error::Config(format!("cannot write metrics.csv: {e}")))?;
    let methods: Vec<&str> = outcomes.iter().map(|o| o.method.as_str()).collect();
    let shared = 4 + metric_names.len();
    let merged = match std::fs::read(path) {
        Ok(old) => merge_csv(&old, &text, &methods, shared).unwrap_or(text),
        Err(_) => text,
    };
    write_atomic(path, &merged)
}

/// `new` with the rows of `old` whose method (first column) is not in `methods` put first,
/// over the union of both headers; `None` if `old` does not parse or its first `shared`
/// columns differ from `new`'s (another kind of run: `new` replaces it).
fn merge_csv(old: &[u8], new: &[u8], methods: &[&str], shared: usize) -> Option<Vec<u8>> {
    let records = |bytes: &[u8]| -> Option<(Vec<String>, Vec<csv::StringRecord>)> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let header = reader.headers().ok()?.iter().map(String::from).collect();
        let rows = reader.records().collect::<Result<Vec<_>, _>>().ok()?;
        Some((header, rows))
    };
    let (old_header, old_rows) = records(old)?;
    let (mut header, new_rows) = records(new)?;
    if old_header.len() < shared || old_header[..shared] != header[..shared.min(header.len())] {
        return None;
    }
    let new_width = header.len();
    for column in &old_header {
        if !header.contains(column) {
            header.push(column.clone());
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).ok()?;
    for row in old_rows
        .iter()
        .filter(|r| r.get(0).is_some_and(|m| !methods.contains(&m)))
    {
        let field = |column: &String| {
            let at = old_header.iter().position(|c| c == column)?;
            row.get(at).map(str::to_string)
        };
        let record: Vec<String> = header
            .iter()
            .map(|c| field(c).unwrap_or_default())
            .collect();
        writer.write_record(&record).ok()?;
    }
    for row in &new_rows {
        let mut record: Vec<String> = row.iter().map(str::to_string).collect();
        record.resize(header.len().max(new_width), String::new());
        writer.write_record(&record).ok()?;
    }
    writer.into_inner().ok()
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
                "selected_on": o.selected_on,
                "work": named_map(&o.work),
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

/// A number as JSON; non-finite values (which JSON cannot hold) as the strings `"NaN"`,
/// `"inf"`, `"-inf"` instead of `null`.
fn json_number(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else if v.is_nan() {
        json!("NaN")
    } else if v > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

/// Named values as a JSON object.
fn named_map(values: &NamedValues) -> serde_json::Map<String, serde_json::Value> {
    values
        .iter()
        .map(|(n, v)| (n.to_string(), json_number(v)))
        .collect()
}

/// Writes `summary.json`. If `path` already holds the summary of the same scenario, the runs
/// of methods not in `outcomes` are kept, before the new ones.
pub fn write_summary(path: &Path, scenario: &str, outcomes: &[TrainOutcome]) -> crate::Result<()> {
    let mut summary = summary_json(scenario, outcomes);
    let old: Option<serde_json::Value> = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(old) = old.filter(|o| o["scenario"] == scenario) {
        let fresh = summary["runs"].as_array().cloned().unwrap_or_default();
        let mut runs: Vec<serde_json::Value> = old["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| !fresh.iter().any(|f| f["method"] == r["method"]))
            .cloned()
            .collect();
        runs.extend(fresh);
        summary["runs"] = json!(runs);
    }
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| crate::Error::Config(format!("cannot serialise summary: {e}")))?;
    write_atomic(path, text.as_bytes())
}

/// Creates `dir` (and its parents) and checks that files can be written there, so that a bad
/// output directory is an error before any training rather than after the first method.
pub fn ensure_writable(dir: &Path) -> crate::Result<()> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let probe = dir.join(".physinv-write-probe");
    std::fs::write(&probe, b"").map_err(io_error(&probe))?;
    std::fs::remove_file(&probe).map_err(io_error(&probe))
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
    out.push_str(&match &first.selected_on {
        Some(metric) => format!("(test metrics of the network chosen on validation {metric})\n"),
        None => "(test metrics of the last network: no validation scenes)\n".to_string(),
    });
    out
}

/// `text` as one CSV field: quoted (with doubled quotes) if it holds a comma, a quote or a
/// line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
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
    fn non_finite_summary_numbers_are_text() {
        assert_eq!(json_number(1.5), json!(1.5));
        assert_eq!(json_number(f64::NAN), json!("NaN"));
        assert_eq!(json_number(f64::INFINITY), json!("inf"));
        assert_eq!(json_number(f64::NEG_INFINITY), json!("-inf"));
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "19700101-000000");
        assert_eq!(utc_timestamp(1_700_000_000), "20231114-221320");
        assert_eq!(utc_timestamp(951_782_400), "20000229-000000");
    }

    /// Every component of a default directory is a plain name, below `runs/<one entry>/`.
    fn assert_inside_runs(dir: &Path, scenario: &str) {
        use std::path::Component;
        let parts: Vec<Component> = dir.components().collect();
        assert_eq!(parts.len(), 3, "{scenario:?} gave {}", dir.display());
        assert_eq!(parts[0], Component::Normal("runs".as_ref()));
        for part in &parts {
            assert!(
                matches!(part, Component::Normal(p) if *p != ".." && *p != "."),
                "{scenario:?} gave {}",
                dir.display()
            );
        }
    }

    #[test]
    fn default_dirs_of_hostile_scenario_names_stay_inside_runs() {
        for name in [
            "../../x",
            "/abs/path",
            "..",
            ".",
            "a/../../b",
            "",
            "C:\\x",
            "ok_name",
        ] {
            assert_inside_runs(&default_out_dir(name), name);
        }
        assert!(default_out_dir("../../x").starts_with("runs/______x"));
        assert!(default_out_dir("").starts_with("runs/unnamed"));
    }

    #[test]
    fn default_dir_timestamp_has_milliseconds() {
        let dir = default_out_dir("s");
        let stamp = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (seconds, millis) = stamp.split_once('.').expect("seconds.millis");
        assert_eq!(seconds.len(), "YYYYMMDD-HHMMSS".len(), "{stamp}");
        assert_eq!(millis.len(), 3, "{stamp}");
        assert!(millis.chars().all(|c| c.is_ascii_digit()), "{stamp}");
    }

    #[test]
    fn unique_dirs_of_one_base_differ() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp
            .path()
            .join("runs")
            .join("s")
            .join("20231114-221320.123");
        let first = create_unique_dir(&base).unwrap();
        let second = create_unique_dir(&base).unwrap();
        let third = create_unique_dir(&base).unwrap();
        assert_eq!(first, base);
        assert_eq!(second, tmp.path().join("runs/s/20231114-221320.123-2"));
        assert_eq!(third, tmp.path().join("runs/s/20231114-221320.123-3"));
        assert!(first.is_dir() && second.is_dir() && third.is_dir());
    }
}
