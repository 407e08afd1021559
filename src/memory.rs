//! Memory estimates: the parts a run's memory is made of, the sizes an estimate depends on
//! ([`RunSizes`]), and the ceiling a run is checked against ([`ResourceLimits`]).
//!
//! The scenario's estimate is assembled in [`crate::scenario::limits`]; update rules and network
//! kinds add their own parts from these types, so they never read the scenario file's schema.

use std::fmt;

/// One gibibyte (2³⁰ bytes).
pub const GIB: u64 = 1 << 30;

/// Default memory ceiling of a run: 8 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 8 * GIB;

/// Largest ceiling that can be set (1 PiB): far above any machine, small enough that the
/// ceiling in bytes never overflows.
pub const MAX_MEMORY_CEILING: u64 = 1 << 50;

/// Bytes of one `f32` (network parameters and activations).
pub const F32_BYTES: u64 = 4;
/// Bytes of one `f64` (states, controls, network inputs before conversion).
pub const F64_BYTES: u64 = 8;

/// Limits a scenario is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Most memory a run may need, in bytes (estimated by [`crate::scenario::limits::estimate_memory`]).
    pub max_memory: u64,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

impl ResourceLimits {
    /// Limits with a memory ceiling of `gib` GiB: finite, > 0 and at most
    /// [`MAX_MEMORY_CEILING`].
    pub fn with_max_memory_gib(gib: f64) -> Result<Self, String> {
        let max = MAX_MEMORY_CEILING / GIB;
        if !(gib.is_finite() && gib > 0.0 && gib <= max as f64) {
            return Err(format!(
                "the memory ceiling must be a number of GiB in (0, {max}], got {gib}"
            ));
        }
        Ok(ResourceLimits {
            max_memory: ((gib * GIB as f64) as u64).max(1),
        })
    }
}

/// One part of a [`MemoryEstimate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPart {
    /// What is stored, e.g. `training episodes` (with its sizes where they help, e.g. the
    /// rows and columns of a Jacobian).
    pub what: String,
    /// The scenario fields that drive it, e.g. `training.batch × episode.steps`.
    pub driven_by: &'static str,
    /// Estimated bytes (`u64::MAX` if the size overflows).
    pub bytes: u64,
}

/// The sizes an update rule's memory estimate ([`crate::train::rules::RuleSpec::memory`])
/// depends on, saturated to `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSizes {
    /// State dimension `n`.
    pub state_dim: u64,
    /// Control dimension `m`.
    pub control_dim: u64,
    /// Episode steps `T`.
    pub steps: u64,
    /// Episodes per iteration of the method.
    pub batch: u64,
    /// Network parameters `P`.
    pub parameters: u64,
}

/// The estimated memory of a run, by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Every part, in a fixed order (network, checkpoint, activations, episodes, held-out
    /// scenes, evaluation, then the update rule's own).
    pub parts: Vec<MemoryPart>,
}

impl MemoryEstimate {
    /// Sum of the parts in bytes (saturating).
    pub fn total(&self) -> u64 {
        self.parts
            .iter()
            .fold(0u64, |s, p| s.saturating_add(p.bytes))
    }

    /// The `k` largest non-empty parts, largest first.
    pub fn largest(&self, k: usize) -> Vec<&MemoryPart> {
        let mut parts: Vec<&MemoryPart> = self.parts.iter().filter(|p| p.bytes > 0).collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
        parts.truncate(k);
        parts
    }

    /// `Err` with the estimate and its largest parts if it exceeds `limits`.
    pub fn check(&self, limits: &ResourceLimits) -> Result<(), MemoryExceeded> {
        let estimate = self.total();
        if estimate <= limits.max_memory {
            return Ok(());
        }
        Err(MemoryExceeded {
            estimate,
            limit: limits.max_memory,
            largest: self
                .largest(3)
                .into_iter()
                .map(|p| (format!("{} ({})", p.what, p.driven_by), p.bytes))
                .collect(),
        })
    }
}

/// A run whose estimated memory is over the ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryExceeded {
    /// Estimated bytes (`u64::MAX`: the size overflows).
    pub estimate: u64,
    /// The ceiling in bytes.
    pub limit: u64,
    /// The largest parts: description (with the fields that drive it) and bytes.
    pub largest: Vec<(String, u64)>,
}

impl fmt::Display for MemoryExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.estimate == u64::MAX {
            write!(
                f,
                "the memory the run needs overflows 64 bits (more than 16 EiB), far above the \
                 limit of {}; largest parts: ",
                Bytes(self.limit)
            )?;
        } else {
            write!(
                f,
                "the run needs about {} of memory (estimated), more than the limit of {}; \
                 largest parts: ",
                Bytes(self.estimate),
                Bytes(self.limit)
            )?;
        }
        for (i, (what, bytes)) in self.largest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{what} {}", Bytes(*bytes))?;
        }
        f.write_str(". Reduce those fields, or raise the limit with --max-memory <GiB>")
    }
}

/// A byte count in binary units (`1.5 GiB`); `u64::MAX` reads as an overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == u64::MAX {
            return f.write_str("more than 16 EiB (the size overflows)");
        }
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

/// Saturating product of `factors` (an overflowing size is `u64::MAX`).
pub fn product(factors: &[u64]) -> u64 {
    factors.iter().fold(1u64, |p, f| p.saturating_mul(*f))
}
