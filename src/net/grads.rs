//! Parameter gradients of an [`Mlp`], in the network's parameter order.

use super::mlp::Mlp;
use crate::{Error, Result};

/// Gradient of a scalar with respect to every parameter of an [`Mlp`], stored per tensor in the
/// network's parameter order (layer by layer: weight `(out, in)` row-major, then bias).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamGrads {
    /// One buffer per parameter tensor: `[W₀, b₀, W₁, b₁, …]`.
    pub(super) tensors: Vec<Vec<f32>>,
}

impl ParamGrads {
    /// All-zero gradients shaped like `net`'s parameters (a starting point for accumulation).
    pub fn zeros(net: &Mlp) -> ParamGrads {
        let tensors = net
            .config()
            .widths()
            .windows(2)
            .flat_map(|p| [vec![0.0; p[0] * p[1]], vec![0.0; p[1]]])
            .collect();
        ParamGrads { tensors }
    }

    /// Gradients from a flat vector in the parameter order of `net` (see [`Mlp`]).
    ///
    /// Returns [`Error::Network`] if the length differs from `net.num_parameters()`.
    pub fn from_vec(net: &Mlp, values: &[f32]) -> Result<ParamGrads> {
        let mut g = ParamGrads::zeros(net);
        if values.len() != net.num_parameters() {
            return Err(Error::Network(format!(
                "gradient vector has {} values, the network has {}",
                values.len(),
                net.num_parameters()
            )));
        }
        let mut rest = values;
        for t in &mut g.tensors {
            let (head, tail) = rest.split_at(t.len());
            t.copy_from_slice(head);
            rest = tail;
        }
        Ok(g)
    }

    /// Number of scalar entries (equals the network's [`Mlp::num_parameters`]).
    pub fn num_parameters(&self) -> usize {
        self.tensors.iter().map(Vec::len).sum()
    }

    /// All entries as one flat vector in parameter order.
    pub fn to_vec(&self) -> Vec<f32> {
        self.tensors.concat()
    }

    /// Global Euclidean norm `√Σ g²`, accumulated in `f64`.
    pub fn norm(&self) -> f64 {
        self.tensors
            .iter()
            .flatten()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>()
            .sqrt()
    }

    /// Inner product `Σ a·b` with `other`, accumulated in `f64`; `None` if the shapes differ.
    pub fn dot(&self, other: &ParamGrads) -> Option<f64> {
        if self.tensors.len() != other.tensors.len()
            || self
                .tensors
                .iter()
                .zip(&other.tensors)
                .any(|(a, b)| a.len() != b.len())
        {
            return None;
        }
        Some(
            self.tensors
                .iter()
                .flatten()
                .zip(other.tensors.iter().flatten())
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum(),
        )
    }

    /// Cosine `⟨a, b⟩ / (‖a‖ ‖b‖)` with `other` (0 if either is zero); `None` if the shapes
    /// differ.
    pub fn cosine(&self, other: &ParamGrads) -> Option<f64> {
        let norms = self.norm() * other.norm();
        self.dot(other)
            .map(|d| if norms > 0.0 { d / norms } else { 0.0 })
    }

    /// The parameter tensors' entries, one slice per tensor in the parameter order (for
    /// reductions over several processes, which sum each tensor in place).
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.tensors.iter_mut().map(Vec::as_mut_slice)
    }

    /// Multiplies every entry by `factor`.
    pub fn scale(&mut self, factor: f32) {
        self.tensors.iter_mut().flatten().for_each(|g| *g *= factor);
    }

    /// Adds `other` entry-wise (e.g. to accumulate gradients of several batches).
    ///
    /// # Panics
    /// If `other` belongs to a network of a different shape (a programming error).
    pub fn add_assign(&mut self, other: &ParamGrads) {
        assert!(
            self.tensors.len() == other.tensors.len()
                && self
                    .tensors
                    .iter()
                    .zip(&other.tensors)
                    .all(|(a, b)| a.len() == b.len()),
            "ParamGrads::add_assign: gradients of differently shaped networks"
        );
        for (a, b) in self.tensors.iter_mut().zip(&other.tensors) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += *y);
        }
    }

    /// Per-tensor buffers in parameter order.
    pub(super) fn tensors(&self) -> &[Vec<f32>] {
        &self.tensors
    }
}
