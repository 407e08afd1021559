//! Parameter gradients of a network, one buffer per parameter tensor, in the network's
//! parameter order ([`crate::net::Network::tensor_sizes`]).

use crate::{Error, Result};

/// Gradient of a scalar with respect to every parameter of a network, stored per parameter
/// tensor in the network's order (an MLP's: layer by layer, weight `(out, in)` row-major, then
/// bias).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamGrads {
    /// One buffer per parameter tensor (an MLP's `[W₀, b₀, W₁, b₁, …]`).
    pub(super) tensors: Vec<Vec<f32>>,
}

impl ParamGrads {
    /// All-zero gradients for parameter tensors of lengths `sizes` (a network's
    /// [`crate::net::Network::tensor_sizes`]; a starting point for accumulation).
    pub fn zeros(sizes: &[usize]) -> ParamGrads {
        let tensors = sizes.iter().map(|&n| vec![0.0; n]).collect();
        ParamGrads { tensors }
    }

    /// Gradients from per-tensor buffers (a network kind's backward pass), in parameter order.
    pub fn from_tensors(tensors: Vec<Vec<f32>>) -> ParamGrads {
        ParamGrads { tensors }
    }

    /// Gradients from a flat vector in the parameter order, split into tensors of lengths
    /// `sizes`.
    ///
    /// Returns [`Error::Network`] if the length differs from the sum of `sizes`.
    pub fn from_vec(sizes: &[usize], values: &[f32]) -> Result<ParamGrads> {
        let mut g = ParamGrads::zeros(sizes);
        let n: usize = sizes.iter().sum();
        if values.len() != n {
            return Err(Error::Network(format!(
                "gradient vector has {} values, the network has {n}",
                values.len(),
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

    /// Number of scalar entries (equals the network's
    /// [`crate::net::Network::num_parameters`]).
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
    pub fn tensors(&self) -> &[Vec<f32>] {
        &self.tensors
    }
}
