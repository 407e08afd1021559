//! Update rules as plug-ins: a scenario names its rule (`update: Sip(…)`, `update: Hig(…)`,
//! `update: MyRule(…)`), a table of registered rules turns the name and its parameters into a
//! [`RuleSpec`], and the spec validates itself against the scenario, estimates its working
//! memory and builds the [`UpdateRule`] the trainer runs.
//!
//! The built-in rules ([`super::builtin`]) are registered exactly the way a user's crate
//! registers its own, through [`crate::Registry::register_rule`]:
//!
//! ```
//! use physinv::Registry;
//! use physinv::train::{bptt::Bptt, rules::{Problem, RuleSpec}, Context, UpdateRule};
//! use physinv::sim::ParamError;
//!
//! /// Back-propagation through time, scaled (a toy rule).
//! #[derive(Debug, serde::Serialize, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Scaled {
//!     scale: f64,
//! }
//!
//! impl RuleSpec for Scaled {
//!     fn check(&self, _: &Problem<'_>) -> Result<(), ParamError> {
//!         if self.scale > 0.0 { Ok(()) } else { Err(ParamError::new("scale", "must be > 0")) }
//!     }
//!     fn build(&self, _: &Context<'_>) -> Box<dyn UpdateRule> {
//!         Box::new(Bptt::default()) // a real rule would use `scale`
//!     }
//! }
//!
//! let mut registry = Registry::with_builtins();
//! registry.register_rule::<Scaled>("Scaled", "BPTT with a scaled gradient");
//! assert!(registry.rules().names().contains(&"Scaled".to_string()));
//! ```
//!
//! Parameters are the rule's own serde struct, read straight from the scenario text (so nested
//! enums work and typos are reported at their position); a zero-sized type (a unit struct such
//! as `Supervised`) is written as the bare name. While a scenario is parsed the registry's
//! rules are the active table of the parsing thread ([`crate::plugins::Table::activate`]); outside a parse the
//! built-in rules are.

use super::{Context, UpdateRule};
use crate::episode::settings::EpisodeSpec;
use crate::memory::{MemoryPart, RunSizes};
use crate::objective::ObjectiveSpec;
use crate::plugins::{self, Kind, Named, Table};
use crate::sim::{ParamError, Physics};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// What a rule's [`RuleSpec::check`] and [`RuleSpec::memory`] see of the problem: the
/// simulator, the episode's wiring, the objective, whether the scenes carry ground-truth
/// controls, and the run's sizes. Not the scenario file: a user's rule keeps working when the
/// file format changes.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    /// The simulator and its capabilities.
    pub physics: &'a Physics,
    /// Episode length, closed or open loop, observations and scales.
    pub episode: &'a EpisodeSpec,
    /// The episode objective.
    pub objective: &'a ObjectiveSpec,
    /// Whether the scenes carry ground-truth controls (a generator's, or a `ReachedBy`
    /// target's).
    pub reference_controls: bool,
    /// State and control dimensions, steps, the method's batch and the network's parameter
    /// count.
    pub sizes: RunSizes,
}

/// A validated-on-demand update rule as a scenario describes it: the rule's parameters, and
/// what the library needs to know about it before training.
pub trait RuleSpec: Any + fmt::Debug + Send + Sync {
    /// Checks the parameters against the scenario. A [`ParamError`]'s field is relative to
    /// the update (`"eta"`, `"inverse.mu"`), or empty for the update as a whole; the scenario
    /// prefixes `methods[i].update`.
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError>;

    /// The rule's large buffers for one batch of `problem.sizes.batch` episodes (e.g.
    /// Gramians, Jacobians), counted in the scenario's memory estimate. Default: none.
    fn memory(&self, _problem: &Problem<'_>) -> Vec<MemoryPart> {
        Vec::new()
    }

    /// Builds the rule for the problem `ctx`.
    fn build(&self, ctx: &Context<'_>) -> Box<dyn UpdateRule>;

    /// Whether the rule's update is the exact loss gradient (back-propagation through time),
    /// so that the `cosine_bptt` diagnostic would be 1 and is skipped. Default `false`.
    fn is_loss_gradient(&self) -> bool {
        false
    }
}

/// `Ok` if `ok`, else a [`ParamError`] for `field` (relative to the update) with `message`:
/// the shape of every parameter check.
pub fn ensure(ok: bool, field: &str, message: impl Into<String>) -> Result<(), ParamError> {
    if ok {
        Ok(())
    } else {
        Err(ParamError::new(field, message))
    }
}

/// `value` is finite and ≥ 0, else a [`ParamError`] for `field`.
pub fn non_negative(value: f64, field: &str) -> Result<(), ParamError> {
    ensure(value >= 0.0 && value.is_finite(), field, "must be ≥ 0")
}

/// Checks that the simulator provides the derivatives a rule needs, naming what is missing.
pub fn require(physics: &Physics, jvp: bool, vjp: bool) -> Result<(), ParamError> {
    let wanted = [
        ("JVP", jvp, physics.jvp().is_some()),
        ("VJP", vjp, physics.vjp().is_some()),
    ];
    let wanted: Vec<_> = wanted.iter().filter(|w| w.1).collect();
    let missing: Vec<&str> = wanted.iter().filter(|w| !w.2).map(|w| w.0).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = wanted.iter().map(|w| format!("a {}", w.0)).collect();
    Err(ParamError::new(
        "",
        format!(
            "needs {}; simulator '{}' provides no {} (see Physics::differentiable, \
             sim::autodiff, sim::finite_difference)",
            all.join(" and "),
            physics.name(),
            missing.join(" and no ")
        ),
    ))
}

/// How update rules read in messages.
static RULE: Kind = Kind {
    what: "update rule",
    expecting: "an update rule such as Sip(…), Bptt(), Supervised or Hig(…)",
    renamed: RENAMED,
    unnamed: "",
};

/// Built-in rules that were renamed, `(old, new)`: a scenario with the old name gets an error
/// naming the new one (the names are not aliases, so a method's label and checkpoints have one
/// spelling).
const RENAMED: &[(&str, &str)] = &[("Dp", "Bptt")];

/// Table of update rules by the name scenarios use.
#[derive(Clone, Default)]
pub struct Rules {
    table: Table<dyn RuleSpec>,
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.table.fmt(f)
    }
}

/// The table's names, descriptions and [`Table::activate`].
impl std::ops::Deref for Rules {
    type Target = Table<dyn RuleSpec>;

    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

impl Rules {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in rules (`Sip`, `Bptt`, `Supervised`, `Hig`, `GaussNewton`).
    pub fn builtin() -> &'static Rules {
        static BUILTIN: OnceLock<Rules> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut rules = Rules::new();
            super::builtin::register(&mut rules);
            rules
        })
    }

    /// Registers rule `name` (as written in scenarios, e.g. `Hig`) with parameter struct `R`,
    /// which is also its [`RuleSpec`]. Use `#[serde(deny_unknown_fields)]` on `R` so typos are
    /// rejected; a zero-sized `R` (unit struct) is written as the bare name. A later
    /// registration under the same name replaces the earlier one.
    pub fn register<R>(&mut self, name: &str, description: &str)
    where
        R: RuleSpec + Serialize + DeserializeOwned,
    {
        self.table
            .register::<R>(name, description, |r| Arc::new(r) as Arc<dyn RuleSpec>);
    }

    /// Parses one update from RON text, e.g. `Hig(truncation: 1e-8)`.
    pub fn parse(&self, text: &str) -> Result<UpdateSpec, ron::error::SpannedError> {
        self.activate(|| ron::from_str(text))
    }
}

/// A method's update rule as the scenario gives it: the registered name, the parameters and
/// the rule's [`RuleSpec`].
#[derive(Clone)]
pub struct UpdateSpec {
    named: Named<dyn RuleSpec>,
}

impl fmt::Debug for UpdateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl UpdateSpec {
    /// The rule's name as written in the scenario, e.g. `GaussNewton`.
    pub fn name(&self) -> &str {
        &self.named.name
    }

    /// The name in method labels: snake case, e.g. `gauss_newton` (so `gauss_newton+sgd`).
    pub fn label(&self) -> String {
        snake_case(&self.named.name)
    }

    /// The update as RON with every parameter resolved (defaults included), e.g.
    /// `Hig(truncation:1e-10,exponent:0.5)`.
    pub fn text(&self) -> String {
        self.named.text()
    }

    /// The rule's spec.
    pub fn rule(&self) -> &dyn RuleSpec {
        self.named.value.as_ref()
    }

    /// The rule's spec as its concrete type, if it is an `R`.
    pub fn downcast<R: RuleSpec>(&self) -> Option<&R> {
        (self.named.value.as_ref() as &dyn Any).downcast_ref()
    }
}

/// `GaussNewton` → `gauss_newton`, `LBFGS` → `lbfgs`: an underscore where a capital follows a
/// lower-case letter or digit.
fn snake_case(name: &str) -> String {
    let mut label = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && previous_lower {
            label.push('_');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        label.extend(c.to_lowercase());
    }
    label
}

impl Serialize for UpdateSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for UpdateSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let named = plugins::deserialize(deserializer, &RULE, &Rules::builtin().table)?;
        Ok(UpdateSpec { named })
    }
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn labels_are_snake_case() {
        for (name, label) in [
            ("Sip", "sip"),
            ("GaussNewton", "gauss_newton"),
            ("LBFGS", "lbfgs"),
            ("Hig2Step", "hig2_step"),
        ] {
            assert_eq!(snake_case(name), label);
        }
    }
}
