//! The `physinv` command line: argument definitions and one module per subcommand.
//!
//! This is the logic of the `physinv` binary, which is one line: [`main_with`] the built-in
//! simulators. It lives in the library so it can be tested, and so that a user's crate gets
//! every subcommand for its own simulators:
//!
//! ```no_run
//! use physinv::Registry;
//!
//! fn main() -> std::process::ExitCode {
//!     let registry = Registry::with_builtins();
//!     // registry.register("my_simulator", "…", build);
//!     physinv::cli::main_with(registry)
//! }
//! ```
//!
//! Like a binary it reports errors with `anyhow`; [`main_with`] prints them as one line.
//!
//! | command | what it does |
//! | --- | --- |
//! | `train` | train some or all methods of a scenario, with checkpoints and resume |
//! | `compare` | train every method with the same seed and budget, print the table |
//! | `sweep` | repeat `compare` over values of one scenario field |
//! | `eval` | evaluate a saved network or checkpoint on the test scenes |
//! | `validate` | check a scenario file and print the resolved configuration |
//! | `check-grad` | check the simulator's JVP and VJP against finite differences |
//! | `plot` | redraw the figures of a finished run |
//! | `export` | write trained networks as safetensors and test episodes as `.npz` |

// Argument doc comments double as `--help` text, where placeholders such as `<DIR>` read
// naturally; rustdoc would take them for HTML tags.
#![allow(rustdoc::invalid_html_tags)]

pub mod check_grad;
pub mod compare;
pub mod eval;
pub mod export;
pub mod plot;
pub mod progress;
pub mod sweep;
pub mod train;
pub mod validate;

use crate::processes::ProcessGroup;
use crate::scenario::limits::MAX_THREADS;
use crate::scenario::{ResourceLimits, Scenario};
use crate::Registry;
use anyhow::Context as _;
use clap::{Args, CommandFactory as _, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Train neural-network controllers through physics simulators with scale-invariant physics
/// (SIP) updates, and compare them with back-propagation through the simulator.
#[derive(Debug, Parser)]
#[command(name = "physinv", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Worker threads for the parallel parts (scene sampling, rollouts), 1 to 1024; default:
    /// one per core.
    #[arg(long, global = true, value_name = "N", value_parser = thread_count)]
    pub threads: Option<usize>,
    /// Print nothing but the final table (no progress, no notes).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the methods of a scenario (all, or those named with --method); write
    /// metrics.csv, summary.json and checkpoints; print the comparison table.
    Train(train::TrainArgs),
    /// Train every method of a scenario with the same seed and budget and compare them.
    Compare(compare::CompareArgs),
    /// Compare the methods over several values of one scenario field.
    Sweep(sweep::SweepArgs),
    /// Evaluate a trained network (checkpoint or saved network) on the test scenes.
    Eval(eval::EvalArgs),
    /// Check a scenario file and print the resolved configuration.
    Validate(validate::ValidateArgs),
    /// Check the simulator's JVP against finite differences and its VJP against the JVP.
    CheckGrad(check_grad::CheckGradArgs),
    /// Redraw the figures of a finished run.
    Plot(plot::PlotArgs),
    /// Write the trained networks of a run (or one checkpoint) as safetensors and, with
    /// --scenario, their episodes on the test scenes as .npz, for PyTorch and numpy.
    Export(export::ExportArgs),
}

/// What every command shares: the global options and the simulators scenario files may
/// name.
#[derive(Debug, Clone, Copy)]
pub struct Global<'a> {
    /// `--quiet`, or a rank other than 0 of a job of several (only rank 0 prints).
    pub quiet: bool,
    /// The simulators scenario files are resolved in.
    pub registry: &'a Registry,
    /// The ranks the command runs on (one process unless started by MPI).
    pub processes: &'a Arc<dyn ProcessGroup>,
}

impl Global<'_> {
    /// Loads the scenario file at `path` with this registry and applies `limits`.
    ///
    /// Every rank of a job loads the file; an error on any rank is an error on all
    /// ([`crate::train::agreed`]), so none goes on to wait for the others in training.
    pub fn load_scenario(&self, path: &Path, limits: &LimitArgs) -> crate::Result<Scenario> {
        let scenario = read_source(path)
            .and_then(|s| limits.edits.edit(&s, path))
            .and_then(|s| self.scenario_from_source(&s, path, limits));
        crate::train::agreed(self.processes.as_ref(), scenario)
    }

    /// Whether this process is the one that prints and writes (rank 0).
    pub fn is_root(&self) -> bool {
        self.processes.rank() == 0
    }

    /// Parses and validates scenario `source` (read from `path`, its `--set` edits already
    /// applied by [`EditArgs::edit`]) with this registry within the memory ceiling of
    /// `limits`, then applies its overrides and validates again.
    pub fn scenario_from_source(
        &self,
        source: &str,
        path: &Path,
        limits: &LimitArgs,
    ) -> crate::Result<Scenario> {
        let resources = limits.resources();
        let scenario = Scenario::parse_with_limits(source, path, self.registry, &resources)?;
        if limits.is_empty() {
            return Ok(scenario);
        }
        let mut spec = scenario.spec;
        if let Some(n) = limits.iterations {
            spec.training.iterations = Some(n);
            spec.training.budget_s = None;
        }
        if let Some(b) = limits.budget {
            spec.training.budget_s = Some(b);
            spec.training.iterations = None;
        }
        if let Some(seed) = limits.seed {
            spec.training.seed = seed;
        }
        Scenario::build_with_limits(spec, source, path, self.registry, &resources)
    }
}

/// `main` of a program offering the whole `physinv` command line with the simulators of
/// `registry`: parses the process's arguments (a usage error exits with code 2, `--help` and
/// `--version` with 0), runs the subcommand ([`run_with`]) and prints an error as one line
/// on standard error (`error: …`, each cause once, see [`error_text`]) with exit code 1.
///
/// Started by an MPI launcher in a build with the `mpi` feature, every rank runs the command
/// together ([`crate::processes::launch`]): `train` splits every batch over the ranks, rank 0
/// alone prints and writes. An error ends the whole job ([`exit_code_in`]).
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = Cli::parse();
    let started = match crate::processes::launch::start() {
        Ok(started) => started,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = run_in(cli, &registry, &started.processes);
    exit_code_in(result, &started)
}

/// [`exit_code`] in a job of several ranks: rank 0 prints its error and ends the job at once
/// (`MPI_Abort`). Another rank first gives rank 0 [`ERROR_GRACE`] to do so — an error every
/// rank meets (a bad scenario) is then printed once — and, still running, prints its own as
/// `rank r: …` and ends the job: a failure of its own that the others may be waiting on. Rank
/// 0 waits as long when its error is that another rank failed, so that rank's message comes
/// first. The job ends within about twice [`ERROR_GRACE`] whatever failed. A stop on request
/// (SIGINT/SIGTERM, which `mpirun` forwards to every rank) is agreed by all ranks
/// ([`crate::Error::Interrupted`]): rank 0 reports it and every rank ends normally.
pub fn exit_code_in(
    result: anyhow::Result<()>,
    started: &crate::processes::launch::Started,
) -> ExitCode {
    let processes = &started.processes;
    let Err(error) = &result else {
        return ExitCode::SUCCESS;
    };
    if processes.size() == 1 {
        return exit_code(result);
    }
    let rank = processes.rank();
    let interrupted = error
        .chain()
        .any(|c| matches!(c.downcast_ref(), Some(crate::Error::Interrupted { .. })));
    if interrupted {
        return match rank {
            0 => exit_code(result),
            _ => ExitCode::FAILURE,
        };
    }
    let another_failed = error
        .chain()
        .any(|c| matches!(c.downcast_ref(), Some(crate::Error::RankFailed { .. })));
    if rank != 0 || another_failed {
        std::thread::sleep(ERROR_GRACE);
    }
    let text = error_text(error).replace('\n', " ");
    if rank == 0 {
        eprintln!("error: {text}");
    } else {
        eprintln!("error: rank {rank}: {text}");
    }
    started.abort_job(1);
    ExitCode::FAILURE
}

/// How long a rank other than 0 waits before it reports an error itself (see
/// [`exit_code_in`]).
pub const ERROR_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The exit code of a command's result, printing an error as [`main_with`] does.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e).replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message already
/// holds (library errors such as I/O errors print their source themselves).
pub fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// `true` if `arg` names a subcommand of the command line (`train`, `compare`, …).
pub fn is_subcommand(arg: &str) -> bool {
    Cli::command().find_subcommand(arg).is_some()
}

/// `true` if `args` (without the program name) are a `physinv` command line: global options
/// (`--quiet`, `--threads N`, as clap defines them) followed by a subcommand. Lets a program
/// with a command line of its own hand such arguments to [`main_with`].
pub fn starts_subcommand<S: AsRef<str>>(args: &[S]) -> bool {
    let command = Cli::command();
    let mut rest = args.iter().map(AsRef::as_ref);
    while let Some(arg) = rest.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, _)) => (name, true),
            None => (arg, false),
        };
        let global = command.get_arguments().find(|a| {
            a.get_long()
                .is_some_and(|l| name.strip_prefix("--") == Some(l))
                || a.get_short().is_some_and(|c| name == format!("-{c}"))
        });
        match global {
            Some(option) if option.get_action().takes_values() && !inline_value => {
                rest.next();
            }
            Some(_) => {}
            None => return command.find_subcommand(arg).is_some(),
        }
    }
    false
}

/// Runs a parsed command line with the built-in simulators ([`run_with`]).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    run_with(cli, &Registry::with_builtins())
}

/// Runs a parsed command line with the simulators of `registry`, inside a pool of
/// `--threads` workers (see [`crate::pool`]).
pub fn run_with(cli: Cli, registry: &Registry) -> anyhow::Result<()> {
    run_in(
        cli,
        registry,
        &(Arc::new(crate::processes::SingleProcess) as _),
    )
}

/// [`run_with`] on this rank of `processes`: every rank of the group runs the same call.
pub fn run_in(
    cli: Cli,
    registry: &Registry,
    processes: &Arc<dyn ProcessGroup>,
) -> anyhow::Result<()> {
    let global = Global {
        quiet: cli.quiet || processes.rank() != 0,
        registry,
        processes,
    };
    let command = cli.command;
    if processes.size() > 1 && !matches!(command, Command::Train(_)) {
        anyhow::bail!(
            "only `physinv train` runs split over the ranks of an MPI job ({} ranks here); \
             run the other commands in one process, without the launcher",
            processes.size()
        );
    }
    crate::pool::run_in_pool(cli.threads, move || dispatch(command, global))
        .context("cannot set up the thread pool")?
}

/// Runs one subcommand.
fn dispatch(command: Command, global: Global) -> anyhow::Result<()> {
    match command {
        Command::Train(args) => train::run(&args, global),
        Command::Compare(args) => compare::run(&args, global),
        Command::Sweep(args) => sweep::run(&args, global),
        Command::Eval(args) => eval::run(&args, global),
        Command::Validate(args) => validate::run(&args, global),
        Command::CheckGrad(args) => check_grad::run(&args, global),
        Command::Plot(args) => plot::run(&args, global),
        Command::Export(args) => export::run(&args, global),
    }
}

/// Field edits, training-length, seed and memory-ceiling overrides shared by the commands that
/// read a scenario.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// `--set` edits of the file's fields.
    #[command(flatten)]
    pub edits: EditArgs,
    /// Train every method for N iterations (replaces the scenario's `training.iterations`
    /// and `training.budget_s`).
    #[arg(long, value_name = "N", value_parser = positive_usize, conflicts_with = "budget")]
    pub iterations: Option<usize>,
    /// Train every method for SECONDS of training time, evaluation excluded (replaces the
    /// scenario's `training.budget_s` and `training.iterations`).
    #[arg(long, value_name = "SECONDS", value_parser = positive_f64)]
    pub budget: Option<f64>,
    /// Seed of the network initialisation and the training-scene draws (replaces
    /// `training.seed`; the test scenes depend only on `data.seed`).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Refuse a scenario whose estimated memory exceeds GIB gibibytes (default 8); the
    /// estimate counts the network and optimizer state, the training episodes, Gramians and
    /// held-out scenes.
    #[arg(long, value_name = "GIB", value_parser = memory_ceiling)]
    pub max_memory: Option<ResourceLimits>,
}

impl LimitArgs {
    /// `true` if no training-length or seed override is given (the memory ceiling applies
    /// at validation and changes nothing in the scenario).
    pub fn is_empty(&self) -> bool {
        self.iterations.is_none() && self.budget.is_none() && self.seed.is_none()
    }

    /// The resource limits to validate against: `--max-memory`, else the defaults.
    pub fn resources(&self) -> ResourceLimits {
        self.max_memory.unwrap_or_default()
    }
}

/// Edits of a scenario file's fields before it is read (`--set PATH=VALUE`).
#[derive(Debug, Clone, Default, Args)]
pub struct EditArgs {
    /// Set a field of the scenario before anything runs: a dotted path and a RON value, e.g.
    /// `simulator.params.cells=16` or `methods[0].optimizer.lr=3e-4` (repeat for several).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

impl EditArgs {
    /// Scenario text `source` (of the file at `path`) with every `--set` edit applied in order;
    /// comments and formatting are kept ([`crate::scenario::ron_path`]).
    pub fn edit(&self, source: &str, path: &Path) -> crate::Result<String> {
        let mut text = source.to_string();
        for set in &self.sets {
            let error = |message: String| {
                crate::Error::from(Box::new(crate::error::ScenarioError::Edit {
                    path: path.to_path_buf(),
                    set: set.clone(),
                    message,
                }))
            };
            let Some((field, value)) = set.split_once('=') else {
                return Err(error(
                    "expected PATH=VALUE, e.g. simulator.params.cells=16".into(),
                ));
            };
            text = crate::scenario::ron_path::replace_value(&text, field.trim(), value.trim())
                .map_err(|e| error(e.to_string()))?;
        }
        Ok(text)
    }
}

/// Parses a thread count: a whole number from 1 to [`MAX_THREADS`].
pub fn thread_count(text: &str) -> Result<usize, String> {
    let n = positive_usize(text)?;
    if n > MAX_THREADS {
        return Err(format!("at most {MAX_THREADS} threads, got {n}"));
    }
    Ok(n)
}

/// Parses a memory ceiling in GiB (`--max-memory`).
pub fn memory_ceiling(text: &str) -> Result<ResourceLimits, String> {
    let gib = text
        .parse::<f64>()
        .map_err(|e| format!("not a number of GiB: {e}"))?;
    ResourceLimits::with_max_memory_gib(gib)
}

/// Parses an integer ≥ 1.
pub fn positive_usize(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

/// Parses a finite number > 0.
pub fn positive_f64(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err("must be a finite number > 0".into()),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

/// Reads a scenario file's text ([`crate::scenario::read_source`]: size-capped, byte-order
/// mark dropped); the error names the file.
pub fn read_source(path: &Path) -> crate::Result<String> {
    crate::scenario::read_source(path)
}

/// Prints `text` to standard error unless `--quiet`.
pub fn note(global: Global, text: impl std::fmt::Display) {
    if !global.quiet {
        eprintln!("{text}");
    }
}

/// The default output directory of a command that is not a single run:
/// `runs/<scenario>/<kind>-<UTC timestamp>/` (scenario name made file-safe, not created; see
/// [`crate::output::create_unique_dir`]).
pub fn default_dir(scenario: &str, kind: &str) -> PathBuf {
    let run = crate::output::default_out_dir(scenario);
    let stamp = run
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    run.with_file_name(format!("{kind}-{stamp}"))
}
