//! Checkpoints: everything needed to continue a method's training exactly where it stopped —
//! network weights, optimizer state, the training RNG position, iteration count, elapsed
//! training time, counters and the log so far.
//!
//! A checkpoint is one JSON file written atomically (temporary file, then rename), so a crash
//! while writing never replaces a good checkpoint with a broken one. Floats round-trip exactly.

use super::trainer::LogRow;
use super::UpdateStats;
use crate::net::Architecture;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag stored in every checkpoint.
pub const FORMAT: &str = "physinv-checkpoint-1";

/// Training state of one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`FORMAT`].
    pub format: String,
    /// Scenario name.
    pub scenario: String,
    /// Method display name.
    pub method: String,
    /// Network architecture: kind, parameters, inputs and outputs (checkpoints of earlier
    /// versions hold an MLP's shape here, read as the `Mlp` kind).
    pub network: Architecture,
    /// Iterations completed.
    pub iteration: usize,
    /// Training wall-clock seconds so far.
    pub wall_s: f64,
    /// Counters so far.
    pub stats: UpdateStats,
    /// The simulator's work in the training iterations so far (zero in checkpoints of older
    /// versions).
    #[serde(default)]
    pub work: crate::sim::Work,
    /// Network parameters ([`crate::net::Network::parameters`] order).
    pub parameters: Vec<f32>,
    /// Optimizer state ([`crate::net::Optimizer::state`]).
    pub optimizer: Vec<f64>,
    /// Position of the training RNG stream (ChaCha8 word position).
    pub rng_word_pos: u128,
    /// Logged evaluations so far.
    pub log: Vec<LogRow>,
    /// The best network on the validation scenes so far, if the scenario has them.
    #[serde(default)]
    pub best: Option<BestSoFar>,
    /// The scenario's fingerprint for this method ([`crate::scenario::Scenario::fingerprint`]);
    /// empty in checkpoints of older versions.
    #[serde(default)]
    pub fingerprint: Vec<(String, String)>,
    /// Whether training of this method had finished.
    pub finished: bool,
}

/// The network with the best validation value of the main metric so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestSoFar {
    /// Iteration at which it was logged.
    pub iteration: usize,
    /// Training seconds at that iteration.
    pub wall_s: f64,
    /// Its validation value of the main metric.
    pub value: f64,
    /// Its validation metrics.
    pub validation: crate::train::evaluate::Evaluation,
    /// Its parameters.
    pub parameters: Vec<f32>,
}

impl Checkpoint {
    /// Writes the checkpoint atomically to `path`.
    pub fn save(&self, path: &Path) -> crate::Result<()> {
        let text = serde_json::to_vec(self)
            .map_err(|e| crate::Error::Config(format!("cannot serialise checkpoint: {e}")))?;
        crate::files::write_atomic(path, &text)
    }

    /// Reads a checkpoint; a corrupt or foreign file is an error naming the file.
    pub fn load(path: &Path) -> crate::Result<Checkpoint> {
        let text = std::fs::read(path).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let checkpoint: Checkpoint =
            serde_json::from_slice(&text).map_err(|e| crate::Error::Checkpoint {
                path: path.to_path_buf(),
                problem: format!("not a valid checkpoint: {e}"),
            })?;
        if checkpoint.format != FORMAT {
            return Err(crate::Error::Checkpoint {
                path: path.to_path_buf(),
                problem: format!(
                    "checkpoint format '{}', expected '{FORMAT}'",
                    checkpoint.format
                ),
            });
        }
        Ok(checkpoint)
    }

    /// Checks that this checkpoint belongs to `scenario`, `method` and `network`.
    pub fn check_matches(
        &self,
        scenario: &str,
        method: &str,
        network: &Architecture,
        fingerprint: &[(String, String)],
    ) -> crate::Result<()> {
        let mut problems = Vec::new();
        if self.scenario != scenario {
            problems.push(format!(
                "scenario '{}' in checkpoint, '{scenario}' expected",
                self.scenario
            ));
        }
        if self.method != method {
            problems.push(format!(
                "method '{}' in checkpoint, '{method}' expected",
                self.method
            ));
        }
        if &self.network != network {
            problems.push(format!(
                "network {} in checkpoint, {network} expected",
                self.network
            ));
        }
        for (section, expected) in fingerprint {
            let found = self.fingerprint.iter().find(|(s, _)| s == section);
            if let Some((_, found)) = found.filter(|(_, f)| f != expected) {
                problems.push(format!(
                    "`{section}` differs: {} in checkpoint, {} in the scenario",
                    shorten(found),
                    shorten(expected)
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::CheckpointMismatch {
                differences: problems,
            })
        }
    }
}

/// At most 160 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    const LIMIT: usize = 160;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// File name of a method's checkpoint inside a run's `checkpoints/` directory.
pub fn checkpoint_file_name(method: &str) -> String {
    format!("{}.json", crate::files::file_stem(method))
}
