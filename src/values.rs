//! Named scalar values: the metrics of an evaluation and the diagnostics of an update.

use serde::{Deserialize, Serialize};

/// Values by name, in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedValues {
    /// Names.
    pub names: Vec<String>,
    /// Values, in the order of `names`.
    pub values: Vec<f64>,
}

impl NamedValues {
    /// Value of `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    /// Appends `name = value`.
    pub fn push(&mut self, name: &str, value: f64) {
        self.names.push(name.to_string());
        self.values.push(value);
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }
}
