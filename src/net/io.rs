//! Saving and loading a network of any kind.
//!
//! File format (version 1), little-endian:
//!
//! | bytes | content |
//! | --- | --- |
//! | 8 | magic `PHYSNET1` |
//! | 4 | `u32` length `h` of the header |
//! | `h` | UTF-8 JSON header: `{"architecture": Architecture, "num_parameters": n, "checksum": u64}`, and `"statistics": [f32…]` for a network that keeps values besides its parameters ([`Network::statistics`]: batch norm's running averages) |
//! | `4n` | the `n` parameters as `f32`, in the network's parameter order |
//!
//! `checksum` is the 64-bit FNV-1a hash of the parameter bytes. Parameters are stored as raw
//! bits so a round trip is exact. Files are written atomically (temporary file, then rename).
//! Files of earlier versions (magic `PHYSMLP1`, an MLP's shape in the header's `config`) are
//! read as the `Mlp` kind.

use std::path::Path;

use super::mlp::{Mlp, MlpConfig};
use super::network::Network;
use super::table::Architecture;
use crate::files::{fnv1a, read_limited};
use crate::{Error, Result};

/// Largest network file that is read (4 GiB): far above any network the memory ceiling
/// admits, so anything larger is the wrong file.
pub const MAX_NETWORK_FILE_BYTES: u64 = 4 << 30;

const MAGIC: &[u8; 8] = b"PHYSNET1";
/// The magic of network files of earlier versions (MLPs only).
const EARLIER_MAGIC: &[u8; 8] = b"PHYSMLP1";

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(alias = "config")]
    architecture: Architecture,
    num_parameters: usize,
    checksum: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    statistics: Vec<f32>,
}

/// Writes `net`'s architecture and all parameters to `path` (format in the
/// [`io` module docs](self)), atomically: a temporary file next to `path` is written, synced
/// and renamed over it. Returns [`Error::Io`] on a file-system failure.
pub fn save(net: &dyn Network, path: &Path) -> Result<()> {
    let payload: Vec<u8> = net
        .parameters()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let header = Header {
        architecture: net.architecture(),
        num_parameters: net.num_parameters(),
        checksum: fnv1a(&payload),
        statistics: net.statistics(),
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

/// Reads a network written by [`save`] into `net`, whose architecture the file's must equal.
/// Returns [`Error::Io`] if the file cannot be read, and [`Error::Network`] if it is not a
/// valid network file (wrong magic, truncated, corrupt, bad checksum, non-finite parameters)
/// or if its architecture differs; that message lists every difference, e.g.
/// `inputs 2 in file, 3 expected`. `net` is unchanged on error.
pub fn load_into(path: &Path, net: &mut dyn Network) -> Result<()> {
    let corrupt = |what: String| {
        Error::Network(format!(
            "{}: not a valid network file: {what}",
            path.display()
        ))
    };
    let bytes = read_limited(path, MAX_NETWORK_FILE_BYTES)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?
        .ok_or_else(|| {
            corrupt(format!(
                "larger than {MAX_NETWORK_FILE_BYTES} bytes, the most a network file holds"
            ))
        })?;
    if bytes.len() < 12 || (&bytes[..8] != MAGIC && &bytes[..8] != EARLIER_MAGIC) {
        return Err(corrupt("missing `PHYSNET1` header".into()));
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
    let header: Header =
        serde_json::from_slice(header).map_err(|e| corrupt(format!("unreadable header: {e}")))?;

    let diffs = header.architecture.differences(&net.architecture());
    if !diffs.is_empty() {
        return Err(Error::Network(format!(
            "{}: stored network does not match the configuration: {}",
            path.display(),
            diffs.join("; ")
        )));
    }
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
    if let Some(i) = header.statistics.iter().position(|v| !v.is_finite()) {
        return Err(corrupt(format!(
            "statistic {i} is {}",
            header.statistics[i]
        )));
    }
    let before = net.statistics();
    net.set_statistics(&header.statistics)
        .map_err(|e| corrupt(e.to_string()))?;
    net.set_parameters(&values).inspect_err(|_| {
        // Leave `net` unchanged: the statistics go back as they were.
        let _ = net.set_statistics(&before);
    })
}

impl Mlp {
    /// [`save`] for an MLP.
    pub fn save(&self, path: &Path) -> Result<()> {
        save(self, path)
    }

    /// Reads an MLP written by [`save`] ([`load_into`]) whose shape must be `expected`.
    pub fn load(path: &Path, expected: &MlpConfig) -> Result<Mlp> {
        let mut net = Mlp::new(expected, 0)?;
        load_into(path, &mut net)?;
        Ok(net)
    }
}
