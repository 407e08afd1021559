//! The comparison protocol: every method of a scenario over several seeds and a grid of values
//! of its own parameters, each value chosen on the validation scenes, and the test metrics of
//! the chosen values summarised over the seeds.
//!
//! A grid names one method's field by its path in the scenario file
//! (`methods[0].optimizer.lr=3e-4,1e-3,3e-3`, [`crate::scenario::ron_path`]); a method without a
//! grid runs with its own value. Several grids of one method run as their product: every
//! combination is one value, labelled by its values joined with ` | ` in the order the grids
//! were given. Each (method, value, seed) is one run of that method alone, in
//! `<out>/<method>/<value>/seed-<k>/` with its checkpoint, so a protocol resumes like any run.
//! Every run gets the scenario's budget, so the methods are compared at equal wall time (or
//! equal iterations, if the scenario gives iterations). The value of each method whose
//! validation metric (`training.select`, by default the loss) has the least geometric mean over
//! the seeds is chosen; a choice on the edge of its grid is reported, since the best value may
//! lie outside. Runs that diverge count as the worst value. The test metrics of the chosen
//! values are reported as geometric means with 95 % intervals over the seeds ([`Interval`]).

pub mod interval;

pub use interval::Interval;

use crate::files::{file_stem, write_atomic};
use crate::output::csv_field;
use crate::run::{run_scenario, RunOptions};
use crate::scenario::ron_path::replace_value;
use crate::scenario::Scenario;
use crate::train::Observer;
use crate::values::NamedValues;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Values of one method's field: `path` (in the scenario file, starting `methods[i]`) and the
/// RON values to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Path of the field, e.g. `methods[0].optimizer.lr`.
    pub path: String,
    /// Values as written in RON.
    pub values: Vec<String>,
}

impl Grid {
    /// The index of the method the path addresses, if it addresses one.
    pub fn method(&self) -> Option<usize> {
        let rest = self.path.strip_prefix("methods[")?;
        let (index, tail) = rest.split_once(']')?;
        (tail.is_empty() || tail.starts_with('.'))
            .then(|| index.trim().parse().ok())
            .flatten()
    }
}

/// What to run: seeds per value, the grids, and which methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    /// Seeds per (method, value): `training.seed`, `training.seed + 1`, ….
    pub seeds: usize,
    /// The grids; several of one method run as their product.
    pub grids: Vec<Grid>,
    /// Run only the methods with these display names (`None`: every method).
    pub methods: Option<Vec<String>>,
}

/// One training run of the protocol.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Method display name.
    pub method: String,
    /// The grid value it ran with (`None`: the method's own).
    pub value: Option<String>,
    /// Its `training.seed`.
    pub seed: u64,
    /// Iterations trained.
    pub iterations: usize,
    /// Training seconds.
    pub wall_s: f64,
    /// The validation value of the selection metric of the kept network (`None` without
    /// validation scenes; infinite if the run diverged).
    pub validation: Option<f64>,
    /// Test metrics of the kept network (empty if the run failed).
    pub test: NamedValues,
    /// The simulator's work during training ([`crate::sim::Work`]).
    pub work: NamedValues,
    /// Why the run failed, if it did (a divergence).
    pub error: Option<String>,
}

/// The value chosen for one method and its runs' summary.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// Method display name.
    pub method: String,
    /// The grid's path, if the method had one (several paths joined with ` × `).
    pub path: Option<String>,
    /// The chosen value.
    pub value: Option<String>,
    /// Every value of the grid with the geometric mean of its validation metric.
    pub grid: Vec<(String, f64)>,
    /// Whether the choice is the first or the last value of a grid of two or more (of any of
    /// the method's grids).
    pub on_edge: bool,
    /// The selection metric over the seeds of the chosen value (validation scenes).
    pub validation: Option<Interval>,
    /// Test metrics over the seeds of the chosen value.
    pub test: Vec<(String, Interval)>,
    /// Mean training seconds and iterations of the chosen value's runs.
    pub wall_s: f64,
    /// Mean iterations.
    pub iterations: f64,
    /// Mean simulator work per run of the chosen value.
    pub work: Vec<(String, f64)>,
}

/// What a protocol produced.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolReport {
    /// Where its files are.
    pub out_dir: PathBuf,
    /// The metric the values were chosen on.
    pub selected_on: String,
    /// Every run.
    pub runs: Vec<Run>,
    /// One choice per method.
    pub choices: Vec<Choice>,
    /// Choices on the edge of their grid and other remarks.
    pub warnings: Vec<String>,
}

/// Settings of one execution of a protocol.
pub struct ProtocolOptions<'a> {
    /// Output directory.
    pub out_dir: PathBuf,
    /// Continue the runs found there.
    pub resume: bool,
    /// Stop request (SIGINT/SIGTERM).
    pub stop: Option<Arc<AtomicBool>>,
    /// An observer for each run.
    pub observer: &'a mut dyn FnMut(&Scenario) -> Box<dyn Observer>,
    /// Told before each run starts: `(method, value, seed)`.
    pub announce: &'a mut dyn FnMut(&str, Option<&str>, u64),
}

/// Runs `protocol` on the scenario `source`, parsed by `parse` (which validates each variant,
/// so a bad grid value gets the scenario's own error before anything is trained).
///
/// # Errors
/// A grid that names no method or a method twice, a value the scenario rejects, a scenario
/// without validation scenes for a grid, an interrupted run, or files that cannot be written.
pub fn run_protocol(
    source: &str,
    parse: &dyn Fn(&str) -> crate::Result<Scenario>,
    protocol: &Protocol,
    mut options: ProtocolOptions<'_>,
) -> crate::Result<ProtocolReport> {
    let base = parse(source)?;
    let variants = variants(source, parse, &base, protocol)?;
    let selected_on = base.spec.training.select.metric().to_string();
    let mut runs = Vec::new();
    for variant in &variants {
        for k in 0..protocol.seeds.max(1) {
            let mut scenario = variant.scenario.clone();
            let seed = base.spec.training.seed.wrapping_add(k as u64);
            scenario.spec.training.seed = seed;
            (options.announce)(&variant.method, variant.value.as_deref(), seed);
            let dir = run_dir(
                &options.out_dir,
                &variant.method,
                variant.value.as_deref(),
                seed,
            );
            let run = train_one(&scenario, variant, seed, &dir, &selected_on, &mut options)?;
            runs.push(run);
        }
    }
    let mut warnings = Vec::new();
    let choices = (0..base.spec.methods.len())
        .filter(|&i| selected(protocol, &base.method_name(i)))
        .map(|i| choose(&base.method_name(i), protocol, i, &runs, &mut warnings))
        .collect();
    let report = ProtocolReport {
        out_dir: options.out_dir.clone(),
        selected_on,
        runs,
        choices,
        warnings,
    };
    write_report(&report)?;
    Ok(report)
}

/// Whether the protocol runs method `name`.
fn selected(protocol: &Protocol, name: &str) -> bool {
    protocol
        .methods
        .as_ref()
        .is_none_or(|m| m.iter().any(|n| n == name))
}

/// One method with one of its grid values, as a scenario of that method alone.
struct Variant {
    method: String,
    value: Option<String>,
    scenario: Scenario,
}

/// Every (method, value) to run, each validated.
fn variants(
    source: &str,
    parse: &dyn Fn(&str) -> crate::Result<Scenario>,
    base: &Scenario,
    protocol: &Protocol,
) -> crate::Result<Vec<Variant>> {
    let methods = base.spec.methods.len();
    for grid in &protocol.grids {
        grid.method().filter(|i| *i < methods).ok_or_else(|| {
            config(format!(
                "grid '{}': the path must start with methods[i], i < {methods} (a grid varies one \
                 method's field)",
                grid.path
            ))
        })?;
        if protocol
            .grids
            .iter()
            .filter(|g| g.path == grid.path)
            .count()
            > 1
        {
            return Err(config(format!("two grids for '{}': give one", grid.path)));
        }
    }
    if !protocol.grids.is_empty() && base.spec.data.validation_count == 0 {
        return Err(config(
            "a grid is chosen on the validation scenes: set data.validation_count > 0".into(),
        ));
    }
    let mut out = Vec::new();
    for i in 0..methods {
        let method = base.method_name(i);
        if !selected(protocol, &method) {
            continue;
        }
        let only = |mut scenario: Scenario| {
            scenario.spec.methods = vec![scenario.spec.methods[i].clone()];
            scenario.spec.methods[0].name = Some(method.clone());
            scenario
        };
        let grids = grids_of(protocol, i);
        if grids.is_empty() {
            out.push(Variant {
                method: method.clone(),
                value: None,
                scenario: only(base.clone()),
            });
            continue;
        }
        let combinations = combinations(&grids);
        let labels: Vec<String> = combinations.iter().map(|c| label(&grids, c)).collect();
        if let Some((a, b)) = crate::files::colliding(&labels, file_stem) {
            return Err(config(format!(
                "{method}: the grid values '{a}' and '{b}' would run in one directory, {} (file \
                 names keep only letters, digits, '-' and '_'); give values that differ there",
                file_stem(a)
            )));
        }
        for (combination, value) in combinations.iter().zip(labels) {
            let mut text = source.to_string();
            for (grid, &k) in grids.iter().zip(combination) {
                text = replace_value(&text, &grid.path, &grid.values[k])
                    .map_err(|e| config(format!("grid '{}': {e}", grid.path)))?;
            }
            out.push(Variant {
                method: method.clone(),
                value: Some(value),
                scenario: only(parse(&text)?),
            });
        }
    }
    Ok(out)
}

/// The grids of method `i`, in the order given.
fn grids_of(protocol: &Protocol, i: usize) -> Vec<&Grid> {
    protocol
        .grids
        .iter()
        .filter(|g| g.method() == Some(i))
        .collect()
}

/// Every combination of one value per grid, as value indices, the last grid varying fastest.
fn combinations(grids: &[&Grid]) -> Vec<Vec<usize>> {
    grids.iter().fold(vec![Vec::new()], |acc, grid| {
        acc.into_iter()
            .flat_map(|prefix| {
                (0..grid.values.len()).map(move |k| {
                    let mut next = prefix.clone();
                    next.push(k);
                    next
                })
            })
            .collect()
    })
}

/// The label of a combination: its values joined with ` | ` (one grid: the value itself).
fn label(grids: &[&Grid], combination: &[usize]) -> String {
    grids
        .iter()
        .zip(combination)
        .map(|(g, &k)| g.values[k].as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn config(message: String) -> crate::Error {
    crate::Error::Config(message)
}

/// `<out>/<method>/<value or "default">/seed-<seed>`, each part file-name safe.
fn run_dir(out: &Path, method: &str, value: Option<&str>, seed: u64) -> PathBuf {
    out.join(file_stem(method))
        .join(file_stem(value.unwrap_or("default")))
        .join(format!("seed-{seed}"))
}

/// Trains one variant with one seed in `dir`, resuming its checkpoint if asked. A divergence
/// is a result (the worst), not an error of the protocol.
fn train_one(
    scenario: &Scenario,
    variant: &Variant,
    seed: u64,
    dir: &Path,
    selected_on: &str,
    options: &mut ProtocolOptions<'_>,
) -> crate::Result<Run> {
    let run_options = RunOptions {
        out_dir: Some(dir.to_path_buf()),
        resume: options.resume && dir.join("checkpoints").exists(),
        stop: options.stop.clone(),
        ..RunOptions::default()
    };
    let mut observer = (options.observer)(scenario);
    let mut run = Run {
        method: variant.method.clone(),
        value: variant.value.clone(),
        seed,
        iterations: 0,
        wall_s: 0.0,
        validation: None,
        test: NamedValues::default(),
        work: NamedValues::default(),
        error: None,
    };
    match run_scenario(scenario, &run_options, observer.as_mut()) {
        Ok(report) => {
            let outcome = &report.outcomes[0];
            run.iterations = outcome.iterations;
            run.wall_s = outcome.wall_s;
            run.validation = outcome.validation.as_ref().and_then(|v| v.get(selected_on));
            run.test = outcome.metrics.clone();
            run.work = outcome.work.clone();
        }
        Err(e @ crate::Error::Diverged { .. }) => {
            run.validation = Some(f64::INFINITY);
            run.error = Some(e.to_string());
        }
        Err(e) => return Err(e),
    }
    Ok(run)
}

/// The value of method `i` with the least geometric mean of the validation metric over its
/// seeds, and the summary of its runs; a warning if it lies on the edge of its grid.
fn choose(
    method: &str,
    protocol: &Protocol,
    i: usize,
    runs: &[Run],
    warnings: &mut Vec<String>,
) -> Choice {
    let grids = grids_of(protocol, i);
    let combinations = combinations(&grids);
    let values: Vec<Option<String>> = if grids.is_empty() {
        vec![None]
    } else {
        combinations
            .iter()
            .map(|c| Some(label(&grids, c)))
            .collect()
    };
    let of = |value: &Option<String>| -> Vec<&Run> {
        runs.iter()
            .filter(|r| r.method == method && &r.value == value)
            .collect()
    };
    let score = |value: &Option<String>| -> f64 {
        let v: Vec<f64> = of(value).iter().filter_map(|r| r.validation).collect();
        if v.is_empty() {
            f64::NAN
        } else if v.iter().any(|x| !x.is_finite()) {
            f64::INFINITY
        } else {
            Interval::of(&v).mean
        }
    };
    let scores: Vec<f64> = values.iter().map(score).collect();
    let best = (0..values.len())
        .min_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        .unwrap_or(0);
    let chosen_combination = combinations.get(best).cloned().unwrap_or_default();
    let mut on_edge = false;
    for (g, &k) in grids.iter().zip(&chosen_combination) {
        if g.values.len() >= 2 && (k == 0 || k + 1 == g.values.len()) {
            on_edge = true;
            warnings.push(format!(
                "{method}: the chosen {} = {} is on the edge of its grid [{}]; the best value may \
                 lie outside it",
                g.path,
                g.values[k],
                g.values.join(", ")
            ));
        }
    }
    let chosen = of(&values[best]);
    let ok: Vec<&Run> = chosen
        .iter()
        .copied()
        .filter(|r| r.error.is_none())
        .collect();
    if ok.len() < chosen.len() {
        warnings.push(format!(
            "{method}: {} of {} seeds of the chosen value failed",
            chosen.len() - ok.len(),
            chosen.len()
        ));
    }
    let names: Vec<String> = ok.first().map(|r| r.test.names.clone()).unwrap_or_default();
    let over =
        |f: &dyn Fn(&Run) -> Option<f64>| -> Vec<f64> { ok.iter().filter_map(|r| f(r)).collect() };
    let mean = |xs: Vec<f64>| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let work_names: Vec<String> = ok.first().map(|r| r.work.names.clone()).unwrap_or_default();
    Choice {
        method: method.to_string(),
        path: (!grids.is_empty()).then(|| {
            grids
                .iter()
                .map(|g| g.path.as_str())
                .collect::<Vec<_>>()
                .join(" × ")
        }),
        value: values[best].clone(),
        grid: values
            .iter()
            .zip(&scores)
            .filter_map(|(v, s)| v.clone().map(|v| (v, *s)))
            .collect(),
        on_edge,
        validation: {
            let v = over(&|r| r.validation);
            (!v.is_empty()).then(|| Interval::of(&v))
        },
        test: names
            .iter()
            .map(|n| (n.clone(), Interval::of(&over(&|r| r.test.get(n)))))
            .collect(),
        wall_s: mean(over(&|r| Some(r.wall_s))),
        iterations: mean(over(&|r| Some(r.iterations as f64))),
        work: work_names
            .iter()
            .map(|n| (n.clone(), mean(over(&|r| r.work.get(n)))))
            .collect(),
    }
}

/// The protocol's table: per method the chosen value, seeds, mean training time and
/// iterations, and the geometric mean [95 % interval] of each test metric in `metrics`
/// (every metric if empty).
pub fn protocol_table(report: &ProtocolReport, metrics: &[String]) -> String {
    let mut out = String::new();
    for c in &report.choices {
        let value = match (&c.path, &c.value) {
            (Some(p), Some(v)) => format!("{p} = {v}"),
            _ => "as written".to_string(),
        };
        let seeds = c.test.first().map_or(0, |(_, i)| i.seeds);
        out.push_str(&format!(
            "{}  ({value}{}; {seeds} seeds; {:.1} s, {:.0} iterations per run)\n",
            c.method,
            if c.on_edge {
                ", ON THE GRID'S EDGE"
            } else {
                ""
            },
            c.wall_s,
            c.iterations
        ));
        for (name, interval) in &c.test {
            if metrics.is_empty() || metrics.contains(name) {
                out.push_str(&format!("    {name:<14} {}\n", interval.text()));
            }
        }
        let work: Vec<String> = c
            .work
            .iter()
            .filter(|(_, v)| *v > 0.0)
            .map(|(n, v)| format!("{} {v:.3e}", n.trim_start_matches("sim_")))
            .collect();
        if !work.is_empty() {
            out.push_str(&format!(
                "    simulator work per run: {}\n",
                work.join(", ")
            ));
        }
    }
    out.push_str(&format!(
        "(test metrics: geometric mean over seeds [95 % interval]; values chosen on validation {})\n",
        report.selected_on
    ));
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

/// `protocol.json` (the report) and `protocol.csv` (one row per run) in the output directory.
fn write_report(report: &ProtocolReport) -> crate::Result<()> {
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| config(format!("cannot serialise the protocol report: {e}")))?;
    write_atomic(&report.out_dir.join("protocol.json"), json.as_bytes())?;
    write_atomic(
        &report.out_dir.join("protocol.csv"),
        runs_csv(&report.runs).as_bytes(),
    )
}

/// One row per run: method, value, seed, iterations, wall_s, validation, error, then the test
/// metrics and the work of the first successful run's names.
pub fn runs_csv(runs: &[Run]) -> String {
    let first = runs.iter().find(|r| r.error.is_none());
    let test: Vec<String> = first.map(|r| r.test.names.clone()).unwrap_or_default();
    let work: Vec<String> = first.map(|r| r.work.names.clone()).unwrap_or_default();
    let mut text = String::from("method,value,seed,iterations,wall_s,validation,error");
    for n in test.iter().chain(&work) {
        text.push(',');
        text.push_str(&csv_field(n));
    }
    text.push('\n');
    for r in runs {
        let number = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:e}"));
        text.push_str(&format!(
            "{},{},{},{},{:e},{},{}",
            csv_field(&r.method),
            csv_field(r.value.as_deref().unwrap_or("")),
            r.seed,
            r.iterations,
            r.wall_s,
            number(r.validation),
            csv_field(r.error.as_deref().unwrap_or("")),
        ));
        for n in &test {
            text.push(',');
            text.push_str(&number(r.test.get(n)));
        }
        for n in &work {
            text.push(',');
            text.push_str(&number(r.work.get(n)));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_addresses_a_method_by_its_path() {
        let grid = |path: &str| Grid {
            path: path.into(),
            values: vec![],
        };
        assert_eq!(grid("methods[2].optimizer.lr").method(), Some(2));
        assert_eq!(grid("methods[0]").method(), Some(0));
        assert_eq!(grid("objective.force_weight").method(), None);
        assert_eq!(grid("methods[x].lr").method(), None);
        assert_eq!(grid("methods[1]x").method(), None);
    }
}
