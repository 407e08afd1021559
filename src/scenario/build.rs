//! The build stage: a validated [`Scenario`] becomes the runtime [`Setup`] the trainer reads
//! (names resolved, sizes and scales computed, resume fingerprints written), once.

use super::Scenario;
use crate::train::setup::{MethodSetup, Setup};

impl Scenario {
    /// The runtime settings of this scenario.
    pub fn setup(&self) -> Setup {
        let spec = &self.spec;
        Setup {
            name: spec.name.clone(),
            physics: self.physics.clone(),
            episode: spec.episode.clone(),
            control_scale: self.control_scale(),
            objective: spec.objective.clone(),
            data: spec.data.clone(),
            network: spec.network.clone(),
            network_io: self.network_io(),
            methods: (0..spec.methods.len())
                .map(|i| MethodSetup {
                    name: self.method_name(i),
                    spec: spec.methods[i].clone(),
                    fingerprint: self.fingerprint(i),
                })
                .collect(),
            training: spec.training.clone(),
            main_metric: self.main_metric(),
        }
    }
}

impl From<&Scenario> for Setup {
    fn from(scenario: &Scenario) -> Setup {
        scenario.setup()
    }
}
