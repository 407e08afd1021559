//! Saving and loading an [`Mlp`].
//!
//! File format (version 1), little-endian:
//!
//! | bytes | content |
//! | --- | --- |
//! | 8 | magic `PHYSMLP1` |
//! | 4 | `u32` length `h` of the header |
//! | `h` | UTF-8 JSON header: `{"config": MlpConfig, "num_parameters": n, "checksum": u64}` |
//! | `4n` | the `n` parameters as `f32`, in the order documented on [`Mlp`] |
//!
//! `checksum` is the 64-bit FNV-1a hash of the parameter bytes. Parameters are stored as raw
//! bits so a round trip is exact. Files are written atomically (temporary file, then rename).

use std::fs;
use std::path::Path;

use super::mlp::{Mlp, MlpConfig};
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"PHYSMLP1";

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    config: MlpConfig,
    num_parameters: usize,
    checksum: u64,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Mlp {
    /// Writes the configuration and all parameters to `path` (format in the
    /// [`io` module docs](self)), atomically: a temporary file next to `path` is written,
    /// synced and renamed over it. Returns [`Error::Io`] on a file-system failure.
    pub fn save(&self, path: &Path) -> Result<()> {
        let payload: Vec<u8> = self
            .parameters()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let header = Header {
            config: self.config().clone(),
            num_parameters: self.num_parameters(),
            checksum: fnv1a(&payload),
        };
        let header = serde_json::to_vec(&header)
            .map_err(|e| Error::Network(format!("cannot encode network header: {e}")))?;
        let header_len = u32::try_from(header.len())
            .map_err(|_| Error::Network("network header too large".into()))?;
        let mut bytes = Vec::with_capacity(12 + header.len() + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&header_len.to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&payload);
        crate::files::write_atomic(path, &bytes)
    }

    /// Reads a network written by [`Mlp::save`] and checks that its configuration equals
    /// `expected`. Returns [`Error::Io`] if the file cannot be read, and [`Error::Network`] if
    /// it is not a valid network file (wrong magic, truncated, corrupt, bad checksum,
    /// non-finite parameters) or if its configuration differs; that message lists every
    /// difference, e.g. `hidden widths [32, 64] in file, [16] expected`.
    pub fn load(path: &Path, expected: &MlpConfig) -> Result<Mlp> {
        let bytes = fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let corrupt = |what: String| {
            Error::Network(format!(
                "{}: not a valid network file: {what}",
                path.display()
            ))
        };
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(corrupt("missing `PHYSMLP1` header".into()));
        }
        let mut len4 = [0u8; 4];
        len4.copy_from_slice(&bytes[8..12]);
        let header_len = u32::from_le_bytes(len4) as usize;
        let rest = &bytes[12..];
        if header_len > rest.len() {
            return Err(corrupt(format!(
                "header of {header_len} bytes but only {} bytes follow",
                rest.len()
            )));
        }
        let (header, payload) = rest.split_at(header_len);
        let header: Header = serde_json::from_slice(header)
            .map_err(|e| corrupt(format!("unreadable header: {e}")))?;

        let diffs = config_differences(&header.config, expected);
        if !diffs.is_empty() {
            return Err(Error::Network(format!(
                "{}: stored network does not match the configuration: {}",
                path.display(),
                diffs.join("; ")
            )));
        }
        let mut net = Mlp::new(expected, 0)?;
        let n = net.num_parameters();
        if header.num_parameters != n || payload.len() != 4 * n {
            return Err(corrupt(format!(
                "expected {n} parameters ({} bytes), header says {} and the file holds {} bytes",
                4 * n,
                header.num_parameters,
                payload.len()
            )));
        }
        if fnv1a(payload) != header.checksum {
            return Err(corrupt("parameter checksum mismatch".into()));
        }
        let values: Vec<f32> = payload
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(corrupt(format!("parameter {i} is {}", values[i])));
        }
        net.set_parameters(&values)?;
        Ok(net)
    }
}

/// Human-readable list of the fields in which `file` differs from `expected`.
fn config_differences(file: &MlpConfig, expected: &MlpConfig) -> Vec<String> {
    let mut d = Vec::new();
    if file.inputs != expected.inputs {
        d.push(format!(
            "inputs {} in file, {} expected",
            file.inputs, expected.inputs
        ));
    }
    if file.hidden != expected.hidden {
        d.push(format!(
            "hidden widths {:?} in file, {:?} expected",
            file.hidden, expected.hidden
        ));
    }
    if file.outputs != expected.outputs {
        d.push(format!(
            "outputs {} in file, {} expected",
            file.outputs, expected.outputs
        ));
    }
    if file.activation != expected.activation {
        d.push(format!(
            "activation {} in file, {} expected",
            file.activation, expected.activation
        ));
    }
    if file.output_activation != expected.output_activation {
        d.push(format!(
            "output activation {} in file, {} expected",
            file.output_activation, expected.output_activation
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Activation;

    #[test]
    fn differences_name_every_field() {
        let a = MlpConfig {
            inputs: 2,
            hidden: vec![32, 64],
            outputs: 1,
            activation: Activation::Tanh,
            output_activation: Activation::Identity,
        };
        let b = MlpConfig {
            inputs: 3,
            hidden: vec![16],
            outputs: 2,
            activation: Activation::Relu,
            output_activation: Activation::Sigmoid,
        };
        let d = config_differences(&a, &b).join("; ");
        assert_eq!(
            d,
            "inputs 2 in file, 3 expected; hidden widths [32, 64] in file, [16] expected; \
             outputs 1 in file, 2 expected; activation tanh in file, relu expected; \
             output activation identity in file, sigmoid expected"
        );
        assert!(config_differences(&a, &a).is_empty());
    }

    #[test]
    fn fnv1a_reference_value() {
        // Published FNV-1a 64 test vector.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
