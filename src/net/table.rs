//! Network kinds as plug-ins, like the update rules ([`crate::train::rules`]): a scenario names
//! its network's kind and parameters (`network: Mlp(hidden: [64, 64], activation: tanh)`,
//! `network: Linear()`, `network: MyNet(…)`), a table of registered kinds turns the name and
//! its parameters into a [`NetworkSpec`], and the kind's parameter struct ([`NetworkKind`])
//! checks itself against the network's input and output ([`NetworkIo`]: their sizes and, where
//! they are grids, the grids' shapes), reports its parameter count and per-sample activations
//! for the memory estimate, and builds the [`Network`] from `(io, seed)`.
//!
//! Built-in kinds ([`Networks::builtin`]): `Mlp` ([`crate::net::mlp::MlpParams`]),
//! `Linear` ([`crate::net::linear::LinearParams`]), and the grid kinds `UNet` and `ResNet`
//! ([`crate::net::grid`]), registered exactly the way a user's crate
//! registers its own, through `Registry::register_network`:
//!
//! ```
//! use physinv::net::{linear::Linear, Network, NetworkIo, NetworkKind, NetworkSize};
//! use physinv::sim::ParamError;
//! use physinv::Registry;
//!
//! /// An affine policy started at zero (a toy kind reusing the built-in `Linear`).
//! #[derive(Debug, serde::Serialize, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct ZeroAffine;
//!
//! impl NetworkKind for ZeroAffine {
//!     fn check(&self, _io: &NetworkIo) -> Result<(), ParamError> {
//!         Ok(())
//!     }
//!     fn size(&self, io: &NetworkIo) -> NetworkSize {
//!         NetworkSize::affine(io.input.len as u64, io.output.len as u64)
//!     }
//!     fn build(&self, io: &NetworkIo, _seed: u64) -> physinv::Result<Box<dyn Network>> {
//!         let arch = physinv::net::Architecture::of("ZeroAffine", self, io);
//!         Ok(Box::new(Linear::zeros(arch, io.input.len, io.output.len)))
//!     }
//! }
//!
//! let mut registry = Registry::with_builtins();
//! registry.register_network::<ZeroAffine>("ZeroAffine", "an affine policy started at zero");
//! assert!(registry.networks().names().contains(&"ZeroAffine".to_string()));
//! let spec = registry.networks().parse("ZeroAffine")?;
//! assert_eq!(spec.build(&NetworkIo::flat(3, 2), 0)?.num_parameters(), 3 * 2 + 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Parameters are the kind's own serde struct, read straight from the scenario text (typos are
//! reported at their position with `#[serde(deny_unknown_fields)]`); a zero-sized type (a unit
//! struct) is written as the bare name. While a scenario is parsed the registry's kinds are the
//! active table of the parsing thread ([`crate::plugins::Table::activate`]); outside a parse the built-in
//! kinds are.
//!
//! **Today's syntax and the earlier one.** Before kinds existed a scenario wrote the MLP's
//! fields without a name, `network: (hidden: [64, 64], activation: tanh)`. ron 0.8 gives a
//! deserializer no way to look ahead for a missing name (the variant name is read as an
//! identifier, and a failed read cannot be retried), so that form is not an alias: it is an
//! error that names the new syntax, `network: Mlp(hidden: [64, 64], activation: tanh)`.
//!
//! A built network records its kind as an [`Architecture`] (kind, parameters as RON text,
//! inputs and outputs, and the input and output grids if the kind depends on them,
//! [`NetworkKind::recorded`]): checkpoints store it and refuse to resume with another, network files
//! and exported safetensors carry it, and [`Networks::build`] rebuilds a network from it.

use super::mlp::{MlpConfig, MlpParams};
use super::network::Network;
use super::ports::{GridShape, NetworkIo, Port};
use crate::plugins::{self, Kind, Named, Table};
use crate::sim::ParamError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// What a network kind's memory estimate needs, for a given input and output
/// (saturating at `u64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkSize {
    /// Trainable scalars `P`.
    pub parameters: u64,
    /// `f32` values a forward pass keeps per sample for the backward pass (the MLP: every
    /// layer's width, the input's and the output's included).
    pub activations_per_sample: u64,
}

impl NetworkSize {
    /// The size of an affine map `y = W x + b`: `in·out + out` parameters, `in + out`
    /// activations per sample.
    pub fn affine(inputs: u64, outputs: u64) -> NetworkSize {
        NetworkSize {
            parameters: inputs.saturating_mul(outputs).saturating_add(outputs),
            activations_per_sample: inputs.saturating_add(outputs),
        }
    }
}

/// A network kind as a scenario describes it: its parameters, what validation and the memory
/// estimate need to know before building, and the build.
pub trait NetworkKind: Any + fmt::Debug + Send + Sync {
    /// Checks the parameters for a network with input and output `io` (lengths ≥ 1; grids
    /// where the scenario's layouts are grids). A [`ParamError`]'s field is relative to the
    /// network (`"hidden"`), or empty for the network as a whole; the scenario prefixes
    /// `network`. A network whose parameter count overflows `usize` must be rejected here.
    fn check(&self, io: &NetworkIo) -> Result<(), ParamError>;

    /// Parameter count and per-sample activations, for the memory estimate (defined for any
    /// `io`, saturating; lengths may be `usize::MAX` when the scenario's overflow).
    fn size(&self, io: &NetworkIo) -> NetworkSize;

    /// Builds the network with deterministic initial parameters from `seed` (same parameters
    /// and seed ⇒ the same bits). Its [`Network::architecture`] must be
    /// [`Architecture::of`] this kind's registered name, these parameters and
    /// [`NetworkKind::recorded`]`(io)`.
    fn build(&self, io: &NetworkIo, seed: u64) -> crate::Result<Box<dyn Network>>;

    /// What of `io` the built network depends on, which its architecture records and a
    /// rebuild gets: by default the lengths only (a flat kind: the MLP, `Linear`); a grid
    /// kind keeps the grids.
    fn recorded(&self, io: &NetworkIo) -> NetworkIo {
        io.lengths()
    }
}

/// A built network's kind, parameters and sizes: what checkpoints, network files and exported
/// files record, and what [`Networks::build`] rebuilds the network from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Architecture {
    /// The kind's registered name, e.g. `Mlp`.
    pub kind: String,
    /// The kind's parameters as RON with every default resolved, e.g.
    /// `(hidden:[64,64],activation:tanh,output_activation:identity)`; empty for a kind
    /// without parameters.
    pub params: String,
    /// Input features per sample.
    pub inputs: usize,
    /// Output features per sample.
    pub outputs: usize,
    /// The input's grid, for a kind that depends on it ([`NetworkKind::recorded`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_grid: Option<GridShape>,
    /// The output's grid, for a kind that depends on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_grid: Option<GridShape>,
}

impl Architecture {
    /// The architecture of kind `name` with parameters `params` (the form a parsed
    /// [`NetworkSpec`] gives) built for `io` (as [`NetworkKind::recorded`] gives it).
    pub fn of<K: Serialize>(name: &str, params: &K, io: &NetworkIo) -> Self {
        let params = if std::mem::size_of::<K>() == 0 {
            String::new()
        } else {
            ron::to_string(params).unwrap_or_else(|e| format!("<unprintable: {e}>"))
        };
        Architecture::with_io(name.to_string(), params, io)
    }

    fn with_io(kind: String, params: String, io: &NetworkIo) -> Self {
        Architecture {
            kind,
            params,
            inputs: io.input.len,
            outputs: io.output.len,
            input_grid: io.input.grid,
            output_grid: io.output.grid,
        }
    }

    /// The input and output it was built for (what [`Networks::build`] rebuilds it with).
    pub fn io(&self) -> NetworkIo {
        NetworkIo {
            input: Port {
                len: self.inputs,
                grid: self.input_grid,
            },
            output: Port {
                len: self.outputs,
                grid: self.output_grid,
            },
        }
    }

    /// The kind and parameters as a scenario writes them, e.g. `Mlp(hidden:[64],…)`.
    pub fn text(&self) -> String {
        format!("{}{}", self.kind, self.params)
    }

    /// Every field in which `self` (e.g. a file's) differs from `expected`, for messages.
    pub fn differences(&self, expected: &Architecture) -> Vec<String> {
        let mut d = Vec::new();
        if self.text() != expected.text() {
            d.push(format!(
                "network {} in file, {} expected",
                self.text(),
                expected.text()
            ));
        }
        for (what, a, b) in [
            ("inputs", self.inputs, expected.inputs),
            ("outputs", self.outputs, expected.outputs),
        ] {
            if a != b {
                d.push(format!("{what} {a} in file, {b} expected"));
            }
        }
        for (what, a, b) in [
            ("input grid", self.input_grid, expected.input_grid),
            ("output grid", self.output_grid, expected.output_grid),
        ] {
            if a != b {
                let text = |g: Option<GridShape>| g.map_or("none".to_string(), |g| g.to_string());
                d.push(format!("{what} {} in file, {} expected", text(a), text(b)));
            }
        }
        d
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} → {})", self.text(), self.inputs, self.outputs)
    }
}

impl<'de> Deserialize<'de> for Architecture {
    /// The fields above, or (checkpoints and network files of earlier versions) an MLP's
    /// [`MlpConfig`], read as the `Mlp` kind.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields {
            kind: String,
            params: String,
            inputs: usize,
            outputs: usize,
            #[serde(default)]
            input_grid: Option<GridShape>,
            #[serde(default)]
            output_grid: Option<GridShape>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Current(Fields),
            EarlierMlp(MlpConfig),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Current(f) => Architecture {
                kind: f.kind,
                params: f.params,
                inputs: f.inputs,
                outputs: f.outputs,
                input_grid: f.input_grid,
                output_grid: f.output_grid,
            },
            Form::EarlierMlp(config) => {
                MlpParams::of(&config).architecture(config.inputs, config.outputs)
            }
        })
    }
}

/// How network kinds read in messages.
static KIND: Kind = Kind {
    what: "network kind",
    expecting: "a network kind such as Mlp(hidden: [64, 64], activation: tanh)",
    renamed: &[],
    unnamed: "the network needs its kind's name before the parentheses, e.g. \
              `network: Mlp(hidden: [64, 64], activation: tanh)` (the form without a name, \
              `network: (hidden: …)`, is no longer read)",
};

/// Table of network kinds by the name scenarios use.
#[derive(Clone, Default)]
pub struct Networks {
    table: Table<dyn NetworkKind>,
}

impl fmt::Debug for Networks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.table.fmt(f)
    }
}

/// The table's names, descriptions and [`Table::activate`].
impl std::ops::Deref for Networks {
    type Target = Table<dyn NetworkKind>;

    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

impl Networks {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in kinds (`Mlp`, `Linear`, `UNet`, `ResNet`).
    pub fn builtin() -> &'static Networks {
        static BUILTIN: OnceLock<Networks> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut networks = Networks::new();
            networks.register::<MlpParams>(
                "Mlp",
                "multilayer perceptron: hidden widths, activation, output activation",
            );
            networks.register::<super::linear::LinearParams>("Linear", "affine policy y = W x + b");
            networks.register::<super::grid::unet::UNetParams>(
                "UNet",
                "U-Net on a grid: levels, filters, batch norm, activation, padding",
            );
            networks.register::<super::grid::resnet::ResNetParams>(
                "ResNet",
                "residual CNN on a grid: blocks, filters, batch norm, activation, padding",
            );
            networks
        })
    }

    /// Registers kind `name` (as written in scenarios, e.g. `Mlp`) with parameter struct `K`,
    /// which is also its [`NetworkKind`]. Use `#[serde(deny_unknown_fields)]` on `K` so typos
    /// are rejected; a zero-sized `K` (unit struct) is written as the bare name. A later
    /// registration under the same name replaces the earlier one.
    pub fn register<K>(&mut self, name: &str, description: &str)
    where
        K: NetworkKind + Serialize + DeserializeOwned,
    {
        self.table
            .register::<K>(name, description, |k| Arc::new(k) as Arc<dyn NetworkKind>);
    }

    /// Parses one network from RON text, e.g. `Mlp(hidden: [64], activation: tanh)`.
    pub fn parse(&self, text: &str) -> Result<NetworkSpec, ron::error::SpannedError> {
        self.activate(|| ron::from_str(text))
    }

    /// Rebuilds the network `architecture` describes (initial parameters from `seed`).
    ///
    /// Returns [`crate::Error::Network`] if its kind is not registered here or its parameters
    /// do not parse or check.
    pub fn build(&self, architecture: &Architecture, seed: u64) -> crate::Result<Box<dyn Network>> {
        let spec = self
            .parse(&architecture.text())
            .map_err(|e| crate::Error::Network(format!("{}: {e}", architecture.text())))?;
        let io = architecture.io();
        spec.check(&io)
            .map_err(|e| crate::Error::Network(format!("network.{}: {}", e.field, e.message)))?;
        spec.build(&io, seed)
    }
}

/// [`Networks::build`] in the parsing thread's active table, or the built-in kinds.
pub fn build(architecture: &Architecture, seed: u64) -> crate::Result<Box<dyn Network>> {
    let table = Table::active_or(&Networks::builtin().table);
    Networks { table }.build(architecture, seed)
}

/// A network as the scenario gives it: the registered kind's name, its parameters and the
/// kind's [`NetworkKind`].
#[derive(Clone)]
pub struct NetworkSpec {
    named: Named<dyn NetworkKind>,
}

impl fmt::Debug for NetworkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl NetworkSpec {
    /// The kind's name as written in the scenario, e.g. `Mlp`.
    pub fn name(&self) -> &str {
        &self.named.name
    }

    /// The network as RON with every parameter resolved (defaults included), e.g.
    /// `Mlp(hidden:[64,64],activation:tanh,output_activation:identity)`.
    pub fn text(&self) -> String {
        self.named.text()
    }

    /// The kind's parameter struct.
    pub fn kind(&self) -> &dyn NetworkKind {
        self.named.value.as_ref()
    }

    /// The kind's parameter struct as its concrete type, if it is a `K`.
    pub fn downcast<K: NetworkKind>(&self) -> Option<&K> {
        (self.named.value.as_ref() as &dyn Any).downcast_ref()
    }

    /// [`NetworkKind::check`].
    pub fn check(&self, io: &NetworkIo) -> Result<(), ParamError> {
        self.named.value.check(io)
    }

    /// [`NetworkKind::size`].
    pub fn size(&self, io: &NetworkIo) -> NetworkSize {
        self.named.value.size(io)
    }

    /// The architecture of this network built for `io` (what of `io` it records:
    /// [`NetworkKind::recorded`]).
    pub fn architecture(&self, io: &NetworkIo) -> Architecture {
        let params = if self.named.unit {
            String::new()
        } else {
            self.named.params.clone()
        };
        let io = self.named.value.recorded(io);
        Architecture::with_io(self.named.name.clone(), params, &io)
    }

    /// Builds the network ([`NetworkKind::build`]) and checks that it reports this
    /// architecture.
    pub fn build(&self, io: &NetworkIo, seed: u64) -> crate::Result<Box<dyn Network>> {
        let net = self.named.value.build(io, seed)?;
        let expected = self.architecture(io);
        if net.architecture() != expected
            || net.inputs() != io.input.len
            || net.outputs() != io.output.len
        {
            return Err(crate::Error::Network(format!(
                "kind `{}` built {}, expected {expected}",
                self.named.name,
                net.architecture()
            )));
        }
        Ok(net)
    }
}

impl Serialize for NetworkSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for NetworkSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let named = plugins::deserialize(deserializer, &KIND, &Networks::builtin().table)?;
        Ok(NetworkSpec { named })
    }
}
