//! A scenario built for training: the runtime settings the trainer reads, assembled once by
//! the build stage ([`crate::scenario`] turns a validated file into a [`Setup`]). Nothing here
//! refers to the file format, so the trainer never imports the schema.

use super::method::{MethodSpec, TrainingSpec};
use crate::episode::settings::EpisodeSpec;
use crate::net::{Architecture, Network, NetworkIo, NetworkSpec};
use crate::objective::ObjectiveSpec;
use crate::scenes::settings::DataSpec;
use crate::sim::{Physics, Vector};

/// Everything training one scenario's methods needs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The scenario's name (checkpoints record it).
    pub name: String,
    /// The simulator with its capabilities.
    pub physics: Physics,
    /// Episode length and the network's view of the system.
    pub episode: EpisodeSpec,
    /// Physical control per unit of network output, per control component (resolved from
    /// the episode block or the simulator's typical magnitudes).
    pub control_scale: Vector,
    /// The episode objective.
    pub objective: ObjectiveSpec,
    /// Scenes and their split.
    pub data: DataSpec,
    /// The network's kind and parameters (every method starts from the same one).
    pub network: NetworkSpec,
    /// The network's input and output: sizes per sample (from the episode's observations and
    /// the state; from the policy and the control) and grids (from their layouts).
    pub network_io: NetworkIo,
    /// The methods to train, in order.
    pub methods: Vec<MethodSetup>,
    /// Batch, budget, logging and seed.
    pub training: TrainingSpec,
    /// The metric shown besides the loss and used to choose the network on the validation
    /// scenes.
    pub main_metric: String,
}

/// One method of a [`Setup`].
#[derive(Debug, Clone)]
pub struct MethodSetup {
    /// Display name (labels results and checkpoint files).
    pub name: String,
    /// Update rule, optimizer, schedule and batch.
    pub spec: MethodSpec,
    /// What a checkpoint of this method must agree on to be resumed, section by section:
    /// `(section, text)`.
    pub fingerprint: Vec<(String, String)>,
}

impl Setup {
    /// The network's architecture: kind, parameters and sizes (what checkpoints record).
    pub fn network_architecture(&self) -> Architecture {
        self.network.architecture(&self.network_io)
    }

    /// The network with initial parameters from `seed`.
    ///
    /// # Errors
    /// Those of the network kind's constructor.
    pub fn build_network(&self, seed: u64) -> crate::Result<Box<dyn Network>> {
        self.network.build(&self.network_io, seed)
    }

    /// Episodes per iteration of method `index`.
    pub fn batch_size(&self, index: usize) -> usize {
        self.methods[index].spec.batch_size(&self.training)
    }
}
