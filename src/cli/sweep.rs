//! `physinv sweep`: compare the methods over several values of one scenario field.
//!
//! The field is addressed by a dotted path into the scenario file (`simulator.params.xi`,
//! `training.batch`, `methods[0].optimizer.lr`); for each value the file's text is edited at
//! that place ([`crate::scenario::ron_path`]) and parsed and validated anew, so a bad value gets the
//! scenario's own error message.

use super::{default_dir, note, progress, read_source, Global, LimitArgs};
use crate::files::write_atomic;
use crate::output::create_unique_dir;
use crate::output::csv_field;
use crate::plot::{plot_sweep, SweepPoint};
use crate::run::{run_scenario, RunOptions};
use crate::scenario::ron_path::{replace_value, split_values};
use crate::scenario::Scenario;
use crate::train::Trainer;
use anyhow::{bail, Context as _};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `physinv sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Scenario file (RON).
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// The field to vary and its values: a dotted path into the scenario file, `=`, and
    /// comma-separated RON values, e.g. `simulator.params.xi=1,4,32` or
    /// `methods[0].optimizer.lr=1e-3,1e-2`. The field must be written in the file.
    #[arg(long, value_name = "PATH=V1,V2,...")]
    pub param: String,
    /// Output directory: one run per value in <DIR>/<PATH>=<VALUE>/, plus sweep.csv and the
    /// sweep figures [default: runs/<scenario name>/sweep-<UTC timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Training length and seed (the same for every value and method).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Metric to plot and tabulate (repeat for several); default: every metric.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
}

/// One finished run of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The parameter value as written on the command line.
    pub value: String,
    /// Method display name.
    pub method: String,
    /// Final test metrics, in the order of the sweep's metric names.
    pub metrics: Vec<f64>,
}

/// Splits `PATH=V1,V2,...` into the path and the values.
pub fn parse_param(text: &str) -> anyhow::Result<(String, Vec<String>)> {
    let Some((path, values)) = text.split_once('=') else {
        bail!("--param '{text}': expected PATH=V1,V2,..., e.g. simulator.params.xi=1,4");
    };
    let path = path.trim().to_string();
    let values = split_values(values);
    if path.is_empty() || values.iter().any(|v| v.is_empty()) {
        bail!("--param '{text}': expected PATH=V1,V2,... with non-empty path and values");
    }
    Ok((path, values))
}

/// A file-name-safe version of `text`.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The `sweep.csv` text: `<path>,method,<metric>...`, one row per value and method.
pub fn sweep_csv(path: &str, metric_names: &[String], rows: &[SweepRow]) -> String {
    let mut text = format!("{},method", csv_field(path));
    for name in metric_names {
        text.push(',');
        text.push_str(&csv_field(name));
    }
    text.push('\n');
    for row in rows {
        text.push_str(&format!(
            "{},{}",
            csv_field(&row.value),
            csv_field(&row.method)
        ));
        for v in &row.metrics {
            text.push_str(&format!(",{v:e}"));
        }
        text.push('\n');
    }
    text
}

/// The sweep table: one row per value and method, the chosen metrics as columns.
pub fn sweep_table(path: &str, names: &[String], columns: &[usize], rows: &[SweepRow]) -> String {
    let vw = rows
        .iter()
        .map(|r| r.value.len())
        .chain([path.len()])
        .max()
        .unwrap_or(5);
    let mw = rows
        .iter()
        .map(|r| r.method.len())
        .chain([6])
        .max()
        .unwrap_or(6);
    let mut out = format!("{path:<vw$}  {:<mw$}", "method");
    for &c in columns {
        out.push_str(&format!("  {:>13}", names[c]));
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!("{:<vw$}  {:<mw$}", row.value, row.method));
        for &c in columns {
            out.push_str(&format!("  {:>13.4e}", row.metrics[c]));
        }
        out.push('\n');
    }
    out
}

/// Runs `physinv sweep`.
pub fn run(args: &SweepArgs, global: Global) -> anyhow::Result<()> {
    let source = args
        .limits
        .edits
        .edit(&read_source(&args.scenario)?, &args.scenario)?;
    let (path, values) = parse_param(&args.param)?;
    let dir_of = |value: &str| safe(&format!("{path}={value}"));
    if let Some((a, b)) = crate::files::colliding(&values, dir_of) {
        bail!(
            "--param: the values '{a}' and '{b}' would run in one directory, {} (file names keep \
             letters, digits, '.', '-', '+' and '='); give values that differ there",
            dir_of(a)
        );
    }
    // Build every variant first, so a bad path or value fails before any training.
    let mut scenarios: Vec<(String, Scenario)> = Vec::new();
    for value in &values {
        let text = replace_value(&source, &path, value).context("cannot sweep")?;
        let scenario = global
            .scenario_from_source(&text, &args.scenario, &args.limits)
            .with_context(|| format!("with {path} = {value}"))?;
        scenarios.push((value.clone(), scenario));
    }
    let first = &scenarios[0].1;
    let names = Trainer::new(first)?.metric_names();
    let columns: Vec<usize> = if args.metrics.is_empty() {
        (0..names.len()).collect()
    } else {
        args.metrics
            .iter()
            .map(|m| {
                names.iter().position(|n| n == m).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no metric '{m}'; this scenario reports: {}",
                        names.join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => create_unique_dir(&default_dir(&first.spec.name, "sweep"))?,
    };
    let mut rows = Vec::new();
    for (value, scenario) in &scenarios {
        note(global, format_args!("== {path} = {value}"));
        let options = RunOptions {
            out_dir: Some(out.join(dir_of(value))),
            stop: Some(crate::interrupt::flag()),
            ..RunOptions::default()
        };
        let mut observer = progress::observer_for(scenario, global);
        let report = run_scenario(scenario, &options, observer.as_mut())
            .with_context(|| format!("with {path} = {value}"))?;
        drop(observer);
        note(global, report.table.trim_end());
        for outcome in &report.outcomes {
            rows.push(SweepRow {
                value: value.clone(),
                method: outcome.method.clone(),
                metrics: names
                    .iter()
                    .map(|n| outcome.metrics.get(n).unwrap_or(f64::NAN))
                    .collect(),
            });
        }
    }
    let csv = out.join("sweep.csv");
    write_atomic(&csv, sweep_csv(&path, &names, &rows).as_bytes())?;
    draw_figures(&out, &path, &names, &columns, &rows, global);
    println!("{}", sweep_table(&path, &names, &columns, &rows).trim_end());
    note(global, format_args!("results written to {}", out.display()));
    Ok(())
}

/// One figure per chosen metric, if every value is a number.
fn draw_figures(
    out: &Path,
    path: &str,
    names: &[String],
    columns: &[usize],
    rows: &[SweepRow],
    global: Global,
) {
    let numeric: Option<Vec<f64>> = rows.iter().map(|r| r.value.parse::<f64>().ok()).collect();
    let Some(xs) = numeric else {
        note(
            global,
            "note: the swept values are not all numbers; no sweep figures drawn",
        );
        return;
    };
    let positive = xs.iter().all(|x| *x > 0.0);
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(*x), h.max(*x))
        });
    // A decade or more between the extremes reads better on a logarithmic axis.
    let log_x = positive && hi >= 10.0 * lo;
    for &c in columns {
        let points: Vec<SweepPoint> = rows
            .iter()
            .zip(&xs)
            .map(|(r, x)| SweepPoint {
                value: *x,
                method: r.method.clone(),
                metric: r.metrics[c],
            })
            .collect();
        let stem = out.join(safe(&format!("sweep_{}", names[c])));
        match plot_sweep(&stem, path, &names[c], &points, log_x) {
            Ok(files) => {
                for f in files {
                    note(global, format_args!("wrote {}", f.display()));
                }
            }
            Err(e) => eprintln!("warning: could not draw the sweep figure: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_is_split_into_path_and_values() {
        let (p, v) = parse_param("simulator.params.xi=1, 4,32").unwrap();
        assert_eq!(p, "simulator.params.xi");
        assert_eq!(v, vec!["1", "4", "32"]);
        assert!(parse_param("xi").is_err());
        assert!(parse_param("xi=1,,2").is_err());
        assert!(parse_param("=1").is_err());
    }

    #[test]
    fn csv_has_a_row_per_value_and_method() {
        let rows = vec![
            SweepRow {
                value: "2".into(),
                method: "SIP".into(),
                metrics: vec![0.5, 0.25],
            },
            SweepRow {
                value: "[1.0, 2.0]".into(),
                method: "Adam".into(),
                metrics: vec![1.0, 2.0],
            },
        ];
        let csv = sweep_csv("p", &["loss".into(), "x".into()], &rows);
        assert_eq!(
            csv,
            "p,method,loss,x\n2,SIP,5e-1,2.5e-1\n\"[1.0, 2.0]\",Adam,1e0,2e0\n"
        );
    }
}
