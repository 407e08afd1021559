//! What update rules, rollouts and evaluations see of a network: a differentiable map from a
//! batch of inputs to a batch of outputs with trainable parameters in a fixed flat order.
//!
//! Batches are `(features × samples)` matrices, one column per sample, in `f64` at this
//! boundary (the parameters themselves may be `f32`). [`Mlp`] is the implementation the
//! trainer builds; a network of another shape (e.g. convolutional, for fields) implements the
//! same trait and every rule works with it unchanged.

use super::grads::ParamGrads;
use super::jacobian::Linearisation;
use super::mlp::Mlp;
use super::sequence::BackwardSequence;
#[cfg(doc)]
use super::sequence::Summed;
use nalgebra::DMatrix;
use std::fmt;

/// A trainable, differentiable network.
pub trait Network: fmt::Debug + Send + Sync {
    /// Input features per sample.
    fn inputs(&self) -> usize;

    /// Output features per sample.
    fn outputs(&self) -> usize;

    /// Trainable scalars, the length of every flat parameter vector and Jacobian row.
    fn num_parameters(&self) -> usize;

    /// Outputs `(outputs × samples)` at `inputs` `(inputs × samples)`.
    fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64>;

    /// Parameter gradient of `Σ_samples ⟨cotangent, f(x)⟩` (summed over the batch).
    fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads;

    /// [`Network::backward`] and the input cotangents `(∂f/∂x)ᵀ c` `(inputs × samples)`.
    fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>);

    /// A backward pass over several batches through these parameters, fed one batch at a time
    /// (a closed-loop episode's steps, last first): each batch's input cotangent at once, the
    /// parameter gradient summed over all of them at the end. A network without a better way
    /// returns [`Summed`]`::new(self)`, one [`Network::backward_with_input`] per batch.
    fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_>;

    /// What [`Linearisation::add_rows`] needs to write per-cotangent rows of the parameter
    /// Jacobian at `inputs` (half-inverse gradients, Gauss-Newton).
    fn linearise(&self, inputs: &DMatrix<f64>) -> Linearisation;

    /// A gradient from a flat vector in the parameter order.
    fn grads_from_vec(&self, values: &[f32]) -> crate::Result<ParamGrads>;
}

impl Network for Mlp {
    fn inputs(&self) -> usize {
        self.config().inputs
    }

    fn outputs(&self) -> usize {
        self.config().outputs
    }

    fn num_parameters(&self) -> usize {
        Mlp::num_parameters(self)
    }

    fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64> {
        Mlp::forward(self, inputs)
    }

    fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads {
        Mlp::backward(self, inputs, output_cotangent)
    }

    fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        Mlp::backward_with_input(self, inputs, output_cotangent)
    }

    fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_> {
        Mlp::backward_sequence(self)
    }

    fn linearise(&self, inputs: &DMatrix<f64>) -> Linearisation {
        Mlp::linearise(self, inputs)
    }

    fn grads_from_vec(&self, values: &[f32]) -> crate::Result<ParamGrads> {
        ParamGrads::from_vec(self, values)
    }
}
