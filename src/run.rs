//! Running a whole scenario: every listed method, then `metrics.csv`, `summary.json`, the
//! figures and the comparison table.

use crate::output::{
    comparison_table, create_unique_dir, default_out_dir, ensure_writable, write_metrics_csv,
    write_summary,
};
use crate::processes::{ProcessGroup, SingleProcess};
use crate::scenario::Scenario;
use crate::train::agreed;
use crate::train::checkpoint::checkpoint_file_name;
use crate::train::{Checkpoint, Observer, TrainControl, TrainOutcome, Trainer};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Output directory (default: a new `runs/<scenario>/<timestamp>/`, see
    /// [`default_out_dir`]).
    pub out_dir: Option<PathBuf>,
    /// Run only the methods with these display names (default: all).
    pub methods: Option<Vec<String>>,
    /// Write a checkpoint per method to `<out_dir>/checkpoints/` every this many iterations
    /// (a final checkpoint is always written).
    pub checkpoint_every: Option<usize>,
    /// Continue from the checkpoints in `<out_dir>/checkpoints/` (methods without a
    /// checkpoint start from scratch; those that already reached the iteration or time limit
    /// are not trained again, while larger limits continue them).
    pub resume: bool,
    /// Stop between iterations once set (SIGINT/SIGTERM with [`crate::interrupt::flag`]):
    /// the running method's checkpoint and every result so far are written, then the run ends
    /// with [`crate::Error::Interrupted`].
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The ranks the run is split over (`None`: one process). Every rank makes the same call;
    /// rank 0 alone creates the directory, reads the checkpoints (and hands them to the
    /// others), and writes checkpoints, results and figures.
    pub processes: Option<Arc<dyn ProcessGroup>>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Where the files were written.
    pub out_dir: PathBuf,
    /// One outcome per method run.
    pub outcomes: Vec<TrainOutcome>,
    /// The comparison table as printed.
    pub table: String,
    /// Figures written into `out_dir` (curves of every method, episodes of test scenes).
    pub figures: Vec<PathBuf>,
}

/// Trains every selected method of `scenario` and writes the results.
pub fn run_scenario(
    scenario: &Scenario,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> crate::Result<RunReport> {
    let trainer = Trainer::new(scenario)?;
    let processes = options
        .processes
        .clone()
        .unwrap_or_else(|| Arc::new(SingleProcess));
    let root = processes.rank() == 0;
    let out_dir = agreed(processes.as_ref(), prepare_out_dir(options, scenario, root))?;
    let out_dir = shared_path(processes.as_ref(), out_dir);
    let lock = root
        .then(|| crate::lock::RunLock::acquire(&out_dir))
        .transpose();
    let _lock = agreed(processes.as_ref(), lock)?;
    let mut outcomes = Vec::new();
    for i in 0..scenario.spec.methods.len() {
        let name = scenario.method_name(i);
        if let Some(selected) = &options.methods {
            if !selected.contains(&name) {
                continue;
            }
        }
        let path = out_dir
            .join("checkpoints")
            .join(checkpoint_file_name(&name));
        let resume = match options.resume && root && path.exists() {
            true => Checkpoint::load(&path).map(Some),
            false => Ok(None),
        };
        let resume = shared_checkpoint(processes.as_ref(), agreed(processes.as_ref(), resume)?)?;
        let control = TrainControl {
            checkpoint_every: options.checkpoint_every,
            checkpoint_path: Some(path),
            resume,
            stop: options.stop.clone(),
            processes: Some(processes.clone()),
        };
        let keep = |outcomes: &[TrainOutcome]| -> crate::Result<()> {
            if !root {
                return Ok(());
            }
            let metrics = trainer.metric_names();
            write_metrics_csv(&out_dir.join("metrics.csv"), &metrics, outcomes)?;
            write_summary(&out_dir.join("summary.json"), &scenario.spec.name, outcomes)
        };
        match trainer.train_with(i, observer, &control) {
            Ok(outcome) if outcome.interrupted => {
                let error = crate::Error::Interrupted {
                    method: outcome.method.clone(),
                    iteration: outcome.iterations,
                };
                outcomes.push(outcome);
                keep(&outcomes)?;
                return Err(error);
            }
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                // Keep what the methods before this one produced.
                if !outcomes.is_empty() {
                    keep(&outcomes)?;
                }
                return Err(error);
            }
        }
    }
    if outcomes.is_empty() {
        return Err(crate::Error::NoMethodSelected {
            available: (0..scenario.spec.methods.len())
                .map(|i| scenario.method_name(i))
                .collect(),
        });
    }
    if !root {
        return Ok(RunReport {
            out_dir,
            table: comparison_table(&outcomes),
            outcomes,
            figures: Vec::new(),
        });
    }
    write_metrics_csv(
        &out_dir.join("metrics.csv"),
        &trainer.metric_names(),
        &outcomes,
    )?;
    write_summary(
        &out_dir.join("summary.json"),
        &scenario.spec.name,
        &outcomes,
    )?;
    let mut figures = crate::plot::plot_run(&out_dir, Some(&scenario.main_metric()))?;
    figures.extend(crate::report::draw_run_episodes(
        scenario,
        &outcomes,
        trainer.test_scenes(),
        &out_dir,
    )?);
    Ok(RunReport {
        out_dir,
        table: comparison_table(&outcomes),
        outcomes,
        figures,
    })
}

/// The run directory, created if needed and checked writable (with its `checkpoints/`) on
/// rank 0 (`root`); other ranks touch no file and get the path from rank 0.
fn prepare_out_dir(
    options: &RunOptions,
    scenario: &Scenario,
    root: bool,
) -> crate::Result<PathBuf> {
    if !root {
        return Ok(PathBuf::new());
    }
    let out_dir = match &options.out_dir {
        Some(dir) => dir.clone(),
        None => create_unique_dir(&default_out_dir(&scenario.spec.name))?,
    };
    // Both directories: results go to the run directory, checkpoints below it, and either
    // may be read-only while the other is not.
    ensure_writable(&out_dir)?;
    ensure_writable(&out_dir.join("checkpoints"))?;
    Ok(out_dir)
}

/// Rank 0's `path` on every rank.
fn shared_path(processes: &dyn ProcessGroup, path: PathBuf) -> PathBuf {
    if processes.size() == 1 {
        return path;
    }
    let mut bytes = path.to_string_lossy().into_owned().into_bytes();
    processes.broadcast(0, &mut bytes);
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// Rank 0's checkpoint (read from its file) on every rank, as exact JSON.
fn shared_checkpoint(
    processes: &dyn ProcessGroup,
    checkpoint: Option<Checkpoint>,
) -> crate::Result<Option<Checkpoint>> {
    if processes.size() == 1 {
        return Ok(checkpoint);
    }
    let mut bytes = serde_json::to_vec(&checkpoint).map_err(|e| {
        crate::Error::Config(format!(
            "cannot send the checkpoint to the other ranks: {e}"
        ))
    })?;
    processes.broadcast(0, &mut bytes);
    serde_json::from_slice(&bytes)
        .map_err(|e| crate::Error::Config(format!("the checkpoint rank 0 sent does not read: {e}")))
}

/// Command-line arguments shared by the examples: `[SCENARIO] [--out DIR]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleArgs {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Output directory, if given.
    pub out_dir: Option<PathBuf>,
}

impl ExampleArgs {
    /// Parses `args` (without the program name); `default_scenario` if none is given.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        default_scenario: &str,
    ) -> crate::Result<Self> {
        let mut scenario = None;
        let mut out_dir = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--out" => {
                    let dir = args
                        .next()
                        .ok_or_else(|| crate::Error::Config("--out needs a directory".into()))?;
                    out_dir = Some(PathBuf::from(dir));
                }
                "-h" | "--help" => {
                    return Err(crate::Error::Config(format!(
                        "usage: [SCENARIO.ron] [--out DIR]   (default scenario: {default_scenario})"
                    )))
                }
                flag if flag.starts_with('-') => {
                    return Err(crate::Error::Config(format!(
                        "unknown option '{flag}'; usage: [SCENARIO.ron] [--out DIR]"
                    )))
                }
                path if scenario.is_none() => scenario = Some(PathBuf::from(path)),
                extra => {
                    return Err(crate::Error::Config(format!(
                        "unexpected argument '{extra}'; usage: [SCENARIO.ron] [--out DIR]"
                    )))
                }
            }
        }
        Ok(ExampleArgs {
            scenario: scenario.unwrap_or_else(|| PathBuf::from(default_scenario)),
            out_dir,
        })
    }
}

/// Loads `args.scenario` with `registry`, trains every method with console progress, writes
/// the results and prints the comparison table.
pub fn run_example(args: &ExampleArgs, registry: &crate::Registry) -> crate::Result<RunReport> {
    let scenario = Scenario::load_with(&args.scenario, registry)?;
    eprintln!(
        "scenario '{}' ({}): simulator '{}', {} method(s)",
        scenario.spec.name,
        args.scenario.display(),
        scenario.physics.name(),
        scenario.spec.methods.len()
    );
    let options = RunOptions {
        out_dir: args.out_dir.clone(),
        stop: Some(crate::interrupt::flag()),
        ..RunOptions::default()
    };
    let mut observer = crate::output::ConsoleObserver {
        main_metric: Some(scenario.main_metric()),
    };
    let report = run_scenario(&scenario, &options, &mut observer)?;
    println!("{}", report.table);
    println!(
        "results written to {} (metrics.csv, summary.json, {} figures)",
        report.out_dir.display(),
        report.figures.len()
    );
    Ok(report)
}

/// `main` of the examples: parses the command line (`[SCENARIO] [--out DIR]`, default
/// `default_scenario`), runs [`run_example`] with `registry`, prints an error as one line and
/// returns the exit code.
pub fn example_main(default_scenario: &str, registry: &crate::Registry) -> std::process::ExitCode {
    let result = ExampleArgs::parse(std::env::args().skip(1), default_scenario).and_then(|args| {
        crate::pool::run_in_pool(None, || run_example(&args, registry))
            .map_err(|e| crate::Error::Config(format!("cannot set up the thread pool: {e}")))?
    });
    match result {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
