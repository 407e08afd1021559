//! Scenario files: read, validate, build.
//!
//! A scenario is parsed into the raw [`ScenarioSpec`] (mirrors the file, rejects unknown
//! fields), then validated once and built into a [`Scenario`] holding the runtime objects
//! (the [`Physics`] from the [`Registry`]). Every error names the file, the line:column and
//! the field, and says what was expected. Validation also checks the run's resource needs
//! against [`ResourceLimits`] (see [`limits`]) before anything is allocated.

pub mod build;
pub mod limits;
pub mod locate;
pub mod ron_path;
pub mod schema;

pub use limits::ResourceLimits;
pub use schema::*;

pub use crate::episode::{network_inputs, network_outputs};
pub use crate::files::file_stem;

use crate::error::ScenarioError;
use crate::net::{Architecture, Network, NetworkIo};
use crate::scenes::{fresh_start, SceneSplit};
use crate::sim::BuildError;
use crate::sim::{Physics, Vector};
use crate::train::rules::Problem;
use crate::Registry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The UTF-8 byte-order mark some editors write at the start of a file.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// Reads the text of the scenario file at `path`: at most
/// [`limits::MAX_SCENARIO_FILE_BYTES`] of a regular file (a larger file is an error, found
/// without reading it all; a FIFO or a device such as `/dev/zero` is refused before it is
/// opened), valid UTF-8, a leading byte-order mark dropped.
pub fn read_source(path: &Path) -> crate::Result<String> {
    let io = |source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let limit = limits::MAX_SCENARIO_FILE_BYTES;
    let Some(bytes) = crate::files::read_limited(path, limit).map_err(io)? else {
        return Err(ScenarioError::FileTooLarge {
            path: path.to_path_buf(),
            limit,
        }
        .into());
    };
    let text = String::from_utf8(bytes)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    Ok(match text.strip_prefix(BYTE_ORDER_MARK) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The problem description `method`'s rule is checked and sized against ([`Problem`]): the
/// simulator, the episode and objective blocks, whether the scenes carry ground-truth
/// controls, and the run's sizes.
pub fn problem<'a>(
    spec: &'a ScenarioSpec,
    method: &MethodSpec,
    physics: &'a Physics,
) -> Problem<'a> {
    Problem {
        physics,
        episode: &spec.episode,
        objective: &spec.objective,
        reference_controls: spec.data.scenes.has_reference_controls(),
        sizes: limits::run_sizes(spec, method, physics),
    }
}

/// A validated scenario with its simulator built.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The raw settings as read from the file.
    pub spec: ScenarioSpec,
    /// Where it was read from (`<string>` for in-memory sources).
    pub path: PathBuf,
    /// The simulator with its capabilities.
    pub physics: Physics,
}

/// A validation failure before it is given its file position.
struct Invalid {
    field: String,
    message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl Scenario {
    /// Reads and validates `path` with the built-in simulators.
    pub fn load(path: impl AsRef<Path>) -> crate::Result<Scenario> {
        Self::load_with(path, &Registry::with_builtins())
    }

    /// Reads ([`read_source`]) and validates `path`, resolving the simulator name in
    /// `registry`, within the default [`ResourceLimits`].
    pub fn load_with(path: impl AsRef<Path>, registry: &Registry) -> crate::Result<Scenario> {
        let path = path.as_ref();
        Self::parse(&read_source(path)?, path, registry)
    }

    /// Parses and validates RON `source` within the default [`ResourceLimits`]; `path` is
    /// used in messages only.
    pub fn parse(source: &str, path: &Path, registry: &Registry) -> crate::Result<Scenario> {
        Self::parse_with_limits(source, path, registry, &ResourceLimits::default())
    }

    /// Parses and validates RON `source` within `limits`; `path` is used in messages only. A
    /// leading byte-order mark is ignored.
    pub fn parse_with_limits(
        source: &str,
        path: &Path,
        registry: &Registry,
        limits: &ResourceLimits,
    ) -> crate::Result<Scenario> {
        let source = source.strip_prefix(BYTE_ORDER_MARK).unwrap_or(source);
        let options = ron::Options::default().with_default_extension(
            ron::extensions::Extensions::IMPLICIT_SOME
                | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
        );
        let spec: ScenarioSpec = registry
            .networks()
            .activate(|| registry.rules().activate(|| options.from_str(source)))
            .map_err(|e| {
                let mut message = e.code.to_string();
                if let Some(field) = locate::field_at(source, e.position.line, e.position.col) {
                    message = format!("field `{field}`: {message}");
                }
                ScenarioError::Parse {
                    path: path.to_path_buf(),
                    line: e.position.line,
                    column: e.position.col,
                    message,
                }
            })?;
        Self::build_with_limits(spec, source, path, registry, limits)
    }

    /// Validates an already parsed spec within the default [`ResourceLimits`]. `source` is
    /// the text it came from (for positions).
    pub fn build(
        spec: ScenarioSpec,
        source: &str,
        path: &Path,
        registry: &Registry,
    ) -> crate::Result<Scenario> {
        Self::build_with_limits(spec, source, path, registry, &ResourceLimits::default())
    }

    /// Validates an already parsed spec, then checks its memory estimate
    /// ([`limits::estimate_memory`]) against `limits`. `source` is the text it came from (for
    /// positions).
    pub fn build_with_limits(
        spec: ScenarioSpec,
        source: &str,
        path: &Path,
        registry: &Registry,
        limits: &ResourceLimits,
    ) -> crate::Result<Scenario> {
        let source = source.strip_prefix(BYTE_ORDER_MARK).unwrap_or(source);
        let located = |e: Invalid| -> crate::Error {
            let position = locate::locate(source, &e.field);
            match position {
                Some((line, column)) => ScenarioError::Parse {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: format!("field `{}`: {}", e.field, e.message),
                },
                None => ScenarioError::Invalid {
                    path: path.to_path_buf(),
                    field: e.field,
                    message: e.message,
                },
            }
            .into()
        };
        let physics = build_physics(&spec.simulator, registry).map_err(located)?;
        validate(&spec, &physics).map_err(located)?;
        limits::estimate_memory(&spec, &physics)
            .check(limits)
            .map_err(|exceeded| ScenarioError::TooMuchMemory {
                path: path.to_path_buf(),
                exceeded,
            })?;
        physics.check_dimensions()?;
        Ok(Scenario {
            spec,
            path: path.to_path_buf(),
            physics,
        })
    }

    /// Network input size for this scenario's policy.
    ///
    /// # Panics
    /// If the size overflows `usize`, which validation rejects (only a spec edited after
    /// validation can get here).
    pub fn network_inputs(&self) -> usize {
        network_inputs(&self.spec.episode, self.physics.sim().state_dim())
            .expect("network input size is checked at validation")
    }

    /// Network output size for this scenario's policy.
    ///
    /// # Panics
    /// If the size overflows `usize`, which validation rejects.
    pub fn network_outputs(&self) -> usize {
        network_outputs(&self.spec.episode, self.physics.sim().control_dim())
            .expect("network output size is checked at validation")
    }

    /// The network's input and output as its kind sees them: sizes, and grids where the
    /// episode's layouts of them are grids ([`network_io`]).
    ///
    /// # Panics
    /// If a size overflows `usize`, which validation rejects.
    pub fn network_io(&self) -> NetworkIo {
        network_io(&self.spec, &self.physics).expect("network sizes are checked at validation")
    }

    /// The estimated memory of a run of this scenario ([`limits::estimate_memory`]).
    pub fn memory_estimate(&self) -> limits::MemoryEstimate {
        limits::estimate_memory(&self.spec, &self.physics)
    }

    /// The physical control per unit of network output, per control component: the scenario's
    /// `episode.control_scale`, else the simulator's typical control magnitudes, else ones.
    pub fn control_scale(&self) -> Vector {
        let m = self.physics.sim().control_dim();
        match &self.spec.episode.control_scale {
            Some(Scale::Uniform(c)) => Vector::from_element(m, *c),
            Some(Scale::PerComponent(c)) => Vector::from_column_slice(c),
            None => self
                .physics
                .sim()
                .control_scale()
                .filter(|c| c.len() == m)
                .unwrap_or_else(|| Vector::from_element(m, 1.0)),
        }
    }

    /// The network's architecture: kind and parameters from the file, sizes from the
    /// simulator and the episode.
    pub fn network_architecture(&self) -> Architecture {
        self.spec.network.architecture(&self.network_io())
    }

    /// Builds the network with initial parameters from `seed`.
    pub fn build_network(&self, seed: u64) -> crate::Result<Box<dyn Network>> {
        self.spec.network.build(&self.network_io(), seed)
    }

    /// The metric shown besides the loss in progress output and plots: the simulator's first
    /// own metric if it has any (e.g. the sine's `x_dist`), else `final_error`.
    pub fn main_metric(&self) -> String {
        self.physics
            .metrics()
            .and_then(|m| m.metric_names().into_iter().next())
            .unwrap_or_else(|| "final_error".to_string())
    }

    /// What a checkpoint of method `i` must agree on to be resumed, section by section:
    /// `(section, RON text)` for the simulator, episode, data, objective, batch size, update
    /// rule and optimizer kind. (Budgets, logging and learning rates may change on resume.)
    pub fn fingerprint(&self, i: usize) -> Vec<(String, String)> {
        fn text<T: serde::Serialize>(value: &T) -> String {
            ron::to_string(value).unwrap_or_else(|e| format!("<unprintable: {e}>"))
        }
        let spec = &self.spec;
        let method = &spec.methods[i];
        let optimizer = text(&method.optimizer);
        let kind = optimizer
            .split('(')
            .next()
            .unwrap_or(&optimizer)
            .to_string();
        vec![
            ("simulator".into(), text(&spec.simulator)),
            ("episode".into(), text(&spec.episode)),
            ("data".into(), text(&spec.data)),
            ("objective".into(), text(&spec.objective)),
            (
                "training.batch".into(),
                method.batch_size(&spec.training).to_string(),
            ),
            ("update".into(), method.update.text()),
            ("optimizer".into(), kind),
        ]
    }

    /// Display name of method `i`.
    pub fn method_name(&self, i: usize) -> String {
        method_name(&self.spec.methods[i])
    }
}

/// Display name of a method: its `name`, or `<update>+<optimizer>`.
pub fn method_name(m: &MethodSpec) -> String {
    if let Some(name) = &m.name {
        return name.clone();
    }
    let update = m.update.label();
    format!("{update}+{}", m.optimizer.name())
}

fn build_physics(spec: &SimulatorSpec, registry: &Registry) -> Result<Physics, Invalid> {
    let params = match &spec.params {
        ron::Value::Unit => ron::Value::Map(ron::Map::new()),
        other => other.clone(),
    };
    registry.build(&spec.name, params).map_err(|e| match e {
        BuildError::Unknown { name, known } => invalid(
            "simulator.name",
            format!(
                "unknown simulator '{name}'; expected one of: {}",
                known.join(", ")
            ),
        ),
        BuildError::Schema(message) => invalid("simulator.params", message),
        BuildError::Param(p) => invalid(format!("simulator.params.{}", p.field), p.message),
    })
}

fn check(ok: bool, field: impl Into<String>, message: impl Into<String>) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(invalid(field, message))
    }
}

fn check_len(v: &[f64], len: usize, field: &str, what: &str) -> Result<(), Invalid> {
    check(
        v.len() == len,
        field,
        format!("expected {len} values ({what}), got {}", v.len()),
    )?;
    check(
        v.iter().all(|x| x.is_finite()),
        field,
        "values must be finite",
    )
}

fn check_box(
    low: &[f64],
    high: &[f64],
    len: usize,
    field: &str,
    what: &str,
) -> Result<(), Invalid> {
    check_len(low, len, &format!("{field}.low"), what)?;
    check_len(high, len, &format!("{field}.high"), what)?;
    check(
        low.iter().zip(high).all(|(l, h)| l <= h),
        format!("{field}.high"),
        "each upper bound must be ≥ its lower bound",
    )?;
    check(
        low.iter().zip(high).all(|(l, h)| (h - l).is_finite()),
        format!("{field}.high"),
        "each range high − low must be finite (below about 1.8e308) to be sampled",
    )
}

fn validate(spec: &ScenarioSpec, physics: &Physics) -> Result<(), Invalid> {
    check_name(&spec.name, "name")?;
    let n = physics.sim().state_dim();
    let m = physics.sim().control_dim();
    let ep = &spec.episode;
    check(ep.steps >= 1, "episode.steps", "must be ≥ 1")?;
    match &ep.control_scale {
        Some(Scale::Uniform(c)) => check(
            c.is_finite() && *c > 0.0,
            "episode.control_scale",
            format!("must be finite and > 0, got {c}"),
        )?,
        Some(Scale::PerComponent(c)) => {
            check_len(c, m, "episode.control_scale", "one per control component")?;
            check(
                c.iter().all(|x| x.is_finite() && *x > 0.0),
                "episode.control_scale",
                "every component must be finite and > 0",
            )?;
        }
        None => {
            let default = physics.sim().control_scale();
            check(
                default.is_none_or(|c| c.iter().all(|x| x.is_finite() && *x > 0.0)),
                "episode.control_scale",
                format!(
                    "unset, and simulator '{}' suggests a scale with a zero, negative or \
                     non-finite component: set one",
                    physics.sim().name()
                ),
            )?;
        }
    }
    if let Some(s) = &ep.state_scale {
        check_len(s, n, "episode.state_scale", "one per state component")?;
        check(
            s.iter().all(|x| *x > 0.0),
            "episode.state_scale",
            "scales must be > 0",
        )?;
    }
    if ep.policy == PolicyKind::ClosedLoop {
        check(
            !ep.observe.is_empty(),
            "episode.observe",
            "the closed-loop network needs at least one input: State, Target, Error or Time",
        )?;
    }
    validate_data(&spec.data, physics, n, m)?;
    let obj = &spec.objective;
    if let Some(w) = &obj.terminal_weight {
        check_len(w, n, "objective.terminal_weight", "one per state component")?;
        check(
            w.iter().all(|x| *x >= 0.0),
            "objective.terminal_weight",
            "every weight must be ≥ 0",
        )?;
    }
    check(
        obj.force_weight >= 0.0 && obj.force_weight.is_finite(),
        "objective.force_weight",
        "must be ≥ 0",
    )?;
    check(
        obj.tracking_weight >= 0.0 && obj.tracking_weight.is_finite(),
        "objective.tracking_weight",
        "must be ≥ 0",
    )?;
    validate_network_size(spec, physics)?;
    check(
        !spec.methods.is_empty(),
        "methods",
        "list at least one method",
    )?;
    for (i, method) in spec.methods.iter().enumerate() {
        validate_method(method, i, spec, physics)?;
    }
    validate_method_names(&spec.methods)?;
    let t = &spec.training;
    check(t.batch >= 1, "training.batch", "must be ≥ 1")?;
    let batch = spec.largest_batch();
    if let (TrainSet::Fresh, Some(iterations)) = (spec.data.train, t.iterations) {
        // The larger of the two factors is the one to blame.
        check(
            iterations == 0 || fresh_start(iterations as u64 - 1, batch).is_some(),
            if batch > iterations {
                largest_batch_field(spec)
            } else {
                "training.iterations".to_string()
            },
            format!(
                "{iterations} iterations of batch {batch} would number fresh training scenes \
                 past 2⁶⁴; for a time limit give `budget_s` alone"
            ),
        )?;
    }
    check(
        t.iterations.is_some() || t.budget_s.is_some(),
        "training",
        "give `iterations` or `budget_s` (or both)",
    )?;
    if let Some(it) = t.iterations {
        check(it >= 1, "training.iterations", "must be ≥ 1")?;
    }
    if let Some(b) = t.budget_s {
        check(b > 0.0 && b.is_finite(), "training.budget_s", "must be > 0")?;
    }
    check(t.log_every >= 1, "training.log_every", "must be ≥ 1")?;
    check(
        t.divergence_factor > 1.0,
        "training.divergence_factor",
        format!("must be > 1 (inf: never), got {}", t.divergence_factor),
    )?;
    let metrics = crate::train::evaluate::metric_names_for(physics, spec.episode.steps);
    let select = t.select.metric();
    check(
        metrics.iter().any(|m| m == select),
        "training.select",
        format!(
            "no metric `{select}` in this run; it reports {}",
            metrics.join(", ")
        ),
    )
}

fn validate_data(data: &DataSpec, physics: &Physics, n: usize, m: usize) -> Result<(), Invalid> {
    check(
        data.test_count >= 1,
        "data.test_count",
        "must be ≥ 1 (metrics are averaged over the test scenes)",
    )?;
    SceneSplit::of(data).map_err(|e| invalid(e.field, e.message))?;
    match &data.scenes {
        SceneSource::Generator(name) => {
            let names = physics
                .scenes()
                .map(|g| g.generator_names())
                .unwrap_or_default();
            check(
                names.iter().any(|g| g == name),
                "data.scenes",
                if names.is_empty() {
                    format!(
                        "simulator '{}' has no scene generators; use Sampled(initial: …, target: …)",
                        physics.name()
                    )
                } else {
                    format!(
                        "unknown generator '{name}'; expected one of: {}",
                        names.join(", ")
                    )
                },
            )
        }
        SceneSource::Sampled { initial, target } => {
            match initial {
                InitialSpec::Zeros => {}
                InitialSpec::Fixed(v) => check_len(v, n, "data.scenes.initial", "state")?,
                InitialSpec::Uniform { low, high } => {
                    check_box(low, high, n, "data.scenes.initial", "state")?
                }
            }
            match target {
                TargetSpec::Initial => Ok(()),
                TargetSpec::Fixed(v) => check_len(v, n, "data.scenes.target", "state"),
                TargetSpec::Uniform { low, high } => {
                    check_box(low, high, n, "data.scenes.target", "state")
                }
                TargetSpec::ReachedBy { low, high } => {
                    check_box(low, high, m, "data.scenes.target", "control")
                }
            }
        }
    }
}

/// The network's input and output sizes fit in `usize`, and its kind accepts them
/// ([`crate::net::NetworkKind::check`]: e.g. the MLP's hidden widths, its parameter count).
fn validate_network_size(spec: &ScenarioSpec, physics: &Physics) -> Result<(), Invalid> {
    let (n, m) = (physics.sim().state_dim(), physics.sim().control_dim());
    let inputs = network_inputs(&spec.episode, n).ok_or_else(|| {
        invalid(
            "episode.observe",
            format!(
                "the network input size overflows ({} blocks of {n})",
                spec.episode.observe.len()
            ),
        )
    })?;
    let outputs = network_outputs(&spec.episode, m).ok_or_else(|| {
        invalid(
            "episode.steps",
            format!(
                "the open-loop network would have steps × control components = {} × {m} \
                 outputs, which overflows",
                spec.episode.steps
            ),
        )
    })?;
    let io =
        network_io(spec, physics).filter(|io| (io.input.len, io.output.len) == (inputs, outputs));
    let io = io.ok_or_else(|| {
        invalid(
            "network",
            format!(
                "the layouts of the network's input and output do not have its {inputs} inputs \
                 and {outputs} outputs (the simulator's layouts and dimensions disagree)"
            ),
        )
    })?;
    spec.network.check(&io).map_err(|e| {
        let field = if e.field.is_empty() {
            "network".to_string()
        } else {
            format!("network.{}", e.field)
        };
        invalid(field, e.message)
    })
}

/// The network's input and output for `spec` on `physics` as its kind sees them
/// ([`crate::episode::Policy::network_io`]: sizes, and grids where the episode's layouts are
/// grids); `None` if a size overflows.
pub fn network_io(spec: &ScenarioSpec, physics: &Physics) -> Option<NetworkIo> {
    let sim = physics.sim();
    // The layouts do not depend on the control scale.
    let scale = Vector::from_element(sim.control_dim(), 1.0);
    crate::episode::Policy::new(&spec.episode, sim.state_dim(), scale)
        .network_io(&sim.state_layout(), &sim.control_layout())
}

/// The field that sets the largest batch: the first method's own `batch` that is larger than
/// `training.batch`, else `training.batch` (errors about the batch point there).
fn largest_batch_field(spec: &ScenarioSpec) -> String {
    let largest = spec.largest_batch();
    spec.methods
        .iter()
        .position(|m| m.batch == Some(largest) && largest > spec.training.batch)
        .map_or("training.batch".to_string(), |i| {
            format!("methods[{i}].batch")
        })
}

/// Most characters of a scenario's or a method's name: names become file names
/// (`checkpoints/<name>.json`, `runs/<name>/`), which most file systems limit to 255 bytes.
pub const MAX_NAME_CHARS: usize = 100;

/// A scenario's or a method's name is not blank, at most [`MAX_NAME_CHARS`] characters, and
/// free of control characters (it is printed to the console and written to files).
fn check_name(name: &str, field: &str) -> Result<(), Invalid> {
    check(!name.trim().is_empty(), field, "must not be empty")?;
    let chars = name.chars().count();
    check(
        chars <= MAX_NAME_CHARS,
        field,
        format!("has {chars} characters; at most {MAX_NAME_CHARS} (it names files)"),
    )?;
    match name.chars().find(|c| c.is_control()) {
        Some(c) => Err(invalid(
            field,
            format!("contains the control character {c:?}; names are printed and name files"),
        )),
        None => Ok(()),
    }
}

/// Every method's display name is valid ([`check_name`]) and no two methods share one, or a
/// checkpoint file name ([`file_stem`]).
fn validate_method_names(methods: &[MethodSpec]) -> Result<(), Invalid> {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut stems: HashMap<String, (usize, String)> = HashMap::new();
    for (j, method) in methods.iter().enumerate() {
        let name = method_name(method);
        let field = if method.name.is_some() {
            format!("methods[{j}].name")
        } else {
            format!("methods[{j}]")
        };
        check_name(&name, &field)?;
        if let Some(i) = names.get(&name) {
            return Err(invalid(
                field,
                format!(
                    "methods[{i}] and methods[{j}] have the same display name '{name}'; \
                     give them distinct `name`s (the name labels results and checkpoints)"
                ),
            ));
        }
        let stem = file_stem(&name);
        if let Some((i, other)) = stems.get(&stem) {
            return Err(invalid(
                field,
                format!(
                    "methods[{i}] '{other}' and methods[{j}] '{name}' would share the checkpoint \
                     file checkpoints/{stem}.json (names keep only ASCII letters, digits, '-' \
                     and '_' in file names); give them names that differ there"
                ),
            ));
        }
        names.insert(name.clone(), j);
        stems.insert(stem, (j, name));
    }
    Ok(())
}

fn validate_method(
    method: &MethodSpec,
    i: usize,
    spec: &ScenarioSpec,
    physics: &Physics,
) -> Result<(), Invalid> {
    let field = |f: &str| format!("methods[{i}].{f}");
    method
        .optimizer
        .validate()
        .map_err(|msg| invalid(field("optimizer"), msg))?;
    match method.lr_decay {
        Some(LrDecay::Step { every, factor }) => {
            check(every >= 1, field("lr_decay.every"), "must be ≥ 1")?;
            check(
                factor > 0.0 && factor <= 1.0,
                field("lr_decay.factor"),
                format!("must be in (0, 1], got {factor}"),
            )?;
        }
        Some(LrDecay::Exponential { half_life }) => check(
            half_life > 0.0 && half_life.is_finite(),
            field("lr_decay.half_life"),
            "must be > 0",
        )?,
        None => {}
    }
    if let Some(b) = method.batch {
        check(b >= 1, field("batch"), "must be ≥ 1")?;
    }
    if let Some(c) = method.clip_grad_norm {
        check(
            c > 0.0 && c.is_finite(),
            field("clip_grad_norm"),
            "must be > 0",
        )?;
    }
    method
        .update
        .rule()
        .check(&problem(spec, method, physics))
        .map_err(|e| {
            let path = if e.field.is_empty() {
                field("update")
            } else {
                field(&format!("update.{}", e.field))
            };
            invalid(path, e.message)
        })?;
    Ok(())
}
