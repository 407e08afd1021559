//! Error types of the library. One enum per concern, gathered in [`Error`].

use std::path::PathBuf;

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a local inverse could not be computed. Returned, never panicked: the trainer
/// falls back to a gradient step and counts the failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InverseError {
    /// The requested target lies outside the range of the simulator (e.g. `|y| > 1` for `sin`).
    #[error("target out of range: {reason}")]
    OutOfRange {
        /// What made the target unreachable.
        reason: String,
    },
    /// An iterative solver stopped before reaching its residual tolerance.
    #[error("inverse did not converge: residual {residual:.3e} > tolerance {tolerance:.3e} after {iterations} iterations")]
    NotConverged {
        /// Final residual norm.
        residual: f64,
        /// Requested residual norm.
        tolerance: f64,
        /// Iterations spent.
        iterations: usize,
    },
    /// A linear system in the solver was singular or produced non-finite numbers.
    #[error("inverse is singular or non-finite: {reason}")]
    Singular {
        /// Which system or value, e.g. `Gramian G + cI is singular`.
        reason: String,
    },
    /// The simulator lacks the capability the chosen inverse needs.
    #[error("simulator '{simulator}' has no {capability}")]
    MissingCapability {
        /// Simulator name.
        simulator: String,
        /// Capability name, e.g. "analytic local inverse".
        capability: &'static str,
    },
}

/// A scenario file that could not be read, parsed or validated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read scenario file: {source}")]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`crate::scenario::limits::MAX_SCENARIO_FILE_BYTES`] (or
    /// endless, like `/dev/zero`); it was not read to the end.
    #[error("{path}: cannot read scenario file: larger than {}, the most a scenario file may hold (is it the right file?)", crate::memory::Bytes(*limit))]
    FileTooLarge {
        /// File path.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },
    /// The run would need more memory than the ceiling allows; nothing was allocated.
    #[error("{path}: {exceeded}")]
    TooMuchMemory {
        /// File path.
        path: PathBuf,
        /// The estimate, the ceiling and the largest parts.
        exceeded: crate::memory::MemoryExceeded,
    },
    /// RON syntax or schema error (unknown field, wrong type), with position.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// File path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What went wrong and what was expected.
        message: String,
    },
    /// A value that parsed but is not allowed.
    #[error("{path}: field `{field}`: {message}")]
    Invalid {
        /// File path (or `<string>`).
        path: PathBuf,
        /// Dotted path of the offending field, e.g. `simulator.params.xi`.
        field: String,
        /// What was expected.
        message: String,
    },
    /// A `--set PATH=VALUE` edit that could not be applied to the file's text.
    #[error("{path}: --set '{set}': {message}")]
    Edit {
        /// File path.
        path: PathBuf,
        /// The edit as given.
        set: String,
        /// Why it could not be applied.
        message: String,
    },
}

/// Every error the library returns. New kinds of failure may be added: match with a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad scenario.
    #[error(transparent)]
    Scenario(#[from] Box<ScenarioError>),
    /// A local inverse failed.
    #[error(transparent)]
    Inverse(#[from] InverseError),
    /// Vector or matrix of the wrong size.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// Which quantity.
        what: String,
        /// Expected size.
        expected: usize,
        /// Actual size.
        got: usize,
    },
    /// A simulator (user code) returned a vector or matrix of the wrong size from one of its
    /// calls, found when its [`crate::sim::Physics`] is checked
    /// ([`crate::sim::Physics::check_dimensions`], at scenario validation) or where the library
    /// consumes a step.
    #[error("simulator '{simulator}': {call} returned {got} values, expected {expected}")]
    SimulatorOutput {
        /// Simulator name.
        simulator: String,
        /// The call and which of its outputs, e.g. `step`, `vjp (state cotangent)`.
        call: String,
        /// The length the call must return (from `state_dim`/`control_dim`).
        expected: usize,
        /// The length it returned.
        got: usize,
    },
    /// A simulator's declared layout ([`crate::sim::Simulator::state_layout`],
    /// [`crate::sim::Simulator::control_layout`]) does not fit its dimension, or describes a
    /// grid that cannot be; found when its [`crate::sim::Physics`] is checked.
    #[error("simulator '{simulator}': {which} layout: {source}")]
    Layout {
        /// Simulator name.
        simulator: String,
        /// `state` or `control`.
        which: &'static str,
        /// What does not fit.
        source: crate::layout::LayoutError,
    },
    /// A non-finite number appeared in a simulated state.
    #[error("non-finite state in episode {episode} at step {step}")]
    NonFinite {
        /// Index of the episode in its batch.
        episode: usize,
        /// Time step at which the state became non-finite.
        step: usize,
    },
    /// Training of a method produced a non-finite number, or a curve metric grew beyond
    /// `training.divergence_factor` times its initial value, and was stopped.
    #[error("method '{method}' diverged at iteration {iteration}: {what}")]
    Diverged {
        /// Method display name.
        method: String,
        /// Iteration (1-based) whose computation produced it.
        iteration: usize,
        /// What went wrong, with where (e.g. `non-finite update (gradient norm NaN)`).
        what: String,
    },
    /// The run was stopped by a signal (or its stop flag); a checkpoint and the partial results
    /// were written.
    #[error("interrupted: method '{method}' stopped after iteration {iteration}; checkpoint and partial results written (continue with --resume)")]
    Interrupted {
        /// Method that was training.
        method: String,
        /// Iterations it had completed.
        iteration: usize,
    },
    /// A stop was requested while an update was being computed ([`crate::train::Context::stop`]);
    /// the trainer turns it into [`Error::Interrupted`] after the previous iteration.
    #[error("stopped on request while computing an update")]
    Stopped,
    /// Another rank of a data-parallel run failed in this iteration (its own error is
    /// reported by that rank); this rank stops with it.
    #[error("rank {rank}: another rank of the run failed; see its error")]
    RankFailed {
        /// This rank.
        rank: usize,
    },
    /// The ranks of a data-parallel run no longer hold the same parameters (checked every
    /// `log_every` iterations): a library or hardware fault, or a rule that is not
    /// deterministic. Continuing would train several different networks.
    #[error("method '{method}': after iteration {iteration} the parameters on rank {rank} differ from rank 0's (checksums {mine:016x} and {root:016x}); the ranks must apply identical steps")]
    Drifted {
        /// Method display name.
        method: String,
        /// Iterations completed.
        iteration: usize,
        /// This rank.
        rank: usize,
        /// This rank's parameter checksum.
        mine: u64,
        /// Rank 0's.
        root: u64,
    },
    /// An update rule that is not a sum over episodes (HIG's and Gauss-Newton's single SVD
    /// over the batch) was asked to run split over several processes.
    #[error("this update rule is not a sum over episodes and cannot be split over {processes} processes; run it in one process")]
    NotSplittable {
        /// Processes of the run.
        processes: usize,
    },
    /// A batch has fewer episodes than the processes it is split over.
    #[error("method '{method}': a batch of {batch} episodes cannot be split over {processes} processes (at least one episode each)")]
    BatchTooSmall {
        /// Method display name.
        method: String,
        /// Episodes per iteration.
        batch: usize,
        /// Processes of the run.
        processes: usize,
    },
    /// A scene generator the simulator does not have.
    #[error("unknown scene generator '{name}' for simulator '{simulator}'; known: {}", known.join(", "))]
    UnknownGenerator {
        /// Simulator name.
        simulator: String,
        /// Requested generator.
        name: String,
        /// The simulator's generators.
        known: Vec<String>,
    },
    /// Part of a run needs a capability the simulator does not provide.
    #[error("{needed_by} needs {capability}, but simulator '{simulator}' does not provide one")]
    MissingCapability {
        /// Simulator name.
        simulator: String,
        /// What is missing, e.g. `a VJP`, `scene generators`.
        capability: String,
        /// Who needs it, e.g. a rule or a scenario field.
        needed_by: String,
    },
    /// Supervised training on scenes without ground-truth controls.
    #[error("supervised training needs scenes with ground-truth controls")]
    NoReferenceControls,
    /// Another run holds the lock of the run directory.
    #[error("{}: another physinv run is writing to this directory; wait for it or choose another --out", dir.display())]
    Locked {
        /// The run directory.
        dir: PathBuf,
    },
    /// A checkpoint file that is not one (unparsable, another format).
    #[error("{}: {problem}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A checkpoint that belongs to another scenario, method, network or setting.
    #[error("checkpoint does not match: {}", differences.join("; "))]
    CheckpointMismatch {
        /// Every difference, e.g. `method 'SIP' in checkpoint, 'BPTT' expected`.
        differences: Vec<String>,
    },
    /// `--method` selected none of the scenario's methods.
    #[error("no method selected; the scenario lists: {}", available.join(", "))]
    NoMethodSelected {
        /// The scenario's method names.
        available: Vec<String>,
    },
    /// Network construction, loading or saving failed.
    #[error("network: {0}")]
    Network(String),
    /// Anything the run needs that is not available (unknown simulator, missing capability).
    #[error("{0}")]
    Config(String),
    /// File output.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

impl From<ScenarioError> for Error {
    fn from(e: ScenarioError) -> Self {
        Error::Scenario(Box::new(e))
    }
}
