//! The scenario file format: serde structs that mirror the RON file one to one.
//!
//! These are *raw* settings; [`super::Scenario::load`] validates them and builds the runtime
//! objects. Every struct rejects unknown fields. Units are those of the simulator.
//!
//! The blocks the runtime reads as they are (episode, data, objective, methods, training, the
//! inversion settings) are defined beside the code that uses them and re-exported here, so the
//! runtime never imports the schema: [`EpisodeSpec`] in [`crate::episode`], [`DataSpec`] in
//! [`crate::scenes`], [`ObjectiveSpec`] in [`crate::objective`], [`MethodSpec`] and
//! [`TrainingSpec`] in [`crate::train`], [`EpisodeInverseSpec`] in [`crate::inverse`], SIP's
//! [`SipInverse`] in [`crate::train::sip`].

use serde::{Deserialize, Serialize};

pub use crate::episode::settings::{EpisodeSpec, Observation, PolicyKind, Scale};
pub use crate::inverse::settings::{ChainSpec, EpisodeInverseSpec, LinearSolver};
pub use crate::net::NetworkSpec;
pub use crate::objective::ObjectiveSpec;
pub use crate::scenes::settings::{DataSpec, InitialSpec, SceneSource, TargetSpec, TrainSet};
pub use crate::train::method::{LrDecay, MethodSpec, Selection, TrainingSpec};
pub use crate::train::rules::UpdateSpec;
pub use crate::train::sip::{ProxyInputs, SipInverse};

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Scenario name, used for the default output directory `runs/<name>/<timestamp>/`.
    pub name: String,
    /// Free text shown by `validate`.
    #[serde(default)]
    pub description: String,
    /// Which simulator and its parameters.
    pub simulator: SimulatorSpec,
    /// Episode length and how the network sees the system.
    #[serde(default)]
    pub episode: EpisodeSpec,
    /// Initial states, targets and the train/validation/test split.
    pub data: DataSpec,
    /// The episode objective.
    #[serde(default)]
    pub objective: ObjectiveSpec,
    /// The network's kind and parameters, e.g. `Mlp(hidden: [64, 64], activation: tanh)`
    /// (input and output sizes follow from the simulator and the episode).
    pub network: NetworkSpec,
    /// Training methods to run and compare, in order.
    pub methods: Vec<MethodSpec>,
    /// Batch size, budget, logging and seed.
    pub training: TrainingSpec,
}

/// Simulator name (as registered) and its parameter struct.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSpec {
    /// Registered name, e.g. `"rotating_sine"`.
    pub name: String,
    /// The simulator's parameters, e.g. `(xi: 32.0, phi_deg: 45.0)`; `()` for defaults.
    #[serde(default = "unit_value")]
    pub params: ron::Value,
}

fn unit_value() -> ron::Value {
    ron::Value::Unit
}

impl ScenarioSpec {
    /// The largest batch of any method (what memory and scene numbering must allow for).
    pub fn largest_batch(&self) -> usize {
        self.methods
            .iter()
            .map(|m| m.batch_size(&self.training))
            .max()
            .unwrap_or(self.training.batch)
    }
}
