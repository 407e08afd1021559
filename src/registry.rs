//! What scenario files can name: simulators, update rules and network kinds, each in its own
//! table, gathered in one [`Registry`].
//!
//! The built-in entries are registered by [`Registry::with_builtins`]; a user's crate adds its
//! own without changing the library: [`Registry::register`] for a simulator (see
//! `examples/custom_simulator.rs`), [`Registry::register_rule`] for an update rule (see
//! [`crate::train::rules`] and `examples/custom_rule.rs`), [`Registry::register_network`] for a
//! network kind (see [`crate::net::table`]). The tables live with what they build
//! ([`crate::sim::Simulators`], [`crate::train::rules::Rules`], [`crate::net::Networks`]); this
//! module only joins them, above all three.

use crate::net::{NetworkKind, Networks};
use crate::sim::{BuildError, ParamError, Physics, Simulators};
use crate::train::rules::{RuleSpec, Rules};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The simulators, update rules and network kinds scenario files are resolved in.
#[derive(Debug)]
pub struct Registry {
    simulators: Simulators,
    rules: Rules,
    networks: Networks,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry with no simulators and the built-in update rules and network kinds.
    pub fn new() -> Self {
        Registry {
            simulators: Simulators::new(),
            rules: Rules::builtin().clone(),
            networks: Networks::builtin().clone(),
        }
    }

    /// A registry holding every built-in simulator, update rule and network kind.
    pub fn with_builtins() -> Self {
        Registry {
            simulators: Simulators::with_builtins(),
            rules: Rules::builtin().clone(),
            networks: Networks::builtin().clone(),
        }
    }

    /// Registers simulator `name`. `P` is the simulator's parameter struct, read from the
    /// scenario's `params` (use `#[serde(deny_unknown_fields)]` so typos are rejected);
    /// `build` validates it and constructs the simulator. A later registration under the same
    /// name replaces the earlier one.
    pub fn register<P, F>(&mut self, name: &str, description: &str, build: F)
    where
        P: DeserializeOwned + 'static,
        F: Fn(P) -> Result<Physics, ParamError> + Send + Sync + 'static,
    {
        self.simulators.register::<P, F>(name, description, build);
    }

    /// Registers update rule `name` (as scenarios write it, e.g. `update: MyRule(…)`) with
    /// parameter struct `R`, which is also its [`RuleSpec`] (see [`Rules::register`]).
    pub fn register_rule<R>(&mut self, name: &str, description: &str)
    where
        R: RuleSpec + Serialize + DeserializeOwned,
    {
        self.rules.register::<R>(name, description);
    }

    /// Registers network kind `name` (as scenarios write it, e.g. `network: MyNet(…)`) with
    /// parameter struct `K`, which is also its [`NetworkKind`] (see [`Networks::register`]).
    pub fn register_network<K>(&mut self, name: &str, description: &str)
    where
        K: NetworkKind + Serialize + DeserializeOwned,
    {
        self.networks.register::<K>(name, description);
    }

    /// The network kinds scenarios parsed with this registry can name.
    pub fn networks(&self) -> &Networks {
        &self.networks
    }

    /// The simulators.
    pub fn simulators(&self) -> &Simulators {
        &self.simulators
    }

    /// The update rules scenarios parsed with this registry can name.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Builds simulator `name` from its parameter value.
    pub fn build(&self, name: &str, params: ron::Value) -> Result<Physics, BuildError> {
        self.simulators.build(name, params)
    }

    /// Registered simulator names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.simulators.names()
    }

    /// One-line description of a registered simulator.
    pub fn description(&self, name: &str) -> Option<&str> {
        self.simulators.description(name)
    }
}
