//! What scenario files can name: simulator constructors by name, and the table of update
//! rules ([`Rules`]).
//!
//! Scenario files name a simulator and give its parameters; the registry turns the pair into
//! a [`Physics`]. Built-in simulators and rules are registered by [`Registry::with_builtins`];
//! users add their own with [`Registry::register`] (see `examples/custom_simulator.rs`) and
//! [`Registry::register_rule`] (see [`crate::train::rules`]) without changing the library.

use super::Physics;
use crate::net::{NetworkKind, Networks};
use crate::train::rules::{RuleSpec, Rules};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;

/// A parameter that parsed but is not allowed, reported by a simulator constructor.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// Parameter name as written in the scenario, e.g. `xi`.
    pub field: String,
    /// What was expected, e.g. `must be > 0, got -1`.
    pub message: String,
}

impl ParamError {
    /// A parameter error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why the registry could not build a simulator.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildError {
    /// No simulator of this name is registered.
    Unknown {
        /// Requested name.
        name: String,
        /// Registered names.
        known: Vec<String>,
    },
    /// The parameters do not match the simulator's parameter struct (unknown field, wrong type).
    Schema(String),
    /// A parameter value is out of range.
    Param(ParamError),
}

type Builder = Box<dyn Fn(ron::Value) -> Result<Physics, BuildError> + Send + Sync>;

struct Entry {
    description: String,
    build: Builder,
}

/// Table of simulator constructors and update rules by name.
#[derive(Default)]
pub struct Registry {
    entries: BTreeMap<String, Entry>,
    rules: Rules,
    networks: Networks,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("simulators", &self.entries.keys().collect::<Vec<_>>())
            .field("rules", &self.rules)
            .field("networks", &self.networks)
            .finish()
    }
}

impl Registry {
    /// A registry with no simulators and the built-in update rules.
    pub fn new() -> Self {
        Registry {
            entries: BTreeMap::new(),
            rules: Rules::builtin().clone(),
            networks: Networks::builtin().clone(),
        }
    }

    /// A registry holding every built-in simulator and update rule.
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        super::register_builtins(&mut r);
        r
    }

    /// Registers update rule `name` (as scenarios write it, e.g. `update: MyRule(…)`) with
    /// parameter struct `R`, which is also its [`RuleSpec`] (see [`Rules::register`]).
    pub fn register_rule<R>(&mut self, name: &str, description: &str)
    where
        R: RuleSpec + Serialize + DeserializeOwned,
    {
        self.rules.register::<R>(name, description);
    }

    /// The update rules scenarios parsed with this registry can name.
    pub fn rules(&self) -> &Rules {
        &self.rules
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

    /// Registers `name`. `P` is the simulator's parameter struct, read from the scenario's
    /// `params` (use `#[serde(deny_unknown_fields)]` so typos are rejected); `build` validates
    /// it and constructs the simulator. A later registration under the same name replaces the
    /// earlier one.
    pub fn register<P, F>(&mut self, name: &str, description: &str, build: F)
    where
        P: DeserializeOwned + 'static,
        F: Fn(P) -> Result<Physics, ParamError> + Send + Sync + 'static,
    {
        let builder: Builder = Box::new(move |value: ron::Value| {
            // `params: ()` means "no parameters": RON reads `()` as a unit value, which a
            // struct with all-default fields only accepts as an empty map.
            let params: P = match value {
                ron::Value::Unit => ron::Value::Unit
                    .into_rust()
                    .or_else(|_| ron::Value::Map(ron::Map::new()).into_rust()),
                other => other.into_rust(),
            }
            .map_err(|e| BuildError::Schema(e.to_string()))?;
            build(params).map_err(BuildError::Param)
        });
        self.entries.insert(
            name.to_string(),
            Entry {
                description: description.to_string(),
                build: builder,
            },
        );
    }

    /// Builds simulator `name` from its parameter value.
    pub fn build(&self, name: &str, params: ron::Value) -> Result<Physics, BuildError> {
        match self.entries.get(name) {
            Some(e) => (e.build)(params),
            None => Err(BuildError::Unknown {
                name: name.to_string(),
                known: self.names(),
            }),
        }
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// One-line description of a registered simulator.
    pub fn description(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.description.as_str())
    }
}
