//! Checkpoints: everything needed to continue a method's training exactly where it stopped —
//! network weights, optimizer state, the training RNG position, iteration count, elapsed
//! training time, counters and the log so far.
//!
//! A checkpoint is one JSON file written atomically (temporary file, then rename), so a crash
//! while writing never replaces a good checkpoint with a broken one. Floats round-trip exactly.
//!
//! It proves that it is intact: `checksum` is the FNV-1a hash of the checkpoint's JSON
//! without that field, and `fingerprint` names the scenario it was trained on. A checkpoint
//! whose content does not match its checksum, that has none, or that has no fingerprint is
//! refused, naming which; so is anything but a regular file of at most
//! [`MAX_CHECKPOINT_BYTES`].

use super::trainer::LogRow;
use super::UpdateStats;
use crate::net::Architecture;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag stored in every checkpoint.
pub const FORMAT: &str = "physinv-checkpoint-1";

/// Largest checkpoint file that is read (4 GiB): far above the checkpoint of any network the
/// memory ceiling admits, so anything larger is the wrong file.
pub const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

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
    /// Values the network keeps besides its parameters ([`crate::net::Network::statistics`]:
    /// batch norm's running averages); none for most kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<f32>,
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
    /// a checkpoint without one is refused.
    #[serde(default)]
    pub fingerprint: Vec<(String, String)>,
    /// Whether training of this method had finished.
    pub finished: bool,
    /// FNV-1a hash (16 hex digits) of this checkpoint's JSON without this field, set by
    /// [`Checkpoint::save`] and checked by [`Checkpoint::load`]. It must stay the last field:
    /// `save` appends it to the serialised text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
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
    /// Its statistics ([`crate::net::Network::statistics`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<f32>,
}

impl Checkpoint {
    /// Writes the checkpoint atomically to `path`.
    pub fn save(&self, path: &Path) -> crate::Result<()> {
        let mut text = self.unsealed_json()?;
        let checksum = format!("{:016x}", crate::files::fnv1a(&text));
        // `checksum` is the last field: the sealed JSON is the unsealed one with it appended
        // before the closing brace (serialised once, not copied).
        text.pop();
        text.extend_from_slice(format!(",\"checksum\":\"{checksum}\"}}").as_bytes());
        crate::files::write_atomic(path, &text)
    }

    /// This checkpoint's JSON without its checksum (the text the checksum is the hash of).
    fn unsealed_json(&self) -> crate::Result<Vec<u8>> {
        let text = match self.checksum {
            None => serde_json::to_vec(self),
            Some(_) => serde_json::to_vec(&Checkpoint {
                checksum: None,
                ..self.clone()
            }),
        };
        text.map_err(|e| crate::Error::Config(format!("cannot serialise checkpoint: {e}")))
    }

    /// Reads a checkpoint; a corrupt or foreign file is an error naming the file.
    pub fn load(path: &Path) -> crate::Result<Checkpoint> {
        let refuse = |problem: String| crate::Error::Checkpoint {
            path: path.to_path_buf(),
            problem,
        };
        let text = crate::files::read_limited(path, MAX_CHECKPOINT_BYTES)
            .map_err(|source| crate::Error::Io {
                path: path.to_path_buf(),
                source,
            })?
            .ok_or_else(|| {
                refuse(format!(
                    "larger than {MAX_CHECKPOINT_BYTES} bytes, the most a checkpoint holds"
                ))
            })?;
        let mut checkpoint: Checkpoint = serde_json::from_slice(&text)
            .map_err(|e| refuse(format!("not a valid checkpoint: {e}")))?;
        if checkpoint.format != FORMAT {
            return Err(refuse(format!(
                "checkpoint format '{}', expected '{FORMAT}'",
                checkpoint.format
            )));
        }
        let Some(stored) = checkpoint.checksum.take() else {
            return Err(refuse(
                "no checksum: written by an earlier version, or edited; it cannot prove that it \
                 is intact"
                    .into(),
            ));
        };
        let found = format!("{:016x}", crate::files::fnv1a(&checkpoint.unsealed_json()?));
        if stored != found {
            return Err(refuse(format!(
                "its content does not match its checksum ({stored} stored, {found} found): the \
                 file was changed or corrupted"
            )));
        }
        if checkpoint.fingerprint.is_empty() {
            return Err(refuse(
                "no fingerprint of the scenario it was trained on: it cannot be matched to one"
                    .into(),
            ));
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
                let (found, expected) = difference(found, expected);
                problems.push(format!(
                    "`{section}` differs: {found} in checkpoint, {expected} in the scenario"
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

/// Where `found` and `expected` first differ, for messages: both texts from a little before
/// that place, each at most 160 characters, with `…` where something was left out.
pub fn difference(found: &str, expected: &str) -> (String, String) {
    const BEFORE: usize = 40;
    const LIMIT: usize = 160;
    let first = found
        .chars()
        .zip(expected.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let start = first.saturating_sub(BEFORE);
    let excerpt = |text: &str| {
        let chars: Vec<char> = text.chars().collect();
        let end = (start + LIMIT).min(chars.len());
        let mut out = String::new();
        if start > 0 {
            out.push('…');
        }
        out.extend(&chars[start.min(chars.len())..end]);
        if end < chars.len() {
            out.push('…');
        }
        out
    };
    (excerpt(found), excerpt(expected))
}

/// File name of a method's checkpoint inside a run's `checkpoints/` directory.
pub fn checkpoint_file_name(method: &str) -> String {
    format!("{}.json", crate::files::file_stem(method))
}

#[cfg(test)]
mod tests {
    use super::difference;

    #[test]
    fn a_difference_is_shown_where_it_is() {
        let common = "x".repeat(300);
        let found = format!("({common}, drag: 0.5, dt: 0.1)");
        let expected = format!("({common}, drag: 0.7, dt: 0.1)");
        let (f, e) = difference(&found, &expected);
        assert!(f.starts_with('…') && f.contains("drag: 0.5"), "{f}");
        assert!(e.starts_with('…') && e.contains("drag: 0.7"), "{e}");
        assert!(f.chars().count() <= 162, "{f}");
        let (f, e) = difference("(a: 1)", "(a: 2)");
        assert_eq!((f.as_str(), e.as_str()), ("(a: 1)", "(a: 2)"));
    }
}
