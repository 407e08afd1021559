//! What the trainer, the optimizer, update rules, rollouts, evaluation, checkpoints and export
//! see of a network: a differentiable map from a batch of inputs to a batch of outputs with
//! trainable parameters in a fixed flat order.
//!
//! Batches are `(features × samples)` matrices, one column per sample, in `f64` at this
//! boundary (the parameters themselves are `f32`). The parameters are a list of
//! [`ParamTensor`]s (the optimizer keeps its state per tensor); flat, they are the tensors
//! one after the other, the order of every gradient ([`ParamGrads`]), Jacobian row, checkpoint
//! and exported file.
//!
//! A network kind ([`crate::net::mlp`], [`crate::net::linear`], or a user's, registered in
//! the network table, [`crate::net::table`]) implements [`Network`]; what it needs beyond the
//! forward pass:
//!
//! | method | used by |
//! | --- | --- |
//! | [`Network::backward`] | every update rule: one stacked backward pass from the output cotangents |
//! | [`Network::backward_sequence`], [`Network::backward_with_input`] | closed-loop BPTT: input cotangents step by step |
//! | [`Network::linearise`] → [`JacobianRows`] | half-inverse gradients and Gauss-Newton: rows of the parameter Jacobian |
//! | [`Network::tensors_mut`] | the optimizer, per tensor |
//! | [`Network::parameters`], [`Network::set_parameters`], [`Network::architecture`] | checkpoints, resume, evaluation, export |
//! | [`Network::tensor_names`], [`Network::metadata`] | export as safetensors |
//! | [`Network::update_statistics`] | the optimizer, once per step (batch norm's running averages) |
//! | [`Network::statistics`], [`Network::set_statistics`], [`Network::statistic_names`] | checkpoints, network files, export (values kept besides the parameters) |
//! | [`Network::for_evaluation`] | evaluation (batch norm with its running averages) |
//!
//! The last five have defaults for a network that keeps nothing besides its parameters and
//! evaluates as it trains (the MLP, `Linear`); the grid kinds with batch norm
//! ([`crate::net::grid`]) use them.

use super::grads::ParamGrads;
use super::params::{self, ParamTensor};
use super::sequence::BackwardSequence;
#[cfg(doc)]
use super::sequence::Summed;
use super::table::Architecture;
use nalgebra::DMatrix;
use std::collections::BTreeMap;
use std::fmt;

/// A trainable, differentiable network `f(x; θ)`.
pub trait Network: fmt::Debug + Send + Sync {
    /// Kind, parameters and sizes: what a checkpoint, the resume check and export record, and
    /// what rebuilds the network ([`crate::net::Networks::build`]).
    fn architecture(&self) -> Architecture;

    /// Input features per sample.
    fn inputs(&self) -> usize;

    /// Output features per sample.
    fn outputs(&self) -> usize;

    /// The parameter tensors, in parameter order.
    fn tensors(&self) -> &[ParamTensor];

    /// The parameter tensors for changing them in place (the optimizer). A network that keeps
    /// anything computed from its parameters (e.g. a forward pass for the backward pass that
    /// follows) drops it here.
    fn tensors_mut(&mut self) -> &mut [ParamTensor];

    /// A name and a shape per parameter tensor, for export (e.g. `layers.0.weight`,
    /// `[out, in]`, values in C order); the shapes' products are the tensors' lengths.
    fn tensor_names(&self) -> Vec<(String, Vec<usize>)>;

    /// What a reader of an exported file needs to evaluate the network (e.g. the MLP's
    /// `widths`, `activation`, and `forward`, the equation in words). Default: none.
    fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

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

    /// The network linearised at `inputs` `(inputs × samples)`: what writes per-cotangent rows
    /// of the parameter Jacobian there (half-inverse gradients, Gauss-Newton).
    fn linearise(&self, inputs: &DMatrix<f64>) -> Box<dyn JacobianRows + '_>;

    /// A copy with the same architecture and parameters.
    fn clone_box(&self) -> Box<dyn Network>;

    /// Folds what the training passes since the last optimizer step recorded into the values
    /// the network keeps besides its parameters (batch norm's running averages). Called by the
    /// optimizer once per step, before it changes the parameters. Default: nothing.
    fn update_statistics(&mut self) {}

    /// What the training passes since the last optimizer step recorded for
    /// [`Network::update_statistics`] (batch norm's batch statistics), flat: so that processes
    /// training on parts of a batch can combine theirs ([`Network::set_recorded_statistics`])
    /// and fold the whole batch's. Default: none.
    fn recorded_statistics(&self) -> Vec<f64> {
        Vec::new()
    }

    /// Replaces the recorded statistics by `values`: [`Network::recorded_statistics`] of one or
    /// more copies of this network, concatenated.
    ///
    /// Returns [`crate::Error::Network`] if `values` is not such a concatenation (the default
    /// records nothing, so accepts only an empty list).
    fn set_recorded_statistics(&mut self, values: &[f64]) -> crate::Result<()> {
        if values.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Network(format!(
                "{} recorded statistics for a network that records none",
                values.len()
            )))
        }
    }

    /// The values the network keeps besides its trainable parameters and uses at evaluation
    /// (batch norm's running averages), flat; checkpoints and network files save them.
    /// Default: none.
    fn statistics(&self) -> Vec<f32> {
        Vec::new()
    }

    /// Overwrites [`Network::statistics`].
    ///
    /// Returns [`crate::Error::Network`] if the length differs (the default keeps none, so
    /// accepts only an empty list).
    fn set_statistics(&mut self, values: &[f32]) -> crate::Result<()> {
        if values.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Network(format!(
                "{} statistics for a network that keeps none",
                values.len()
            )))
        }
    }

    /// A name and a shape per block of [`Network::statistics`], in order, for export (e.g.
    /// `down.0.0.norm.running_mean`, `[16]`). Default: none.
    fn statistic_names(&self) -> Vec<(String, Vec<usize>)> {
        Vec::new()
    }

    /// A copy that computes as at evaluation (batch norm with its running averages instead of
    /// each batch's statistics), if this network's passes differ between training and
    /// evaluation; `None` (the default) if they do not.
    fn for_evaluation(&self) -> Option<Box<dyn Network>> {
        None
    }

    /// Trainable scalars, the length of every flat parameter vector and Jacobian row.
    fn num_parameters(&self) -> usize {
        self.tensors().iter().map(ParamTensor::len).sum()
    }

    /// The lengths of the parameter tensors, in order.
    fn tensor_sizes(&self) -> Vec<usize> {
        params::sizes(self.tensors())
    }

    /// All parameters as one flat vector, in parameter order.
    fn parameters(&self) -> Vec<f32> {
        params::flatten(self.tensors())
    }

    /// Overwrites all parameters from a flat vector in parameter order.
    ///
    /// Returns [`crate::Error::Network`] if the length differs from
    /// [`Network::num_parameters`].
    fn set_parameters(&mut self, values: &[f32]) -> crate::Result<()> {
        params::assign(self.tensors_mut(), values)
    }

    /// All-zero gradients of this network's shape.
    fn zero_grads(&self) -> ParamGrads {
        ParamGrads::zeros(&self.tensor_sizes())
    }

    /// A gradient from a flat vector in the parameter order.
    fn grads_from_vec(&self, values: &[f32]) -> crate::Result<ParamGrads> {
        ParamGrads::from_vec(&self.tensor_sizes(), values)
    }
}

impl Clone for Box<dyn Network> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A network linearised at a batch of inputs ([`Network::linearise`]): rows
/// `∂⟨c_j, f(x_{o(j)}; θ)⟩ / ∂θ` of the parameter Jacobian, one per output cotangent `c_j`
/// attached to sample `o(j)`, not summed (what methods that invert the network need), with
/// the input cotangents of the same products.
pub trait JacobianRows: Send + Sync {
    /// Number of network parameters `P` (the length of every row).
    fn num_parameters(&self) -> usize;

    /// Adds to `rows` the parameter-Jacobian rows of the cotangents `cotangents`
    /// (`outputs × R`; column `j` belongs to sample `owner[j]`) and returns their input
    /// cotangents `(∂f/∂x)ᵀ c_j` (`inputs × R`).
    ///
    /// `rows` holds `R` rows of length `P` one after the other (a column-major `(P × R)`
    /// matrix: column `j` is row `j` of the Jacobian, in parameter order); the contributions
    /// are added, so rows of a closed-loop episode accumulate over its steps.
    ///
    /// # Panics
    /// If the shapes disagree or an owner is not a sample of this linearisation.
    fn add_rows(
        &self,
        cotangents: &DMatrix<f64>,
        owner: &[usize],
        rows: &mut [f64],
    ) -> DMatrix<f64>;
}

/// A boxed network is a network (so `&Box<dyn Network>` passes where `&dyn Network` is
/// expected): every method forwards to the box's content.
impl Network for Box<dyn Network> {
    fn architecture(&self) -> Architecture {
        (**self).architecture()
    }
    fn inputs(&self) -> usize {
        (**self).inputs()
    }
    fn outputs(&self) -> usize {
        (**self).outputs()
    }
    fn tensors(&self) -> &[ParamTensor] {
        (**self).tensors()
    }
    fn tensors_mut(&mut self) -> &mut [ParamTensor] {
        (**self).tensors_mut()
    }
    fn tensor_names(&self) -> Vec<(String, Vec<usize>)> {
        (**self).tensor_names()
    }
    fn metadata(&self) -> BTreeMap<String, String> {
        (**self).metadata()
    }
    fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64> {
        (**self).forward(inputs)
    }
    fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads {
        (**self).backward(inputs, output_cotangent)
    }
    fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        (**self).backward_with_input(inputs, output_cotangent)
    }
    fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_> {
        (**self).backward_sequence()
    }
    fn linearise(&self, inputs: &DMatrix<f64>) -> Box<dyn JacobianRows + '_> {
        (**self).linearise(inputs)
    }
    fn clone_box(&self) -> Box<dyn Network> {
        (**self).clone_box()
    }
    fn update_statistics(&mut self) {
        (**self).update_statistics()
    }
    fn recorded_statistics(&self) -> Vec<f64> {
        (**self).recorded_statistics()
    }
    fn set_recorded_statistics(&mut self, values: &[f64]) -> crate::Result<()> {
        (**self).set_recorded_statistics(values)
    }
    fn statistics(&self) -> Vec<f32> {
        (**self).statistics()
    }
    fn set_statistics(&mut self, values: &[f32]) -> crate::Result<()> {
        (**self).set_statistics(values)
    }
    fn statistic_names(&self) -> Vec<(String, Vec<usize>)> {
        (**self).statistic_names()
    }
    fn for_evaluation(&self) -> Option<Box<dyn Network>> {
        (**self).for_evaluation()
    }
    fn num_parameters(&self) -> usize {
        (**self).num_parameters()
    }
    fn parameters(&self) -> Vec<f32> {
        (**self).parameters()
    }
    fn set_parameters(&mut self, values: &[f32]) -> crate::Result<()> {
        (**self).set_parameters(values)
    }
}
