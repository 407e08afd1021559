//! `physinv compare`: every method of a scenario, same budget, one table; with `--seeds` and
//! `--grid`, the comparison protocol ([`crate::protocol`]): several seeds per method, grids of
//! each method's parameters chosen on the validation scenes, and test metrics as geometric
//! means with 95 % intervals.

use super::sweep::parse_param;
use super::train::run_and_report;
use super::{default_dir, note, progress, read_source, Global, LimitArgs};
use crate::output::create_unique_dir;
use crate::plot::{plot_sweep, SweepPoint};
use crate::protocol::{
    protocol_table, run_protocol, Grid, Protocol, ProtocolOptions, ProtocolReport,
};
use crate::run::RunOptions;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `physinv compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Scenario file (RON).
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// Output directory for metrics.csv, summary.json, checkpoints/ and figures (with
    /// `--seeds`/`--grid`: one run per method, value and seed, plus protocol.csv,
    /// protocol.json and figures) [default: runs/<scenario name>/<UTC timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Training length and seed (the same for every method).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Train every method (and grid value) with N seeds: training.seed, training.seed + 1, …
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seeds: usize,
    /// A grid of one method's field, chosen on the validation scenes: a dotted path starting
    /// with `methods[i]` and comma-separated RON values, e.g.
    /// `methods[0].optimizer.lr=3e-4,1e-3,3e-3`. Repeat for other methods, or for another
    /// field of the same method: its grids then run as their product.
    #[arg(long = "grid", value_name = "PATH=V1,V2,...")]
    pub grids: Vec<String>,
    /// Run only the method with this display name (repeat for several); default: every
    /// method.
    #[arg(long = "method", value_name = "NAME")]
    pub methods: Vec<String>,
    /// Continue the protocol's runs found in --out (finished runs are read back, not trained).
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Test metric to tabulate (repeat for several); default: every metric.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
}

/// Runs `physinv compare`.
pub fn run(args: &CompareArgs, global: Global) -> anyhow::Result<()> {
    let plain = args.methods.is_empty();
    if args.seeds <= 1 && args.grids.is_empty() && !args.resume && plain {
        let scenario = global.load_scenario(&args.scenario, &args.limits)?;
        let options = RunOptions {
            out_dir: args.out.clone(),
            stop: Some(crate::interrupt::flag()),
            ..RunOptions::default()
        };
        run_and_report(&scenario, &options, global)?;
        return Ok(());
    }
    let source = args
        .limits
        .edits
        .edit(&read_source(&args.scenario)?, &args.scenario)?;
    let parse = |text: &str| global.scenario_from_source(text, &args.scenario, &args.limits);
    let base = parse(&source)?;
    let grids = args
        .grids
        .iter()
        .map(|g| parse_param(g).map(|(path, values)| Grid { path, values }))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let methods = (!args.methods.is_empty()).then(|| args.methods.clone());
    if let Some(methods) = &methods {
        super::train::selected_methods(&base, methods)?;
    }
    let protocol = Protocol {
        seeds: args.seeds.max(1),
        grids,
        methods,
    };
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => create_unique_dir(&default_dir(&base.spec.name, "compare"))?,
    };
    let mut observer =
        |scenario: &crate::scenario::Scenario| progress::observer_for(scenario, global);
    let mut announce = |method: &str, value: Option<&str>, seed: u64| {
        let value = value.map(|v| format!(" at {v}")).unwrap_or_default();
        note(global, format_args!("== {method}{value}, seed {seed}"));
    };
    let report = run_protocol(
        &source,
        &parse,
        &protocol,
        ProtocolOptions {
            out_dir,
            resume: args.resume,
            stop: Some(crate::interrupt::flag()),
            observer: &mut observer,
            announce: &mut announce,
        },
    )
    .context("comparison protocol")?;
    draw_figures(&report, global);
    println!("{}", protocol_table(&report, &args.metrics).trim_end());
    note(
        global,
        format_args!("results written to {}", report.out_dir.display()),
    );
    Ok(())
}

/// The protocol's figures: for each grid, the validation metric against the values of every
/// method with that path's last segment; and the force–error front, total force against final
/// error of every (method, value) over the seeds' geometric means, if the run reports both.
fn draw_figures(report: &ProtocolReport, global: Global) {
    let mut figures = Vec::new();
    for choice in &report.choices {
        let Some(path) = &choice.path else { continue };
        let numeric: Option<Vec<(f64, f64)>> = choice
            .grid
            .iter()
            .map(|(v, s)| v.parse::<f64>().ok().map(|x| (x, *s)))
            .collect();
        let Some(points) = numeric else { continue };
        let log_x = points.iter().all(|(x, _)| *x > 0.0);
        let points: Vec<SweepPoint> = points
            .into_iter()
            .map(|(value, metric)| SweepPoint {
                value,
                method: choice.method.clone(),
                metric,
            })
            .collect();
        let stem = report.out_dir.join(crate::files::file_stem(&format!(
            "grid_{}_{}",
            choice.method, path
        )));
        let metric = format!("validation {} (geometric mean)", report.selected_on);
        figures.push(plot_sweep(&stem, path, &metric, &points, log_x));
    }
    let front = front_points(report);
    if !front.is_empty() {
        let stem = report.out_dir.join("front_total_force_final_error");
        figures.push(plot_sweep(
            &stem,
            "total_force",
            "final_error",
            &front,
            true,
        ));
    }
    for result in figures {
        match result {
            Ok(files) => files
                .iter()
                .for_each(|f| note(global, format_args!("wrote {}", f.display()))),
            Err(e) => eprintln!("warning: could not draw a protocol figure: {e}"),
        }
    }
}

/// `(total_force, final_error)` per method and grid value, geometric means over the seeds.
fn front_points(report: &ProtocolReport) -> Vec<SweepPoint> {
    use crate::protocol::Interval;
    let mut groups: Vec<(String, Option<String>)> = Vec::new();
    for r in report.runs.iter().filter(|r| r.error.is_none()) {
        let key = (r.method.clone(), r.value.clone());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    groups
        .iter()
        .filter_map(|(method, value)| {
            let runs: Vec<_> = report
                .runs
                .iter()
                .filter(|r| r.error.is_none() && &r.method == method && &r.value == value)
                .collect();
            let of = |name: &str| -> Option<f64> {
                let v: Option<Vec<f64>> = runs.iter().map(|r| r.test.get(name)).collect();
                v.map(|v| Interval::of(&v).mean)
            };
            Some(SweepPoint {
                value: of("total_force")?,
                method: method.clone(),
                metric: of("final_error")?,
            })
        })
        .collect()
}
