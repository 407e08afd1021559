//! `metrics.csv` of a run directory and its training-curve figures.

use super::lines::{LineChart, Series};
use super::{file_stem, render, Axis};
use std::path::{Path, PathBuf};

/// Leading columns of `metrics.csv` before the metric columns.
const FIXED_COLUMNS: [&str; 4] = ["method", "split", "iteration", "wall_s"];

/// Most points per line for which every point gets a marker in [`plot_run`].
const MARKER_LIMIT: usize = 40;

/// One logged evaluation: a row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    /// Training method (e.g. `sip`, `adam`).
    pub method: String,
    /// Scenes the row is averaged over: `validation`, `test` or `test_last`.
    pub split: String,
    /// Training iteration at which the evaluation was logged.
    pub iteration: usize,
    /// Wall-clock time since the method started training \[s\].
    pub wall_s: f64,
    /// One value per entry of [`MetricsTable::metric_names`]; may be NaN or infinite (an
    /// empty field, a diagnostic the row does not have, is NaN).
    pub values: Vec<f64>,
}

/// A parsed `metrics.csv` (written by [`crate::output::write_metrics_csv`]).
///
/// The header is `method,split,iteration,wall_s,<columns…>`; every column after `wall_s` is
/// numeric and becomes a metric, including the trailing counters and diagnostics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsTable {
    /// Names of the numeric columns after `wall_s`, in file order.
    pub metric_names: Vec<String>,
    /// Rows in file order.
    pub rows: Vec<MetricsRow>,
}

impl MetricsTable {
    /// Reads and parses `path`. Blank lines are skipped; fields are trimmed; numbers are parsed
    /// as Rust `f64` (`NaN`, `inf` accepted).
    ///
    /// # Errors
    /// [`crate::Error::Io`] if the file cannot be read; [`crate::Error::Config`] naming the file
    /// and the 1-based line for a bad header, a row with the wrong number of fields, or a field
    /// that is not a number.
    pub fn read(path: &Path) -> crate::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a `metrics.csv`; `path` is only used in error messages.
    ///
    /// # Errors
    /// As [`MetricsTable::read`], without the I/O error.
    pub fn parse(text: &str, path: &Path) -> crate::Result<Self> {
        let bad = |line: usize, message: String| {
            crate::Error::Config(format!("{}:{line}: {message}", path.display()))
        };
        // RFC 4180 records (quoted fields may hold commas, quotes and newlines), with the
        // 1-based line each starts on; blank lines are skipped.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        // The reader's own line count skips blank lines: count from the byte offset instead.
        let line_at = |position: Option<&csv::Position>| {
            position.map_or(0, |p| {
                let bytes = text.as_bytes();
                let mut start = (p.byte() as usize).min(bytes.len());
                // A record after blank lines is reported where the blank lines begin.
                while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
                    start += 1;
                }
                bytes[..start].iter().filter(|&&c| c == b'\n').count() + 1
            })
        };
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad(line_at(e.position()), format!("not CSV: {e}")))?;
            let line = line_at(record.position());
            if record.iter().all(str::is_empty) {
                continue;
            }
            records.push((line, record));
        }
        let mut lines = records.into_iter();

        let Some((header_line, header)) = lines.next() else {
            return Err(crate::Error::Config(format!(
                "{}: empty file, expected the header `{},…`",
                path.display(),
                FIXED_COLUMNS.join(",")
            )));
        };
        let columns: Vec<&str> = header.iter().collect();
        let fixed = FIXED_COLUMNS.len();
        if columns.len() < fixed || columns[..fixed] != FIXED_COLUMNS {
            return Err(bad(
                header_line,
                format!(
                    "header must start with `{}`, found `{}`",
                    FIXED_COLUMNS.join(","),
                    columns.join(",")
                ),
            ));
        }
        let metric_names: Vec<String> = columns[fixed..].iter().map(|s| s.to_string()).collect();

        let mut rows = Vec::new();
        for (line, record) in lines {
            let fields: Vec<&str> = record.iter().collect();
            if fields.len() != columns.len() {
                return Err(bad(
                    line,
                    format!(
                        "expected {} fields (as in the header), found {}",
                        columns.len(),
                        fields.len()
                    ),
                ));
            }
            let number = |k: usize| {
                if fields[k].is_empty() {
                    return Ok(f64::NAN);
                }
                fields[k].parse::<f64>().map_err(|_| {
                    bad(
                        line,
                        format!("column `{}`: `{}` is not a number", columns[k], fields[k]),
                    )
                })
            };
            let iteration = fields[2].parse::<usize>().map_err(|_| {
                bad(
                    line,
                    format!(
                        "column `iteration`: `{}` is not a non-negative integer",
                        fields[2]
                    ),
                )
            })?;
            let wall_s = number(3)?;
            let values = (fixed..fields.len())
                .map(number)
                .collect::<crate::Result<_>>()?;
            rows.push(MetricsRow {
                method: fields[0].to_string(),
                split: fields[1].to_string(),
                iteration,
                wall_s,
                values,
            });
        }
        Ok(Self { metric_names, rows })
    }

    /// Distinct method names, in order of first appearance.
    pub fn methods(&self) -> Vec<String> {
        let mut methods: Vec<String> = Vec::new();
        for row in &self.rows {
            if !methods.contains(&row.method) {
                methods.push(row.method.clone());
            }
        }
        methods
    }

    /// Rows of `method`'s training curve: its `validation` rows, or its `test` rows when it
    /// has none (a run without validation scenes).
    pub fn curve<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a MetricsRow> + 'a {
        let split = if self
            .rows
            .iter()
            .any(|r| r.method == method && r.split == "validation")
        {
            "validation"
        } else {
            "test"
        };
        self.rows
            .iter()
            .filter(move |r| r.method == method && r.split == split)
    }

    /// Index of metric `name` in [`MetricsTable::metric_names`] and in every row's values.
    pub fn metric_index(&self, name: &str) -> Option<usize> {
        self.metric_names.iter().position(|n| n == name)
    }

    /// The table as `metrics.csv` text: the header, then a row per entry; a NaN value is an
    /// empty field, so [`MetricsTable::parse`] reads the text back as this table.
    pub fn to_csv(&self) -> String {
        let mut text = FIXED_COLUMNS.join(",");
        for name in &self.metric_names {
            text.push(',');
            text.push_str(&csv_field(name));
        }
        text.push('\n');
        for row in &self.rows {
            text.push_str(&format!(
                "{},{},{},{:.6}",
                csv_field(&row.method),
                csv_field(&row.split),
                row.iteration,
                row.wall_s
            ));
            for v in &row.values {
                text.push(',');
                if !v.is_nan() {
                    text.push_str(&format!("{v:e}"));
                }
            }
            text.push('\n');
        }
        text
    }

    /// Several tables as one (runs of different methods of a scenario, e.g. trained at the
    /// same time in separate processes): the union of their metric columns in order of first
    /// appearance, every row kept, NaN where a row's table lacks a column.
    pub fn merged(tables: &[MetricsTable]) -> MetricsTable {
        let mut metric_names: Vec<String> = Vec::new();
        for name in tables.iter().flat_map(|t| &t.metric_names) {
            if !metric_names.contains(name) {
                metric_names.push(name.clone());
            }
        }
        let rows = tables
            .iter()
            .flat_map(|table| {
                let names = &metric_names;
                table.rows.iter().map(move |row| MetricsRow {
                    values: names
                        .iter()
                        .map(|n| table.metric_index(n).map_or(f64::NAN, |k| row.values[k]))
                        .collect(),
                    ..row.clone()
                })
            })
            .collect();
        MetricsTable { metric_names, rows }
    }
}

/// `field` as one CSV field: quoted (quotes doubled) if it holds a comma, quote or line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `validation` if any method's curve is on validation scenes, else `test`.
fn curve_split(table: &MetricsTable) -> &'static str {
    if table.rows.iter().any(|r| r.split == "validation") {
        "validation"
    } else {
        "test"
    }
}

/// Redraws the training curves of a finished run directory from `<dir>/metrics.csv`.
///
/// For the loss and for `main_metric` (default: `x_dist` or `x_mae` if the table has it,
/// else `final_error`) it writes `<name>_vs_iteration` and `<name>_vs_time` (`.png` and `.svg`):
/// one line per method (colours in order of first appearance), logarithmic y axis, x axis
/// "iteration" or "wall-clock time \[s\]". Metric names are made file-name safe (characters other
/// than letters, digits, `_`, `-`, `.` become `_`). If `main_metric` is `loss`, only the four
/// loss files are written. Returns the written paths.
///
/// Rows whose value is non-finite or non-positive are skipped (see the [module](super) docs);
/// a table without rows still gives figures, marked "no plottable data".
///
/// # Errors
/// Those of [`MetricsTable::read`]; [`crate::Error::Config`] if the table lacks the `loss`
/// column or the main metric (the message lists the available columns); I/O and backend
/// errors from writing the figures.
pub fn plot_run(dir: &Path, main_metric: Option<&str>) -> crate::Result<Vec<PathBuf>> {
    let csv = dir.join("metrics.csv");
    let table = MetricsTable::read(&csv)?;
    plot_table(&table, &csv, dir, main_metric)
}

/// [`plot_run`] of several runs' `metrics.csv` in one figure per metric ([`MetricsTable::merged`]),
/// written to `out`; the merged table is written there too, as `metrics.csv`, unless `out` is
/// one of the runs.
///
/// # Errors
/// As [`plot_run`]; [`crate::Error::Config`] if a method appears in two of the runs (its
/// curves could not be told apart).
pub fn plot_runs(
    dirs: &[PathBuf],
    out: &Path,
    main_metric: Option<&str>,
) -> crate::Result<Vec<PathBuf>> {
    let tables = dirs
        .iter()
        .map(|d| MetricsTable::read(&d.join("metrics.csv")))
        .collect::<crate::Result<Vec<_>>>()?;
    let mut owner: Vec<(String, &PathBuf)> = Vec::new();
    for (table, dir) in tables.iter().zip(dirs) {
        for method in table.methods() {
            if let Some((_, first)) = owner.iter().find(|(m, _)| *m == method) {
                return Err(crate::Error::Config(format!(
                    "method '{method}' is in both {} and {}: plot runs of different methods",
                    first.display(),
                    dir.display()
                )));
            }
            owner.push((method, dir));
        }
    }
    let table = MetricsTable::merged(&tables);
    let csv = out.join("metrics.csv");
    if !dirs.iter().any(|d| d == out) {
        std::fs::create_dir_all(out).map_err(|source| crate::Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
        crate::files::write_atomic(&csv, table.to_csv().as_bytes())?;
    }
    plot_table(&table, &csv, out, main_metric)
}

/// The figures of `table` (read from `csv`) into `dir`.
fn plot_table(
    table: &MetricsTable,
    csv: &Path,
    dir: &Path,
    main_metric: Option<&str>,
) -> crate::Result<Vec<PathBuf>> {
    let main = match main_metric {
        Some(name) => name.to_string(),
        None => ["x_dist", "x_mae"]
            .into_iter()
            .find(|m| table.metric_index(m).is_some())
            .unwrap_or("final_error")
            .to_string(),
    };
    let mut metrics = vec!["loss".to_string()];
    if main != "loss" {
        metrics.push(main);
    }

    let methods = table.methods();
    let mut written = Vec::new();
    for metric in &metrics {
        let index = table.metric_index(metric).ok_or_else(|| {
            crate::Error::Config(format!(
                "{}: no column `{metric}` to plot (metric columns: {})",
                csv.display(),
                table.metric_names.join(", ")
            ))
        })?;
        for (x_name, x_title, x_label, x_of) in [
            (
                "iteration",
                "iteration",
                "iteration",
                (|r: &MetricsRow| r.iteration as f64) as fn(&MetricsRow) -> f64,
            ),
            (
                "time",
                "wall-clock time",
                "wall-clock time [s]",
                |r: &MetricsRow| r.wall_s,
            ),
        ] {
            let series: Vec<Series> = methods
                .iter()
                .enumerate()
                .map(|(k, method)| Series {
                    name: method.clone(),
                    colour_index: k,
                    points: table
                        .curve(method)
                        .map(|r| (x_of(r), r.values[index]))
                        .collect(),
                })
                .collect();
            let markers = series.iter().all(|s| s.points.len() <= MARKER_LIMIT);
            let chart = LineChart {
                title: format!("{metric} against {x_title}"),
                x_label: x_label.to_string(),
                y_label: format!("{metric}, {} (log scale)", curve_split(table)),
                x_axis: Axis { log: false },
                y_axis: Axis { log: true },
                series,
                markers,
            };
            let stem = dir.join(format!("{}_vs_{x_name}", file_stem(metric)));
            written.extend(render(&stem, &chart)?);
        }
    }
    Ok(written)
}
