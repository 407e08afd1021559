//! The simulators scenario files can name: constructors by name ([`Simulators`]).
//!
//! Scenario files name a simulator and give its parameters; the table turns the pair into a
//! [`Physics`]. The built-in simulators are in [`Simulators::with_builtins`]; users add their
//! own through [`crate::Registry::register`] (see `examples/custom_simulator.rs`), which holds
//! this table beside the update rules and network kinds.

use super::Physics;
use serde::de::DeserializeOwned;
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

/// Table of simulator constructors by name.
#[derive(Default)]
pub struct Simulators {
    entries: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for Simulators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

impl Simulators {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table holding every built-in simulator.
    pub fn with_builtins() -> Self {
        let mut table = Self::new();
        super::register_builtins(&mut table);
        table
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
